/* Recording what data covers (the coverage record, gbnet_coverage): shared by
 * gbnet_coverage_measure and the trainer. */
#ifndef GB_COVERAGE_H
#define GB_COVERAGE_H

#include "gbnet.h"

/* Adds one frame to c: its n_atoms centers' edges (offsets [n_atoms+1],
 * neighbor, vec [n_edges][3] r_j - r_i; species in model order) for the
 * shortest distance of every element pair, and, with cell [9] (NULL unless
 * periodic in all three directions), its volume per atom. Leaves the
 * trained_* flags alone. */
void gb_coverage_add(gbnet_coverage *c, int n_atoms, const int *species, const int *offsets, const int *neighbor,
                     const double *vec, const double *cell);

#endif
