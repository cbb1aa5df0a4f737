/* Batches of graphs in buffers that only grow (see batch.c). */
#ifndef GB_BATCH_H
#define GB_BATCH_H

#include <stddef.h>

#include "schnet.h"

/* A concatenation of graphs as one batch, with buffers that only grow. */
typedef struct {
    gb_batch batch;
    int *species, *offsets, *neighbor, *atom_graph;
    double *vec;
    size_t cap_species, cap_offsets, cap_neighbor, cap_atom_graph, cap_vec;
} gb_batch_buffer;

/* Appends graph (species [n], CSR offsets [n+1], neighbor, vec) as graph g
 * of the batch, renumbering atoms; start with gb_batch_buffer_reset. */
void gb_batch_buffer_reset(gb_batch_buffer *bb);
gbnet_status gb_batch_buffer_append(gb_batch_buffer *bb, int n_atoms, const int *species, int n_edges,
                                    const int *offsets, const int *neighbor, const double *vec, int graph);
/* Pads the batch to exactly atoms atoms and edges edges with masked atoms
 * and edges beyond the cutoff, which add exact zeros (static shapes). */
gbnet_status gb_batch_buffer_pad(gb_batch_buffer *bb, int atoms, int edges, double cutoff);
void gb_batch_buffer_free(gb_batch_buffer *bb);

/* Validates a batch's indices (neighbors in range, CSR monotone, species in range). */
gbnet_status gb_batch_check(const gb_batch *b, int n_elements);

#endif
