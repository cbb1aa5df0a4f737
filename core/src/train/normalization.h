/* Energy normalization fitted on the training set before training:
 * per-element reference energies e_ref by least squares (E_s ~ sum_e
 * count_s,e e_ref_e), then shift = mean and scale = standard deviation of the
 * per-atom residual energies (E_s - sum_e count_s,e e_ref_e) / N_s. */
#ifndef GB_NORMALIZATION_H
#define GB_NORMALIZATION_H

#include "gbnet_data.h"
#include "gbnet.h"

typedef struct {
    double e_ref[GBNET_MAX_ELEMENTS]; /* eV per atom of each model element */
    double shift;                     /* eV/atom */
    double scale;                     /* eV */
    double residual_rms;              /* eV/atom, RMS of the residuals (before the shift) */
    double force_rms;                 /* eV/A, RMS force component (0 if no forces) */
    int n_frames;                     /* frames with energies used */
    int rank;                         /* rank of the composition matrix */
} gb_normalization;

/* Fits over frames[idx[0..n)] (frames without energy are skipped). species
 * maps atomic numbers: element_of_z[z] = model element index (or -1). When
 * the compositions do not determine every e_ref (e.g. one molecule type),
 * the solution closest to equal references (the mean energy per atom) is
 * taken: the minimum-norm solution for e_ref - mean. Fails when no frame has
 * an energy. */
gbnet_status gb_fit_normalization(gb_normalization *out, const gbnet_frame *frames, const int *idx, int n,
                                  const int *element_of_z /* [119] */, int n_elements);

/* Solves the n x n system A x = b in place by Gaussian elimination with
 * partial pivoting; returns the number of pivots above tol * max|A| (rank);
 * variables of negligible pivots are set to 0. A [n][n] and b [n] are
 * overwritten, x [n] receives the solution. */
int gb_solve_pivoting(double *x, double *A, double *b, int n, double tol);

#endif
