/* The workspace and the public evaluation calls: structures are given
 * neighbor lists, packed into fixed-capacity packs (packing.h), concatenated
 * into one batch per pack, and run through the batched network once. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forces.h"
#include "gb_error.h"
#include "kernels.h"
#include "model.h"
#include "workspace.h"
#include "zbl.h"

/* Default pack capacity in atoms for gbnet_evaluate: large enough that GEMMs
 * are efficient, small enough that per-edge buffers stay modest. */
#define GB_EVAL_PACK_ATOMS 512

gbnet_status gbnet_workspace_create(gbnet_workspace **out, const gbnet_model *model, gbnet_precision precision) {
    if (!out || !model) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "workspace: NULL argument");
    if (precision != GBNET_DOUBLE && precision != GBNET_FLOAT)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "workspace: unknown precision %d", (int)precision);
    if (precision == GBNET_FLOAT) {
        /* a finite double weight beyond float's range would become inf in the workspace */
        size_t n = model->layout.total;
        for (size_t k = 0; k < n; ++k)
            if (!(fabs(model->params[k]) <= FLT_MAX))
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                               "workspace: parameter %zu of the model is %g, outside the float range (|x| <= %g): "
                               "evaluate this model in double precision",
                               k, model->params[k], (double)FLT_MAX);
        if (model->table) {
            size_t nt = (size_t)model->hp.n_blocks * model->table->n_points * model->hp.n_features;
            for (size_t k = 0; k < nt; ++k)
                if (!(fabs(model->table->values[k]) <= FLT_MAX / 16 && fabs(model->table->derivs[k]) <= FLT_MAX / 16))
                    return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                                   "workspace: tabulated filter entry %zu is outside the float range: evaluate this "
                                   "model in double precision", k);
        }
    }
    gbnet_workspace *ws = gb_calloc(1, sizeof *ws);
    if (!ws) return GBNET_ERR_NO_MEMORY;
    ws->model = model;
    ws->precision = precision;
    if (precision == GBNET_FLOAT) ws->net32 = gb_net_create_f32(model);
    else ws->net64 = gb_net_create_f64(model);
    if (!ws->net32 && !ws->net64) {
        free(ws);
        return GBNET_ERR_NO_MEMORY;
    }
    gbnet_workspace_set_threads(ws, 0);
    *out = ws;
    return GBNET_OK;
}

void gbnet_workspace_free(gbnet_workspace *ws) {
    if (!ws) return;
    gb_net_free_f32(ws->net32);
    gb_net_free_f64(ws->net64);
    for (int i = 0; i < ws->n_lists; ++i) gb_neighbor_free(&ws->lists[i]);
    free(ws->lists);
    gb_batch_buffer_free(&ws->bb);
    gb_packing_free(&ws->packing);
    free(ws->atom_energy);
    free(ws->ones);
    free(ws->graph_energy);
    free(ws->dbar);
    free(ws->atom_forces);
    free(ws->center_virials);
    free(ws->zbl_energy);
    free(ws->zbl_dbar);
    free(ws->graph_offsets);
    free(ws->graph_neighbor);
    free(ws->graph_vector);
    free(ws);
}

size_t gbnet_workspace_bytes(const gbnet_workspace *ws) {
    size_t n = ws->net32 ? gb_net_bytes_f32(ws->net32) : gb_net_bytes_f64(ws->net64);
    for (int i = 0; i < ws->n_lists; ++i)
        n += ws->lists[i].cap_atoms * sizeof(int) + ws->lists[i].cap_edges * (4 * sizeof(int) + 3 * sizeof(double));
    n += ws->bb.cap_species + ws->bb.cap_offsets + ws->bb.cap_neighbor + ws->bb.cap_atom_graph + ws->bb.cap_vec;
    n += ws->cap_atom_energy + ws->cap_graph_energy + ws->cap_dbar + ws->cap_atom_forces + ws->cap_center_virials;
    n += ws->cap_graph_offsets + ws->cap_graph_neighbor + ws->cap_graph_vector;
    n += ws->cap_zbl_energy + ws->cap_zbl_dbar;
    return n;
}

#ifdef _OPENMP
#include <omp.h>
#endif

void gbnet_workspace_set_threads(gbnet_workspace *ws, int n_threads) {
#ifdef _OPENMP
    if (n_threads <= 0) n_threads = omp_get_max_threads();
#else
    n_threads = 1;
#endif
    ws->n_threads = n_threads;
    if (ws->net32) gb_net_set_threads_f32(ws->net32, n_threads);
    if (ws->net64) gb_net_set_threads_f64(ws->net64, n_threads);
    gb_blas_set_threads(n_threads);
}

gbnet_status gb_ws_forward(gbnet_workspace *ws, const gb_batch *b, int dual, double *atom_energy,
                           double *graph_energy) {
    gb_pass_mode mode = dual ? GB_PASS_TRAIN : GB_PASS_EVALUATE;
    return ws->net32 ? gb_forward_f32(ws->net32, b, mode, atom_energy, graph_energy)
                     : gb_forward_f64(ws->net64, b, mode, atom_energy, graph_energy);
}

void gb_ws_share_graph(gbnet_workspace *ws, const gbnet_workspace *lead) {
    if (ws->net32) gb_net_share_graph_f32(ws->net32, lead ? lead->net32 : NULL);
    if (ws->net64) gb_net_share_graph_f64(ws->net64, lead ? lead->net64 : NULL);
}

gbnet_status gb_ws_tangent(gbnet_workspace *ws, const gb_batch *b, const double *d_dot, double *atom_energy_dot) {
    return ws->net32 ? gb_tangent_f32(ws->net32, b, d_dot, atom_energy_dot)
                     : gb_tangent_f64(ws->net64, b, d_dot, atom_energy_dot);
}

gbnet_status gb_ws_backward(gbnet_workspace *ws, const gb_batch *b, const double *ebar, const double *ebar_dot,
                            double *grad, double *dbar) {
    return ws->net32 ? gb_backward_f32(ws->net32, b, ebar, ebar_dot, grad, dbar)
                     : gb_backward_f64(ws->net64, b, ebar, ebar_dot, grad, dbar);
}

void gb_ws_in_edges(const gbnet_workspace *ws, const int **in_offsets, const int **in_edges) {
    if (ws->net32) gb_net_in_edges_f32(ws->net32, in_offsets, in_edges);
    else gb_net_in_edges_f64(ws->net64, in_offsets, in_edges);
}

void gb_ws_load_params(gbnet_workspace *ws, const double *params) {
    if (ws->net32) gb_net_load_params_f32(ws->net32, params);
    if (ws->net64) gb_net_load_params_f64(ws->net64, params);
}

/* ------------------------------------------------------------ batches */

static gbnet_status ensure_doubles(double **p, size_t *cap, size_t n) {
    return GB_GROW(*p, *cap, n + 1) ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

/* Energy and virial finite: a non-finite force or edge gradient always
 * reaches the virial (every edge adds r (x) dE/dr to it), so 10 numbers
 * check the whole result. */
int gb_finite_result(double energy, const double *virial) {
    int ok = isfinite(energy);
    for (int k = 0; k < 9; ++k) ok = ok && isfinite(virial[k]);
    return ok;
}

int gb_first_nonfinite_force(const double *forces, int n_atoms) {
    for (int i = 0; i < n_atoms && forces; ++i)
        if (!isfinite(forces[3 * i]) || !isfinite(forces[3 * i + 1]) || !isfinite(forces[3 * i + 2])) return i;
    return -1;
}

/* The repulsive core of a batch (zbl.h), after the network's forward: adds
 * each center's repulsion to its atom energy and, in atom order, to its
 * graph's energy, and keeps the edges' dE/dd in ws->zbl_dbar for
 * gb_ws_add_repulsion_gradient. Nothing when the model has no core. */
gbnet_status gb_ws_add_repulsion_energy(gbnet_workspace *ws, const gb_batch *b, double *atom_energy,
                                         double *graph_energy) {
    if (!ws->model->zbl) return GBNET_OK;
    gbnet_status st = ensure_doubles(&ws->zbl_energy, &ws->cap_zbl_energy, (size_t)b->n_centers);
    if (!st) st = ensure_doubles(&ws->zbl_dbar, &ws->cap_zbl_dbar, (size_t)b->n_edges);
    if (st) return st;
    memset(ws->zbl_dbar, 0, (size_t)b->n_edges * sizeof(double));
    gb_zbl_edges(ws->model, b->n_centers, b->species, b->offsets, b->neighbor, b->vec, ws->zbl_energy, ws->zbl_dbar,
                 ws->n_threads);
    for (int i = 0; i < b->n_centers; ++i) {
        int g = b->atom_graph ? b->atom_graph[i] : 0;
        if (g < 0) continue;
        atom_energy[i] += ws->zbl_energy[i];
        graph_energy[g] += ws->zbl_energy[i];
    }
    return GBNET_OK;
}

/* After the network's backward: dbar [n_edges] += the repulsion's dE/dd. */
void gb_ws_add_repulsion_gradient(const gbnet_workspace *ws, const gb_batch *b, double *dbar) {
    if (!ws->model->zbl) return;
    for (int e = 0; e < b->n_edges; ++e) dbar[e] += ws->zbl_dbar[e];
}

/* ------------------------------------------------------------ one batch */

gbnet_status gb_ws_dbar(gbnet_workspace *ws, const gb_batch *b, int core_energy, int core_gradient) {
    gbnet_status st;
    if ((st = ensure_doubles(&ws->atom_energy, &ws->cap_atom_energy, (size_t)b->n_atoms))) return st;
    if ((st = ensure_doubles(&ws->ones, &ws->cap_ones, (size_t)b->n_centers))) return st;
    if ((st = ensure_doubles(&ws->graph_energy, &ws->cap_graph_energy, (size_t)b->n_graphs))) return st;
    if ((st = ensure_doubles(&ws->dbar, &ws->cap_dbar, (size_t)b->n_edges))) return st;
    if ((st = gb_ws_forward(ws, b, 0, ws->atom_energy, ws->graph_energy))) return st;
    if (core_energy && (st = gb_ws_add_repulsion_energy(ws, b, ws->atom_energy, ws->graph_energy))) return st;
    for (int i = 0; i < b->n_centers; ++i) ws->ones[i] = 1.0; /* the seed dE/dE_i = 1 of every center */
    if ((st = gb_ws_backward(ws, b, ws->ones, NULL, NULL, ws->dbar))) return st;
    if (core_energy && core_gradient) gb_ws_add_repulsion_gradient(ws, b, ws->dbar);
    return GBNET_OK;
}

gbnet_status gb_ws_evaluate_batch(gbnet_workspace *ws, const gb_batch *b) {
    gbnet_status st;
    if ((st = ensure_doubles(&ws->atom_forces, &ws->cap_atom_forces, 3 * (size_t)b->n_atoms))) return st;
    if ((st = ensure_doubles(&ws->center_virials, &ws->cap_center_virials, 9 * (size_t)b->n_atoms))) return st;
    if ((st = gb_ws_dbar(ws, b, 1, 1))) return st;
    const int *in_offsets, *in_edges;
    gb_ws_in_edges(ws, &in_offsets, &in_edges);
    gb_forces_from_dbar_threaded(ws->atom_forces, NULL, ws->center_virials, NULL, ws->dbar, b->vec, b->offsets,
                                 in_offsets, in_edges, b->n_centers, b->n_atoms, ws->n_threads);
    return GBNET_OK;
}

/* ------------------------------------------------------------ gbnet_evaluate */

/* virial [9] = sum of n centers' virials, in atom order (a fixed reduction order) */
void gb_sum_center_virials(double *virial, const double *center_virials, int n) {
    memset(virial, 0, 9 * sizeof(double));
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < 9; ++k) virial[k] += center_virials[9 * (size_t)i + k];
}

static gbnet_status check_structure(const gbnet_model *m, const gbnet_structure *s, int index) {
    if (s->n_atoms < 0) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "structure %d: negative atom count", index);
    if (s->n_atoms > 0 && (!s->species || !s->positions))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "structure %d: species or positions missing", index);
    if ((s->pbc[0] || s->pbc[1] || s->pbc[2]) && !s->cell)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "structure %d: periodic but no cell given", index);
    for (int i = 0; i < s->n_atoms; ++i) {
        if (s->species[i] < 0 || s->species[i] >= m->hp.n_elements)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "structure %d, atom %d: element index %d not in the model (0..%d)",
                           index, i, s->species[i], m->hp.n_elements - 1);
        for (int c = 0; c < 3; ++c)
            if (!isfinite(s->positions[3 * i + c]))
                return gb_fail(GBNET_ERR_NUMERIC, "structure %d, atom %d: position is not finite", index, i);
    }
    return GBNET_OK;
}

gbnet_status gb_ws_pack_structures(gbnet_workspace *ws, int n, const gbnet_structure *structures, int *atoms,
                                   int *edges) {
    const gbnet_model *m = ws->model;
    gbnet_status st = GBNET_OK;
    if (n > ws->n_lists) {
        gb_neighbor_list *l = realloc(ws->lists, (size_t)n * sizeof *l);
        if (!l) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory for neighbor lists");
        memset(l + ws->n_lists, 0, (size_t)(n - ws->n_lists) * sizeof *l);
        ws->lists = l;
        ws->n_lists = n;
    }
    for (int s = 0; s < n && !st; ++s) {
        const gbnet_structure *str = &structures[s];
        st = check_structure(m, str, s);
        if (!st) st = gb_neighbor_build(&ws->lists[s], str->positions, str->n_atoms, str->cell, str->pbc, m->hp.cutoff);
        if (st) return st;
        atoms[s] = str->n_atoms;
        edges[s] = ws->lists[s].n_edges;
    }
    double edge_ratio = 0.0; /* densest graph: atoms bind, edges never overflow */
    for (int s = 0; s < n; ++s)
        if (atoms[s] > 0 && (double)edges[s] / atoms[s] > edge_ratio) edge_ratio = (double)edges[s] / atoms[s];
    return gb_pack_auto(&ws->packing, n, atoms, edges, GB_EVAL_PACK_ATOMS, edge_ratio);
}

gbnet_status gb_ws_fill_pack(gbnet_workspace *ws, int k, const gbnet_structure *structures) {
    gbnet_status st = GBNET_OK;
    gb_batch_buffer_reset(&ws->bb);
    int first = ws->packing.pack_offsets[k], last = ws->packing.pack_offsets[k + 1];
    for (int q = first; q < last && !st; ++q) {
        int s = ws->packing.items[q];
        const gb_neighbor_list *nl = &ws->lists[s];
        st = gb_batch_buffer_append(&ws->bb, structures[s].n_atoms, structures[s].species, nl->n_edges, nl->offsets,
                                    nl->neighbor, nl->vec, q - first);
    }
    return st;
}

gbnet_status gbnet_evaluate(gbnet_workspace *ws, int n, const gbnet_structure *structures, gbnet_result *results) {
    if (!ws || n < 0 || (n > 0 && (!structures || !results)))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_evaluate: invalid arguments");
    int *atoms = gb_malloc(2 * (size_t)n * sizeof(int) + 1);
    if (!atoms) return GBNET_ERR_NO_MEMORY;
    int *edges = atoms + n;
    gbnet_status st = gb_ws_pack_structures(ws, n, structures, atoms, edges);
    for (int k = 0; k < ws->packing.n_packs && !st; ++k) {
        int first = ws->packing.pack_offsets[k], last = ws->packing.pack_offsets[k + 1];
        if ((st = gb_ws_fill_pack(ws, k, structures))) break;
        if ((st = gb_ws_evaluate_batch(ws, &ws->bb.batch))) break;
        int a0 = 0;
        for (int q = first; q < last; ++q) {
            int s = ws->packing.items[q];
            gbnet_result *r = &results[s];
            r->energy = ws->graph_energy[q - first];
            if (r->atom_energies) memcpy(r->atom_energies, ws->atom_energy + a0, (size_t)atoms[s] * sizeof(double));
            if (r->forces) memcpy(r->forces, ws->atom_forces + 3 * (size_t)a0, 3 * (size_t)atoms[s] * sizeof(double));
            gb_sum_center_virials(r->virial, ws->center_virials + 9 * (size_t)a0, atoms[s]);
            a0 += atoms[s];
            if (!st && !gb_finite_result(r->energy, r->virial))
                st = gb_fail(GBNET_ERR_NUMERIC,
                             "structure %d: the energy, forces or virial are not finite (NaN or Inf): the model "
                             "cannot evaluate it (weights out of range, or atoms far outside its data?)", s);
        }
    }
    free(atoms);
    return st;
}

/* ------------------------------------------------------------ gbnet_evaluate_graph */

void gb_graph_batch(gb_batch *b, const gbnet_graph *g) {
    memset(b, 0, sizeof *b);
    b->n_atoms = g->n_total;
    b->n_centers = g->n_local;
    b->n_edges = g->n_local > 0 ? g->edge_offsets[g->n_local] : 0;
    b->species = g->species;
    b->offsets = g->edge_offsets;
    b->neighbor = g->edge_neighbor;
    b->vec = g->edge_vector;
    b->n_graphs = 1;
    b->forward_exchange = g->forward_exchange;
    b->reverse_exchange = g->reverse_exchange;
    b->exchange_ctx = g->exchange_ctx;
}

gbnet_status gbnet_evaluate_graph(gbnet_workspace *ws, const gbnet_graph *g, gbnet_graph_result *r) {
    if (!ws || !g || !r) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_evaluate_graph: NULL argument");
    if (g->n_local < 0 || g->n_total < g->n_local)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph: need 0 <= n_local <= n_total (got %d, %d)", g->n_local,
                       g->n_total);
    gb_batch b;
    gb_graph_batch(&b, g);
    memset(r->virial, 0, sizeof r->virial);
    r->energy = 0.0;
    if (g->n_local == 0) {
        if (r->forces) memset(r->forces, 0, 3 * (size_t)g->n_total * sizeof(double));
        if (r->atom_virials) memset(r->atom_virials, 0, 9 * (size_t)g->n_total * sizeof(double));
        /* ranks with no atoms still take part in the exchanges of every block
         * (they are collective); ghost rows carry zero features and zero gradients */
        int T = ws->model->hp.n_blocks, F = ws->model->hp.n_features;
        size_t es = ws->precision == GBNET_FLOAT ? sizeof(float) : sizeof(double);
        size_t bytes = (size_t)(g->n_total > 0 ? g->n_total : 1) * F * es;
        void *rows = ws->dbar;
        size_t cap = ws->cap_dbar;
        if (!gb_reserve(&rows, &cap, bytes)) return GBNET_ERR_NO_MEMORY;
        ws->dbar = rows;
        ws->cap_dbar = cap;
        if (g->forward_exchange && g->reverse_exchange) {
            memset(rows, 0, bytes);
            for (int t = 0; t < T - 1; ++t) g->forward_exchange(g->exchange_ctx, rows, F, es);
            memset(rows, 0, bytes); /* the reverse sweep sends gradients, not the features received above */
            for (int t = 0; t < T - 1; ++t) g->reverse_exchange(g->exchange_ctx, rows, F, es);
        }
        return GBNET_OK;
    }
    gbnet_status st = gb_batch_check(&b, ws->model->hp.n_elements);
    if (st) return st;
    if ((st = gb_ws_dbar(ws, &b, 1, 1))) return st;
    r->energy = ws->graph_energy[0];
    if (r->atom_energies) memcpy(r->atom_energies, ws->atom_energy, (size_t)g->n_local * sizeof(double));
    if ((st = ensure_doubles(&ws->center_virials, &ws->cap_center_virials, 9 * (size_t)b.n_centers))) return st;
    const int *in_offsets, *in_edges;
    gb_ws_in_edges(ws, &in_offsets, &in_edges);
    gb_forces_from_dbar_threaded(r->forces, r->atom_virials, ws->center_virials, r->edge_gradients, ws->dbar, b.vec,
                                 b.offsets, in_offsets, in_edges, b.n_centers, b.n_atoms, ws->n_threads);
    gb_sum_center_virials(r->virial, ws->center_virials, b.n_centers);
    if (!gb_finite_result(r->energy, r->virial)) {
        /* the first atom whose energy or force is not finite, for the message */
        int atom = gb_first_nonfinite_force(r->forces, g->n_total);
        for (int i = 0; i < g->n_local && atom < 0 && r->atom_energies; ++i)
            if (!isfinite(r->atom_energies[i])) atom = i;
        return gb_fail(GBNET_ERR_NUMERIC, "the energy, forces or virial are not finite (NaN or Inf), first at atom %d "
                       "(index in the graph; -1: not located)", atom);
    }
    return GBNET_OK;
}
