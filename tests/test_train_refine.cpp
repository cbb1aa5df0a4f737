// Trainer support for committees and refinement: the exponential moving
// average of the weights (its definition, the saved model, exact resume),
// init_from (weights and normalization kept, incompatible keys refused),
// committee members (seeds and bootstrap samples) and the committee file
// gbnet train writes, with the deviations gbnet eval reports.
#include <gtest/gtest.h>


#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

extern "C" {
#include "checkpoint.h"
#include "gbnet_data.h"
#include "gbnet.h"
#include "model.h"
#include "train_config.h"
#include "trainer.h"
}

namespace {

// What a run saw: losses, epoch reports, messages, and the raw weights after every step.
struct Trace {
    gbnet_trainer *trainer = nullptr;
    std::vector<double> losses;
    std::vector<gbnet_epoch_report> epochs;
    std::vector<std::vector<double>> params;  // after each step
    std::string messages;
    int stop_epoch = -1, stop_step = -1;
    volatile sig_atomic_t stop = 0;
};

extern "C" void trace_message(void *ctx, const char *text) { static_cast<Trace *>(ctx)->messages += text + std::string("\n"); }
extern "C" void trace_epoch(void *ctx, const gbnet_epoch_report *r) { static_cast<Trace *>(ctx)->epochs.push_back(*r); }
extern "C" void trace_step(void *ctx, int epoch, int step, double loss) {
    auto *t = static_cast<Trace *>(ctx);
    t->losses.push_back(loss);
    const gbnet_model *m = gbnet_trainer_model(t->trainer);
    t->params.emplace_back(m->params, m->params + m->layout.total);
    if (epoch == t->stop_epoch && step == t->stop_step) t->stop = 1;
}

struct RefineTest : ::testing::Test {
    std::string dir = temp_dir();
    void SetUp() override {
        ethanol_slice(dir, "train.extxyz", 0, 32);
        ethanol_slice(dir, "valid.extxyz", 500, 16);
    }
    std::string config(const std::string &extra) {
        return "train_data = train.extxyz\nvalid_data = valid.extxyz\n"
               "features = 16\nblocks = 2\nrbf = 12\nreadout = 8\ncutoff = 4.0\n"
               "batch_size = 8\nlr = 0.01\nthreads = 1\nseed = 5\nprecision = double\n" +
               extra;
    }
    gbnet_status run(const std::string &cfg_text, Trace *trace, const char *resume = nullptr,
                     std::vector<std::string> sets = {}) {
        std::string path = write_file(dir + "/train.cfg", cfg_text);
        gbnet_train_config *c = nullptr;
        EXPECT_EQ(gbnet_train_config_create(&c), GBNET_OK);
        gbnet_status st = gbnet_train_config_read(c, path.c_str());
        for (auto &s : sets)
            if (!st) st = gbnet_train_config_set(c, s.c_str());
        gbnet_train_callbacks hooks{};
        hooks.ctx = trace;
        hooks.message = trace_message;
        hooks.epoch_done = trace_epoch;
        hooks.step_done = trace_step;
        hooks.stop_request = &trace->stop;
        if (!st) st = gbnet_trainer_create(&trace->trainer, c, resume, "test", &hooks);
        if (!st) st = gbnet_trainer_run(trace->trainer);
        gbnet_trainer_free(trace->trainer);
        trace->trainer = nullptr;
        gbnet_train_config_free(c);
        return st;
    }
    std::vector<double> saved_params(const std::string &name) {
        gbnet_model *m = nullptr;
        EXPECT_EQ(gbnet_model_load(&m, (dir + "/" + name).c_str()), GBNET_OK) << gbnet_last_error();
        if (!m) return {};
        std::vector<double> p(m->params, m->params + m->layout.total);
        gbnet_model_free(m);
        return p;
    }
};

TEST_F(RefineTest, EmaFollowsItsDefinitionAndIsWhatIsSaved) {
    Trace raw, ema;
    ASSERT_EQ(run(config("epochs = 1\n"), &raw), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(run(config("epochs = 1\nema_decay = 0.7\n"), &ema), GBNET_OK) << gbnet_last_error();
    // the average does not steer training: the raw weights take the same path
    ASSERT_EQ(raw.params.size(), ema.params.size());
    ASSERT_GE(raw.params.size(), 4u);
    for (size_t k = 0; k < raw.params.size(); ++k) ASSERT_EQ(raw.params[k], ema.params[k]) << "step " << k;
    // w_ema = 0.7 w_ema + 0.3 w after every step, from the initial weights
    gbnet_model *initial = nullptr;
    gbnet_hyperparams hp = small_hyperparams(16, 2, 12, 8, 4.0, {1, 6, 8});
    ASSERT_EQ(gbnet_model_create(&initial, &hp, 5), GBNET_OK);
    std::vector<double> expected(initial->params, initial->params + initial->layout.total);
    gbnet_model_free(initial);
    for (const auto &w : raw.params)
        for (size_t i = 0; i < w.size(); ++i) expected[i] = 0.7 * expected[i] + (1.0 - 0.7) * w[i];
    EXPECT_EQ(saved_params("model.gbnet"), expected);
    EXPECT_NE(saved_params("model.gbnet"), raw.params.back());
    // validated with the average: the epoch-1 validation differs from the raw run's
    ASSERT_EQ(ema.epochs.size(), 2u);
    EXPECT_EQ(ema.epochs[0].valid_loss, raw.epochs[0].valid_loss);  // before training both are the initial weights
    EXPECT_NE(ema.epochs[1].valid_loss, raw.epochs[1].valid_loss);
}

TEST_F(RefineTest, StoppedAndResumedWithEmaGivesTheSameModel) {
    const std::string cfg = config("epochs = 3\nema_decay = 0.9\ncheckpoint_every = 1\nlr_plateau_patience = 1\n");
    Trace full;
    ASSERT_EQ(run(cfg, &full), GBNET_OK) << gbnet_last_error();
    std::string full_model = read_file(dir + "/model.gbnet");
    Trace part;
    part.stop_epoch = 1;
    part.stop_step = 1;
    EXPECT_EQ(run(cfg, &part), GBNET_ERR_INTERRUPTED);
    // the checkpoint holds the average
    gbnet_model *m = nullptr;
    gb_optimizer o;
    gb_train_state s;
    ASSERT_EQ(gb_checkpoint_read((dir + "/train.ckpt").c_str(), &m, &o, &s, nullptr), GBNET_OK) << gbnet_last_error();
    ASSERT_NE(s.ema, nullptr);
    EXPECT_NE(0, memcmp(s.ema, m->params, m->layout.total * sizeof(double)));
    free(s.ema);
    gb_optimizer_free(&o);
    gbnet_model_free(m);
    Trace rest;
    ASSERT_EQ(run(cfg, &rest, (dir + "/train.ckpt").c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(part.losses.size() + rest.losses.size(), full.losses.size());
    for (size_t k = 0; k < rest.losses.size(); ++k)
        EXPECT_EQ(rest.losses[k], full.losses[part.losses.size() + k]) << k;
    ASSERT_EQ(rest.epochs.size(), 2u);
    for (size_t e = 0; e < 2; ++e) EXPECT_EQ(rest.epochs[e].valid_loss, full.epochs[e + 2].valid_loss);
    EXPECT_EQ(read_file(dir + "/model.gbnet").size(), full_model.size());
    EXPECT_EQ(saved_params("model.gbnet"), [&] {
        write_file(dir + "/full.gbnet", full_model);
        return saved_params("full.gbnet");
    }());
}

TEST_F(RefineTest, InitFromKeepsWeightsAndNormalizationAndRefusesIncompatibleKeys) {
    Trace first;
    ASSERT_EQ(run(config("epochs = 2\noutput = first.gbnet\n"), &first), GBNET_OK) << gbnet_last_error();
    gbnet_model *a = nullptr;
    ASSERT_EQ(gbnet_model_load(&a, (dir + "/first.gbnet").c_str()), GBNET_OK);
    // fine-tuning: the model keys may be left out; they come from the file
    std::string tune = "train_data = train.extxyz\nvalid_data = valid.extxyz\ninit_from = first.gbnet\n"
                       "batch_size = 8\nlr = 0.001\nthreads = 1\nprecision = double\nepochs = 1\noutput = tuned.gbnet\n";
    Trace second;
    ASSERT_EQ(run(tune, &second), GBNET_OK) << gbnet_last_error() << second.messages;
    EXPECT_NE(second.messages.find("init_from: starting from"), std::string::npos) << second.messages;
    // epoch 0 validates the loaded model: the first run's best validation loss
    double best = INFINITY;
    for (const auto &r : first.epochs) best = std::min(best, r.valid_loss);
    ASSERT_EQ(second.epochs.size(), 2u);
    EXPECT_NEAR(second.epochs[0].valid_loss, best, 1e-12 * best);
    gbnet_model *b = nullptr;
    ASSERT_EQ(gbnet_model_load(&b, (dir + "/tuned.gbnet").c_str()), GBNET_OK);
    double sa, ma, ea[3], sb, mb, eb[3];
    gbnet_model_get_normalization(a, &sa, &ma, ea);
    gbnet_model_get_normalization(b, &sb, &mb, eb);
    EXPECT_EQ(sa, sb);
    EXPECT_EQ(ma, mb);
    for (int e = 0; e < 3; ++e) EXPECT_EQ(ea[e], eb[e]);
    EXPECT_EQ(gbnet_model_hyperparams(b)->n_features, 16);
    gbnet_model_free(a);
    gbnet_model_free(b);

    Trace bad;
    EXPECT_EQ(run(tune + "cutoff = 5.0\n", &bad), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("the model has cutoff = 4 but the configuration says cutoff = 5"),
              std::string::npos)
        << gbnet_last_error();
    EXPECT_EQ(run(tune + "elements = O C H\n", &bad), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("the model's elements are 'H C O'"), std::string::npos)
        << gbnet_last_error();
    // a model without carbon cannot be fine-tuned on ethanol
    gbnet_model *oh = small_model(small_hyperparams(16, 2, 12, 8, 4.0, {8, 1}), 3);
    ASSERT_EQ(gbnet_model_save(oh, (dir + "/oh.gbnet").c_str()), GBNET_OK);
    gbnet_model_free(oh);
    EXPECT_NE(run(tune, &bad, nullptr, {"init_from=" + dir + "/oh.gbnet"}), GBNET_OK);
    EXPECT_NE(std::string(gbnet_last_error()).find("is C, which is not in elements = O H"), std::string::npos)
        << gbnet_last_error();
    EXPECT_EQ(run(tune, &bad, nullptr, {"init_from=" + dir + "/missing.gbnet"}), GBNET_ERR_IO);
    EXPECT_NE(std::string(gbnet_last_error()).find("init_from = " + dir + "/missing.gbnet"), std::string::npos)
        << gbnet_last_error();
}

TEST_F(RefineTest, CommitteeMembersDifferInSeedAndBootstrapSample) {
    Trace m0, m1, b1;
    ASSERT_EQ(run(config("epochs = 1\n"), &m0), GBNET_OK);
    ASSERT_EQ(run(config("epochs = 1\ncommittee_member = 1\n"), &m1), GBNET_OK);
    ASSERT_EQ(run(config("epochs = 1\ncommittee_member = 1\ncommittee_bootstrap = true\n"), &b1), GBNET_OK);
    EXPECT_NE(m0.losses[0], m1.losses[0]);
    // the bootstrap changes the training sample (and so the fitted normalization), not its size or the split
    EXPECT_NE(m1.losses, b1.losses);
    EXPECT_NE(m1.messages.find("data: 32 training frames (288 atoms), 16 validation frames"), std::string::npos);
    EXPECT_NE(b1.messages.find("data: 32 training frames (288 atoms), 16 validation frames"), std::string::npos);
    // member 0 without a bootstrap is exactly a plain run (the default seed)
    Trace plain;
    ASSERT_EQ(run(config("epochs = 1\ncommittee = 1\n"), &plain), GBNET_OK);
    EXPECT_EQ(plain.losses, m0.losses);
}

// stdout and stderr together, as the messages checked go to either
CliRun gbnet_cli(const std::string &dir, const std::string &args) {
    CliRun r = run_gbnet(args, dir);
    r.out = r.all();
    return r;
}

TEST_F(RefineTest, GbnetTrainWritesACommitteeFileAndEvalReportsDeviations) {
    write_file(dir + "/c.cfg", config("epochs = 1\ncommittee = 3\ncommittee_bootstrap = true\n"));
    CliRun train = gbnet_cli(dir, "train c.cfg");
    ASSERT_EQ(train.rc, 0) << train.out;
    EXPECT_NE(train.out.find("committee member 3 of 3"), std::string::npos) << train.out;
    EXPECT_NE(train.out.find("committee of 3 members written to"), std::string::npos) << train.out;
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_load(&c, (dir + "/model.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_committee_size(c), 3);
    for (int m = 0; m < 3; ++m) {
        std::vector<double> alone = saved_params("model.member" + std::to_string(m) + ".gbnet");
        const gbnet_model *member = gbnet_committee_member(c, m);
        EXPECT_EQ(alone, std::vector<double>(member->params, member->params + member->layout.total)) << m;
    }
    gbnet_committee_free(c);
    // the final table is the committee's, with deviations
    EXPECT_NE(train.out.find("committee:   3 members; predictions above: their mean"), std::string::npos) << train.out;
    CliRun eval = gbnet_cli(dir, "eval model.gbnet valid.extxyz --write-deviations devi.out");
    ASSERT_EQ(eval.rc, 0) << eval.out;
    EXPECT_NE(eval.out.find("max_devi_f     eV/A"), std::string::npos) << eval.out;
    std::string devi = read_file(dir + "/devi.out");
    EXPECT_EQ(devi.rfind("#      frame     max_devi_v", 0), 0u) << devi;
    EXPECT_EQ(std::count(devi.begin(), devi.end(), '\n'), 17);
    CliRun member = gbnet_cli(dir, "eval model.gbnet valid.extxyz --member 1");
    EXPECT_NE(member.out.find("predictions above: member 1 alone"), std::string::npos) << member.out;
    CliRun bad = gbnet_cli(dir, "eval model.gbnet valid.extxyz --member 3");
    EXPECT_EQ(bad.rc, 2);
    EXPECT_NE(bad.out.find("holds 3 members (0..2)"), std::string::npos) << bad.out;
    CliRun single = gbnet_cli(dir, "eval model.member0.gbnet valid.extxyz --write-deviations d.out");
    EXPECT_EQ(single.rc, 2);
    EXPECT_NE(single.out.find("--write-deviations needs a committee file"), std::string::npos) << single.out;
}

}  // namespace

namespace {

// A LAMMPS text dump of frames (types 1 = O, 2 = H), atoms written in reverse
// id order; scaled = xs ys zs columns instead of x y z.
std::string write_dump(const std::string &path, const gbnet_dataset &ds, int n_frames, bool scaled,
                       const std::string &columns = "") {
    std::ostringstream out;
    out.precision(17);
    for (int k = 0; k < n_frames; ++k) {
        const gbnet_frame &f = ds.frames[k];
        out << "ITEM: TIMESTEP\n" << 100 * k << "\nITEM: NUMBER OF ATOMS\n" << f.n_atoms << "\n";
        out << "ITEM: BOX BOUNDS pp pp pp\n";
        for (int d = 0; d < 3; ++d) out << "0 " << f.cell[4 * d] << "\n";
        out << "ITEM: ATOMS " << (columns.empty() ? (scaled ? "id type xs ys zs vx" : "id type x y z vx") : columns)
            << "\n";
        for (int i = f.n_atoms - 1; i >= 0; --i) {
            out << i + 1 << " " << (f.z[i] == 8 ? 1 : 2);
            for (int c = 0; c < 3; ++c) out << " " << (scaled ? f.pos[3 * i + c] / f.cell[4 * c] : f.pos[3 * i + c]);
            out << " 0.5\n";
        }
    }
    return write_file(path, out.str());
}

}  // namespace

TEST_F(RefineTest, SelectPicksFramesBetweenTheThresholdsFromExtxyzAndLammpsDumps) {
    gbnet_dataset water{};
    ASSERT_EQ(gbnet_read_extxyz(&water, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
    const int n = 4;
    ASSERT_EQ(gbnet_write_extxyz((dir + "/water4.extxyz").c_str(), water.frames, n, nullptr, nullptr, nullptr),
              GBNET_OK);
    std::vector<gbnet_model *> ms;
    for (int m = 0; m < 3; ++m) ms.push_back(small_model(small_hyperparams(8, 2, 8, 4, 4.0, {8, 1}), 40 + m, 0.5));
    std::vector<const gbnet_model *> view(ms.begin(), ms.end());
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_create(&c, view.data(), 3), GBNET_OK);
    ASSERT_EQ(gbnet_committee_save(c, (dir + "/c.gbnet").c_str()), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(ms[0], (dir + "/single.gbnet").c_str()), GBNET_OK);
    // the core's max_devi_f of each frame
    gbnet_committee_workspace *cws = nullptr;
    ASSERT_EQ(gbnet_committee_workspace_create(&cws, c, GBNET_DOUBLE), GBNET_OK);
    std::vector<double> core(n);
    for (int k = 0; k < n; ++k) {
        const gbnet_frame &f = water.frames[k];
        std::vector<int> species(f.n_atoms);
        ASSERT_EQ(gbnet_frame_species(species.data(), &f, gbnet_model_hyperparams(ms[0])), GBNET_OK);
        gbnet_structure s = {f.n_atoms, species.data(), f.pos, f.cell, {1, 1, 1}};
        gbnet_result r{};
        gbnet_committee_deviation d{};
        ASSERT_EQ(gbnet_committee_evaluate(cws, 1, &s, &r, &d), GBNET_OK);
        core[k] = d.force_deviation_max;
    }
    gbnet_committee_workspace_free(cws);
    gbnet_committee_free(c);
    for (auto *m : ms) gbnet_model_free(m);
    std::vector<double> sorted = core;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_LT(sorted[0], sorted[3]);
    // thresholds between the 1st/2nd and 3rd/4th values: two candidates, one on each side
    double lo = 0.5 * (sorted[0] + sorted[1]), hi = 0.5 * (sorted[2] + sorted[3]);
    char thresholds[128];
    snprintf(thresholds, sizeof thresholds, " --lower %.9g --upper %.9g", lo, hi);
    write_dump(dir + "/water.dump", water, n, false);
    write_dump(dir + "/scaled.dump", water, n, true);
    for (std::string source : {"water4.extxyz", "water.dump --types O,H", "scaled.dump --types O,H"}) {
        CliRun r = gbnet_cli(dir, "select c.gbnet " + source + thresholds + " -o cand.extxyz");
        ASSERT_EQ(r.rc, 0) << source << "\n" << r.out;
        EXPECT_NE(r.out.find("accurate   (max_devi_f < "), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("):  1 frames (25.0%)\ncandidates"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("):  2 frames (50.0%)\nfailed"), std::string::npos) << r.out;
        gbnet_dataset cand{};
        ASSERT_EQ(gbnet_read_extxyz(&cand, (dir + "/cand.extxyz").c_str()), GBNET_OK) << gbnet_last_error();
        ASSERT_EQ(cand.n_frames, 2) << source;
        for (int k = 0; k < cand.n_frames; ++k) {
            int frame = atoi(gbnet_frame_info(&cand.frames[k], "frame"));
            double devi = atof(gbnet_frame_info(&cand.frames[k], "max_devi_f"));
            EXPECT_TRUE(core[frame] >= lo && core[frame] < hi) << frame;
            EXPECT_NEAR(devi, core[frame], 1e-5 * core[frame]) << source;
            const gbnet_frame &f = water.frames[frame];
            ASSERT_EQ(cand.frames[k].n_atoms, f.n_atoms);
            double dx = 0;  // atoms back in id order, positions as in the extxyz
            for (int i = 0; i < 3 * f.n_atoms; ++i) dx = std::max(dx, std::fabs(cand.frames[k].pos[i] - f.pos[i]));
            EXPECT_LT(dx, 1e-9) << source;
            EXPECT_EQ(cand.frames[k].z[0], f.z[0]);
            EXPECT_EQ(cand.frames[k].forces, nullptr);  // no labels
            if (source != "water4.extxyz") {
                EXPECT_EQ(std::string(gbnet_frame_info(&cand.frames[k], "timestep")), std::to_string(100 * frame));
            }
        }
        gbnet_dataset_free(&cand);
    }
    // --write-deviations: every frame, model_devi.out's layout, the dump's timesteps
    CliRun all = gbnet_cli(dir, "select c.gbnet water.dump --types O,H" + std::string(thresholds) +
                                    " --write-deviations all.devi");
    ASSERT_EQ(all.rc, 0) << all.out;
    EXPECT_NE(all.out.find("deviations:  4 frames to all.devi"), std::string::npos) << all.out;
    {
        std::ifstream in(dir + "/all.devi");
        std::string header;
        std::getline(in, header);
        EXPECT_EQ(header.find("#        step         max_devi_v         min_devi_v         avg_devi_v         "
                              "max_devi_f         min_devi_f         avg_devi_f             devi_e"),
                  0u)
            << header;
        for (int k = 0; k < n; ++k) {
            double v[8];
            for (double &x : v) ASSERT_TRUE(in >> x) << "frame " << k;
            EXPECT_EQ(v[0], 100.0 * k);
            EXPECT_NEAR(v[4], core[k], 1e-9 * core[k]) << "frame " << k;
            EXPECT_GE(v[4], v[6]);  // max >= avg >= min
            EXPECT_GE(v[6], v[5]);
        }
        double extra;
        EXPECT_FALSE(in >> extra);
    }
    CliRun unwritable = gbnet_cli(dir, "select c.gbnet water4.extxyz" + std::string(thresholds) +
                                           " --write-deviations /nonexistent/dir/x.devi");
    EXPECT_EQ(unwritable.rc, 1);
    EXPECT_NE(unwritable.err.find("cannot write '/nonexistent/dir/x.devi'"), std::string::npos) << unwritable.err;
    CliRun capped = gbnet_cli(dir, "select c.gbnet water4.extxyz" + std::string(thresholds) + " -o one.extxyz --max 1");
    EXPECT_NE(capped.out.find("written:     1 candidate frames"), std::string::npos) << capped.out;

    // bad inputs: what is wrong, and where
    write_dump(dir + "/nopos.dump", water, 1, false, "id type vx vy vz vx");
    struct Bad {
        std::string args, expected;
        int rc;
    } bad[] = {
        {"select c.gbnet nopos.dump --types O,H --lower 0.1 --upper 0.3",
         "nopos.dump:9: the ATOMS line needs the columns id, type and x y z", 1},
        {"select c.gbnet water.dump --lower 0.1 --upper 0.3", "is a LAMMPS dump: give the element of each atom type", 2},
        {"select c.gbnet water.dump --types O --lower 0.1 --upper 0.3",
         "atom type 2, but the type map names 1 type (1..1)", 1},
        {"select c.gbnet water.dump --types O,Qq --lower 0.1 --upper 0.3", "'Qq' (type 2) is not a chemical element", 2},
        {"select single.gbnet water4.extxyz --lower 0.1 --upper 0.3", "holds a single model", 1},
        {"select c.gbnet water4.extxyz --lower 0.1", "need both thresholds", 2},
        {"select c.gbnet water4.extxyz --lower 0.3 --upper 0.1", "--upper (0.1) must be larger than --lower (0.3)", 2},
    };
    for (const Bad &b : bad) {
        CliRun r = gbnet_cli(dir, b.args);
        EXPECT_EQ(r.rc, b.rc) << b.args << "\n" << r.out;
        EXPECT_NE(r.out.find(b.expected), std::string::npos) << b.args << "\n" << r.out;
    }
    // a dump cut inside a snapshot
    std::string whole = read_file(dir + "/water.dump");
    write_file(dir + "/cut.dump", whole.substr(0, whole.find('\n', whole.size() / 3) + 1));
    CliRun cut = gbnet_cli(dir, "select c.gbnet cut.dump --types O,H --lower 0.1 --upper 0.3");
    EXPECT_EQ(cut.rc, 1);
    EXPECT_NE(cut.out.find("ends after"), std::string::npos) << cut.out;
    gbnet_dataset_free(&water);
}
