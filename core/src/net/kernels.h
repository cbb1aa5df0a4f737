/* Kernels of the batched network: plain functions over contiguous buffers,
 * outputs first, then inputs, then sizes. Compiled for float (_f32) and
 * double (_f64) from kernels_impl.h. "nt" is the OpenMP thread count.
 * Every kernel has a plain reference twin where it is optimized (the GEMM:
 * OpenBLAS vs gb_gemm_ref) and a test against it (tests/test_kernels.cpp). */
#ifndef GB_KERNELS_H
#define GB_KERNELS_H

#include <float.h>
#include <math.h>
#include <stddef.h>

/* A double in the working precision, subnormal results flushed to 0: weights,
 * tables and seeds enter the kernels as normal numbers or zero (subnormals
 * take a ~100x slower path on Intel cores; see exp_cut in kernels_impl.h). */
static inline float gb_normal_f32(double v) {
    float f = (float)v;
    return fabsf(f) < FLT_MIN ? 0.0f : f;
}
static inline double gb_normal_f64(double v) { return fabs(v) < DBL_MIN ? 0.0 : v; }

/* C[M][N] = alpha op(A) op(B) + beta C; op = transpose if trans != 0; row-major. */
void gb_gemm_f32(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc);
void gb_gemm_f64(int transA, int transB, int M, int N, int K, double alpha, const double *A, int lda, const double *B,
                 int ldb, double beta, double *C, int ldc);
void gb_gemm_ref_f32(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc);
void gb_gemm_ref_f64(int transA, int transB, int M, int N, int K, double alpha, const double *A, int lda,
                     const double *B, int ldb, double beta, double *C, int ldc);
/* Y[rows][out] = X[rows][in] W[out][in]^T (+ bias[out] on rows < bias_rows) */
void gb_linear_f32(float *Y, const float *X, const float *W, const float *bias, int rows, int bias_rows, int in,
                   int out);
void gb_linear_f64(double *Y, const double *X, const double *W, const double *bias, int rows, int bias_rows, int in,
                   int out);
/* Y[rows][out] += X[rows][in] W[out][in]^T (+ bias on rows < bias_rows) */
void gb_linear_acc_f32(float *Y, const float *X, const float *W, const float *bias, int rows, int bias_rows, int in,
                       int out);
void gb_linear_acc_f64(double *Y, const double *X, const double *W, const double *bias, int rows, int bias_rows, int in,
                       int out);
/* C[M][N] += A[rows][M]^T B[rows][N]   (weight gradients) */
void gb_gemm_tn_acc_f32(float *C, const float *A, const float *B, int rows, int M, int N);
void gb_gemm_tn_acc_f64(double *C, const double *A, const double *B, int rows, int M, int N);
/* C[M][N] = A[M][K] B[K][N]   (input gradients through W[out][in]) */
void gb_gemm_nn_f32(float *C, const float *A, const float *B, int M, int K, int N);
void gb_gemm_nn_f64(double *C, const double *A, const double *B, int M, int K, int N);
void gb_gemm_nn_acc_f32(float *C, const float *A, const float *B, int M, int K, int N);
void gb_gemm_nn_acc_f64(double *C, const double *A, const double *B, int M, int K, int N);
/* out[N] += column sums of A[rows][N], rows in order (fixed reduction order) */
void gb_colsum_acc_f32(float *out, const float *A, int rows, int N);
void gb_colsum_acc_f64(double *out, const double *A, int rows, int N);
float gb_dot_f32(const float *a, const float *b, int n);
double gb_dot_f64(const double *a, const double *b, int n);
float gb_sigmoid_f32(float x);
double gb_sigmoid_f64(double x);
float gb_ssp_f32(float x);
double gb_ssp_f64(double x);
/* fc(d) and dfc/dd, cosine cutoff */
void gb_cosine_cutoff_f32(float *fc, float *dfc, float d, float rc);
void gb_cosine_cutoff_f64(double *fc, double *dfc, double d, double rc);
/* g[K] and dg/dd [K], Gaussians centred at k*spacing with width spacing */
void gb_gaussian_rbf_f32(float *g, float *dg, float d, float spacing, float inv_w2, int K);
void gb_gaussian_rbf_f64(double *g, double *dg, double d, double spacing, double inv_w2, int K);
/* y[n] = ssp(a) (if y), ydot[n] = sigmoid(a) adot (if ydot) */
void gb_ssp_dual_f32(float *y, float *ydot, const float *a, const float *adot, size_t n, int nt);
void gb_ssp_dual_f64(double *y, double *ydot, const double *a, const double *adot, size_t n, int nt);
/* out[n] = ybar sigmoid(a); may alias ybar */
void gb_ssp_backward_f32(float *out, const float *ybar, const float *a, size_t n, int nt);
void gb_ssp_backward_f64(double *out, const double *ybar, const double *a, size_t n, int nt);
/* reverse of (y, ydot) = (ssp(a), sig(a) adot): abar = ybar sig + ydotbar sig' adot,
 * adotbar = ydotbar sig; outputs may alias the ybar inputs */
void gb_ssp_dual_backward_f32(float *abar, float *adotbar, const float *ybar, const float *ydotbar, const float *a,
                              const float *adot, size_t n, int nt);
void gb_ssp_dual_backward_f64(double *abar, double *adotbar, const double *ybar, const double *ydotbar, const double *a,
                              const double *adot, size_t n, int nt);
/* m[i][F] = sum_{e in out(i)} h[nb(e)] * W[wrow(e)] for i < NC (segmented sum, CSR by center) */
void gb_cfconv_f32(float *m, const float *h, const float *W, const int *wrow, const int *offsets, const int *neighbor,
                   int NC, int F, int nt);
void gb_cfconv_f64(double *m, const double *h, const double *W, const int *wrow, const int *offsets,
                   const int *neighbor, int NC, int F, int nt);
/* mdot[i] = sum_e hdot[nb] W[wrow] + h[nb] dW[wrow] ddot[e] */
void gb_cfconv_tangent_f32(float *mdot, const float *h, const float *hdot, const float *W, const float *dW,
                           const int *wrow, const float *ddot, const int *offsets, const int *neighbor, int NC, int F,
                           int nt);
void gb_cfconv_tangent_f64(double *mdot, const double *h, const double *hdot, const double *W, const double *dW,
                           const int *wrow, const double *ddot, const int *offsets, const int *neighbor, int NC, int F,
                           int nt);
/* hbar[j][F] = sum_{e in in(j)} mbar[center(e)] * W[wrow(e)], all N atoms */
void gb_cfconv_backward_f32(float *hbar, const float *mbar, const float *W, const int *wrow, const int *center,
                            const int *in_offsets, const int *in_edges, int N, int F, int nt);
void gb_cfconv_backward_f64(double *hbar, const double *mbar, const double *W, const int *wrow, const int *center,
                            const int *in_offsets, const int *in_edges, int N, int F, int nt);
/* dual: hbar_j = sum mbar_c W + mdotbar_c dW ddot ; hdotbar_j = sum mdotbar_c W */
void gb_cfconv_backward_dual_f32(float *hbar, float *hdotbar, const float *mbar, const float *mdotbar, const float *W,
                                 const float *dW, const int *wrow, const float *ddot, const int *center,
                                 const int *in_offsets, const int *in_edges, int N, int F, int nt);
void gb_cfconv_backward_dual_f64(double *hbar, double *hdotbar, const double *mbar, const double *mdotbar,
                                 const double *W, const double *dW, const int *wrow, const double *ddot,
                                 const int *center, const int *in_offsets, const int *in_edges, int N, int F, int nt);
/* per distinct length u, over its edges e: Wbar[u] = sum mbar_c h_j (+ mdotbar_c hdot_j);
 * dWbar[u] = sum ddot_e mdotbar_c h_j (untouched without the dual part) */
void gb_filter_grad_dual_f32(float *Wbar, float *dWbar, const float *mbar, const float *mdotbar, const float *h,
                             const float *hdot, const float *ddot, const int *center, const int *neighbor,
                             const int *u_offsets, const int *u_edges, int U, int F, int nt);
void gb_filter_grad_dual_f64(double *Wbar, double *dWbar, const double *mbar, const double *mdotbar, const double *h,
                             const double *hdot, const double *ddot, const int *center, const int *neighbor,
                             const int *u_offsets, const int *u_edges, int U, int F, int nt);
/* dbar[e] += sum_f mbar[c][f] h[j][f] dW[wrow(e)][f] */
void gb_edge_dbar_acc_f32(double *dbar, const float *mbar, const float *h, const float *dW, const int *wrow,
                          const int *center, const int *neighbor, int E, int F, int nt);
void gb_edge_dbar_acc_f64(double *dbar, const double *mbar, const double *h, const double *dW, const int *wrow,
                          const int *center, const int *neighbor, int E, int F, int nt);

/* A tabulated filter of one block in evaluation precision: on each grid cell
 * [k h, (k+1) h] the cubic Hermite interpolant of the sampled values and
 * d-derivatives, stored in power form W(u) = A0 + u A1 + u^2 A2 + u^3 A3
 * (u = d/h - k) so that value and derivative cost 3 + 2 FMAs per feature. */
typedef struct {
    const float *coef; /* [n_points-1][4][F] */
    int n_points;
    float step, cutoff;
} gb_table_f32;
typedef struct {
    const double *coef; /* [n_points-1][4][F] */
    int n_points;
    double step, cutoff;
} gb_table_f64;
/* coef [P-1][4][F] from values [P][F] and derivs [P][F] on a grid of spacing step */
void gb_table_build_f32(float *coef, const double *values, const double *derivs, int P, int F, double step);
void gb_table_build_f64(double *coef, const double *values, const double *derivs, int P, int F, double step);
/* W[F] and (if dW) dW/dd [F] at distance d (zero at or beyond the cutoff) */
void gb_table_eval_f32(float *W, float *dW, const gb_table_f32 *tab, float d, int F);
void gb_table_eval_f64(double *W, double *dW, const gb_table_f64 *tab, double d, int F);
/* Fused backward of cfconv, exact filter: per atom j over the edges pointing at it (the
 * q-th in-edge has center in_center[q] and filter row in_wrow[q], stored in in-edge order
 * so these reads are sequential): hbar[j] = sum mbar[c] W[row] and
 * dbar_in[q] += sum_f mbar[c] h[j] dW[row] (may be NULL)
 * (reference twin: gb_cfconv_backward + gb_edge_dbar_acc). */
void gb_cfconv_backward_fused_f32(float *hbar, double *dbar_in, const float *mbar, const float *h, const float *W,
                                  const float *dW, const int *in_wrow, const int *in_center, const int *in_offsets,
                                  int N, int F, int nt);
void gb_cfconv_backward_fused_f64(double *hbar, double *dbar_in, const double *mbar, const double *h, const double *W,
                                  const double *dW, const int *in_wrow, const int *in_center, const int *in_offsets,
                                  int N, int F, int nt);
/* The table cell of each length d [n] (-1 at or beyond the cutoff: the filter
 * is zero there) and the position u [n] in it, as gb_table_eval finds them:
 * computed once per graph and read by the inline-table kernels of every
 * block (and every committee member with the same grid). */
void gb_table_cells_f32(int *cell, float *u, const gb_table_f32 *tab, const float *d, int n, int nt);
void gb_table_cells_f64(int *cell, double *u, const gb_table_f64 *tab, const double *d, int n, int nt);
/* cfconv with the filter interpolated inline from the table (no edge x F storage);
 * edge e lies in cell[e] at u[e] (gb_table_cells; reference: gb_table_eval + gb_cfconv). */
void gb_cfconv_table_f32(float *m, const float *h, const gb_table_f32 *tab, const int *cell, const float *u,
                         const int *offsets, const int *neighbor, int NC, int F, int nt);
void gb_cfconv_table_f64(double *m, const double *h, const gb_table_f64 *tab, const int *cell, const double *u,
                         const int *offsets, const int *neighbor, int NC, int F, int nt);
/* the same as the fused backward, the filter from the table in in_cell[q] at in_u[q]
 * (the q-th in-edge's cell and position, in in-edge order) */
void gb_cfconv_backward_table_f32(float *hbar, double *dbar_in, const float *mbar, const float *h,
                                  const gb_table_f32 *tab, const int *in_cell, const float *in_u, const int *in_center,
                                  const int *in_offsets, int N, int F, int nt);
void gb_cfconv_backward_table_f64(double *hbar, double *dbar_in, const double *mbar, const double *h,
                                  const gb_table_f64 *tab, const int *in_cell, const double *in_u,
                                  const int *in_center, const int *in_offsets, int N, int F, int nt);

/* Rows [*begin, *end) of the calling OpenMP thread when rows 0..n-1 of a CSR
 * list (offsets[n+1]) are split into contiguous parts of about equal
 * rows + edges. Static schedules over rows leave threads idle where rows
 * differ in edge count (ghost atoms have few in-edges, many none); each row
 * still has one owner, so results do not depend on the split. */
void gb_thread_rows(const int *offsets, int n, int *begin, int *end);
/* The same split for part `part` of `parts` (what gb_thread_rows uses). */
void gb_rows_part(const int *offsets, int n, int part, int parts, int *begin, int *end);

/* Keeps BLAS single-threaded (gb_gemm parallelises itself). */
void gb_blas_set_threads(int n);
/* Threads gb_gemm uses on the calling thread (thread-local). */
void gb_gemm_set_threads(int n);
int gb_gemm_threads(void);

#endif
