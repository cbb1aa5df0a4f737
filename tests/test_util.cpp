#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

std::string data_path(const std::string &relative) { return std::string(GBNET_DATA_DIR) + "/" + relative; }

std::string source_path(const std::string &relative) { return std::string(GBNET_SOURCE_DIR) + "/" + relative; }

std::string temp_dir() {
    char tmpl[] = "/tmp/gbnet-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    return dir ? std::string(dir) : std::string("/tmp");
}

std::string write_file(const std::string &path, const std::string &text) {
    FILE *f = fopen(path.c_str(), "wb");
    if (f) {
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
    }
    return path;
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

gbnet_hyperparams small_hyperparams(int F, int T, int K, int R, double rc, const std::vector<int> &atomic_numbers) {
    gbnet_hyperparams hp;
    gbnet_hyperparams_default(&hp);
    hp.n_features = F;
    hp.n_blocks = T;
    hp.n_rbf = K;
    hp.readout_width = R;
    hp.cutoff = rc;
    hp.n_elements = (int)atomic_numbers.size();
    for (size_t e = 0; e < atomic_numbers.size(); ++e) hp.atomic_numbers[e] = atomic_numbers[e];
    return hp;
}

gbnet_model *small_model(const gbnet_hyperparams &hp, uint64_t seed, double scale, double shift,
                         const std::vector<double> &e_ref) {
    gbnet_model *m = nullptr;
    EXPECT_EQ(gbnet_model_create(&m, &hp, seed), GBNET_OK) << gbnet_last_error();
    if (m && (scale != 1.0 || shift != 0.0 || !e_ref.empty())) {
        std::vector<double> refs(e_ref);
        refs.resize((size_t)hp.n_elements, 0.0);
        EXPECT_EQ(gbnet_model_set_normalization(m, scale, shift, refs.data()), GBNET_OK) << gbnet_last_error();
    }
    return m;
}

std::vector<double> fd_gradient(std::vector<double> x, const std::function<double(const std::vector<double> &)> &f,
                                double h) {
    std::vector<double> g(x.size());
    for (size_t k = 0; k < x.size(); ++k) {
        double x0 = x[k];
        x[k] = x0 + h;
        double fp = f(x);
        x[k] = x0 - h;
        double fm = f(x);
        x[k] = x0;
        g[k] = (fp - fm) / (2 * h);
    }
    return g;
}
