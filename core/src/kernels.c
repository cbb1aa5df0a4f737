/* Instantiates the kernels for float and double. */
#include "kernels.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef GBNET_HAVE_BLAS
#include <cblas.h>
#endif

/* Rows of C per BLAS call in gb_gemm (see kernels_impl.h). */
#define GB_GEMM_ROWS 64

static _Thread_local int g_gemm_threads = 1;

/* OpenBLAS starts its own thread pool at load; gbnet runs BLAS single-threaded
 * (it parallelises over row blocks itself), so switch the pool off before the
 * first BLAS call, whichever entry point makes it. Idle pool threads would
 * otherwise spin in sched_yield and steal the cores from the OpenMP threads. */
#ifdef GBNET_HAVE_BLAS
void openblas_set_num_threads(int num_threads);
static void gb_blas_single_thread_once(void) {
    static _Atomic int done = 0;
    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
}
#else
static void gb_blas_single_thread_once(void) {}
#endif
void gb_gemm_set_threads(int n) { g_gemm_threads = n > 0 ? n : 1; }
int gb_gemm_threads(void) { return g_gemm_threads; }

#define REAL float
#define S f32
#define GB_FAST_FLOAT 1
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

#undef GB_FAST_FLOAT
#define GB_FAST_FLOAT 0
#define REAL double
#define S f64
#define BLAS_GEMM cblas_dgemm
#define EXP exp
#define LOG1P log1p
#define FABS fabs
#define COS cos
#define SIN sin
#include "kernels_impl.h"

void gb_blas_set_threads(int n) {
    (void)n;
#ifdef GBNET_HAVE_BLAS
    /* BLAS itself stays single-threaded: gb_gemm parallelises over row blocks,
     * calling BLAS from several threads at once (needs a thread-safe OpenBLAS) */
    openblas_set_num_threads(1);
#endif
}
