/* Least-squares reference energies and the energy shift and scale. */
#include "normalization.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"

int gb_solve_pivoting(double *x, double *A, double *b, int n, double tol) {
    double amax = 0.0;
    for (int i = 0; i < n * n; ++i)
        if (fabs(A[i]) > amax) amax = fabs(A[i]);
    int rank = 0;
    int *dead = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    for (int col = 0; col < n; ++col) {
        int pivot = col;
        for (int r = col + 1; r < n; ++r)
            if (fabs(A[r * n + col]) > fabs(A[pivot * n + col])) pivot = r;
        if (!(fabs(A[pivot * n + col]) > tol * amax)) {
            if (dead) dead[col] = 1;
            continue;
        }
        ++rank;
        if (pivot != col) {
            for (int c = 0; c < n; ++c) {
                double t = A[col * n + c];
                A[col * n + c] = A[pivot * n + c];
                A[pivot * n + c] = t;
            }
            double t = b[col];
            b[col] = b[pivot];
            b[pivot] = t;
        }
        for (int r = col + 1; r < n; ++r) {
            double f = A[r * n + col] / A[col * n + col];
            if (f == 0.0) continue;
            for (int c = col; c < n; ++c) A[r * n + c] -= f * A[col * n + c];
            b[r] -= f * b[col];
        }
    }
    for (int row = n - 1; row >= 0; --row) {
        if ((dead && dead[row]) || !(fabs(A[row * n + row]) > tol * amax)) {
            x[row] = 0.0;
            continue;
        }
        double s = b[row];
        for (int c = row + 1; c < n; ++c) s -= A[row * n + c] * x[c];
        x[row] = s / A[row * n + row];
    }
    free(dead);
    return rank;
}

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
 * semi-definite system A x = b (eigenvalues below 1e-10 of the largest count
 * as zero). */
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
        if (!(lambda > 1e-10 * largest)) continue;
        double projection = 0.0;
        for (int i = 0; i < n; ++i) projection += v[i * n + k] * rhs[i];
        for (int i = 0; i < n; ++i) x[i] += v[i * n + k] * projection / lambda;
    }
}

gbnet_status gb_fit_normalization(gb_normalization *out, const gbnet_frame *frames, const int *idx, int n,
                                  const int *element_of_z, int n_elements) {
    memset(out, 0, sizeof *out);
    const int M = n_elements;
    double A[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS] = {0}, rhs[GBNET_MAX_ELEMENTS] = {0};
    double count[GBNET_MAX_ELEMENTS];
    /* energies are large (~1e3-1e5 eV) and nearly constant per atom: subtract
     * the mean per-atom energy first so the normal equations stay well scaled */
    double mean_per_atom = 0.0;
    int used = 0;
    for (int k = 0; k < n; ++k) {
        const gbnet_frame *f = &frames[idx[k]];
        if (!f->has_energy || f->n_atoms == 0) continue;
        mean_per_atom += f->energy / f->n_atoms;
        ++used;
    }
    if (used == 0) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "no training frame has an energy");
    mean_per_atom /= used;
    for (int k = 0; k < n; ++k) {
        const gbnet_frame *f = &frames[idx[k]];
        if (!f->has_energy || f->n_atoms == 0) continue;
        memset(count, 0, sizeof count);
        for (int i = 0; i < f->n_atoms; ++i) count[element_of_z[f->z[i]]] += 1.0;
        double y = f->energy - mean_per_atom * f->n_atoms;
        for (int a = 0; a < M; ++a) {
            rhs[a] += count[a] * y;
            for (int b = 0; b < M; ++b) A[a * M + b] += count[a] * count[b];
        }
    }
    /* x = e_ref - mean per atom. When the compositions leave some combination
     * of the references undetermined, the minimum-norm x: the references
     * closest to equal, which moves with the energy zero as it should. */
    double Acopy[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS], bcopy[GBNET_MAX_ELEMENTS], x[GBNET_MAX_ELEMENTS];
    memcpy(Acopy, A, sizeof A);
    memcpy(bcopy, rhs, sizeof rhs);
    out->rank = gb_solve_pivoting(x, Acopy, bcopy, M, 1e-10);
    if (out->rank < M) pseudo_inverse_solve(x, A, rhs, M);
    for (int a = 0; a < M; ++a) out->e_ref[a] = x[a] + mean_per_atom;
    /* residuals per atom: mean and standard deviation */
    double sum = 0.0, sum_sq = 0.0, f_sq = 0.0;
    long f_count = 0;
    for (int k = 0; k < n; ++k) {
        const gbnet_frame *f = &frames[idx[k]];
        if (f->forces)
            for (int c = 0; c < 3 * f->n_atoms; ++c) {
                f_sq += f->forces[c] * f->forces[c];
                ++f_count;
            }
        if (!f->has_energy || f->n_atoms == 0) continue;
        double r = f->energy;
        for (int i = 0; i < f->n_atoms; ++i) r -= out->e_ref[element_of_z[f->z[i]]];
        r /= f->n_atoms;
        sum += r;
        sum_sq += r * r;
    }
    out->n_frames = used;
    out->shift = sum / used;
    double var = sum_sq / used - out->shift * out->shift;
    out->scale = var > 0 ? sqrt(var) : 0.0;
    out->residual_rms = sqrt(sum_sq / used);
    out->force_rms = f_count ? sqrt(f_sq / f_count) : 0.0;
    return GBNET_OK;
}
