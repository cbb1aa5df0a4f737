/* One-sided Jacobi SVD: rotate pairs of columns of W (and of V = I) until all
 * columns are orthogonal; then the columns are sigma_k u_k. Columns are kept
 * as rows of a transposed copy so each rotation reads contiguous memory. */
#include "svd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"

static void rotate(double *a, double *b, double c, double s, int n) {
    for (int i = 0; i < n; ++i) {
        double x = a[i], y = b[i];
        a[i] = c * x - s * y;
        b[i] = s * x + c * y;
    }
}

static double dot(const double *a, const double *b, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

/* The decomposition for m >= n (each column can become orthogonal to the others). */
static int jacobi_tall(double *sigma, double *us, double *vt, const double *W, int m, int n) {
    double *at = gb_malloc((size_t)n * m * sizeof(double)); /* [n][m]: columns of W */
    double *v = gb_malloc((size_t)n * n * sizeof(double));  /* [n][n]: columns of V */
    int *order = gb_malloc((size_t)n * sizeof(int));
    double *norm = gb_malloc((size_t)n * sizeof(double));
    if (!at || !v || !order || !norm) {
        free(at), free(v), free(order), free(norm);
        return -1;
    }
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) at[(size_t)j * m + i] = W[(size_t)i * n + j];
    memset(v, 0, (size_t)n * n * sizeof(double));
    for (int j = 0; j < n; ++j) v[(size_t)j * n + j] = 1.0;
    int sweeps = 0, converged = 0;
    while (!converged && sweeps < 100) {
        ++sweeps;
        converged = 1;
        for (int p = 0; p < n - 1; ++p)
            for (int q = p + 1; q < n; ++q) {
                double *ap = at + (size_t)p * m, *aq = at + (size_t)q * m;
                double alpha = dot(ap, ap, m), beta = dot(aq, aq, m), gamma = dot(ap, aq, m);
                /* columns orthogonal to working precision (or one is zero): no rotation */
                if (fabs(gamma) <= 1e-15 * sqrt(alpha * beta) || gamma == 0.0) continue;
                converged = 0;
                double zeta = (beta - alpha) / (2 * gamma);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                double c = 1 / sqrt(1 + t * t), s = c * t;
                /* a_p' = c a_p - s a_q, a_q' = s a_p + c a_q makes a_p' . a_q' = 0 */
                rotate(ap, aq, c, s, m);
                rotate(v + (size_t)p * n, v + (size_t)q * n, c, s, n);
            }
    }
    if (!converged) {
        free(at), free(v), free(order), free(norm);
        return -1;
    }
    for (int j = 0; j < n; ++j) {
        norm[j] = sqrt(dot(at + (size_t)j * m, at + (size_t)j * m, m));
        order[j] = j;
    }
    /* descending, ties by index: insertion sort (n is small) */
    for (int i = 1; i < n; ++i) {
        int k = order[i], j = i - 1;
        while (j >= 0 && norm[order[j]] < norm[k]) {
            order[j + 1] = order[j];
            --j;
        }
        order[j + 1] = k;
    }
    for (int k = 0; k < n; ++k) {
        int j = order[k];
        sigma[k] = norm[j];
        memcpy(us + (size_t)k * m, at + (size_t)j * m, (size_t)m * sizeof(double));
        memcpy(vt + (size_t)k * n, v + (size_t)j * n, (size_t)n * sizeof(double));
    }
    free(at), free(v), free(order), free(norm);
    return sweeps;
}

/* Wide matrices through the transpose: W^T = sum sigma u' v'^T gives
 * W = sum sigma v' u'^T; with more columns than rows the extra columns would
 * only be rotated towards zero without ever meeting the test. */
int gb_svd_jacobi(double *sigma, double *us, double *vt, const double *W, int m, int n) {
    if (m >= n) return jacobi_tall(sigma, us, vt, W, m, n);
    double *wt = gb_malloc((size_t)n * m * sizeof(double));   /* [n][m] */
    double *us2 = gb_malloc((size_t)m * n * sizeof(double));  /* [m][n]: sigma_k u'_k */
    double *vt2 = gb_malloc((size_t)m * m * sizeof(double));  /* [m][m]: v'_k */
    int sweeps = wt && us2 && vt2 ? 0 : -1;
    if (!sweeps) {
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) wt[(size_t)j * m + i] = W[(size_t)i * n + j];
        sweeps = jacobi_tall(sigma, us2, vt2, wt, n, m);
    }
    if (sweeps >= 0) {
        memset(us, 0, (size_t)n * m * sizeof(double));
        memset(vt, 0, (size_t)n * n * sizeof(double));
        for (int k = 0; k < m; ++k) {
            double inv = sigma[k] > 0 ? 1.0 / sigma[k] : 0.0;
            for (int i = 0; i < m; ++i) us[(size_t)k * m + i] = sigma[k] * vt2[(size_t)k * m + i];
            for (int j = 0; j < n; ++j) vt[(size_t)k * n + j] = us2[(size_t)k * n + j] * inv;
        }
        for (int k = m; k < n; ++k) sigma[k] = 0.0; /* rows k >= m of us, vt left zero: rank <= m */
    }
    free(wt), free(us2), free(vt2);
    return sweeps;
}
