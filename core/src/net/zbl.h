/* The repulsive core: the ZBL screened nuclear repulsion between every pair
 * of atoms, switched smoothly to zero between two radii per element pair
 * (docs/model.md section 7). It is added to the network's energy in every
 * evaluation (gbnet_evaluate, gbnet_evaluate_graph; exact or tabulated,
 * float or double workspaces, always computed in double) and subtracted from
 * the labels in training, so the network learns the rest.
 *
 * On a graph each edge i->j carries half the pair energy, given to its
 * center i: a pair listed from both sides (a structure's full list, or two
 * ranks each holding one side with a ghost) is counted exactly once. */
#ifndef GB_ZBL_H
#define GB_ZBL_H

#include "gbnet.h"

#define GB_ZBL_COULOMB 14.399645 /* e^2 / (4 pi eps0) in eV A (LAMMPS metal qqr2e) */

/* Per element pair (model order, symmetric): the switch starts at inner and
 * reaches 0 at outer, 0 < inner < outer <= cutoff. */
typedef struct gb_zbl_s {
    double inner[GBNET_MAX_ELEMENTS][GBNET_MAX_ELEMENTS]; /* A */
    double outer[GBNET_MAX_ELEMENTS][GBNET_MAX_ELEMENTS]; /* A */
} gb_zbl;

/* Unswitched ZBL energy of atomic numbers z1, z2 at distance d > 0 (eV);
 * *dE_dd receives its derivative (eV/A). */
double gb_zbl_unswitched(int z1, int z2, double d, double *dE_dd);
/* Switch s(d): 1 below inner, 1 - 10t^3 + 15t^4 - 6t^5 with t = (d - inner) /
 * (outer - inner) between, 0 from outer on (C2: energy, force and force
 * derivative reach 0 at outer). *ds_dd receives ds/dd. */
double gb_zbl_switch(double d, double inner, double outer, double *ds_dd);
/* Switched pair energy E(d) s(d) (eV) and its derivative (eV/A). */
double gb_zbl_pair(int z1, int z2, double d, double inner, double outer, double *dE_dd);

/* The repulsion on the edges of centers [0, n_centers) of a graph (CSR
 * offsets [n_centers+1], neighbor [n_edges], vec [n_edges][3] r_j - r_i,
 * species [n_atoms] model element index, < 0 for masked padding slots).
 * Outputs, each may be NULL:
 *   center_energy [n_centers]  overwritten: half the pair energy of each
 *                              out-edge (a pair listed from both sides counts once)
 *   dbar          [n_edges]    += half the pair energy's derivative dE/dd
 * Threaded over centers, one writer per output: the result does not depend
 * on the thread count. A model without a repulsive core gives zeros. */
void gb_zbl_edges(const gbnet_model *model, int n_centers, const int *species, const int *offsets, const int *neighbor,
                  const double *vec, double *center_energy, double *dbar, int n_threads);

/* The repulsion of one structure given as a full neighbor list (the
 * training labels' share): energy (eV), forces [n_atoms][3] (overwritten),
 * virial [9] (overwritten, eV). */
gbnet_status gb_zbl_structure(const gbnet_model *model, int n_atoms, const int *species, const int *offsets,
                              const int *neighbor, const double *vec, int n_edges, double *energy, double *forces,
                              double *virial);

/* Reference twin for tests: a plain double loop over all pairs (i < j, and
 * every periodic image up to outer) of a structure, without neighbor lists.
 * Energy, forces [n_atoms][3] and virial [9] are overwritten. */
gbnet_status gb_zbl_reference(const gbnet_model *model, const gbnet_structure *s, double *energy, double *forces,
                              double *virial);

#endif
