// Rank-reduced dense layers (W = A B): the Jacobi SVD, the factored network
// against finite differences (forces, parameter gradients, the dual backward
// of force training) and against its multiplied-out full twin, truncation
// by gbnet_model_reduce_rank, file and checkpoint round trips, and training
// the factors.
#include <gtest/gtest.h>


#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_graph.h"
#include "test_util.h"

extern "C" {
#include "checkpoint.h"
#include "forces.h"
#include "gbnet.h"
#include "gbnet_train.h"
#include "model.h"
#include "optimizer.h"
#include "potential_file.h"
#include "schnet.h"
#include "svd.h"
#include "train_config.h"
}

namespace {

std::vector<double> random_matrix(int m, int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal;
    std::vector<double> w((size_t)m * n);
    for (double &v : w) v = normal(rng);
    return w;
}

// Checks W = sum_k us_k vt_k^T, orthonormal vt rows (k < min), sigma descending.
void expect_valid_svd(const std::vector<double> &W, int m, int n) {
    std::vector<double> sigma(n), us((size_t)n * m), vt((size_t)n * n);
    ASSERT_GE(gb_svd_jacobi(sigma.data(), us.data(), vt.data(), W.data(), m, n), 1);
    int lim = std::min(m, n);
    double wmax = 0;
    for (double v : W) wmax = std::max(wmax, std::fabs(v));
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            double s = 0;
            for (int k = 0; k < lim; ++k) s += us[(size_t)k * m + i] * vt[(size_t)k * n + j];
            EXPECT_NEAR(s, W[(size_t)i * n + j], 1e-12 * wmax) << m << "x" << n << " at " << i << "," << j;
        }
    for (int k = 0; k < lim; ++k) {
        if (k > 0) {
            EXPECT_GE(sigma[k - 1], sigma[k]);
        }
        double us_norm = 0;
        for (int i = 0; i < m; ++i) us_norm += us[(size_t)k * m + i] * us[(size_t)k * m + i];
        EXPECT_NEAR(std::sqrt(us_norm), sigma[k], 1e-12 * sigma[0]);
        for (int l = 0; l <= k; ++l) {
            double d = 0;
            for (int j = 0; j < n; ++j) d += vt[(size_t)k * n + j] * vt[(size_t)l * n + j];
            if (sigma[k] > 1e-10 * sigma[0]) {
                EXPECT_NEAR(d, k == l ? 1.0 : 0.0, 1e-12) << k << " " << l;
            }
        }
    }
}

// A small periodic structure (H, C, O) with no pair closer than 0.9 A.
struct Box {
    std::vector<double> pos;
    std::vector<int> species;
    double cell[9] = {4.1, 0, 0, 0.3, 3.9, 0, -0.2, 0.1, 4.3};
    explicit Box(int n, unsigned seed, double scale = 1.0) {
        for (double &c : cell) c *= scale;
        std::mt19937 rng(seed);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        while ((int)species.size() < n) {
            double f[3] = {u(rng), u(rng), u(rng)}, p[3];
            for (int c = 0; c < 3; ++c) p[c] = f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c];
            bool ok = true;
            for (size_t k = 0; k < species.size() && ok; ++k)
                for (int a = -1; a <= 1 && ok; ++a)
                    for (int b = -1; b <= 1 && ok; ++b)
                        for (int c = -1; c <= 1 && ok; ++c) {
                            double d2 = 0;
                            for (int x = 0; x < 3; ++x) {
                                double dx = p[x] - pos[3 * k + x] + a * cell[x] + b * cell[3 + x] + c * cell[6 + x];
                                d2 += dx * dx;
                            }
                            ok = d2 > 0.9 * 0.9;
                        }
            if (!ok) continue;
            pos.insert(pos.end(), p, p + 3);
            species.push_back((int)species.size() % 3);
        }
    }
    gbnet_structure structure() const {
        gbnet_structure s{};
        s.n_atoms = (int)species.size();
        s.species = species.data();
        s.positions = pos.data();
        s.cell = cell;
        s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
        return s;
    }
};

struct Eval {
    double energy = 0, virial[9] = {0};
    std::vector<double> forces;
};

Eval evaluate(const gbnet_model *m, const Box &box, gbnet_precision precision = GBNET_DOUBLE, int threads = 1) {
    Eval out;
    out.forces.assign(box.pos.size(), 0.0);
    gbnet_workspace *ws = nullptr;
    EXPECT_EQ(gbnet_workspace_create(&ws, m, precision), GBNET_OK) << gbnet_last_error();
    if (!ws) return out;
    gbnet_workspace_set_threads(ws, threads);
    gbnet_structure s = box.structure();
    gbnet_result r{};
    r.forces = out.forces.data();
    EXPECT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
    out.energy = r.energy;
    std::memcpy(out.virial, r.virial, sizeof out.virial);
    gbnet_workspace_free(ws);
    return out;
}

void expect_same_physics(const Eval &a, const Eval &b, double rel) {
    double fmax = 0, wmax = 0;
    for (double f : b.forces) fmax = std::max(fmax, std::fabs(f));
    for (double w : b.virial) wmax = std::max(wmax, std::fabs(w));
    ASSERT_GT(fmax, 1e-3);  // nothing to compare on a flat landscape
    EXPECT_NEAR(a.energy, b.energy, rel * (1 + std::fabs(b.energy)));
    for (size_t k = 0; k < b.forces.size(); ++k) EXPECT_NEAR(a.forces[k], b.forces[k], rel * fmax) << k;
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(a.virial[k], b.virial[k], rel * wmax) << k;
}

// Mixed ranks: per block and per layer different, one layer of block 1 full.
gbnet_ranks mixed_ranks() {
    gbnet_ranks r{};
    r.in[0] = 2, r.out1[0] = 3, r.out2[0] = 1;
    r.in[1] = 0, r.out1[1] = 4, r.out2[1] = 2;
    r.readout = 2;
    return r;
}

gbnet_model *factored_model(uint64_t seed, const gbnet_ranks &r) {
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 4, 3.0, {1, 6, 8});
    gbnet_model *m = nullptr;
    EXPECT_EQ(gbnet_model_create_ranked(&m, &hp, &r, seed), GBNET_OK) << gbnet_last_error();
    if (m) {
        double e_ref[3] = {0.1, -0.2, 0.3};
        gbnet_model_set_normalization(m, 20.0, -0.1, e_ref);  // forces well above round-off
    }
    return m;
}

// The blob ranges of the factors (A and B of every factored layer), to check
// that the FD tests do cover them with nonzero gradients.
std::vector<std::pair<size_t, size_t>> factor_ranges(const gbnet_model *m) {
    std::vector<std::pair<size_t, size_t>> out;
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m);
    for (int t = 0; t <= hp->n_blocks; ++t)
        for (int k = 0; k < 3; ++k) {
            gbnet_dense_kind kind = t == hp->n_blocks ? GBNET_DENSE_READOUT : (gbnet_dense_kind)k;
            if (kind == GBNET_DENSE_READOUT && k > 0) break;
            gb_dense d = gb_layout_dense(&m->layout, hp, kind, t == hp->n_blocks ? 0 : t);
            if (!d.rank) continue;
            out.push_back({d.w, d.w + (size_t)d.out * d.rank});
            out.push_back({d.wb, d.wb + (size_t)d.rank * d.in});
        }
    return out;
}

}  // namespace

// ------------------------------------------------------------------ SVD

TEST(LowRank, JacobiSvdOfTallWideSquareAndRankDeficientMatrices) {
    expect_valid_svd(random_matrix(12, 12, 1), 12, 12);
    expect_valid_svd(random_matrix(17, 9, 2), 17, 9);
    expect_valid_svd(random_matrix(8, 20, 3), 8, 20);
    // rank 3: sigma_3.. vanish
    std::vector<double> a = random_matrix(10, 3, 4), b = random_matrix(3, 11, 5), w(10 * 11, 0.0);
    for (int i = 0; i < 10; ++i)
        for (int j = 0; j < 11; ++j)
            for (int k = 0; k < 3; ++k) w[i * 11 + j] += a[i * 3 + k] * b[k * 11 + j];
    expect_valid_svd(w, 10, 11);
    std::vector<double> sigma(11), us(11 * 10), vt(11 * 11);
    ASSERT_GE(gb_svd_jacobi(sigma.data(), us.data(), vt.data(), w.data(), 10, 11), 1);
    EXPECT_GT(sigma[2], 1e-3);
    for (int k = 3; k < 10; ++k) EXPECT_LT(sigma[k], 1e-12 * sigma[0]) << k;
}

TEST(LowRank, KnownSingularValues) {
    // W = Q1 diag(5, 3, 2, 0.5) Q2^T with rotations Q1, Q2: sigma is the diagonal
    int n = 4;
    double s[4] = {2, 5, 0.5, 3};
    std::vector<double> w(16, 0.0);
    for (int i = 0; i < 4; ++i) w[i * 4 + i] = s[i];
    auto rotate_rows = [&](int p, int q, double th) {
        for (int j = 0; j < n; ++j) {
            double x = w[p * n + j], y = w[q * n + j];
            w[p * n + j] = std::cos(th) * x - std::sin(th) * y;
            w[q * n + j] = std::sin(th) * x + std::cos(th) * y;
        }
    };
    auto rotate_cols = [&](int p, int q, double th) {
        for (int i = 0; i < n; ++i) {
            double x = w[i * n + p], y = w[i * n + q];
            w[i * n + p] = std::cos(th) * x - std::sin(th) * y;
            w[i * n + q] = std::sin(th) * x + std::cos(th) * y;
        }
    };
    rotate_rows(0, 2, 0.7), rotate_rows(1, 3, -1.1), rotate_cols(0, 1, 0.4), rotate_cols(2, 3, 2.0);
    std::vector<double> sigma(4), us(16), vt(16);
    ASSERT_GE(gb_svd_jacobi(sigma.data(), us.data(), vt.data(), w.data(), 4, 4), 1);
    EXPECT_NEAR(sigma[0], 5, 1e-13);
    EXPECT_NEAR(sigma[1], 3, 1e-13);
    EXPECT_NEAR(sigma[2], 2, 1e-13);
    EXPECT_NEAR(sigma[3], 0.5, 1e-13);
}

// ------------------------------------------------------------------ layout and options

TEST(LowRank, LayoutHoldsFactorsAndRanksAreChecked) {
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 4, 3.0, {1, 6, 8});
    gb_layout full, fac;
    gbnet_ranks r = mixed_ranks();
    size_t n_full = gb_layout_compute(&full, &hp), n_fac = gb_layout_compute_ranked(&fac, &hp, &r);
    // each factored layer replaces out*in by r (out + in)
    size_t saved = 0;
    int F = 6, R = 4;
    for (int t = 0; t < 2; ++t)
        for (int rk : {r.in[t], r.out1[t], r.out2[t]})
            if (rk) saved += (size_t)F * F - (size_t)rk * (F + F);
    saved += (size_t)R * F - (size_t)r.readout * (R + F);
    EXPECT_EQ(n_fac, n_full - saved);
    EXPECT_EQ(fac.block[0].in_wb, fac.block[0].in_w + (size_t)F * r.in[0]);
    EXPECT_EQ(fac.block[1].in_wb, 0u);  // full layer
    gbnet_model *m = nullptr;
    gbnet_ranks bad{};
    bad.out2[1] = 6;  // = min(out, in)
    EXPECT_EQ(gbnet_model_create_ranked(&m, &hp, &bad, 1), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("block 1's out2 layer"), std::string::npos) << gbnet_last_error();
    EXPECT_NE(std::string(gbnet_last_error()).find("valid: 1..5"), std::string::npos) << gbnet_last_error();
    bad = gbnet_ranks{};
    bad.readout = 4;  // readout is 4 x 6: valid 1..3
    EXPECT_EQ(gbnet_model_create_ranked(&m, &hp, &bad, 1), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("valid: 1..3"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(m, nullptr);
}

TEST(LowRank, RankSpecParsing) {
    gbnet_rank_spec s{};
    ASSERT_EQ(gbnet_rank_spec_parse(&s, "32"), GBNET_OK);
    EXPECT_EQ(s.rank.in[0], 32);
    EXPECT_EQ(s.rank.out2[GBNET_MAX_BLOCKS - 1], 32);
    EXPECT_EQ(s.rank.readout, 32);
    s = gbnet_rank_spec{};
    ASSERT_EQ(gbnet_rank_spec_parse(&s, "out1=8,readout=4"), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(s.rank.in[1], 0);
    EXPECT_EQ(s.rank.out1[1], 8);
    EXPECT_EQ(s.rank.out2[0], 0);
    EXPECT_EQ(s.rank.readout, 4);
    for (const char *bad : {"0", "-3", "x", "in=", "in=3,", "inn=4", "in=4;out1=3", "32a"})
        EXPECT_EQ(gbnet_rank_spec_parse(&s, bad), GBNET_ERR_INVALID_ARGUMENT) << bad;
}

// ------------------------------------------------------------------ network vs finite differences

TEST(LowRank, ForcesMatchFiniteDifferences) {
    gbnet_model *m = factored_model(7, mixed_ranks());
    ASSERT_NE(m, nullptr);
    std::vector<int> species = {0, 1, 2, 0, 1, 2, 0};
    std::vector<double> pos = random_molecule(7, 3, 2.4);
    gb_net_f64 *net = gb_net_create_f64(m);
    Graph g = brute_graph(pos, species, 3.0);
    gb_batch b = g.batch();
    int n = (int)species.size();
    std::vector<double> ones(n, 1.0), dbar(g.neighbor.size()), forces(3 * n), virial(9);
    double e0 = 0;
    ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_EVALUATE, nullptr, &e0), GBNET_OK);
    ASSERT_EQ(gb_backward_f64(net, &b, ones.data(), nullptr, nullptr, dbar.data()), GBNET_OK);
    gb_forces_from_dbar(forces.data(), virial.data(), dbar.data(), g.vec.data(), g.offsets.data(), g.neighbor.data(), n,
                        n);
    auto energy = [&](const std::vector<double> &p) {
        Graph gp = brute_graph(p, species, 3.0);
        gb_batch bp = gp.batch();
        double e = 0;
        EXPECT_EQ(gb_forward_f64(net, &bp, GB_PASS_EVALUATE, nullptr, &e), GBNET_OK);
        return e;
    };
    std::vector<double> fd = fd_gradient(pos, energy, 1e-5);
    double fmax = 0;
    for (double f : forces) fmax = std::max(fmax, std::fabs(f));
    ASSERT_GT(fmax, 1e-3);
    for (int k = 0; k < 3 * n; ++k) EXPECT_NEAR(forces[k], -fd[k], 1e-6 * fmax) << k;
    gb_net_free_f64(net);
    gbnet_model_free(m);
}

// Parameter gradients of sum ebar_i E_i (the energy loss) and of
// sum ebar_i E_i + ebar_dot_i E_dot_i (force training), every parameter,
// the factors A and B included.
TEST(LowRank, ParameterGradientsMatchFiniteDifferences) {
    gbnet_model *m = factored_model(9, mixed_ranks());
    ASSERT_NE(m, nullptr);
    std::vector<int> species = {0, 1, 2, 1, 0, 2};
    std::vector<double> pos = random_molecule(6, 11, 2.4);
    gb_net_f64 *net = gb_net_create_f64(m);
    Graph g = brute_graph(pos, species, 3.0);
    gb_batch b = g.batch();
    int n = (int)species.size(), E = (int)g.neighbor.size();
    std::mt19937 rng(5);
    std::normal_distribution<double> normal;
    std::vector<double> ddot(E), ebar(n), ebar_dot(n);
    for (double &v : ddot) v = normal(rng);
    for (int i = 0; i < n; ++i) ebar[i] = 0.3 + 0.05 * i, ebar_dot[i] = -0.7 + 0.2 * i;
    size_t P = m->layout.total;
    std::vector<double> params(m->params, m->params + P);
    auto ranges = factor_ranges(m);
    ASSERT_EQ(ranges.size(), 2u * 6);
    for (int dual = 0; dual < 2; ++dual) {
        gb_net_load_params_f64(net, params.data());
        std::vector<double> grad(P, 0.0), e(n), ed(n);
        ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_TRAIN, e.data(), nullptr), GBNET_OK);
        if (dual) {
            ASSERT_EQ(gb_tangent_f64(net, &b, ddot.data(), ed.data()), GBNET_OK);
        }
        ASSERT_EQ(gb_backward_f64(net, &b, ebar.data(), dual ? ebar_dot.data() : nullptr, grad.data(), nullptr),
                  GBNET_OK);
        auto objective = [&](const std::vector<double> &p) {
            gb_net_load_params_f64(net, p.data());
            std::vector<double> e2(n), ed2(n);
            EXPECT_EQ(gb_forward_f64(net, &b, GB_PASS_TRAIN, e2.data(), nullptr), GBNET_OK);
            if (dual) {
                EXPECT_EQ(gb_tangent_f64(net, &b, ddot.data(), ed2.data()), GBNET_OK);
            }
            double s = 0;
            for (int i = 0; i < n; ++i) s += ebar[i] * e2[i] + (dual ? ebar_dot[i] * ed2[i] : 0.0);
            return s;
        };
        std::vector<double> fd = fd_gradient(params, objective, 1e-6);
        double gmax = 0;
        for (double v : grad) gmax = std::max(gmax, std::fabs(v));
        for (size_t k = 0; k < P; ++k) EXPECT_NEAR(grad[k], fd[k], 1e-6 * gmax) << (dual ? "dual " : "") << "parameter " << k;
        for (auto &r : ranges) {  // every factor is reached by the gradient
            double s = 0;
            for (size_t k = r.first; k < r.second; ++k) s += std::fabs(grad[k]);
            EXPECT_GT(s, 1e-8 * gmax) << "factor at " << r.first;
        }
    }
    gb_net_free_f64(net);
    gbnet_model_free(m);
}

// ------------------------------------------------------------------ twins

// A factored model and the full model with W = A B (multiplied out in double)
// are the same potential: energies, forces and virial to round-off, exact and
// tabulated filters; float agrees to float accuracy.
TEST(LowRank, FactoredModelEqualsItsMultipliedOutTwin) {
    gbnet_model *m = factored_model(13, mixed_ranks());
    ASSERT_NE(m, nullptr);
    gbnet_model *full = nullptr;
    ASSERT_EQ(gbnet_model_expand_ranks(&full, m), GBNET_OK) << gbnet_last_error();
    EXPECT_FALSE(gbnet_model_is_factored(full));
    EXPECT_TRUE(gbnet_model_is_factored(m));
    EXPECT_LT(gbnet_model_n_params(m), gbnet_model_n_params(full));
    Box box(10, 17);
    Eval ef = evaluate(m, box), eu = evaluate(full, box);
    expect_same_physics(ef, eu, 1e-10);
    expect_same_physics(evaluate(m, box, GBNET_FLOAT), eu, 2e-4);
    ASSERT_EQ(gbnet_model_tabulate(m, 301), GBNET_OK);
    ASSERT_EQ(gbnet_model_tabulate(full, 301), GBNET_OK);
    Eval tf = evaluate(m, box), tu = evaluate(full, box);
    expect_same_physics(tf, tu, 1e-10);
    EXPECT_NE(tf.energy, ef.energy);  // the table is really used
    gbnet_model_free(m);
    gbnet_model_free(full);
}

// Evaluation and the training gradients (dual backward) are bitwise the same
// on 1 and 2 threads; 300 atoms, so the GEMMs span several 64-row blocks.
TEST(LowRank, FactoredResultsDoNotDependOnTheThreadCount) {
    gbnet_model *m = factored_model(21, mixed_ranks());
    ASSERT_NE(m, nullptr);
    Box box(300, 3, 2.2);
    for (gbnet_precision p : {GBNET_DOUBLE, GBNET_FLOAT}) {
        Eval a = evaluate(m, box, p, 1), b = evaluate(m, box, p, 2);
        EXPECT_EQ(a.energy, b.energy);
        EXPECT_TRUE(a.forces == b.forces);
        EXPECT_EQ(std::memcmp(a.virial, b.virial, sizeof a.virial), 0);
    }
    Graph g = brute_graph(box.pos, box.species, 3.0);
    gb_batch b = g.batch();
    int n = (int)box.species.size(), E = (int)g.neighbor.size();
    std::vector<double> ddot(E), ebar(n, 0.7), ebar_dot(n, -0.4);
    for (int e = 0; e < E; ++e) ddot[e] = std::sin(0.37 * e);
    size_t P = m->layout.total;
    std::vector<double> g1, g2;
    for (int threads : {1, 2}) {
        for (int prec = 0; prec < 2; ++prec) {
            std::vector<double> grad(P, 0.0), e(n), ed(n);
            if (prec == 0) {
                gb_net_f64 *net = gb_net_create_f64(m);
                gb_net_set_threads_f64(net, threads);
                ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_TRAIN, e.data(), nullptr), GBNET_OK);
                ASSERT_EQ(gb_tangent_f64(net, &b, ddot.data(), ed.data()), GBNET_OK);
                ASSERT_EQ(gb_backward_f64(net, &b, ebar.data(), ebar_dot.data(), grad.data(), nullptr), GBNET_OK);
                gb_net_free_f64(net);
            } else {
                gb_net_f32 *net = gb_net_create_f32(m);
                gb_net_set_threads_f32(net, threads);
                ASSERT_EQ(gb_forward_f32(net, &b, GB_PASS_TRAIN, e.data(), nullptr), GBNET_OK);
                ASSERT_EQ(gb_tangent_f32(net, &b, ddot.data(), ed.data()), GBNET_OK);
                ASSERT_EQ(gb_backward_f32(net, &b, ebar.data(), ebar_dot.data(), grad.data(), nullptr), GBNET_OK);
                gb_net_free_f32(net);
            }
            grad.insert(grad.end(), ed.begin(), ed.end());
            (threads == 1 ? g1 : g2).insert((threads == 1 ? g1 : g2).end(), grad.begin(), grad.end());
        }
    }
    EXPECT_TRUE(g1 == g2) << "gradients on 2 threads differ from 1";
    gbnet_model_free(m);
}

// ------------------------------------------------------------------ truncation

// A full model whose W has exact rank r is reproduced by the rank-r truncation
// (and --energy 1 finds r); a lower rank changes the potential.
TEST(LowRank, ReduceRankIsExactOnLowRankWeightsAndChoosesRankByEnergy) {
    gbnet_ranks r = mixed_ranks();
    gbnet_model *m = factored_model(31, r);
    ASSERT_NE(m, nullptr);
    gbnet_model *full = nullptr, *back = nullptr, *by_energy = nullptr, *lower = nullptr;
    ASSERT_EQ(gbnet_model_expand_ranks(&full, m), GBNET_OK);
    gbnet_rank_spec spec{};
    spec.rank = r;
    ASSERT_EQ(gbnet_model_reduce_rank(full, &spec, &back), GBNET_OK) << gbnet_last_error();
    gbnet_ranks got;
    gbnet_model_get_ranks(back, &got);
    EXPECT_EQ(std::memcmp(&got, &r, sizeof r), 0);
    Box box(10, 17);
    Eval ref = evaluate(full, box);
    expect_same_physics(evaluate(back, box), ref, 1e-10);

    spec = gbnet_rank_spec{};
    spec.energy = 1.0;
    ASSERT_EQ(gbnet_model_reduce_rank(full, &spec, &by_energy), GBNET_OK) << gbnet_last_error();
    gbnet_model_get_ranks(by_energy, &got);
    EXPECT_EQ(got.in[0], r.in[0]);
    EXPECT_EQ(got.out2[1], r.out2[1]);
    EXPECT_EQ(got.readout, r.readout);
    EXPECT_EQ(got.in[1], 0);  // a generic full layer needs every singular value: stays full
    // exact rank 3 and 4 of a 6 x 6 layer are at or past the break-even rank 3 (r 12 >= 36): full
    EXPECT_EQ(got.out1[0], 0);
    EXPECT_EQ(got.out1[1], 0);
    expect_same_physics(evaluate(by_energy, box), ref, 1e-10);

    spec = gbnet_rank_spec{};
    spec.rank.out1[1] = 1;  // below its exact rank 4
    ASSERT_EQ(gbnet_model_reduce_rank(full, &spec, &lower), GBNET_OK);
    gbnet_model_get_ranks(lower, &got);
    EXPECT_EQ(got.out1[1], 1);
    EXPECT_EQ(got.in[0], 0);  // not named: left as it was (full)
    EXPECT_GT(std::fabs(evaluate(lower, box).energy - ref.energy), 1e-6);

    gbnet_model *none = nullptr;
    spec = gbnet_rank_spec{};
    spec.rank.in[0] = 6;
    EXPECT_EQ(gbnet_model_reduce_rank(full, &spec, &none), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("valid ranks are 1..5"), std::string::npos) << gbnet_last_error();
    spec = gbnet_rank_spec{};
    spec.energy = 1.5;
    EXPECT_EQ(gbnet_model_reduce_rank(full, &spec, &none), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("(0, 1]"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(none, nullptr);
    // the spectrum of a factored layer is that of A B
    std::vector<double> sigma(6);
    ASSERT_EQ(gbnet_model_singular_values(m, GBNET_DENSE_OUT1, 1, sigma.data()), 6);
    EXPECT_GT(sigma[3], 1e-6);
    EXPECT_LT(sigma[4], 1e-12 * sigma[0]);
    for (gbnet_model *x : {m, full, back, by_energy, lower}) gbnet_model_free(x);
}

// ------------------------------------------------------------------ files

TEST(LowRank, PotentialFileRoundTripsBitwiseAndChecksTheRankSection) {
    std::string dir = temp_dir();
    gbnet_model *m = factored_model(41, mixed_ranks());
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(gbnet_model_tabulate(m, 101), GBNET_OK);
    std::string a = dir + "/a.gbnet", b = dir + "/b.gbnet";
    ASSERT_EQ(gbnet_model_save(m, a.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_model *l = nullptr;
    ASSERT_EQ(gbnet_model_load(&l, a.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_model_save(l, b.c_str()), GBNET_OK);
    std::string bytes = read_file(a);
    EXPECT_EQ(bytes, read_file(b));
    gbnet_ranks want = mixed_ranks(), got;
    gbnet_model_get_ranks(l, &got);
    EXPECT_EQ(std::memcmp(&want, &got, sizeof want), 0);
    ASSERT_EQ(gbnet_model_n_params(l), gbnet_model_n_params(m));
    EXPECT_EQ(std::memcmp(gbnet_model_params(l), gbnet_model_params(m), gbnet_model_n_params(m) * sizeof(double)), 0);
    gbnet_model_free(l);

    // a full model's file has no RANK section
    gbnet_model *full = nullptr;
    ASSERT_EQ(gbnet_model_expand_ranks(&full, m), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(full, b.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(b).find("RANK"), std::string::npos);
    gbnet_model_free(full);

    // a rank out of range, checksum recomputed: a clear error naming the section
    size_t at = bytes.find("RANK");
    ASSERT_NE(at, std::string::npos);
    std::string broken = bytes;
    broken[at + 16 + 8] = (char)6;  // block 0's in rank = F
    uint64_t sum = gb_fnv1a64(broken.data(), broken.size() - 24 + 0);
    // the END! section is the last 24 bytes; its checksum covers everything before it
    sum = gb_fnv1a64(broken.data(), broken.size() - 24);
    for (int k = 0; k < 8; ++k) broken[broken.size() - 8 + k] = (char)((sum >> (8 * k)) & 0xff);
    std::string c = write_file(dir + "/c.gbnet", broken);
    EXPECT_EQ(gbnet_model_load(&l, c.c_str()), GBNET_ERR_FORMAT);
    std::string msg = gbnet_last_error();
    EXPECT_NE(msg.find("c.gbnet': section RANK: rank of block 0's in layer"), std::string::npos) << msg;
    gbnet_model_free(m);
}

TEST(LowRank, CheckpointKeepsTheRanks) {
    std::string dir = temp_dir();
    gbnet_model *m = factored_model(43, mixed_ranks());
    ASSERT_NE(m, nullptr);
    gb_optimizer opt{};
    ASSERT_EQ(gb_optimizer_init(&opt, GB_OPTIMIZER_ADAM, m->layout.total, 0.9, 0.999, 1e-8, 0.0), GBNET_OK);
    gb_train_state state{};
    std::string path = dir + "/r.ckpt";
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), m, &opt, &state, "rank = 2\n"), GBNET_OK) << gbnet_last_error();
    gbnet_model *back = nullptr;
    gb_optimizer opt2{};
    gb_train_state state2{};
    char *text = nullptr;
    ASSERT_EQ(gb_checkpoint_read(path.c_str(), &back, &opt2, &state2, &text), GBNET_OK) << gbnet_last_error();
    gbnet_ranks want = mixed_ranks(), got;
    gbnet_model_get_ranks(back, &got);
    EXPECT_EQ(std::memcmp(&want, &got, sizeof want), 0);
    ASSERT_EQ(back->layout.total, m->layout.total);
    EXPECT_EQ(std::memcmp(back->params, m->params, m->layout.total * sizeof(double)), 0);
    free(text);
    free(state2.ema);
    gb_optimizer_free(&opt);
    gb_optimizer_free(&opt2);
    gbnet_model_free(back);
    gbnet_model_free(m);
}

// ------------------------------------------------------------------ training

struct LowRankTrain : ::testing::Test {
    std::string dir = temp_dir();
    std::vector<double> train_losses;  // epochs 1.. (epoch 0 is the untrained report)
    std::string messages;
    void SetUp() override {
        ethanol_slice(dir, "train.extxyz", 0, 24);
        ethanol_slice(dir, "valid.extxyz", 500, 8);
    }
    gbnet_status train(const std::string &extra, const char *resume = nullptr) {
        std::string cfg = "train_data = train.extxyz\nvalid_data = valid.extxyz\n"
                          "features = 12\nblocks = 2\nrbf = 10\nreadout = 6\ncutoff = 4.0\n"
                          "w_energy = 10\nw_forces = 1\nbatch_size = 8\nlr = 0.01\nthreads = 1\nseed = 3\n" +
                          extra;
        std::string path = write_file(dir + "/train.cfg", cfg);
        gbnet_train_config *c = nullptr;
        gbnet_status st = gbnet_train_config_create(&c);
        if (!st) st = gbnet_train_config_read(c, path.c_str());
        gbnet_train_callbacks hooks{};
        hooks.ctx = this;
        hooks.message = [](void *ctx, const char *text) { ((LowRankTrain *)ctx)->messages += std::string(text) + "\n"; };
        hooks.epoch_done = [](void *ctx, const gbnet_epoch_report *r) {
            if (r->epoch > 0) ((LowRankTrain *)ctx)->train_losses.push_back(r->train_loss);
        };
        gbnet_trainer *t = nullptr;
        std::string resume_path = resume ? dir + "/" + resume : "";
        if (!st) st = gbnet_trainer_create(&t, c, resume ? resume_path.c_str() : nullptr, "test", &hooks);
        if (!st) st = gbnet_trainer_run(t);
        gbnet_trainer_free(t);
        gbnet_train_config_free(c);
        return st;
    }
};

TEST_F(LowRankTrain, TrainsFactorsFromRandomInitAndFineTuningKeepsThem) {
    ASSERT_EQ(train("rank = 4\nepochs = 12\noutput = r4.gbnet\n"), GBNET_OK) << gbnet_last_error() << messages;
    ASSERT_EQ(train_losses.size(), 12u);
    std::string all;
    for (double v : train_losses) all += " " + std::to_string(v);
    // 36 steps from a random init: the training loss falls (it rises with wrong factor gradients)
    EXPECT_LT(train_losses.back(), 0.9 * train_losses.front()) << all;
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, (dir + "/r4.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_ranks r;
    gbnet_model_get_ranks(m, &r);
    EXPECT_EQ(r.in[0], 4);
    EXPECT_EQ(r.out2[1], 4);
    EXPECT_EQ(r.readout, 4);
    gbnet_model_free(m);

    // a resumed run keeps the checkpoint's factors; other ranks in the configuration are refused
    EXPECT_EQ(train("rank = 3\nepochs = 13\noutput = r4.gbnet\n", "train.ckpt"), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("ranks differ from the configuration's (rank = 3)"),
              std::string::npos) << gbnet_last_error();
    train_losses.clear();
    ASSERT_EQ(train("rank = 4\nepochs = 13\noutput = r4.gbnet\n", "train.ckpt"), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(train_losses.size(), 1u);  // epoch 13 only

    // fine-tuning keeps the factors; asking for other ranks is refused
    ASSERT_EQ(train("init_from = r4.gbnet\nepochs = 1\noutput = ft.gbnet\ncheckpoint = ft.ckpt\n"), GBNET_OK)
        << gbnet_last_error() << messages;
    ASSERT_EQ(gbnet_model_load(&m, (dir + "/ft.gbnet").c_str()), GBNET_OK);
    gbnet_ranks r2;
    gbnet_model_get_ranks(m, &r2);
    EXPECT_EQ(std::memcmp(&r, &r2, sizeof r), 0);
    gbnet_model_free(m);
    EXPECT_EQ(train("init_from = r4.gbnet\nrank = 3\nepochs = 1\noutput = ft2.gbnet\ncheckpoint = ft2.ckpt\n"),
              GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("keeps its architecture"), std::string::npos) << gbnet_last_error();
    // a rank beyond the layer: the configuration error names the key's line
    EXPECT_EQ(train("rank = in=12\nepochs = 1\n"), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("valid: 1..11"), std::string::npos) << gbnet_last_error();
}

// ------------------------------------------------------------------ the command

namespace {

bool has(const std::string &text, const std::string &needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST(LowRank, CompressRankSpectrumInfoAndErrors) {
    std::string dir = temp_dir();
    gbnet_model *m = small_model(small_hyperparams(8, 2, 6, 4, 4.0, {1, 6, 8}), 5, 0.5);
    ASSERT_NE(m, nullptr);
    std::string in = dir + "/in.gbnet", tab = dir + "/tab.gbnet", out = dir + "/out.gbnet";
    ASSERT_EQ(gbnet_model_save(m, in.c_str()), GBNET_OK);
    ASSERT_EQ(gbnet_model_tabulate(m, 64), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(m, tab.c_str()), GBNET_OK);
    gbnet_model_free(m);
    std::string data = ethanol_slice(dir, "check.extxyz", 0, 3);

    CliRun r = run_gbnet("compress --rank 3 --tabulate --points 64 " + in + " " + out + " --check " + data);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(has(r.out, "dense layers: in 3/8, out1 3/8, out2 3/8, readout 3/4")) << r.out;
    EXPECT_TRUE(has(r.out, "deviation from the exact model on 3 frames")) << r.out;
    CliRun info = run_gbnet("info " + out);
    ASSERT_EQ(info.rc, 0) << info.err;
    EXPECT_TRUE(has(info.out, "dense layers:    in 3/8, out1 3/8, out2 3/8, readout 3/4")) << info.out;
    EXPECT_TRUE(has(info.out, "filters:         tabulated (64 grid points")) << info.out;
    EXPECT_TRUE(has(info.out, "dense layers in 3/8, out1 3/8")) << info.out;  // in the provenance
    EXPECT_TRUE(has(run_gbnet("info " + in).out, "dense layers:    full"));

    // a table of the input is kept without --tabulate; --energy picks per layer
    r = run_gbnet("compress --rank out1=2 --energy 0.5 " + tab + " " + out);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(has(r.out, "out1 2/8")) << r.out;
    info = run_gbnet("info " + out);
    EXPECT_TRUE(has(info.out, "filters:         tabulated (64 grid points")) << info.out;

    r = run_gbnet("compress --spectrum " + in);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(has(r.out, "block 1 out2 (8 values): rank for 90%")) << r.out;
    EXPECT_TRUE(has(r.out, "readout (4 values)")) << r.out;

    r = run_gbnet("compress --rank 8 " + in + " " + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(has(r.err, "rank 8 for block 0's in layer (8 x 8): valid ranks are 1..7")) << r.err;
    r = run_gbnet("compress --rank readout=4 " + in + " " + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(has(r.err, "readout layer (4 x 8): valid ranks are 1..3")) << r.err;
    for (const char *e : {"0", "1.5", "-0.1"}) {
        r = run_gbnet(std::string("compress --energy ") + e + " " + in + " " + out);
        EXPECT_EQ(r.rc, 2) << e;
        EXPECT_TRUE(has(r.err, "--energy must be in (0, 1]")) << r.err;
    }
    r = run_gbnet("compress --rank 3,4 " + in + " " + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(has(r.err, "--rank: rank '3,4'")) << r.err;
}
