/* gbnet zbl: put a repulsive core (docs/model.md section 7) under a potential
 * that was trained without one. Its default radii lie where the training data
 * ends (the coverage record's shortest distances), so the energies of every
 * training frame are unchanged and only atoms pushed closer than the data
 * reached meet the ZBL wall instead of whatever the network extrapolates to
 * (the shipped water model's O-O hole below 2.35 A, bench/lammps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"

static const char *const zbl_help =
    "Usage: gbnet zbl IN.gbnet -o OUT.gbnet [options]\n"
    "\n"
    "Adds the repulsive core (ZBL screened nuclear repulsion of every pair,\n"
    "switched smoothly to zero between an inner and an outer radius) to a\n"
    "potential trained without one, and writes it as OUT. By default each\n"
    "element pair's outer radius is the shortest distance of that pair in the\n"
    "training data, from the potential's coverage record (gbnet info; pairs never\n"
    "seen within the cutoff take the shortest of any pair), and the inner radius\n"
    "0.75 times the outer: the core is then zero wherever the training data\n"
    "reached, so energies, forces and stresses of the training frames are\n"
    "unchanged (check with gbnet eval), and atoms pushed closer than anything in\n"
    "the data meet a steep wall. A committee file gets the core on every member,\n"
    "each from its own coverage record.\n"
    "\n"
    "A potential trained with a core (zbl = on) learned the labels minus that\n"
    "core: changing it changes its predictions everywhere the core acts, so it\n"
    "is refused unless --replace is given.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE  the potential file to write (required; may be IN)\n"
    "  --outer A-B=R      outer radius of the pair A-B in Angstrom (e.g. O-O=2.3);\n"
    "                     repeat for several pairs; others keep the default\n"
    "  --inner A-B=R      inner radius of the pair A-B (default 0.75 x outer)\n"
    "  --replace          replace the core of a potential that has one\n"
    "  --remove           remove the core instead (writes OUT without one)\n"
    "  -h, --help         show this help\n";

enum { OPT_OUTPUT, OPT_OUTER, OPT_INNER, OPT_REPLACE, OPT_REMOVE, OPT_HELP };
static const cli_option zbl_options[] = {[OPT_OUTPUT] = {"output", 'o', 1},  [OPT_OUTER] = {"outer", 0, 1},
                                         [OPT_INNER] = {"inner", 0, 1},      [OPT_REPLACE] = {"replace", 0, 0},
                                         [OPT_REMOVE] = {"remove", 0, 0},    [OPT_HELP] = {"help", 'h', 0}};

#define ZBL_MAX_RADII 64
#define ZBL_INNER_FRACTION 0.75 /* as gbnet train's zbl_inner = 0 */

typedef struct {
    char a[4], b[4]; /* element symbols */
    double radius;
    const char *text; /* the argument, for messages */
} zbl_radius;

typedef struct {
    const char *input, *output;
    zbl_radius outer[ZBL_MAX_RADII], inner[ZBL_MAX_RADII];
    int n_outer, n_inner, replace, remove;
} zbl_args;

/* "A-B=R" into r; a usage message and 0 if malformed. */
static int parse_radius(const char *option, const char *text, zbl_radius *r) {
    const char *dash = strchr(text, '-'), *eq = strchr(text, '=');
    if (!dash || !eq || dash > eq || dash - text < 1 || dash - text > 3 || eq - dash - 1 < 1 || eq - dash - 1 > 3) {
        cli_usage_error("zbl", "--%s '%s': expected A-B=RADIUS, e.g. O-O=2.3", option, text);
        return 0;
    }
    memset(r, 0, sizeof *r);
    memcpy(r->a, text, (size_t)(dash - text));
    memcpy(r->b, dash + 1, (size_t)(eq - dash - 1));
    r->text = text;
    return cli_parse_double("zbl", option, eq + 1, 1e-3, 20.0, &r->radius);
}

static int parse_args(zbl_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    cli_parser parser;
    cli_parser_init(&parser, "zbl", argc, argv, zbl_options, (int)(sizeof zbl_options / sizeof zbl_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(zbl_help, stdout); return -1;
        case CLI_POSITIONAL:
            if (a->input) return cli_usage_error("zbl", "one IN.gbnet only ('%s' is a second)", value);
            a->input = value;
            break;
        case OPT_OUTPUT: a->output = value; break;
        case OPT_OUTER:
        case OPT_INNER: {
            int outer = option == OPT_OUTER;
            int *n = outer ? &a->n_outer : &a->n_inner;
            if (*n == ZBL_MAX_RADII) return cli_usage_error("zbl", "at most %d radii per option", ZBL_MAX_RADII);
            if (!parse_radius(outer ? "outer" : "inner", value, outer ? &a->outer[*n] : &a->inner[*n]))
                return CLI_EXIT_USAGE;
            ++*n;
            break;
        }
        case OPT_REPLACE: a->replace = 1; break;
        case OPT_REMOVE: a->remove = 1; break;
        }
    }
    if (!a->input) return cli_usage_error("zbl", "need IN.gbnet");
    if (!a->output) return cli_usage_error("zbl", "need -o OUT.gbnet (it may be IN.gbnet itself)");
    if (a->remove && (a->n_outer || a->n_inner))
        return cli_usage_error("zbl", "--remove takes no --outer or --inner");
    return CLI_EXIT_OK;
}

/* Element indices of the pair named in r, or a message naming the argument. */
static int pair_of(const gbnet_hyperparams *hp, const zbl_radius *r, const char *option, int *ia, int *ib) {
    int za = gbnet_atomic_number(r->a), zb = gbnet_atomic_number(r->b);
    *ia = *ib = -1;
    for (int e = 0; e < hp->n_elements; ++e) {
        if (hp->atomic_numbers[e] == za) *ia = e;
        if (hp->atomic_numbers[e] == zb) *ib = e;
    }
    if (*ia >= 0 && *ib >= 0) return 1;
    char elements[128];
    gbnet_format_elements(elements, sizeof elements, hp);
    cli_usage_error("zbl", "--%s %s: %s is not an element of the potential (it has %s)", option, r->text,
                    *ia < 0 ? r->a : r->b, elements);
    return 0;
}

/* The radii of one member into inner, outer [n][n]; CLI_EXIT_* on error. */
static int member_radii(const zbl_args *a, const gbnet_model *m, int member, double *inner, double *outer) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m);
    int n = hp->n_elements;
    const gbnet_coverage *c = gbnet_model_coverage(m);
    double any = 0.0; /* shortest distance of any pair */
    for (int i = 0; c && i < n; ++i)
        for (int j = 0; j < n; ++j)
            if (c->shortest_distance[i][j] > 0.0 && (any == 0.0 || c->shortest_distance[i][j] < any))
                any = c->shortest_distance[i][j];
    for (int i = 0; i < n * n; ++i) inner[i] = outer[i] = 0.0;
    for (int k = 0; k < a->n_outer; ++k) {
        int i, j;
        if (!pair_of(hp, &a->outer[k], "outer", &i, &j)) return CLI_EXIT_USAGE;
        outer[i * n + j] = outer[j * n + i] = a->outer[k].radius;
    }
    for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) {
            if (outer[i * n + j] > 0.0) continue;
            double d = c ? c->shortest_distance[i][j] : 0.0;
            if (d <= 0.0) d = any;
            if (d <= 0.0)
                return cli_error("zbl",
                                 "%s%s has no coverage record to take the %s-%s outer radius from "
                                 "(record one with gbnet coverage, or give --outer %s-%s=R)",
                                 a->input, member ? " (a committee member)" : "",
                                 gbnet_element_symbol(hp->atomic_numbers[i]),
                                 gbnet_element_symbol(hp->atomic_numbers[j]),
                                 gbnet_element_symbol(hp->atomic_numbers[i]),
                                 gbnet_element_symbol(hp->atomic_numbers[j]));
            outer[i * n + j] = outer[j * n + i] = d;
        }
    for (int i = 0; i < n * n; ++i) inner[i] = ZBL_INNER_FRACTION * outer[i];
    for (int k = 0; k < a->n_inner; ++k) {
        int i, j;
        if (!pair_of(hp, &a->inner[k], "inner", &i, &j)) return CLI_EXIT_USAGE;
        inner[i * n + j] = inner[j * n + i] = a->inner[k].radius;
    }
    for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) {
            const char *sa = gbnet_element_symbol(hp->atomic_numbers[i]), *sb = gbnet_element_symbol(hp->atomic_numbers[j]);
            if (!(inner[i * n + j] < outer[i * n + j]))
                return cli_usage_error("zbl", "%s-%s: the inner radius %g A must be below the outer radius %g A", sa,
                                       sb, inner[i * n + j], outer[i * n + j]);
            if (outer[i * n + j] > hp->cutoff)
                return cli_usage_error("zbl", "%s-%s: the outer radius %g A is beyond the cutoff %g A", sa, sb,
                                       outer[i * n + j], hp->cutoff);
        }
    return CLI_EXIT_OK;
}

/* One line per pair, with what the data covered beside it. */
static void print_radii(const gbnet_model *m, const double *inner, const double *outer) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m);
    const gbnet_coverage *c = gbnet_model_coverage(m);
    int n = hp->n_elements;
    for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) {
            double d = c ? c->shortest_distance[i][j] : 0.0;
            printf("  %-2s-%-2s %.4f - %.4f A", gbnet_element_symbol(hp->atomic_numbers[i]),
                   gbnet_element_symbol(hp->atomic_numbers[j]), inner[i * n + j], outer[i * n + j]);
            if (d > 0.0)
                printf("  (training data >= %.4f A%s)", d,
                       outer[i * n + j] > d ? ": the core acts inside the data, training energies change" : "");
            printf("\n");
        }
}

int cmd_zbl(int argc, char **argv) {
    zbl_args a;
    int rc = parse_args(&a, argc, argv);
    if (rc < 0) return CLI_EXIT_OK;
    if (rc) return rc;
    gbnet_committee *in = NULL;
    gbnet_status st = gbnet_committee_load(&in, a.input);
    if (st) return cli_library_error("zbl", st);
    int n_members = gbnet_committee_size(in);
    gbnet_model *members[GBNET_MAX_COMMITTEE] = {0};
    /* radii [n_members][GBNET_MAX_ELEMENTS^2], inner then outer */
    enum { PAIRS = GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS };
    double *radii = malloc(2 * (size_t)n_members * PAIRS * sizeof(double));
    if (!radii) rc = cli_error("zbl", "out of memory");
    for (int m = 0; m < n_members && !rc; ++m) {
        double *inner = radii + 2 * (size_t)m * PAIRS, *outer = inner + PAIRS;
        const gbnet_model *src = gbnet_committee_member(in, m);
        if (!a.remove && !a.replace && gbnet_model_zbl(src, NULL, NULL)) {
            rc = cli_error("zbl",
                           "%s%s already has a repulsive core; a potential trained with it learned the labels "
                           "minus that core, so changing it changes its predictions (give --replace to do it "
                           "anyway, or --remove)",
                           a.input, n_members > 1 ? " (a committee member)" : "");
            break;
        }
        if ((st = gbnet_model_clone(&members[m], src))) {
            rc = cli_library_error("zbl", st);
            break;
        }
        if (!a.remove) rc = member_radii(&a, src, m, inner, outer);
        if (!rc && (st = a.remove ? gbnet_model_set_zbl(members[m], NULL, NULL)
                                  : gbnet_model_set_zbl(members[m], inner, outer)))
            rc = cli_library_error("zbl", st);
    }
    if (!rc) {
        if (n_members == 1) st = gbnet_model_save(members[0], a.output);
        else {
            gbnet_committee *out = NULL;
            st = gbnet_committee_create(&out, (const gbnet_model *const *)members, n_members);
            if (!st) st = gbnet_committee_save(out, a.output);
            gbnet_committee_free(out);
        }
        if (st) rc = cli_library_error("zbl", st);
    }
    if (!rc) {
        for (int m = 0; m < n_members; ++m) {
            if (n_members > 1) printf("member %d:\n", m);
            if (a.remove) printf("repulsive core:  removed\n");
            else {
                printf("repulsive core:  ZBL, switched to 0 between inner and outer radius:\n");
                print_radii(members[m], radii + 2 * (size_t)m * PAIRS, radii + (2 * (size_t)m + 1) * PAIRS);
            }
        }
        printf("written:         %s\n", a.output);
    }
    for (int m = 0; m < n_members; ++m) gbnet_model_free(members[m]);
    free(radii);
    gbnet_committee_free(in);
    return rc;
}
