/* Error statistics accumulators for gbnet eval. */
#include "metrics.h"

#include <math.h>

void gb_error_stats_add(gb_error_stats *s, double error) {
    double a = fabs(error);
    s->sum_abs += a;
    s->sum_sq += error * error;
    if (a > s->max_abs) s->max_abs = a;
    s->count++;
}

double gb_error_stats_mae(const gb_error_stats *s) { return s->count ? s->sum_abs / (double)s->count : NAN; }

double gb_error_stats_rmse(const gb_error_stats *s) { return s->count ? sqrt(s->sum_sq / (double)s->count) : NAN; }

double gb_cell_volume(const double c[9]) {
    return fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                c[2] * (c[3] * c[7] - c[4] * c[6]));
}

void gb_eval_metrics_add(gb_eval_metrics *m, const gbnet_frame *frame, const int *species, int n_elements,
                         double energy, const double *forces, const double *virial) {
    int n = frame->n_atoms;
    m->n_frames++;
    m->n_atoms += n;
    int present[GBNET_MAX_ELEMENTS] = {0};
    for (int i = 0; i < n; ++i) {
        present[species[i]] = 1;
        m->element_atoms[species[i]]++;
    }
    if (frame->has_energy && n > 0) {
        double error = 1000.0 * (energy - frame->energy) / n;
        gb_error_stats_add(&m->energy, error);
        for (int e = 0; e < n_elements; ++e)
            if (present[e]) gb_error_stats_add(&m->element_energy[e], error);
    }
    if (frame->forces && forces)
        for (int i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) {
                double error = 1000.0 * (forces[3 * i + c] - frame->forces[3 * i + c]);
                gb_error_stats_add(&m->force, error);
                gb_error_stats_add(&m->element_force[species[i]], error);
            }
    if (frame->has_virial && frame->has_cell && virial) {
        double volume = gb_cell_volume(frame->cell);
        if (volume > 0.0)
            for (int k = 0; k < 9; ++k) {
                /* stress = -W/V for both, so the error is -(W_pred - W_ref)/V */
                double error = -(virial[k] - frame->virial[k]) / volume * GB_GPA_PER_EV_A3;
                gb_error_stats_add(&m->stress, error);
            }
    }
}
