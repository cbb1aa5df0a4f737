/* Error statistics of predictions against dataset labels, in the units gbnet
 * eval reports: energy meV/atom, force components meV/Angstrom, stress
 * components GPa. */
#ifndef GB_METRICS_H
#define GB_METRICS_H

#include "gbnet_data.h"
#include "gbnet.h"

/* 1 eV/Angstrom^3 in GPa (1.602176634e-19 J / 1e-30 m^3). */
#ifndef GB_GPA_PER_EV_A3
#define GB_GPA_PER_EV_A3 160.2176634
#endif

typedef struct {
    double sum_abs;    /* sum |e| */
    double sum_sq;     /* sum e^2 */
    double max_abs;    /* max |e| */
    long long count;
} gb_error_stats;

void gb_error_stats_add(gb_error_stats *s, double error);
double gb_error_stats_mae(const gb_error_stats *s);   /* NaN if empty */
double gb_error_stats_rmse(const gb_error_stats *s);  /* NaN if empty */

typedef struct {
    long long n_frames, n_atoms;
    gb_error_stats energy;   /* meV/atom: one sample per frame with an energy label */
    gb_error_stats force;    /* meV/A: one sample per force component */
    gb_error_stats stress;   /* GPa: 9 samples per frame with a virial label and a cell */
    /* Per element (model order): energy over the frames that contain the
     * element, force over the components on atoms of the element. */
    gb_error_stats element_energy[GBNET_MAX_ELEMENTS];
    gb_error_stats element_force[GBNET_MAX_ELEMENTS];
    long long element_atoms[GBNET_MAX_ELEMENTS];
} gb_eval_metrics;

/* Adds one frame. species: [n_atoms] model element index of each atom;
 * energy (eV), forces [n_atoms][3] (eV/A) and virial [9] (eV) are the
 * predictions. Labels the frame lacks are skipped. Stress is -virial/V for
 * both prediction and label (the dataset's virial is -stress*V, the same
 * convention as gbnet's W = -sum r_ij (x) dE/dr_ij). */
void gb_eval_metrics_add(gb_eval_metrics *m, const gbnet_frame *frame, const int *species, int n_elements,
                         double energy, const double *forces, const double *virial);

/* Volume of a cell given as rows (absolute value of the determinant). */
double gb_cell_volume(const double cell[9]);

#endif
