// The batched network against finite differences in double precision:
// forces (dE/dr), parameter gradients, the tangent sweep and the dual
// backward used for exact force/stress training. Graphs are built by brute
// force here so the network is tested independently of the neighbor lists.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "test_graph.h"
#include "test_util.h"

extern "C" {
#include "forces.h"
#include "gbnet.h"
#include "model.h"
#include "schnet.h"
#include "workspace.h"
}

namespace {

struct Fixture {
    gbnet_model *model = nullptr;
    std::vector<double> pos;
    std::vector<int> species;
    double rc = 3.0;
    Fixture(int n_atoms = 7, unsigned seed = 3) {
        model = small_model(small_hyperparams(6, 3, 5, 4, rc, {1, 6, 8}), 42, 0.7, -0.3, {-13.6, -1025.3, -2035.6});
        pos = random_molecule(n_atoms, seed, 2.6);
        for (int i = 0; i < n_atoms; ++i) species.push_back(i % 3);
    }
    ~Fixture() { gbnet_model_free(model); }
};

double energy_of(gb_net_f64 *net, const Graph &g) {
    gb_batch b = g.batch();
    double e = 0;
    EXPECT_EQ(gb_forward_f64(net, &b, GB_PASS_EVALUATE, nullptr, &e), GBNET_OK);
    return e;
}

}  // namespace

TEST(Schnet, ForcesMatchFiniteDifferences) {
    Fixture fx;
    // Reference energies are constants; large ones would only add round-off
    // to the finite differences of the total energy.
    double zero_ref[3] = {0, 0, 0};
    gbnet_model_set_normalization(fx.model, 0.7, -0.3, zero_ref);
    gb_net_f64 *net = gb_net_create_f64(fx.model);
    Graph g = brute_graph(fx.pos, fx.species, fx.rc);
    gb_batch b = g.batch();
    std::vector<double> ones(fx.species.size(), 1.0), dbar(g.neighbor.size());
    double e0 = 0;
    ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_EVALUATE, nullptr, &e0), GBNET_OK);
    ASSERT_EQ(gb_backward_f64(net, &b, ones.data(), nullptr, nullptr, dbar.data()), GBNET_OK);
    int n = (int)fx.species.size();
    std::vector<double> forces(3 * n), virial(9, 0.0);
    gb_forces_from_dbar(forces.data(), virial.data(), dbar.data(), g.vec.data(), g.offsets.data(), g.neighbor.data(),
                        n, n);
    const double h = 1e-5;
    double max_f = 0;
    for (double f : forces) max_f = std::max(max_f, std::fabs(f));
    ASSERT_GT(max_f, 1e-3);  // the test means nothing on a flat landscape
    for (int k = 0; k < 3 * n; ++k) {
        std::vector<double> p = fx.pos;
        p[k] += h;
        double ep = energy_of(net, brute_graph(p, fx.species, fx.rc));
        p[k] -= 2 * h;
        double em = energy_of(net, brute_graph(p, fx.species, fx.rc));
        double fd = -(ep - em) / (2 * h);
        EXPECT_NEAR(forces[k], fd, 1e-6 * max_f) << "component " << k;
    }
    // virial of a molecule: -sum_i r_i (x) dE/dr_i = sum_i r_i (x) f_i
    for (int a = 0; a < 3; ++a)
        for (int c = 0; c < 3; ++c) {
            double w = 0;
            for (int i = 0; i < n; ++i) w += fx.pos[3 * i + a] * forces[3 * i + c];
            EXPECT_NEAR(virial[3 * a + c], w, 1e-10 * max_f);
        }
    gb_net_free_f64(net);
}

TEST(Schnet, ParameterGradientMatchesFiniteDifferences) {
    Fixture fx(6);
    gb_net_f64 *net = gb_net_create_f64(fx.model);
    Graph g = brute_graph(fx.pos, fx.species, fx.rc);
    gb_batch b = g.batch();
    int n = (int)fx.species.size();
    std::vector<double> ebar(n);
    for (int i = 0; i < n; ++i) ebar[i] = 0.5 + 0.1 * i;  // a weighted sum of atom energies
    size_t P = fx.model->layout.total;
    std::vector<double> grad(P, 0.0), atom_e(n);
    ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_TRAIN, atom_e.data(), nullptr), GBNET_OK);
    ASSERT_EQ(gb_backward_f64(net, &b, ebar.data(), nullptr, grad.data(), nullptr), GBNET_OK);
    auto objective = [&](const std::vector<double> &params) {
        gb_net_load_params_f64(net, params.data());
        std::vector<double> ae(n);
        EXPECT_EQ(gb_forward_f64(net, &b, GB_PASS_EVALUATE, ae.data(), nullptr), GBNET_OK);
        double s = 0;
        for (int i = 0; i < n; ++i) s += ebar[i] * ae[i];
        return s;
    };
    std::vector<double> params(fx.model->params, fx.model->params + P);
    const double h = 1e-6;
    double max_g = 0;
    for (double v : grad) max_g = std::max(max_g, std::fabs(v));
    for (size_t k = 0; k < P; ++k) {
        std::vector<double> p = params;
        p[k] += h;
        double op = objective(p);
        p[k] -= 2 * h;
        double om = objective(p);
        EXPECT_NEAR(grad[k], (op - om) / (2 * h), 1e-6 * max_g) << "parameter " << k;
    }
    gb_net_free_f64(net);
}

// E_dot (tangent sweep) equals sum_e dE/dd_e d_dot_e, and the dual backward
// gives the parameter gradient of a E + b E_dot.
TEST(Schnet, DualBackwardMatchesFiniteDifferences) {
    Fixture fx(6, 11);
    gb_net_f64 *net = gb_net_create_f64(fx.model);
    Graph g = brute_graph(fx.pos, fx.species, fx.rc);
    gb_batch b = g.batch();
    int n = (int)fx.species.size(), E = (int)g.neighbor.size();
    std::mt19937 rng(5);
    std::normal_distribution<double> normal;
    std::vector<double> ddot(E);
    for (double &v : ddot) v = normal(rng);
    std::vector<double> ones(n, 1.0), dbar(E), ae(n), aedot(n);
    ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_EVALUATE, ae.data(), nullptr), GBNET_OK);
    ASSERT_EQ(gb_backward_f64(net, &b, ones.data(), nullptr, nullptr, dbar.data()), GBNET_OK);
    double edot_ref = 0;
    for (int e = 0; e < E; ++e) edot_ref += dbar[e] * ddot[e];
    ASSERT_EQ(gb_forward_f64(net, &b, GB_PASS_TRAIN, ae.data(), nullptr), GBNET_OK);
    ASSERT_EQ(gb_tangent_f64(net, &b, ddot.data(), aedot.data()), GBNET_OK);
    double edot = 0;
    for (int i = 0; i < n; ++i) edot += aedot[i];
    EXPECT_NEAR(edot, edot_ref, 1e-11 * std::fabs(edot_ref) + 1e-13);

    std::vector<double> ebar(n), ebar_dot(n);
    for (int i = 0; i < n; ++i) {
        ebar[i] = 0.3 + 0.05 * i;
        ebar_dot[i] = -0.7 + 0.2 * i;
    }
    size_t P = fx.model->layout.total;
    std::vector<double> grad(P, 0.0);
    ASSERT_EQ(gb_backward_f64(net, &b, ebar.data(), ebar_dot.data(), grad.data(), nullptr), GBNET_OK);
    auto objective = [&](const std::vector<double> &params) {
        gb_net_load_params_f64(net, params.data());
        std::vector<double> e(n), ed(n);
        EXPECT_EQ(gb_forward_f64(net, &b, GB_PASS_TRAIN, e.data(), nullptr), GBNET_OK);
        EXPECT_EQ(gb_tangent_f64(net, &b, ddot.data(), ed.data()), GBNET_OK);
        double s = 0;
        for (int i = 0; i < n; ++i) s += ebar[i] * e[i] + ebar_dot[i] * ed[i];
        return s;
    };
    std::vector<double> params(fx.model->params, fx.model->params + P);
    const double h = 1e-6;
    double max_g = 0;
    for (double v : grad) max_g = std::max(max_g, std::fabs(v));
    for (size_t k = 0; k < P; ++k) {
        std::vector<double> p = params;
        p[k] += h;
        double op = objective(p);
        p[k] -= 2 * h;
        double om = objective(p);
        EXPECT_NEAR(grad[k], (op - om) / (2 * h), 1e-6 * max_g) << "parameter " << k;
    }
    gb_net_free_f64(net);
}

TEST(Schnet, SingleAgreesWithDouble) {
    Fixture fx(9, 21);
    gb_net_f64 *n64 = gb_net_create_f64(fx.model);
    gb_net_f32 *n32 = gb_net_create_f32(fx.model);
    Graph g = brute_graph(fx.pos, fx.species, fx.rc);
    gb_batch b = g.batch();
    int n = (int)fx.species.size(), E = (int)g.neighbor.size();
    std::vector<double> a64(n), a32(n), ones(n, 1.0), d64(E), d32(E);
    ASSERT_EQ(gb_forward_f64(n64, &b, GB_PASS_EVALUATE, a64.data(), nullptr), GBNET_OK);
    ASSERT_EQ(gb_forward_f32(n32, &b, GB_PASS_EVALUATE, a32.data(), nullptr), GBNET_OK);
    ASSERT_EQ(gb_backward_f64(n64, &b, ones.data(), nullptr, nullptr, d64.data()), GBNET_OK);
    ASSERT_EQ(gb_backward_f32(n32, &b, ones.data(), nullptr, nullptr, d32.data()), GBNET_OK);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(a32[i], a64[i], 1e-4 * std::fabs(a64[i]));
    double scale = 0;
    for (double v : d64) scale = std::max(scale, std::fabs(v));
    for (int e = 0; e < E; ++e) EXPECT_NEAR(d32[e], d64[e], 1e-4 * scale);
    gb_net_free_f64(n64);
    gb_net_free_f32(n32);
}

// The threaded force assembly against its reference twin (one serial pass
// over the edges), on a graph with ghost rows (neighbors beyond the centers,
// as in LAMMPS), and bitwise the same on 1, 2 and 3 threads.
TEST(Schnet, ThreadedForcesMatchReferenceAndDoNotDependOnThreads) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const int n_centers = 700, n_atoms = 1900;
    std::vector<int> offsets(n_centers + 1, 0), neighbor;
    std::vector<double> vec, dbar;
    for (int i = 0; i < n_centers; ++i) {
        int k = 20 + (int)(rng() % 30);
        for (int q = 0; q < k; ++q) {
            int j = (int)(rng() % n_atoms);
            if (j == i) j = (j + 1) % n_atoms;
            neighbor.push_back(j);
            for (int c = 0; c < 3; ++c) vec.push_back(2.0 * u(rng) + (c == 0 ? 2.5 : 0.0));
            dbar.push_back(u(rng));
        }
        offsets[i + 1] = (int)neighbor.size();
    }
    int E = (int)neighbor.size();
    // in-edges: counting sort by neighbor, stable in edge order
    std::vector<int> in_offsets(n_atoms + 1, 0), in_edges(E);
    for (int e = 0; e < E; ++e) in_offsets[neighbor[e] + 1]++;
    for (int j = 0; j < n_atoms; ++j) in_offsets[j + 1] += in_offsets[j];
    std::vector<int> cursor(in_offsets.begin(), in_offsets.end() - 1);
    for (int e = 0; e < E; ++e) in_edges[cursor[neighbor[e]]++] = e;

    std::vector<double> f_ref(3 * n_atoms), w_ref(9, 0.0);
    gb_forces_from_dbar(f_ref.data(), w_ref.data(), dbar.data(), vec.data(), offsets.data(), neighbor.data(), n_centers,
                        n_atoms);
    std::vector<double> f1, av1, cv1, eg1;
    for (int threads : {1, 2, 3}) {
        std::vector<double> f(3 * n_atoms, 7.0), av(9 * n_atoms, 7.0), cv(9 * n_centers, 7.0), eg(3 * E, 7.0);
        gb_forces_from_dbar_threaded(f.data(), av.data(), cv.data(), eg.data(), dbar.data(), vec.data(), offsets.data(),
                                     in_offsets.data(), in_edges.data(), n_centers, n_atoms, threads);
        double fmax = 0;
        for (double x : f_ref) fmax = std::max(fmax, std::fabs(x));
        for (int k = 0; k < 3 * n_atoms; ++k) EXPECT_NEAR(f[k], f_ref[k], 1e-12 * fmax) << k;
        double w[9] = {0}, wa[9] = {0};
        for (int i = 0; i < n_centers; ++i)
            for (int k = 0; k < 9; ++k) w[k] += cv[9 * i + k];
        for (int i = 0; i < n_atoms; ++i)
            for (int k = 0; k < 9; ++k) wa[k] += av[9 * i + k];
        for (int k = 0; k < 9; ++k) {
            EXPECT_NEAR(w[k], w_ref[k], 1e-10 * (1 + std::fabs(w_ref[k])));
            EXPECT_NEAR(wa[k], w_ref[k], 1e-10 * (1 + std::fabs(w_ref[k])));
        }
        for (int e = 0; e < E; ++e) {
            double len = std::sqrt(vec[3 * e] * vec[3 * e] + vec[3 * e + 1] * vec[3 * e + 1] + vec[3 * e + 2] * vec[3 * e + 2]);
            for (int c = 0; c < 3; ++c) EXPECT_NEAR(eg[3 * e + c], dbar[e] * vec[3 * e + c] / len, 1e-15);
        }
        if (threads == 1) {
            f1 = f, av1 = av, cv1 = cv, eg1 = eg;
        } else {
            EXPECT_TRUE(f == f1 && av == av1 && cv == cv1 && eg == eg1) << threads << " threads differ from 1";
        }
    }
}
