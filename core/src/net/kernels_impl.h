/* Kernel bodies for one real type; included by kernels.c with REAL, GB_SUFFIX,
 * GB_FAST_FLOAT, BLAS_GEMM (cblas_sgemm / cblas_dgemm), EXP, GB_EXP_CUT, LOG1P,
 * FABS, COS and SIN defined; undefines them all at its end. See kernels.h. */

#include "precision.h"

/* defines gb_gemm_ref_f32 and gb_gemm_ref_f64 */
void GB_T(gb_gemm_ref)(int transA, int transB, int M, int N, int K, REAL alpha, const REAL *A, int lda,
                    const REAL *B, int ldb, REAL beta, REAL *C, int ldc) {
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            REAL acc = 0;
            for (int k = 0; k < K; ++k) {
                REAL a = transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                REAL b = transB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += a * b;
            }
            REAL *c = &C[(size_t)i * ldc + j];
            *c = alpha * acc + (beta == 0 ? 0 : beta * *c);
        }
}

/* The GEMM used everywhere. C is computed in fixed blocks of GB_GEMM_ROWS
 * rows, each by one single-threaded BLAS call, the blocks shared among
 * OpenMP threads: every element of C then sees the same BLAS call shape
 * whatever the thread count, so 1 and N threads give bitwise the same result. */
/* defines gb_gemm_f32 and gb_gemm_f64 */
void GB_T(gb_gemm)(int transA, int transB, int M, int N, int K, REAL alpha, const REAL *A, int lda, const REAL *B,
                int ldb, REAL beta, REAL *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    gb_blas_single_thread_once();
    int blocks = (M + GB_GEMM_ROWS - 1) / GB_GEMM_ROWS;
    int nt = gb_gemm_threads();
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (blocks > 1 && nt > 1)
    for (int blk = 0; blk < blocks; ++blk) {
        int r0 = blk * GB_GEMM_ROWS, rows = M - r0 < GB_GEMM_ROWS ? M - r0 : GB_GEMM_ROWS;
        const REAL *Ab = transA ? A + r0 : A + (size_t)r0 * lda;
        REAL *Cb = C + (size_t)r0 * ldc;
#ifdef GBNET_HAVE_BLAS
        BLAS_GEMM(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, rows, N, K,
                  alpha, Ab, lda, B, ldb, beta, Cb, ldc);
#else
        GB_T(gb_gemm_ref)(transA, transB, rows, N, K, alpha, Ab, lda, B, ldb, beta, Cb, ldc);
#endif
    }
}

static void GB_T(add_bias)(REAL *Y, const REAL *bias, int rows, int out) {
    if (!bias) return;
    for (int i = 0; i < rows; ++i) {
        REAL *y = Y + (size_t)i * out;
        for (int o = 0; o < out; ++o) y[o] += bias[o];
    }
}

/* defines gb_linear_f32 and gb_linear_f64 */
void GB_T(gb_linear)(REAL *Y, const REAL *X, const REAL *W, const REAL *bias, int rows, int bias_rows, int in, int out) {
    GB_T(gb_gemm)(0, 1, rows, out, in, 1, X, in, W, in, 0, Y, out);
    GB_T(add_bias)(Y, bias, bias_rows, out);
}

/* defines gb_linear_acc_f32 and gb_linear_acc_f64 */
void GB_T(gb_linear_acc)(REAL *Y, const REAL *X, const REAL *W, const REAL *bias, int rows, int bias_rows, int in,
                      int out) {
    GB_T(gb_gemm)(0, 1, rows, out, in, 1, X, in, W, in, 1, Y, out);
    GB_T(add_bias)(Y, bias, bias_rows, out);
}

/* defines gb_gemm_tn_acc_f32 and gb_gemm_tn_acc_f64 */
void GB_T(gb_gemm_tn_acc)(REAL *C, const REAL *A, const REAL *B, int rows, int M, int N) {
    GB_T(gb_gemm)(1, 0, M, N, rows, 1, A, M, B, N, 1, C, N);
}

/* defines gb_gemm_nn_f32 and gb_gemm_nn_f64 */
void GB_T(gb_gemm_nn)(REAL *C, const REAL *A, const REAL *B, int M, int K, int N) {
    GB_T(gb_gemm)(0, 0, M, N, K, 1, A, K, B, N, 0, C, N);
}

/* defines gb_gemm_nn_acc_f32 and gb_gemm_nn_acc_f64 */
void GB_T(gb_gemm_nn_acc)(REAL *C, const REAL *A, const REAL *B, int M, int K, int N) {
    GB_T(gb_gemm)(0, 0, M, N, K, 1, A, K, B, N, 1, C, N);
}

/* defines gb_colsum_acc_f32 and gb_colsum_acc_f64 */
void GB_T(gb_colsum_acc)(REAL *out, const REAL *A, int rows, int N) {
    for (int i = 0; i < rows; ++i) {
        const REAL *a = A + (size_t)i * N;
        for (int j = 0; j < N; ++j) out[j] += a[j];
    }
}

/* defines gb_dot_f32 and gb_dot_f64 */
REAL GB_T(gb_dot)(const REAL *a, const REAL *b, int n) {
    REAL s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

/* e^x for x <= 0, exactly 0 below -GB_EXP_CUT. Far below the type's rounding
 * (float: e^-40 = 4e-18, double: e^-200 = 1e-87) yet far above its subnormal
 * range, so products of it with the network's values stay normal numbers:
 * Intel cores run every operation on a subnormal through a microcode path
 * about 100x slower. The derivatives the kernels form from it (sigmoid,
 * rbf slope) are then exactly 0 too, the derivatives of the computed value. */
static inline REAL GB_T(exp_cut)(REAL x) { return x < -GB_EXP_CUT ? 0 : EXP(x); }

/* defines gb_sigmoid_f32 and gb_sigmoid_f64 */
REAL GB_T(gb_sigmoid)(REAL x) {
    if (x >= 0) return 1 / (1 + GB_T(exp_cut)(-x));
    REAL z = GB_T(exp_cut)(x);
    return z / (1 + z);
}

/* ln(1 + e^x) - ln 2, without overflow for large |x|. */
/* defines gb_ssp_f32 and gb_ssp_f64 */
REAL GB_T(gb_ssp)(REAL x) { return (x > 0 ? x : 0) + LOG1P(GB_T(exp_cut)(-FABS(x))) - (REAL)0.69314718055994530942; }

/* defines gb_cosine_cutoff_f32 and gb_cosine_cutoff_f64 */
void GB_T(gb_cosine_cutoff)(REAL *fc, REAL *dfc, REAL d, REAL rc) {
    if (d < rc) {
        REAL a = (REAL)3.14159265358979323846 / rc;
        *fc = (REAL)0.5 * (COS(a * d) + 1);
        *dfc = -(REAL)0.5 * a * SIN(a * d);
    } else {
        *fc = 0;
        *dfc = 0;
    }
}



/* exp(x) for x <= 0 and ssp/sigmoid from it, written without branches so
 * the compiler vectorizes the loops (float: polynomial exp with range
 * reduction; double: libm, since double precision is for verification).
 * Exactly 0 below -GB_EXP_CUT, as exp_cut. */
static inline REAL GB_T(exp_nonpos)(REAL x) {
#if GB_FAST_FLOAT
    float xc = x >= -GB_EXP_CUT ? x : -GB_EXP_CUT; /* keeps the exponent bits below valid (NaN too) */
    float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    __builtin_memcpy(&scale, &bits, sizeof scale);
    return x < -GB_EXP_CUT ? 0.0f : x == x ? p * scale : x; /* NaN stays NaN */
#else
    return GB_T(exp_cut)(x);
#endif
}

/* log(1 + t) for t in [0, 1]: 2 atanh(t / (2 + t)) as an odd series. */
static inline REAL GB_T(log1p_unit)(REAL t) {
#if GB_FAST_FLOAT
    float y = t / (2.0f + t), y2 = y * y;
    float q = 1.0f / 13;
    q = q * y2 + 1.0f / 11;
    q = q * y2 + 1.0f / 9;
    q = q * y2 + 1.0f / 7;
    q = q * y2 + 1.0f / 5;
    q = q * y2 + 1.0f / 3;
    q = q * y2 + 1.0f;
    return 2.0f * y * q;
#else
    return LOG1P(t);
#endif
}

/* defines gb_gaussian_rbf_f32 and gb_gaussian_rbf_f64 */
void GB_T(gb_gaussian_rbf)(REAL *restrict g, REAL *restrict dg, REAL d, REAL spacing, REAL inv_w2, int K) {
    for (int k = 0; k < K; ++k) {
        REAL diff = d - (REAL)k * spacing;
        g[k] = GB_T(exp_nonpos)(-(REAL)0.5 * diff * diff * inv_w2);
        dg[k] = -diff * inv_w2 * g[k];
    }
}

/* The element loops are plain restrict-qualified loops so the compiler
 * vectorizes them; the parallel wrappers split them into fixed chunks. */
#define GB_ELEMENT_CHUNK 16384

static void GB_T(ssp_both)(REAL *restrict y, REAL *restrict ydot, const REAL *restrict a, const REAL *restrict adot,
                        size_t n) {
    const REAL ln2 = (REAL)0.69314718055994530942;
    for (size_t i = 0; i < n; ++i) {
        REAL x = a[i], t = GB_T(exp_nonpos)(-FABS(x)), inv = 1 / (1 + t);
        y[i] = (REAL)0.5 * (x + FABS(x)) + GB_T(log1p_unit)(t) - ln2;
        ydot[i] = (x >= 0 ? inv : t * inv) * adot[i];
    }
}

static void GB_T(ssp_value)(REAL *restrict y, const REAL *restrict a, size_t n) {
    const REAL ln2 = (REAL)0.69314718055994530942;
    for (size_t i = 0; i < n; ++i) {
        REAL x = a[i], t = GB_T(exp_nonpos)(-FABS(x));
        y[i] = (REAL)0.5 * (x + FABS(x)) + GB_T(log1p_unit)(t) - ln2;
    }
}

static void GB_T(ssp_tangent)(REAL *restrict ydot, const REAL *restrict a, const REAL *restrict adot, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        REAL x = a[i], t = GB_T(exp_nonpos)(-FABS(x)), inv = 1 / (1 + t);
        ydot[i] = (x >= 0 ? inv : t * inv) * adot[i];
    }
}

/* out may alias ybar: each element is read before it is written */
static void GB_T(ssp_back)(REAL *out, const REAL *ybar, const REAL *restrict a, size_t n) {
#pragma GCC ivdep
    for (size_t i = 0; i < n; ++i) {
        REAL x = a[i], t = GB_T(exp_nonpos)(-FABS(x)), inv = 1 / (1 + t);
        out[i] = ybar[i] * (x >= 0 ? inv : t * inv);
    }
}

static void GB_T(ssp_dual_back)(REAL *abar, REAL *adotbar, const REAL *ybar, const REAL *ydotbar,
                             const REAL *restrict a, const REAL *restrict adot, size_t n) {
#pragma GCC ivdep
    for (size_t i = 0; i < n; ++i) {
        REAL x = a[i], t = GB_T(exp_nonpos)(-FABS(x)), inv = 1 / (1 + t);
        REAL sg = x >= 0 ? inv : t * inv, yb = ybar[i], ydb = ydotbar[i];
        abar[i] = yb * sg + ydb * sg * (1 - sg) * adot[i];
        adotbar[i] = ydb * sg;
    }
}

/* defines gb_ssp_dual_f32 and gb_ssp_dual_f64 */
void GB_T(gb_ssp_dual)(REAL *y, REAL *ydot, const REAL *a, const REAL *adot, size_t n, int nt) {
    size_t chunks = (n + GB_ELEMENT_CHUNK - 1) / GB_ELEMENT_CHUNK;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1 && nt > 1)
    for (size_t c = 0; c < chunks; ++c) {
        size_t i0 = c * GB_ELEMENT_CHUNK, len = n - i0 < GB_ELEMENT_CHUNK ? n - i0 : GB_ELEMENT_CHUNK;
        if (y && ydot) GB_T(ssp_both)(y + i0, ydot + i0, a + i0, adot + i0, len);
        else if (y) GB_T(ssp_value)(y + i0, a + i0, len);
        else if (ydot) GB_T(ssp_tangent)(ydot + i0, a + i0, adot + i0, len);
    }
}

/* defines gb_ssp_backward_f32 and gb_ssp_backward_f64 */
void GB_T(gb_ssp_backward)(REAL *out, const REAL *ybar, const REAL *a, size_t n, int nt) {
    size_t chunks = (n + GB_ELEMENT_CHUNK - 1) / GB_ELEMENT_CHUNK;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1 && nt > 1)
    for (size_t c = 0; c < chunks; ++c) {
        size_t i0 = c * GB_ELEMENT_CHUNK, len = n - i0 < GB_ELEMENT_CHUNK ? n - i0 : GB_ELEMENT_CHUNK;
        GB_T(ssp_back)(out + i0, ybar + i0, a + i0, len);
    }
}

/* defines gb_ssp_dual_backward_f32 and gb_ssp_dual_backward_f64 */
void GB_T(gb_ssp_dual_backward)(REAL *abar, REAL *adotbar, const REAL *ybar, const REAL *ydotbar, const REAL *a,
                             const REAL *adot, size_t n, int nt) {
    size_t chunks = (n + GB_ELEMENT_CHUNK - 1) / GB_ELEMENT_CHUNK;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1 && nt > 1)
    for (size_t c = 0; c < chunks; ++c) {
        size_t i0 = c * GB_ELEMENT_CHUNK, len = n - i0 < GB_ELEMENT_CHUNK ? n - i0 : GB_ELEMENT_CHUNK;
        GB_T(ssp_dual_back)(abar + i0, adotbar + i0, ybar + i0, ydotbar + i0, a + i0, adot + i0, len);
    }
}

/* defines gb_cfconv_f32 and gb_cfconv_f64 */
void GB_T(gb_cfconv)(REAL *m, const REAL *h, const REAL *W, const int *wrow, const int *offsets, const int *neighbor,
                  int NC, int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (NC > 64)
    {
        int i0, i1;
        gb_thread_rows(offsets, NC, &i0, &i1);
        for (int i = i0; i < i1; ++i) {
            REAL *mi = m + (size_t)i * F;
            for (int f = 0; f < F; ++f) mi[f] = 0;
            for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
                const REAL *hj = h + (size_t)neighbor[e] * F, *we = W + (size_t)wrow[e] * F;
                for (int f = 0; f < F; ++f) mi[f] += hj[f] * we[f];
            }
        }
    }
}

/* defines gb_cfconv_tangent_f32 and gb_cfconv_tangent_f64 */
void GB_T(gb_cfconv_tangent)(REAL *mdot, const REAL *h, const REAL *hdot, const REAL *W, const REAL *dW, const int *wrow,
                          const REAL *ddot, const int *offsets, const int *neighbor, int NC, int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (NC > 64)
    {
        int i0, i1;
        gb_thread_rows(offsets, NC, &i0, &i1);
        for (int i = i0; i < i1; ++i) {
            REAL *mi = mdot + (size_t)i * F;
            for (int f = 0; f < F; ++f) mi[f] = 0;
            for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
                size_t j = (size_t)neighbor[e] * F, o = (size_t)wrow[e] * F;
                REAL dd = ddot[e];
                for (int f = 0; f < F; ++f) mi[f] += hdot[j + f] * W[o + f] + h[j + f] * dW[o + f] * dd;
            }
        }
    }
}

/* defines gb_cfconv_backward_f32 and gb_cfconv_backward_f64 */
void GB_T(gb_cfconv_backward)(REAL *hbar, const REAL *mbar, const REAL *W, const int *wrow, const int *center,
                           const int *in_offsets, const int *in_edges, int N, int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (N > 64)
    {
        int j0, j1;
        gb_thread_rows(in_offsets, N, &j0, &j1);
        for (int j = j0; j < j1; ++j) {
            REAL *hb = hbar + (size_t)j * F;
            for (int f = 0; f < F; ++f) hb[f] = 0;
            for (int k = in_offsets[j]; k < in_offsets[j + 1]; ++k) {
                int e = in_edges[k];
                const REAL *mb = mbar + (size_t)center[e] * F, *we = W + (size_t)wrow[e] * F;
                for (int f = 0; f < F; ++f) hb[f] += mb[f] * we[f];
            }
        }
    }
}

/* defines gb_cfconv_backward_dual_f32 and gb_cfconv_backward_dual_f64 */
void GB_T(gb_cfconv_backward_dual)(REAL *hbar, REAL *hdotbar, const REAL *mbar, const REAL *mdotbar, const REAL *W,
                                const REAL *dW, const int *wrow, const REAL *ddot, const int *center,
                                const int *in_offsets, const int *in_edges, int N, int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (N > 64)
    {
        int j0, j1;
        gb_thread_rows(in_offsets, N, &j0, &j1);
        for (int j = j0; j < j1; ++j) {
            REAL *hb = hbar + (size_t)j * F, *hdb = hdotbar + (size_t)j * F;
            for (int f = 0; f < F; ++f) hb[f] = hdb[f] = 0;
            for (int k = in_offsets[j]; k < in_offsets[j + 1]; ++k) {
                int e = in_edges[k];
                size_t c = (size_t)center[e] * F, o = (size_t)wrow[e] * F;
                REAL dd = ddot[e];
                for (int f = 0; f < F; ++f) {
                    hb[f] += mbar[c + f] * W[o + f] + mdotbar[c + f] * dW[o + f] * dd;
                    hdb[f] += mdotbar[c + f] * W[o + f];
                }
            }
        }
    }
}

/* defines gb_filter_grad_dual_f32 and gb_filter_grad_dual_f64 */
void GB_T(gb_filter_grad_dual)(REAL *Wbar, REAL *dWbar, const REAL *mbar, const REAL *mdotbar, const REAL *h,
                            const REAL *hdot, const REAL *ddot, const int *center, const int *neighbor,
                            const int *u_offsets, const int *u_edges, int U, int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (U > 64)
    {
        int u0, u1;
        gb_thread_rows(u_offsets, U, &u0, &u1);
        for (int u = u0; u < u1; ++u) {
            REAL *wb = Wbar + (size_t)u * F, *dwb = dWbar + (size_t)u * F;
            for (int f = 0; f < F; ++f) wb[f] = dwb[f] = 0;
            for (int k = u_offsets[u]; k < u_offsets[u + 1]; ++k) {
                int e = u_edges[k];
                size_t c = (size_t)center[e] * F, j = (size_t)neighbor[e] * F;
                for (int f = 0; f < F; ++f) {
                    if (mdotbar) {
                        wb[f] += mbar[c + f] * h[j + f] + mdotbar[c + f] * hdot[j + f];
                        dwb[f] += ddot[e] * mdotbar[c + f] * h[j + f];
                    } else {
                        wb[f] += mbar[c + f] * h[j + f];
                    }
                }
            }
        }
    }
}

/* defines gb_edge_dbar_acc_f32 and gb_edge_dbar_acc_f64 */
void GB_T(gb_edge_dbar_acc)(double *dbar, const REAL *mbar, const REAL *h, const REAL *dW, const int *wrow,
                         const int *center, const int *neighbor, int E, int F, int nt) {
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (E > 1024)
    for (int e = 0; e < E; ++e) {
        size_t c = (size_t)center[e] * F, j = (size_t)neighbor[e] * F, o = (size_t)wrow[e] * F;
        REAL s = 0;
#pragma omp simd reduction(+ : s)
        for (int f = 0; f < F; ++f) s += mbar[c + f] * h[j + f] * dW[o + f];
        dbar[e] += (double)s;
    }
}

/* ------------------------------------------------------------ tables and fused kernels */

/* defines gb_table_build_f32 and gb_table_build_f64 */
void GB_T(gb_table_build)(REAL *coef, const double *values, const double *derivs, int P, int F, double step) {
    for (int k = 0; k + 1 < P; ++k) {
        const double *v0 = values + (size_t)k * F, *v1 = v0 + F, *d0 = derivs + (size_t)k * F, *d1 = d0 + F;
        REAL *a = coef + (size_t)k * 4 * F;
        for (int f = 0; f < F; ++f) {
            double m0 = step * d0[f], m1 = step * d1[f];
            a[f] = GB_T(gb_normal)(v0[f]);
            a[F + f] = GB_T(gb_normal)(m0);
            a[2 * F + f] = GB_T(gb_normal)(-3 * v0[f] - 2 * m0 + 3 * v1[f] - m1);
            a[3 * F + f] = GB_T(gb_normal)(2 * v0[f] + m0 - 2 * v1[f] + m1);
        }
    }
}

/* Cell of distance d (returns -1 at or beyond the cutoff: the filter is zero
 * there) and the powers u, u^2, u^3 of the position in the cell. */
static inline int GB_T(table_cell)(const GB_T(gb_table) *tab, REAL d, REAL *u1, REAL *u2, REAL *u3) {
    if (!(d < tab->cutoff)) return -1;
    REAL x = d / tab->step;
    int k = (int)x;
    if (k > tab->n_points - 2) k = tab->n_points - 2;
    if (k < 0) k = 0;
    REAL u = x - (REAL)k;
    *u1 = u;
    *u2 = u * u;
    *u3 = u * u * u;
    return k;
}

/* defines gb_table_eval_f32 and gb_table_eval_f64 */
void GB_T(gb_table_eval)(REAL *W, REAL *dW, const GB_T(gb_table) *tab, REAL d, int F) {
    REAL u, u2, u3;
    int k = GB_T(table_cell)(tab, d, &u, &u2, &u3);
    if (k < 0) {
        for (int f = 0; f < F; ++f) {
            W[f] = 0;
            if (dW) dW[f] = 0;
        }
        return;
    }
    const REAL *a = tab->coef + (size_t)k * 4 * F;
    for (int f = 0; f < F; ++f) W[f] = a[f] + u * a[F + f] + u2 * a[2 * F + f] + u3 * a[3 * F + f];
    if (dW) {
        REAL inv_h = 1 / tab->step, c1 = inv_h, c2 = 2 * u * inv_h, c3 = 3 * u2 * inv_h;
        for (int f = 0; f < F; ++f) dW[f] = c1 * a[F + f] + c2 * a[2 * F + f] + c3 * a[3 * F + f];
    }
}

/* defines gb_cfconv_backward_fused_f32 and gb_cfconv_backward_fused_f64 */
void GB_T(gb_cfconv_backward_fused)(REAL *hbar, double *dbar_in, const REAL *mbar, const REAL *h, const REAL *W,
                                 const REAL *dW, const int *in_wrow, const int *in_center, const int *in_offsets, int N,
                                 int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (N > 64)
    {
        int j0, j1;
        gb_thread_rows(in_offsets, N, &j0, &j1);
        for (int j = j0; j < j1; ++j) {
            REAL *hb = hbar + (size_t)j * F;
            const REAL *hj = h + (size_t)j * F;
            for (int f = 0; f < F; ++f) hb[f] = 0;
            for (int q = in_offsets[j]; q < in_offsets[j + 1]; ++q) {
                const REAL *mb = mbar + (size_t)in_center[q] * F, *we = W + (size_t)in_wrow[q] * F,
                           *dwe = dW + (size_t)in_wrow[q] * F;
                REAL s = 0;
#pragma omp simd reduction(+ : s)
                for (int f = 0; f < F; ++f) {
                    hb[f] += mb[f] * we[f];
                    s += mb[f] * hj[f] * dwe[f];
                }
                if (dbar_in) dbar_in[q] += (double)s;
            }
        }
    }
}

/* defines gb_table_cells_f32 and gb_table_cells_f64 */
void GB_T(gb_table_cells)(int *cell, REAL *u, const GB_T(gb_table) *tab, const REAL *d, int n, int nt) {
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (n > 4096)
    for (int e = 0; e < n; ++e) {
        REAL u1, u2, u3;
        cell[e] = GB_T(table_cell)(tab, d[e], &u1, &u2, &u3);
        u[e] = cell[e] < 0 ? 0 : u1;
    }
}

/* defines gb_cfconv_table_f32 and gb_cfconv_table_f64 */
void GB_T(gb_cfconv_table)(REAL *m, const REAL *h, const GB_T(gb_table) *tab, const int *cell, const REAL *cell_u,
                        const int *offsets, const int *neighbor, int NC, int F, int nt) {
    (void)nt;
#pragma omp parallel num_threads(nt) if (NC > 64)
    {
        int i0, i1;
        gb_thread_rows(offsets, NC, &i0, &i1);
        for (int i = i0; i < i1; ++i) {
            REAL *restrict mi = m + (size_t)i * F;
            for (int f = 0; f < F; ++f) mi[f] = 0;
            for (int e = offsets[i]; e < offsets[i + 1]; ++e) {
                int k = cell[e];
                if (k < 0) continue;
                REAL u = cell_u[e], u2 = u * u, u3 = u * u * u;
                const REAL *restrict a = tab->coef + (size_t)k * 4 * F, *restrict hj = h + (size_t)neighbor[e] * F;
                for (int f = 0; f < F; ++f)
                    mi[f] += hj[f] * (a[f] + u * a[F + f] + u2 * a[2 * F + f] + u3 * a[3 * F + f]);
            }
        }
    }
}

/* defines gb_cfconv_backward_table_f32 and gb_cfconv_backward_table_f64 */
void GB_T(gb_cfconv_backward_table)(REAL *hbar, double *dbar_in, const REAL *mbar, const REAL *h, const GB_T(gb_table) *tab,
                                 const int *in_cell, const REAL *in_u, const int *in_center, const int *in_offsets,
                                 int N, int F, int nt) {
    (void)nt;
    const REAL inv_h = 1 / tab->step;
#pragma omp parallel num_threads(nt) if (N > 64)
    {
        int j0, j1;
        gb_thread_rows(in_offsets, N, &j0, &j1);
        for (int j = j0; j < j1; ++j) {
            REAL *restrict hb = hbar + (size_t)j * F;
            const REAL *restrict hj = h + (size_t)j * F;
            for (int f = 0; f < F; ++f) hb[f] = 0;
            for (int q = in_offsets[j]; q < in_offsets[j + 1]; ++q) {
                int k = in_cell[q];
                if (k < 0) continue;
                REAL u = in_u[q], u2 = u * u, u3 = u * u * u;
                const REAL *restrict a = tab->coef + (size_t)k * 4 * F, *restrict mb = mbar + (size_t)in_center[q] * F;
                REAL c2 = 2 * u, c3 = 3 * u2, s = 0;
#pragma omp simd reduction(+ : s)
                for (int f = 0; f < F; ++f) {
                    REAL w = a[f] + u * a[F + f] + u2 * a[2 * F + f] + u3 * a[3 * F + f];
                    REAL dw = a[F + f] + c2 * a[2 * F + f] + c3 * a[3 * F + f];
                    hb[f] += mb[f] * w;
                    s += mb[f] * hj[f] * dw;
                }
                if (dbar_in) dbar_in[q] += (double)(s * inv_h);
            }
        }
    }
}

#undef GB_T
#undef GB_T_JOIN
#undef GB_T_JOIN2
/* this instantiation's parameters (set by kernels.c) */
#undef REAL
#undef GB_SUFFIX
#undef GB_FAST_FLOAT
#undef BLAS_GEMM
#undef EXP
#undef GB_EXP_CUT
#undef LOG1P
#undef FABS
#undef COS
#undef SIN
