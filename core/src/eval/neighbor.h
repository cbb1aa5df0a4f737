/* Neighbor lists with cell lists, O(N), for molecules and periodic triclinic
 * cells of any size (including cells narrower than twice the cutoff, where an
 * atom sees several images of one neighbor, and itself). */
#ifndef GB_NEIGHBOR_H
#define GB_NEIGHBOR_H

#include "gbnet.h"

/* Full list (each pair in both directions), CSR sorted by center; within a
 * center, edges are sorted by (neighbor, shift) so the list is deterministic. */
typedef struct {
    int n_atoms;
    int n_edges;
    int *offsets;   /* [n_atoms+1] */
    int *neighbor;  /* [n_edges] */
    int *shift;     /* [n_edges][3] integer image shift S */
    double *vec;    /* [n_edges][3] r_j + S.cell - r_i, |vec| < cutoff */
    size_t cap_atoms, cap_edges;  /* capacities, so rebuilding reuses memory */
    struct gb_neighbor_scratch *scratch;  /* private cell-list buffers, reused too */
} gb_neighbor_list;

/* Builds the list for positions pos [n][3]; cell is [3][3] (rows = lattice
 * vectors) or NULL when no direction is periodic. Non-periodic directions of a
 * cell are treated as open. Reuses nl's memory (zero-init it before first use). */
gbnet_status gb_neighbor_build(gb_neighbor_list *nl, const double *pos, int n,
                               const double *cell, const int pbc[3], double cutoff);
void gb_neighbor_free(gb_neighbor_list *nl);

#endif
