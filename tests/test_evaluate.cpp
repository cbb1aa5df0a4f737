// gbnet_evaluate and gbnet_evaluate_graph on real structures: forces and
// virial against finite differences (ethanol, water, skewed Ta cells),
// invariances, a periodic cell against its explicit supercell, batch
// invariance, ghost atoms with exchange callbacks, thread-count
// independence, and single vs double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
#include "model.h"
#include "neighbor.h"
}

namespace {

struct Structure {
    std::vector<int> species;
    std::vector<double> pos;
    double cell[9] = {0};
    int pbc[3] = {0, 0, 0};
    bool periodic = false;
    gbnet_structure view() const {
        gbnet_structure s{};
        s.n_atoms = (int)species.size();
        s.species = species.data();
        s.positions = pos.data();
        s.cell = periodic ? cell : nullptr;
        for (int c = 0; c < 3; ++c) s.pbc[c] = pbc[c];
        return s;
    }
};

struct Out {
    double energy = 0;
    double virial[9] = {0};
    std::vector<double> forces, atom_e;
};

gbnet_model *make_model(double rc = 4.0, int F = 8, int T = 3) {
    return small_model(small_hyperparams(F, T, 10, 6, rc, {1, 6, 8, 73}), 1234, 1.3, 0.05, {0.1, -0.2, 0.3, -0.4});
}

Structure from_frame(const gbnet_model *m, const gbnet_frame &f) {
    Structure s;
    for (int i = 0; i < f.n_atoms; ++i) s.species.push_back(gbnet_model_element_of_z(m, f.z[i]));
    s.pos.assign(f.pos, f.pos + 3 * f.n_atoms);
    if (f.has_cell) {
        memcpy(s.cell, f.cell, sizeof s.cell);
        s.periodic = true;
    }
    for (int c = 0; c < 3; ++c) s.pbc[c] = f.pbc[c];
    return s;
}

Out eval(gbnet_workspace *ws, const Structure &s) {
    Out o;
    o.forces.resize(s.pos.size());
    o.atom_e.resize(s.species.size());
    gbnet_structure v = s.view();
    gbnet_result r{};
    r.forces = o.forces.data();
    r.atom_energies = o.atom_e.data();
    EXPECT_EQ(gbnet_evaluate(ws, 1, &v, &r), GBNET_OK) << gbnet_last_error();
    o.energy = r.energy;
    memcpy(o.virial, r.virial, sizeof o.virial);
    return o;
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

struct Data {
    gbnet_dataset eth{}, water{}, ta{};
    Data() {
        EXPECT_EQ(gbnet_read_extxyz(&eth, data_path("rmd17_ethanol/rmd17_ethanol_test.extxyz").c_str()), GBNET_OK);
        EXPECT_EQ(gbnet_read_extxyz(&water, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
        EXPECT_EQ(gbnet_read_extxyz(&ta, data_path("fitsnap_ta/fitsnap_ta.extxyz").c_str()), GBNET_OK);
    }
    ~Data() {
        gbnet_dataset_free(&eth);
        gbnet_dataset_free(&water);
        gbnet_dataset_free(&ta);
    }
};

Data &data() {
    static Data d;
    return d;
}

// Forces = -dE/dr and virial = -dE/d(strain) by central differences, relative
// to the largest component (1e-6 required by the issue).
void check_fd(const Structure &s0, double rc, int n_checked_atoms) {
    gbnet_model *m = make_model(rc);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    Out o = eval(ws, s0);
    double fmax = 0;
    for (double f : o.forces) fmax = std::max(fmax, std::fabs(f));
    ASSERT_GT(fmax, 1e-4);
    const double h = 1e-4;
    int n = (int)s0.species.size();
    double worst = 0;
    for (int i = 0; i < std::min(n, n_checked_atoms); ++i)
        for (int c = 0; c < 3; ++c) {
            Structure s = s0;
            s.pos[3 * i + c] += h;
            double ep = eval(ws, s).energy;
            s.pos[3 * i + c] -= 2 * h;
            double em = eval(ws, s).energy;
            double fd = -(ep - em) / (2 * h);
            worst = std::max(worst, std::fabs(fd - o.forces[3 * i + c]) / fmax);
        }
    EXPECT_LT(worst, 1e-6) << "max force error relative to max |F|";
    if (s0.periodic) {
        // W_ab = -dE/d(eps_ab), positions and cell deformed by (I + eps)
        double wmax = 0;
        for (double v : o.virial) wmax = std::max(wmax, std::fabs(v));
        double vworst = 0;
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) {
                double e2[2];
                for (int sgn = 0; sgn < 2; ++sgn) {
                    double eps = sgn ? -h : h;
                    Structure s = s0;
                    for (int k = 0; k < n; ++k) s.pos[3 * k + b] = s0.pos[3 * k + b] + eps * s0.pos[3 * k + a];
                    for (int r = 0; r < 3; ++r) s.cell[3 * r + b] = s0.cell[3 * r + b] + eps * s0.cell[3 * r + a];
                    e2[sgn] = eval(ws, s).energy;
                }
                double fd = -(e2[0] - e2[1]) / (2 * h);
                vworst = std::max(vworst, std::fabs(fd - o.virial[3 * a + b]) / wmax);
            }
        EXPECT_LT(vworst, 1e-6) << "max virial error relative to max |W|";
    }
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

}  // namespace

TEST(Evaluate, EthanolForcesMatchFiniteDifferences) {
    gbnet_model *m = make_model();
    check_fd(from_frame(m, data().eth.frames[0]), 4.0, 9);
    gbnet_model_free(m);
}

TEST(Evaluate, WaterForcesAndVirialMatchFiniteDifferences) {
    gbnet_model *m = make_model();
    check_fd(from_frame(m, data().water.frames[0]), 4.0, 6);
    gbnet_model_free(m);
}

TEST(Evaluate, SkewedSmallTaCellsMatchFiniteDifferences) {
    gbnet_model *m = make_model();
    int checked = 0;
    for (int f = 0; f < data().ta.n_frames && checked < 3; ++f) {
        const gbnet_frame &fr = data().ta.frames[f];
        // strained (non-orthogonal) cells of 2-4 atoms: many images of each neighbor
        bool skewed = std::fabs(fr.cell[1]) + std::fabs(fr.cell[2]) + std::fabs(fr.cell[3]) > 1e-3;
        if (fr.n_atoms <= 4 && skewed) {
            // displace the atoms: the strained crystals are symmetric, with zero forces
            Structure s = from_frame(m, fr);
            for (size_t k = 0; k < s.pos.size(); ++k) s.pos[k] += 0.15 * std::sin(1.7 * k + f);
            check_fd(s, 4.0, fr.n_atoms);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 3);
    gbnet_model_free(m);
}

TEST(Evaluate, InvariantUnderTranslationRotationPermutation) {
    gbnet_model *m = make_model();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    for (int which = 0; which < 2; ++which) {
        Structure s = from_frame(m, which == 0 ? data().eth.frames[3] : data().water.frames[5]);
        Out o = eval(ws, s);
        int n = (int)s.species.size();
        // translation (periodic: any shift, atoms may leave the cell)
        Structure t = s;
        for (int i = 0; i < n; ++i) {
            t.pos[3 * i] += 0.37;
            t.pos[3 * i + 1] -= 1.91;
            t.pos[3 * i + 2] += 5.3;
        }
        Out ot = eval(ws, t);
        EXPECT_LT(rel(ot.energy, o.energy), 1e-12);
        for (size_t k = 0; k < o.forces.size(); ++k) EXPECT_NEAR(ot.forces[k], o.forces[k], 1e-10);
        // rotation: positions and cell rotated together
        double a = 0.7, b = -0.4, R[9];
        double ca = cos(a), sa = sin(a), cb = cos(b), sb = sin(b);
        double Rz[9] = {ca, -sa, 0, sa, ca, 0, 0, 0, 1}, Rx[9] = {1, 0, 0, 0, cb, -sb, 0, sb, cb};
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) {
                R[3 * i + j] = 0;
                for (int k = 0; k < 3; ++k) R[3 * i + j] += Rz[3 * i + k] * Rx[3 * k + j];
            }
        auto rot = [&](const double *v, double *out) {
            for (int i = 0; i < 3; ++i) out[i] = R[3 * i] * v[0] + R[3 * i + 1] * v[1] + R[3 * i + 2] * v[2];
        };
        Structure r = s;
        for (int i = 0; i < n; ++i) rot(&s.pos[3 * i], &r.pos[3 * i]);
        for (int k = 0; k < 3; ++k) rot(&s.cell[3 * k], &r.cell[3 * k]);
        Out orr = eval(ws, r);
        EXPECT_LT(rel(orr.energy, o.energy), 1e-12);
        for (int i = 0; i < n; ++i) {
            double fr[3];
            rot(&o.forces[3 * i], fr);
            for (int c = 0; c < 3; ++c) EXPECT_NEAR(orr.forces[3 * i + c], fr[c], 1e-10);
        }
        // permutation
        std::vector<int> perm(n);
        for (int i = 0; i < n; ++i) perm[i] = (i * 7 + 3) % n;
        if (n % 7 == 0) std::reverse(perm.begin(), perm.end());
        std::vector<bool> seen(n, false);
        bool ok = true;
        for (int i = 0; i < n; ++i) ok = ok && !seen[perm[i]], seen[perm[i]] = true;
        if (!ok)
            for (int i = 0; i < n; ++i) perm[i] = n - 1 - i;
        Structure p = s;
        for (int i = 0; i < n; ++i) {
            p.species[i] = s.species[perm[i]];
            for (int c = 0; c < 3; ++c) p.pos[3 * i + c] = s.pos[3 * perm[i] + c];
        }
        Out op = eval(ws, p);
        EXPECT_LT(rel(op.energy, o.energy), 1e-12);
        for (int i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) EXPECT_NEAR(op.forces[3 * i + c], o.forces[3 * perm[i] + c], 1e-10);
    }
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

TEST(Evaluate, PeriodicCellEqualsExplicitSupercell) {
    gbnet_model *m = make_model(4.0);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    // a small skewed Ta cell, replicated 2x3x2
    const gbnet_frame *fr = nullptr;
    for (int f = 0; f < data().ta.n_frames && !fr; ++f) {
        const double *cl = data().ta.frames[f].cell;
        if (data().ta.frames[f].n_atoms == 2 && std::fabs(cl[1]) + std::fabs(cl[2]) + std::fabs(cl[3]) > 1e-3)
            fr = &data().ta.frames[f];
    }
    ASSERT_NE(fr, nullptr);
    Structure s = from_frame(m, *fr);
    s.pos[0] += 0.21;  // break the crystal's symmetry so forces are not zero
    s.pos[4] -= 0.13;
    Out o = eval(ws, s);
    int rep[3] = {2, 3, 2}, n = (int)s.species.size();
    Structure big;
    big.periodic = true;
    for (int c = 0; c < 3; ++c) big.pbc[c] = 1;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) big.cell[3 * r + c] = s.cell[3 * r + c] * rep[r];
    for (int a = 0; a < rep[0]; ++a)
        for (int b = 0; b < rep[1]; ++b)
            for (int c = 0; c < rep[2]; ++c)
                for (int i = 0; i < n; ++i) {
                    big.species.push_back(s.species[i]);
                    for (int k = 0; k < 3; ++k)
                        big.pos.push_back(s.pos[3 * i + k] + a * s.cell[k] + b * s.cell[3 + k] + c * s.cell[6 + k]);
                }
    Out ob = eval(ws, big);
    int copies = rep[0] * rep[1] * rep[2];
    EXPECT_LT(rel(ob.energy, copies * o.energy), 1e-12);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(ob.virial[k], copies * o.virial[k], 1e-10 * copies);
    for (int cp = 0; cp < copies; ++cp)
        for (int i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) EXPECT_NEAR(ob.forces[3 * (cp * n + i) + c], o.forces[3 * i + c], 1e-10);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

TEST(Evaluate, EveryStructureOfAMixedPackGetsWhatItGetsAlone) {
    gbnet_model *m = make_model();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    std::vector<Structure> all;
    for (int k = 0; k < 5; ++k) all.push_back(from_frame(m, data().eth.frames[k]));
    all.push_back(from_frame(m, data().water.frames[0]));
    for (int f = 0, taken = 0; f < data().ta.n_frames && taken < 4; f += 37, ++taken) {
        all.push_back(from_frame(m, data().ta.frames[f]));
        for (size_t k = 0; k < all.back().pos.size(); ++k) all.back().pos[k] += 0.1 * std::sin(2.3 * k + f);
    }
    std::vector<Out> alone;
    for (auto &s : all) alone.push_back(eval(ws, s));
    std::vector<gbnet_structure> views;
    std::vector<gbnet_result> res(all.size());
    std::vector<Out> together(all.size());
    for (size_t k = 0; k < all.size(); ++k) {
        views.push_back(all[k].view());
        together[k].forces.resize(all[k].pos.size());
        together[k].atom_e.resize(all[k].species.size());
        res[k].forces = together[k].forces.data();
        res[k].atom_energies = together[k].atom_e.data();
    }
    ASSERT_EQ(gbnet_evaluate(ws, (int)views.size(), views.data(), res.data()), GBNET_OK);
    for (size_t k = 0; k < all.size(); ++k) {
        EXPECT_LT(rel(res[k].energy, alone[k].energy), 1e-12) << k;
        double fmax = 0;
        for (double f : alone[k].forces) fmax = std::max(fmax, std::fabs(f));
        for (size_t c = 0; c < alone[k].forces.size(); ++c)
            EXPECT_NEAR(together[k].forces[c], alone[k].forces[c], 1e-12 * fmax) << k;
        for (int c = 0; c < 9; ++c) EXPECT_NEAR(res[k].virial[c], alone[k].virial[c], 1e-12 * (std::fabs(alone[k].virial[c]) + 1));
        double sum = 0;
        for (double e : together[k].atom_e) sum += e;
        EXPECT_LT(rel(sum, res[k].energy), 1e-12);
    }
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

TEST(Evaluate, SingleAgreesWithDoubleOnWater) {
    gbnet_model *m = make_model(5.0, 32, 3);
    gbnet_workspace *w64 = nullptr, *w32 = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&w64, m, GBNET_DOUBLE), GBNET_OK);
    ASSERT_EQ(gbnet_workspace_create(&w32, m, GBNET_FLOAT), GBNET_OK);
    Structure s = from_frame(m, data().water.frames[7]);
    Out a = eval(w64, s), b = eval(w32, s);
    EXPECT_LT(std::fabs(a.energy - b.energy) / s.species.size(), 1e-5);  // eV/atom
    double worst = 0, fmax = 0;
    for (size_t k = 0; k < a.forces.size(); ++k) {
        worst = std::max(worst, std::fabs(a.forces[k] - b.forces[k]));
        fmax = std::max(fmax, std::fabs(a.forces[k]));
    }
    EXPECT_LT(worst, 1e-4 * fmax + 1e-5);
    gbnet_workspace_free(w64);
    gbnet_workspace_free(w32);
    gbnet_model_free(m);
}

TEST(Evaluate, OneAndTwoThreadsAgreeBitwise) {
    gbnet_model *m = make_model(5.0, 32, 3);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    Structure s = from_frame(m, data().water.frames[11]);
    gbnet_workspace_set_threads(ws, 1);
    Out a = eval(ws, s);
    gbnet_workspace_set_threads(ws, 2);
    Out b = eval(ws, s);
    EXPECT_EQ(a.energy, b.energy);
    for (size_t k = 0; k < a.forces.size(); ++k) EXPECT_EQ(a.forces[k], b.forces[k]) << k;
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

// A periodic structure given as owned atoms + explicit ghost copies, with
// exchange callbacks copying features owner -> ghost (forward) and summing
// ghost -> owner (reverse), as the LAMMPS pair style does.
namespace {
struct GhostCtx {
    std::vector<int> owner;  // [n_total]: owner of each row (itself for owned atoms)
    int n_local;
    int calls = 0;
};
void forward_copy(void *ctx, void *rows, int n_cols, size_t es) {
    auto *g = (GhostCtx *)ctx;
    g->calls++;
    char *r = (char *)rows;
    for (size_t i = g->n_local; i < g->owner.size(); ++i)
        memcpy(r + i * n_cols * es, r + (size_t)g->owner[i] * n_cols * es, n_cols * es);
}
void reverse_sum(void *ctx, void *rows, int n_cols, size_t es) {
    auto *g = (GhostCtx *)ctx;
    g->calls++;
    for (size_t i = g->n_local; i < g->owner.size(); ++i)
        for (int c = 0; c < n_cols; ++c) {
            if (es == sizeof(double)) {
                double *r = (double *)rows;
                r[(size_t)g->owner[i] * n_cols + c] += r[i * n_cols + c];
                r[i * n_cols + c] = 0;
            } else {
                float *r = (float *)rows;
                r[(size_t)g->owner[i] * n_cols + c] += r[i * n_cols + c];
                r[i * n_cols + c] = 0;
            }
        }
}
}  // namespace

TEST(Evaluate, GraphWithGhostsAndExchangeEqualsPeriodicEvaluation) {
    gbnet_model *m = make_model(4.0, 8, 3);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    Structure s = from_frame(m, data().water.frames[2]);
    Out o = eval(ws, s);
    int n = (int)s.species.size();
    gb_neighbor_list nl{};
    ASSERT_EQ(gb_neighbor_build(&nl, s.pos.data(), n, s.cell, s.pbc, 4.0), GBNET_OK);
    // every edge whose image shift is nonzero points at a ghost copy
    GhostCtx ctx;
    ctx.n_local = n;
    for (int i = 0; i < n; ++i) ctx.owner.push_back(i);
    std::vector<int> species = s.species, neighbor(nl.n_edges);
    for (int e = 0; e < nl.n_edges; ++e) {
        const int *S = nl.shift + 3 * e;
        if (S[0] == 0 && S[1] == 0 && S[2] == 0) {
            neighbor[e] = nl.neighbor[e];
        } else {
            neighbor[e] = (int)ctx.owner.size();
            ctx.owner.push_back(nl.neighbor[e]);
            species.push_back(s.species[nl.neighbor[e]]);
        }
    }
    int n_total = (int)ctx.owner.size();
    ASSERT_GT(n_total, n);
    gbnet_graph g{};
    g.n_local = n;
    g.n_total = n_total;
    g.species = species.data();
    g.edge_offsets = nl.offsets;
    g.edge_neighbor = neighbor.data();
    g.edge_vector = nl.vec;
    g.forward_exchange = forward_copy;
    g.reverse_exchange = reverse_sum;
    g.exchange_ctx = &ctx;
    std::vector<double> forces(3 * (size_t)n_total), atom_e(n), atom_v(9 * (size_t)n_total);
    gbnet_graph_result r{};
    r.forces = forces.data();
    r.atom_energies = atom_e.data();
    r.atom_virials = atom_v.data();
    ASSERT_EQ(gbnet_evaluate_graph(ws, &g, &r), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(ctx.calls, 2 * (m->hp.n_blocks - 1));
    EXPECT_LT(rel(r.energy, o.energy), 1e-12);
    // ghost forces belong to their owners (LAMMPS reverse-communicates them)
    std::vector<double> folded(3 * (size_t)n, 0.0);
    for (int i = 0; i < n_total; ++i)
        for (int c = 0; c < 3; ++c) folded[3 * ctx.owner[i] + c] += forces[3 * (size_t)i + c];
    for (int k = 0; k < 3 * n; ++k) EXPECT_NEAR(folded[k], o.forces[k], 1e-10);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], o.virial[k], 1e-9);
    double vsum[9] = {0};
    for (int i = 0; i < n_total; ++i)
        for (int k = 0; k < 9; ++k) vsum[k] += atom_v[9 * (size_t)i + k];
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(vsum[k], r.virial[k], 1e-9);
    // the same bits on 1 and 3 threads (rows split by rows + edges, ghosts included)
    for (int threads : {1, 3}) {
        gbnet_workspace_set_threads(ws, threads);
        std::vector<double> f2(forces.size()), e2(atom_e.size()), v2(atom_v.size());
        gbnet_graph_result r2{};
        r2.forces = f2.data();
        r2.atom_energies = e2.data();
        r2.atom_virials = v2.data();
        ASSERT_EQ(gbnet_evaluate_graph(ws, &g, &r2), GBNET_OK) << gbnet_last_error();
        EXPECT_EQ(r2.energy, r.energy) << threads;
        EXPECT_TRUE(f2 == forces && e2 == atom_e && v2 == atom_v) << threads << " threads";
        for (int k = 0; k < 9; ++k) EXPECT_EQ(r2.virial[k], r.virial[k]) << threads;
    }
    // without callbacks a graph with ghosts is refused with a message
    g.forward_exchange = nullptr;
    EXPECT_EQ(gbnet_evaluate_graph(ws, &g, &r), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("exchange"), std::string::npos);
    gb_neighbor_free(&nl);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

// A LAMMPS-style full list (built with a skin, entries carrying flag bits in
// the high bits, ilist out of order, one owned atom left out) becomes exactly
// the brute-force graph of pairs closer than rc, in list order, on any thread
// count; overlapping atoms give a numeric error naming both.
TEST(Evaluate, GraphFromFullListKeepsPairsInsideTheCutoff) {
    const double rc = 4.0, skin = 1.0;
    gbnet_model *m = make_model(rc, 8, 3);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0.0, 14.0);
    const int n_local = 600, n_total = 900, left_out = 17;
    std::vector<double> x(3 * n_total);
    for (double &v : x) v = u(rng);
    std::vector<int> ilist;
    for (int i = n_local - 1; i >= 0; --i)
        if (i != left_out) ilist.push_back(i);
    std::vector<std::vector<int>> entries(n_local);
    std::vector<int> counts(n_local, 0);
    std::vector<const int *> first(n_local);
    const int flag = 1 << 30, mask = flag - 1;
    for (int i = 0; i < n_local; ++i) {
        for (int j = 0; j < n_total; ++j) {
            double d2 = 0;
            for (int c = 0; c < 3; ++c) d2 += (x[3 * j + c] - x[3 * i + c]) * (x[3 * j + c] - x[3 * i + c]);
            if (j != i && d2 < (rc + skin) * (rc + skin)) entries[i].push_back(j | (j % 3 == 0 ? flag : 0));
        }
        counts[i] = (int)entries[i].size();
        first[i] = entries[i].data();
    }
    gbnet_full_list list{};
    list.n_listed = (int)ilist.size();
    list.centers = ilist.data();
    list.counts = counts.data();
    list.entries = first.data();
    list.index_mask = mask;
    std::vector<int> offsets1, neighbor1;
    std::vector<double> vec1;
    for (int threads : {1, 2, 3}) {
        gbnet_workspace_set_threads(ws, threads);
        gbnet_graph g{};
        g.n_local = n_local;
        g.n_total = n_total;
        ASSERT_EQ(gbnet_graph_from_full_list(ws, &g, x.data(), &list, nullptr), GBNET_OK) << gbnet_last_error();
        int E = g.edge_offsets[n_local];
        std::vector<int> offsets(g.edge_offsets, g.edge_offsets + n_local + 1), neighbor(g.edge_neighbor, g.edge_neighbor + E);
        std::vector<double> vec(g.edge_vector, g.edge_vector + 3 * E);
        if (threads == 1) {
            // against brute force, in list order
            EXPECT_EQ(offsets[left_out + 1], offsets[left_out]);
            int kept = 0;
            for (int i = 0; i < n_local; ++i) {
                int e = offsets[i];
                if (i == left_out) continue;
                for (int q = 0; q < counts[i]; ++q) {
                    int j = entries[i][q] & mask;
                    double v[3], d2 = 0;
                    for (int c = 0; c < 3; ++c) v[c] = x[3 * j + c] - x[3 * i + c], d2 += v[c] * v[c];
                    if (d2 >= rc * rc) continue;
                    ASSERT_LT(e, offsets[i + 1]);
                    EXPECT_EQ(neighbor[e], j);
                    for (int c = 0; c < 3; ++c) EXPECT_EQ(vec[3 * e + c], v[c]);
                    e++;
                    kept++;
                }
                EXPECT_EQ(e, offsets[i + 1]) << "center " << i;
            }
            EXPECT_EQ(kept, E);
            EXPECT_GT(E, 10 * n_local);
            offsets1 = offsets, neighbor1 = neighbor, vec1 = vec;
        } else {
            EXPECT_TRUE(offsets == offsets1 && neighbor == neighbor1 && vec == vec1) << threads << " threads";
        }
    }
    // atom 5 on top of atom 300 (a ghost)
    for (int c = 0; c < 3; ++c) x[3 * 300 + c] = x[3 * 5 + c] + (c == 0 ? 1e-8 : 0.0);
    for (int i = 0; i < n_local; ++i) {  // make sure the pair is listed
        bool has = false;
        for (int e : entries[i]) has |= (e & mask) == 300;
        if (i == 5 && !has) entries[i].push_back(300);
        counts[i] = (int)entries[i].size();
        first[i] = entries[i].data();
    }
    gbnet_graph g{};
    g.n_local = n_local;
    g.n_total = n_total;
    int overlap[2] = {-1, -1};
    EXPECT_EQ(gbnet_graph_from_full_list(ws, &g, x.data(), &list, overlap), GBNET_ERR_NUMERIC);
    EXPECT_EQ(overlap[0], 5);
    EXPECT_EQ(overlap[1], 300);
    EXPECT_NE(std::string(gbnet_last_error()).find("overlapping"), std::string::npos);
    // an index outside the atoms is refused
    entries[0].push_back(n_total + 4);
    counts[0]++;
    first[0] = entries[0].data();
    EXPECT_EQ(gbnet_graph_from_full_list(ws, &g, x.data(), &list, nullptr), GBNET_ERR_INVALID_ARGUMENT);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

// Found by fuzzing (issue 15): weights that are finite doubles but beyond the
// float range are refused when a float workspace is created, and a result
// that comes out non-finite is GBNET_ERR_NUMERIC naming the structure, never
// GBNET_OK with a NaN energy.
TEST(Evaluate, WeightsBeyondFloatAndNonFiniteResultsAreErrors) {
    gbnet_model *m = small_model(small_hyperparams(1, 1, 2, 1, 3.0, {1}), 3);
    ASSERT_NE(m, nullptr);
    Structure s;
    s.species = {0, 0, 0};
    s.pos = {0, 0, 0, 0.9, 0, 0, 0, 1.1, 0.2};
    gbnet_structure view = s.view();
    gbnet_result r{};
    gbnet_workspace *ws = nullptr;
    m->params[0] = 1e39;  // the embedding of H
    EXPECT_EQ(gbnet_workspace_create(&ws, m, GBNET_FLOAT), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("outside the float range"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(ws, nullptr);
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(gbnet_evaluate(ws, 1, &view, &r), GBNET_OK) << gbnet_last_error();
    EXPECT_TRUE(std::isfinite(r.energy));
    gbnet_workspace_free(ws);
    // every weight at 1e308: the double evaluation overflows
    for (size_t k = 0; k < gbnet_model_n_params(m); ++k) m->params[k] = 1e308;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    gbnet_structure two[2] = {view, view};
    gbnet_result rr[2] = {};
    EXPECT_EQ(gbnet_evaluate(ws, 2, two, rr), GBNET_ERR_NUMERIC);
    EXPECT_NE(std::string(gbnet_last_error()).find("structure 0: the energy, forces or virial are not finite"),
              std::string::npos)
        << gbnet_last_error();
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}
