// No subnormal floating-point numbers anywhere gbnet computes. Intel cores
// run every operation that reads or produces a subnormal through a microcode
// path about 100x slower (AMD cores do not, so it goes unseen there); see
// docs/performance.md. Each test clears the floating-point status flags on
// every thread that works in the call, runs the call, and requires that no
// thread raised underflow (a result too small to be normal) or, on x86, the
// denormal-operand flag (an input was subnormal). The flags are sticky, so
// a single subnormal anywhere in a kernel, a BLAS call or libm shows.
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <functional>
#include <string>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "test_util.h"

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
#include "train_config.h"
#include "trainer.h"
}

namespace {

// Flags raised on this thread: "underflow", "denormal operand" or "".
std::string thread_flags() {
    std::string s;
    if (std::fetestexcept(FE_UNDERFLOW)) s += "underflow ";
#if defined(__x86_64__) || defined(__i386__)
    if (_mm_getcsr() & _MM_EXCEPT_DENORM) s += "denormal-operand ";
#endif
    return s;
}

void clear_thread_flags() {
    std::feclearexcept(FE_ALL_EXCEPT);
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() & ~(unsigned)_MM_EXCEPT_MASK);
#endif
}

// Runs call with the flags cleared on n_threads OpenMP threads (the pool the
// library's parallel regions run on) and returns what any of them raised.
std::string flags_raised_by(int n_threads, const std::function<void()> &call) {
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads)
    clear_thread_flags();
#else
    (void)n_threads;
    clear_thread_flags();
#endif
    call();
#ifdef _OPENMP
    std::vector<std::string> per(n_threads);  // thread 0 is the caller's
#pragma omp parallel num_threads(n_threads)
    per[omp_get_thread_num()] = thread_flags();
    std::string raised;
    for (int t = 0; t < n_threads; ++t)
        if (!per[t].empty()) raised += "[thread " + std::to_string(t) + ": " + per[t] + "]";
    return raised;
#else
    return thread_flags();
#endif
}

struct Frames {
    gbnet_dataset ds{};
    Frames() {
        EXPECT_EQ(gbnet_read_extxyz(&ds, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK)
            << gbnet_last_error();
    }
    ~Frames() { gbnet_dataset_free(&ds); }
};

const Frames &water() {
    static Frames f;
    return f;
}

// The benchmark's exact model (F=128, K=50 Gaussians, rc=6): with K=50 most
// Gaussians of an edge are far below FLT_MIN, which is where subnormals came from.
gbnet_model *bench_model() {
    return small_model(small_hyperparams(128, 3, 50, 64, 6.0, {8, 1}), 7);
}

// Evaluates the first water frame (192 atoms, periodic) with energy, forces
// and virial, checking the flags around the call.
void expect_clean_evaluation(const gbnet_model *m, gbnet_precision precision, int n_threads, const char *what) {
    const gbnet_frame &fr = water().ds.frames[0];
    std::vector<int> species(fr.n_atoms);
    for (int i = 0; i < fr.n_atoms; ++i) species[i] = gbnet_model_element_of_z(m, fr.z[i]);
    gbnet_structure s{fr.n_atoms, species.data(), fr.pos, fr.cell, {1, 1, 1}};
    std::vector<double> forces(3 * fr.n_atoms), atom_e(fr.n_atoms);
    gbnet_result r{};
    r.forces = forces.data();
    r.atom_energies = atom_e.data();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, precision), GBNET_OK) << gbnet_last_error();
    gbnet_workspace_set_threads(ws, n_threads);
    gbnet_status st = GBNET_OK;
    std::string raised = flags_raised_by(n_threads, [&] {
        for (int rep = 0; rep < 2 && !st; ++rep) st = gbnet_evaluate(ws, 1, &s, &r);  // fresh and reused buffers
    });
    gbnet_workspace_free(ws);
    ASSERT_EQ(st, GBNET_OK) << gbnet_last_error();
    EXPECT_TRUE(std::isfinite(r.energy));
    EXPECT_EQ(raised, "") << what << (precision == GBNET_FLOAT ? " float" : " double") << ", " << n_threads
                          << " thread(s)";
}

TEST(Subnormals, NoneInExactEvaluationInEitherPrecisionOnOneOrTwoThreads) {
    gbnet_model *m = bench_model();
    ASSERT_NE(m, nullptr);
    for (gbnet_precision p : {GBNET_FLOAT, GBNET_DOUBLE})
        for (int nt : {1, 2}) expect_clean_evaluation(m, p, nt, "exact F=128 K=50");
    gbnet_model_free(m);
}

TEST(Subnormals, NoneInTabulationNorInTabulatedEvaluation) {
    gbnet_model *m = bench_model();
    ASSERT_NE(m, nullptr);
    gbnet_status st = GBNET_OK;
    std::string raised = flags_raised_by(1, [&] { st = gbnet_model_tabulate(m, GBNET_DEFAULT_TABLE_POINTS); });
    ASSERT_EQ(st, GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(raised, "") << "gbnet_model_tabulate";
    for (gbnet_precision p : {GBNET_FLOAT, GBNET_DOUBLE})
        for (int nt : {1, 2}) expect_clean_evaluation(m, p, nt, "tabulated F=128 K=50");
    gbnet_model_free(m);
    // and the shipped water potential, as LAMMPS runs it
    gbnet_model *shipped = nullptr;
    ASSERT_EQ(gbnet_model_load(&shipped, source_path("potentials/water.gbnet").c_str()), GBNET_OK)
        << gbnet_last_error();
    for (int nt : {1, 2}) expect_clean_evaluation(shipped, GBNET_FLOAT, nt, "potentials/water.gbnet");
    gbnet_model_free(shipped);
}

// Training runs all passes (dual forward, tangent, backward with energy and
// force seeds, Adam) in the configured precision, packs in parallel on 2 threads.
void expect_clean_training(const std::string &precision, int n_threads) {
    std::string dir = temp_dir();
    ASSERT_EQ(gbnet_write_extxyz((dir + "/train.extxyz").c_str(), water().ds.frames, 4, nullptr, nullptr, nullptr),
              GBNET_OK);
    ASSERT_EQ(gbnet_write_extxyz((dir + "/valid.extxyz").c_str(), water().ds.frames + 320, 2, nullptr, nullptr, nullptr),
              GBNET_OK);
    std::string cfg = write_file(dir + "/train.cfg",
                                 "train_data = train.extxyz\nvalid_data = valid.extxyz\n"
                                 "features = 32\nblocks = 2\nrbf = 50\nreadout = 16\ncutoff = 6.0\n"
                                 "w_energy = 1\nw_forces = 1\nbatch_size = 2\nlr = 0.002\nepochs = 2\nseed = 3\n"
                                 "precision = " + precision + "\nthreads = " + std::to_string(n_threads) + "\n");
    gbnet_train_config c;
    gb_train_config_defaults(&c);
    ASSERT_EQ(gbnet_train_config_read(&c, cfg.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_train_callbacks hooks{};
    gbnet_trainer *t = nullptr;
    gbnet_status st = GBNET_OK;
    std::string raised = flags_raised_by(n_threads, [&] {
        st = gbnet_trainer_create(&t, &c, nullptr, "test", &hooks);
        if (!st) st = gbnet_trainer_run(t);
    });
    gbnet_trainer_free(t);
    ASSERT_EQ(st, GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(raised, "") << "training in " << precision << ", " << n_threads << " thread(s)";
}

TEST(Subnormals, NoneInTrainingInEitherPrecisionOnOneOrTwoThreads) {
    for (const char *p : {"float", "double"})
        for (int nt : {1, 2}) expect_clean_training(p, nt);
}

}  // namespace

namespace {

// Quantized dense layers (docs/compression.md): the shipped water potential in
// bf16 and in int8 (calibrated on four water frames), float evaluation.
TEST(Subnormals, NoneInQuantizedEvaluation) {
    std::vector<std::vector<int>> species(4);
    std::vector<gbnet_structure> cal;
    for (int k = 0; k < 4; ++k) {
        const gbnet_frame &fr = water().ds.frames[k];
        species[k].assign(fr.n_atoms, 0);
        for (int i = 0; i < fr.n_atoms; ++i) species[k][i] = fr.z[i] == 8 ? 0 : 1;  // water.gbnet: O, H
        cal.push_back(gbnet_structure{fr.n_atoms, species[k].data(), fr.pos, fr.cell, {1, 1, 1}});
    }
    for (gbnet_quant_mode mode : {GBNET_QUANT_BF16, GBNET_QUANT_INT8}) {
        gbnet_model *m = nullptr;
        ASSERT_EQ(gbnet_model_load(&m, source_path("potentials/water.gbnet").c_str()), GBNET_OK) << gbnet_last_error();
        ASSERT_EQ(gbnet_model_element_of_z(m, 8), 0);
        gbnet_status st = GBNET_OK;
        std::string raised = flags_raised_by(1, [&] { st = gbnet_model_quantize(m, mode, 4, cal.data(), 100.0); });
        ASSERT_EQ(st, GBNET_OK) << gbnet_last_error();
        EXPECT_EQ(raised, "") << "gbnet_model_quantize " << gbnet_quant_mode_name(mode);
        for (int nt : {1, 2}) expect_clean_evaluation(m, GBNET_FLOAT, nt, gbnet_quant_mode_name(mode));
        gbnet_model_free(m);
    }
}

}  // namespace
