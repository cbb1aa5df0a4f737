/* Batched SchNet forward / tangent / backward, written once for a real type.
 * Included by schnet_f32.c and schnet_f64.c with:
 *   REAL   float or double
 *   GB_SUFFIX  f32 or f64 (suffix of every exported name; GB_T(name), precision.h)
 * See schnet.h for the design. Buffers are row-major; "[n][F]" comments give
 * shapes. In dual (training) mode activation buffers hold 2N rows: primal rows
 * [0, N) then tangent rows [N, 2N), so every linear layer is one GEMM. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gb_error.h"
#include "kernels.h"
#include "quant.h"
#include "schnet.h"

#include "precision.h"
#define NET GB_T(gb_net)

typedef REAL real;

typedef struct {
    real *p;
    size_t cap; /* in elements */
} GB_T(buf);

struct NET {
    const gbnet_model *model;
    int F, K, R, T, n_elements;
    real rc;
    gb_layout L;
    real *w;      /* [L.total] weights in this precision */
    real *grad;   /* [L.total] gradient accumulator in this precision */
    int n_threads;
    /* sizes of the last forward */
    int N, NC, E, tangent_done;
    gb_pass_mode mode;               /* of the last forward */
    /* Edge lengths are deduplicated (i->j and j->i have the same length), so
     * the filter network runs once per distinct length: U rows. */
    int U;
    GB_T(buf) d, fc, dfc;              /* [U] distinct lengths, cutoff, its derivative */
    GB_T(buf) ddot;                    /* [E] edge-length tangent */
    double *dbar_in; size_t cap_dbar_in; /* [E] dE/dd in in-edge order (backward scratch) */
    GB_T(buf) gd;                      /* [2U][K]: rbf rows, then d(rbf)/dd rows */
    GB_T(buf) W[GBNET_MAX_BLOCKS];     /* [U][F] filter W_t(d), cutoff included */
    GB_T(buf) dW[GBNET_MAX_BLOCKS];    /* [U][F] dW_t/dd */
    GB_T(buf) fa, fs, fu;              /* filter-network scratch: [2U][F] (training) or per-thread tiles */
    int *wrow; size_t cap_wrow;      /* [E] filter row (distinct length) of each edge */
    int *u_offsets; size_t cap_u_offsets; /* [U+1] edges of each distinct length ... */
    int *u_edges; size_t cap_u_edges;     /* [E] ... listed in edge order */
    uint64_t *hash_keys; int *hash_vals; size_t cap_hash_keys, cap_hash_vals;
    double *lens; size_t cap_lens;   /* [U] distinct lengths in double (scratch) */
    /* atom data (nr = N, or 2N in dual mode) */
    GB_T(buf) x[GBNET_MAX_BLOCKS + 1]; /* [nr][F] */
    GB_T(buf) h[GBNET_MAX_BLOCKS];     /* [nr][F] */
    GB_T(buf) m[GBNET_MAX_BLOCKS];     /* [nr][F] */
    GB_T(buf) o1[GBNET_MAX_BLOCKS];    /* [nr][F] pre-activation */
    GB_T(buf) s1[GBNET_MAX_BLOCKS];    /* [nr][F] ssp(o1) and its tangent */
    GB_T(buf) p, r;                    /* [nr][R] readout */
    GB_T(buf) eps;                     /* [nr] */
    GB_T(buf) xbar, hbar, mbar, obar;  /* [nr][F] */
    GB_T(buf) pbar;                    /* [nr][R] */
    int max_rank;                      /* largest rank of a factored dense layer, 0: none */
    GB_T(buf) lr_t, lr_tbar;           /* [max(nr, n_elements)][max_rank] X B^T and its adjoint */
    /* index lists */
    int *edge_center; size_t cap_edge_center;   /* [E] */
    /* tabulated filters in this precision (NULL when exact) */
    real *tab_coef;                  /* [T][P-1][4][F] cubic coefficients per grid cell */
    GB_T(gb_table) tab[GBNET_MAX_BLOCKS];
    int *in_offsets; size_t cap_in_offsets;     /* [N+1] edges grouped by neighbor */
    int *in_edges; size_t cap_in_edges;         /* [E] */
    int *sort_counts; size_t cap_sort_counts;   /* [threads][N] scratch of build_index_lists */
    /* per in-edge q (in in_edges order), so the backward reads them sequentially: */
    int *in_center; size_t cap_in_center;       /* [E] center of edge in_edges[q] */
    int *in_wrow; size_t cap_in_wrow;           /* [E] its filter row */
    int *in_cell; size_t cap_in_cell;           /* [E] its table cell (tabulated inference) ... */
    GB_T(buf) in_u;                               /* [E] ... and position in the cell */
    int *cell; size_t cap_cell;                 /* [E] table cell of edge e (tabulated inference) ... */
    GB_T(buf) cell_u;                             /* [E] ... and its position in the cell */
    /* Whose graph arrays (index lists, edge lengths and cells: everything above
     * that depends on the batch alone) the layers of the last forward read:
     * the net itself, or a committee's lead that built them on the same batch
     * (gb_net_share_graph). */
    const NET *graph;
    const NET *share_next;                        /* lead for the next forward, or NULL ... */
    unsigned long share_forward;                  /* ... as of lead's forward number share_forward */
    unsigned long forwards;                       /* forwards run so far */
    gb_qnet *q;                      /* quantized dense layers (float evaluation; NULL: none) */
    gb_calib *calib;                 /* records dense-layer inputs while set (quant.h) */
};

static int GB_T(ensure)(GB_T(buf) *b, size_t n) {
    size_t bytes_cap = b->cap * sizeof(real);
    if (!GB_GROW(b->p, bytes_cap, n)) return 0;
    b->cap = bytes_cap / sizeof(real);
    return 1;
}

static void GB_T(free_buf)(GB_T(buf) *b) {
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* defines gb_net_create_f32 and gb_net_create_f64 */
NET *GB_T(gb_net_create)(const gbnet_model *model) {
    NET *net = gb_calloc(1, sizeof *net);
    if (!net) return NULL;
    net->model = model;
    net->graph = net;
    net->F = model->hp.n_features;
    net->K = model->hp.n_rbf;
    net->R = model->hp.readout_width;
    net->T = model->hp.n_blocks;
    net->n_elements = model->hp.n_elements;
    net->rc = (real)model->hp.cutoff;
    net->L = model->layout;
    net->n_threads = 1;
    for (int t = 0; t < net->T; ++t) {
        const int r3[3] = {net->L.ranks.in[t], net->L.ranks.out1[t], net->L.ranks.out2[t]};
        for (int k = 0; k < 3; ++k) net->max_rank = r3[k] > net->max_rank ? r3[k] : net->max_rank;
    }
    if (net->L.ranks.readout > net->max_rank) net->max_rank = net->L.ranks.readout;
    net->w = gb_malloc(net->L.total * sizeof(real));
    net->grad = gb_malloc(net->L.total * sizeof(real));
    if (!net->w || !net->grad) {
        GB_T(gb_net_free)(net);
        return NULL;
    }
    GB_T(gb_net_load_params)(net, model->params);
#if GB_NET_QUANT
    gbnet_status qst;
    net->q = gb_qnet_create(model, net->w, &qst);
    if (qst) {
        GB_T(gb_net_free)(net);
        return NULL;
    }
#endif
    if (model->table) {
        int P = model->table->n_points;
        size_t cells = (size_t)(P - 1) * 4 * net->F, PF = (size_t)P * net->F;
        double step = model->hp.cutoff / (P - 1);
        net->tab_coef = gb_malloc((size_t)net->T * cells * sizeof(real));
        if (!net->tab_coef) {
            GB_T(gb_net_free)(net);
            return NULL;
        }
        for (int t = 0; t < net->T; ++t) {
            GB_T(gb_table_build)(net->tab_coef + t * cells, model->table->values + t * PF, model->table->derivs + t * PF,
                               P, net->F, step);
            net->tab[t].coef = net->tab_coef + t * cells;
            net->tab[t].n_points = P;
            net->tab[t].step = (real)step;
            net->tab[t].cutoff = (real)model->hp.cutoff;
        }
    }
    return net;
}

/* defines gb_net_load_params_f32 and gb_net_load_params_f64 */
void GB_T(gb_net_load_params)(NET *net, const double *params) {
    for (size_t i = 0; i < net->L.total; ++i) net->w[i] = GB_T(gb_normal)(params[i]);
#if GB_NET_QUANT
    if (net->q) gb_qnet_load(net->q, net->w);
#endif
}

/* defines gb_net_free_f32 and gb_net_free_f64 */
void GB_T(gb_net_free)(NET *net) {
    if (!net) return;
    GB_T(buf) *all[] = {&net->d, &net->fc, &net->dfc, &net->ddot, &net->gd, &net->fa, &net->fs,
                      &net->fu, &net->p, &net->r, &net->eps, &net->xbar, &net->hbar, &net->mbar, &net->obar,
                      &net->pbar, &net->lr_t, &net->lr_tbar};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) GB_T(free_buf)(all[i]);
    for (int t = 0; t < GBNET_MAX_BLOCKS; ++t) {
        GB_T(free_buf)(&net->W[t]);
        GB_T(free_buf)(&net->dW[t]);
        GB_T(free_buf)(&net->h[t]);
        GB_T(free_buf)(&net->m[t]);
        GB_T(free_buf)(&net->o1[t]);
        GB_T(free_buf)(&net->s1[t]);
    }
    for (int t = 0; t <= GBNET_MAX_BLOCKS; ++t) GB_T(free_buf)(&net->x[t]);
    free(net->edge_center);
    free(net->dbar_in);
    free(net->tab_coef);
    free(net->wrow);
    free(net->u_offsets);
    free(net->u_edges);
    free(net->hash_keys);
    free(net->hash_vals);
    free(net->in_offsets);
    free(net->in_edges);
    free(net->sort_counts);
    free(net->in_center);
    free(net->in_wrow);
    free(net->in_cell);
    free(net->cell);
    GB_T(free_buf)(&net->in_u);
    GB_T(free_buf)(&net->cell_u);
    free(net->lens);
#if GB_NET_QUANT
    gb_qnet_free(net->q);
#endif
    free(net->w);
    free(net->grad);
    free(net);
}

/* defines gb_net_bytes_f32 and gb_net_bytes_f64 */
size_t GB_T(gb_net_bytes)(const NET *net) {
    size_t n = 2 * net->L.total;
    const GB_T(buf) *all[] = {&net->d, &net->fc, &net->dfc, &net->ddot, &net->gd, &net->fa, &net->fs,
                            &net->fu, &net->p, &net->r, &net->eps, &net->xbar, &net->hbar, &net->mbar, &net->obar,
                            &net->pbar, &net->lr_t, &net->lr_tbar};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) n += all[i]->cap;
    for (int t = 0; t < GBNET_MAX_BLOCKS; ++t)
        n += net->W[t].cap + net->dW[t].cap + net->h[t].cap + net->m[t].cap + net->o1[t].cap + net->s1[t].cap;
    for (int t = 0; t <= GBNET_MAX_BLOCKS; ++t) n += net->x[t].cap;
#if GB_NET_QUANT
    n += gb_qnet_bytes(net->q) / sizeof(real);
#endif
    return n * sizeof(real) + (net->cap_edge_center + net->cap_in_offsets + net->cap_in_edges + net->cap_wrow +
                               net->cap_u_offsets + net->cap_u_edges + net->cap_hash_keys + net->cap_hash_vals + net->cap_sort_counts + net->cap_lens +
                               net->cap_in_center + net->cap_in_wrow + net->cap_in_cell + net->cap_cell +
                               (net->in_u.cap + net->cell_u.cap) * sizeof(real));
}

/* defines gb_net_set_threads_f32 and gb_net_set_threads_f64 */
void GB_T(gb_net_set_threads)(NET *net, int n_threads) { net->n_threads = n_threads; }

#if GB_NET_QUANT
void gb_net_set_calibration_f32(NET *net, gb_calib *c) { net->calib = c; }
#endif

/* defines gb_net_activation_f32 and gb_net_activation_f64 */
const real *GB_T(gb_net_activation)(const NET *net, gb_activation which, int t, int *rows, int *cols) {
    *rows = net->NC;
    *cols = net->F;
    switch (which) {
    case GB_ACT_X: return net->x[t].p;
    case GB_ACT_M: return net->m[t].p;
    case GB_ACT_S1: return net->s1[t].p;
    case GB_ACT_READOUT: *cols = net->R; return net->r.p;
    case GB_ACT_LENGTHS: *rows = net->graph->U; *cols = 1; return net->graph->d.p;
    }
    return NULL;
}

/* defines gb_net_in_edges_f32 and gb_net_in_edges_f64 */
void GB_T(gb_net_in_edges)(const NET *net, const int **in_offsets, const int **in_edges) {
    *in_offsets = net->graph->in_offsets;
    *in_edges = net->graph->in_edges;
}

/* defines gb_net_share_graph_f32 and gb_net_share_graph_f64 */
void GB_T(gb_net_share_graph)(NET *net, const NET *lead) {
    net->share_next = lead;
    net->share_forward = lead ? lead->forwards : 0;
}

/* Filter rows per tile in inference mode: one tile's scratch (3 x 2B x F)
 * stays in cache, and the GEMM shape is the same for every thread count. */
#define GB_FILTER_TILE 128

static int GB_T(reserve_ints)(int **p, size_t *cap, size_t n) { return GB_GROW(*p, *cap, n + 1); }

/* Buffers sized by atoms and edges (before the distinct lengths are known). */
static gbnet_status GB_T(reserve)(NET *net, int N, int E, int dual) {
    size_t F = (size_t)net->F, R = (size_t)net->R;
    size_t nr = (size_t)N * (dual ? 2 : 1), ne = (size_t)E, ok = 1;
    ok &= GB_T(ensure)(&net->ddot, ne + 1);
    for (int t = 0; t < net->T; ++t)
        ok &= GB_T(ensure)(&net->h[t], nr * F) & GB_T(ensure)(&net->m[t], nr * F) & GB_T(ensure)(&net->o1[t], nr * F) &
              GB_T(ensure)(&net->s1[t], nr * F);
    for (int t = 0; t <= net->T; ++t) ok &= GB_T(ensure)(&net->x[t], nr * F);
    ok &= GB_T(ensure)(&net->p, nr * R) & GB_T(ensure)(&net->r, nr * R) & GB_T(ensure)(&net->eps, nr) &
          GB_T(ensure)(&net->xbar, nr * F) & GB_T(ensure)(&net->hbar, nr * F) & GB_T(ensure)(&net->mbar, nr * F) &
          GB_T(ensure)(&net->obar, (nr > (size_t)net->n_elements ? nr : (size_t)net->n_elements) * F) &
          GB_T(ensure)(&net->pbar, nr * R);
    if (net->max_rank) {
        size_t lr_rows = nr > (size_t)net->n_elements ? nr : (size_t)net->n_elements;
        ok &= GB_T(ensure)(&net->lr_t, lr_rows * (size_t)net->max_rank) &
              GB_T(ensure)(&net->lr_tbar, lr_rows * (size_t)net->max_rank);
    }
    return ok ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

/* The index lists of a batch of N atoms and E edges (not needed by a net
 * that reads another's, gb_net_share_graph). */
static gbnet_status GB_T(reserve_graph)(NET *net, int N, int E) {
    size_t ne = (size_t)E, ok = 1;
    ok &= GB_T(reserve_ints)(&net->edge_center, &net->cap_edge_center, ne) &
          GB_T(reserve_ints)(&net->in_offsets, &net->cap_in_offsets, (size_t)N + 1) &
          GB_T(reserve_ints)(&net->in_edges, &net->cap_in_edges, ne) & GB_T(reserve_ints)(&net->wrow, &net->cap_wrow, ne) &
          GB_T(reserve_ints)(&net->u_edges, &net->cap_u_edges, ne) &
          GB_T(reserve_ints)(&net->in_center, &net->cap_in_center, ne) & GB_T(reserve_ints)(&net->in_wrow, &net->cap_in_wrow, ne);
    return ok ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

/* Buffers sized by the number U of distinct edge lengths. */
static gbnet_status GB_T(reserve_filter)(NET *net, int U, int dual, int tabulated) {
    size_t F = (size_t)net->F, K = (size_t)net->K, nu = (size_t)U, ok = 1;
    int exact = !tabulated || dual; /* a table interpolated inline needs no stored filter */
    ok &= GB_T(ensure)(&net->d, nu + 1) & GB_T(ensure)(&net->fc, nu + 1) & GB_T(ensure)(&net->dfc, nu + 1) &
          GB_T(ensure)(&net->gd, exact ? 2 * nu * K + 1 : 1);
    for (int t = 0; t < net->T; ++t)
        ok &= GB_T(ensure)(&net->W[t], exact ? nu * F + 1 : 1) & GB_T(ensure)(&net->dW[t], exact ? nu * F + 1 : 1);
    size_t scratch = dual ? 2 * nu * F : (tabulated ? 0 : (size_t)net->n_threads * 2 * GB_FILTER_TILE * F);
    ok &= GB_T(ensure)(&net->fa, scratch + 1) & GB_T(ensure)(&net->fs, scratch + 1) & GB_T(ensure)(&net->fu, scratch + 1);
    ok &= GB_T(reserve_ints)(&net->u_offsets, &net->cap_u_offsets, nu + 1);
    return ok ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

/* Edges grouped by neighbor atom (a counting sort, stable in edge order), so
 * that sums over "edges pointing at j" are segmented sums owned by j. With
 * several threads each counts and places a contiguous range of edges; a
 * stable counting sort has one result, so the lists do not depend on that. */
static gbnet_status GB_T(build_index_lists)(NET *net, const gb_batch *b) {
    int N = b->n_atoms, NC = b->n_centers, E = b->n_edges;
    int *center = net->edge_center, *off = net->in_offsets, *in = net->in_edges;
    int nt = E > 65536 && net->n_threads > 1 ? net->n_threads : 1;
    if (!GB_T(reserve_ints)(&net->sort_counts, &net->cap_sort_counts, (size_t)nt * ((size_t)N + 1)))
        return GBNET_ERR_NO_MEMORY;
    int *counts = net->sort_counts; /* [nt][N]: edges of part t pointing at j, then part t's cursor for j */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#ifdef _OPENMP
        int part = omp_get_thread_num(), parts = omp_get_num_threads();
#else
        int part = 0, parts = 1;
#endif
        int i0, i1;
        gb_rows_part(b->offsets, NC, part, parts, &i0, &i1);
        for (int i = i0; i < i1; ++i)
            for (int e = b->offsets[i]; e < b->offsets[i + 1]; ++e) center[e] = i;
        int e0 = (int)((long long)E * part / parts), e1 = (int)((long long)E * (part + 1) / parts);
        int *cnt = counts + (size_t)part * N;
        memset(cnt, 0, (size_t)N * sizeof(int));
        for (int e = e0; e < e1; ++e) cnt[b->neighbor[e]]++;
#pragma omp barrier
#pragma omp single
        {
            int run = 0;
            for (int j = 0; j < N; ++j) {
                off[j] = run;
                for (int t = 0; t < parts; ++t) {
                    int c = counts[(size_t)t * N + j];
                    counts[(size_t)t * N + j] = run;
                    run += c;
                }
            }
            off[N] = run;
        }
        int *in_center = net->in_center;
        for (int e = e0; e < e1; ++e) {
            int q = cnt[b->neighbor[e]]++;
            in[q] = e;
            in_center[q] = center[e];
        }
    }
    return GBNET_OK;
}

/* ------------------------------------------------------------ edge level */

/* |r_ij| of edge e; a length the model can use is positive and finite. */
static inline double GB_T(edge_length)(const gb_batch *b, int e) {
    const double *v = b->vec + 3 * (size_t)e;
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}
static inline int GB_T(usable_length)(double len) { return len > 1e-8 && isfinite(len); }
static gbnet_status GB_T(unusable_length)(int e) {
    return gb_fail(GBNET_ERR_NUMERIC, "edge %d has zero or invalid length (two atoms on top of each other?)", e);
}

/* Tabulated inference: the table is read inline per edge, so lengths need no
 * grouping; row e is edge e (sequential reads in the cfconv kernels). */
static gbnet_status GB_T(edge_lengths_inline)(NET *net, const gb_batch *b) {
    int E = b->n_edges, bad = 0;
    gbnet_status st = GB_T(reserve_filter)(net, E, 0, 1);
    if (st) return st;
    net->U = E;
    real *d = net->d.p;
    int *wrow = net->wrow;
#pragma omp parallel for schedule(static) num_threads(net->n_threads) if (E > 4096) reduction(| : bad)
    for (int e = 0; e < E; ++e) {
        double len = GB_T(edge_length)(b, e);
        bad |= !GB_T(usable_length)(len);
        d[e] = (real)len;
        wrow[e] = e;
    }
    if (bad) /* the first bad edge, for the message */
        for (int e = 0; e < E; ++e)
            if (!GB_T(usable_length)(GB_T(edge_length)(b, e))) return GB_T(unusable_length)(e);
    /* every block's table has the same grid: one cell per edge for all of them */
    if (!GB_T(reserve_ints)(&net->cell, &net->cap_cell, (size_t)E) || !GB_T(ensure)(&net->cell_u, (size_t)E + 1))
        return GBNET_ERR_NO_MEMORY;
    GB_T(gb_table_cells)(net->cell, net->cell_u.p, &net->tab[0], d, E, net->n_threads);
    return GBNET_OK;
}

/* Groups edges by exact length (a hash on the bits of the length in working precision, in
 * first-seen order, so the result is deterministic): wrow[e] is the distinct
 * length of edge e, u_offsets/u_edges list the edges of each. Then the radial
 * basis and cutoff of each distinct length. */
static gbnet_status GB_T(edge_lengths)(NET *net, const gb_batch *b, int dual, int tabulated) {
    int E = b->n_edges, K = net->K;
    if (tabulated && !dual) return GB_T(edge_lengths_inline)(net, b);
    size_t slots = 16;
    while (slots < 2 * (size_t)E) slots *= 2;
    if (!GB_GROW(net->hash_keys, net->cap_hash_keys, slots) || !GB_GROW(net->hash_vals, net->cap_hash_vals, slots))
        return GBNET_ERR_NO_MEMORY;
    uint64_t *keys = net->hash_keys;
    int *vals = net->hash_vals, *wrow = net->wrow;
    for (size_t k = 0; k < slots; ++k) vals[k] = -1;
    if (!GB_GROW(net->lens, net->cap_lens, (size_t)E + 1)) return GBNET_ERR_NO_MEMORY;
    double *lens = net->lens; /* [U] the distinct lengths in double */
    int U = 0;
    for (int e = 0; e < E; ++e) {
        double len = GB_T(edge_length)(b, e);
        if (!GB_T(usable_length)(len)) return GB_T(unusable_length)(e);
        /* The filter sees the length in the working precision, so edges whose
         * lengths round to the same value there share bitwise the same filter
         * row: grouping on those bits is exact, and in float it also joins
         * i->j with j->i when their double lengths differ in the last bits
         * (pairs across a periodic boundary given as ghost copies). */
        real len_r = (real)len;
        uint64_t bits = 0;
        memcpy(&bits, &len_r, sizeof len_r);
        size_t h = (size_t)((bits * 0x9E3779B97F4A7C15ULL) >> 20) & (slots - 1);
        while (vals[h] >= 0 && keys[h] != bits) h = (h + 1) & (slots - 1);
        if (vals[h] < 0) {
            keys[h] = bits;
            vals[h] = U;
            lens[U++] = len;
        }
        wrow[e] = vals[h];
    }
    gbnet_status st = GB_T(reserve_filter)(net, U, dual, tabulated);
    if (st) return st;
    net->U = U;
    /* edges of each distinct length (counting sort, stable) */
    int *uo = net->u_offsets, *ue = net->u_edges;
    memset(uo, 0, ((size_t)U + 1) * sizeof(int));
    for (int e = 0; e < E; ++e) uo[wrow[e] + 1]++;
    for (int u = 0; u < U; ++u) uo[u + 1] += uo[u];
    for (int e = 0; e < E; ++e) ue[uo[wrow[e]]++] = e;
    for (int u = U; u > 0; --u) uo[u] = uo[u - 1];
    uo[0] = 0;
    real rc = net->rc, spacing = rc / (real)(K - 1), inv_w2 = 1 / (spacing * spacing);
    real *d = net->d.p, *fc = net->fc.p, *dfc = net->dfc.p, *g = net->gd.p, *dg = net->gd.p + (size_t)U * K;
#pragma omp parallel for schedule(static) num_threads(net->n_threads) if (U > 1024)
    for (int u = 0; u < U; ++u) {
        real du = (real)lens[u];
        d[u] = du;
        GB_T(gb_cosine_cutoff)(&fc[u], &dfc[u], du, rc);
        if (!tabulated || dual) GB_T(gb_gaussian_rbf)(g + (size_t)u * K, dg + (size_t)u * K, du, spacing, inv_w2, K);
    }
    return GBNET_OK;
}

/* What the fused backward reads per in-edge, in in-edge order: the length
 * for the inline table, the filter row for a stored exact filter (also after
 * a training-mode forward: the loss asks for dE/dd after one). */
static gbnet_status GB_T(in_edge_rows)(NET *net, int inline_table) {
    int E = net->E;
    if (inline_table && (!GB_T(reserve_ints)(&net->in_cell, &net->cap_in_cell, (size_t)E) ||
                         !GB_T(ensure)(&net->in_u, (size_t)E + 1)))
        return GBNET_ERR_NO_MEMORY;
    const int *in = net->in_edges, *wrow = net->wrow, *cell = net->cell;
    int *in_wrow = net->in_wrow, *in_cell = net->in_cell;
    const real *cell_u = net->cell_u.p;
    real *in_u = net->in_u.p;
#pragma omp parallel for schedule(static) num_threads(net->n_threads) if (E > 4096)
    for (int q = 0; q < E; ++q) {
        if (inline_table) { /* (inline: edge e is row e) */
            in_cell[q] = cell[in[q]];
            in_u[q] = cell_u[in[q]];
        } else {
            in_wrow[q] = wrow[in[q]];
        }
    }
    return GBNET_OK;
}

/* Filter network of block t for rows [u0, u0+n) of the distinct lengths, with its
 * d-derivative, using scratch fa/fs/fu of 2n x F each:
 * [a; a_d] = [g; dg] W_f1^T + [b_f1; 0];  [s; s_d] = [ssp(a); sig(a) a_d];
 * [u; u_d] = [s; s_d] W_f2^T + [b_f2; 0]; W = u fc; dW = u_d fc + u dfc.    */
static void GB_T(filter_rows)(NET *net, int t, int u0, int n, real *fa, real *fs, real *fu) {
    int F = net->F, K = net->K, U = net->U;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    const real *g = net->gd.p + (size_t)u0 * K, *dg = net->gd.p + ((size_t)U + u0) * K;
    size_t nF = (size_t)n * F;
    GB_T(gb_linear)(fa, g, w + L->block[t].filter1_w, w + L->block[t].filter1_b, n, n, K, F);
    GB_T(gb_linear)(fa + nF, dg, w + L->block[t].filter1_w, NULL, n, 0, K, F);
    GB_T(gb_ssp_dual)(fs, fs + nF, fa, fa + nF, nF, 1);
    GB_T(gb_linear)(fu, fs, w + L->block[t].filter2_w, w + L->block[t].filter2_b, 2 * n, n, F, F);
    real *W = net->W[t].p + (size_t)u0 * F, *dW = net->dW[t].p + (size_t)u0 * F;
    const real *fc = net->fc.p + u0, *dfc = net->dfc.p + u0, *u = fu, *ud = fu + nF;
    for (int r = 0; r < n; ++r) {
        size_t o = (size_t)r * F;
        for (int f = 0; f < F; ++f) {
            W[o + f] = u[o + f] * fc[r];
            dW[o + f] = ud[o + f] * fc[r] + u[o + f] * dfc[r];
        }
    }
}

/* Inference: the filter in cache-sized tiles, one tile per thread at a time. */
static void GB_T(filter_exact)(NET *net, int t) {
    int U = net->U, F = net->F, tiles = (U + GB_FILTER_TILE - 1) / GB_FILTER_TILE;
    size_t tile = 2 * (size_t)GB_FILTER_TILE * F;
#pragma omp parallel num_threads(net->n_threads) if (tiles > 1)
    {
#ifdef _OPENMP
        int me = omp_get_thread_num();
#else
        int me = 0;
#endif
        real *fa = net->fa.p + me * tile, *fs = net->fs.p + me * tile, *fu = net->fu.p + me * tile;
#pragma omp for schedule(static)
        for (int k = 0; k < tiles; ++k) {
            int u0 = k * GB_FILTER_TILE, n = U - u0 < GB_FILTER_TILE ? U - u0 : GB_FILTER_TILE;
            GB_T(filter_rows)(net, t, u0, n, fa, fs, fu);
        }
    }
}

/* Training: the whole filter at once, keeping [a; a_d] in fa for the backward. */
static void GB_T(filter_exact_full)(NET *net, int t) {
    GB_T(filter_rows)(net, t, 0, net->U, net->fa.p, net->fs.p, net->fu.p);
}

/* ------------------------------------------------------------ filter network backward */

/* Reverse sweep of the filter network for block t given Wbar [E][F] (in fu's
 * first half) and dWbar [E][F] (second half): accumulates weight gradients. */
static void GB_T(filter_backward)(NET *net, int t) {
    int E = net->U;
    int F = net->F, K = net->K;
    const real *w = net->w;
    real *gr = net->grad;
    const gb_layout *L = &net->L;
    real *fa = net->fa.p, *fs = net->fs.p, *fu = net->fu.p;
    size_t EF = (size_t)E * F;
    /* ubar = Wbar fc + dWbar dfc ; u_d bar = dWbar fc */
    const real *fc = net->fc.p, *dfc = net->dfc.p;
#pragma omp parallel for schedule(static) num_threads(net->n_threads) if (E > 256)
    for (int e = 0; e < E; ++e) {
        size_t o = (size_t)e * F;
        for (int f = 0; f < F; ++f) {
            real Wb = fu[o + f], dWb = fu[EF + o + f];
            fu[o + f] = Wb * fc[e] + dWb * dfc[e];
            fu[EF + o + f] = dWb * fc[e];
        }
    }
    /* recompute [a; a_d] and [s; s_d] */
    GB_T(gb_linear)(fa, net->gd.p, w + L->block[t].filter1_w, w + L->block[t].filter1_b, 2 * E, E, K, F);
    GB_T(gb_ssp_dual)(fs, fs + EF, fa, fa + EF, EF, net->n_threads);
    (void)K;
    /* W_f2 bar += [ubar; u_d bar]^T [s; s_d];  b_f2 bar += colsum(ubar) */
    GB_T(gb_gemm_tn_acc)(gr + L->block[t].filter2_w, fu, fs, 2 * E, F, F);
    GB_T(gb_colsum_acc)(gr + L->block[t].filter2_b, fu, E, F);
    /* [sbar; s_d bar] = [ubar; u_d bar] W_f2  (into fs) */
    GB_T(gb_gemm_nn)(fs, fu, w + L->block[t].filter2_w, 2 * E, F, F);
    /* abar = sbar sig(a) + s_d bar sig'(a) a_d ; a_d bar = s_d bar sig(a)  (into fu) */
    GB_T(gb_ssp_dual_backward)(fu, fu + EF, fs, fs + EF, fa, fa + EF, EF, net->n_threads);
    GB_T(gb_gemm_tn_acc)(gr + L->block[t].filter1_w, fu, net->gd.p, 2 * E, F, K);
    GB_T(gb_colsum_acc)(gr + L->block[t].filter1_b, fu, E, F);
}

/* ------------------------------------------------------------ layers
 *
 * Each layer's forward, tangent and backward side by side; the passes below
 * are short lists of layer calls. Rows: centers [0, NC) (owned atoms whose
 * energies count), ghosts [NC, N); in training mode (no ghosts) the tangent
 * rows [N, 2N) follow the primal ones in every activation buffer. */

/* What one backward sweep needs besides the network (set by gb_backward). */
typedef struct {
    const gb_batch *b;
    int dual;         /* seeds for the tangent rows too (after gb_tangent) */
    int grad;         /* parameter gradients into net->grad */
    int rows;         /* rows of center-only layers: NC, or 2N stacked in dual mode */
    size_t tan;       /* offset of the tangent rows, N F */
    double *dbar_in;  /* [E] dE/dd in in-edge order, or NULL */
} GB_T(sweep);

/* The cfconv backward kernel a sweep uses: one choice, named. */
typedef enum {
    GB_T(CFCONV_BACK_DUAL),  /* training, dual seeds: primal and tangent rows together */
    GB_T(CFCONV_BACK_TABLE), /* inference with a table: filter interpolated inline, dE/dd with it */
    GB_T(CFCONV_BACK_FUSED), /* exact filter, hbar and dE/dd in one pass */
    GB_T(CFCONV_BACK_PLAIN)  /* exact filter, hbar only (parameter gradients without dE/dd) */
} GB_T(cfconv_back_kind);

/* Evaluation of a tabulated model reads the filter inline from the table;
 * training always runs the exact filter network. */
static int GB_T(reads_table)(const NET *net) { return net->model->table && net->mode == GB_PASS_EVALUATE; }

static GB_T(cfconv_back_kind) GB_T(cfconv_back_choice)(const NET *net, const GB_T(sweep) *s) {
    if (s->dual) return GB_T(CFCONV_BACK_DUAL);
    if (GB_T(reads_table)(net)) return GB_T(CFCONV_BACK_TABLE);
    return s->dbar_in ? GB_T(CFCONV_BACK_FUSED) : GB_T(CFCONV_BACK_PLAIN);
}

/* --- dense layers: Y = X W^T, or with W = A B (factored, rank r) the two thin
 * GEMMs T = X B^T [rows][r] and Y = T A^T, so a layer costs r (in + out)
 * instead of in out multiply-adds per row. T is scratch (lr_t): the backward
 * recomputes it rather than keeping one per layer. */

static gb_dense GB_T(dense)(const NET *net, gbnet_dense_kind kind, int t) {
    return gb_layout_dense(&net->L, &net->model->hp, kind, t);
}

/* Y [rows][out] = X [rows][in] W^T + bias (rows < bias_rows; bias may be NULL); acc: Y += */
static void GB_T(dense_forward)(NET *net, gb_dense d, real *Y, const real *X, const real *bias, int rows,
                                int bias_rows, int acc) {
    const real *w = net->w;
#if GB_NET_QUANT
    /* float evaluation of a quantized model: its full layers run the quantized kernels (quant.h) */
    if (net->mode == GB_PASS_EVALUATE && (net->q || net->calib)) {
        int layer = gb_quant_layer_of(net->model, d.w, d.rank);
        if (layer >= 0 && net->calib) gb_calib_record(net->calib, layer, X, rows, d.in);
        if (layer >= 0 && net->q) {
            gb_qdense_forward(net->q, layer, Y, X, bias, rows, bias_rows, acc, net->n_threads);
            return;
        }
    }
#endif
    if (!d.rank) {
        if (acc) GB_T(gb_linear_acc)(Y, X, w + d.w, bias, rows, bias_rows, d.in, d.out);
        else GB_T(gb_linear)(Y, X, w + d.w, bias, rows, bias_rows, d.in, d.out);
        return;
    }
    real *T = net->lr_t.p; /* [rows][r] */
    GB_T(gb_linear)(T, X, w + d.wb, NULL, rows, 0, d.in, d.rank);
    if (acc) GB_T(gb_linear_acc)(Y, T, w + d.w, bias, rows, bias_rows, d.rank, d.out);
    else GB_T(gb_linear)(Y, T, w + d.w, bias, rows, bias_rows, d.rank, d.out);
}

/* Ybar [rows][out] -> Xbar [rows][in] = Ybar W (acc: +=), and with grad the
 * weight gradient Ybar^T X; factored: Tbar = Ybar A, dA += Ybar^T T,
 * dB += Tbar^T X, Xbar = Tbar B. Xbar must not alias Ybar or X. */
static void GB_T(dense_backward)(NET *net, gb_dense d, int grad, real *Xbar, const real *Ybar, const real *X,
                                 int rows, int acc) {
    const real *w = net->w;
    real *gr = net->grad;
#if GB_NET_QUANT
    /* the same quantized weights as the forward (straight through the input rounding) */
    if (net->q && !grad && net->mode == GB_PASS_EVALUATE) {
        int layer = gb_quant_layer_of(net->model, d.w, d.rank);
        if (layer >= 0) {
            gb_qdense_backward(net->q, layer, Xbar, Ybar, rows, acc, net->n_threads);
            return;
        }
    }
#endif
    if (!d.rank) {
        if (grad) GB_T(gb_gemm_tn_acc)(gr + d.w, Ybar, X, rows, d.out, d.in);
        if (acc) GB_T(gb_gemm_nn_acc)(Xbar, Ybar, w + d.w, rows, d.out, d.in);
        else GB_T(gb_gemm_nn)(Xbar, Ybar, w + d.w, rows, d.out, d.in);
        return;
    }
    real *T = net->lr_t.p, *Tbar = net->lr_tbar.p; /* [rows][r] each */
    GB_T(gb_gemm_nn)(Tbar, Ybar, w + d.w, rows, d.out, d.rank);
    if (grad) {
        GB_T(gb_linear)(T, X, w + d.wb, NULL, rows, 0, d.in, d.rank);
        GB_T(gb_gemm_tn_acc)(gr + d.w, Ybar, T, rows, d.out, d.rank);
        GB_T(gb_gemm_tn_acc)(gr + d.wb, Tbar, X, rows, d.rank, d.in);
    }
    if (acc) GB_T(gb_gemm_nn_acc)(Xbar, Tbar, w + d.wb, rows, d.rank, d.in);
    else GB_T(gb_gemm_nn)(Xbar, Tbar, w + d.wb, rows, d.rank, d.in);
}

/* --- embedding: x0_i = Emb[species_i]; h0 of each element for the ghosts of block 0 */

static void GB_T(embedding_forward)(NET *net, const gb_batch *b) {
    int F = net->F;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *x0 = net->x[0].p;
    for (int i = 0; i < net->NC; ++i)
        memcpy(x0 + (size_t)i * F, w + L->embedding + (size_t)b->species[i] * F, F * sizeof(real));
    /* Ghost atoms need only h = x W_in of each block (the cfconv gathers it):
     * block 0 from their element (h0 of each element, gathered), later blocks
     * from their owners through the exchange. Dense layers run on owned atoms only. */
    real *h0 = net->obar.p; /* [n_elements][F] scratch, free until the backward */
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_IN, 0), h0, w + L->embedding, NULL, net->n_elements, 0, 0);
}

static void GB_T(embedding_tangent)(NET *net) {
    size_t tan = (size_t)net->N * net->F;
    memset(net->x[0].p + tan, 0, tan * sizeof(real)); /* embeddings do not move with positions */
}

static void GB_T(embedding_backward)(NET *net, const GB_T(sweep) *s) {
    if (!s->grad) return;
    int F = net->F;
    real *gr = net->grad;
    const real *xbar = net->xbar.p;
    for (int i = 0; i < net->NC; ++i) {
        real *ge = gr + net->L.embedding + (size_t)s->b->species[i] * F;
        const real *xb = xbar + (size_t)i * F;
        for (int f = 0; f < F; ++f) ge[f] += xb[f];
    }
}

/* --- block input: h = W_in x (owned rows), ghosts from the exchange */

static void GB_T(block_in_forward)(NET *net, const gb_batch *b, int t) {
    int F = net->F;
    real *h = net->h[t].p;
    if (t == 0) {
        const real *h0 = net->obar.p;
        for (int i = 0; i < net->N; ++i) memcpy(h + (size_t)i * F, h0 + (size_t)b->species[i] * F, F * sizeof(real));
    } else {
        GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_IN, t), h, net->x[t].p, NULL, net->NC, 0, 0);
        if (b->forward_exchange) b->forward_exchange(b->exchange_ctx, h, F, sizeof(real));
    }
}

static void GB_T(block_in_tangent)(NET *net, int t) {
    size_t tan = (size_t)net->N * net->F;
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_IN, t), net->h[t].p + tan, net->x[t].p + tan, NULL, net->N,
                        0, 0);
}

/* hbar -> W_in gradient and xbar += hbar W_in; ghost rows of hbar go to their
 * owners first (block 0: to the embedding of the ghost's element, which only
 * parameter gradients would need, and those are computed without ghosts) */
static void GB_T(block_in_backward)(NET *net, const GB_T(sweep) *s, int t) {
    int F = net->F;
    real *hbar = net->hbar.p;
    if (t > 0 && s->b->reverse_exchange) s->b->reverse_exchange(s->b->exchange_ctx, hbar, F, sizeof(real));
    GB_T(dense_backward)(net, GB_T(dense)(net, GBNET_DENSE_IN, t), s->grad, net->xbar.p, hbar, net->x[t].p, s->rows, 1);
}

/* --- continuous-filter convolution: m_i = sum_j h_j W(d_ij) */

static void GB_T(cfconv_forward)(NET *net, const gb_batch *b, int t) {
    real *m = net->m[t].p, *h = net->h[t].p;
    if (GB_T(reads_table)(net))
        GB_T(gb_cfconv_table)(m, h, &net->tab[t], net->graph->cell, net->graph->cell_u.p, b->offsets, b->neighbor,
                              net->NC, net->F, net->n_threads);
    else
        GB_T(gb_cfconv)(m, h, net->W[t].p, net->wrow, b->offsets, b->neighbor, net->NC, net->F, net->n_threads);
}

static void GB_T(cfconv_tangent_layer)(NET *net, const gb_batch *b, int t) {
    size_t tan = (size_t)net->N * net->F;
    real *h = net->h[t].p;
    GB_T(gb_cfconv_tangent)(net->m[t].p + tan, h, h + tan, net->W[t].p, net->dW[t].p, net->wrow, net->ddot.p,
                            b->offsets, b->neighbor, net->N, net->F, net->n_threads);
}

/* mbar -> hbar (and dE/dd, and the filter network's gradients) */
static void GB_T(cfconv_backward_layer)(NET *net, const GB_T(sweep) *s, int t) {
    int N = net->N, F = net->F, nt = net->n_threads;
    size_t tan = s->tan;
    const real *h = net->h[t].p;
    real *hbar = net->hbar.p, *mbar = net->mbar.p;
    switch (GB_T(cfconv_back_choice)(net, s)) {
    case GB_T(CFCONV_BACK_DUAL):
        GB_T(gb_cfconv_backward_dual)(hbar, hbar + tan, mbar, mbar + tan, net->W[t].p, net->dW[t].p, net->wrow,
                                      net->ddot.p, net->edge_center, net->in_offsets, net->in_edges, N, F, nt);
        break;
    case GB_T(CFCONV_BACK_TABLE):
        GB_T(gb_cfconv_backward_table)(hbar, s->dbar_in, mbar, h, &net->tab[t], net->graph->in_cell,
                                       net->graph->in_u.p, net->graph->in_center, net->graph->in_offsets, N, F, nt);
        break;
    case GB_T(CFCONV_BACK_FUSED):
        GB_T(gb_cfconv_backward_fused)(hbar, s->dbar_in, mbar, h, net->W[t].p, net->dW[t].p, net->in_wrow,
                                       net->in_center, net->in_offsets, N, F, nt);
        break;
    case GB_T(CFCONV_BACK_PLAIN):
        GB_T(gb_cfconv_backward)(hbar, mbar, net->W[t].p, net->wrow, net->edge_center, net->in_offsets,
                                 net->in_edges, N, F, nt);
        break;
    }
    if (s->grad) {
        GB_T(gb_filter_grad_dual)(net->fu.p, net->fu.p + (size_t)net->U * F, mbar, s->dual ? mbar + tan : NULL, h,
                                  s->dual ? h + tan : NULL, s->dual ? net->ddot.p : NULL, net->edge_center,
                                  s->b->neighbor, net->u_offsets, net->u_edges, net->U, F, nt);
        GB_T(filter_backward)(net, t);
    }
}

/* --- block output: x' = x + W_o2 ssp(W_o1 m + b_o1) + b_o2 */

static void GB_T(block_out_forward)(NET *net, int t) {
    int NC = net->NC, F = net->F;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *o1 = net->o1[t].p, *s1 = net->s1[t].p, *xn = net->x[t + 1].p;
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_OUT1, t), o1, net->m[t].p, w + L->block[t].out1_b, NC, NC, 0);
    GB_T(gb_ssp_dual)(s1, NULL, o1, NULL, (size_t)NC * F, net->n_threads);
    memcpy(xn, net->x[t].p, (size_t)NC * F * sizeof(real));
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_OUT2, t), xn, s1, w + L->block[t].out2_b, NC, NC, 1);
}

static void GB_T(block_out_tangent)(NET *net, int t) {
    int N = net->N, F = net->F;
    size_t tan = (size_t)N * F;
    real *o1 = net->o1[t].p, *s1 = net->s1[t].p, *xn = net->x[t + 1].p;
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_OUT1, t), o1 + tan, net->m[t].p + tan, NULL, N, 0, 0);
    GB_T(gb_ssp_dual)(NULL, s1 + tan, o1, o1 + tan, tan, net->n_threads);
    memcpy(xn + tan, net->x[t].p + tan, tan * sizeof(real));
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_OUT2, t), xn + tan, s1 + tan, NULL, N, 0, 1);
}

/* xbar (the residual passes it on unchanged) -> mbar, with the MLP's gradients */
static void GB_T(block_out_backward)(NET *net, const GB_T(sweep) *s, int t) {
    int NC = net->NC, F = net->F;
    real *gr = net->grad;
    const gb_layout *L = &net->L;
    const real *o1 = net->o1[t].p, *s1 = net->s1[t].p;
    real *xbar = net->xbar.p, *obar = net->obar.p;
    /* o2bar = xbar (center rows); s1bar = xbar W_o2 */
    if (s->grad) GB_T(gb_colsum_acc)(gr + L->block[t].out2_b, xbar, NC, F);
    GB_T(dense_backward)(net, GB_T(dense)(net, GBNET_DENSE_OUT2, t), s->grad, obar, xbar, s1, s->rows, 0);
    /* through ssp: obar becomes o1bar (primal and tangent rows) */
    if (s->dual) GB_T(gb_ssp_dual_backward)(obar, obar + s->tan, obar, obar + s->tan, o1, o1 + s->tan, s->tan,
                                            net->n_threads);
    else GB_T(gb_ssp_backward)(obar, obar, o1, (size_t)NC * F, net->n_threads);
    if (s->grad) GB_T(gb_colsum_acc)(gr + L->block[t].out1_b, obar, NC, F);
    GB_T(dense_backward)(net, GB_T(dense)(net, GBNET_DENSE_OUT1, t), s->grad, net->mbar.p, obar, net->m[t].p, s->rows, 0);
}

/* --- readout: eps_i = w_2 . ssp(W_1 x_i + b_1) + b_2 */

static void GB_T(readout_forward)(NET *net) {
    int NC = net->NC, R = net->R;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *p = net->p.p, *r = net->r.p, *eps = net->eps.p;
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_READOUT, 0), p, net->x[net->T].p, w + L->readout1_b, NC, NC, 0);
    GB_T(gb_ssp_dual)(r, NULL, p, NULL, (size_t)NC * R, net->n_threads);
    const real *w2 = w + L->readout2_w;
    real b2 = w[L->readout2_b];
    for (int i = 0; i < NC; ++i) eps[i] = GB_T(gb_dot)(r + (size_t)i * R, w2, R) + b2;
}

static void GB_T(readout_tangent)(NET *net, double *atom_energy_dot) {
    int N = net->N, F = net->F, R = net->R;
    size_t tan = (size_t)N * F, tanR = (size_t)N * R;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *p = net->p.p, *r = net->r.p;
    GB_T(dense_forward)(net, GB_T(dense)(net, GBNET_DENSE_READOUT, 0), p + tanR, net->x[net->T].p + tan, NULL, N, 0, 0);
    GB_T(gb_ssp_dual)(NULL, r + tanR, p, p + tanR, tanR, net->n_threads);
    const real *w2 = w + L->readout2_w;
    for (int i = 0; i < N; ++i) {
        real ed = GB_T(gb_dot)(r + tanR + (size_t)i * R, w2, R);
        if (atom_energy_dot) atom_energy_dot[i] = net->model->energy_scale * (double)ed;
    }
}

/* energy seeds (ebar, ebar_dot per center) -> xbar of the last block */
static void GB_T(readout_backward)(NET *net, const GB_T(sweep) *s, const double *ebar, const double *ebar_dot) {
    int N = net->N, NC = net->NC, F = net->F, R = net->R, T = net->T, dual = s->dual;
    size_t tanR = (size_t)N * R;
    const real *w = net->w;
    real *gr = net->grad;
    const gb_layout *L = &net->L;
    double scale = net->model->energy_scale;
    real *p = net->p.p, *r = net->r.p, *pbar = net->pbar.p, *xbar = net->xbar.p;
    const real *w2 = w + L->readout2_w;
    double gb2 = 0;
    for (int i = 0; i < NC; ++i) {
        real eb = (real)(scale * ebar[i]);
        real ebd = dual ? (real)(scale * ebar_dot[i]) : 0;
        gb2 += eb;
        const real *ri = r + (size_t)i * R, *pi = p + (size_t)i * R;
        real *pb = pbar + (size_t)i * R;
        if (s->grad)
            for (int k = 0; k < R; ++k)
                gr[L->readout2_w + k] += eb * ri[k] + (dual ? ebd * r[tanR + (size_t)i * R + k] : 0);
        for (int k = 0; k < R; ++k) {
            real sg = GB_T(gb_sigmoid)(pi[k]);
            pb[k] = eb * w2[k] * sg;
            if (dual) {
                real pd = p[tanR + (size_t)i * R + k];
                pb[k] += ebd * w2[k] * sg * (1 - sg) * pd;
                pbar[tanR + (size_t)i * R + k] = ebd * w2[k] * sg;
            }
        }
    }
    if (s->grad) {
        gr[L->readout2_b] += (real)gb2;
        GB_T(gb_colsum_acc)(gr + L->readout1_b, pbar, NC, R);
    }
    memset(xbar, 0, (size_t)s->rows * F * sizeof(real));
    GB_T(dense_backward)(net, GB_T(dense)(net, GBNET_DENSE_READOUT, 0), s->grad, xbar, pbar, net->x[T].p, s->rows, 0);
}

/* --- energies: E_i = sigma eps_i + mu + e_ref[element] */

static void GB_T(energies_forward)(NET *net, const gb_batch *b, double *atom_energy, double *graph_energy) {
    const gbnet_model *mo = net->model;
    const real *eps = net->eps.p;
    if (graph_energy)
        for (int g = 0; g < b->n_graphs; ++g) graph_energy[g] = 0.0;
    for (int i = 0; i < net->NC; ++i) {
        double Ei = mo->energy_scale * (double)eps[i] + mo->energy_shift + mo->e_ref[b->species[i]];
        if (atom_energy) atom_energy[i] = Ei;
        int g = b->atom_graph ? b->atom_graph[i] : 0;
        if (graph_energy && g >= 0) graph_energy[g] += Ei;
    }
}

/* ------------------------------------------------------------ the passes */

/* Whether net's evaluation forward on b may read lead's graph arrays: both
 * read a table on the same grid (the cells are the same) and lead's last
 * forward was an evaluation of its own on a batch of b's sizes (the caller
 * promises the same batch). Anything else builds its own arrays. */
static int GB_T(can_share_graph)(const NET *net, const NET *lead, const gb_batch *b, gb_pass_mode mode) {
    if (lead->forwards != net->share_forward) return 0; /* lead ran again since: not this batch */
    if (mode != GB_PASS_EVALUATE || lead->mode != GB_PASS_EVALUATE || lead->graph != lead) return 0;
    if (!net->model->table || !lead->model->table) return 0;
    if (lead->N != b->n_atoms || lead->NC != b->n_centers || lead->E != b->n_edges) return 0;
    return net->tab[0].n_points == lead->tab[0].n_points && net->tab[0].step == lead->tab[0].step &&
           net->tab[0].cutoff == lead->tab[0].cutoff;
}

/* defines gb_forward_f32 and gb_forward_f64 */
gbnet_status GB_T(gb_forward)(NET *net, const gb_batch *b, gb_pass_mode mode, double *atom_energy,
                              double *graph_energy) {
    int N = b->n_atoms, NC = b->n_centers, E = b->n_edges, T = net->T, dual = mode == GB_PASS_TRAIN;
    /* first: a share is for this forward only, and whatever follows may change
     * the graph arrays a sharer of this net reads */
    const NET *lead = net->share_next;
    net->share_next = NULL;
    net->forwards++;
    if (dual && NC != N) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dual (training) mode needs a graph without ghosts");
    if (N > NC && (!b->forward_exchange || !b->reverse_exchange) && T > 1)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "a graph with ghost atoms needs forward and reverse exchange callbacks (message passing "
                       "reaches T*rc)");
    int tabulated = net->model->table != NULL;
    gb_gemm_set_threads(net->n_threads);
    gbnet_status st = GB_T(reserve)(net, N, E, dual);
    if (st) return st;
    net->N = N;
    net->NC = NC;
    net->E = E;
    net->mode = mode;
    net->tangent_done = 0;
    net->graph = net;
    if (lead && GB_T(can_share_graph)(net, lead, b, mode)) {
        net->graph = lead;
        net->U = lead->U;
    } else {
        if ((st = GB_T(reserve_graph)(net, N, E))) return st;
        if ((st = GB_T(build_index_lists)(net, b))) return st;
        if ((st = GB_T(edge_lengths)(net, b, dual, tabulated))) return st;
        if ((st = GB_T(in_edge_rows)(net, tabulated && !dual))) return st;
    }
#if GB_NET_QUANT
    if (net->q && (st = gb_qnet_reserve(net->q, N > net->n_elements ? N : net->n_elements))) return st;
#endif
    /* exact filter: evaluated once per block and stored for the backward (recomputing it
     * would double the dominant cost); tabulated: interpolated inline in the cfconv kernels */
    for (int t = 0; t < T; ++t) {
        if (dual) GB_T(filter_exact_full)(net, t);
        else if (!tabulated) GB_T(filter_exact)(net, t);
    }
    GB_T(embedding_forward)(net, b);
    for (int t = 0; t < T; ++t) {
        GB_T(block_in_forward)(net, b, t);
        GB_T(cfconv_forward)(net, b, t);
        GB_T(block_out_forward)(net, t);
    }
    GB_T(readout_forward)(net);
    GB_T(energies_forward)(net, b, atom_energy, graph_energy);
    return GBNET_OK;
}

/* defines gb_tangent_f32 and gb_tangent_f64 */
gbnet_status GB_T(gb_tangent)(NET *net, const gb_batch *b, const double *d_dot, double *atom_energy_dot) {
    if (net->mode != GB_PASS_TRAIN) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gb_tangent needs a dual-mode forward first");
    gb_gemm_set_threads(net->n_threads);
    real *dd = net->ddot.p;
    for (int e = 0; e < net->E; ++e) dd[e] = (real)d_dot[e];
    GB_T(embedding_tangent)(net);
    for (int t = 0; t < net->T; ++t) {
        GB_T(block_in_tangent)(net, t);
        GB_T(cfconv_tangent_layer)(net, b, t);
        GB_T(block_out_tangent)(net, t);
    }
    GB_T(readout_tangent)(net, atom_energy_dot);
    net->tangent_done = 1;
    return GBNET_OK;
}

/* defines gb_backward_f32 and gb_backward_f64 */
gbnet_status GB_T(gb_backward)(NET *net, const gb_batch *b, const double *ebar, const double *ebar_dot, double *grad,
                               double *dbar) {
    int dual = ebar_dot != NULL;
    if (dual && !net->tangent_done) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dual backward needs gb_tangent first");
    if (dual && dbar) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dbar is not available in dual mode");
    if (grad && net->mode != GB_PASS_TRAIN)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "parameter gradients need a training-mode (dual) forward first");
    int N = net->N, E = net->E;
    GB_T(sweep) s = {b, dual, grad != NULL, dual ? 2 * N : net->NC, (size_t)N * net->F, NULL};
    if (grad) memset(net->grad, 0, net->L.total * sizeof(real));
    gb_gemm_set_threads(net->n_threads);
    /* dE/dd is summed in in-edge order and permuted into dbar at the end, which
     * writes every edge: dbar needs no clearing */
    if (dbar) {
        if (!GB_GROW(net->dbar_in, net->cap_dbar_in, (size_t)E + 1)) return GBNET_ERR_NO_MEMORY;
        s.dbar_in = net->dbar_in;
        memset(s.dbar_in, 0, (size_t)E * sizeof(double));
    }
    GB_T(readout_backward)(net, &s, ebar, ebar_dot);
    for (int t = net->T - 1; t >= 0; --t) {
        GB_T(block_out_backward)(net, &s, t);
        GB_T(cfconv_backward_layer)(net, &s, t);
        GB_T(block_in_backward)(net, &s, t);
    }
    if (s.dbar_in) { /* back to edge order: in_edges is a permutation, each dbar[e] has one writer */
        const int *in = net->graph->in_edges;
        const double *dbar_in = s.dbar_in;
#pragma omp parallel for schedule(static) num_threads(net->n_threads) if (E > 4096)
        for (int q = 0; q < E; ++q) dbar[in[q]] = dbar_in[q];
    }
    GB_T(embedding_backward)(net, &s);
    if (grad)
        for (size_t k = 0; k < net->L.total; ++k) grad[k] += (double)net->grad[k];
    return GBNET_OK;
}

#undef NET
#undef GB_T
#undef GB_T_JOIN
#undef GB_T_JOIN2
