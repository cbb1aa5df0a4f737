// Committees: the committee file (round trip, member 0 readable by
// gbnet_model_load, bad members refused), committee evaluation against the
// members evaluated one by one, deviations against a plain computation, the
// chosen-member output, graphs, and 1 vs 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet.h"
#include "gbnet_data.h"
}

namespace {

struct Frames {
    gbnet_dataset water{}, eth{};
    Frames() {
        EXPECT_EQ(gbnet_read_extxyz(&water, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
        EXPECT_EQ(gbnet_read_extxyz(&eth, data_path("rmd17_ethanol/rmd17_ethanol_test.extxyz").c_str()), GBNET_OK);
    }
    ~Frames() {
        gbnet_dataset_free(&water);
        gbnet_dataset_free(&eth);
    }
};
Frames &frames() {
    static Frames f;
    return f;
}

// Three members of different widths and seeds over H, C, O (rc = 4).
std::vector<gbnet_model *> make_members(double rc = 4.0) {
    std::vector<gbnet_model *> ms;
    ms.push_back(small_model(small_hyperparams(8, 3, 10, 6, rc, {1, 6, 8}), 11, 1.3, 0.05, {0.1, -0.2, 0.3}));
    ms.push_back(small_model(small_hyperparams(8, 3, 10, 6, rc, {1, 6, 8}), 12, 1.1, 0.02, {0.1, -0.2, 0.3}));
    ms.push_back(small_model(small_hyperparams(12, 2, 8, 4, rc, {1, 6, 8}), 13, 0.9, -0.01, {0.1, -0.2, 0.3}));
    return ms;
}

struct Input {
    std::vector<std::vector<int>> species;
    std::vector<gbnet_structure> views;
};

// Two water boxes (periodic) and three ethanol molecules: a mixed pack.
Input make_input(const gbnet_model *m) {
    Input in;
    std::vector<const gbnet_frame *> fs = {&frames().water.frames[0], &frames().eth.frames[0], &frames().water.frames[5],
                                           &frames().eth.frames[3], &frames().eth.frames[7]};
    in.species.resize(fs.size());
    for (size_t k = 0; k < fs.size(); ++k) {
        const gbnet_frame *f = fs[k];
        in.species[k].resize(f->n_atoms);
        EXPECT_EQ(gbnet_frame_species(in.species[k].data(), f, gbnet_model_hyperparams(m)), GBNET_OK);
        gbnet_structure s{};
        s.n_atoms = f->n_atoms;
        s.species = in.species[k].data();
        s.positions = f->pos;
        s.cell = f->has_cell ? f->cell : nullptr;
        for (int c = 0; c < 3; ++c) s.pbc[c] = f->pbc[c];
        in.views.push_back(s);
    }
    return in;
}

struct Out {
    std::vector<double> energy, virial, forces, atom_e;  // [n], [n][9], per structure concatenated
};

// Every member alone through gbnet_evaluate.
std::vector<std::vector<gbnet_result>> member_results(const std::vector<gbnet_model *> &ms, const Input &in,
                                                      std::vector<std::vector<std::vector<double>>> &forces,
                                                      std::vector<std::vector<std::vector<double>>> &atom_e) {
    std::vector<std::vector<gbnet_result>> all;
    forces.assign(ms.size(), {});
    atom_e.assign(ms.size(), {});
    for (size_t m = 0; m < ms.size(); ++m) {
        gbnet_workspace *ws = nullptr;
        EXPECT_EQ(gbnet_workspace_create(&ws, ms[m], GBNET_DOUBLE), GBNET_OK);
        std::vector<gbnet_result> res(in.views.size());
        forces[m].resize(in.views.size());
        atom_e[m].resize(in.views.size());
        for (size_t k = 0; k < in.views.size(); ++k) {
            forces[m][k].resize(3 * in.views[k].n_atoms);
            atom_e[m][k].resize(in.views[k].n_atoms);
            res[k].forces = forces[m][k].data();
            res[k].atom_energies = atom_e[m][k].data();
        }
        EXPECT_EQ(gbnet_evaluate(ws, (int)in.views.size(), in.views.data(), res.data()), GBNET_OK) << gbnet_last_error();
        all.push_back(res);
        gbnet_workspace_free(ws);
    }
    return all;
}

double pop_std(const std::vector<double> &x) {
    double mean = 0, s = 0;
    for (double v : x) mean += v;
    mean /= x.size();
    for (double v : x) s += (v - mean) * (v - mean);
    return std::sqrt(s / x.size());
}

struct CommitteeOut {
    std::vector<gbnet_result> res;
    std::vector<gbnet_committee_deviation> dev;
    std::vector<std::vector<double>> forces, atom_e, atom_dev, member_e;
};

CommitteeOut evaluate_committee(gbnet_committee_workspace *cws, const Input &in, int M) {
    CommitteeOut o;
    size_t n = in.views.size();
    o.res.resize(n);
    o.dev.resize(n);
    o.forces.resize(n);
    o.atom_e.resize(n);
    o.atom_dev.resize(n);
    o.member_e.resize(n);
    for (size_t k = 0; k < n; ++k) {
        o.forces[k].resize(3 * in.views[k].n_atoms);
        o.atom_e[k].resize(in.views[k].n_atoms);
        o.atom_dev[k].resize(in.views[k].n_atoms);
        o.member_e[k].resize(M);
        o.res[k].forces = o.forces[k].data();
        o.res[k].atom_energies = o.atom_e[k].data();
        o.dev[k].atom_force_deviations = o.atom_dev[k].data();
        o.dev[k].member_energies = o.member_e[k].data();
    }
    EXPECT_EQ(gbnet_committee_evaluate(cws, (int)n, in.views.data(), o.res.data(), o.dev.data()), GBNET_OK)
        << gbnet_last_error();
    return o;
}

class CommitteeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        members = make_members();
        std::vector<const gbnet_model *> c(members.begin(), members.end());
        ASSERT_EQ(gbnet_committee_create(&committee, c.data(), (int)c.size()), GBNET_OK) << gbnet_last_error();
        input = make_input(members[0]);
    }
    void TearDown() override {
        gbnet_committee_free(committee);
        for (auto *m : members) gbnet_model_free(m);
    }
    std::vector<gbnet_model *> members;
    gbnet_committee *committee = nullptr;
    Input input;
};

TEST_F(CommitteeTest, MeanEqualsMembersOneByOneAndDeviationsEqualPlainComputation) {
    const int M = (int)members.size();
    ASSERT_EQ(gbnet_committee_size(committee), M);
    std::vector<std::vector<std::vector<double>>> mf, ma;
    auto alone = member_results(members, input, mf, ma);
    gbnet_committee_workspace *cws = nullptr;
    ASSERT_EQ(gbnet_committee_workspace_create(&cws, committee, GBNET_DOUBLE), GBNET_OK);
    CommitteeOut o = evaluate_committee(cws, input, M);
    for (size_t k = 0; k < input.views.size(); ++k) {
        int n = input.views[k].n_atoms;
        std::vector<double> es;
        double emean = 0;
        for (int m = 0; m < M; ++m) {
            es.push_back(alone[m][k].energy);
            emean += alone[m][k].energy;
            EXPECT_EQ(o.member_e[k][m], alone[m][k].energy);
        }
        emean /= M;
        EXPECT_NEAR(o.res[k].energy, emean, 1e-12 * std::fabs(emean));
        EXPECT_NEAR(o.dev[k].energy_deviation, pop_std(es) / n, 1e-12);
        EXPECT_GT(o.dev[k].energy_deviation, 0.0);
        double fmax = 0, fmin = 1e300, fsum = 0;
        for (int i = 0; i < n; ++i) {
            double mean[3] = {0, 0, 0}, ss = 0, emean_i = 0;
            for (int m = 0; m < M; ++m) {
                for (int c = 0; c < 3; ++c) mean[c] += mf[m][k][3 * i + c] / M;
                emean_i += ma[m][k][i] / M;
            }
            for (int m = 0; m < M; ++m)
                for (int c = 0; c < 3; ++c) ss += std::pow(mf[m][k][3 * i + c] - mean[c], 2);
            double dev = std::sqrt(ss / M);
            EXPECT_NEAR(o.atom_dev[k][i], dev, 1e-12 * (1 + dev));
            for (int c = 0; c < 3; ++c) EXPECT_NEAR(o.forces[k][3 * i + c], mean[c], 1e-12 * (1 + std::fabs(mean[c])));
            EXPECT_NEAR(o.atom_e[k][i], emean_i, 1e-12 * (1 + std::fabs(emean_i)));
            fmax = std::max(fmax, dev);
            fmin = std::min(fmin, dev);
            fsum += dev;
        }
        EXPECT_NEAR(o.dev[k].force_deviation_max, fmax, 1e-12);
        EXPECT_NEAR(o.dev[k].force_deviation_min, fmin, 1e-12);
        EXPECT_NEAR(o.dev[k].force_deviation_mean, fsum / n, 1e-12);
        EXPECT_GT(o.dev[k].force_deviation_max, o.dev[k].force_deviation_min);
        double vmax = 0, vmin = 1e300, vsq = 0;
        for (int c = 0; c < 9; ++c) {
            std::vector<double> w;
            double wmean = 0;
            for (int m = 0; m < M; ++m) {
                w.push_back(alone[m][k].virial[c]);
                wmean += alone[m][k].virial[c] / M;
            }
            EXPECT_NEAR(o.res[k].virial[c], wmean, 1e-12 * (1 + std::fabs(wmean)));
            double s = pop_std(w) / n;
            vmax = std::max(vmax, s);
            vmin = std::min(vmin, s);
            vsq += s * s;
        }
        EXPECT_NEAR(o.dev[k].virial_deviation_max, vmax, 1e-12);
        EXPECT_NEAR(o.dev[k].virial_deviation_min, vmin, 1e-12);
        EXPECT_NEAR(o.dev[k].virial_deviation_mean, std::sqrt(vsq / 9), 1e-12);
    }
    // a chosen member's output is that member's own prediction, bitwise
    ASSERT_EQ(gbnet_committee_workspace_set_output(cws, 2), GBNET_OK);
    CommitteeOut one = evaluate_committee(cws, input, M);
    for (size_t k = 0; k < input.views.size(); ++k) {
        EXPECT_EQ(one.res[k].energy, alone[2][k].energy);
        EXPECT_EQ(one.forces[k], mf[2][k]);
        EXPECT_EQ(one.dev[k].force_deviation_max, o.dev[k].force_deviation_max);
    }
    EXPECT_EQ(gbnet_committee_workspace_set_output(cws, 3), GBNET_ERR_INVALID_ARGUMENT);
    gbnet_committee_workspace_free(cws);
}

TEST_F(CommitteeTest, OneAndTwoThreadsAgreeBitwise) {
    const int M = (int)members.size();
    gbnet_committee_workspace *a = nullptr, *b = nullptr;
    ASSERT_EQ(gbnet_committee_workspace_create(&a, committee, GBNET_DOUBLE), GBNET_OK);
    ASSERT_EQ(gbnet_committee_workspace_create(&b, committee, GBNET_DOUBLE), GBNET_OK);
    gbnet_committee_workspace_set_threads(a, 1);
    gbnet_committee_workspace_set_threads(b, 2);
    CommitteeOut x = evaluate_committee(a, input, M), y = evaluate_committee(b, input, M);
    for (size_t k = 0; k < input.views.size(); ++k) {
        EXPECT_EQ(x.res[k].energy, y.res[k].energy);
        EXPECT_EQ(x.forces[k], y.forces[k]);
        EXPECT_EQ(x.atom_dev[k], y.atom_dev[k]);
        EXPECT_EQ(x.dev[k].energy_deviation, y.dev[k].energy_deviation);
        EXPECT_EQ(x.dev[k].virial_deviation_max, y.dev[k].virial_deviation_max);
        EXPECT_EQ(0, memcmp(x.res[k].virial, y.res[k].virial, sizeof x.res[k].virial));
    }
    gbnet_committee_workspace_free(a);
    gbnet_committee_workspace_free(b);
}

// A molecule's full neighbor list (every other atom), for graphs without ghosts.
struct MoleculeList {
    std::vector<std::vector<int>> entries;
    std::vector<int> centers, counts;
    std::vector<const int *> firsts;
    gbnet_full_list list{};
    explicit MoleculeList(int n) : entries(n), centers(n), counts(n), firsts(n) {
        for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j)
                if (j != i) entries[i].push_back(j);
            centers[i] = i;
            counts[i] = (int)entries[i].size();
            firsts[i] = entries[i].data();
        }
        list = gbnet_full_list{n, centers.data(), counts.data(), firsts.data(), ~0};
    }
};

// Member m alone (its workspace ws) on the graph of s from list: its energy,
// virial and forces are bitwise the committee's member outputs; returns the energy.
double expect_member_alone(gbnet_workspace *ws, const gbnet_structure &s, const gbnet_full_list &list, int m,
                           const std::vector<double> &menergies, const std::vector<double> &mvir,
                           const std::vector<double> &mforces) {
    int n = s.n_atoms;
    gbnet_graph gm{};
    gm.n_local = gm.n_total = n;
    gm.species = s.species;
    EXPECT_EQ(gbnet_graph_from_full_list(ws, &gm, s.positions, &list, nullptr), GBNET_OK);
    std::vector<double> fm(3 * n);
    gbnet_graph_result rm{};
    rm.forces = fm.data();
    EXPECT_EQ(gbnet_evaluate_graph(ws, &gm, &rm), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(menergies[m], rm.energy);
    EXPECT_EQ(0, memcmp(&mvir[9 * m], rm.virial, sizeof rm.virial));
    EXPECT_EQ(0, memcmp(&mforces[3 * (size_t)m * n], fm.data(), fm.size() * sizeof(double)));
    return rm.energy;
}

// A committee of ms (owned) with its workspace and the graph of ethanol
// (make_input's structure 1, no ghosts) built from its full list.
struct EthanolCommittee {
    std::vector<gbnet_model *> ms;
    gbnet_committee *committee = nullptr;
    gbnet_committee_workspace *cws = nullptr;
    Input in;
    gbnet_structure s{};
    int n = 0;
    std::unique_ptr<MoleculeList> ml;
    gbnet_graph g{};
    EthanolCommittee(std::vector<gbnet_model *> members, gbnet_precision precision) : ms(std::move(members)) {
        std::vector<const gbnet_model *> c(ms.begin(), ms.end());
        EXPECT_EQ(gbnet_committee_create(&committee, c.data(), (int)c.size()), GBNET_OK) << gbnet_last_error();
        in = make_input(ms[0]);
        s = in.views[1];
        n = s.n_atoms;
        ml = std::make_unique<MoleculeList>(n);
        EXPECT_EQ(gbnet_committee_workspace_create(&cws, committee, precision), GBNET_OK);
        g.n_local = g.n_total = n;
        g.species = s.species;
        EXPECT_EQ(gbnet_committee_graph_from_full_list(cws, &g, s.positions, &ml->list, nullptr), GBNET_OK);
    }
    ~EthanolCommittee() {
        gbnet_committee_workspace_free(cws);
        gbnet_committee_free(committee);
        for (auto *m : ms) gbnet_model_free(m);
    }
};

TEST_F(CommitteeTest, GraphEvaluationEqualsMembersOnTheSameGraph) {
    const int M = (int)members.size();
    // an ethanol molecule as a graph without ghosts, edges from a full list
    const gbnet_structure &s = input.views[1];
    int n = s.n_atoms;
    MoleculeList ml(n);
    const gbnet_full_list &list = ml.list;
    gbnet_committee_workspace *cws = nullptr;
    ASSERT_EQ(gbnet_committee_workspace_create(&cws, committee, GBNET_DOUBLE), GBNET_OK);
    gbnet_graph g{};
    g.n_local = g.n_total = n;
    g.species = s.species;
    ASSERT_EQ(gbnet_committee_graph_from_full_list(cws, &g, s.positions, &list, nullptr), GBNET_OK);
    std::vector<double> f(3 * n), ae(n), av(9 * n), mforces(3 * (size_t)M * n), menergies(M), mvir(9 * M);
    gbnet_graph_result r{};
    r.forces = f.data();
    r.atom_energies = ae.data();
    r.atom_virials = av.data();
    ASSERT_EQ(gbnet_committee_evaluate_graph(cws, &g, &r, menergies.data(), mvir.data(), mforces.data()), GBNET_OK)
        << gbnet_last_error();
    double emean = 0;
    for (int m = 0; m < M; ++m) {
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, members[m], GBNET_DOUBLE), GBNET_OK);
        emean += expect_member_alone(ws, s, list, m, menergies, mvir, mforces) / M;
        gbnet_workspace_free(ws);
    }
    EXPECT_NEAR(r.energy, emean, 1e-12 * std::fabs(emean));
    std::vector<double> dev(n);
    gbnet_committee_force_deviations(dev.data(), mforces.data(), M, n, n);
    // the structure path gives the same per-atom deviations
    CommitteeOut o = evaluate_committee(cws, input, M);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(dev[i], o.atom_dev[1][i], 1e-12 * (1 + dev[i]));
    gbnet_committee_workspace_free(cws);
}

// Without member forces or virials the mean's forces are assembled once from
// the members' mean dE/dd (committee_mean_graph): the same energies, forces,
// atom energies and virials as the mean of the members' own, up to rounding,
// with no core, one core shared by all members (evaluated once), and
// different cores (each member's own).
TEST(Committee, MeanFromTheMeanEdgeGradientsEqualsTheMeanOfTheMembers) {
    for (int cores = 0; cores < 3; ++cores) {
        SCOPED_TRACE(cores == 0 ? "no core" : cores == 1 ? "one core shared" : "different cores");
        std::vector<gbnet_model *> ms = make_members();
        const int M = (int)ms.size();
        for (int m = 0; m < M && cores > 0; ++m) {
            double o = cores == 2 ? 1.4 + 0.1 * m : 1.6;
            std::vector<double> inner(9, 0.6), outer(9, o);
            ASSERT_EQ(gbnet_model_set_zbl(ms[m], inner.data(), outer.data()), GBNET_OK) << gbnet_last_error();
        }
        EthanolCommittee ec(ms, GBNET_DOUBLE);
        gbnet_committee_workspace *cws = ec.cws;
        const gbnet_graph &g = ec.g;
        int n = ec.n;
        struct Run {
            std::vector<double> f, ae, av, me;
            gbnet_graph_result r{};
        } full, mean;
        for (Run *run : {&full, &mean}) {
            run->f.assign(3 * n, 0.0);
            run->ae.assign(n, 0.0);
            run->av.assign(9 * n, 0.0);
            run->me.assign(M, 0.0);
            run->r.forces = run->f.data();
            run->r.atom_energies = run->ae.data();
            run->r.atom_virials = run->av.data();
        }
        std::vector<double> mforces(3 * (size_t)M * n), mvir(9 * M);
        ASSERT_EQ(gbnet_committee_evaluate_graph(cws, &g, &full.r, full.me.data(), mvir.data(), mforces.data()),
                  GBNET_OK) << gbnet_last_error();
        ASSERT_EQ(gbnet_committee_evaluate_graph(cws, &g, &mean.r, mean.me.data(), nullptr, nullptr), GBNET_OK)
            << gbnet_last_error();
        double fscale = 0;
        for (double v : full.f) fscale = std::max(fscale, std::fabs(v));
        ASSERT_GT(fscale, 1e-3);
        for (int m = 0; m < M; ++m) EXPECT_EQ(mean.me[m], full.me[m]) << "member " << m;
        EXPECT_NEAR(mean.r.energy, full.r.energy, 1e-12 * std::fabs(full.r.energy));
        for (int k = 0; k < 9; ++k) EXPECT_NEAR(mean.r.virial[k], full.r.virial[k], 1e-12 * (1 + fscale)) << k;
        for (int k = 0; k < 3 * n; ++k) EXPECT_NEAR(mean.f[k], full.f[k], 1e-12 * (1 + fscale)) << k;
        for (int i = 0; i < n; ++i) EXPECT_NEAR(mean.ae[i], full.ae[i], 1e-12 * (1 + std::fabs(full.ae[i]))) << i;
        for (int k = 0; k < 9 * n; ++k) EXPECT_NEAR(mean.av[k], full.av[k], 1e-12 * (1 + fscale)) << k;
        // and the mean of the members' own forces is what both give
        for (int k = 0; k < 3 * n; ++k) {
            double sum = 0;
            for (int m = 0; m < M; ++m) sum += mforces[3 * (size_t)m * n + k];
            EXPECT_NEAR(mean.f[k], sum / M, 1e-12 * (1 + fscale)) << k;
        }
    }
}

// Tabulated members on one grid read member 0's in-edge lists, edge lengths
// and table cells (gb_ws_share_graph) instead of building their own: each
// member's energy, virial and forces are bitwise those of the member alone,
// on a graph and on packed structures, the mean path gives the same mean,
// and the members allocate no graph arrays of their own (the workspace is
// smaller than with a member on another grid, which builds its own).
TEST(Committee, TabulatedMembersShareTheGraphAndGiveTheirOwnResults) {
    size_t bytes[2] = {0, 0};
    for (int grids = 0; grids < 2; ++grids) {
        SCOPED_TRACE(grids == 0 ? "one grid" : "member 1 on another grid");
        std::vector<gbnet_model *> ms = make_members();
        const int M = (int)ms.size();
        for (int m = 0; m < M; ++m)
            ASSERT_EQ(gbnet_model_tabulate(ms[m], grids == 1 && m == 1 ? 301 : 201), GBNET_OK) << gbnet_last_error();
        EthanolCommittee ec(ms, GBNET_FLOAT);
        gbnet_committee_workspace *cws = ec.cws;
        const gbnet_graph &g = ec.g;
        const Input &in = ec.in;
        const gbnet_structure &s = ec.s;
        const MoleculeList &ml = *ec.ml;
        int n = ec.n;
        std::vector<double> f(3 * n), mforces(3 * (size_t)M * n), menergies(M), mvir(9 * M);
        gbnet_graph_result r{};
        r.forces = f.data();
        ASSERT_EQ(gbnet_committee_evaluate_graph(cws, &g, &r, menergies.data(), mvir.data(), mforces.data()), GBNET_OK)
            << gbnet_last_error();
        // the mean path (no member forces) on shared arrays: the same mean to rounding
        std::vector<double> fmean(3 * n);
        gbnet_graph_result rmean{};
        rmean.forces = fmean.data();
        ASSERT_EQ(gbnet_committee_evaluate_graph(cws, &g, &rmean, nullptr, nullptr, nullptr), GBNET_OK)
            << gbnet_last_error();
        double fscale = 0;
        for (double v : f) fscale = std::max(fscale, std::fabs(v));
        EXPECT_NEAR(rmean.energy, r.energy, 1e-12 * std::fabs(r.energy));
        for (int k = 0; k < 3 * n; ++k) EXPECT_NEAR(fmean[k], f[k], 1e-12 * fscale) << k;
        for (int k = 0; k < 9; ++k) EXPECT_NEAR(rmean.virial[k], r.virial[k], 1e-12 * (1 + fscale)) << k;
        std::vector<gbnet_result> res(in.views.size());
        std::vector<gbnet_committee_deviation> dev(in.views.size());
        std::vector<std::vector<double>> member_e(in.views.size(), std::vector<double>(M));
        for (size_t k = 0; k < in.views.size(); ++k) dev[k].member_energies = member_e[k].data();
        ASSERT_EQ(gbnet_committee_evaluate(cws, (int)in.views.size(), in.views.data(), res.data(), dev.data()),
                  GBNET_OK) << gbnet_last_error();
        for (int m = 0; m < M; ++m) {
            SCOPED_TRACE("member " + std::to_string(m));
            gbnet_workspace *ws = nullptr;
            ASSERT_EQ(gbnet_workspace_create(&ws, ms[m], GBNET_FLOAT), GBNET_OK);
            expect_member_alone(ws, s, ml.list, m, menergies, mvir, mforces);
            std::vector<gbnet_result> alone(in.views.size());
            ASSERT_EQ(gbnet_evaluate(ws, (int)in.views.size(), in.views.data(), alone.data()), GBNET_OK);
            for (size_t k = 0; k < in.views.size(); ++k) EXPECT_EQ(member_e[k][m], alone[k].energy) << "structure " << k;
            gbnet_workspace_free(ws);
        }
        bytes[grids] = gbnet_committee_workspace_bytes(cws);
    }
    EXPECT_LT(bytes[0], bytes[1]) << "members on member 0's grid build no graph arrays of their own";
}

TEST_F(CommitteeTest, FileRoundTripAndMemberZeroForSingleModelReaders) {
    std::string dir = temp_dir(), path = dir + "/committee.gbnet";
    ASSERT_EQ(gbnet_committee_save(committee, path.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_committee *back = nullptr;
    ASSERT_EQ(gbnet_committee_load(&back, path.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_committee_size(back), (int)members.size());
    // saving what was loaded gives the same bytes
    std::string again = dir + "/again.gbnet";
    ASSERT_EQ(gbnet_committee_save(back, again.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(path), read_file(again));
    // gbnet_model_load reads member 0, byte for byte what a single model gives
    gbnet_model *first = nullptr;
    ASSERT_EQ(gbnet_model_load(&first, path.c_str()), GBNET_OK) << gbnet_last_error();
    std::string single = dir + "/first.gbnet", member0 = dir + "/member0.gbnet";
    ASSERT_EQ(gbnet_model_save(first, single.c_str()), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(members[0], member0.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(single), read_file(member0));
    for (int m = 0; m < (int)members.size(); ++m) {
        std::string a = dir + "/a.gbnet", b = dir + "/b.gbnet";
        ASSERT_EQ(gbnet_model_save(gbnet_committee_member(back, m), a.c_str()), GBNET_OK);
        ASSERT_EQ(gbnet_model_save(members[m], b.c_str()), GBNET_OK);
        EXPECT_EQ(read_file(a), read_file(b)) << "member " << m;
    }
    // a single-model file is a committee of one
    gbnet_committee *one = nullptr;
    ASSERT_EQ(gbnet_committee_load(&one, member0.c_str()), GBNET_OK);
    EXPECT_EQ(gbnet_committee_size(one), 1);
    gbnet_committee_free(one);
    gbnet_model_free(first);
    gbnet_committee_free(back);
}

// Members with a ZBL repulsive core: the committee adds each member's core
// (structures and graphs alike), so its member energies equal the members
// evaluated alone, and they differ from the same networks without a core.
TEST(Committee, MembersWithARepulsiveCoreIncludeItOnStructuresAndGraphs) {
    std::vector<gbnet_model *> plain = make_members(), cored = make_members();
    const int n = 3, M = (int)cored.size();
    std::vector<double> inner(n * n, 0.6), outer(n * n, 1.6);
    for (auto *m : cored) ASSERT_EQ(gbnet_model_set_zbl(m, inner.data(), outer.data()), GBNET_OK) << gbnet_last_error();
    std::vector<const gbnet_model *> c(cored.begin(), cored.end());
    gbnet_committee *committee = nullptr;
    ASSERT_EQ(gbnet_committee_create(&committee, c.data(), M), GBNET_OK) << gbnet_last_error();
    Input in = make_input(cored[0]);
    std::vector<std::vector<std::vector<double>>> pf, pa, cf, ca;
    auto without = member_results(plain, in, pf, pa);
    auto with = member_results(cored, in, cf, ca);
    gbnet_committee_workspace *cws = nullptr;
    ASSERT_EQ(gbnet_committee_workspace_create(&cws, committee, GBNET_DOUBLE), GBNET_OK);
    CommitteeOut o = evaluate_committee(cws, in, M);
    for (size_t k = 0; k < in.views.size(); ++k)
        for (int m = 0; m < M; ++m) {
            EXPECT_EQ(o.member_e[k][m], with[m][k].energy) << "structure " << k << ", member " << m;
            EXPECT_GT(with[m][k].energy - without[m][k].energy, 1e-6) << "the core adds repulsion at O-H, C-H";
        }
    gbnet_committee_workspace_free(cws);
    gbnet_committee_free(committee);
    for (auto *m : plain) gbnet_model_free(m);
    for (auto *m : cored) gbnet_model_free(m);
}

TEST(Committee, MembersWithDifferentElementsOrCutoffsAreRefused) {
    gbnet_model *a = small_model(small_hyperparams(8, 2, 8, 4, 4.0, {1, 8}), 1);
    gbnet_model *other_elements = small_model(small_hyperparams(8, 2, 8, 4, 4.0, {8, 1}), 2);
    gbnet_model *other_cutoff = small_model(small_hyperparams(8, 2, 8, 4, 4.5, {1, 8}), 3);
    gbnet_committee *c = nullptr;
    const gbnet_model *bad_e[2] = {a, other_elements};
    EXPECT_EQ(gbnet_committee_create(&c, bad_e, 2), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("committee member 1 has the elements 'O H' but member 0 has 'H O'"),
              std::string::npos)
        << gbnet_last_error();
    const gbnet_model *bad_c[3] = {a, a, other_cutoff};
    EXPECT_EQ(gbnet_committee_create(&c, bad_c, 3), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("committee member 2 has the cutoff 4.5 A but member 0 has 4 A"),
              std::string::npos)
        << gbnet_last_error();
    EXPECT_EQ(c, nullptr);
    EXPECT_EQ(gbnet_committee_create(&c, bad_e, 0), GBNET_ERR_INVALID_ARGUMENT);
    gbnet_model_free(a);
    gbnet_model_free(other_elements);
    gbnet_model_free(other_cutoff);
}

TEST(Committee, DamagedCommitteeSectionIsAFormatError) {
    gbnet_model *a = small_model(small_hyperparams(8, 2, 8, 4, 4.0, {1, 8}), 1);
    gbnet_model *b = small_model(small_hyperparams(8, 2, 8, 4, 4.0, {1, 8}), 2);
    const gbnet_model *ms[2] = {a, b};
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_create(&c, ms, 2), GBNET_OK);
    std::string dir = temp_dir(), path = dir + "/c.gbnet";
    ASSERT_EQ(gbnet_committee_save(c, path.c_str()), GBNET_OK);
    std::string bytes = read_file(path);
    size_t at = bytes.find("CMTE");
    ASSERT_NE(at, std::string::npos);
    // member 1's own magic damaged (and the outer checksum recomputed by hand)
    std::string damaged = bytes;
    size_t inner = at + 16 + 8 + 8;  // section header, count + reserved, member length
    ASSERT_EQ(damaged.substr(inner, 8), "GBNETPOT");
    damaged[inner] = 'X';
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < damaged.size() - 24; ++i) {
        h ^= (unsigned char)damaged[i];
        h *= 0x100000001b3ull;
    }
    for (int i = 0; i < 8; ++i) damaged[damaged.size() - 8 + i] = (char)(h >> (8 * i));
    std::string bad = dir + "/bad.gbnet";
    write_file(bad, damaged);
    gbnet_committee *back = nullptr;
    EXPECT_EQ(gbnet_committee_load(&back, bad.c_str()), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("(committee member 1)': not a gbnet potential file"),
              std::string::npos)
        << gbnet_last_error();
    // member 1 with another cutoff (its own and the outer checksum recomputed)
    std::string other = bytes;
    uint64_t inner_len = 0;
    for (int i = 0; i < 8; ++i) inner_len |= (uint64_t)(unsigned char)other[at + 16 + 8 + i] << (8 * i);
    double cutoff = 4.5;
    memcpy(&other[inner + 16 + 16 + 16], &cutoff, 8);  // HYPR payload: F T K R (u32 each), then rc
    auto fnv = [](const std::string &b, size_t from, size_t n) {
        uint64_t v = 0xcbf29ce484222325ull;
        for (size_t i = from; i < from + n; ++i) {
            v ^= (unsigned char)b[i];
            v *= 0x100000001b3ull;
        }
        return v;
    };
    uint64_t inner_sum = fnv(other, inner, inner_len - 24);  // the member's bytes before its END! section
    for (int i = 0; i < 8; ++i) other[inner + inner_len - 8 + i] = (char)(inner_sum >> (8 * i));
    uint64_t outer_sum = fnv(other, 0, other.size() - 24);
    for (int i = 0; i < 8; ++i) other[other.size() - 8 + i] = (char)(outer_sum >> (8 * i));
    std::string mixed = dir + "/mixed.gbnet";
    write_file(mixed, other);
    EXPECT_EQ(gbnet_committee_load(&back, mixed.c_str()), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error())
                  .find("potential file '" + mixed + "': committee member 1 has the cutoff 4.5 A but member 0 has 4 A"),
              std::string::npos)
        << gbnet_last_error();
    EXPECT_EQ(back, nullptr);
    // a single-model reader still reads member 0 (the section is optional)
    gbnet_model *first = nullptr;
    EXPECT_EQ(gbnet_model_load(&first, bad.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_model_free(first);
    gbnet_committee_free(c);
    gbnet_model_free(a);
    gbnet_model_free(b);
}

}  // namespace

// gbnet join: single models and committees, in the order given, as one
// committee file whose members evaluate exactly as the inputs did.
TEST(Committee, JoinWritesTheInputsInOrderAsOneCommittee) {
    std::string dir = temp_dir();
    gbnet_model *a = small_model(small_hyperparams(8, 2, 8, 4, 4.0, {1, 8}), 11);
    gbnet_model *b = small_model(small_hyperparams(12, 3, 8, 6, 4.0, {1, 8}), 12);
    gbnet_model *c = small_model(small_hyperparams(8, 1, 6, 4, 4.0, {1, 8}), 13);
    gbnet_model *wrong = small_model(small_hyperparams(8, 2, 8, 4, 4.5, {1, 8}), 14);
    ASSERT_EQ(gbnet_model_save(a, (dir + "/a.gbnet").c_str()), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(wrong, (dir + "/wrong.gbnet").c_str()), GBNET_OK);
    gbnet_committee *bc = nullptr;
    const gbnet_model *pair[2] = {b, c};
    ASSERT_EQ(gbnet_committee_create(&bc, pair, 2), GBNET_OK);
    ASSERT_EQ(gbnet_committee_save(bc, (dir + "/bc.gbnet").c_str()), GBNET_OK);
    gbnet_committee_free(bc);

    CliRun r = run_gbnet("join a.gbnet bc.gbnet a.gbnet -o abca.gbnet", dir);
    ASSERT_EQ(r.rc, 0) << r.all();
    EXPECT_NE(r.out.find("members 1..2: bc.gbnet (a committee of 2)"), std::string::npos) << r.out;
    gbnet_committee *joined = nullptr;
    ASSERT_EQ(gbnet_committee_load(&joined, (dir + "/abca.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_committee_size(joined), 4);
    // a water-like cluster of H and O, evaluated by each input and each member
    const double x[12] = {0, 0, 0, 0.96, 0, 0, -0.24, 0.93, 0, 2.8, 0.1, 0.2};
    int species[4] = {1, 0, 0, 1};
    gbnet_structure s = {4, species, x, nullptr, {0, 0, 0}};
    auto energy = [&](const gbnet_model *m) {
        gbnet_workspace *ws = nullptr;
        EXPECT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
        gbnet_result res{};
        EXPECT_EQ(gbnet_evaluate(ws, 1, &s, &res), GBNET_OK) << gbnet_last_error();
        gbnet_workspace_free(ws);
        return res.energy;
    };
    const gbnet_model *expected[4] = {a, b, c, a};
    for (int m = 0; m < 4; ++m) EXPECT_EQ(energy(gbnet_committee_member(joined, m)), energy(expected[m])) << m;
    EXPECT_NE(energy(expected[0]), energy(expected[1]));
    gbnet_committee_free(joined);
    CliRun info = run_gbnet("info abca.gbnet", dir);
    ASSERT_EQ(info.rc, 0) << info.all();
    EXPECT_NE(info.out.find("committee:       4 members (the lines above describe member 0)\n"
                            "  member 0       F=8 T=2 K=8 R=4"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("  member 1       F=12 T=3 K=8 R=6"), std::string::npos) << info.out;
    EXPECT_EQ(run_gbnet("info a.gbnet", dir).out.find("committee:"), std::string::npos);

    CliRun bad = run_gbnet("join a.gbnet wrong.gbnet -o bad.gbnet", dir);
    EXPECT_EQ(bad.rc, 1);
    EXPECT_NE(bad.err.find("committee member 1 has the cutoff 4.5 A but member 0 has 4 A"), std::string::npos) << bad.err;
    CliRun missing = run_gbnet("join a.gbnet nothere.gbnet -o bad.gbnet", dir);
    EXPECT_EQ(missing.rc, 1);
    EXPECT_NE(missing.err.find("nothere.gbnet"), std::string::npos) << missing.err;
    EXPECT_EQ(run_gbnet("join a.gbnet", dir).rc, 2);
    gbnet_model_free(a);
    gbnet_model_free(b);
    gbnet_model_free(c);
    gbnet_model_free(wrong);
}
