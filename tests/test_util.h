// Helpers shared by the test suites.
#ifndef GBNET_TEST_UTIL_H
#define GBNET_TEST_UTIL_H

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "gbnet.h"
#include "gbnet_data.h"
}

// The frames of an extxyz file (a failed read is a test failure), freed with it.
struct ExtxyzFile {
    gbnet_dataset ds = {};
    explicit ExtxyzFile(const std::string &path) {
        gbnet_status st = gbnet_read_extxyz(&ds, path.c_str());
        EXPECT_EQ(st, GBNET_OK) << gbnet_last_error();
    }
    ~ExtxyzFile() { gbnet_dataset_free(&ds); }
    ExtxyzFile(const ExtxyzFile &) = delete;
    ExtxyzFile &operator=(const ExtxyzFile &) = delete;
};

// Path to a file under ../shared/data (the project's real datasets).
std::string data_path(const std::string &relative);
// Path to a file under the source tree.
std::string source_path(const std::string &relative);
// A fresh temporary directory for one test (removed by nobody: under /tmp).
std::string temp_dir();
// Writes text to path; returns the path.
std::string write_file(const std::string &path, const std::string &text);
// The whole file as bytes ("" if it cannot be read).
std::string read_file(const std::string &path);

// "gbnet ARGS" (ARGS as shell words) run in dir ("": the current directory)
// with no stdin: its exit code, stdout and stderr.
struct CliRun {
    int rc = -1;
    std::string out, err;
    std::string all() const { return out + err; } // both streams, for messages that go to either
};
CliRun run_gbnet(const std::string &args, const std::string &dir = "");

// Writes frames [first, first+count) of the rMD17 ethanol training file as
// extxyz to dir/name; returns the path.
std::string ethanol_slice(const std::string &dir, const std::string &name, int first, int count);

// Hyperparameters of a small test model: F features, T blocks, K Gaussians,
// readout width R, cutoff rc, elements by atomic number in model order.
gbnet_hyperparams small_hyperparams(int F, int T, int K, int R, double rc, const std::vector<int> &atomic_numbers);
// A random model for hp (seeded) with the given normalization (e_ref empty:
// zeros); NULL with a test failure if creation fails.
gbnet_model *small_model(const gbnet_hyperparams &hp, uint64_t seed, double scale = 1.0, double shift = 0.0,
                         const std::vector<double> &e_ref = {});

// Central differences of f along each coordinate of x (step h).
std::vector<double> fd_gradient(std::vector<double> x, const std::function<double(const std::vector<double> &)> &f,
                                double h = 1e-6);

// A LAMMPS run of the LAMMPS suites (test_lammps*.cpp).
struct LmpRun {
    int status = -1;
    std::string log;     // the LAMMPS log file
    std::string screen;  // stdout and stderr
    std::map<std::string, std::vector<double>> values;  // "GBNET key v..." lines of the log
    bool ok() const { return status == 0; }
    std::string text() const { return screen + log; }
};
// Writes script to dir/NAME.in and runs `mpirun -np RANKS EXE ARGS -echo none
// -in NAME.in -log NAME.log` in dir, one OpenMP thread per rank; env is
// prepended to the command (NAME=value ...).
LmpRun run_lmp(const std::string &exe, const std::string &dir, const std::string &name, const std::string &script,
               int ranks, const std::string &args = "", const std::string &env = "");

// Per-atom data of a dump written by tests/lammps/report.in
// (id type x y z fx fy fz pe s1..s6), in the dump's order (sorted by id).
struct ReportAtoms {
    std::vector<int> id, type;
    std::vector<double> x, f, pe, stress;  // [n][3], [n][3], [n], [n][6]
};
ReportAtoms read_report_dump(const std::string &path);

#endif
