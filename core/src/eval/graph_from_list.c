/* gbnet_graph_from_full_list: an MD code's full neighbor list (LAMMPS's
 * ilist / numneigh / firstneigh, built with a skin) filtered to d < cutoff
 * into the CSR graph of gbnet_evaluate_graph. Two threaded passes over the
 * list: count each center's edges, then write them at their offsets, so every
 * edge has one writer and the output is the same for any thread count. */
#include <math.h>
#include <string.h>

#include "gb_error.h"
#include "model.h"
#include "workspace.h"

/* Edges shorter than this have no direction; the model cannot place them. */
#define GB_MIN_EDGE_LENGTH 1e-6

gbnet_status gbnet_graph_from_full_list(gbnet_workspace *ws, gbnet_graph *graph, const double *positions,
                                        const gbnet_full_list *list, int overlap[2]) {
    if (!ws || !graph || !list || (graph->n_total > 0 && !positions))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph_from_full_list: NULL argument");
    int n_local = graph->n_local, n_total = graph->n_total, n_listed = list->n_listed;
    if (n_local < 0 || n_total < n_local || n_listed < 0 || n_listed > n_local ||
        (n_listed > 0 && (!list->centers || !list->counts || !list->entries)))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "graph_from_full_list: need 0 <= listed <= n_local <= n_total (got %d, %d, %d) and the list arrays",
                       n_listed, n_local, n_total);
    if (!GB_GROW(ws->graph_offsets, ws->cap_graph_offsets, (size_t)n_local + 5)) return GBNET_ERR_NO_MEMORY;
    int *offsets = ws->graph_offsets;
    const double rc2 = ws->model->hp.cutoff * ws->model->hp.cutoff, min2 = GB_MIN_EDGE_LENGTH * GB_MIN_EDGE_LENGTH;
    const int mask = list->index_mask;
    const int *centers = list->centers, *counts = list->counts;
    const int *const *entries = list->entries;
    const double *x = positions;
    int nt = ws->n_threads, bad_center = 0, out_of_range = 0;
    (void)nt;

    /* pass 1: edges per center (atoms outside the list keep 0) */
    memset(offsets, 0, ((size_t)n_local + 1) * sizeof(int));
#pragma omp parallel for schedule(static) num_threads(nt) if (n_listed > 512) reduction(| : bad_center, out_of_range)
    for (int k = 0; k < n_listed; ++k) {
        int i = centers[k];
        if (i < 0 || i >= n_local) {
            bad_center = 1;
            continue;
        }
        const int *js = entries[i];
        const double *xi = x + 3 * (size_t)i;
        int count = 0;
        for (int q = 0; q < counts[i]; ++q) {
            int j = js[q] & mask;
            if (j < 0 || j >= n_total) {
                out_of_range = 1;
                continue;
            }
            const double *xj = x + 3 * (size_t)j;
            double dx = xj[0] - xi[0], dy = xj[1] - xi[1], dz = xj[2] - xi[2];
            count += dx * dx + dy * dy + dz * dz < rc2;
        }
        offsets[i + 1] = count;
    }
    if (bad_center) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph_from_full_list: a listed center is outside 0..%d", n_local - 1);
    if (out_of_range) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph_from_full_list: a neighbor index is outside 0..%d", n_total - 1);
    long long total = 0;
    for (int i = 0; i < n_local; ++i) {
        total += offsets[i + 1];
        if (total > 0x7fffffffLL) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph_from_full_list: more than 2^31 edges");
        offsets[i + 1] = (int)total;
    }
    if (!GB_GROW(ws->graph_neighbor, ws->cap_graph_neighbor, (size_t)total + 4) ||
        !GB_GROW(ws->graph_vector, ws->cap_graph_vector, 3 * (size_t)total + 2))
        return GBNET_ERR_NO_MEMORY;
    int *neighbor = ws->graph_neighbor;
    double *vector = ws->graph_vector;

    /* pass 2: each center writes its own range */
    int too_close = 0;
#pragma omp parallel for schedule(static) num_threads(nt) if (n_listed > 512) reduction(| : too_close)
    for (int k = 0; k < n_listed; ++k) {
        int i = centers[k];
        const int *js = entries[i];
        const double *xi = x + 3 * (size_t)i;
        size_t e = (size_t)offsets[i];
        for (int q = 0; q < counts[i]; ++q) {
            int j = js[q] & mask;
            const double *xj = x + 3 * (size_t)j;
            double dx = xj[0] - xi[0], dy = xj[1] - xi[1], dz = xj[2] - xi[2], d2 = dx * dx + dy * dy + dz * dz;
            if (!(d2 < rc2)) continue;
            too_close |= d2 < min2;
            neighbor[e] = j;
            vector[3 * e + 0] = dx;
            vector[3 * e + 1] = dy;
            vector[3 * e + 2] = dz;
            e++;
        }
    }
    graph->edge_offsets = offsets;
    graph->edge_neighbor = neighbor;
    graph->edge_vector = vector;
    if (too_close) /* the first such pair in list order, for the message */
        for (int i = 0; i < n_local; ++i)
            for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
                const double *v = vector + 3 * (size_t)e;
                double d2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
                if (d2 < min2) {
                    if (overlap) {
                        overlap[0] = i;
                        overlap[1] = neighbor[e];
                    }
                    return gb_fail(GBNET_ERR_NUMERIC, "atoms %d and %d are %.3g Angstrom apart (overlapping atoms)", i,
                                   neighbor[e], sqrt(d2));
                }
            }
    return GBNET_OK;
}
