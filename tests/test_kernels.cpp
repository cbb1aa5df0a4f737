// Optimized kernels against their plain reference twins, and numerically
// delicate scalar functions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

extern "C" {
#include "kernels.h"
}

TEST(Kernels, BlockedGemmMatchesReferenceForAllTransposes) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 8, 16}, {65, 33, 17}, {200, 12, 50}, {131, 128, 1}};
    for (int threads : {1, 2}) {
        gb_gemm_set_threads(threads);
        for (auto &sh : shapes)
            for (int ta = 0; ta < 2; ++ta)
                for (int tb = 0; tb < 2; ++tb)
                    for (double beta : {0.0, 1.0, -0.5}) {
                        int M = sh[0], N = sh[1], K = sh[2];
                        std::vector<double> A(M * K), B(K * N), C(M * N), Cref;
                        for (auto *v : {&A, &B, &C})
                            for (double &x : *v) x = u(rng);
                        Cref = C;
                        int lda = ta ? M : K, ldb = tb ? K : N;
                        gb_gemm_f64(ta, tb, M, N, K, 0.75, A.data(), lda, B.data(), ldb, beta, C.data(), N);
                        gb_gemm_ref_f64(ta, tb, M, N, K, 0.75, A.data(), lda, B.data(), ldb, beta, Cref.data(), N);
                        for (int k = 0; k < M * N; ++k) ASSERT_NEAR(C[k], Cref[k], 1e-12) << M << "x" << N << "x" << K;
                        std::vector<float> Af(A.begin(), A.end()), Bf(B.begin(), B.end()), Cf(M * N, 0.f), Cfr(M * N, 0.f);
                        gb_gemm_f32(ta, tb, M, N, K, 1.f, Af.data(), lda, Bf.data(), ldb, 0.f, Cf.data(), N);
                        gb_gemm_ref_f32(ta, tb, M, N, K, 1.f, Af.data(), lda, Bf.data(), ldb, 0.f, Cfr.data(), N);
                        for (int k = 0; k < M * N; ++k) ASSERT_NEAR(Cf[k], Cfr[k], 1e-4);
                    }
    }
    gb_gemm_set_threads(1);
}

TEST(Kernels, ShiftedSoftplusIsStableAndExact) {
    EXPECT_EQ(gb_ssp_f64(0.0), 0.0);
    EXPECT_NEAR(gb_ssp_f64(1.0), std::log(1 + std::exp(1.0)) - std::log(2.0), 1e-15);
    EXPECT_NEAR(gb_ssp_f64(-3.0), std::log(1 + std::exp(-3.0)) - std::log(2.0), 1e-15);
    EXPECT_NEAR(gb_ssp_f64(800.0), 800.0 - std::log(2.0), 1e-12);  // exp(800) overflows naively
    EXPECT_NEAR(gb_ssp_f64(-800.0), -std::log(2.0), 1e-15);
    EXPECT_TRUE(std::isfinite(gb_ssp_f32(200.f)));
    EXPECT_NEAR(gb_sigmoid_f64(-800.0), 0.0, 1e-300);
    EXPECT_NEAR(gb_sigmoid_f64(800.0), 1.0, 1e-15);
    for (double x : {-5.0, -0.3, 0.0, 0.7, 4.0}) {  // d ssp / dx = sigmoid
        double h = 1e-6, fd = (gb_ssp_f64(x + h) - gb_ssp_f64(x - h)) / (2 * h);
        EXPECT_NEAR(gb_sigmoid_f64(x), fd, 1e-9);
    }
}

TEST(Kernels, CutoffAndRadialBasisDerivatives) {
    const double rc = 5.0, h = 1e-6;
    for (double d : {0.3, 1.0, 2.5, 4.9}) {
        double fc, dfc, fp, fm, dummy;
        gb_cosine_cutoff_f64(&fc, &dfc, d, rc);
        gb_cosine_cutoff_f64(&fp, &dummy, d + h, rc);
        gb_cosine_cutoff_f64(&fm, &dummy, d - h, rc);
        EXPECT_NEAR(dfc, (fp - fm) / (2 * h), 1e-8);
        const int K = 6;
        double g[K], dg[K], gp[K], gm[K], tmp[K], sp = rc / (K - 1);
        gb_gaussian_rbf_f64(g, dg, d, sp, 1 / (sp * sp), K);
        gb_gaussian_rbf_f64(gp, tmp, d + h, sp, 1 / (sp * sp), K);
        gb_gaussian_rbf_f64(gm, tmp, d - h, sp, 1 / (sp * sp), K);
        for (int k = 0; k < K; ++k) EXPECT_NEAR(dg[k], (gp[k] - gm[k]) / (2 * h), 1e-8);
    }
    double fc, dfc;
    gb_cosine_cutoff_f64(&fc, &dfc, 5.0, rc);
    EXPECT_EQ(fc, 0.0);
    EXPECT_EQ(dfc, 0.0);
}

// The float path uses a vectorizable polynomial exp/log1p; it must match the
// double (libm) path to float precision over the whole range.
TEST(Kernels, FastFloatSoftplusAndSigmoidMatchDouble) {
    const int n = 20001;
    std::vector<float> a(n), ad(n, 1.f), y(n), yd(n);
    std::vector<double> a64(n), ad64(n, 1.0), y64(n), yd64(n);
    for (int i = 0; i < n; ++i) a64[i] = a[i] = -100.f + 200.f * i / (n - 1);
    gb_ssp_dual_f32(y.data(), yd.data(), a.data(), ad.data(), n, 1);
    gb_ssp_dual_f64(y64.data(), yd64.data(), a64.data(), ad64.data(), n, 1);
    for (int i = 0; i < n; ++i) {
        EXPECT_NEAR(y[i], y64[i], 2e-7 * std::max(1.0, std::fabs(y64[i]))) << a[i];
        EXPECT_NEAR(yd[i], yd64[i], 2e-7) << a[i];
    }
    std::vector<float> back(n), bd(n);
    gb_ssp_dual_backward_f32(back.data(), bd.data(), ad.data(), ad.data(), a.data(), ad.data(), n, 1);
    for (int i = 0; i < n; ++i) {
        double sg = yd64[i];
        EXPECT_NEAR(back[i], sg + sg * (1 - sg), 3e-7) << a[i];
        EXPECT_NEAR(bd[i], sg, 2e-7);
    }
}

// Rows split for threads by rows + edges: every row has exactly one part, the
// parts are contiguous and in order, and none carries much more than its share
// even when half the rows have no edges (ghost atoms in a LAMMPS graph).
TEST(Kernels, RowSplitCoversEveryRowOnceAndBalancesEdges) {
    std::mt19937 rng(7);
    for (int n : {0, 1, 5, 1000, 4001}) {
        std::vector<int> offsets(n + 1, 0);
        for (int i = 0; i < n; ++i) {
            int edges = i < n / 2 ? 80 + (int)(rng() % 40) : (int)(rng() % 3);
            offsets[i + 1] = offsets[i] + edges;
        }
        long long total = (long long)n + offsets[n];
        for (int parts : {1, 2, 3, 8}) {
            int expect_begin = 0;
            long long worst = 0;
            for (int part = 0; part < parts; ++part) {
                int b = -1, e = -1;
                gb_rows_part(offsets.data(), n, part, parts, &b, &e);
                EXPECT_EQ(b, expect_begin) << "n=" << n << " parts=" << parts << " part=" << part;
                EXPECT_LE(b, e);
                expect_begin = e;
                worst = std::max(worst, (long long)(e - b) + offsets[e] - offsets[b]);
            }
            EXPECT_EQ(expect_begin, n);
            // a part overshoots its share by at most one row (<= 1 + 119 edges)
            EXPECT_LE(worst, total / parts + 121) << "n=" << n << " parts=" << parts;
        }
    }
}
