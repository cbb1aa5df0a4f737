// Quantized dense layers (quant.h): bf16 rounding, the AVX512 kernels against
// their plain-C twins (bitwise), the quantized network against the reference
// kernels and across thread counts (bitwise), its deviation from the float
// model, the QUNT section's round trip and errors, and the API's refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet.h"
#include "model.h"
#include "quant.h"
}

namespace {

float bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

TEST(Quant, Bf16RoundsToNearestEvenAndFlushesSubnormals) {
    EXPECT_EQ(gb_bf16_round(1.0f), 0x3f80);
    EXPECT_EQ(gb_bf16_round(bits_to_float(0x3f808000u)), 0x3f80);  // tie, even below
    EXPECT_EQ(gb_bf16_round(bits_to_float(0x3f818000u)), 0x3f82);  // tie, even above
    EXPECT_EQ(gb_bf16_round(bits_to_float(0x3f808001u)), 0x3f81);  // above the tie
    EXPECT_EQ(gb_bf16_round(-2.0f), 0xc000);
    EXPECT_EQ(gb_bf16_round(bits_to_float(0x00400000u)), 0x0000);  // subnormal -> +0
    EXPECT_EQ(gb_bf16_round(bits_to_float(0x80400000u)), 0x8000);  // -> -0
    // subnormal inputs flush even where rounding would carry them up to FLT_MIN
    EXPECT_EQ(gb_bf16_round(bits_to_float(0x007fffffu)), 0x0000);
    EXPECT_EQ(gb_bf16_to_float(0x3f82), bits_to_float(0x3f820000u));
}

struct Shape {
    int rows, n, k;
};
const Shape kShapes[] = {{1, 16, 2}, {7, 33, 20}, {64, 128, 128}, {130, 64, 64}, {5, 12, 30}, {9, 128, 96}};

TEST(Quant, Bf16KernelMatchesReferenceBitwise) {
    if (!gb_cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (const Shape &s : kShapes) {
        int kp = gb_qpack_kp_bf16(s.k);
        int rp = (s.rows + 15) / 16 * 16;  // AMX reads whole 16-row tiles
        std::vector<uint16_t> X((size_t)rp * kp, 0), M((size_t)s.n * s.k), P(gb_qpack_bf16_size(s.n, s.k));
        for (int i = 0; i < s.rows; ++i)
            for (int j = 0; j < s.k; ++j) X[(size_t)i * kp + j] = gb_bf16_round(g(rng) * 3.0f);
        for (auto &v : M) v = gb_bf16_round(g(rng) * 0.1f);
        gb_qpack_bf16(P.data(), M.data(), s.n, s.k);
        for (int acc = 0; acc < 2; ++acc) {
            std::vector<float> Yr((size_t)s.rows * s.n), Yo;
            for (auto &v : Yr) v = g(rng);
            Yo = Yr;
            gb_qgemm_bf16_ref(Yr.data(), X.data(), P.data(), s.rows, kp, s.n, acc);
            std::vector<float> Ya = Yo;
            gb_qgemm_bf16_avx512(Yo.data(), X.data(), P.data(), s.rows, kp, s.n, acc);
            ASSERT_EQ(0, std::memcmp(Yr.data(), Yo.data(), Yr.size() * 4)) << s.rows << "x" << s.n << "x" << s.k;
            if (gb_cpu_has_amx_bf16()) {
                // the tile unit sums in its own undocumented order: float accuracy, not bitwise
                gb_qgemm_bf16_amx(Ya.data(), X.data(), P.data(), s.rows, kp, s.n, acc);
                for (int i = 0; i < s.rows; ++i)
                    for (int o = 0; o < s.n; ++o) {
                        double mag = std::fabs(acc ? Yo[(size_t)i * s.n + o] : 0.0);
                        for (int j = 0; j < s.k; ++j)
                            mag += std::fabs((double)gb_bf16_to_float(X[(size_t)i * kp + j]) *
                                             gb_bf16_to_float(M[(size_t)o * s.k + j]));
                        ASSERT_NEAR(Ya[(size_t)i * s.n + o], Yr[(size_t)i * s.n + o], 2e-6 * mag + 1e-30)
                            << s.rows << "x" << s.n << "x" << s.k << " at " << i << "," << o;
                    }
            }
            // and the reference is the product it claims to be (double check, float tolerance)
            for (int i = 0; i < s.rows; ++i)
                for (int o = 0; o < s.n; o += 5) {
                    double d = 0, mag = 0;
                    for (int j = 0; j < s.k; ++j) {
                        double t = (double)gb_bf16_to_float(X[(size_t)i * kp + j]) * gb_bf16_to_float(M[(size_t)o * s.k + j]);
                        d += t;
                        mag += std::fabs(t);
                    }
                    if (!acc) {
                        EXPECT_NEAR(Yr[(size_t)i * s.n + o], d, 1e-5 * mag + 1e-30);
                    }
                }
        }
    }
}

TEST(Quant, Int8KernelMatchesReferenceBitwise) {
    if (!gb_cpu_has_avx512_vnni()) GTEST_SKIP() << "no AVX512-VNNI on this CPU";
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> q(-127, 127);
    std::uniform_real_distribution<float> u(0.001f, 0.1f);
    for (const Shape &s : kShapes) {
        int kp = gb_qpack_kp_s8(s.k);
        int rp = (s.rows + 15) / 16 * 16;
        std::vector<uint8_t> X((size_t)rp * kp, 128);
        std::vector<int8_t> M((size_t)s.n * s.k), P(gb_qpack_s8_size(s.n, s.k));
        std::vector<int32_t> comp(s.n);
        std::vector<float> rs(rp), cs(s.n);
        for (int i = 0; i < s.rows; ++i)
            for (int j = 0; j < s.k; ++j) X[(size_t)i * kp + j] = (uint8_t)(q(rng) + 128);
        for (int o = 0; o < s.n; ++o) {
            int sum = 0;
            for (int j = 0; j < s.k; ++j) sum += (M[(size_t)o * s.k + j] = (int8_t)q(rng));
            comp[o] = 128 * sum;
            cs[o] = u(rng);
        }
        for (auto &v : rs) v = u(rng);
        gb_qpack_s8(P.data(), M.data(), s.n, s.k);
        for (int acc = 0; acc < 2; ++acc) {
            std::vector<float> Yr((size_t)s.rows * s.n, 0.5f), Yo = Yr;
            gb_qgemm_s8_ref(Yr.data(), X.data(), P.data(), comp.data(), rs.data(), cs.data(), s.rows, kp, s.n, acc);
            gb_qgemm_s8_avx512(Yo.data(), X.data(), P.data(), comp.data(), rs.data(), cs.data(), s.rows, kp, s.n, acc);
            ASSERT_EQ(0, std::memcmp(Yr.data(), Yo.data(), Yr.size() * 4)) << s.rows << "x" << s.n << "x" << s.k;
            if (gb_cpu_has_amx_int8()) {  // exact integer sums: bitwise too
                std::vector<float> Ya((size_t)s.rows * s.n, 0.5f);
                gb_qgemm_s8_amx(Ya.data(), X.data(), P.data(), comp.data(), rs.data(), cs.data(), s.rows, kp, s.n, acc);
                ASSERT_EQ(0, std::memcmp(Yr.data(), Ya.data(), Yr.size() * 4)) << "AMX " << s.rows << "x" << s.n;
            }
            for (int i = 0; i < s.rows && !acc; ++i)
                for (int o = 0; o < s.n; o += 7) {
                    long long d = 0;
                    for (int j = 0; j < s.k; ++j) d += (long long)(X[(size_t)i * kp + j] - 128) * M[(size_t)o * s.k + j];
                    EXPECT_FLOAT_EQ(Yr[(size_t)i * s.n + o], (float)d * (rs[i] * cs[o]));
                }
        }
    }
}

struct ModelHolder {
    gbnet_model *m = nullptr;
    ~ModelHolder() { gbnet_model_free(m); }
};

// Random clusters, two elements: n structures of 6..13 atoms, and with big one of
// 150 atoms first (more than one 64-row block, so threads share the dense layers).
struct Structures {
    std::vector<std::vector<int>> species;
    std::vector<std::vector<double>> pos;
    std::vector<gbnet_structure> view;
    Structures(int n, uint32_t seed, bool big = false) {
        std::mt19937 rng(seed);
        for (int k = 0; k < n; ++k) {
            bool large = big && k == 0;
            int atoms = large ? 150 : 6 + k % 8;
            std::uniform_real_distribution<double> u(0.0, large ? 7.0 : 3.5);
            std::vector<int> sp;
            std::vector<double> p;
            while ((int)sp.size() < atoms) {
                double x[3] = {u(rng), u(rng), u(rng)};
                bool ok = true;
                for (size_t a = 0; a < sp.size() && ok; ++a) {
                    double d2 = 0;
                    for (int c = 0; c < 3; ++c) d2 += (x[c] - p[3 * a + c]) * (x[c] - p[3 * a + c]);
                    ok = d2 > 0.8 * 0.8;
                }
                if (!ok) continue;
                sp.push_back((int)sp.size() % 2);
                p.insert(p.end(), x, x + 3);
            }
            species.push_back(sp);
            pos.push_back(p);
        }
        for (int k = 0; k < n; ++k) {
            gbnet_structure s{};
            s.n_atoms = (int)species[k].size();
            s.species = species[k].data();
            s.positions = pos[k].data();
            view.push_back(s);
        }
    }
};

struct Eval {
    std::vector<double> energy, forces;
};

Eval evaluate(const gbnet_model *m, gbnet_precision prec, int threads, const Structures &s) {
    gbnet_workspace *ws = nullptr;
    Eval e;
    EXPECT_EQ(gbnet_workspace_create(&ws, m, prec), GBNET_OK) << gbnet_last_error();
    if (!ws) return e;
    gbnet_workspace_set_threads(ws, threads);
    for (const gbnet_structure &st : s.view) {
        std::vector<double> f(3 * (size_t)st.n_atoms);
        gbnet_result r{};
        r.forces = f.data();
        EXPECT_EQ(gbnet_evaluate(ws, 1, &st, &r), GBNET_OK) << gbnet_last_error();
        e.energy.push_back(r.energy);
        e.forces.insert(e.forces.end(), f.begin(), f.end());
    }
    gbnet_workspace_free(ws);
    return e;
}

double max_abs_diff(const std::vector<double> &a, const std::vector<double> &b) {
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::fmax(d, std::fabs(a[i] - b[i]));
    return d;
}

// Sizes with and without padding (F = 20, R = 12 are not multiples of 16 or 4).
class QuantNet : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(QuantNet, KernelsMatchReferenceAcrossThreadsAndStayNearFloat) {
    int mode = std::get<0>(GetParam()), F = std::get<1>(GetParam());
    gbnet_hyperparams hp = small_hyperparams(F, 3, 16, F == 32 ? 32 : 12, 3.0, {8, 1});
    ModelHolder fl, qm;
    fl.m = small_model(hp, 5, 0.2);
    ASSERT_NE(fl.m, nullptr);
    ASSERT_EQ(gbnet_model_clone(&qm.m, fl.m), GBNET_OK);
    Structures cal(12, 3, true), test(8, 9, true);  // calibrated on clusters like the test ones
    ASSERT_EQ(gbnet_model_quantize(qm.m, (gbnet_quant_mode)mode, (int)cal.view.size(), cal.view.data(), 100.0),
              GBNET_OK)
        << gbnet_last_error();
    ASSERT_EQ(gbnet_model_quantization(qm.m), mode);

    // the CPUID choice (AMX where present), 1 and 2 threads: bitwise the same
    Eval fast1 = evaluate(qm.m, GBNET_FLOAT, 1, test), fast2 = evaluate(qm.m, GBNET_FLOAT, 2, test);
    ASSERT_FALSE(fast1.energy.empty());
    EXPECT_EQ(fast1.energy, fast2.energy);
    EXPECT_EQ(fast1.forces, fast2.forces);
    gb_quant_force_isa(GB_QISA_REF);
    Eval ref = evaluate(qm.m, GBNET_FLOAT, 1, test);
    gb_quant_force_isa(GB_QISA_AVX512);
    Eval avx = evaluate(qm.m, GBNET_FLOAT, 2, test);
    gb_quant_force_isa(-1);
    EXPECT_EQ(avx.energy, ref.energy);  // bitwise: same rounding, same order of sums
    EXPECT_EQ(avx.forces, ref.forces);
    if (mode == GBNET_QUANT_INT8 || gb_quant_isa(mode) != GB_QISA_AMX) {
        EXPECT_EQ(fast1.energy, ref.energy);
        EXPECT_EQ(fast1.forces, ref.forces);
    } else {  // AMX bf16 sums in its own order: float rounding differences only
        double fmax = 0;
        for (double v : ref.forces) fmax = std::fmax(fmax, std::fabs(v));
        EXPECT_LT(max_abs_diff(fast1.energy, ref.energy), 1e-5 * (1 + std::fabs(ref.energy[0])));
        EXPECT_LT(max_abs_diff(fast1.forces, ref.forces), 1e-4 * fmax);
    }

    // near the float model, but not it
    Eval f32 = evaluate(fl.m, GBNET_FLOAT, 1, test);
    double de = max_abs_diff(fast1.energy, f32.energy), df = max_abs_diff(fast1.forces, f32.forces);
    double fscale = 0;
    for (double v : f32.forces) fscale = std::fmax(fscale, std::fabs(v));
    EXPECT_GT(de, 0.0);
    EXPECT_GT(df, 0.0);
    EXPECT_LT(df, (mode == GBNET_QUANT_BF16 ? 0.03 : 0.1) * fscale) << "force deviation " << df << " of " << fscale;

    // double precision ignores the record: bitwise the float model's
    Eval d64q = evaluate(qm.m, GBNET_DOUBLE, 1, test), d64 = evaluate(fl.m, GBNET_DOUBLE, 1, test);
    EXPECT_EQ(d64q.energy, d64.energy);
    EXPECT_EQ(d64q.forces, d64.forces);

    // the float model with the rounded weights: a different model, near the quantized one
    ModelHolder wq;
    ASSERT_EQ(gbnet_model_clone(&wq.m, qm.m), GBNET_OK);
    ASSERT_EQ(gbnet_model_dequantize_weights(wq.m), GBNET_OK);
    EXPECT_EQ(gbnet_model_quantization(wq.m), GBNET_QUANT_NONE);
    Eval w32 = evaluate(wq.m, GBNET_FLOAT, 1, test);
    EXPECT_GT(max_abs_diff(w32.energy, f32.energy), 0.0);
    EXPECT_LT(max_abs_diff(fast1.forces, w32.forces), (mode == GBNET_QUANT_BF16 ? 0.03 : 0.1) * fscale);
}

INSTANTIATE_TEST_SUITE_P(Modes, QuantNet,
                         ::testing::Combine(::testing::Values((int)GBNET_QUANT_BF16, (int)GBNET_QUANT_INT8),
                                            ::testing::Values(32, 20)));

// A rank-reduced model: its factored layers stay float, the full ones are quantized
// (bitwise the twin at the AVX-512 level, near the float model, not equal to it).
TEST(Quant, FactoredLayersStayFloat) {
    gbnet_hyperparams hp = small_hyperparams(32, 2, 16, 16, 3.0, {8, 1});
    ModelHolder fl, lr, q;
    fl.m = small_model(hp, 4, 0.2);
    ASSERT_NE(fl.m, nullptr);
    gbnet_rank_spec spec{};
    ASSERT_EQ(gbnet_rank_spec_parse(&spec, "in=8,readout=4"), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_model_reduce_rank(fl.m, &spec, &lr.m), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_model_clone(&q.m, lr.m), GBNET_OK);
    Structures cal(6, 3, true), test(4, 9, true);
    ASSERT_EQ(gbnet_model_quantize(q.m, GBNET_QUANT_INT8, (int)cal.view.size(), cal.view.data(), 100.0), GBNET_OK)
        << gbnet_last_error();
    for (int t = 0; t < hp.n_blocks; ++t) EXPECT_EQ(gbnet_model_quant_clip(q.m, 3 * t), 1.0) << t;  // nothing recorded
    EXPECT_NE(gbnet_model_quant_clip(q.m, 1), 1.0);  // out1 of block 0 is full: calibrated
    Eval fast = evaluate(q.m, GBNET_FLOAT, 2, test);
    gb_quant_force_isa(GB_QISA_REF);
    Eval ref = evaluate(q.m, GBNET_FLOAT, 1, test);
    gb_quant_force_isa(-1);
    EXPECT_EQ(fast.energy, ref.energy);  // int8: exact sums at every level
    EXPECT_EQ(fast.forces, ref.forces);
    Eval f32 = evaluate(lr.m, GBNET_FLOAT, 1, test);
    double fscale = 0;
    for (double v : f32.forces) fscale = std::fmax(fscale, std::fabs(v));
    double df = max_abs_diff(fast.forces, f32.forces);
    EXPECT_GT(df, 0.0);
    EXPECT_LT(df, 0.1 * fscale);
    // the rounded-weights model leaves the factors as they are
    ModelHolder wq;
    ASSERT_EQ(gbnet_model_clone(&wq.m, q.m), GBNET_OK);
    ASSERT_EQ(gbnet_model_dequantize_weights(wq.m), GBNET_OK);
    gb_dense d = gb_layout_dense(&lr.m->layout, &hp, GBNET_DENSE_IN, 1);
    ASSERT_GT(d.rank, 0);
    EXPECT_EQ(0, std::memcmp(gbnet_model_params(wq.m) + d.w, gbnet_model_params(lr.m) + d.w,
                             (size_t)d.rank * (d.in + d.out) * sizeof(double)));
}

TEST(Quant, ApiRefusesBadRequests) {
    gbnet_hyperparams hp = small_hyperparams(16, 2, 8, 8, 3.0, {8, 1});
    ModelHolder m;
    m.m = small_model(hp, 1);
    ASSERT_NE(m.m, nullptr);
    EXPECT_EQ(gbnet_model_quantize(m.m, GBNET_QUANT_INT8, 0, nullptr, 100.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("calibration"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(gbnet_model_quantize(m.m, (gbnet_quant_mode)7, 0, nullptr, 100.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("unknown mode"), std::string::npos) << gbnet_last_error();
    Structures cal(2, 1);
    EXPECT_EQ(gbnet_model_quantize(m.m, GBNET_QUANT_INT8, 2, cal.view.data(), 20.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gbnet_model_quantization(m.m), GBNET_QUANT_NONE);  // refused requests change nothing
    EXPECT_EQ(gbnet_model_dequantize_weights(m.m), GBNET_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(gbnet_model_quantize(m.m, GBNET_QUANT_INT8, 2, cal.view.data(), 99.0), GBNET_OK);
    for (int l = 0; l < 3 * hp.n_blocks + 1; ++l) EXPECT_GT(gbnet_model_quant_clip(m.m, l), 0.0) << l;
    EXPECT_EQ(gbnet_model_quant_clip(m.m, 3 * hp.n_blocks + 1), 0.0);
    ASSERT_EQ(gbnet_model_quantize(m.m, GBNET_QUANT_NONE, 0, nullptr, 0), GBNET_OK);
    EXPECT_EQ(gbnet_model_quantization(m.m), GBNET_QUANT_NONE);
}

}  // namespace
