/* Per-element reference energies fitted by linear least squares, and the
 * energy normalization (shift, scale) that follows from them:
 *     E_frame ~ sum_e count_e * e_ref[e]
 *     residual per atom r_f = (E_f - sum_e count_e e_ref[e]) / N_f
 *     shift = mean_f r_f, scale = std_f r_f                                    */
#ifndef GB_REFERENCE_ENERGY_H
#define GB_REFERENCE_ENERGY_H

#include "dataset.h"
#include "gbnet.h"

typedef struct {
    double e_ref[GBNET_MAX_ELEMENTS]; /* eV, model element order */
    double shift;                     /* eV/atom */
    double scale;                     /* eV/atom; 1 when the residuals do not define one */
    int n_frames;                     /* frames with an energy label that were used */
    int rank_deficient;               /* compositions linearly dependent: e_ref closest to equal */
    int scale_defaulted;              /* scale set to 1 (fewer than 2 frames, or all residuals equal) */
} gb_reference_fit;

/* Fits e_ref, shift and scale for the elements of hp on the frames of ds that
 * have an energy. Every model element must occur in one of them, and every
 * atom must be a model element (errors name the file and line). When the
 * compositions cannot separate the elements (e.g. every frame is (H2O)_64),
 * the solution closest to equal references (the trainer's choice,
 * gb_fit_normalization) is returned and rank_deficient is set. */
gbnet_status gb_fit_reference_energies(gb_reference_fit *fit, const gb_dataset *ds, const gbnet_hyperparams *hp);

#endif
