/* Batches of graphs (gb_batch, net/schnet.h) in growing buffers: appending
 * graphs, static-shape padding of atoms and edges, and the index checks.
 * The one home of batch bookkeeping for evaluation and training. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "gb_error.h"

void gb_batch_buffer_reset(gb_batch_buffer *bb) {
    memset(&bb->batch, 0, sizeof bb->batch);
}

static gbnet_status batch_grow(gb_batch_buffer *bb, size_t atoms, size_t edges) {
    int ok = GB_GROW(bb->species, bb->cap_species, atoms) && GB_GROW(bb->offsets, bb->cap_offsets, atoms + 1) &&
             GB_GROW(bb->atom_graph, bb->cap_atom_graph, atoms) && GB_GROW(bb->neighbor, bb->cap_neighbor, edges + 1) &&
             GB_GROW(bb->vec, bb->cap_vec, 3 * edges + 3);
    return ok ? GBNET_OK : GBNET_ERR_NO_MEMORY;
}

static void batch_refresh_pointers(gb_batch_buffer *bb) {
    gb_batch *b = &bb->batch;
    b->species = bb->species;
    b->offsets = bb->offsets;
    b->neighbor = bb->neighbor;
    b->vec = bb->vec;
    b->atom_graph = bb->atom_graph;
}

gbnet_status gb_batch_buffer_append(gb_batch_buffer *bb, int n_atoms, const int *species, int n_edges,
                                    const int *offsets, const int *neighbor, const double *vec, int graph) {
    gb_batch *b = &bb->batch;
    int a0 = b->n_atoms, e0 = b->n_edges;
    gbnet_status st = batch_grow(bb, (size_t)a0 + n_atoms, (size_t)e0 + n_edges);
    if (st) return st;
    if (a0 == 0) bb->offsets[0] = 0;
    for (int i = 0; i < n_atoms; ++i) {
        bb->species[a0 + i] = species[i];
        bb->atom_graph[a0 + i] = graph;
        bb->offsets[a0 + i + 1] = e0 + offsets[i + 1];
    }
    for (int e = 0; e < n_edges; ++e) bb->neighbor[e0 + e] = a0 + neighbor[e];
    memcpy(bb->vec + 3 * (size_t)e0, vec, 3 * (size_t)n_edges * sizeof(double));
    b->n_atoms = b->n_centers = a0 + n_atoms;
    b->n_edges = e0 + n_edges;
    if (graph + 1 > b->n_graphs) b->n_graphs = graph + 1;
    batch_refresh_pointers(bb);
    return GBNET_OK;
}

/* Masked padding up to a static shape: padding atoms have no energy weight
 * (graph -1) and padding edges are longer than the cutoff (fc = 0 exactly),
 * so both add exact zeros. Padding edges hang off the last atom, pointing at
 * itself (none when the batch has no atom). */
gbnet_status gb_batch_buffer_pad(gb_batch_buffer *bb, int atoms, int edges, double cutoff) {
    gb_batch *b = &bb->batch;
    if (b->n_atoms > atoms || b->n_edges > edges)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "pack of %d atoms / %d edges exceeds the static shape %d / %d",
                       b->n_atoms, b->n_edges, atoms, edges);
    int a0 = b->n_atoms, e0 = b->n_edges;
    if (atoms == 0) edges = e0; /* no atom to hang edges on */
    gbnet_status st = batch_grow(bb, (size_t)atoms, (size_t)edges);
    if (st) return st;
    if (a0 == 0) bb->offsets[0] = 0;
    for (int i = a0; i < atoms; ++i) {
        bb->species[i] = 0;
        bb->atom_graph[i] = -1;
        bb->offsets[i + 1] = e0;
    }
    int last = atoms - 1;
    for (int e = e0; e < edges; ++e) {
        bb->neighbor[e] = last;
        bb->vec[3 * (size_t)e] = 2.0 * cutoff;
        bb->vec[3 * (size_t)e + 1] = 0.0;
        bb->vec[3 * (size_t)e + 2] = 0.0;
    }
    if (edges > e0) bb->offsets[last + 1] = edges;
    b->n_atoms = b->n_centers = atoms;
    b->n_edges = edges;
    batch_refresh_pointers(bb);
    return GBNET_OK;
}

void gb_batch_buffer_free(gb_batch_buffer *bb) {
    free(bb->species);
    free(bb->offsets);
    free(bb->neighbor);
    free(bb->atom_graph);
    free(bb->vec);
    memset(bb, 0, sizeof *bb);
}

gbnet_status gb_batch_check(const gb_batch *b, int n_elements) {
    if (b->n_atoms < 0 || b->n_centers < 0 || b->n_centers > b->n_atoms || b->n_edges < 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "graph sizes are inconsistent (n_local=%d, n_total=%d)",
                       b->n_centers, b->n_atoms);
    if (b->n_centers > 0 && (b->offsets[0] != 0 || b->offsets[b->n_centers] != b->n_edges))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "edge offsets must start at 0 and end at the edge count");
    for (int i = 0; i < b->n_centers; ++i)
        if (b->offsets[i + 1] < b->offsets[i])
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "edge offsets decrease at atom %d", i);
    for (int i = 0; i < b->n_atoms; ++i)
        if (b->species[i] < 0 || b->species[i] >= n_elements)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "atom %d has element index %d; the model has %d elements", i,
                           b->species[i], n_elements);
    for (int e = 0; e < b->n_edges; ++e)
        if (b->neighbor[e] < 0 || b->neighbor[e] >= b->n_atoms)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "edge %d points to atom %d outside 0..%d", e, b->neighbor[e],
                           b->n_atoms - 1);
    return GBNET_OK;
}
