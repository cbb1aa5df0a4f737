/* Committees: members with the same elements and cutoff (gbnet.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "committee.h"
#include "gb_error.h"
#include "model.h"

gbnet_status gb_committee_check_member(const gbnet_model *first, const gbnet_model *member, int m, const char *where) {
    const gbnet_hyperparams *a = &first->hp, *b = &member->hp;
    int same = a->n_elements == b->n_elements;
    for (int e = 0; same && e < a->n_elements; ++e) same = a->atomic_numbers[e] == b->atomic_numbers[e];
    if (!same) {
        char ea[256], eb[256];
        gbnet_format_elements(ea, sizeof ea, a);
        gbnet_format_elements(eb, sizeof eb, b);
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "%s%scommittee member %d has the elements '%s' but member 0 has '%s': members must have the "
                       "same elements in the same order", where, where[0] ? ": " : "", m, eb, ea);
    }
    if (a->cutoff != b->cutoff)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "%s%scommittee member %d has the cutoff %.17g A but member 0 has %.17g A: members must share "
                       "the cutoff (one neighbor list serves them all)", where, where[0] ? ": " : "", m, b->cutoff,
                       a->cutoff);
    return GBNET_OK;
}

gbnet_status gb_committee_adopt(gbnet_committee **out, gbnet_model **models, int n, const char *where) {
    gbnet_status st = GBNET_OK;
    if (n < 1 || n > GBNET_MAX_COMMITTEE)
        st = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%s%sa committee has 1..%d members, not %d", where,
                     where[0] ? ": " : "", GBNET_MAX_COMMITTEE, n);
    for (int m = 1; m < n && !st; ++m) st = gb_committee_check_member(models[0], models[m], m, where);
    gbnet_committee *c = st ? NULL : gb_calloc(1, sizeof *c);
    if (!st && !c) st = GBNET_ERR_NO_MEMORY;
    if (!st && !(c->members = gb_calloc((size_t)n, sizeof *c->members))) st = GBNET_ERR_NO_MEMORY;
    if (st) {
        free(c);
        for (int m = 0; m < n; ++m) gbnet_model_free(models[m]);
        return st;
    }
    c->n_members = n;
    for (int m = 0; m < n; ++m) c->members[m] = models[m];
    *out = c;
    return GBNET_OK;
}

gbnet_status gbnet_committee_create(gbnet_committee **out, const gbnet_model *const *models, int n) {
    if (!out || !models || n < 1)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_create: need at least one model");
    *out = NULL;
    if (n > GBNET_MAX_COMMITTEE)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "a committee has 1..%d members, not %d", GBNET_MAX_COMMITTEE, n);
    gbnet_model *copies[GBNET_MAX_COMMITTEE];
    for (int m = 0; m < n; ++m) {
        gbnet_status st = models[m] ? gbnet_model_clone(&copies[m], models[m])
                                    : gb_fail(GBNET_ERR_INVALID_ARGUMENT, "committee member %d is NULL", m);
        if (st) {
            for (int k = 0; k < m; ++k) gbnet_model_free(copies[k]);
            return st;
        }
    }
    return gb_committee_adopt(out, copies, n, "");
}

void gbnet_committee_free(gbnet_committee *c) {
    if (!c) return;
    for (int m = 0; m < c->n_members; ++m) gbnet_model_free(c->members[m]);
    free(c->members);
    free(c);
}

int gbnet_committee_size(const gbnet_committee *c) { return c ? c->n_members : 0; }

const gbnet_model *gbnet_committee_member(const gbnet_committee *c, int m) {
    return (c && m >= 0 && m < c->n_members) ? c->members[m] : NULL;
}
