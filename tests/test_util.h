// Helpers shared by the test suites.
#ifndef GBNET_TEST_UTIL_H
#define GBNET_TEST_UTIL_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

extern "C" {
#include "gbnet.h"
}

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

#endif
