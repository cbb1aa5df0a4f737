// The trainer: configuration parsing and errors, normalization, the
// optimizer, checkpoints (round trip and corruption), bad-data checks, and
// real training on a slice of rMD17 ethanol: the loss falls at least 10x,
// runs are reproducible, and a run stopped mid-epoch and resumed from its
// checkpoint continues with exactly the losses of an uninterrupted run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
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
#include "normalization.h"
#include "optimizer.h"
#include "train_config.h"
#include "trainer.h"
}

namespace {

// ------------------------------------------------------------------ config

struct ConfigTest : ::testing::Test {
    gbnet_train_config c;
    std::string dir = temp_dir();
    void SetUp() override { gb_train_config_defaults(&c); }
    gbnet_status parse(const std::string &text) {
        std::string path = write_file(dir + "/train.cfg", text);
        return gbnet_train_config_read(&c, path.c_str());
    }
};

TEST_F(ConfigTest, EveryDefaultIsAValidValueAndDocumented) {
    ASSERT_GE(gbnet_train_n_keys(), 30);
    for (int k = 0; k < gbnet_train_n_keys(); ++k) {
        const gbnet_train_key *info = gbnet_train_key_at(k);
        std::string assignment = std::string(info->name) + "=" + info->default_text;
        EXPECT_EQ(gbnet_train_config_set(&c, assignment.c_str()), GBNET_OK) << assignment << ": " << gbnet_last_error();
        EXPECT_GT(strlen(info->description), 10u) << info->name;
    }
    // every key is described in docs/training.md
    std::string docs = read_file(source_path("docs/training.md"));
    for (int k = 0; k < gbnet_train_n_keys(); ++k)
        EXPECT_NE(docs.find("`" + std::string(gbnet_train_key_at(k)->name) + "`"), std::string::npos)
            << gbnet_train_key_at(k)->name << " is not in docs/training.md";
}

TEST_F(ConfigTest, ParsesValuesCommentsQuotesAndRelativePaths) {
    ASSERT_EQ(parse("# a comment\n"
                    "train_data = a.xyz sub/b.xyz   # two files\n"
                    "\n"
                    "  lr=0.02\n"
                    "elements = \"O H\"\n"
                    "optimizer = adamw\n"
                    "static_shape = yes\n"
                    "precision = double\n"
                    "seed = 18446744073709551615\n"
                    "output = /abs/model.gbnet\n"),
              GBNET_OK)
        << gbnet_last_error();
    EXPECT_EQ(std::string(c.train_data), dir + "/a.xyz " + dir + "/sub/b.xyz");
    EXPECT_DOUBLE_EQ(c.lr, 0.02);
    EXPECT_STREQ(c.elements, "O H");
    EXPECT_EQ(c.optimizer, GB_OPTIMIZER_ADAMW);
    EXPECT_EQ(c.static_shape, 1);
    EXPECT_EQ(c.precision, GBNET_DOUBLE);
    EXPECT_EQ(c.seed, 18446744073709551615ull);
    EXPECT_STREQ(c.output, "/abs/model.gbnet");
    EXPECT_EQ(std::string(c.checkpoint), dir + "/train.ckpt");  // defaults are relative to the file too
    EXPECT_TRUE(gbnet_train_config_is_set(&c, "lr"));
    EXPECT_FALSE(gbnet_train_config_is_set(&c, "epochs"));
    EXPECT_EQ(gbnet_train_config_check(&c), GBNET_OK) << gbnet_last_error();
}

TEST_F(ConfigTest, UnknownKeyNamesLineAndClosestKey) {
    EXPECT_EQ(parse("train_data = x.xyz\nbach_size = 4\n"), GBNET_ERR_FORMAT);
    std::string m = gbnet_last_error();
    EXPECT_NE(m.find("train.cfg:2:"), std::string::npos) << m;
    EXPECT_NE(m.find("'bach_size'"), std::string::npos) << m;
    EXPECT_NE(m.find("did you mean 'batch_size'"), std::string::npos) << m;
    gb_train_config_defaults(&c);
    EXPECT_EQ(parse("w_force = 1\n"), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("did you mean 'w_forces'"), std::string::npos)
        << gbnet_last_error();
    // nothing close: no suggestion, a pointer to the list instead
    gb_train_config_defaults(&c);
    EXPECT_EQ(parse("completely_unrelated_thing = 1\n"), GBNET_ERR_FORMAT);
    EXPECT_EQ(std::string(gbnet_last_error()).find("did you mean"), std::string::npos) << gbnet_last_error();
    EXPECT_NE(std::string(gbnet_last_error()).find("--list-keys"), std::string::npos) << gbnet_last_error();
}

TEST_F(ConfigTest, BadValuesNameFileLineAndExpectation) {
    struct Case {
        const char *text, *expect;
    } cases[] = {
        {"train_data = x\n\nfeatures = abc\n", "train.cfg:3: features = 'abc': expected an integer"},
        {"features = 12.5\n", "train.cfg:1: features = '12.5': expected an integer"},
        {"lr = -1\n", "train.cfg:1: lr = '-1': expected a number in"},
        {"lr = nan\n", "train.cfg:1: lr = 'nan'"},
        {"optimizer = sgd\n", "train.cfg:1: optimizer = 'sgd': expected one of adam|adamw"},
        {"static_shape = maybe\n", "expected true or false"},
        {"seed = -3\n", "train.cfg:1: seed = '-3': expected a non-negative integer"},
        {"blocks = 17\n", "blocks = '17': expected an integer in [1, 16]"},
        {"lr 0.1\n", "train.cfg:1: expected 'key = value'"},
        {"lr = 0.1\nlr = 0.2\n", "train.cfg:2: 'lr' is already set on line 1"},
    };
    for (const auto &k : cases) {
        gb_train_config_defaults(&c);
        EXPECT_NE(parse(k.text), GBNET_OK) << k.text;
        EXPECT_NE(std::string(gbnet_last_error()).find(k.expect), std::string::npos)
            << "config: " << k.text << "message: " << gbnet_last_error();
    }
}

TEST_F(ConfigTest, SetOverridesAndCrossChecks) {
    ASSERT_EQ(parse("train_data = x.xyz\nvalid_key = subset=test\n"), GBNET_OK);
    EXPECT_EQ(gbnet_train_config_set(&c, "lr=0.5"), GBNET_OK);
    EXPECT_DOUBLE_EQ(c.lr, 0.5);
    EXPECT_EQ(gbnet_train_config_set(&c, "epoch=3"), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("did you mean 'epochs'"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(gbnet_train_config_set(&c, "epochs"), GBNET_ERR_FORMAT);
    EXPECT_EQ(gbnet_train_config_check(&c), GBNET_OK) << gbnet_last_error();
    // two validation methods
    EXPECT_EQ(gbnet_train_config_set(&c, "valid_fraction=0.2"), GBNET_OK);
    EXPECT_EQ(gbnet_train_config_check(&c), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("use one of valid_data, valid_fraction and valid_key"),
              std::string::npos)
        << gbnet_last_error();
    // a malformed valid_key names its line
    gb_train_config_defaults(&c);
    ASSERT_EQ(parse("train_data = x.xyz\n\nvalid_key = subset\n"), GBNET_OK);
    EXPECT_EQ(gbnet_train_config_check(&c), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("train.cfg:3: valid_key"), std::string::npos) << gbnet_last_error();
    // an unknown element
    gb_train_config_defaults(&c);
    ASSERT_EQ(parse("train_data = x.xyz\nelements = H Qq\n"), GBNET_OK);
    EXPECT_EQ(gbnet_train_config_check(&c), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("train.cfg:2: elements: 'Qq' is not a chemical element"),
              std::string::npos)
        << gbnet_last_error();
    // train_data is required
    gb_train_config_defaults(&c);
    EXPECT_EQ(gbnet_train_config_check(&c), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("train_data is required"), std::string::npos);
}

// ------------------------------------------------------------------ normalization and optimizer

TEST(Normalization, RecoversReferenceEnergiesAndResidualStatistics) {
    // frames of H_a O_b with E = a eH + b eO + N * r_f, known per-atom residuals r_f
    const double eH = -13.6, eO = -2035.6;
    const int comps[5][2] = {{2, 1}, {4, 2}, {1, 1}, {3, 0}, {0, 2}};
    const double r[5] = {0.01, -0.02, 0.005, 0.0, 0.005};
    std::vector<gbnet_frame> frames(5);
    std::vector<std::vector<int>> zs(5);
    for (int f = 0; f < 5; ++f) {
        int a = comps[f][0], b = comps[f][1];
        for (int i = 0; i < a; ++i) zs[f].push_back(1);
        for (int i = 0; i < b; ++i) zs[f].push_back(8);
        memset(&frames[f], 0, sizeof frames[f]);
        frames[f].n_atoms = a + b;
        frames[f].z = zs[f].data();
        frames[f].has_energy = 1;
        frames[f].energy = a * eH + b * eO + (a + b) * r[f];
    }
    int idx[5] = {0, 1, 2, 3, 4};
    int element_of_z[119];
    for (int z = 0; z < 119; ++z) element_of_z[z] = z == 1 ? 0 : z == 8 ? 1 : -1;
    gb_normalization n;
    ASSERT_EQ(gb_fit_normalization(&n, frames.data(), idx, 5, element_of_z, 2), GBNET_OK);
    EXPECT_EQ(n.rank, 2);
    // least squares sees the residuals too: check the normal equations instead of eH, eO exactly
    double g0 = 0, g1 = 0;
    for (int f = 0; f < 5; ++f) {
        double res = frames[f].energy - comps[f][0] * n.e_ref[0] - comps[f][1] * n.e_ref[1];
        g0 += comps[f][0] * res;
        g1 += comps[f][1] * res;
    }
    EXPECT_NEAR(g0, 0.0, 1e-8);
    EXPECT_NEAR(g1, 0.0, 1e-8);
    EXPECT_NEAR(n.e_ref[0], eH, 0.02);
    EXPECT_NEAR(n.e_ref[1], eO, 0.02);
    double mean = 0, sq = 0;
    for (int f = 0; f < 5; ++f) {
        double res = (frames[f].energy - comps[f][0] * n.e_ref[0] - comps[f][1] * n.e_ref[1]) / frames[f].n_atoms;
        mean += res / 5;
        sq += res * res / 5;
    }
    EXPECT_NEAR(n.shift, mean, 1e-12);
    EXPECT_NEAR(n.scale, std::sqrt(sq - mean * mean), 1e-9);

    // one composition only: equal references (the mean energy per atom), shift 0
    for (int f = 0; f < 5; ++f) {
        zs[f] = {1, 1, 8};
        frames[f].z = zs[f].data();
        frames[f].n_atoms = 3;
        frames[f].energy = 2 * eH + eO + 3 * r[f];
    }
    ASSERT_EQ(gb_fit_normalization(&n, frames.data(), idx, 5, element_of_z, 2), GBNET_OK);
    EXPECT_EQ(n.rank, 1);
    double per_atom = (2 * eH + eO) / 3 + (r[0] + r[1] + r[2] + r[3] + r[4]) / 5;
    EXPECT_NEAR(n.e_ref[0], per_atom, 1e-6);
    EXPECT_NEAR(n.e_ref[1], per_atom, 1e-6);
    EXPECT_NEAR(n.shift, 0.0, 1e-9);
}

TEST(Normalization, PivotingSolverHandlesZeroLeadingPivotAndRankDeficiency) {
    double A[9] = {0, 2, 1, 1, 1, 1, 2, 1, 3}, b[3] = {5, 6, 13}, x[3];
    // solution (1, 2, 3)? check: 0+4+3 = 7: choose b from x = (1, 2, 1)
    const double xs[3] = {1, 2, 1};
    for (int i = 0; i < 3; ++i) b[i] = A[3 * i] * xs[0] + A[3 * i + 1] * xs[1] + A[3 * i + 2] * xs[2];
    EXPECT_EQ(gb_solve_pivoting(x, A, b, 3, 1e-12), 3);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(x[i], xs[i], 1e-12);
    double S[4] = {1, 2, 2, 4}, c[2] = {3, 6}, y[2];
    EXPECT_EQ(gb_solve_pivoting(y, S, c, 2, 1e-12), 1);
}

TEST(Optimizer, AdamAndAdamWMatchTheirDefinitions) {
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    for (int kind = 0; kind < 2; ++kind) {
        gb_optimizer o;
        ASSERT_EQ(gb_optimizer_init(&o, (gb_optimizer_kind)kind, 2, b1, b2, eps, wd), GBNET_OK);
        double p[2] = {1.0, -2.0}, ref[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
        for (int t = 1; t <= 5; ++t) {
            // gradient of 0.5 * (3 p0^2 + p1^2)
            double g[2] = {3 * p[0], p[1]};
            gb_optimizer_step(&o, p, g, lr);
            for (int k = 0; k < 2; ++k) {
                double gk = (k == 0 ? 3 * ref[0] : ref[1]) + (kind == 0 ? wd * ref[k] : 0.0);
                m[k] = b1 * m[k] + (1 - b1) * gk;
                v[k] = b2 * v[k] + (1 - b2) * gk * gk;
                double mhat = m[k] / (1 - std::pow(b1, t)), vhat = v[k] / (1 - std::pow(b2, t));
                if (kind == 1) ref[k] -= lr * wd * ref[k];
                ref[k] -= lr * mhat / (std::sqrt(vhat) + eps);
            }
            EXPECT_NEAR(p[0], ref[0], 1e-15);
            EXPECT_NEAR(p[1], ref[1], 1e-15);
        }
        gb_optimizer_free(&o);
    }
    double g[3] = {3e200, 4e200, 0};
    EXPECT_NEAR(gb_vector_norm(g, 3) / 5e200, 1.0, 1e-15);
    g[1] = NAN;
    EXPECT_FALSE(std::isfinite(gb_vector_norm(g, 3)));
}

// ------------------------------------------------------------------ checkpoints

TEST(Checkpoint, RoundTripsAndDetectsCorruption) {
    gbnet_hyperparams hp;
    gbnet_hyperparams_default(&hp);
    hp.n_features = 6;
    hp.n_blocks = 2;
    hp.n_rbf = 5;
    hp.readout_width = 3;
    hp.n_elements = 2;
    hp.atomic_numbers[0] = 1;
    hp.atomic_numbers[1] = 8;
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_create(&m, &hp, 3), GBNET_OK);
    double eref[2] = {-13.1, -2040.2};
    ASSERT_EQ(gbnet_model_set_normalization(m, 0.7, 0.01, eref), GBNET_OK);
    gb_optimizer o;
    ASSERT_EQ(gb_optimizer_init(&o, GB_OPTIMIZER_ADAMW, m->layout.total, 0.8, 0.99, 1e-7, 0.01), GBNET_OK);
    for (size_t k = 0; k < o.n; ++k) {
        o.m[k] = 0.001 * k;
        o.v[k] = 1e-6 * k * k;
    }
    o.t = 42;
    gb_train_state s;
    memset(&s, 0, sizeof s);
    s.epoch = 3;
    s.step = 7;
    s.global_step = 97;
    s.lr = 3e-4;
    s.best_valid_loss = 0.125;
    s.best_epoch = 2;
    s.plateau_wait = 1;
    s.early_wait = 1;
    s.elapsed = 12.5;
    s.epoch_stats.loss = 0.3;
    s.epoch_stats.se_forces = 4.5;
    s.epoch_stats.n_forces = 999;
    s.rng[2] = 0xdeadbeefULL;
    std::string dir = temp_dir(), path = dir + "/a.ckpt";
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), m, &o, &s, "lr = 0.1\n"), GBNET_OK) << gbnet_last_error();

    gbnet_model *m2 = nullptr;
    gb_optimizer o2;
    gb_train_state s2;
    char *text = nullptr;
    ASSERT_EQ(gb_checkpoint_read(path.c_str(), &m2, &o2, &s2, &text), GBNET_OK) << gbnet_last_error();
    EXPECT_STREQ(text, "lr = 0.1\n");
    free(text);
    ASSERT_EQ(m2->layout.total, m->layout.total);
    EXPECT_EQ(memcmp(m2->params, m->params, m->layout.total * sizeof(double)), 0);
    EXPECT_EQ(memcmp(o2.m, o.m, o.n * sizeof(double)), 0);
    EXPECT_EQ(memcmp(o2.v, o.v, o.n * sizeof(double)), 0);
    EXPECT_EQ(o2.t, 42);
    EXPECT_EQ(o2.kind, GB_OPTIMIZER_ADAMW);
    EXPECT_DOUBLE_EQ(o2.beta1, 0.8);
    EXPECT_DOUBLE_EQ(m2->energy_scale, 0.7);
    EXPECT_DOUBLE_EQ(m2->e_ref[1], -2040.2);
    EXPECT_EQ(s2.epoch, 3);
    EXPECT_EQ(s2.step, 7);
    EXPECT_EQ(s2.global_step, 97);
    EXPECT_DOUBLE_EQ(s2.lr, 3e-4);
    EXPECT_DOUBLE_EQ(s2.best_valid_loss, 0.125);
    EXPECT_DOUBLE_EQ(s2.epoch_stats.se_forces, 4.5);
    EXPECT_EQ(s2.epoch_stats.n_forces, 999);
    EXPECT_EQ(s2.rng[2], 0xdeadbeefULL);
    gbnet_model_free(m2);
    gb_optimizer_free(&o2);

    // no temporary file is left behind
    std::string listing;
    FILE *ls = popen(("ls " + dir).c_str(), "r");
    char buf[256];
    while (fgets(buf, sizeof buf, ls)) listing += buf;
    pclose(ls);
    EXPECT_EQ(listing, "a.ckpt\n");

    // one flipped bit anywhere -> checksum or format error, never success
    std::string bytes = read_file(path);
    for (size_t pos : {size_t(9), size_t(100), bytes.size() / 2, bytes.size() - 20, bytes.size() - 1}) {
        std::string bad = bytes;
        bad[pos] ^= 0x10;
        std::string bad_path = write_file(dir + "/bad.ckpt", bad);
        gbnet_status st = gb_checkpoint_read(bad_path.c_str(), &m2, &o2, &s2, nullptr);
        EXPECT_TRUE(st == GBNET_ERR_CHECKSUM || st == GBNET_ERR_FORMAT) << "byte " << pos;
        EXPECT_NE(std::string(gbnet_last_error()).find("bad.ckpt"), std::string::npos);
    }
    std::string bad_path = write_file(dir + "/bad.ckpt", bytes.substr(0, bytes.size() - 100));
    EXPECT_EQ(gb_checkpoint_read(bad_path.c_str(), &m2, &o2, &s2, nullptr), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("truncated"), std::string::npos) << gbnet_last_error();
    bad_path = write_file(dir + "/bad.ckpt", "not a checkpoint at all, but long enough to have a trailer");
    EXPECT_EQ(gb_checkpoint_read(bad_path.c_str(), &m2, &o2, &s2, nullptr), GBNET_ERR_FORMAT);
    gb_optimizer_free(&o);
    gbnet_model_free(m);
}

// ------------------------------------------------------------------ training on real data

struct Recorder {
    std::vector<double> step_losses;
    std::vector<gbnet_epoch_report> epochs;
    int stop_epoch = -1, stop_step = -1;
    volatile sig_atomic_t stop = 0;
    std::string messages;
};

extern "C" void rec_message(void *ctx, const char *text) {
    static_cast<Recorder *>(ctx)->messages += std::string(text) + "\n";
}
extern "C" void rec_epoch(void *ctx, const gbnet_epoch_report *r) { static_cast<Recorder *>(ctx)->epochs.push_back(*r); }
extern "C" void rec_step(void *ctx, int epoch, int step, double loss) {
    auto *r = static_cast<Recorder *>(ctx);
    r->step_losses.push_back(loss);
    if (epoch == r->stop_epoch && step == r->stop_step) r->stop = 1;
}

struct TrainTest : ::testing::Test {
    std::string dir = temp_dir();
    std::string train_path, valid_path;
    void SetUp() override {
        train_path = ethanol_slice(dir, "train.extxyz", 0, 48);
        valid_path = ethanol_slice(dir, "valid.extxyz", 500, 24);
    }
    std::string config(const std::string &extra) {
        return "train_data = train.extxyz\n"
               "valid_data = valid.extxyz\n"
               "features = 16\nblocks = 2\nrbf = 12\nreadout = 8\ncutoff = 4.0\n"
               "w_energy = 10\nw_forces = 1\n"
               "batch_size = 8\nlr = 0.01\nthreads = 1\nseed = 5\n" +
               extra;
    }
    // Runs a training; returns the status of gbnet_trainer_run (or of creation).
    gbnet_status run(const std::string &cfg_text, Recorder *rec, const char *resume = nullptr,
                     std::vector<std::string> sets = {}) {
        std::string path = write_file(dir + "/train.cfg", cfg_text);
        gbnet_train_config c;
        gb_train_config_defaults(&c);
        gbnet_status st = gbnet_train_config_read(&c, path.c_str());
        for (auto &s : sets)
            if (!st) st = gbnet_train_config_set(&c, s.c_str());
        if (st) return st;
        gbnet_train_callbacks hooks{};
        hooks.ctx = rec;
        hooks.message = rec_message;
        hooks.epoch_done = rec_epoch;
        hooks.step_done = rec_step;
        hooks.stop_request = &rec->stop;
        gbnet_trainer *t = nullptr;
        st = gbnet_trainer_create(&t, &c, resume, "test", &hooks);
        if (st) return st;
        st = gbnet_trainer_run(t);
        gbnet_trainer_free(t);
        return st;
    }
};

TEST_F(TrainTest, TinyModelLowersTheLossTenfold) {
    Recorder rec;
    ASSERT_EQ(run(config("epochs = 80\n"), &rec), GBNET_OK) << gbnet_last_error() << rec.messages;
    ASSERT_EQ(rec.epochs.size(), 81u);
    const gbnet_epoch_report &first = rec.epochs.front(), &last = rec.epochs.back();
    EXPECT_EQ(first.epoch, 0);
    EXPECT_EQ(last.epoch, 80);
    EXPECT_LT(last.valid_loss, first.valid_loss / 10) << "validation loss " << first.valid_loss << " -> "
                                                       << last.valid_loss;
    EXPECT_LT(last.valid_force_rmse, first.valid_force_rmse / 2.5);
    // outputs exist: best model (loadable, with provenance), log with a header and 31 rows, checkpoint
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, (dir + "/model.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    std::string prov = gbnet_model_provenance(m);
    EXPECT_NE(prov.find("validation: energy RMSE"), std::string::npos) << prov;
    EXPECT_NE(prov.find("train_data = " + dir + "/train.extxyz"), std::string::npos) << prov;
    gbnet_model_free(m);
    std::string log = read_file(dir + "/train.csv");
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 82);
    EXPECT_EQ(log.rfind("epoch,steps,lr,", 0), 0u);
    EXPECT_NE(rec.messages.find("efficiency 100.00% of atom slots"), std::string::npos) << rec.messages;
}

// The public training API (gbnet_train.h) alone: configuration from a file
// and assignments, values read back, a run with callbacks, the summary and
// the trained model, as a program outside the project would use it.
TEST_F(TrainTest, PublicApiTrainsFromFileAndAssignments) {
    std::string path = write_file(dir + "/train.cfg", config("epochs = 1\n"));
    gbnet_train_config *c = nullptr;
    ASSERT_EQ(gbnet_train_config_create(&c), GBNET_OK);
    char value[2048];
    ASSERT_EQ(gbnet_train_config_get(c, "epochs", value, sizeof value), GBNET_OK);
    std::string default_epochs = value;
    ASSERT_EQ(gbnet_train_config_read(c, path.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_train_config_set(c, "epochs=2"), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_train_config_check(c), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_train_config_get(c, "epochs", value, sizeof value), GBNET_OK);
    EXPECT_EQ(std::string(value), "2");
    EXPECT_NE(default_epochs, "2");
    ASSERT_EQ(gbnet_train_config_get(c, "train_data", value, sizeof value), GBNET_OK);
    EXPECT_EQ(std::string(value), dir + "/train.extxyz");  // relative to the file's folder
    EXPECT_TRUE(gbnet_train_config_is_set(c, "features"));
    EXPECT_FALSE(gbnet_train_config_is_set(c, "w_stress"));
    EXPECT_EQ(gbnet_train_config_get(c, "epoch", value, sizeof value), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("did you mean 'epochs'"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(gbnet_train_config_get(c, "train_data", value, 4), GBNET_ERR_INVALID_ARGUMENT);
    ASSERT_GT(gbnet_train_n_keys(), 30);
    EXPECT_STREQ(gbnet_train_key_at(0)->name, "train_data");

    Recorder rec;
    gbnet_train_callbacks cb{};
    cb.ctx = &rec;
    cb.epoch_done = rec_epoch;
    cb.step_done = rec_step;
    gbnet_trainer *t = nullptr;
    ASSERT_EQ(gbnet_trainer_create(&t, c, nullptr, "test", &cb), GBNET_OK) << gbnet_last_error();
    gbnet_train_summary before;
    gbnet_trainer_summary(t, &before);
    EXPECT_EQ(before.n_train, 48);
    EXPECT_EQ(before.n_valid, 24);
    EXPECT_EQ(before.train_atoms, 48 * 9);
    EXPECT_FALSE(before.train_has_stress);
    ASSERT_NE(gbnet_trainer_valid_frame(t, 23), nullptr);
    EXPECT_EQ(gbnet_trainer_valid_frame(t, 24), nullptr);
    ASSERT_EQ(gbnet_trainer_run(t), GBNET_OK) << gbnet_last_error();
    gbnet_train_summary after;
    gbnet_trainer_summary(t, &after);
    EXPECT_EQ(after.epoch, 2);
    EXPECT_EQ(after.global_step, (long long)rec.step_losses.size());
    EXPECT_EQ(rec.epochs.size(), 3u);  // epoch 0 (before training), 1 and 2
    EXPECT_TRUE(std::isfinite(after.best_valid_loss));
    EXPECT_EQ(gbnet_model_hyperparams(gbnet_trainer_model(t))->n_features, 16);
    gbnet_trainer_free(t);
    gbnet_train_config_free(c);
}

TEST_F(TrainTest, SameSeedSameLossesOtherSeedOtherLosses) {
    Recorder a, b, c;
    ASSERT_EQ(run(config("epochs = 2\n"), &a), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(run(config("epochs = 2\n"), &b), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(run(config("epochs = 2\n"), &c, nullptr, {"seed=6"}), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(a.step_losses.size(), b.step_losses.size());
    ASSERT_GT(a.step_losses.size(), 4u);
    for (size_t k = 0; k < a.step_losses.size(); ++k) EXPECT_EQ(a.step_losses[k], b.step_losses[k]) << "step " << k;
    EXPECT_NE(a.step_losses[0], c.step_losses[0]);
}

TEST_F(TrainTest, PackParallelRunsDoNotDependOnTheThreadCount) {
    // two packs per step: with parallel = packs each pack is evaluated by one
    // thread into its own gradient buffer and the buffers are summed in order
    Recorder one, two;
    std::string cfg = config("epochs = 2\npack_atoms = 36\n");
    ASSERT_EQ(run(cfg, &one), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(run(cfg, &two, nullptr, {"threads=2"}), GBNET_OK) << gbnet_last_error();
    EXPECT_NE(one.messages.find("2 packs per step"), std::string::npos) << one.messages;
    EXPECT_NE(two.messages.find("2 threads (one pack per thread)"), std::string::npos) << two.messages;
    ASSERT_EQ(one.step_losses.size(), two.step_losses.size());
    for (size_t k = 0; k < one.step_losses.size(); ++k) EXPECT_EQ(one.step_losses[k], two.step_losses[k]) << k;
    for (size_t e = 0; e < one.epochs.size(); ++e) EXPECT_EQ(one.epochs[e].valid_loss, two.epochs[e].valid_loss);
}

TEST_F(TrainTest, StoppedMidEpochAndResumedGivesTheSameLosses) {
    const std::string cfg = config("epochs = 4\nlr_decay = 0.9\nlr_plateau_patience = 1\ncheckpoint_every = 1\n"
                                   "clip_grad_norm = 50\n");
    Recorder full;
    ASSERT_EQ(run(cfg, &full), GBNET_OK) << gbnet_last_error();
    const int steps_per_epoch = (int)full.step_losses.size() / 4;
    ASSERT_GE(steps_per_epoch, 3);

    // stop after step 2 of epoch 2 (0-based: epoch 1), as SIGINT would
    Recorder part;
    part.stop_epoch = 1;
    part.stop_step = 1;
    EXPECT_EQ(run(cfg, &part), GBNET_ERR_INTERRUPTED);
    EXPECT_NE(std::string(gbnet_last_error()).find("checkpoint written"), std::string::npos) << gbnet_last_error();
    ASSERT_EQ(part.step_losses.size(), (size_t)steps_per_epoch + 2);

    Recorder rest;
    ASSERT_EQ(run(cfg, &rest, (dir + "/train.ckpt").c_str()), GBNET_OK) << gbnet_last_error();
    EXPECT_NE(rest.messages.find("resuming from"), std::string::npos);
    ASSERT_EQ(part.step_losses.size() + rest.step_losses.size(), full.step_losses.size());
    for (size_t k = 0; k < part.step_losses.size(); ++k) EXPECT_EQ(part.step_losses[k], full.step_losses[k]) << k;
    for (size_t k = 0; k < rest.step_losses.size(); ++k)
        EXPECT_EQ(rest.step_losses[k], full.step_losses[part.step_losses.size() + k]) << "resumed step " << k;
    // the epoch reports after the resume equal the uninterrupted ones (epochs 2..4)
    ASSERT_EQ(rest.epochs.size(), 3u);
    for (size_t e = 0; e < 3; ++e) {
        const gbnet_epoch_report &x = rest.epochs[e], &y = full.epochs[e + 2];
        EXPECT_EQ(x.epoch, y.epoch);
        EXPECT_EQ(x.train_loss, y.train_loss);
        EXPECT_EQ(x.valid_loss, y.valid_loss);
        EXPECT_EQ(x.lr, y.lr);
        EXPECT_EQ(x.improved, y.improved);
    }
    // the log holds each epoch once: header, epoch 0, epochs 1..4
    std::string log = read_file(dir + "/train.csv");
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 6) << log;

    // a resume from a damaged checkpoint is refused
    std::string bytes = read_file(dir + "/train.ckpt");
    bytes[bytes.size() / 3] ^= 1;
    write_file(dir + "/train.ckpt", bytes);
    Recorder again;
    EXPECT_EQ(run(cfg, &again, (dir + "/train.ckpt").c_str()), GBNET_ERR_CHECKSUM);
}

TEST_F(TrainTest, StaticShapeTrainingMatchesDynamic) {
    // 47 frames (a prime): whatever the capacity, one pack is partly empty, so
    // static mode pads atoms as well as edges
    ethanol_slice(dir, "train.extxyz", 0, 47);
    Recorder a, b;
    std::string cfg = config("epochs = 2\nprecision = double\n");
    ASSERT_EQ(run(cfg, &a), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(run(cfg, &b, nullptr, {"static_shape=true"}), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(a.messages.find("100.00% of atom slots"), std::string::npos) << a.messages;
    ASSERT_EQ(a.step_losses.size(), b.step_losses.size());
    ASSERT_GT(a.step_losses.size(), 6u);
    for (size_t k = 0; k < a.step_losses.size(); ++k)
        EXPECT_NEAR(a.step_losses[k], b.step_losses[k], 1e-9 * std::fabs(a.step_losses[k])) << k;
}

TEST_F(TrainTest, ValidationByKeyAndByFraction) {
    // subset= of the slice files is "train" everywhere: a key matching nothing is an error
    Recorder r1;
    std::string base =
        "train_data = train.extxyz\nfeatures = 8\nblocks = 1\nrbf = 8\nreadout = 4\nepochs = 1\nthreads = 1\n";
    EXPECT_EQ(run(base + "valid_key = subset=valid*\n", &r1), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("matches no frame"), std::string::npos) << gbnet_last_error();
    Recorder r2;
    ASSERT_EQ(run(base + "valid_fraction = 0.25\n", &r2), GBNET_OK) << gbnet_last_error();
    EXPECT_NE(r2.messages.find("36 training frames (324 atoms), 12 validation frames"), std::string::npos)
        << r2.messages;
}

// exclude_key leaves frames out of training and validation alike (the Ta
// equation-of-state groups: 82 Volume_* frames of 363), and says how many.
TEST_F(TrainTest, ExcludeKeyLeavesFramesOut) {
    std::string ta = data_path("fitsnap_ta/fitsnap_ta.extxyz");
    std::string base = "train_data = " + ta +
                       "\nfeatures = 8\nblocks = 1\nrbf = 8\nreadout = 4\ncutoff = 4.0\nepochs = 1\nthreads = 1\n";
    Recorder r1;
    ASSERT_EQ(run(base + "exclude_key = config_type=Volume_*\nvalid_key = config_type=GSF_110\n", &r1), GBNET_OK)
        << gbnet_last_error();
    EXPECT_NE(r1.messages.find("259 training frames"), std::string::npos) << r1.messages;
    EXPECT_NE(r1.messages.find("22 validation frames"), std::string::npos) << r1.messages;
    EXPECT_NE(r1.messages.find("82 frames left out by exclude_key"), std::string::npos) << r1.messages;
    // a key that matches nothing is an error, not a silent no-op
    Recorder r2;
    EXPECT_EQ(run(base + "exclude_key = config_type=Volume_X*\n", &r2), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("exclude_key = config_type=Volume_X* matches no frame"),
              std::string::npos)
        << gbnet_last_error();
    // and so is one without '=' (found by the config check, with its line)
    Recorder r3;
    EXPECT_EQ(run(base + "exclude_key = Volume\n", &r3), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("train.cfg:9: exclude_key = 'Volume': expected KEY=PATTERN"),
              std::string::npos)
        << gbnet_last_error();
}

TEST_F(TrainTest, BadDataIsReportedBeforeTrainingWithFileAndFrame) {
    // frame 2 without forces
    std::string good = read_file(train_path);
    std::string frame_text;
    {
        std::istringstream in(good);
        std::string line;
        for (int i = 0; i < 11 && std::getline(in, line); ++i) frame_text += line + "\n";
    }
    std::string no_forces = "2\nProperties=species:S:1:pos:R:3 energy=-10.0 pbc=\"F F F\"\nH 0 0 0\nH 0 0 0.74\n";
    write_file(dir + "/bad.extxyz", frame_text + no_forces);
    std::string base = "train_data = bad.extxyz\nvalid_fraction = 0\nfeatures = 8\nblocks = 1\nrbf = 8\nreadout = 4\n";
    Recorder r;
    EXPECT_EQ(run(base, &r), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("bad.extxyz:12: frame 2 has no forces but w_forces > 0"),
              std::string::npos)
        << gbnet_last_error();
    EXPECT_TRUE(r.step_losses.empty());
    // atoms closer than 0.1 A
    std::string close = "2\nProperties=species:S:1:pos:R:3:forces:R:3 energy=-10.0 pbc=\"F F F\"\n"
                        "H 0 0 0 0 0 0\nH 0 0 0.05 0 0 0\n";
    write_file(dir + "/bad.extxyz", frame_text + close);
    EXPECT_EQ(run(base, &r), GBNET_ERR_NUMERIC);
    EXPECT_NE(std::string(gbnet_last_error()).find("bad.extxyz:12: atoms 1 and 2 are 0.0500 A apart"),
              std::string::npos)
        << gbnet_last_error();
    EXPECT_NE(std::string(gbnet_last_error()).find("(frame 2 of that file)"), std::string::npos) << gbnet_last_error();
    // an element not in the list
    write_file(dir + "/bad.extxyz", frame_text);
    EXPECT_EQ(run(base + "elements = C H\n", &r), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("bad.extxyz:1: frame 1, atom"), std::string::npos)
        << gbnet_last_error();
    EXPECT_NE(std::string(gbnet_last_error()).find("is O, which is not in elements = C H"), std::string::npos)
        << gbnet_last_error();
    // an empty file
    write_file(dir + "/empty.extxyz", "");
    EXPECT_NE(run(base + "valid_data = empty.extxyz\n", &r, nullptr, {"valid_fraction=0"}), GBNET_OK);
    EXPECT_NE(std::string(gbnet_last_error()).find("empty.extxyz"), std::string::npos) << gbnet_last_error();
    EXPECT_NE(std::string(gbnet_last_error()).find("no frames"), std::string::npos)
        << gbnet_last_error();
    EXPECT_TRUE(r.step_losses.empty());
}

TEST_F(TrainTest, NonFiniteLossStopsWithEpochAndStep) {
    // a finite but absurd force label (1e200 eV/A) overflows the squared error
    std::string good = read_file(train_path);
    std::string huge = "2\nProperties=species:S:1:pos:R:3:forces:R:3 energy=-2049.0 pbc=\"F F F\"\n"
                       "H 0 0 0 0 0 1e200\nO 0 0 0.97 0 0 0\n";
    write_file(dir + "/huge.extxyz", good + huge);
    Recorder r;
    gbnet_status st = run("train_data = huge.extxyz\nvalid_data = valid.extxyz\nfeatures = 8\nblocks = 1\nrbf = 8\n"
                          "readout = 4\nbatch_size = 49\nepochs = 2\nthreads = 1\n",
                          &r);
    EXPECT_EQ(st, GBNET_ERR_NUMERIC);
    std::string m = gbnet_last_error();
    EXPECT_NE(m.find("epoch 1, step 1: the loss is NaN or Inf"), std::string::npos) << m;
    EXPECT_NE(m.find("no checkpoint was written yet"), std::string::npos) << m;
    EXPECT_TRUE(r.step_losses.empty()) << "a step with a non-finite loss must not update the model";
}

}  // namespace
