/* Instantiates the kernels for float and double. */
#include "kernels.h"

#include <math.h>
#include <stddef.h>
#ifdef GBNET_HAVE_BLAS
#include <cblas.h>
#endif

#define REAL float
#define S f32
#define BLAS_GEMM cblas_sgemm
#define EXP expf
#define LOG1P log1pf
#define FABS fabsf
#define COS cosf
#define SIN sinf
#include "kernels_impl.h"
#undef REAL
#undef S
#undef BLAS_GEMM
#undef EXP
#undef LOG1P
#undef FABS
#undef COS
#undef SIN

#define REAL double
#define S f64
#define BLAS_GEMM cblas_dgemm
#define EXP exp
#define LOG1P log1p
#define FABS fabs
#define COS cos
#define SIN sin
#include "kernels_impl.h"

#ifdef GBNET_HAVE_BLAS
void openblas_set_num_threads(int num_threads);
#endif

void gb_blas_set_threads(int n) {
#ifdef GBNET_HAVE_BLAS
    if (n > 0) openblas_set_num_threads(n);
#else
    (void)n;
#endif
}
