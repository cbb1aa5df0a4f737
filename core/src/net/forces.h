/* Forces and virials from dE/dd per edge (the backward's dbar): the edge
 * gradient g_e = dE/dr_ij = dbar[e] v_e / |v_e| (v_e = r_j - r_i) pushes
 * center i by +g_e and neighbor j by -g_e; the virial is -sum_e v_e (x) g_e. */
#ifndef GB_FORCES_H
#define GB_FORCES_H

/* Reference: one pass over the edges in order.
 * forces [n_atoms][3] (overwritten, may be NULL), virial [9] (added, may be NULL);
 * dbar, vec [n_edges(3)] in CSR order by center (offsets [n_centers+1]). */
void gb_forces_from_dbar(double *forces, double *virial, const double *dbar, const double *vec,
                         const int *offsets, const int *neighbor, int n_centers, int n_atoms);

/* The same, threaded: each atom's row is summed by one thread in a fixed
 * order (its out-edges, then its in-edges), so any thread count gives the
 * same bits. in_offsets [n_atoms+1] / in_edges [n_edges]: the edges pointing
 * at each atom (gb_net_in_edges). Outputs, each may be NULL:
 *   forces         [n_atoms][3]    overwritten
 *   atom_virials   [n_atoms][9]    overwritten; each edge's -v (x) g split half/half
 *   center_virials [n_centers][9]  overwritten; -sum over the out-edges of each center
 *                                  (sum them in atom order for the total virial)
 *   edge_gradients [n_edges][3]    overwritten; g_e                                  */
void gb_forces_from_dbar_threaded(double *forces, double *atom_virials, double *center_virials,
                                  double *edge_gradients, const double *dbar, const double *vec,
                                  const int *offsets, const int *in_offsets, const int *in_edges,
                                  int n_centers, int n_atoms, int n_threads);

#endif
