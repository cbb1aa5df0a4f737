// gbnet distill, run as a separate process on a 20-frame ethanol slice with a
// tiny random-weight teacher: the distillation set's labels are the teacher's
// own evaluation, its copies are deterministic for a seed (and independent of
// the thread count), strained cells keep fractional coordinates, the student
// is an ordinary potential of the requested size that is much closer to the
// teacher than the untrained student, a committee labels with its mean,
// resume picks the right phase, SIGTERM leaves a checkpoint, and bad
// options give errors naming them.
#include <gtest/gtest.h>


#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
}
#include "test_util.h"

namespace {

CliRun gbnet(const std::string &dir, const std::string &args) { return run_gbnet(args, dir); }

bool contains(const std::string &text, const std::string &needle) { return text.find(needle) != std::string::npos; }

// Teacher energy, forces and virial of a frame.
struct Labels {
    double energy = NAN;
    double virial[9] = {0};
    std::vector<double> forces;
};

Labels evaluate(const gbnet_model *m, const gbnet_frame &f) {
    Labels l;
    std::vector<int> species(f.n_atoms);
    EXPECT_EQ(gbnet_frame_species(species.data(), &f, gbnet_model_hyperparams(m)), GBNET_OK) << gbnet_last_error();
    gbnet_workspace *ws = nullptr;
    EXPECT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    gbnet_structure s = {f.n_atoms, species.data(), f.pos, f.has_cell ? f.cell : nullptr, {f.pbc[0], f.pbc[1], f.pbc[2]}};
    l.forces.resize(3 * f.n_atoms);
    gbnet_result r = {};
    r.forces = l.forces.data();
    EXPECT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
    l.energy = r.energy;
    for (int k = 0; k < 9; ++k) l.virial[k] = r.virial[k];
    gbnet_workspace_free(ws);
    return l;
}

// RMS force difference (eV/A) of two models over the frames of ds.
double force_rms_difference(const gbnet_model *a, const gbnet_model *b, const gbnet_dataset &ds) {
    double sum = 0;
    long long n = 0;
    for (int i = 0; i < ds.n_frames; ++i) {
        Labels la = evaluate(a, ds.frames[i]), lb = evaluate(b, ds.frames[i]);
        for (size_t k = 0; k < la.forces.size(); ++k, ++n) sum += (la.forces[k] - lb.forces[k]) * (la.forces[k] - lb.forces[k]);
    }
    return std::sqrt(sum / n);
}

const char *kStudent =
    "train_data = train.extxyz\nvalid_data = valid.extxyz\n"
    "features = 8\nblocks = 2\nrbf = 12\nreadout = 6\ncutoff = 4.0\n"
    "energy_scale = force_rms\nbatch_size = 8\nlr = 0.005\nthreads = 1\nseed = 3\n"
    "output = student.gbnet\nlog = student.csv\ncheckpoint = student.ckpt\n";

struct DistillTest : ::testing::Test {
    std::string dir = temp_dir();
    void SetUp() override {
        ethanol_slice(dir, "train.extxyz", 0, 20);
        ethanol_slice(dir, "valid.extxyz", 600, 10);
        // a random-weight teacher (H C O, larger than the student) with an energy scale like ethanol's forces
        gbnet_model *teacher = small_model(small_hyperparams(16, 2, 12, 8, 4.0, {1, 6, 8}), 11, 5.0, -2.0);
        ASSERT_NE(teacher, nullptr);
        ASSERT_EQ(gbnet_model_save(teacher, (dir + "/teacher.gbnet").c_str()), GBNET_OK);
        gbnet_model_free(teacher);
        write_file(dir + "/student.cfg", kStudent);
    }
    gbnet_model *load(const std::string &name) {
        gbnet_model *m = nullptr;
        EXPECT_EQ(gbnet_model_load(&m, (dir + "/" + name).c_str()), GBNET_OK) << gbnet_last_error();
        return m;
    }
};

}  // namespace

TEST_F(DistillTest, SetLabelsAreTheTeachersEvaluation) {
    CliRun r = gbnet(dir, "distill teacher.gbnet student.cfg --set-only --write-set set.extxyz --displacements 2 "
                          "--sigma 0.04 --md-frames 3 --md-steps 5");
    ASSERT_EQ(r.rc, 0) << r.err;
    ExtxyzFile set(dir + "/set.extxyz"), train(dir + "/train.extxyz");
    ASSERT_EQ(set.ds.n_frames, 20 * 3 + 3);  // molecules: no strained copies
    gbnet_model *teacher = load("teacher.gbnet");
    ASSERT_NE(teacher, nullptr);
    double sum_sq = 0;
    long long n_disp = 0;
    int kinds[4] = {0, 0, 0, 0};
    for (int i = 0; i < set.ds.n_frames; ++i) {
        const gbnet_frame &f = set.ds.frames[i];
        ASSERT_TRUE(f.has_energy && f.forces);
        Labels l = evaluate(teacher, f);
        EXPECT_NEAR(f.energy, l.energy, 1e-9 * std::fabs(l.energy)) << "frame " << i;
        for (int k = 0; k < 3 * f.n_atoms; ++k) EXPECT_NEAR(f.forces[k], l.forces[k], 1e-9) << "frame " << i;
        std::string kind = gbnet_frame_info(&f, "distill") ? gbnet_frame_info(&f, "distill") : "";
        if (i < 60) {
            const gbnet_frame &source = train.ds.frames[i / 3];
            ASSERT_EQ(f.n_atoms, source.n_atoms);
            EXPECT_EQ(kind, i % 3 == 0 ? "training" : "displaced") << i;
            for (int k = 0; k < 3 * f.n_atoms; ++k) {
                double d = f.pos[k] - source.pos[k];
                if (i % 3 == 0) {
                    EXPECT_EQ(d, 0.0);
                } else {
                    sum_sq += d * d;
                    ++n_disp;
                }
            }
            // the reference labels are replaced by the teacher's
            if (i % 3 == 0) {
                EXPECT_GT(std::fabs(f.energy - source.energy), 1e-6);
            }
        } else {
            EXPECT_EQ(kind, "md") << i;
        }
        kinds[kind == "training" ? 0 : kind == "displaced" ? 1 : kind == "md" ? 2 : 3]++;
    }
    EXPECT_EQ(kinds[0], 20);
    EXPECT_EQ(kinds[1], 40);
    EXPECT_EQ(kinds[2], 3);
    EXPECT_EQ(kinds[3], 0);
    // 1080 Gaussian components: their RMS is sigma within a few percent
    EXPECT_NEAR(std::sqrt(sum_sq / n_disp), 0.04, 0.004);
    // the validation frames of phase 1, as they are but with the teacher's labels
    ExtxyzFile valid(dir + "/student.distill.valid.extxyz"), reference(dir + "/valid.extxyz");
    ASSERT_EQ(valid.ds.n_frames, 10);
    for (int i = 0; i < 10; ++i) {
        const gbnet_frame &f = valid.ds.frames[i];
        Labels l = evaluate(teacher, f);
        EXPECT_NEAR(f.energy, l.energy, 1e-9 * std::fabs(l.energy)) << "valid frame " << i;
        for (int k = 0; k < 3 * f.n_atoms; ++k) {
            EXPECT_EQ(f.pos[k], reference.ds.frames[i].pos[k]);
            EXPECT_NEAR(f.forces[k], l.forces[k], 1e-9) << "valid frame " << i;
        }
    }
    gbnet_model_free(teacher);
}

TEST_F(DistillTest, CommitteeTeacherLabelsWithItsMean) {
    gbnet_hyperparams hp = small_hyperparams(16, 2, 12, 8, 4.0, {1, 6, 8});
    gbnet_model *a = small_model(hp, 21, 5.0, -2.0), *b = small_model(hp, 22, 5.0, -2.0);
    const gbnet_model *members[2] = {a, b};
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_create(&c, members, 2), GBNET_OK);
    ASSERT_EQ(gbnet_committee_save(c, (dir + "/committee.gbnet").c_str()), GBNET_OK);
    gbnet_committee_free(c);
    CliRun r = gbnet(dir, "distill committee.gbnet student.cfg --set-only --write-set set.extxyz --displacements 1");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "the mean of its 2 committee members")) << r.out;
    ExtxyzFile set(dir + "/set.extxyz");
    ASSERT_EQ(set.ds.n_frames, 40);
    for (int i = 0; i < set.ds.n_frames; i += 7) {
        const gbnet_frame &f = set.ds.frames[i];
        Labels la = evaluate(a, f), lb = evaluate(b, f);
        ASSERT_GT(std::fabs(la.energy - lb.energy), 1e-3);  // the members differ
        EXPECT_NEAR(f.energy, 0.5 * (la.energy + lb.energy), 1e-9 * std::fabs(la.energy)) << i;
        for (int k = 0; k < 3 * f.n_atoms; ++k) EXPECT_NEAR(f.forces[k], 0.5 * (la.forces[k] + lb.forces[k]), 1e-9);
    }
    gbnet_model_free(a);
    gbnet_model_free(b);
}

TEST_F(DistillTest, CopiesAreDeterministicForASeedAndThreadCount) {
    const std::string args = "distill teacher.gbnet student.cfg --set-only --displacements 1 --md-frames 4 --md-steps 8 ";
    ASSERT_EQ(gbnet(dir, args + "--write-set a.extxyz --seed 5").rc, 0);
    ASSERT_EQ(gbnet(dir, args + "--write-set b.extxyz --seed 5 --set threads=2").rc, 0);
    ASSERT_EQ(gbnet(dir, args + "--write-set c.extxyz --seed 6").rc, 0);
    std::string a = read_file(dir + "/a.extxyz");
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, read_file(dir + "/b.extxyz"));
    EXPECT_NE(a, read_file(dir + "/c.extxyz"));
    // the seed defaults to the config's
    ASSERT_EQ(gbnet(dir, args + "--write-set d.extxyz --set seed=5").rc, 0);
    EXPECT_EQ(a, read_file(dir + "/d.extxyz"));
}

TEST_F(DistillTest, StrainedCellsKeepFractionalCoordinatesAndGetVirials) {
    // three small periodic tantalum frames with stresses, a Ta teacher
    ExtxyzFile ta(data_path("fitsnap_ta/fitsnap_ta.extxyz"));
    std::vector<gbnet_frame> small;
    for (int i = 0; i < ta.ds.n_frames && small.size() < 3; ++i)
        if (ta.ds.frames[i].has_virial && ta.ds.frames[i].n_atoms <= 16) small.push_back(ta.ds.frames[i]);
    ASSERT_EQ(small.size(), 3u);
    ASSERT_EQ(gbnet_write_extxyz((dir + "/ta.extxyz").c_str(), small.data(), 3, nullptr, nullptr, nullptr), GBNET_OK);
    gbnet_model *teacher = small_model(small_hyperparams(8, 1, 8, 4, 4.0, {73}), 2);
    ASSERT_EQ(gbnet_model_save(teacher, (dir + "/ta_teacher.gbnet").c_str()), GBNET_OK);
    write_file(dir + "/ta.cfg", "train_data = ta.extxyz\nfeatures = 4\nblocks = 1\nrbf = 8\nreadout = 4\ncutoff = 4.0\n"
                                "valid_fraction = 0\noutput = ta_student.gbnet\n");
    CliRun r = gbnet(dir, "distill ta_teacher.gbnet ta.cfg --set-only --write-set ta_set.extxyz --displacements 0 "
                          "--strains 2 --strain 0.03");
    ASSERT_EQ(r.rc, 0) << r.err;
    ExtxyzFile set(dir + "/ta_set.extxyz");
    ASSERT_EQ(set.ds.n_frames, 3 * 3);
    for (int i = 0; i < set.ds.n_frames; ++i) {
        const gbnet_frame &f = set.ds.frames[i], &source = small[i / 3];
        ASSERT_TRUE(f.has_virial && f.has_cell) << i;
        Labels l = evaluate(teacher, f);
        for (int k = 0; k < 9; ++k) EXPECT_NEAR(f.virial[k], l.virial[k], 1e-9 * (1 + std::fabs(l.virial[k])));
        EXPECT_STREQ(gbnet_frame_info(&f, "distill"), i % 3 ? "strained" : "training");
        // cell' = cell (1 + e): e = cell^-1 cell' - 1 is symmetric with |e_ab| <= 0.03, and positions follow
        double max_e = 0;
        // solve cell * M = cell' column by column through Cramer's rule
        auto det = [](const double *m) {
            return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
        };
        double M[9], D = det(source.cell);
        for (int col = 0; col < 3; ++col)
            for (int row = 0; row < 3; ++row) {
                double c[9];
                for (int k = 0; k < 9; ++k) c[k] = source.cell[k];
                for (int a = 0; a < 3; ++a) c[3 * a + row] = f.cell[3 * a + col];
                M[3 * row + col] = det(c) / D;
            }
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) {
                double e = M[3 * a + b] - (a == b);
                max_e = std::fmax(max_e, std::fabs(e));
                EXPECT_NEAR(M[3 * a + b], M[3 * b + a], 1e-9);
                for (int atom = 0; atom < f.n_atoms; ++atom) {
                    double p = 0;
                    for (int k = 0; k < 3; ++k) p += source.pos[3 * atom + k] * M[3 * k + b];
                    if (a == 0) {
                        EXPECT_NEAR(f.pos[3 * atom + b], p, 1e-9);
                    }
                }
            }
        if (i % 3) {
            EXPECT_GT(max_e, 1e-4);
        }
        EXPECT_LE(max_e, 0.03 + 1e-9);
    }
    gbnet_model_free(teacher);
}

TEST_F(DistillTest, StudentIsAnOrdinaryModelCloserToTheTeacher) {
    CliRun r = gbnet(dir, "distill teacher.gbnet student.cfg --distill-epochs 40 --finetune-epochs 2 --displacements 3");
    ASSERT_EQ(r.rc, 0) << r.err << r.out;
    EXPECT_TRUE(contains(r.out, "phase 1 of 2: distill")) << r.out;
    EXPECT_TRUE(contains(r.out, "phase 2 of 2: fine-tune")) << r.out;
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_load(&c, (dir + "/student.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(gbnet_committee_size(c), 1);
    gbnet_committee_free(c);
    gbnet_model *student = load("student.gbnet"), *distilled = load("student.distill.gbnet");
    gbnet_model *teacher = load("teacher.gbnet");
    ASSERT_TRUE(student && distilled && teacher);
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(student);
    EXPECT_EQ(hp->n_features, 8);
    EXPECT_EQ(hp->n_blocks, 2);
    EXPECT_EQ(hp->n_rbf, 12);
    EXPECT_EQ(hp->readout_width, 6);
    EXPECT_EQ(hp->cutoff, 4.0);
    EXPECT_NE(gbnet_model_coverage(student), nullptr);
    std::string provenance = gbnet_model_provenance(student);
    EXPECT_TRUE(contains(provenance, "distilled by gbnet distill from the teacher teacher.gbnet")) << provenance;
    EXPECT_TRUE(contains(provenance, "--distill-epochs 40")) << provenance;
    EXPECT_TRUE(contains(provenance, "phases: distill 40 epochs on the set, then fine-tune 2 epochs")) << provenance;

    // the untrained student: the trainer's initial weights (seed 3) with the distilled normalization
    double scale, shift, e_ref[GBNET_MAX_ELEMENTS];
    gbnet_model_get_normalization(distilled, &scale, &shift, e_ref);
    gbnet_model *untrained = nullptr;
    ASSERT_EQ(gbnet_model_create(&untrained, gbnet_model_hyperparams(distilled), 3), GBNET_OK);
    ASSERT_EQ(gbnet_model_set_normalization(untrained, scale, shift, e_ref), GBNET_OK);
    ExtxyzFile valid(dir + "/valid.extxyz");  // frames the student never saw
    double before = force_rms_difference(untrained, teacher, valid.ds);
    double after = force_rms_difference(distilled, teacher, valid.ds);
    std::printf("force RMS difference from the teacher on unseen frames: untrained %.4f, distilled %.4f eV/A\n",
                before, after);
    EXPECT_LT(after, 0.1 * before) << "force RMS from the teacher: untrained " << before << ", distilled " << after;
    gbnet_model_free(untrained);
    gbnet_model_free(student);
    gbnet_model_free(distilled);
    gbnet_model_free(teacher);
}

TEST_F(DistillTest, ResumeContinuesTheInterruptedPhase) {
    ASSERT_EQ(gbnet(dir, "distill teacher.gbnet student.cfg --distill-epochs 2 --finetune-epochs 1").rc, 0);
    CliRun d = gbnet(dir, "distill teacher.gbnet student.cfg --distill-epochs 4 --finetune-epochs 1 "
                          "--resume student.distill.ckpt");
    ASSERT_EQ(d.rc, 0) << d.err;
    EXPECT_TRUE(contains(d.out, "[distill] resuming from student.distill.ckpt: epoch 3")) << d.out;
    EXPECT_FALSE(contains(d.out, "labelled by the teacher in")) << "the set is reused\n" << d.out;
    CliRun f = gbnet(dir, "distill teacher.gbnet student.cfg --distill-epochs 4 --finetune-epochs 3 "
                          "--resume student.ckpt");
    ASSERT_EQ(f.rc, 0) << f.err;
    EXPECT_FALSE(contains(f.out, "phase 1 of 2")) << f.out;
    EXPECT_TRUE(contains(f.out, "[fine-tune] resuming from student.ckpt: epoch 2")) << f.out;
    CliRun bad = gbnet(dir, "distill teacher.gbnet student.cfg --resume other.ckpt");
    EXPECT_EQ(bad.rc, 2);
    EXPECT_TRUE(contains(bad.err, "--resume other.ckpt: expected the distill phase's checkpoint student.distill.ckpt"))
        << bad.err;
}

TEST_F(DistillTest, SigtermLeavesACheckpointAndSaysHowToResume) {
    // SIGTERM once phase 1 has finished an epoch, from a shell that waits for the exit code
    std::string script = "cd " + dir + " || exit 1; (exec " + std::string(GBNET_BINARY_DIR) +
                         "/gbnet distill teacher.gbnet student.cfg --distill-epochs 100000 >run.out 2>run.err) & p=$!; "
                         "n=0; while ! grep -q ' 1/100000 ' run.out && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; "
                         "kill -TERM $p; wait $p; echo $? >run.rc";
    ASSERT_EQ(std::system(script.c_str()), 0);
    EXPECT_EQ(read_file(dir + "/run.rc"), "1\n");
    std::string err = read_file(dir + "/run.err");
    EXPECT_TRUE(contains(err, "distill phase interrupted; its checkpoint is student.distill.ckpt: continue with the "
                              "same command and --resume student.distill.ckpt"))
        << err;
    ASSERT_FALSE(read_file(dir + "/student.distill.ckpt").empty());
    // resumed with a short time limit: phase 1 stops after an epoch, phase 2 runs and writes the student
    CliRun r = gbnet(dir, "distill teacher.gbnet student.cfg --distill-epochs 100000 --finetune-epochs 1 "
                          "--set time_limit=0.001 --resume student.distill.ckpt");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "[distill] resuming from student.distill.ckpt")) << r.out;
    gbnet_model *student = load("student.gbnet");
    EXPECT_NE(student, nullptr);
    gbnet_model_free(student);
}

TEST_F(DistillTest, BadOptionsNameTheProblem) {
    struct Case {
        std::string args, message;
        int rc;
    } cases[] = {
        {"missing.gbnet student.cfg", "gbnet distill: TEACHER missing.gbnet:", 1},
        {"teacher.gbnet", "missing CONFIG", 2},
        {"", "missing TEACHER", 2},
        {"teacher.gbnet nothere.cfg", "nothere.cfg", 1},
        {"teacher.gbnet student.cfg --displacements -1", "--displacements", 2},
        {"teacher.gbnet student.cfg --md-frames -3", "--md-frames", 2},
        {"teacher.gbnet student.cfg --sigma 0", "--sigma must be greater than 0", 2},
        {"teacher.gbnet student.cfg --sigma -0.1", "--sigma", 2},
        {"teacher.gbnet student.cfg --strain 0", "--strain", 2},
        {"teacher.gbnet student.cfg --md-timestep 0", "--md-timestep", 2},
        {"teacher.gbnet student.cfg --finetune-epochs 0", "--finetune-epochs", 2},
        {"teacher.gbnet student.cfg --set elements='H C O N'", "elements = H C O N: the teacher teacher.gbnet has no N", 2},
        {"teacher.gbnet student.cfg --set nosuchkey=1", "nosuchkey", 1},
        {"teacher.gbnet student.cfg --set exclude_key=subset=none", "exclude_key = subset=none matches no frame of train_data", 1},
    };
    for (const Case &c : cases) {
        CliRun r = gbnet(dir, "distill " + c.args);
        EXPECT_EQ(r.rc, c.rc) << c.args << "\n" << r.err;
        EXPECT_TRUE(contains(r.err, c.message)) << c.args << "\n" << r.err;
        EXPECT_FALSE(contains(r.out, "phase 1")) << c.args;
    }
    // a teacher without oxygen cannot label ethanol: the message names the frame and the element
    gbnet_model *hc = small_model(small_hyperparams(8, 1, 8, 4, 4.0, {1, 6}), 1);
    ASSERT_EQ(gbnet_model_save(hc, (dir + "/hc.gbnet").c_str()), GBNET_OK);
    gbnet_model_free(hc);
    CliRun r = gbnet(dir, "distill hc.gbnet student.cfg");
    EXPECT_EQ(r.rc, 1);
    EXPECT_TRUE(contains(r.err, "train.extxyz:1: atom")) << r.err;
    EXPECT_TRUE(contains(r.err, "is O, which the teacher hc.gbnet cannot label (its elements: H C)")) << r.err;
}
