/* Rank-reduced dense layers: multiplying factors out, truncated SVD, and the
 * rank specification of gbnet compress --rank and the training key `rank`. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "model.h"
#include "svd.h"

/* Every dense layer of hp: (kind, block) pairs, blocks in order, readout last. */
typedef struct {
    gbnet_dense_kind kind;
    int block;
} dense_id;

static int dense_layers(dense_id *ids, const gbnet_hyperparams *hp) {
    int n = 0;
    for (int t = 0; t < hp->n_blocks; ++t)
        for (int k = GBNET_DENSE_IN; k <= GBNET_DENSE_OUT2; ++k) ids[n++] = (dense_id){(gbnet_dense_kind)k, t};
    ids[n++] = (dense_id){GBNET_DENSE_READOUT, 0};
    return n;
}

static int *rank_slot(gbnet_ranks *r, dense_id id) {
    switch (id.kind) {
    case GBNET_DENSE_IN: return &r->in[id.block];
    case GBNET_DENSE_OUT1: return &r->out1[id.block];
    case GBNET_DENSE_OUT2: return &r->out2[id.block];
    default: return &r->readout;
    }
}

/* W [out][in] of a layer: a copy, or A B multiplied out in double. */
static void dense_weight(double *W, const gbnet_model *m, gb_dense d) {
    const double *p = m->params;
    if (!d.rank) {
        memcpy(W, p + d.w, (size_t)d.out * d.in * sizeof(double));
        return;
    }
    const double *A = p + d.w, *B = p + d.wb;
    for (int o = 0; o < d.out; ++o)
        for (int i = 0; i < d.in; ++i) {
            double s = 0;
            for (int k = 0; k < d.rank; ++k) s += A[(size_t)o * d.rank + k] * B[(size_t)k * d.in + i];
            W[(size_t)o * d.in + i] = s;
        }
}

/* gb_svd_jacobi with a status: sigma [n], us [n][m], vt [n][n]. */
static gbnet_status svd_of(double *sigma_all, double *us, double *vt, const double *W, int m, int n) {
    int sweeps = gb_svd_jacobi(sigma_all, us, vt, W, m, n);
    if (sweeps < 0) return gb_fail(GBNET_ERR_NUMERIC, "SVD of a %d x %d layer did not converge (or no memory)", m, n);
    return GBNET_OK;
}

int gbnet_model_singular_values(const gbnet_model *m, gbnet_dense_kind kind, int block, double *sigma) {
    if (!m || !sigma || kind < GBNET_DENSE_IN || kind > GBNET_DENSE_READOUT ||
        (kind != GBNET_DENSE_READOUT && (block < 0 || block >= m->hp.n_blocks))) {
        gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_singular_values: no such layer (%s, block %d)",
                gb_dense_name(kind), block);
        return 0;
    }
    gb_dense d = gb_layout_dense(&m->layout, &m->hp, kind, kind == GBNET_DENSE_READOUT ? 0 : block);
    int lim = d.out < d.in ? d.out : d.in;
    double *W = gb_malloc((size_t)d.out * d.in * sizeof(double)), *s = gb_malloc((size_t)d.in * sizeof(double));
    double *us = gb_malloc((size_t)d.in * d.out * sizeof(double)), *vt = gb_malloc((size_t)d.in * d.in * sizeof(double));
    gbnet_status st = W && s && us && vt ? GBNET_OK : GBNET_ERR_NO_MEMORY;
    if (!st) {
        dense_weight(W, m, d);
        st = svd_of(s, us, vt, W, d.out, d.in);
    }
    if (!st) memcpy(sigma, s, (size_t)lim * sizeof(double));
    free(W), free(s), free(us), free(vt);
    return st ? 0 : lim;
}

/* Writes layer d of the new model from W: full copy, or the rank-r truncated
 * SVD with sqrt(sigma) in both factors (A = U sqrt(S), B = sqrt(S) V^T), so A
 * and B have the same scale. Factors enter the blob as normal numbers. */
static gbnet_status write_dense(double *p, gb_dense d, const double *W) {
    if (!d.rank) {
        memcpy(p + d.w, W, (size_t)d.out * d.in * sizeof(double));
        return GBNET_OK;
    }
    int m = d.out, n = d.in;
    double *sigma = gb_malloc((size_t)n * sizeof(double)), *us = gb_malloc((size_t)n * m * sizeof(double));
    double *vt = gb_malloc((size_t)n * n * sizeof(double));
    gbnet_status st = sigma && us && vt ? svd_of(sigma, us, vt, W, m, n) : GBNET_ERR_NO_MEMORY;
    if (!st) {
        double *A = p + d.w, *B = p + d.wb;
        for (int k = 0; k < d.rank; ++k) {
            double sq = sqrt(sigma[k]), inv = sigma[k] > 0 ? 1.0 / sq : 0.0;
            for (int o = 0; o < m; ++o) { /* us row k = sigma_k u_k */
                double a = us[(size_t)k * m + o] * inv;
                A[(size_t)o * d.rank + k] = fabs(a) < DBL_MIN ? 0.0 : a;
            }
            for (int i = 0; i < n; ++i) {
                double b = sq * vt[(size_t)k * n + i];
                B[(size_t)k * n + i] = fabs(b) < DBL_MIN ? 0.0 : b;
            }
        }
    }
    free(sigma), free(us), free(vt);
    return st;
}

/* The segments of the blob that are not dense weights, in blob order, as
 * (offset, count) pairs: copied unchanged between layouts of one hp. */
static int plain_segments(size_t seg[][2], const gb_layout *L, const gbnet_hyperparams *hp) {
    size_t F = (size_t)hp->n_features, K = (size_t)hp->n_rbf, R = (size_t)hp->readout_width;
    int n = 0;
    seg[n][0] = L->embedding, seg[n++][1] = (size_t)hp->n_elements * F;
    for (int t = 0; t < hp->n_blocks; ++t) {
        seg[n][0] = L->block[t].filter1_w, seg[n++][1] = F * K + F + F * F + F; /* filter1_w .. filter2_b */
        seg[n][0] = L->block[t].out1_b, seg[n++][1] = F;
        seg[n][0] = L->block[t].out2_b, seg[n++][1] = F;
    }
    seg[n][0] = L->readout1_b, seg[n++][1] = R + R + 1; /* readout1_b, readout2_w, readout2_b */
    return n;
}

/* m with its dense layers rebuilt for ranks (full, or truncated SVD of W). */
static gbnet_status model_with_ranks(gbnet_model **out, const gbnet_model *m, const gbnet_ranks *ranks) {
    *out = NULL;
    gbnet_status st = gb_ranks_check(ranks, &m->hp);
    if (st) return st;
    gbnet_model *c = NULL;
    st = gbnet_model_clone(&c, m);
    if (st) return st;
    gb_layout L;
    size_t total = gb_layout_compute_ranked(&L, &m->hp, ranks);
    double *p = gb_calloc(total, sizeof(double));
    size_t dense_max = (size_t)m->hp.n_features *
                       (size_t)(m->hp.n_features > m->hp.readout_width ? m->hp.n_features : m->hp.readout_width);
    double *W = gb_malloc(dense_max * sizeof(double));
    if (!p || !W) st = GBNET_ERR_NO_MEMORY;
    size_t src[3 * GBNET_MAX_BLOCKS + 2][2], dst[3 * GBNET_MAX_BLOCKS + 2][2];
    int n_seg = plain_segments(src, &m->layout, &m->hp);
    plain_segments(dst, &L, &m->hp);
    for (int k = 0; !st && k < n_seg; ++k) memcpy(p + dst[k][0], m->params + src[k][0], src[k][1] * sizeof(double));
    dense_id ids[3 * GBNET_MAX_BLOCKS + 1];
    int n_dense = dense_layers(ids, &m->hp);
    for (int k = 0; !st && k < n_dense; ++k) {
        dense_weight(W, m, gb_layout_dense(&m->layout, &m->hp, ids[k].kind, ids[k].block));
        st = write_dense(p, gb_layout_dense(&L, &m->hp, ids[k].kind, ids[k].block), W);
    }
    free(W);
    if (st) {
        free(p);
        gbnet_model_free(c);
        return st;
    }
    free(c->params);
    c->params = p;
    c->layout = L;
    gb_model_set_feature_record(c, NULL, 0); /* measured on the other weights */
    *out = c;
    return GBNET_OK;
}

gbnet_status gbnet_model_expand_ranks(gbnet_model **out, const gbnet_model *m) {
    if (!out || !m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_expand_ranks: NULL argument");
    gbnet_ranks full;
    memset(&full, 0, sizeof full);
    return model_with_ranks(out, m, &full);
}

/* Smallest r with sum_{k<r} sigma_k^2 >= energy * sum sigma^2. */
static int rank_for_energy(const double *sigma, int n, double energy) {
    double total = 0, run = 0;
    for (int k = 0; k < n; ++k) total += sigma[k] * sigma[k];
    for (int k = 0; k < n; ++k) {
        run += sigma[k] * sigma[k];
        if (run >= energy * total * (1 - 1e-12)) return k + 1;
    }
    return n;
}

gbnet_status gbnet_model_reduce_rank(const gbnet_model *m, const gbnet_rank_spec *spec, gbnet_model **out) {
    if (!out || !m || !spec) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_reduce_rank: NULL argument");
    *out = NULL;
    if (!(spec->energy >= 0.0 && spec->energy <= 1.0))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "energy share must be in (0, 1] (0: not used), got %g", spec->energy);
    gbnet_ranks r = m->layout.ranks;
    const gbnet_hyperparams *hp = &m->hp;
    int F = hp->n_features;
    double *sigma = gb_malloc((size_t)F * sizeof(double));
    if (!sigma) return GBNET_ERR_NO_MEMORY;
    gbnet_status st = GBNET_OK;
    gbnet_ranks asked = spec->rank;
    dense_id ids[3 * GBNET_MAX_BLOCKS + 1];
    int n_dense = dense_layers(ids, hp);
    for (int k = 0; !st && k < n_dense; ++k) {
        gb_dense d = gb_layout_dense(&m->layout, hp, ids[k].kind, ids[k].block);
        int lim = d.out < d.in ? d.out : d.in, want = *rank_slot(&asked, ids[k]);
        if (want < 0 || want >= lim) {
            if (ids[k].kind == GBNET_DENSE_READOUT)
                st = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "rank %d for the readout layer (%d x %d): valid ranks are 1..%d",
                             want, d.out, d.in, lim - 1);
            else
                st = gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                             "rank %d for block %d's %s layer (%d x %d): valid ranks are 1..%d", want, ids[k].block,
                             gb_dense_name(ids[k].kind), d.out, d.in, lim - 1);
        } else if (want == 0 && spec->energy > 0) {
            int n = gbnet_model_singular_values(m, ids[k].kind, ids[k].block, sigma);
            if (!n) st = GBNET_ERR_NUMERIC;
            else want = rank_for_energy(sigma, n, spec->energy);
            /* stays full where the factors would not be smaller than W: from the
             * break-even rank out in / (out + in) on (64 for 128 x 128) */
            if (want >= lim || (double)want * (d.out + d.in) >= (double)d.out * d.in) want = 0;
            *rank_slot(&r, ids[k]) = want;
        } else if (want > 0) {
            *rank_slot(&r, ids[k]) = want;
        }
    }
    free(sigma);
    if (st) return st;
    return model_with_ranks(out, m, &r);
}

gbnet_status gbnet_rank_spec_parse(gbnet_rank_spec *spec, const char *text) {
    if (!spec || !text) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_rank_spec_parse: NULL argument");
    gbnet_ranks r = spec->rank;
    const char *p = text;
    char *end;
    if (isdigit((unsigned char)*p)) { /* one rank for every dense layer */
        long v = strtol(p, &end, 10);
        if (*end || v < 1 || v > 1000000)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "rank '%s': expected a positive integer or "
                           "in=R,out1=R,out2=R,readout=R", text);
        for (int t = 0; t < GBNET_MAX_BLOCKS; ++t) r.in[t] = r.out1[t] = r.out2[t] = (int)v;
        r.readout = (int)v;
        spec->rank = r;
        return GBNET_OK;
    }
    while (*p) {
        static const char *names[] = {"in", "out1", "out2", "readout"};
        const char *eq = strchr(p, '=');
        int kind = -1;
        for (int k = 0; eq && k < 4; ++k)
            if ((size_t)(eq - p) == strlen(names[k]) && strncmp(p, names[k], strlen(names[k])) == 0) kind = k;
        if (kind < 0)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "rank '%s': expected a positive integer or a list of "
                           "in=R, out1=R, out2=R, readout=R separated by commas", text);
        long v = strtol(eq + 1, &end, 10);
        if (end == eq + 1 || (*end && *end != ',') || (*end == ',' && !end[1]) || v < 0 || v > 1000000)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "rank '%s': %s= needs a rank >= 0 (0: full)", text, names[kind]);
        for (int t = 0; t < GBNET_MAX_BLOCKS; ++t) *rank_slot(&r, (dense_id){(gbnet_dense_kind)kind, t}) = (int)v;
        p = *end ? end + 1 : end;
    }
    spec->rank = r;
    return GBNET_OK;
}
