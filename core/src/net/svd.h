/* Singular value decomposition for rank reduction (gbnet compress --rank):
 * one-sided Jacobi (Hestenes) in double, no LAPACK. Sizes are those of dense
 * layers (<= a few thousand), run once per layer. */
#ifndef GB_SVD_H
#define GB_SVD_H

/* W [m][n] = sum_k sigma_k u_k v_k^T over k < n, sigma [n] descending (>= 0).
 * us [n][m]: row k is sigma_k u_k; vt [n][n]: row k is v_k (orthonormal).
 * For n > m only the first m terms exist: sigma, us and vt rows k >= m are 0.
 * Returns the number of sweeps, or -1 without convergence in 100 sweeps or
 * without memory (nothing written then). */
int gb_svd_jacobi(double *sigma, double *us, double *vt, const double *W, int m, int n);

#endif
