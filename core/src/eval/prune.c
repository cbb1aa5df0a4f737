/* Structured pruning (gbnet_model_prune): channel importance measured on
 * structures, then a smaller ordinary model made of the kept rows and columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "kernels.h"
#include "model.h"
#include "workspace.h"
#include "zbl.h"

/* Per-channel sums of an activation over rows (atoms or edges), shifted by the
 * first value seen so that a constant channel has a spread of exactly 0. */
typedef struct {
    double *shift, *sum, *sq; /* [channels] */
    double count;
} channel_stats;

/* The feature spaces that shrink: residual, then per block conv, hidden, filter, then readout. */
enum { SPACE_RESIDUAL = 0 };
#define SPACE_CONV(t) (1 + 3 * (t))
#define SPACE_HIDDEN(t) (2 + 3 * (t))
#define SPACE_FILTER(t) (3 + 3 * (t))
#define SPACE_READOUT(T) (1 + 3 * (T))
#define N_SPACES(T) (2 + 3 * (T))

typedef struct {
    const gbnet_model *m;
    int F, R, T, K;
    channel_stats x[GBNET_MAX_BLOCKS + 1]; /* residual stream entering block t, t = T the readout */
    channel_stats update[GBNET_MAX_BLOCKS]; /* block t's update x_{t+1} - x_t */
    int kept[GBNET_MAX_BLOCKS];             /* kept[t]: block t stays */
    channel_stats space[2 + 3 * GBNET_MAX_BLOCKS];
} prune_stats;

static int stats_alloc(channel_stats *s, int n) {
    s->shift = calloc((size_t)n, sizeof(double));
    s->sum = calloc((size_t)n, sizeof(double));
    s->sq = calloc((size_t)n, sizeof(double));
    s->count = 0;
    return s->shift && s->sum && s->sq;
}

static void stats_free(channel_stats *s) {
    free(s->shift);
    free(s->sum);
    free(s->sq);
}

/* a [rows][cols] */
static void stats_add(channel_stats *s, const double *a, int rows, int cols) {
    if (rows > 0 && s->count == 0)
        for (int c = 0; c < cols; ++c) s->shift[c] = a[c];
    for (int i = 0; i < rows; ++i)
        for (int c = 0; c < cols; ++c) {
            double v = a[(size_t)i * cols + c] - s->shift[c];
            s->sum[c] += v;
            s->sq[c] += v * v;
        }
    s->count += rows;
}

static double stats_mean(const channel_stats *s, int c) { return s->shift[c] + (s->count > 0 ? s->sum[c] / s->count : 0.0); }
static double stats_std(const channel_stats *s, int c) {
    double m = s->count > 0 ? s->sum[c] / s->count : 0.0, v = s->count > 0 ? s->sq[c] / s->count - m * m : 0.0;
    return v > 0 ? sqrt(v) : 0.0;
}
static double stats_rms(const channel_stats *s, int c) {
    double m = stats_mean(s, c), sd = stats_std(s, c);
    return sqrt(m * m + sd * sd);
}

/* Euclidean norm of column c of W [rows][cols]. */
static double column_norm(const double *W, int rows, int cols, int c) {
    double s = 0;
    for (int r = 0; r < rows; ++r) s += W[(size_t)r * cols + c] * W[(size_t)r * cols + c];
    return sqrt(s);
}

/* The filter network's hidden layer ssp(W_f1 g(d) + b_f1) on the n distinct lengths d. */
static gbnet_status add_filter_stats(prune_stats *ps, const double *d, int n) {
    const gbnet_model *m = ps->m;
    int F = ps->F, K = ps->K;
    double rc = m->hp.cutoff, spacing = rc / (K - 1), inv_w2 = 1 / (spacing * spacing);
    double *g = malloc((size_t)K * sizeof(double)), *dg = malloc((size_t)K * sizeof(double));
    double *a = malloc((size_t)F * sizeof(double));
    if (!g || !dg || !a) {
        free(g), free(dg), free(a);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory measuring channel importance");
    }
    for (int u = 0; u < n; ++u) {
        gb_gaussian_rbf_f64(g, dg, d[u], spacing, inv_w2, K);
        for (int t = 0; t < ps->T; ++t) {
            const double *w1 = m->params + m->layout.block[t].filter1_w, *b1 = m->params + m->layout.block[t].filter1_b;
            for (int f = 0; f < F; ++f) a[f] = gb_ssp_f64(b1[f] + gb_dot_f64(w1 + (size_t)f * K, g, K));
            stats_add(&ps->space[SPACE_FILTER(t)], a, 1, F);
        }
    }
    free(g), free(dg), free(a);
    return GBNET_OK;
}

/* Whether row i of a pack is an atom of the data (not a masked padding slot). */
static int data_atom(const gb_batch *b, int i) { return !b->atom_graph || b->atom_graph[i] >= 0; }

static gbnet_status measure(prune_stats *ps, const gbnet_model *exact, int n, const gbnet_structure *structures,
                            int *n_atoms) {
    gbnet_workspace *ws = NULL;
    gbnet_status st = gbnet_workspace_create(&ws, exact, GBNET_DOUBLE);
    if (st) return st;
    int *atoms = gb_malloc(2 * (size_t)n * sizeof(int) + 1);
    double *ae = NULL, *ge = NULL, *du = gb_malloc((size_t)ps->F * sizeof(double)); /* du [F]: one atom's block update */
    if (!atoms || !du) st = GBNET_ERR_NO_MEMORY;
    if (!st) st = gb_ws_pack_structures(ws, n, structures, atoms, atoms + n);
    *n_atoms = 0;
    for (int k = 0; !st && k < ws->packing.n_packs; ++k) {
        if ((st = gb_ws_fill_pack(ws, k, structures))) break;
        const gb_batch *b = &ws->bb.batch;
        free(ae), free(ge);
        ae = gb_malloc((size_t)b->n_atoms * sizeof(double) + 1);
        ge = gb_malloc((size_t)b->n_graphs * sizeof(double) + 1);
        if (!ae || !ge) st = GBNET_ERR_NO_MEMORY;
        if (!st) st = gb_ws_forward(ws, b, 0, ae, ge);
        if (st) break;
        int rows, cols, real_rows = 0;
        for (int i = 0; i < b->n_centers; ++i) real_rows += data_atom(b, i);
        *n_atoms += real_rows;
        for (int t = 0; t <= ps->T; ++t) {
            const double *x = gb_net_activation_f64(ws->net64, GB_ACT_X, t, &rows, &cols);
            for (int i = 0; i < rows; ++i)
                if (data_atom(b, i)) stats_add(&ps->x[t], x + (size_t)i * cols, 1, cols);
            if (t == ps->T) break;
            const double *xn = gb_net_activation_f64(ws->net64, GB_ACT_X, t + 1, &rows, &cols);
            for (int i = 0; i < rows; ++i)
                if (data_atom(b, i)) {
                    for (int c = 0; c < cols; ++c) du[c] = xn[(size_t)i * cols + c] - x[(size_t)i * cols + c];
                    stats_add(&ps->update[t], du, 1, cols);
                }
            const double *mm = gb_net_activation_f64(ws->net64, GB_ACT_M, t, &rows, &cols);
            const double *s1 = gb_net_activation_f64(ws->net64, GB_ACT_S1, t, &rows, &cols);
            for (int i = 0; i < rows; ++i)
                if (data_atom(b, i)) {
                    stats_add(&ps->space[SPACE_CONV(t)], mm + (size_t)i * cols, 1, cols);
                    stats_add(&ps->space[SPACE_HIDDEN(t)], s1 + (size_t)i * cols, 1, cols);
                }
        }
        const double *r = gb_net_activation_f64(ws->net64, GB_ACT_READOUT, 0, &rows, &cols);
        for (int i = 0; i < rows; ++i)
            if (data_atom(b, i)) stats_add(&ps->space[SPACE_READOUT(ps->T)], r + (size_t)i * cols, 1, cols);
        const double *d = gb_net_activation_f64(ws->net64, GB_ACT_LENGTHS, 0, &rows, &cols);
        st = add_filter_stats(ps, d, rows);
    }
    free(ae), free(ge), free(du), free(atoms);
    gbnet_workspace_free(ws);
    return st;
}

/* Importance [width] of every channel of a space. */
static void importance(const prune_stats *ps, int space, double *score) {
    const gbnet_model *m = ps->m;
    const gb_layout *L = &m->layout;
    const double *p = m->params;
    int F = ps->F, R = ps->R, T = ps->T;
    if (space == SPACE_RESIDUAL) {
        /* x_t is read by block t's W_in (t < T) and by the readout (t = T); no bias there, so the RMS counts */
        for (int c = 0; c < F; ++c) {
            score[c] = stats_rms(&ps->x[T], c) * column_norm(p + L->readout1_w, R, F, c);
            for (int t = 0; t < T; ++t)
                if (ps->kept[t]) score[c] += stats_rms(&ps->x[t], c) * column_norm(p + L->block[t].in_w, F, F, c);
        }
        return;
    }
    if (space == SPACE_READOUT(T)) {
        for (int k = 0; k < R; ++k) score[k] = stats_std(&ps->space[space], k) * fabs(p[L->readout2_w + k]);
        return;
    }
    int t = (space - 1) / 3, kind = (space - 1) % 3;
    const double *reader = kind == 0 ? p + L->block[t].out1_w : kind == 1 ? p + L->block[t].out2_w : p + L->block[t].filter2_w;
    for (int c = 0; c < F; ++c) score[c] = stats_std(&ps->space[space], c) * column_norm(reader, F, F, c);
}

/* keep [n] = indices of the n largest scores [width], in increasing index order (ties: lower index). */
static void choose(int *keep, const double *score, int width, int n) {
    char *taken = calloc((size_t)width, 1);
    for (int k = 0; k < n; ++k) {
        int best = -1;
        for (int c = 0; c < width; ++c)
            if (!taken[c] && (best < 0 || score[c] > score[best])) best = c;
        taken[best] = 1;
    }
    int j = 0;
    for (int c = 0; c < width; ++c)
        if (taken[c]) keep[j++] = c;
    free(taken);
}

/* dst [rows_keep][cols_keep] = src [][cols] at the kept rows and columns (NULL: all, in order). */
static void gather(double *dst, const double *src, int cols, const int *rk, int nr, const int *ck, int nc) {
    for (int i = 0; i < nr; ++i)
        for (int j = 0; j < nc; ++j) dst[(size_t)i * nc + j] = src[(size_t)(rk ? rk[i] : i) * cols + (ck ? ck[j] : j)];
}

/* b'[i] = b[keep_out[i]] + sum over removed input channels c of W[keep_out[i]][c] mean_c */
static void fold_bias(double *dst, const double *b, const double *W, int cols, const int *keep_out, int n_out,
                      const int *keep_in, int n_in, const channel_stats *in_stats) {
    char *kept = calloc((size_t)cols, 1);
    for (int j = 0; j < n_in; ++j) kept[keep_in[j]] = 1;
    for (int i = 0; i < n_out; ++i) {
        int r = keep_out ? keep_out[i] : i;
        double v = b[r];
        for (int c = 0; c < cols; ++c)
            if (!kept[c]) v += W[(size_t)r * cols + c] * stats_mean(in_stats, c);
        dst[i] = v;
    }
    free(kept);
}

static double kept_share(const double *score, int width, const int *keep, int n) {
    double all = 0, kept = 0;
    for (int c = 0; c < width; ++c) all += score[c];
    for (int j = 0; j < n; ++j) kept += score[keep[j]];
    return all > 0 ? kept / all : 1.0;
}

static void build(gbnet_model *out, const prune_stats *ps, int *const *keep, int Fn, int Rn) {
    const gbnet_model *m = ps->m;
    const gb_layout *L = &m->layout, *Ln = &out->layout;
    const double *p = m->params;
    double *q = out->params;
    int F = ps->F, R = ps->R, T = ps->T, K = ps->K, n_el = m->hp.n_elements;
    const int *res = keep[SPACE_RESIDUAL];
    gather(q + Ln->embedding, p + L->embedding, F, NULL, n_el, res, Fn);
    int j = -1; /* the new index of the last kept block */
    for (int t = 0; t < T; ++t) {
        if (!ps->kept[t]) {
            /* a removed block's mean update goes where the stream was last written:
             * the previous kept block's output bias, or the embedding */
            for (int c = 0; c < Fn; ++c) {
                double mu = stats_mean(&ps->update[t], res[c]);
                if (j >= 0) q[Ln->block[j].out2_b + c] += mu;
                else
                    for (int e = 0; e < n_el; ++e) q[Ln->embedding + (size_t)e * Fn + c] += mu;
            }
            continue;
        }
        ++j;
        const int *cv = keep[SPACE_CONV(t)], *hd = keep[SPACE_HIDDEN(t)], *fl = keep[SPACE_FILTER(t)];
        gather(q + Ln->block[j].filter1_w, p + L->block[t].filter1_w, K, fl, Fn, NULL, K);
        gather(q + Ln->block[j].filter1_b, p + L->block[t].filter1_b, 1, fl, Fn, NULL, 1);
        gather(q + Ln->block[j].filter2_w, p + L->block[t].filter2_w, F, cv, Fn, fl, Fn);
        fold_bias(q + Ln->block[j].filter2_b, p + L->block[t].filter2_b, p + L->block[t].filter2_w, F, cv, Fn, fl, Fn,
                  &ps->space[SPACE_FILTER(t)]);
        gather(q + Ln->block[j].in_w, p + L->block[t].in_w, F, cv, Fn, res, Fn);
        gather(q + Ln->block[j].out1_w, p + L->block[t].out1_w, F, hd, Fn, cv, Fn);
        fold_bias(q + Ln->block[j].out1_b, p + L->block[t].out1_b, p + L->block[t].out1_w, F, hd, Fn, cv, Fn,
                  &ps->space[SPACE_CONV(t)]);
        gather(q + Ln->block[j].out2_w, p + L->block[t].out2_w, F, res, Fn, hd, Fn);
        fold_bias(q + Ln->block[j].out2_b, p + L->block[t].out2_b, p + L->block[t].out2_w, F, res, Fn, hd, Fn,
                  &ps->space[SPACE_HIDDEN(t)]);
    }
    const int *ro = keep[SPACE_READOUT(T)];
    gather(q + Ln->readout1_w, p + L->readout1_w, F, ro, Rn, res, Fn);
    gather(q + Ln->readout1_b, p + L->readout1_b, 1, ro, Rn, NULL, 1);
    gather(q + Ln->readout2_w, p + L->readout2_w, R, NULL, 1, ro, Rn);
    fold_bias(q + Ln->readout2_b, p + L->readout2_b, p + L->readout2_w, R, NULL, 1, ro, Rn,
              &ps->space[SPACE_READOUT(T)]);
    for (size_t i = 0; i < Ln->total; ++i) q[i] = gb_normal_f64(q[i]);
}

/* The spread of block t's update of the residual stream (what removing it changes). */
static double block_importance(const prune_stats *ps, int t) {
    double s = 0;
    for (int c = 0; c < ps->F; ++c) s += stats_std(&ps->update[t], c) * stats_std(&ps->update[t], c);
    return sqrt(s);
}

static gbnet_status check_spec(const gbnet_hyperparams *hp, gbnet_prune_spec *sp) {
    if (!sp->n_features) sp->n_features = hp->n_features;
    if (!sp->readout_width) sp->readout_width = hp->readout_width;
    if (!sp->n_blocks) sp->n_blocks = hp->n_blocks;
    if (sp->n_features < 1 || sp->n_features > hp->n_features)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "pruning to %d features: expected 1 to %d (the model's F; 0 keeps it)",
                       sp->n_features, hp->n_features);
    if (sp->readout_width < 1 || sp->readout_width > hp->readout_width)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "pruning the readout to %d neurons: expected 1 to %d (the model's R)",
                       sp->readout_width, hp->readout_width);
    if (sp->n_blocks < 1 || sp->n_blocks > hp->n_blocks)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "pruning to %d blocks: expected 1 to %d (the model's T)", sp->n_blocks,
                       hp->n_blocks);
    return GBNET_OK;
}

gbnet_status gbnet_model_prune(gbnet_model **out, const gbnet_model *model, const gbnet_prune_spec *spec, int n,
                               const gbnet_structure *structures, gbnet_prune_report *report) {
    if (!out || !model || !spec || n < 0 || (n > 0 && !structures))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_prune: invalid arguments");
    *out = NULL;
    const gbnet_hyperparams *hp = &model->hp;
    gbnet_prune_spec sp = *spec;
    gbnet_status st = check_spec(hp, &sp);
    if (st) return st;
    if (n == 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "pruning needs structures to measure the channels' importance on");
    prune_stats ps;
    memset(&ps, 0, sizeof ps);
    ps.m = model;
    ps.F = hp->n_features, ps.R = hp->readout_width, ps.T = hp->n_blocks, ps.K = hp->n_rbf;
    int T = ps.T, n_spaces = N_SPACES(T), ok = 1;
    for (int t = 0; t <= T; ++t) ok &= stats_alloc(&ps.x[t], ps.F);
    for (int t = 0; t < T; ++t) ok &= stats_alloc(&ps.update[t], ps.F);
    for (int s = 1; s < n_spaces; ++s) ok &= stats_alloc(&ps.space[s], s == SPACE_READOUT(T) ? ps.R : ps.F);
    gbnet_model *exact = NULL, *pruned = NULL;
    /* a factored model is multiplied out: channels are rows and columns of full layers */
    st = !ok ? gb_fail(GBNET_ERR_NO_MEMORY, "out of memory for pruning")
             : gbnet_model_is_factored(model) ? gbnet_model_expand_ranks(&exact, model) : gbnet_model_clone(&exact, model);
    int n_atoms = 0;
    if (!st) {
        ps.m = exact;
        gbnet_model_untabulate(exact); /* the exact filter's hidden layer is what shrinks */
        free(exact->zbl);              /* the network's activations do not depend on the core */
        exact->zbl = NULL;
        st = measure(&ps, exact, n, structures, &n_atoms);
    }
    gbnet_prune_report rep;
    memset(&rep, 0, sizeof rep);
    /* blocks first: the residual stream's importance counts the kept blocks' readers only */
    double block_score[GBNET_MAX_BLOCKS];
    int block_keep[GBNET_MAX_BLOCKS];
    for (int t = 0; !st && t < T; ++t) block_score[t] = block_importance(&ps, t);
    if (!st) {
        choose(block_keep, block_score, T, sp.n_blocks);
        rep.blocks = kept_share(block_score, T, block_keep, sp.n_blocks);
        for (int k = 0; k < sp.n_blocks; ++k) {
            ps.kept[block_keep[k]] = 1;
            rep.kept_block[k] = block_keep[k];
        }
    }
    int *keep[2 + 3 * GBNET_MAX_BLOCKS] = {0};
    double *score = malloc((size_t)(ps.F > ps.R ? ps.F : ps.R) * sizeof(double));
    if (!st && !score) st = GBNET_ERR_NO_MEMORY;
    for (int s = 0; s < n_spaces && !st; ++s) {
        int width = s == SPACE_READOUT(T) ? ps.R : ps.F, want = s == SPACE_READOUT(T) ? sp.readout_width : sp.n_features;
        int block = s == SPACE_RESIDUAL || s == SPACE_READOUT(T) ? -1 : (s - 1) / 3;
        if (block >= 0 && !ps.kept[block]) continue;
        keep[s] = malloc((size_t)want * sizeof(int));
        if (!keep[s]) {
            st = GBNET_ERR_NO_MEMORY;
            break;
        }
        importance(&ps, s, score);
        choose(keep[s], score, width, want);
        double share = kept_share(score, width, keep[s], want);
        if (s == SPACE_RESIDUAL) rep.residual = share;
        else if (s == SPACE_READOUT(T)) rep.readout = share;
        else if ((s - 1) % 3 == 0) rep.conv += share / sp.n_blocks;
        else if ((s - 1) % 3 == 1) rep.hidden += share / sp.n_blocks;
        else rep.filter += share / sp.n_blocks;
    }
    if (!st) {
        gbnet_hyperparams nhp = *hp;
        nhp.n_features = sp.n_features;
        nhp.readout_width = sp.readout_width;
        nhp.n_blocks = sp.n_blocks;
        st = gb_model_alloc(&pruned, &nhp);
    }
    if (!st) {
        build(pruned, &ps, keep, sp.n_features, sp.readout_width);
        pruned->energy_scale = model->energy_scale;
        pruned->energy_shift = model->energy_shift;
        memcpy(pruned->e_ref, model->e_ref, sizeof pruned->e_ref);
        st = gbnet_model_set_provenance(pruned, model->provenance);
        if (!st && model->zbl) {
            pruned->zbl = gb_malloc(sizeof *pruned->zbl);
            if (pruned->zbl) memcpy(pruned->zbl, model->zbl, sizeof *pruned->zbl);
            else st = GBNET_ERR_NO_MEMORY;
        }
        if (!st && model->coverage) st = gbnet_model_set_coverage(pruned, model->coverage);
    }
    rep.n_structures = n;
    rep.n_atoms = n_atoms;
    if (report) *report = rep;
    for (int s = 0; s < n_spaces; ++s) free(keep[s]);
    free(score);
    for (int t = 0; t <= T; ++t) stats_free(&ps.x[t]);
    for (int t = 0; t < T; ++t) stats_free(&ps.update[t]);
    for (int s = 1; s < n_spaces; ++s) stats_free(&ps.space[s]);
    gbnet_model_free(exact);
    if (st) gbnet_model_free(pruned);
    else *out = pruned;
    return st;
}
