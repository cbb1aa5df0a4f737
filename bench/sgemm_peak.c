/* sgemm_peak -- OpenBLAS GEMM throughput on this machine: the practical peak
 * that gbnet's achieved GFLOP/s is compared with (bench/README.md).
 *
 *   sgemm_peak [--threads T] [--edges E] [--atoms N] [--features F] [--rbf K] [--seconds S]
 *
 * Prints one "RESULT engine=blas ..." line per shape: sgemm and dgemm on
 * 1024^3, and sgemm on the model's shapes (E x K)(K x F), (E x F)(F x F) and
 * (N x F)(F x F). Each shape is repeated for about S seconds after one
 * warm-up call; the median call time is reported. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int int_option(int argc, char **argv, const char *name, int fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (strcmp(argv[i], name) == 0) return atoi(argv[i + 1]);
    return fallback;
}

/* Median seconds of C[M][N] = A[M][K] B[K][N] (row-major), single or double. */
static double time_gemm(int dbl, int M, int N, int K, double budget_s) {
    size_t elem = dbl ? sizeof(double) : sizeof(float);
    void *A = malloc((size_t)M * K * elem), *B = malloc((size_t)K * N * elem), *C = malloc((size_t)M * N * elem);
    if (!A || !B || !C) {
        fprintf(stderr, "sgemm_peak: out of memory for %dx%dx%d\n", M, N, K);
        exit(1);
    }
    for (size_t i = 0; i < (size_t)M * K; ++i) {
        double v = (double)((i * 7919) % 1000) / 1000.0 - 0.5;
        if (dbl) ((double *)A)[i] = v; else ((float *)A)[i] = (float)v;
    }
    for (size_t i = 0; i < (size_t)K * N; ++i) {
        double v = (double)((i * 104729) % 1000) / 1000.0 - 0.5;
        if (dbl) ((double *)B)[i] = v; else ((float *)B)[i] = (float)v;
    }
    enum { MAX_REPS = 1000 };
    double times[MAX_REPS];
    int reps = 0;
    double start = now_seconds();
    for (int k = 0; k < MAX_REPS + 1; ++k) {
        double t0 = now_seconds();
        if (dbl)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, A, K, B, N, 0.0, C, N);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        double t1 = now_seconds();
        if (k > 0) times[reps++] = t1 - t0; /* call 0 is the warm-up */
        if (reps >= 5 && t1 - start > budget_s) break;
        if (reps == MAX_REPS) break;
    }
    free(A);
    free(B);
    free(C);
    qsort(times, (size_t)reps, sizeof *times, compare_doubles);
    return times[reps / 2];
}

static void report(const char *name, int dbl, int threads, int M, int N, int K, double budget_s) {
    double t = time_gemm(dbl, M, N, K, budget_s);
    printf("RESULT engine=blas kernel=%s shape=%s M=%d N=%d K=%d threads=%d seconds=%.6g gflops=%.6g\n",
           dbl ? "dgemm" : "sgemm", name, M, N, K, threads, t, 2.0 * M * N * K / t * 1e-9);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int threads = int_option(argc, argv, "--threads", 1);
    int E = int_option(argc, argv, "--edges", 80000);
    int N = int_option(argc, argv, "--atoms", 1536);
    int F = int_option(argc, argv, "--features", 128);
    int K = int_option(argc, argv, "--rbf", 50);
    double budget = int_option(argc, argv, "--seconds", 2);
    openblas_set_num_threads(threads);
    report("1024^3", 0, threads, 1024, 1024, 1024, budget);
    report("1024^3", 1, threads, 1024, 1024, 1024, budget);
    report("ExK.KxF", 0, threads, E, F, K, budget);
    report("ExF.FxF", 0, threads, E, F, F, budget);
    report("NxF.FxF", 0, threads, N, F, F, budget);
    return 0;
}
