/* Instantiates the kernels for float and double. */
#include "kernels.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif
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
#define GB_SUFFIX f32
#define GB_FAST_FLOAT 1
#define BLAS_GEMM cblas_sgemm
#define EXP expf
#define GB_EXP_CUT 40.0f
#define LOG1P log1pf
#define FABS fabsf
#define COS cosf
#define SIN sinf
#include "kernels_impl.h"

#define GB_FAST_FLOAT 0
#define REAL double
#define GB_SUFFIX f64
#define BLAS_GEMM cblas_dgemm
#define EXP exp
#define GB_EXP_CUT 200.0
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

/* First row r with rows + edges before it, r + offsets[r] - offsets[0], at least target. */
static int first_row_at(const int *offsets, int n, long long target) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if ((long long)mid + offsets[mid] - offsets[0] < target) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

void gb_rows_part(const int *offsets, int n, int part, int parts, int *begin, int *end) {
    long long total = (long long)n + offsets[n] - offsets[0];
    *begin = part == 0 ? 0 : first_row_at(offsets, n, total * part / parts);
    *end = part == parts - 1 ? n : first_row_at(offsets, n, total * (part + 1) / parts);
}

void gb_thread_rows(const int *offsets, int n, int *begin, int *end) {
#ifdef _OPENMP
    gb_rows_part(offsets, n, omp_get_thread_num(), omp_get_num_threads(), begin, end);
#else
    gb_rows_part(offsets, n, 0, 1, begin, end);
#endif
}
