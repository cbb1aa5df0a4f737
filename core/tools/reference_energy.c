/* Least-squares reference energies (normal equations in double precision). */
#include "reference_energy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "normalization.h"
#include "tool_frames.h"

int gb_solve_linear(double *x, double *a, double *b, int n, double tolerance) {
    /* the core's elimination (the trainer's normalization uses it too);
     * here a rank-deficient system is an error the caller handles */
    return gb_solve_pivoting(x, a, b, n, tolerance) == n ? 0 : -1;
}

/* Relative pivot size below which the normal matrix counts as singular.
 * Element counts are small integers, so genuine pivots are far above this. */
#define SINGULAR_TOLERANCE 1e-10
/* Eigenvalues below this fraction of the largest count as zero in the
 * pseudo-inverse. */
#define PSEUDO_INVERSE_TOLERANCE 1e-10

/* Eigen-decomposes the symmetric n x n matrix a by cyclic Jacobi rotations:
 * on return the diagonal of a holds the eigenvalues and column k of v the
 * k-th eigenvector. */
static void symmetric_eigen(double *a, double *v, int n) {
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) v[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                if (i != j) off += a[i * n + j] * a[i * n + j];
                else diag += a[i * n + i] * a[i * n + i];
            }
        if (off <= 1e-30 * diag) return;
        for (int p = 0; p < n - 1; ++p)
            for (int q = p + 1; q < n; ++q) {
                double apq = a[p * n + q];
                if (apq == 0.0) continue;
                /* rotation angle that zeroes a[p][q] (Golub & Van Loan, sym.schur2) */
                double tau = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                for (int k = 0; k < n; ++k) { /* a = a J */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; ++k) { /* a = J^T a */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; ++k) { /* v = v J */
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
}

/* Minimum-norm least-squares solution x = A^+ b of the symmetric positive
 * semi-definite system (the normal equations when compositions are
 * dependent). */
static void pseudo_inverse_solve(double *x, const double *normal, const double *rhs, int n) {
    double a[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS], v[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS];
    memcpy(a, normal, (size_t)n * n * sizeof(double));
    symmetric_eigen(a, v, n);
    double largest = 0.0;
    for (int k = 0; k < n; ++k)
        if (fabs(a[k * n + k]) > largest) largest = fabs(a[k * n + k]);
    for (int i = 0; i < n; ++i) x[i] = 0.0;
    for (int k = 0; k < n; ++k) {
        double lambda = a[k * n + k];
        if (!(lambda > PSEUDO_INVERSE_TOLERANCE * largest)) continue;
        double projection = 0.0;
        for (int i = 0; i < n; ++i) projection += v[i * n + k] * rhs[i];
        for (int i = 0; i < n; ++i) x[i] += v[i * n + k] * projection / lambda;
    }
}

gbnet_status gb_fit_reference_energies(gb_reference_fit *fit, const gb_dataset *ds, const gbnet_hyperparams *hp) {
    const int n = hp->n_elements;
    memset(fit, 0, sizeof *fit);
    double normal[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS] = {0};
    double rhs[GBNET_MAX_ELEMENTS] = {0};
    long long occurrences[GBNET_MAX_ELEMENTS] = {0};
    int max_atoms = 0;
    for (int f = 0; f < ds->n_frames; ++f)
        if (ds->frames[f].n_atoms > max_atoms) max_atoms = ds->frames[f].n_atoms;
    int *species = malloc(((size_t)max_atoms + 1) * sizeof(int));
    double(*counts)[GBNET_MAX_ELEMENTS] = calloc((size_t)ds->n_frames + 1, sizeof *counts);
    if (!species || !counts) {
        free(species);
        free(counts);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory fitting reference energies");
    }
    gbnet_status status = GBNET_OK;
    for (int f = 0; f < ds->n_frames && !status; ++f) {
        const gb_frame *frame = &ds->frames[f];
        if (!frame->has_energy || frame->n_atoms == 0) continue;
        status = gb_frame_species(species, frame, hp);
        if (status) break;
        for (int i = 0; i < frame->n_atoms; ++i) counts[f][species[i]] += 1.0;
        for (int e = 0; e < n; ++e) {
            occurrences[e] += (long long)counts[f][e];
            rhs[e] += counts[f][e] * frame->energy;
            for (int g = 0; g < n; ++g) normal[e * n + g] += counts[f][e] * counts[f][g];
        }
        fit->n_frames++;
    }
    if (!status && fit->n_frames == 0)
        status = gb_fail(GBNET_ERR_INVALID_ARGUMENT, "no frame with an energy label: cannot fit reference energies");
    for (int e = 0; e < n && !status; ++e)
        if (occurrences[e] == 0)
            status = gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                             "element %s occurs in no frame with an energy: its reference energy cannot be fitted "
                             "(remove it from --elements or add data containing it)",
                             gbnet_element_symbol(hp->atomic_numbers[e]));
    if (!status) {
        double a[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS], b[GBNET_MAX_ELEMENTS];
        memcpy(a, normal, sizeof a);
        memcpy(b, rhs, sizeof b);
        if (gb_solve_linear(fit->e_ref, a, b, n, SINGULAR_TOLERANCE) != 0) {
            fit->rank_deficient = 1;
            pseudo_inverse_solve(fit->e_ref, normal, rhs, n);
        }
    }
    if (!status) {
        /* two passes (mean, then spread) so a large shift cannot swamp the spread */
        double sum = 0.0, sum_sq = 0.0;
        for (int pass = 0; pass < 2; ++pass) {
            for (int f = 0; f < ds->n_frames; ++f) {
                const gb_frame *frame = &ds->frames[f];
                if (!frame->has_energy || frame->n_atoms == 0) continue;
                double predicted = 0.0;
                for (int e = 0; e < n; ++e) predicted += counts[f][e] * fit->e_ref[e];
                double residual = (frame->energy - predicted) / frame->n_atoms;
                if (pass == 0) sum += residual;
                else sum_sq += (residual - fit->shift) * (residual - fit->shift);
            }
            if (pass == 0) fit->shift = sum / fit->n_frames;
        }
        fit->scale = sqrt(sum_sq / fit->n_frames);
        /* A scale that is zero or at rounding level would make every
         * prediction the reference energy; fall back to 1 eV/atom. */
        if (fit->n_frames < 2 || !(fit->scale > 1e-9 * (fabs(fit->shift) + 1.0))) {
            fit->scale = 1.0;
            fit->scale_defaulted = 1;
        }
        if (!isfinite(fit->shift) || !isfinite(fit->scale))
            status = gb_fail(GBNET_ERR_NUMERIC, "reference energy fit gave a non-finite shift or scale");
    }
    free(species);
    free(counts);
    return status;
}
