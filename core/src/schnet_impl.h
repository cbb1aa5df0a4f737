/* Batched SchNet forward / tangent / backward, written once for a real type.
 * Included by schnet_f32.c and schnet_f64.c with:
 *   REAL   float or double
 *   S      f32 or f64 (suffix of every exported name)
 * See schnet.h for the design. Buffers are row-major; "[n][F]" comments give
 * shapes. In dual (training) mode activation buffers hold 2N rows: primal rows
 * [0, N) then tangent rows [N, 2N), so every linear layer is one GEMM. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "kernels.h"
#include "schnet.h"

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, S)
#define NET CAT(gb_net, S)

typedef REAL real;

typedef struct {
    real *p;
    size_t cap; /* in elements */
} FN(buf);

struct NET {
    const gbnet_model *model;
    int F, K, R, T, n_elements;
    real rc;
    gb_layout L;
    real *w;      /* [L.total] weights in this precision */
    real *grad;   /* [L.total] gradient accumulator in this precision */
    int n_threads;
    /* sizes of the last forward */
    int N, NC, E, dual, tangent_done;
    /* edge data */
    FN(buf) d, rhat, fc, dfc, ddot;  /* [E], [E][3], [E], [E], [E] */
    FN(buf) gd;                      /* [2E][K]: rbf rows, then d(rbf)/dd rows */
    FN(buf) W[GBNET_MAX_BLOCKS];     /* [E][F] filter W_t(d_e), cutoff included */
    FN(buf) dW[GBNET_MAX_BLOCKS];    /* [E][F] dW_t/dd */
    FN(buf) fa, fs, fu;              /* [2E][F] filter-network scratch */
    /* atom data (nr = N, or 2N in dual mode) */
    FN(buf) x[GBNET_MAX_BLOCKS + 1]; /* [nr][F] */
    FN(buf) h[GBNET_MAX_BLOCKS];     /* [nr][F] */
    FN(buf) m[GBNET_MAX_BLOCKS];     /* [nr][F] */
    FN(buf) o1[GBNET_MAX_BLOCKS];    /* [nr][F] pre-activation */
    FN(buf) s1[GBNET_MAX_BLOCKS];    /* [nr][F] ssp(o1) and its tangent */
    FN(buf) p, r;                    /* [nr][R] readout */
    FN(buf) eps;                     /* [nr] */
    FN(buf) xbar, hbar, mbar, obar;  /* [nr][F] */
    FN(buf) pbar;                    /* [nr][R] */
    /* index lists */
    int *edge_center; size_t cap_edge_center;   /* [E] */
    int *in_offsets; size_t cap_in_offsets;     /* [N+1] edges grouped by neighbor */
    int *in_edges; size_t cap_in_edges;         /* [E] */
};

static int FN(ensure)(FN(buf) *b, size_t n) {
    size_t bytes_cap = b->cap * sizeof(real);
    void *ptr = b->p;
    if (!gb_reserve(&ptr, &bytes_cap, n * sizeof(real))) return 0;
    b->p = ptr;
    b->cap = bytes_cap / sizeof(real);
    return 1;
}

static void FN(free_buf)(FN(buf) *b) {
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

NET *FN(gb_net_create)(const gbnet_model *model) {
    NET *net = gb_calloc(1, sizeof *net);
    if (!net) return NULL;
    net->model = model;
    net->F = model->hp.n_features;
    net->K = model->hp.n_rbf;
    net->R = model->hp.readout_width;
    net->T = model->hp.n_blocks;
    net->n_elements = model->hp.n_elements;
    net->rc = (real)model->hp.cutoff;
    net->L = model->layout;
    net->n_threads = 1;
    net->w = gb_malloc(net->L.total * sizeof(real));
    net->grad = gb_malloc(net->L.total * sizeof(real));
    if (!net->w || !net->grad) {
        FN(gb_net_free)(net);
        return NULL;
    }
    FN(gb_net_load_params)(net, model->params);
    return net;
}

void FN(gb_net_load_params)(NET *net, const double *params) {
    for (size_t i = 0; i < net->L.total; ++i) net->w[i] = (real)params[i];
}

void FN(gb_net_free)(NET *net) {
    if (!net) return;
    FN(buf) *all[] = {&net->d, &net->rhat, &net->fc, &net->dfc, &net->ddot, &net->gd, &net->fa, &net->fs,
                      &net->fu, &net->p, &net->r, &net->eps, &net->xbar, &net->hbar, &net->mbar, &net->obar,
                      &net->pbar};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) FN(free_buf)(all[i]);
    for (int t = 0; t < GBNET_MAX_BLOCKS; ++t) {
        FN(free_buf)(&net->W[t]);
        FN(free_buf)(&net->dW[t]);
        FN(free_buf)(&net->h[t]);
        FN(free_buf)(&net->m[t]);
        FN(free_buf)(&net->o1[t]);
        FN(free_buf)(&net->s1[t]);
    }
    for (int t = 0; t <= GBNET_MAX_BLOCKS; ++t) FN(free_buf)(&net->x[t]);
    free(net->edge_center);
    free(net->in_offsets);
    free(net->in_edges);
    free(net->w);
    free(net->grad);
    free(net);
}

size_t FN(gb_net_bytes)(const NET *net) {
    size_t n = 2 * net->L.total;
    const FN(buf) *all[] = {&net->d, &net->rhat, &net->fc, &net->dfc, &net->ddot, &net->gd, &net->fa, &net->fs,
                            &net->fu, &net->p, &net->r, &net->eps, &net->xbar, &net->hbar, &net->mbar, &net->obar,
                            &net->pbar};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) n += all[i]->cap;
    for (int t = 0; t < GBNET_MAX_BLOCKS; ++t)
        n += net->W[t].cap + net->dW[t].cap + net->h[t].cap + net->m[t].cap + net->o1[t].cap + net->s1[t].cap;
    for (int t = 0; t <= GBNET_MAX_BLOCKS; ++t) n += net->x[t].cap;
    return n * sizeof(real) + (net->cap_edge_center + net->cap_in_offsets + net->cap_in_edges);
}

void FN(gb_net_set_threads)(NET *net, int n_threads) { net->n_threads = n_threads; }

static gbnet_status FN(reserve)(NET *net, int N, int E, int dual, int need_filter_scratch) {
    size_t F = (size_t)net->F, K = (size_t)net->K, R = (size_t)net->R;
    size_t nr = (size_t)N * (dual ? 2 : 1), ne = (size_t)E, ok = 1;
    ok &= FN(ensure)(&net->d, ne) & FN(ensure)(&net->rhat, 3 * ne) & FN(ensure)(&net->fc, ne) &
          FN(ensure)(&net->dfc, ne) & FN(ensure)(&net->ddot, ne) & FN(ensure)(&net->gd, 2 * ne * K);
    if (need_filter_scratch)
        ok &= FN(ensure)(&net->fa, 2 * ne * F) & FN(ensure)(&net->fs, 2 * ne * F) & FN(ensure)(&net->fu, 2 * ne * F);
    for (int t = 0; t < net->T; ++t)
        ok &= FN(ensure)(&net->W[t], ne * F) & FN(ensure)(&net->dW[t], ne * F) & FN(ensure)(&net->h[t], nr * F) &
              FN(ensure)(&net->m[t], nr * F) & FN(ensure)(&net->o1[t], nr * F) & FN(ensure)(&net->s1[t], nr * F);
    for (int t = 0; t <= net->T; ++t) ok &= FN(ensure)(&net->x[t], nr * F);
    ok &= FN(ensure)(&net->p, nr * R) & FN(ensure)(&net->r, nr * R) & FN(ensure)(&net->eps, nr) &
          FN(ensure)(&net->xbar, nr * F) & FN(ensure)(&net->hbar, nr * F) & FN(ensure)(&net->mbar, nr * F) &
          FN(ensure)(&net->obar, nr * F) & FN(ensure)(&net->pbar, nr * R);
    void *p = net->edge_center;
    ok &= gb_reserve(&p, &net->cap_edge_center, ne * sizeof(int) + 1);
    net->edge_center = p;
    p = net->in_offsets;
    ok &= gb_reserve(&p, &net->cap_in_offsets, ((size_t)N + 1) * sizeof(int));
    net->in_offsets = p;
    p = net->in_edges;
    ok &= gb_reserve(&p, &net->cap_in_edges, ne * sizeof(int) + 1);
    net->in_edges = p;
    return ok ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

/* Edges grouped by neighbor atom (a counting sort, stable in edge order), so
 * that sums over "edges pointing at j" are segmented sums owned by j. */
static void FN(build_index_lists)(NET *net, const gb_batch *b) {
    int N = b->n_atoms, NC = b->n_centers, E = b->n_edges;
    int *center = net->edge_center, *off = net->in_offsets, *in = net->in_edges;
    for (int i = 0; i < NC; ++i)
        for (int e = b->offsets[i]; e < b->offsets[i + 1]; ++e) center[e] = i;
    memset(off, 0, ((size_t)N + 1) * sizeof(int));
    for (int e = 0; e < E; ++e) off[b->neighbor[e] + 1]++;
    for (int j = 0; j < N; ++j) off[j + 1] += off[j];
    /* fill using a moving cursor stored temporarily in in_edges' tail-free way */
    int *cursor = net->in_offsets; /* reuse: shift back afterwards */
    for (int e = 0; e < E; ++e) in[cursor[b->neighbor[e]]++] = e;
    for (int j = N; j > 0; --j) off[j] = off[j - 1];
    off[0] = 0;
}

/* ------------------------------------------------------------ edge level */

static gbnet_status FN(edge_geometry)(NET *net, const gb_batch *b) {
    int E = b->n_edges, K = net->K;
    real rc = net->rc, spacing = rc / (real)(K - 1), inv_w2 = 1 / (spacing * spacing);
    real *d = net->d.p, *rhat = net->rhat.p, *fc = net->fc.p, *dfc = net->dfc.p;
    real *g = net->gd.p, *dg = net->gd.p + (size_t)E * K;
    int bad = -1;
#pragma omp parallel for schedule(static) num_threads(net->n_threads)
    for (int e = 0; e < E; ++e) {
        const double *v = b->vec + 3 * (size_t)e;
        double len = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        if (!(len > 1e-8) || !isfinite(len)) {
#pragma omp critical
            if (bad < 0 || e < bad) bad = e;
            len = 1.0;
        }
        real de = (real)len;
        d[e] = de;
        for (int c = 0; c < 3; ++c) rhat[3 * (size_t)e + c] = (real)(v[c] / len);
        FN(gb_cosine_cutoff)(&fc[e], &dfc[e], de, rc);
        FN(gb_gaussian_rbf)(g + (size_t)e * K, dg + (size_t)e * K, de, spacing, inv_w2, K);
    }
    if (bad >= 0)
        return gb_fail(GBNET_ERR_NUMERIC, "edge %d has zero or invalid length (two atoms on top of each other?)", bad);
    return GBNET_OK;
}

/* Filter network of block t for all edges, with its d-derivative:
 * [a; a_d] = [g; dg] W_f1^T + [b_f1; 0];  [s; s_d] = [ssp(a); sig(a) a_d];
 * [u; u_d] = [s; s_d] W_f2^T + [b_f2; 0]; W = u fc; dW = u_d fc + u dfc.    */
static void FN(filter_exact)(NET *net, int t, int E) {
    int F = net->F, K = net->K;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *fa = net->fa.p, *fs = net->fs.p, *fu = net->fu.p;
    FN(gb_linear)(fa, net->gd.p, w + L->block[t].filter1_w, w + L->block[t].filter1_b, 2 * E, E, K, F);
    FN(gb_ssp_dual)(fs, fs + (size_t)E * F, fa, fa + (size_t)E * F, (size_t)E * F, net->n_threads);
    FN(gb_linear)(fu, fs, w + L->block[t].filter2_w, w + L->block[t].filter2_b, 2 * E, E, F, F);
    real *W = net->W[t].p, *dW = net->dW[t].p;
    const real *fc = net->fc.p, *dfc = net->dfc.p, *u = fu, *ud = fu + (size_t)E * F;
#pragma omp parallel for schedule(static) num_threads(net->n_threads)
    for (int e = 0; e < E; ++e) {
        size_t o = (size_t)e * F;
        for (int f = 0; f < F; ++f) {
            W[o + f] = u[o + f] * fc[e];
            dW[o + f] = ud[o + f] * fc[e] + u[o + f] * dfc[e];
        }
    }
}

/* Tabulated filter: cubic Hermite interpolation of W and dW/dd on a uniform grid. */
static void FN(filter_table)(NET *net, int t, int E) {
    const gb_filter_table *tab = net->model->table;
    int F = net->F, P = tab->n_points;
    double step = net->model->hp.cutoff / (P - 1);
    const double *V = tab->values + (size_t)t * P * F, *D = tab->derivs + (size_t)t * P * F;
    real *W = net->W[t].p, *dW = net->dW[t].p;
    const real *d = net->d.p;
#pragma omp parallel for schedule(static) num_threads(net->n_threads)
    for (int e = 0; e < E; ++e) {
        double x = d[e] / step;
        int k = (int)x;
        if (k > P - 2) k = P - 2;
        if (k < 0) k = 0;
        double u = x - k, u2 = u * u, u3 = u2 * u;
        double h00 = 2 * u3 - 3 * u2 + 1, h10 = u3 - 2 * u2 + u, h01 = -2 * u3 + 3 * u2, h11 = u3 - u2;
        double g00 = (6 * u2 - 6 * u) / step, g10 = 3 * u2 - 4 * u + 1, g01 = (-6 * u2 + 6 * u) / step,
               g11 = 3 * u2 - 2 * u;
        const double *v0 = V + (size_t)k * F, *v1 = v0 + F, *d0 = D + (size_t)k * F, *d1 = d0 + F;
        size_t o = (size_t)e * F;
        int inside = d[e] < net->rc;
        for (int f = 0; f < F; ++f) {
            W[o + f] = inside ? (real)(h00 * v0[f] + h10 * step * d0[f] + h01 * v1[f] + h11 * step * d1[f]) : 0;
            dW[o + f] = inside ? (real)(g00 * v0[f] + g10 * d0[f] + g01 * v1[f] + g11 * d1[f]) : 0;
        }
    }
}

/* ------------------------------------------------------------ forward */

gbnet_status FN(gb_forward)(NET *net, const gb_batch *b, int dual, double *atom_energy, double *graph_energy) {
    int N = b->n_atoms, NC = b->n_centers, E = b->n_edges, F = net->F, R = net->R, T = net->T;
    if (dual && NC != N) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dual (training) mode needs a graph without ghosts");
    if (N > NC && (!b->forward_exchange || !b->reverse_exchange) && T > 1)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "a graph with ghost atoms needs forward and reverse exchange callbacks (message passing "
                       "reaches T*rc)");
    int tabulated = net->model->table != NULL;
    gb_gemm_set_threads(net->n_threads);
    gbnet_status st = FN(reserve)(net, N, E, dual, !tabulated || dual);
    if (st) return st;
    net->N = N;
    net->NC = NC;
    net->E = E;
    net->dual = dual;
    net->tangent_done = 0;
    FN(build_index_lists)(net, b);
    st = FN(edge_geometry)(net, b);
    if (st) return st;
    for (int t = 0; t < T; ++t) {
        if (tabulated && !dual) FN(filter_table)(net, t, E);
        else FN(filter_exact)(net, t, E);
    }

    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *x0 = net->x[0].p;
    for (int i = 0; i < N; ++i) memcpy(x0 + (size_t)i * F, w + L->embedding + (size_t)b->species[i] * F, F * sizeof(real));

    for (int t = 0; t < T; ++t) {
        real *x = net->x[t].p, *xn = net->x[t + 1].p, *h = net->h[t].p, *m = net->m[t].p;
        real *o1 = net->o1[t].p, *s1 = net->s1[t].p;
        FN(gb_linear)(h, x, w + L->block[t].in_w, NULL, N, 0, F, F);
        FN(gb_cfconv)(m, h, net->W[t].p, b->offsets, b->neighbor, NC, F, net->n_threads);
        FN(gb_linear)(o1, m, w + L->block[t].out1_w, w + L->block[t].out1_b, NC, NC, F, F);
        FN(gb_ssp_dual)(s1, NULL, o1, NULL, (size_t)NC * F, net->n_threads);
        memcpy(xn, x, (size_t)N * F * sizeof(real));
        FN(gb_linear_acc)(xn, s1, w + L->block[t].out2_w, w + L->block[t].out2_b, NC, NC, F, F);
        if (t < T - 1 && b->forward_exchange) b->forward_exchange(b->exchange_ctx, xn, F, sizeof(real));
    }

    real *p = net->p.p, *r = net->r.p, *eps = net->eps.p;
    FN(gb_linear)(p, net->x[T].p, w + L->readout1_w, w + L->readout1_b, NC, NC, F, R);
    FN(gb_ssp_dual)(r, NULL, p, NULL, (size_t)NC * R, net->n_threads);
    const real *w2 = w + L->readout2_w;
    real b2 = w[L->readout2_b];
    for (int i = 0; i < NC; ++i) eps[i] = FN(gb_dot)(r + (size_t)i * R, w2, R) + b2;

    const gbnet_model *mo = net->model;
    if (graph_energy)
        for (int g = 0; g < b->n_graphs; ++g) graph_energy[g] = 0.0;
    for (int i = 0; i < NC; ++i) {
        double Ei = mo->energy_scale * (double)eps[i] + mo->energy_shift + mo->e_ref[b->species[i]];
        if (atom_energy) atom_energy[i] = Ei;
        int g = b->atom_graph ? b->atom_graph[i] : 0;
        if (graph_energy && g >= 0) graph_energy[g] += Ei;
    }
    return GBNET_OK;
}

/* ------------------------------------------------------------ tangent */

gbnet_status FN(gb_tangent)(NET *net, const gb_batch *b, const double *d_dot, double *atom_energy_dot) {
    if (!net->dual) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gb_tangent needs a dual-mode forward first");
    int N = net->N, E = net->E, F = net->F, R = net->R, T = net->T;
    const real *w = net->w;
    const gb_layout *L = &net->L;
    real *dd = net->ddot.p;
    gb_gemm_set_threads(net->n_threads);
    for (int e = 0; e < E; ++e) dd[e] = (real)d_dot[e];
    size_t tan = (size_t)N * F; /* offset of the tangent rows */
    memset(net->x[0].p + tan, 0, tan * sizeof(real));
    for (int t = 0; t < T; ++t) {
        real *x = net->x[t].p, *xn = net->x[t + 1].p, *h = net->h[t].p, *m = net->m[t].p;
        real *o1 = net->o1[t].p, *s1 = net->s1[t].p;
        FN(gb_linear)(h + tan, x + tan, w + L->block[t].in_w, NULL, N, 0, F, F);
        FN(gb_cfconv_tangent)(m + tan, h, h + tan, net->W[t].p, net->dW[t].p, dd, b->offsets, b->neighbor, N, F,
                              net->n_threads);
        FN(gb_linear)(o1 + tan, m + tan, w + L->block[t].out1_w, NULL, N, 0, F, F);
        FN(gb_ssp_dual)(NULL, s1 + tan, o1, o1 + tan, tan, net->n_threads);
        memcpy(xn + tan, x + tan, tan * sizeof(real));
        FN(gb_linear_acc)(xn + tan, s1 + tan, w + L->block[t].out2_w, NULL, N, 0, F, F);
    }
    size_t tanR = (size_t)N * R;
    real *p = net->p.p, *r = net->r.p;
    FN(gb_linear)(p + tanR, net->x[T].p + tan, w + L->readout1_w, NULL, N, 0, F, R);
    FN(gb_ssp_dual)(NULL, r + tanR, p, p + tanR, tanR, net->n_threads);
    const real *w2 = w + L->readout2_w;
    for (int i = 0; i < N; ++i) {
        real ed = FN(gb_dot)(r + tanR + (size_t)i * R, w2, R);
        if (atom_energy_dot) atom_energy_dot[i] = net->model->energy_scale * (double)ed;
    }
    net->tangent_done = 1;
    return GBNET_OK;
}

/* ------------------------------------------------------------ backward */

/* Reverse sweep of the filter network for block t given Wbar [E][F] (in fu's
 * first half) and dWbar [E][F] (second half): accumulates weight gradients. */
static void FN(filter_backward)(NET *net, int t, int E) {
    int F = net->F, K = net->K;
    const real *w = net->w;
    real *gr = net->grad;
    const gb_layout *L = &net->L;
    real *fa = net->fa.p, *fs = net->fs.p, *fu = net->fu.p;
    size_t EF = (size_t)E * F;
    /* ubar = Wbar fc + dWbar dfc ; u_d bar = dWbar fc */
    const real *fc = net->fc.p, *dfc = net->dfc.p;
#pragma omp parallel for schedule(static) num_threads(net->n_threads)
    for (int e = 0; e < E; ++e) {
        size_t o = (size_t)e * F;
        for (int f = 0; f < F; ++f) {
            real Wb = fu[o + f], dWb = fu[EF + o + f];
            fu[o + f] = Wb * fc[e] + dWb * dfc[e];
            fu[EF + o + f] = dWb * fc[e];
        }
    }
    /* recompute [a; a_d] and [s; s_d] */
    FN(gb_linear)(fa, net->gd.p, w + L->block[t].filter1_w, w + L->block[t].filter1_b, 2 * E, E, K, F);
    FN(gb_ssp_dual)(fs, fs + EF, fa, fa + EF, EF, net->n_threads);
    /* W_f2 bar += [ubar; u_d bar]^T [s; s_d];  b_f2 bar += colsum(ubar) */
    FN(gb_gemm_tn_acc)(gr + L->block[t].filter2_w, fu, fs, 2 * E, F, F);
    FN(gb_colsum_acc)(gr + L->block[t].filter2_b, fu, E, F);
    /* [sbar; s_d bar] = [ubar; u_d bar] W_f2  (into fs) */
    FN(gb_gemm_nn)(fs, fu, w + L->block[t].filter2_w, 2 * E, F, F);
    /* abar = sbar sig(a) + s_d bar sig'(a) a_d ; a_d bar = s_d bar sig(a)  (into fu) */
    FN(gb_ssp_dual_backward)(fu, fu + EF, fs, fs + EF, fa, fa + EF, EF, net->n_threads);
    FN(gb_gemm_tn_acc)(gr + L->block[t].filter1_w, fu, net->gd.p, 2 * E, F, K);
    FN(gb_colsum_acc)(gr + L->block[t].filter1_b, fu, E, F);
}

gbnet_status FN(gb_backward)(NET *net, const gb_batch *b, const double *ebar, const double *ebar_dot, double *grad,
                             double *dbar) {
    int dual = ebar_dot != NULL;
    if (dual && !net->tangent_done) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dual backward needs gb_tangent first");
    if (dual && dbar) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "dbar is not available in dual mode");
    if (grad && net->model->table && !net->dual)
        return gb_fail(GBNET_ERR_UNSUPPORTED, "parameter gradients need the exact filter network, not the table");
    int N = net->N, NC = net->NC, E = net->E, F = net->F, R = net->R, T = net->T;
    int rows_c = dual ? 2 * N : NC; /* rows of center-only layers (stacked in dual mode) */
    int rows_a = dual ? 2 * N : N;  /* rows of all-atom layers */
    size_t tan = (size_t)N * F, tanR = (size_t)N * R;
    const real *w = net->w;
    real *gr = net->grad;
    const gb_layout *L = &net->L;
    double scale = net->model->energy_scale;
    if (grad) memset(gr, 0, net->L.total * sizeof(real));
    gb_gemm_set_threads(net->n_threads);

    /* readout */
    real *p = net->p.p, *r = net->r.p, *pbar = net->pbar.p, *xbar = net->xbar.p;
    const real *w2 = w + L->readout2_w;
    {
        double gb2 = 0;
        for (int i = 0; i < NC; ++i) {
            real eb = (real)(scale * ebar[i]);
            real ebd = dual ? (real)(scale * ebar_dot[i]) : 0;
            gb2 += eb;
            const real *ri = r + (size_t)i * R, *pi = p + (size_t)i * R;
            real *pb = pbar + (size_t)i * R;
            if (grad)
                for (int k = 0; k < R; ++k) gr[L->readout2_w + k] += eb * ri[k] + (dual ? ebd * r[tanR + (size_t)i * R + k] : 0);
            for (int k = 0; k < R; ++k) {
                real sg = FN(gb_sigmoid)(pi[k]);
                pb[k] = eb * w2[k] * sg;
                if (dual) {
                    real pd = p[tanR + (size_t)i * R + k];
                    pb[k] += ebd * w2[k] * sg * (1 - sg) * pd;
                    pbar[tanR + (size_t)i * R + k] = ebd * w2[k] * sg;
                }
            }
        }
        if (grad) gr[L->readout2_b] += (real)gb2;
    }
    if (grad) {
        FN(gb_gemm_tn_acc)(gr + L->readout1_w, pbar, net->x[T].p, rows_c, R, F);
        FN(gb_colsum_acc)(gr + L->readout1_b, pbar, NC, R);
    }
    memset(xbar, 0, (size_t)rows_a * F * sizeof(real));
    if (dual) {
        FN(gb_gemm_nn)(xbar, pbar, w + L->readout1_w, 2 * N, R, F);
    } else {
        FN(gb_gemm_nn)(xbar, pbar, w + L->readout1_w, NC, R, F);
    }
    if (dbar) memset(dbar, 0, (size_t)E * sizeof(double));

    real *hbar = net->hbar.p, *mbar = net->mbar.p, *obar = net->obar.p;
    for (int t = T - 1; t >= 0; --t) {
        if (t < T - 1 && b->reverse_exchange) b->reverse_exchange(b->exchange_ctx, xbar, F, sizeof(real));
        const real *x = net->x[t].p, *h = net->h[t].p, *m = net->m[t].p, *o1 = net->o1[t].p, *s1 = net->s1[t].p;
        /* residual: o2bar = xbar (center rows); s1bar = xbar W_o2 */
        if (grad) {
            if (dual) FN(gb_gemm_tn_acc)(gr + L->block[t].out2_w, xbar, s1, 2 * N, F, F);
            else FN(gb_gemm_tn_acc)(gr + L->block[t].out2_w, xbar, s1, NC, F, F);
            FN(gb_colsum_acc)(gr + L->block[t].out2_b, xbar, NC, F);
        }
        FN(gb_gemm_nn)(obar, xbar, w + L->block[t].out2_w, rows_c, F, F);
        /* through ssp: obar becomes o1bar (primal and tangent rows) */
        if (dual) FN(gb_ssp_dual_backward)(obar, obar + tan, obar, obar + tan, o1, o1 + tan, tan, net->n_threads);
        else FN(gb_ssp_backward)(obar, obar, o1, (size_t)NC * F, net->n_threads);
        if (grad) {
            FN(gb_gemm_tn_acc)(gr + L->block[t].out1_w, obar, m, rows_c, F, F);
            FN(gb_colsum_acc)(gr + L->block[t].out1_b, obar, NC, F);
        }
        FN(gb_gemm_nn)(mbar, obar, w + L->block[t].out1_w, rows_c, F, F);
        /* cfconv */
        if (dual) {
            FN(gb_cfconv_backward_dual)(hbar, hbar + tan, mbar, mbar + tan, net->W[t].p, net->dW[t].p, net->ddot.p,
                                        net->edge_center, net->in_offsets, net->in_edges, N, F, net->n_threads);
            if (grad) {
                FN(gb_filter_grad_dual)(net->fu.p, net->fu.p + (size_t)E * F, mbar, mbar + tan, h, h + tan,
                                        net->ddot.p, net->edge_center, b->neighbor, E, F, net->n_threads);
                FN(filter_backward)(net, t, E);
            }
        } else {
            FN(gb_cfconv_backward)(hbar, mbar, net->W[t].p, net->edge_center, net->in_offsets, net->in_edges, N, F,
                                   net->n_threads);
            if (dbar) FN(gb_edge_dbar_acc)(dbar, mbar, h, net->dW[t].p, net->edge_center, b->neighbor, E, F,
                                           net->n_threads);
            if (grad) {
                FN(gb_filter_grad_dual)(net->fu.p, net->fu.p + (size_t)E * F, mbar, NULL, h, NULL, NULL,
                                        net->edge_center, b->neighbor, E, F, net->n_threads);
                FN(filter_backward)(net, t, E);
            }
        }
        /* h = x W_in^T over all rows */
        if (grad) FN(gb_gemm_tn_acc)(gr + L->block[t].in_w, hbar, x, rows_a, F, F);
        FN(gb_gemm_nn_acc)(xbar, hbar, w + L->block[t].in_w, rows_a, F, F);
    }
    if (grad) {
        for (int i = 0; i < N; ++i) {
            real *ge = gr + L->embedding + (size_t)b->species[i] * F;
            const real *xb = xbar + (size_t)i * F;
            for (int f = 0; f < F; ++f) ge[f] += xb[f];
        }
        for (size_t k = 0; k < net->L.total; ++k) grad[k] += (double)gr[k];
    }
    return GBNET_OK;
}

#undef CAT2
#undef CAT
#undef FN
#undef NET
