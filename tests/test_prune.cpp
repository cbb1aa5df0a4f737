// Structured pruning (gbnet_model_prune, gbnet prune): channels whose removal
// cannot change the model (no weight reads them, or their value is constant and
// folds into a bias) are the ones removed, and the pruned model then gives the
// same energies and forces; keeping every channel gives the model back; bad
// requests are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet.h"
#include "gbnet_data.h"
#include "model.h"
}

namespace {

struct Frames {
    gbnet_dataset ds{};
    std::vector<std::vector<int>> species;
    std::vector<gbnet_structure> s;
    Frames(const gbnet_model *m, const std::string &path, int n) {
        EXPECT_EQ(gbnet_dataset_read(&ds, path.c_str()), GBNET_OK) << gbnet_last_error();
        for (int k = 0; k < n && k < ds.n_frames; ++k) {
            const gbnet_frame &f = ds.frames[k];
            species.emplace_back(f.n_atoms);
            EXPECT_EQ(gbnet_frame_species(species.back().data(), &f, gbnet_model_hyperparams(m)), GBNET_OK);
        }
        for (size_t k = 0; k < species.size(); ++k) {
            const gbnet_frame &f = ds.frames[k];
            gbnet_structure v{};
            v.n_atoms = f.n_atoms;
            v.species = species[k].data();
            v.positions = f.pos;
            v.cell = f.has_cell ? f.cell : nullptr;
            for (int c = 0; c < 3; ++c) v.pbc[c] = f.has_cell ? f.pbc[c] : 0;
            s.push_back(v);
        }
    }
    ~Frames() { gbnet_dataset_free(&ds); }
};

// energies [n] then forces of every structure, in double
std::vector<double> predict(const gbnet_model *m, const Frames &fr) {
    gbnet_workspace *ws = nullptr;
    EXPECT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    std::vector<double> out;
    for (const gbnet_structure &s : fr.s) {
        std::vector<double> f(3 * (size_t)s.n_atoms);
        gbnet_result r{};
        r.forces = f.data();
        EXPECT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
        out.push_back(r.energy);
        out.insert(out.end(), f.begin(), f.end());
    }
    gbnet_workspace_free(ws);
    return out;
}

double max_diff(const std::vector<double> &a, const std::vector<double> &b) {
    EXPECT_EQ(a.size(), b.size());
    double d = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::fmax(d, std::fabs(a[i] - b[i]));
    return d;
}

const int F = 10, R = 6, T = 2, K = 12;

gbnet_status prune(gbnet_model **out, const gbnet_model *m, int features, int readout, int n,
                   const gbnet_structure *s, gbnet_prune_report *rep, int blocks = 0) {
    gbnet_prune_spec spec = {features, readout, blocks};
    return gbnet_model_prune(out, m, &spec, n, s, rep);
}

gbnet_model *base_model() {
    return small_model(small_hyperparams(F, T, K, R, 4.0, {1, 6, 8}), 77, 1.1, 0.02, {0.1, -0.2, 0.3});
}

// Makes channel c of every feature space and readout neuron k removable:
// the residual channel, cfconv channel and filter-output... are read by no
// weight; the block hidden, filter hidden and readout neurons are constant.
void make_removable(gbnet_model *m, int c, int k) {
    const gb_layout &L = m->layout;
    double *p = m->params;
    for (int t = 0; t < T; ++t) {
        for (int o = 0; o < F; ++o) {
            p[L.block[t].in_w + (size_t)o * F + c] = 0;   // residual channel c not read by W_in
            p[L.block[t].out1_w + (size_t)o * F + c] = 0; // cfconv channel c not read by W_out1
        }
        for (int i = 0; i < F; ++i) p[L.block[t].out1_w + (size_t)c * F + i] = 0; // hidden c = ssp(b): constant
        for (int i = 0; i < K; ++i) p[L.block[t].filter1_w + (size_t)c * K + i] = 0; // filter hidden c constant
    }
    for (int o = 0; o < R; ++o) p[L.readout1_w + (size_t)o * F + c] = 0;
    for (int i = 0; i < F; ++i) p[L.readout1_w + (size_t)k * F + i] = 0; // readout neuron k constant
}

TEST(Prune, RemovesExactlyTheChannelsThatCannotMatter) {
    gbnet_model *m = base_model();
    ASSERT_NE(m, nullptr);
    make_removable(m, 3, 2);
    make_removable(m, 7, 4);
    Frames fr(m, ethanol_slice(temp_dir(), "e.extxyz", 0, 12), 12);
    gbnet_model *p = nullptr;
    gbnet_prune_report rep{};
    ASSERT_EQ(prune(&p, m, F - 2, R - 2, (int)fr.s.size(), fr.s.data(), &rep), GBNET_OK)
        << gbnet_last_error();
    EXPECT_EQ(gbnet_model_hyperparams(p)->n_features, F - 2);
    EXPECT_EQ(gbnet_model_hyperparams(p)->readout_width, R - 2);
    EXPECT_EQ(rep.n_structures, 12);
    EXPECT_EQ(rep.n_atoms, 12 * 9);
    EXPECT_NEAR(rep.residual, 1.0, 1e-12); // the removed channels had no importance
    EXPECT_NEAR(rep.readout, 1.0, 1e-12);
    EXPECT_LT(max_diff(predict(m, fr), predict(p, fr)), 1e-10);
    // The same on structures it did not measure on (the folded means are constants).
    Frames other(m, ethanol_slice(temp_dir(), "o.extxyz", 500, 6), 6);
    EXPECT_LT(max_diff(predict(m, other), predict(p, other)), 1e-10);
    gbnet_model_free(p);
    gbnet_model_free(m);
}

TEST(Prune, KeepingEveryChannelGivesTheModelBack) {
    gbnet_model *m = base_model();
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(gbnet_model_tabulate(m, 201), GBNET_OK);
    Frames fr(m, ethanol_slice(temp_dir(), "e.extxyz", 0, 4), 4);
    gbnet_model *p = nullptr;
    ASSERT_EQ(prune(&p, m, F, R, (int)fr.s.size(), fr.s.data(), nullptr), GBNET_OK);
    EXPECT_FALSE(gbnet_model_is_tabulated(p)); // a table does not survive pruning
    gbnet_model_untabulate(m);
    ASSERT_EQ(gbnet_model_n_params(p), gbnet_model_n_params(m));
    for (size_t i = 0; i < gbnet_model_n_params(m); ++i)
        ASSERT_EQ(gbnet_model_params(p)[i], gbnet_model_params(m)[i]) << "parameter " << i;
    double s1, h1, s2, h2;
    gbnet_model_get_normalization(m, &s1, &h1, nullptr);
    gbnet_model_get_normalization(p, &s2, &h2, nullptr);
    EXPECT_EQ(s1, s2);
    EXPECT_EQ(h1, h2);
    gbnet_model_free(p);
    gbnet_model_free(m);
}

TEST(Prune, AFactoredModelIsMultipliedOutFirst) {
    gbnet_model *m = base_model(), *r = nullptr, *p = nullptr;
    ASSERT_NE(m, nullptr);
    gbnet_rank_spec spec{};
    ASSERT_EQ(gbnet_rank_spec_parse(&spec, "4"), GBNET_OK);
    ASSERT_EQ(gbnet_model_reduce_rank(m, &spec, &r), GBNET_OK) << gbnet_last_error();
    ASSERT_TRUE(gbnet_model_is_factored(r));
    Frames fr(m, ethanol_slice(temp_dir(), "e.extxyz", 0, 4), 4);
    ASSERT_EQ(prune(&p, r, F, R, (int)fr.s.size(), fr.s.data(), nullptr), GBNET_OK) << gbnet_last_error();
    EXPECT_FALSE(gbnet_model_is_factored(p));
    EXPECT_LT(max_diff(predict(r, fr), predict(p, fr)), 1e-10);
    gbnet_model_free(p);
    gbnet_model_free(r);
    gbnet_model_free(m);
}

TEST(Prune, ImportantChannelsAreKept) {
    // A channel with large outgoing weights must survive pruning to one channel less.
    gbnet_model *m = base_model();
    ASSERT_NE(m, nullptr);
    make_removable(m, 5, 1);
    Frames fr(m, ethanol_slice(temp_dir(), "e.extxyz", 0, 6), 6);
    gbnet_model *p = nullptr;
    gbnet_prune_report rep{};
    ASSERT_EQ(prune(&p, m, F - 1, R - 1, (int)fr.s.size(), fr.s.data(), &rep), GBNET_OK);
    EXPECT_LT(max_diff(predict(m, fr), predict(p, fr)), 1e-10);
    gbnet_model_free(p);
    // Pruning a second, live channel changes the model.
    ASSERT_EQ(prune(&p, m, F - 2, R - 1, (int)fr.s.size(), fr.s.data(), &rep), GBNET_OK);
    EXPECT_LT(rep.residual, 1.0);
    EXPECT_GT(max_diff(predict(m, fr), predict(p, fr)), 1e-6);
    gbnet_model_free(p);
    gbnet_model_free(m);
}

TEST(Prune, ABlockWithAConstantUpdateIsTheOneRemoved) {
    // Block 1 of 3 (0-based) adds a constant to the residual stream (its output
    // MLP ignores m), so removing it and folding that constant into block 0's
    // bias leaves the model unchanged; the others have real updates.
    gbnet_model *m = small_model(small_hyperparams(F, 3, K, R, 4.0, {1, 6, 8}), 78, 1.1, 0.02, {0.1, -0.2, 0.3});
    ASSERT_NE(m, nullptr);
    const gb_layout &L = m->layout;
    for (int i = 0; i < F * F; ++i) m->params[L.block[1].out1_w + i] = 0;
    Frames fr(m, ethanol_slice(temp_dir(), "e.extxyz", 0, 8), 8);
    gbnet_model *p = nullptr;
    gbnet_prune_report rep{};
    ASSERT_EQ(prune(&p, m, F, R, (int)fr.s.size(), fr.s.data(), &rep, 2), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(gbnet_model_hyperparams(p)->n_blocks, 2);
    EXPECT_EQ(rep.kept_block[0], 0);
    EXPECT_EQ(rep.kept_block[1], 2);
    EXPECT_NEAR(rep.blocks, 1.0, 1e-12);
    EXPECT_LT(max_diff(predict(m, fr), predict(p, fr)), 1e-10);
    gbnet_model_free(p);
    // Block 0 constant instead: its update folds into the embedding.
    for (int i = 0; i < F * F; ++i) m->params[L.block[0].out1_w + i] = 0;
    ASSERT_EQ(prune(&p, m, F, R, (int)fr.s.size(), fr.s.data(), &rep, 1), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(rep.kept_block[0], 2);
    EXPECT_LT(max_diff(predict(m, fr), predict(p, fr)), 1e-10);
    gbnet_model_free(p);
    gbnet_model_free(m);
}

TEST(Prune, BadRequestsAreRefused) {
    gbnet_model *m = base_model();
    ASSERT_NE(m, nullptr);
    Frames fr(m, ethanol_slice(temp_dir(), "e.extxyz", 0, 2), 2);
    gbnet_model *p = nullptr;
    EXPECT_EQ(prune(&p, m, -1, R, 2, fr.s.data(), nullptr), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("expected 1 to 10"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(prune(&p, m, F + 1, R, 2, fr.s.data(), nullptr), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(prune(&p, m, F, R + 1, 2, fr.s.data(), nullptr), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("readout"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(prune(&p, m, F, R, 0, fr.s.data(), nullptr), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("structures"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(prune(&p, m, F, R, 2, fr.s.data(), nullptr, T + 1), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("blocks: expected 1 to 2"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(p, nullptr);
    gbnet_model_free(m);
}

// "gbnet ARGS": exit code, both output streams into *out
int run(const std::string &args, std::string *out) {
    CliRun r = run_gbnet(args);
    *out = r.all();
    return r.rc;
}

TEST(Prune, CommandWritesASmallerTabulatedModelAndRefusesBadOptions) {
    std::string dir = temp_dir(), out;
    gbnet_model *m = base_model();
    ASSERT_NE(m, nullptr);
    std::string model = dir + "/m.gbnet", data = ethanol_slice(dir, "e.extxyz", 0, 8);
    ASSERT_EQ(gbnet_model_save(m, model.c_str()), GBNET_OK);
    gbnet_model_free(m);
    ASSERT_EQ(run("prune " + model + " " + dir + "/p.gbnet --features 6 --data " + data +
                      " --tabulate --points 101", &out), 0) << out;
    EXPECT_NE(out.find("kept: features 6 of 10, readout 3 of 6, blocks 2 of 2"), std::string::npos) << out;
    gbnet_model *p = nullptr;
    ASSERT_EQ(gbnet_model_load(&p, (dir + "/p.gbnet").c_str()), GBNET_OK);
    EXPECT_EQ(gbnet_model_hyperparams(p)->n_features, 6);
    EXPECT_EQ(gbnet_model_table_points(p), 101);
    EXPECT_NE(std::string(gbnet_model_provenance(p)).find("pruned"), std::string::npos);
    gbnet_model_free(p);
    EXPECT_EQ(run("prune " + model + " " + dir + "/q.gbnet --data " + data, &out), 2) << out;
    EXPECT_NE(out.find("--features"), std::string::npos) << out;
    EXPECT_EQ(run("prune " + model + " " + dir + "/q.gbnet --features 11 --data " + data, &out), 2) << out;
    EXPECT_NE(out.find("expected 1 to 10"), std::string::npos) << out;
    EXPECT_EQ(run("prune " + model + " " + dir + "/q.gbnet --features 4 --blocks 3 --data " + data, &out), 2)
        << out;
    EXPECT_NE(out.find("--blocks 3: the model has 2"), std::string::npos) << out;
    EXPECT_EQ(run("prune " + model + " " + dir + "/q.gbnet --features 4", &out), 2) << out;
    EXPECT_NE(out.find("--data"), std::string::npos) << out;
    EXPECT_EQ(run("prune " + model + " " + dir + "/q.gbnet --features 4 --data " + dir + "/missing.xyz", &out),
              1) << out;
}

// prune, compress and coverage read one model and write one: given a committee
// file they would silently drop every member but the first, so they refuse it.
TEST(Prune, CommandsThatWriteOneModelRefuseACommittee) {
    std::string dir = temp_dir(), out;
    gbnet_model *a = base_model(), *b = small_model(small_hyperparams(F, T, K, R, 4.0, {1, 6, 8}), 78);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    const gbnet_model *members[2] = {a, b};
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_create(&c, members, 2), GBNET_OK) << gbnet_last_error();
    std::string path = dir + "/committee.gbnet", data = ethanol_slice(dir, "e.extxyz", 0, 4);
    ASSERT_EQ(gbnet_committee_save(c, path.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_committee_free(c);
    gbnet_model_free(a);
    gbnet_model_free(b);
    for (const std::string &cmd : {" prune " + path + " " + dir + "/p.gbnet --features 4 --data " + data,
                                   " compress --tabulate --check " + data + " " + path + " " + dir + "/t.gbnet",
                                   " compress --rank 2 " + path + " " + dir + "/r.gbnet",
                                   " coverage " + path + " " + data + " -o " + dir + "/c.gbnet"}) {
        EXPECT_EQ(run(cmd, &out), 1) << cmd << "\n" << out;
        EXPECT_NE(out.find("holds a committee of 2 members"), std::string::npos) << cmd << "\n" << out;
    }
    // --tabulate alone tabulates every member
    ASSERT_EQ(run("compress --tabulate --points 101 " + path + " " + dir + "/t.gbnet", &out), 0) << out;
    gbnet_committee *t = nullptr;
    ASSERT_EQ(gbnet_committee_load(&t, (dir + "/t.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_committee_size(t), 2);
    for (int k = 0; k < 2; ++k) EXPECT_EQ(gbnet_model_table_points(gbnet_committee_member(t, k)), 101);
    gbnet_committee_free(t);
}

} // namespace
