/* What the readout was fitted on (gbnet_feature_ranges, section FRNG): the
 * range of the readout's input x_T per element and channel over the training
 * atoms, and checks of structures and graphs against it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "model.h"
#include "workspace.h"

/* x_T of one atom as float32 or float64 rows, read in place: no copy of the
 * whole batch for the graph check of every MD step. */
typedef struct {
    const float *f32;
    const double *f64;
    int F;
} feature_rows;

static feature_rows rows_of(const gbnet_workspace *ws, int *rows) {
    feature_rows fr = {NULL, NULL, ws->model->hp.n_features};
    int cols;
    if (ws->net32) fr.f32 = gb_net_activation_f32(ws->net32, GB_ACT_X, ws->model->hp.n_blocks, rows, &cols);
    else fr.f64 = gb_net_activation_f64(ws->net64, GB_ACT_X, ws->model->hp.n_blocks, rows, &cols);
    return fr;
}

static double feature_at(const feature_rows *fr, int atom, int c) {
    size_t k = (size_t)atom * fr->F + c;
    return fr->f32 ? (double)fr->f32[k] : fr->f64[k];
}

static void report_start(gbnet_feature_report *r) {
    memset(r, 0, sizeof *r);
    r->largest_atom = r->largest_element = r->largest_channel = -1;
}

/* Adds atoms [first, first + n) (report indices from 0) to r. */
static void check_atoms(const gbnet_feature_ranges *rec, const feature_rows *fr, int first, int n, const int *species,
                        double margin, gbnet_feature_report *r) {
    int F = rec->n_features;
    r->atoms_checked += n;
    for (int i = 0; i < n; ++i) {
        int e = species[i];
        double worst = 0.0;
        int worst_channel = -1;
        if (rec->atoms[e] == 0) {
            worst = INFINITY;
        } else {
            const double *lo = rec->min + (size_t)e * F, *hi = rec->max + (size_t)e * F;
            for (int c = 0; c < F; ++c) {
                double x = feature_at(fr, first + i, c);
                double width = fmax(hi[c] - lo[c], 1e-6 * (fabs(lo[c]) + fabs(hi[c])) + 1e-12);
                double excess = x > hi[c] ? (x - hi[c]) / width : x < lo[c] ? (lo[c] - x) / width : 0.0;
                if (!(excess <= worst)) { /* NaN features count as infinitely far */
                    worst = isnan(excess) ? INFINITY : excess;
                    worst_channel = c;
                }
            }
        }
        if (worst > margin) r->atoms_outside++;
        if (worst > r->largest_excess) {
            r->largest_excess = worst;
            r->largest_atom = i;
            r->largest_element = e;
            r->largest_channel = worst_channel;
        }
    }
}

static gbnet_status need_current_record(gbnet_workspace *ws, const gbnet_feature_ranges **rec) {
    const gbnet_model *m = ws->model;
    if (!m->features)
        return gb_fail(GBNET_ERR_UNSUPPORTED,
                       "feature check: the potential holds no record of its readout's input ranges (section FRNG; "
                       "written by gbnet train and gbnet coverage): record one with gbnet coverage");
    if (ws->features_seen != m->features) { /* hash the weights once per record, not per check */
        ws->features_seen = m->features;
        ws->features_current = gb_model_current_features(m) != NULL;
    }
    if (!ws->features_current)
        return gb_fail(GBNET_ERR_UNSUPPORTED,
                       "feature check: the readout-input record (section FRNG) was measured on other weights (F = %d "
                       "then, %d now; the network was pruned, compressed or retrained since): record it again with "
                       "gbnet coverage", m->features->ranges.n_features, m->hp.n_features);
    *rec = &m->features->ranges;
    return GBNET_OK;
}

static gbnet_status check_margin(double margin) {
    if (!(margin >= 0.0) || !isfinite(margin))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "feature check: margin %g, expected a finite number >= 0", margin);
    return GBNET_OK;
}

gbnet_status gbnet_feature_check_graph(gbnet_workspace *ws, const gbnet_graph *g, double margin,
                                       gbnet_feature_report *r) {
    if (!ws || !g || !r) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_feature_check_graph: NULL argument");
    const gbnet_feature_ranges *rec = NULL;
    gbnet_status st = check_margin(margin);
    if (!st) st = need_current_record(ws, &rec);
    if (st) return st;
    report_start(r);
    if (g->n_local <= 0) return GBNET_OK; /* no forward ran: nothing of this rank to check */
    int rows = 0;
    feature_rows fr = rows_of(ws, &rows);
    if (rows != g->n_local)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "feature check: the workspace's last evaluation had %d centers, the graph %d owned atoms: "
                       "check right after gbnet_evaluate_graph on the same graph", rows, g->n_local);
    for (int i = 0; i < g->n_local; ++i)
        if (g->species[i] < 0 || g->species[i] >= ws->model->hp.n_elements)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "feature check: atom %d has element index %d, not in the model",
                           i, g->species[i]);
    check_atoms(rec, &fr, 0, g->n_local, g->species, margin, r);
    return GBNET_OK;
}

/* Runs the forward of every pack of n structures and calls visit for each
 * structure with its rows of x_T. */
typedef void (*visit_fn)(void *ctx, int s, const gbnet_structure *str, const feature_rows *fr, int first);

static gbnet_status forward_structures(gbnet_workspace *ws, int n, const gbnet_structure *structures, visit_fn visit,
                                       void *ctx) {
    int *atoms = gb_malloc(2 * (size_t)n * sizeof(int) + 1);
    double *ae = NULL, *ge = NULL;
    size_t cap_ae = 0, cap_ge = 0;
    if (!atoms) return GBNET_ERR_NO_MEMORY;
    gbnet_status st = gb_ws_pack_structures(ws, n, structures, atoms, atoms + n);
    for (int k = 0; !st && k < ws->packing.n_packs; ++k) {
        if ((st = gb_ws_fill_pack(ws, k, structures))) break;
        const gb_batch *b = &ws->bb.batch;
        if (!GB_GROW(ae, cap_ae, (size_t)b->n_atoms + 1) || !GB_GROW(ge, cap_ge, (size_t)b->n_graphs + 1)) {
            st = GBNET_ERR_NO_MEMORY;
            break;
        }
        if ((st = gb_ws_forward(ws, b, 0, ae, ge))) break;
        int rows = 0;
        feature_rows fr = rows_of(ws, &rows);
        int first = 0;
        for (int q = ws->packing.pack_offsets[k]; q < ws->packing.pack_offsets[k + 1]; ++q) {
            int s = ws->packing.items[q];
            visit(ctx, s, &structures[s], &fr, first);
            first += atoms[s];
        }
    }
    free(atoms);
    free(ae);
    free(ge);
    return st;
}

typedef struct {
    const gbnet_feature_ranges *rec;
    double margin;
    gbnet_feature_report *reports;
} check_ctx;

static void visit_check(void *ctx, int s, const gbnet_structure *str, const feature_rows *fr, int first) {
    check_ctx *c = ctx;
    report_start(&c->reports[s]);
    check_atoms(c->rec, fr, first, str->n_atoms, str->species, c->margin, &c->reports[s]);
}

gbnet_status gbnet_feature_check(gbnet_workspace *ws, int n, const gbnet_structure *structures, double margin,
                                 gbnet_feature_report *reports) {
    if (!ws || n < 0 || (n > 0 && (!structures || !reports)))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_feature_check: invalid arguments");
    const gbnet_feature_ranges *rec = NULL;
    gbnet_status st = check_margin(margin);
    if (!st) st = need_current_record(ws, &rec);
    if (st || n == 0) return st;
    check_ctx c = {rec, margin, reports};
    return forward_structures(ws, n, structures, visit_check, &c);
}

typedef struct {
    int F;
    double *min, *max; /* [n_elements][F] */
    long long *atoms;  /* [n_elements] */
} record_ctx;

static void visit_record(void *ctx, int s, const gbnet_structure *str, const feature_rows *fr, int first) {
    (void)s;
    record_ctx *c = ctx;
    for (int i = 0; i < str->n_atoms; ++i) {
        int e = str->species[i];
        double *lo = c->min + (size_t)e * c->F, *hi = c->max + (size_t)e * c->F;
        for (int ch = 0; ch < c->F; ++ch) {
            double x = feature_at(fr, first + i, ch);
            if (c->atoms[e] == 0 || x < lo[ch]) lo[ch] = x;
            if (c->atoms[e] == 0 || x > hi[ch]) hi[ch] = x;
        }
        c->atoms[e]++;
    }
}

gbnet_status gbnet_model_record_feature_ranges(gbnet_model *model, int n, const gbnet_structure *structures) {
    if (!model || n < 1 || !structures)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_record_feature_ranges: need a model and n >= 1 "
                       "structures");
    int n_el = model->hp.n_elements, F = model->hp.n_features;
    gbnet_feature_ranges r;
    memset(&r, 0, sizeof r);
    r.n_elements = n_el;
    r.n_features = F;
    double *data = gb_calloc(2 * (size_t)n_el * F, sizeof(double));
    if (!data) return GBNET_ERR_NO_MEMORY;
    record_ctx c = {F, data, data + (size_t)n_el * F, r.atoms};
    gbnet_workspace *ws = NULL;
    gbnet_status st = gbnet_workspace_create(&ws, model, GBNET_DOUBLE);
    /* one thread: the record's last bits must not depend on the machine (the
     * same training gives the same file) */
    if (!st) gbnet_workspace_set_threads(ws, 1);
    if (!st) st = forward_structures(ws, n, structures, visit_record, &c);
    gbnet_workspace_free(ws);
    for (size_t k = 0; !st && k < 2 * (size_t)n_el * F; ++k)
        if (!isfinite(data[k]))
            st = gb_fail(GBNET_ERR_NUMERIC, "feature ranges: the readout input of element %zu is not finite in these "
                         "structures", (k % ((size_t)n_el * F)) / (size_t)F);
    r.min = c.min;
    r.max = c.max;
    if (!st) st = gbnet_model_set_feature_ranges(model, &r);
    free(data);
    return st;
}
