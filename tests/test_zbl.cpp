// The repulsive core (ZBL, docs/model.md section 7): the pair function and
// its switch against finite differences; every evaluation path (double and
// float workspaces, exact and tabulated filters, graphs with ghosts, two
// "ranks" each holding one side of a pair) adds exactly the repulsion of the
// plain all-pairs reference twin; forces and virial of the whole model with
// the core against finite differences for a molecule and periodic cells; the
// trainer's labels are reduced by the core's share so that the loss equals
// the errors of the evaluated model on the raw labels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
#include "loss.h"
#include "model.h"
#include "neighbor.h"
#include "zbl.h"
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

// A Ta frame by config_type (first of the group).
const gbnet_frame &ta_frame(const char *group, int skip = 0) {
    for (int i = 0; i < data().ta.n_frames; ++i)
        if (gbnet_frame_matches(&data().ta.frames[i], "config_type", group) && skip-- == 0)
            return data().ta.frames[i];
    ADD_FAILURE() << "no frame " << group;
    return data().ta.frames[0];
}

// Elements H C O Ta with radii different per pair, so that the pair lookup
// is exercised: the core reaches well into the bonded distances.
gbnet_model *model_with_core(double rc = 4.0, int T = 3, bool core = true) {
    gbnet_model *m = small_model(small_hyperparams(8, T, 10, 6, rc, {1, 6, 8, 73}), 77, 1.3, 0.05,
                                 {0.1, -0.2, 0.3, -0.4});
    if (!core || !m) return m;
    const int n = 4;
    std::vector<double> inner(n * n), outer(n * n);
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            outer[a * n + b] = 2.2 + 0.3 * (a + b);  // 2.2 .. 4.0 A
            inner[a * n + b] = 0.8 + 0.1 * (a + b);
        }
    EXPECT_EQ(gbnet_model_set_zbl(m, inner.data(), outer.data()), GBNET_OK) << gbnet_last_error();
    return m;
}

double largest(const std::vector<double> &v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

}  // namespace

TEST(Zbl, PairEnergyDerivativeSwitchAndUniversalScreening) {
    // the unswitched value at one point written out by hand: Ta-Ta at 2 A
    double a = 0.46850 / (2 * std::pow(73.0, 0.23)), x = 2.0 / a;
    double phi = 0.18175 * std::exp(-3.19980 * x) + 0.50986 * std::exp(-0.94229 * x) +
                 0.28022 * std::exp(-0.40290 * x) + 0.02817 * std::exp(-0.20162 * x);
    double de;
    EXPECT_NEAR(gb_zbl_unswitched(73, 73, 2.0, &de), 14.399645 * 73 * 73 / 2.0 * phi, 1e-12);
    EXPECT_DOUBLE_EQ(gbnet_zbl_pair_energy(73, 73, 1.0, 1.5, 2.5, nullptr), gb_zbl_unswitched(73, 73, 1.0, &de));
    // derivative against central differences, below, inside and near the ends of the switch
    for (double d : {0.3, 0.9, 1.2, 1.51, 1.8, 2.0, 2.3, 2.49}) {
        const double h = 1e-6;
        double dE;
        gbnet_zbl_pair_energy(8, 1, d, 1.0, 2.5, &dE);
        double fd = (gbnet_zbl_pair_energy(8, 1, d + h, 1.0, 2.5, nullptr) -
                     gbnet_zbl_pair_energy(8, 1, d - h, 1.0, 2.5, nullptr)) / (2 * h);
        EXPECT_NEAR(dE, fd, 1e-6 * std::max(1.0, std::fabs(fd))) << "d = " << d;
    }
    // zero from outer on; energy and force vanish smoothly at outer (C2 switch)
    EXPECT_EQ(gbnet_zbl_pair_energy(73, 73, 2.5, 1.5, 2.5, &de), 0.0);
    EXPECT_EQ(de, 0.0);
    double e_near = gbnet_zbl_pair_energy(73, 73, 2.5 - 1e-3, 1.5, 2.5, &de);
    EXPECT_LT(std::fabs(e_near), 1e-6);
    EXPECT_LT(std::fabs(de), 1e-4);
    double ds;
    EXPECT_EQ(gb_zbl_switch(1.5, 1.5, 2.5, &ds), 1.0);
    EXPECT_EQ(ds, 0.0);
    EXPECT_NEAR(gb_zbl_switch(2.0, 1.5, 2.5, &ds), 0.5, 1e-15);
    EXPECT_NEAR(ds, -30.0 * 0.25 * 0.25, 1e-12);  // -30 t^2 (1-t)^2 / w at t = 1/2, w = 1
}

TEST(Zbl, BadRadiiAreRefusedWithThePair) {
    gbnet_model *m = model_with_core(4.0, 2, false);
    const int n = 4;
    std::vector<double> inner(n * n, 1.0), outer(n * n, 2.0);
    outer[1 * n + 2] = outer[2 * n + 1] = 4.5;  // beyond the cutoff
    EXPECT_EQ(gbnet_model_set_zbl(m, inner.data(), outer.data()), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("C-O"), std::string::npos) << gbnet_last_error();
    outer[1 * n + 2] = 2.5;  // asymmetric
    EXPECT_EQ(gbnet_model_set_zbl(m, inner.data(), outer.data()), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("differ"), std::string::npos) << gbnet_last_error();
    outer[1 * n + 2] = 2.0;
    inner[0] = 2.0;  // inner not below outer
    EXPECT_EQ(gbnet_model_set_zbl(m, inner.data(), outer.data()), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gbnet_model_zbl(m, nullptr, nullptr), 0);
    gbnet_model_free(m);
}

// Evaluation with the core minus evaluation without it is the reference
// twin's repulsion: a molecule, a skewed 2-atom Ta cell (many images), a
// compressed Ta cell and liquid water; double and float workspaces, exact and
// tabulated filters.
TEST(Zbl, EveryEvaluationPathAddsTheAllPairsReference) {
    gbnet_model *with = model_with_core(), *without = model_with_core(4.0, 3, false);
    std::vector<Structure> cases;
    cases.push_back(from_frame(with, data().eth.frames[3]));
    cases.push_back(from_frame(with, ta_frame("Elastic_BCC", 5)));
    cases.push_back(from_frame(with, ta_frame("Volume_BCC")));
    cases.push_back(from_frame(with, data().water.frames[1]));
    for (int tabulated = 0; tabulated < 2; ++tabulated) {
        if (tabulated) {
            ASSERT_EQ(gbnet_model_tabulate(with, 2001), GBNET_OK);
            ASSERT_EQ(gbnet_model_tabulate(without, 2001), GBNET_OK);
        }
        for (gbnet_precision p : {GBNET_DOUBLE, GBNET_FLOAT}) {
            gbnet_workspace *ws1 = nullptr, *ws0 = nullptr;
            ASSERT_EQ(gbnet_workspace_create(&ws1, with, p), GBNET_OK);
            ASSERT_EQ(gbnet_workspace_create(&ws0, without, p), GBNET_OK);
            for (size_t k = 0; k < cases.size(); ++k) {
                const Structure &s = cases[k];
                Out o1 = eval(ws1, s), o0 = eval(ws0, s);
                gbnet_structure v = s.view();
                double e_ref, w_ref[9];
                std::vector<double> f_ref(s.pos.size());
                ASSERT_EQ(gb_zbl_reference(with, &v, &e_ref, f_ref.data(), w_ref), GBNET_OK) << gbnet_last_error();
                ASSERT_GT(e_ref, 0.1) << "case " << k << ": the core must act";
                std::string what = "case " + std::to_string(k) + (tabulated ? " tabulated" : " exact") +
                                   (p == GBNET_FLOAT ? " float" : " double");
                EXPECT_NEAR(o1.energy - o0.energy, e_ref, 1e-9 * std::fabs(e_ref) + 1e-9) << what;
                double fmax = largest(f_ref);
                for (size_t c = 0; c < f_ref.size(); ++c)
                    EXPECT_NEAR(o1.forces[c] - o0.forces[c], f_ref[c], 1e-9 * fmax + 1e-9) << what << " component " << c;
                double esum = 0;
                for (size_t i = 0; i < s.species.size(); ++i) esum += o1.atom_e[i] - o0.atom_e[i];
                EXPECT_NEAR(esum, e_ref, 1e-9 * std::fabs(e_ref) + 1e-9) << what;
                std::vector<double> wv(w_ref, w_ref + 9);
                for (int c = 0; c < 9; ++c)
                    EXPECT_NEAR(o1.virial[c] - o0.virial[c], w_ref[c], 1e-9 * largest(wv) + 1e-9) << what;
            }
            gbnet_workspace_free(ws1);
            gbnet_workspace_free(ws0);
        }
    }
    gbnet_model_free(with);
    gbnet_model_free(without);
}

// The whole model with the core: forces = -dE/dr and virial = -dE/d(strain)
// by central differences in double, for a molecule and periodic cells.
TEST(Zbl, ForcesAndVirialMatchFiniteDifferences) {
    gbnet_model *m = model_with_core();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    std::vector<Structure> cases = {from_frame(m, data().eth.frames[7]), from_frame(m, ta_frame("Volume_BCC", 1)),
                                    from_frame(m, ta_frame("Elastic_FCC", 3))};
    for (size_t k = 0; k < cases.size(); ++k) {
        Structure s0 = cases[k];
        for (size_t c = 0; c < s0.pos.size(); ++c) s0.pos[c] += 0.04 * std::sin(1.7 * c + k);  // off the lattice
        Out o = eval(ws, s0);
        double fmax = largest(o.forces);
        ASSERT_GT(fmax, 1e-3);
        const double h = 1e-5;
        int n = (int)s0.species.size();
        double worst = 0;
        for (int i = 0; i < std::min(n, 6); ++i)
            for (int c = 0; c < 3; ++c) {
                Structure s = s0;
                s.pos[3 * i + c] += h;
                double ep = eval(ws, s).energy;
                s.pos[3 * i + c] -= 2 * h;
                double em = eval(ws, s).energy;
                worst = std::max(worst, std::fabs(-(ep - em) / (2 * h) - o.forces[3 * i + c]) / fmax);
            }
        EXPECT_LT(worst, 1e-6) << "case " << k << ": force error relative to max |F|";
        if (!s0.periodic) continue;
        std::vector<double> wv(o.virial, o.virial + 9);
        double wmax = largest(wv), vworst = 0;
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) {
                double e2[2];
                for (int sgn = 0; sgn < 2; ++sgn) {
                    double eps = sgn ? -h : h;
                    Structure s = s0;
                    for (int q = 0; q < n; ++q) s.pos[3 * q + b] = s0.pos[3 * q + b] + eps * s0.pos[3 * q + a];
                    for (int r = 0; r < 3; ++r) s.cell[3 * r + b] = s0.cell[3 * r + b] + eps * s0.cell[3 * r + a];
                    e2[sgn] = eval(ws, s).energy;
                }
                vworst = std::max(vworst, std::fabs(-(e2[0] - e2[1]) / (2 * h) - o.virial[3 * a + b]) / wmax);
            }
        EXPECT_LT(vworst, 1e-6) << "case " << k << ": virial error relative to max |W|";
    }
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

namespace {
// Owned atoms + ghost copies (as LAMMPS gives them): owner[i] of each row.
struct Ghosts {
    std::vector<int> owner;
    int n_local = 0;
};
void copy_to_ghosts(void *ctx, void *rows, int n_cols, size_t es) {
    auto *g = (Ghosts *)ctx;
    char *r = (char *)rows;
    for (size_t i = g->n_local; i < g->owner.size(); ++i)
        memcpy(r + i * n_cols * es, r + (size_t)g->owner[i] * n_cols * es, n_cols * es);
}
void sum_into_owners(void *ctx, void *rows, int n_cols, size_t es) {
    auto *g = (Ghosts *)ctx;
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
// one rank's view: the owned atoms `mine` and a ghost for every other
// atom or periodic image its edges reach
void no_exchange(void *, void *, int, size_t) {}
}  // namespace

// A periodic water box as one graph with ghost images and exchange: the
// energy, folded forces and virial of the periodic evaluation.
TEST(Zbl, GraphWithGhostsEqualsPeriodicEvaluation) {
    gbnet_model *m = model_with_core();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    Structure s = from_frame(m, data().water.frames[2]);
    Out o = eval(ws, s);
    int n = (int)s.species.size();
    gb_neighbor_list nl{};
    ASSERT_EQ(gb_neighbor_build(&nl, s.pos.data(), n, s.cell, s.pbc, 4.0), GBNET_OK);
    Ghosts gh;
    gh.n_local = n;
    for (int i = 0; i < n; ++i) gh.owner.push_back(i);
    std::vector<int> species = s.species, neighbor(nl.n_edges);
    for (int e = 0; e < nl.n_edges; ++e) {
        const int *S = nl.shift + 3 * e;
        if (S[0] == 0 && S[1] == 0 && S[2] == 0) {
            neighbor[e] = nl.neighbor[e];
        } else {
            neighbor[e] = (int)gh.owner.size();
            gh.owner.push_back(nl.neighbor[e]);
            species.push_back(s.species[nl.neighbor[e]]);
        }
    }
    int n_total = (int)gh.owner.size();
    gbnet_graph g{};
    g.n_local = n;
    g.n_total = n_total;
    g.species = species.data();
    g.edge_offsets = nl.offsets;
    g.edge_neighbor = neighbor.data();
    g.edge_vector = nl.vec;
    g.forward_exchange = copy_to_ghosts;
    g.reverse_exchange = sum_into_owners;
    g.exchange_ctx = &gh;
    std::vector<double> forces(3 * (size_t)n_total), atom_e(n);
    gbnet_graph_result r{};
    r.forces = forces.data();
    r.atom_energies = atom_e.data();
    ASSERT_EQ(gbnet_evaluate_graph(ws, &g, &r), GBNET_OK) << gbnet_last_error();
    EXPECT_NEAR(r.energy, o.energy, 1e-10 * std::fabs(o.energy));
    std::vector<double> folded(3 * (size_t)n, 0.0);
    for (int i = 0; i < n_total; ++i)
        for (int c = 0; c < 3; ++c) folded[3 * gh.owner[i] + c] += forces[3 * (size_t)i + c];
    for (int k = 0; k < 3 * n; ++k) EXPECT_NEAR(folded[k], o.forces[k], 1e-9);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], o.virial[k], 1e-8);
    gb_neighbor_free(&nl);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

// Two "ranks", each owning half of the atoms of a compressed Ta cell and
// seeing the others as ghosts: a pair split between them is counted once.
// T = 1 needs no feature exchange, so the ranks can be evaluated apart.
TEST(Zbl, TwoRanksCountAPairSplitBetweenThemOnce) {
    gbnet_model *m = model_with_core(4.0, 1);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    Structure s = from_frame(m, ta_frame("Volume_A15", 2));
    Out whole = eval(ws, s);
    int n = (int)s.species.size();
    gb_neighbor_list nl{};
    ASSERT_EQ(gb_neighbor_build(&nl, s.pos.data(), n, s.cell, s.pbc, 4.0), GBNET_OK);
    double energy = 0, virial[9] = {0};
    std::vector<double> folded(3 * (size_t)n, 0.0);
    for (int rank = 0; rank < 2; ++rank) {
        std::vector<int> mine;  // this rank's atoms: even or odd indices
        for (int i = rank; i < n; i += 2) mine.push_back(i);
        Ghosts gh;
        gh.n_local = (int)mine.size();
        std::vector<int> local_of(n, -1), species, offsets{0}, neighbor;
        std::vector<double> vec;
        for (int i : mine) {
            local_of[i] = (int)gh.owner.size();
            gh.owner.push_back(i);
            species.push_back(s.species[i]);
        }
        for (int i : mine) {
            for (int e = nl.offsets[i]; e < nl.offsets[i + 1]; ++e) {
                int j = nl.neighbor[e];
                const int *S = nl.shift + 3 * e;
                bool image = S[0] || S[1] || S[2];
                int row = (!image && local_of[j] >= 0) ? local_of[j] : -1;
                if (row < 0) {  // a ghost row per edge: another rank's atom or an image
                    row = (int)gh.owner.size();
                    gh.owner.push_back(j);
                    species.push_back(s.species[j]);
                }
                neighbor.push_back(row);
                vec.insert(vec.end(), nl.vec + 3 * e, nl.vec + 3 * e + 3);
            }
            offsets.push_back((int)neighbor.size());
        }
        gbnet_graph g{};
        g.n_local = gh.n_local;
        g.n_total = (int)gh.owner.size();
        g.species = species.data();
        g.edge_offsets = offsets.data();
        g.edge_neighbor = neighbor.data();
        g.edge_vector = vec.data();
        g.forward_exchange = no_exchange;
        g.reverse_exchange = no_exchange;
        std::vector<double> forces(3 * (size_t)g.n_total);
        gbnet_graph_result r{};
        r.forces = forces.data();
        ASSERT_EQ(gbnet_evaluate_graph(ws, &g, &r), GBNET_OK) << gbnet_last_error();
        energy += r.energy;
        for (int k = 0; k < 9; ++k) virial[k] += r.virial[k];
        for (int i = 0; i < g.n_total; ++i)
            for (int c = 0; c < 3; ++c) folded[3 * gh.owner[i] + c] += forces[3 * (size_t)i + c];
    }
    gbnet_structure v = s.view();
    double e_core, w_core[9];
    std::vector<double> f_core(s.pos.size());
    ASSERT_EQ(gb_zbl_reference(m, &v, &e_core, f_core.data(), w_core), GBNET_OK);
    ASSERT_GT(e_core, 1.0) << "the compressed cell must feel the core";
    EXPECT_NEAR(energy, whole.energy, 1e-10 * std::fabs(whole.energy));
    for (int k = 0; k < 3 * n; ++k) EXPECT_NEAR(folded[k], whole.forces[k], 1e-9);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(virial[k], whole.virial[k], 1e-8);
    gb_neighbor_free(&nl);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

// The trainer's samples carry the core's share of the labels; the loss's
// errors (network vs labels minus core) equal the errors of the evaluated
// model (network plus core) on the raw labels.
TEST(Zbl, LossOnReducedLabelsEqualsErrorsOfTheEvaluatedModel) {
    gbnet_model *m = model_with_core(4.0, 2);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    std::vector<const gbnet_frame *> frames = {&ta_frame("Volume_BCC"), &ta_frame("Volume_FCC", 2),
                                               &ta_frame("Displaced_BCC")};
    std::vector<gb_sample> samples(frames.size());
    std::vector<const gb_sample *> ptrs;
    for (size_t k = 0; k < frames.size(); ++k) {
        ASSERT_EQ(gb_sample_init(&samples[k], frames[k], m, 0.1), GBNET_OK) << gbnet_last_error();
        ASSERT_EQ(gb_sample_set_repulsion(&samples[k], m), GBNET_OK);
        ptrs.push_back(&samples[k]);
    }
    EXPECT_GT(samples[0].zbl_energy, 1.0);
    gb_batch_buffer bb{};
    gb_loss_weights w{1.0, 1.0, 1.0};
    gb_loss_stats stats{};
    ASSERT_EQ(gb_pack_loss(ws, &bb, ptrs.data(), (int)ptrs.size(), &w, 1.0, 0, 0, nullptr, &stats, nullptr, nullptr),
              GBNET_OK);
    double se_e = 0, se_f = 0, se_s = 0;
    for (const gbnet_frame *f : frames) {
        Structure s = from_frame(m, *f);
        Out o = eval(ws, s);
        se_e += std::pow((o.energy - f->energy) / f->n_atoms, 2);
        for (int c = 0; c < 3 * f->n_atoms; ++c) se_f += std::pow(o.forces[c] - f->forces[c], 2);
        double V = std::fabs(f->cell[0] * (f->cell[4] * f->cell[8] - f->cell[5] * f->cell[7]) -
                             f->cell[1] * (f->cell[3] * f->cell[8] - f->cell[5] * f->cell[6]) +
                             f->cell[2] * (f->cell[3] * f->cell[7] - f->cell[4] * f->cell[6]));
        for (int c = 0; c < 9; ++c) se_s += std::pow((o.virial[c] - f->virial[c]) / V * GB_GPA_PER_EV_A3, 2);
    }
    EXPECT_NEAR(stats.se_energy, se_e, 1e-9 * se_e);
    EXPECT_NEAR(stats.se_forces, se_f, 1e-9 * se_f);
    EXPECT_NEAR(stats.se_stress, se_s, 1e-9 * se_s);
    gb_batch_buffer_free(&bb);
    for (auto &s : samples) gb_sample_free(&s);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}

// The shipped tantalum potential (potentials/README.md): a repulsive core, a
// positive energy for the compressed 2-atom BCC cell of the data (shortest
// distance 1.905 A, DFT +28.13 eV/atom), rising further beyond the data, and
// equation-of-state errors below SNAP's (issue 11's table).
TEST(Zbl, ShippedTantalumHasAWallNotAHole) {
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, source_path("potentials/tantalum.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_model_zbl(m, nullptr, nullptr), 1);
    ASSERT_NE(gbnet_model_coverage(m), nullptr);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    double previous = -INFINITY;
    for (double a : {2.2, 2.0, 1.8}) {
        Structure s;
        s.species = {0, 0};
        s.pos = {0, 0, 0, a / 2, a / 2, a / 2};
        s.cell[0] = s.cell[4] = s.cell[8] = a;
        s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
        s.periodic = true;
        double per_atom = eval(ws, s).energy / 2;
        if (a == 2.2) {
            EXPECT_NEAR(per_atom, 28.13, 1.0) << "the compressed cell of the data";
        }
        EXPECT_GT(per_atom, previous + 10.0) << "a = " << a;
        previous = per_atom;
    }
    for (const char *group : {"Volume_A15", "Volume_BCC", "Volume_FCC"}) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < data().ta.n_frames; ++i) {
            const gbnet_frame &f = data().ta.frames[i];
            if (!gbnet_frame_matches(&f, "config_type", group)) continue;
            sum += std::fabs(eval(ws, from_frame(m, f)).energy - f.energy) / f.n_atoms;
            ++n;
        }
        double snap = std::string(group) == "Volume_A15" ? 0.240 : std::string(group) == "Volume_BCC" ? 0.326 : 0.806;
        EXPECT_LT(sum / n, snap) << group << " energy MAE (eV/atom) above SNAP's";
    }
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
}
