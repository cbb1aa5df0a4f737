#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

extern "C" {
#include "gbnet_data.h"
}

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

CliRun run_gbnet(const std::string &args, const std::string &dir) {
    static int counter = 0;
    static const std::string scratch = temp_dir();
    std::string out = scratch + "/out" + std::to_string(counter), err = scratch + "/err" + std::to_string(counter);
    ++counter;
    std::string command = (dir.empty() ? "" : "cd '" + dir + "' && ") + std::string(GBNET_BINARY_DIR) + "/gbnet " +
                          args + " >" + out + " 2>" + err + " </dev/null";
    int status = std::system(command.c_str());
    CliRun r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
}

std::string ethanol_slice(const std::string &dir, const std::string &name, int first, int count) {
    gbnet_dataset ds{};
    EXPECT_EQ(gbnet_read_extxyz(&ds, data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz").c_str()), GBNET_OK);
    std::string path = dir + "/" + name;
    EXPECT_EQ(gbnet_write_extxyz(path.c_str(), ds.frames + first, count, nullptr, nullptr, nullptr), GBNET_OK);
    gbnet_dataset_free(&ds);
    return path;
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

LmpRun run_lmp(const std::string &exe, const std::string &dir, const std::string &name, const std::string &script,
               int ranks, const std::string &args, const std::string &env) {
    write_file(dir + "/" + name + ".in", script);
    std::string cmd = "cd '" + dir + "' && " + env + " OMP_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe -np " +
                      std::to_string(ranks) + " '" + exe + "' " + args + " -echo none -in " + name + ".in -log " +
                      name + ".log > " + name + ".out 2>&1";
    LmpRun run;
    int rc = system(cmd.c_str());
    run.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    run.log = read_file(dir + "/" + name + ".log");
    run.screen = read_file(dir + "/" + name + ".out");
    std::istringstream lines(run.log);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("GBNET ", 0) != 0) continue;
        std::istringstream fields(line.substr(6));
        std::string key;
        fields >> key;
        double v;
        std::vector<double> vs;
        while (fields >> v) vs.push_back(v);
        run.values[key] = vs;
    }
    return run;
}

ReportAtoms read_report_dump(const std::string &path) {
    ReportAtoms a;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("ITEM: ATOMS", 0) == 0) break;
    while (std::getline(in, line)) {
        std::istringstream s(line);
        int id, type;
        double v[13];
        if (!(s >> id >> type)) break;
        for (double &x : v) s >> x;
        a.id.push_back(id);
        a.type.push_back(type);
        a.x.insert(a.x.end(), v, v + 3);
        a.f.insert(a.f.end(), v + 3, v + 6);
        a.pe.push_back(v[6]);
        a.stress.insert(a.stress.end(), v + 7, v + 13);
    }
    return a;
}
