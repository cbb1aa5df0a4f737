// The gbnet command, run as a separate process: init / info / eval round
// trips on slices of the real datasets, reference-energy fitting against an
// independent solution, error statistics against the written predictions,
// exit codes (0 ok, 1 error, 2 usage) and error messages.
#include <gtest/gtest.h>


#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
}
#include "test_util.h"

namespace {

CliRun gbnet(const std::string &args) { return run_gbnet(args); }

bool contains(const std::string &text, const std::string &needle) { return text.find(needle) != std::string::npos; }

// The first n frames of an extxyz file with a fixed number of atoms per frame.
std::string slice(const std::string &source, int atoms_per_frame, int n_frames, const std::string &dest) {
    std::ifstream in(source);
    std::ofstream out(dest);
    std::string line;
    for (int k = 0; k < n_frames * (atoms_per_frame + 2) && std::getline(in, line); ++k) out << line << "\n";
    return dest;
}

// "name: value" lines of gbnet info, and "  SYMBOL value" reference energies.
double info_number(const std::string &info, const std::string &key) {
    size_t at = info.find("\n" + key + ":");
    if (at == std::string::npos) at = info.find(key + ":") == 0 ? 0 : std::string::npos;
    if (at == std::string::npos) return NAN;
    at = info.find(':', at + 1);
    return std::strtod(info.c_str() + at + 1, nullptr);
}

double info_reference(const std::string &info, const std::string &symbol) {
    size_t at = info.find("reference energies (eV):");
    if (at == std::string::npos) return NAN;
    std::istringstream lines(info.substr(at));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string s;
        double v;
        if (!(words >> s >> v)) break;
        if (s == symbol) return v;
    }
    return NAN;
}

struct Row {
    long long count = -1;
    double mae = NAN, rmse = NAN;
};

// Rows of the gbnet eval table, by quantity name ("energy", "force[H]", ...).
std::map<std::string, Row> eval_table(const std::string &out) {
    std::map<std::string, Row> rows;
    std::istringstream lines(out);
    std::string line;
    bool in_table = false;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string name, unit, count, mae, rmse;
        if (!(words >> name)) {
            if (in_table) break;
            continue;
        }
        if (name == "quantity") {
            in_table = true;
            continue;
        }
        if (!in_table || !(words >> unit >> count >> mae >> rmse)) continue;
        Row r;
        r.count = std::stoll(count);
        r.mae = mae == "-" ? NAN : std::stod(mae);
        r.rmse = rmse == "-" ? NAN : std::stod(rmse);
        rows[name] = r;
    }
    return rows;
}

struct Stats {
    double sum_abs = 0, sum_sq = 0;
    long long n = 0;
    void add(double e) {
        sum_abs += std::fabs(e);
        sum_sq += e * e;
        ++n;
    }
    double mae() const { return sum_abs / n; }
    double rmse() const { return std::sqrt(sum_sq / n); }
};

double volume(const double c[9]) {
    return std::fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                     c[2] * (c[3] * c[7] - c[4] * c[6]));
}

// Table values are printed with 4 decimals.
void expect_row(const Row &row, long long count, const Stats &s, const std::string &what) {
    EXPECT_EQ(row.count, count) << what;
    EXPECT_NEAR(row.mae, s.mae(), 1e-4 + 1e-7 * s.mae()) << what;
    EXPECT_NEAR(row.rmse, s.rmse(), 1e-4 + 1e-7 * s.rmse()) << what;
}

const char *kSmallModel = "--features 16 --blocks 2 --rbf 10 --readout 8 --cutoff 4.0";

}  // namespace

// ------------------------------------------------------------ dispatcher

TEST(Cli, DispatcherHelpVersionAndUsage) {
    CliRun none = gbnet("");
    EXPECT_EQ(none.rc, 2);
    EXPECT_TRUE(contains(none.err, "Usage: gbnet <command>"));

    CliRun help = gbnet("--help");
    EXPECT_EQ(help.rc, 0);
    for (const char *c : {"init", "info", "eval"}) EXPECT_TRUE(contains(help.out, std::string("  ") + c)) << c;

    CliRun version = gbnet("--version");
    EXPECT_EQ(version.rc, 0);
    EXPECT_EQ(version.out, std::string("gbnet ") + GBNET_VERSION_STRING + "\n");

    for (const char *c : {"init", "info", "eval"}) {
        CliRun h = gbnet(std::string("help ") + c);
        EXPECT_EQ(h.rc, 0) << c;
        EXPECT_TRUE(contains(h.out, std::string("Usage: gbnet ") + c)) << c << ": " << h.out;
        CliRun h2 = gbnet(std::string(c) + " --help");
        EXPECT_EQ(h2.rc, 0) << c;
        EXPECT_EQ(h2.out, h.out) << c;
    }

    CliRun unknown = gbnet("frobnicate");
    EXPECT_EQ(unknown.rc, 2);
    EXPECT_TRUE(contains(unknown.err, "unknown command 'frobnicate'")) << unknown.err;
    EXPECT_TRUE(contains(unknown.err, "gbnet --help")) << unknown.err;
    CliRun unknown_help = gbnet("help frobnicate");
    EXPECT_EQ(unknown_help.rc, 2);
    CliRun bad_flag = gbnet("--frobnicate");
    EXPECT_EQ(bad_flag.rc, 2);
}

// ------------------------------------------------------------ init / info

TEST(Cli, InitInfoRoundTrip) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    CliRun init = gbnet("init --elements O,H --features 24 --blocks 2 --rbf 12 --readout 10 --cutoff=4.5 --seed 7 -o " +
                     model);
    ASSERT_EQ(init.rc, 0) << init.err;
    EXPECT_TRUE(contains(init.out, "wrote " + model)) << init.out;

    CliRun info = gbnet("info " + model);
    ASSERT_EQ(info.rc, 0) << info.err;
    EXPECT_TRUE(contains(info.out, "elements:        2: O H")) << info.out;
    EXPECT_EQ(info_number(info.out, "format version"), 1);
    EXPECT_EQ(info_number(info.out, "features F"), 24);
    EXPECT_EQ(info_number(info.out, "blocks T"), 2);
    EXPECT_EQ(info_number(info.out, "rbf K"), 12);
    EXPECT_EQ(info_number(info.out, "readout R"), 10);
    EXPECT_EQ(info_number(info.out, "cutoff rc"), 4.5);
    EXPECT_EQ(info_number(info.out, "energy scale"), 1.0);
    EXPECT_EQ(info_number(info.out, "energy shift"), 0.0);
    EXPECT_EQ(info_reference(info.out, "O"), 0.0);
    EXPECT_EQ(info_reference(info.out, "H"), 0.0);
    // embedding 2*24 + blocks 2*(24*12 + 24 + 4*24*24 + 3*24) + readout 10*24 + 10 + 10 + 1
    EXPECT_EQ(info_number(info.out, "parameters"), 2 * 24 + 2 * (24 * 12 + 24 + 4 * 24 * 24 + 3 * 24) + 261);
    EXPECT_TRUE(contains(info.out, "filters:         exact")) << info.out;
    EXPECT_TRUE(contains(info.out, "units:           metal")) << info.out;
    EXPECT_TRUE(contains(info.out, "command: gbnet init --elements O,H --features 24")) << info.out;
    EXPECT_TRUE(contains(info.out, "created: 20")) << info.out;

    // The default readout width follows F/2.
    CliRun init2 = gbnet("init --elements Ta --features 20 -o " + dir + "/t.gbnet");
    ASSERT_EQ(init2.rc, 0) << init2.err;
    EXPECT_EQ(info_number(gbnet("info " + dir + "/t.gbnet").out, "readout R"), 10);
}

// Reference energies on molecules of varied composition, checked against the
// normal equations solved here by Cramer's rule.
TEST(Cli, ReferenceEnergiesMatchLeastSquares) {
    const double e_true[3] = {-1030.5, -13.7, -2040.25}; // C H O
    const int compositions[][3] = {{0, 2, 0}, {1, 4, 0}, {0, 2, 1}, {1, 0, 2}, {2, 6, 1},
                                   {0, 0, 2}, {1, 4, 1}, {2, 4, 0}, {3, 8, 0}, {0, 1, 1}};
    const char *symbols[3] = {"C", "H", "O"};
    std::ostringstream xyz;
    double normal[3][3] = {}, rhs[3] = {};
    std::vector<double> energies;
    std::vector<int> sizes;
    int f = 0;
    for (const auto &c : compositions) {
        int n = c[0] + c[1] + c[2];
        double energy = 0;
        for (int e = 0; e < 3; ++e) energy += c[e] * e_true[e];
        energy += 0.05 * n * std::sin(1.7 * f) + 0.3 * std::cos(2.3 * f); // not explained by composition
        xyz << n << "\nProperties=species:S:1:pos:R:3 energy=" << std::setprecision(17) << energy
            << " pbc=\"F F F\"\n";
        int k = 0;
        for (int e = 0; e < 3; ++e)
            for (int a = 0; a < c[e]; ++a, ++k) xyz << symbols[e] << " " << 1.5 * k << " 0 0\n";
        for (int i = 0; i < 3; ++i) {
            rhs[i] += c[i] * energy;
            for (int j = 0; j < 3; ++j) normal[i][j] += c[i] * c[j];
        }
        energies.push_back(energy);
        sizes.push_back(n);
        ++f;
    }
    auto det3 = [](const double m[3][3]) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    };
    double expected[3];
    for (int col = 0; col < 3; ++col) {
        double m[3][3];
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) m[i][j] = j == col ? rhs[i] : normal[i][j];
        expected[col] = det3(m) / det3(normal);
    }
    double mean = 0, spread = 0;
    std::vector<double> residuals;
    for (size_t k = 0; k < energies.size(); ++k) {
        const int *c = compositions[k];
        residuals.push_back((energies[k] - c[0] * expected[0] - c[1] * expected[1] - c[2] * expected[2]) / sizes[k]);
        mean += residuals.back() / energies.size();
    }
    for (double r : residuals) spread += (r - mean) * (r - mean) / residuals.size();
    spread = std::sqrt(spread);

    std::string dir = temp_dir(), data = write_file(dir + "/mix.xyz", xyz.str()), model = dir + "/m.gbnet";
    CliRun init = gbnet("init --elements C,H,O " + std::string(kSmallModel) + " --reference " + data + " -o " + model);
    ASSERT_EQ(init.rc, 0) << init.err;
    EXPECT_FALSE(contains(init.err, "closest to")) << init.err;
    CliRun info = gbnet("info " + model);
    for (int e = 0; e < 3; ++e) {
        EXPECT_NEAR(info_reference(info.out, symbols[e]), expected[e], 1e-7 * std::fabs(expected[e])) << symbols[e];
        EXPECT_NEAR(info_reference(info.out, symbols[e]), e_true[e], 2.0) << symbols[e]; // sanity: near the truth
    }
    EXPECT_NEAR(info_number(info.out, "energy shift"), mean, 1e-8);
    EXPECT_NEAR(info_number(info.out, "energy scale"), spread, 1e-8 * spread);
    EXPECT_TRUE(contains(info.out, "reference energies: least squares on " + data + " (10 frames)")) << info.out;
}

// Ethanol frames all have the composition C2H6O: the split is not determined,
// so the references closest to equal are used (what gbnet train does): all
// three equal the mean energy per atom.
TEST(Cli, ReferenceEnergiesDependentCompositions) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    std::string data = slice(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 9, 30, dir + "/eth.xyz");
    CliRun init = gbnet("init --elements C,H,O " + std::string(kSmallModel) + " --reference " + data + " -o " + model);
    ASSERT_EQ(init.rc, 0) << init.err;
    EXPECT_TRUE(contains(init.err, "closest to equal")) << init.err;
    CliRun info = gbnet("info " + model);
    double c = info_reference(info.out, "C"), h = info_reference(info.out, "H"), o = info_reference(info.out, "O");
    ExtxyzFile d(data);
    double mean_energy = 0;
    for (int k = 0; k < d.ds.n_frames; ++k) mean_energy += d.ds.frames[k].energy / d.ds.n_frames;
    EXPECT_NEAR(2 * c + 6 * h + o, mean_energy, 1e-9 * std::fabs(mean_energy));
    EXPECT_NEAR(c, mean_energy / 9, 1e-9 * std::fabs(mean_energy));
    EXPECT_NEAR(h, mean_energy / 9, 1e-9 * std::fabs(mean_energy));
    EXPECT_NEAR(o, mean_energy / 9, 1e-9 * std::fabs(mean_energy));
    EXPECT_NEAR(info_number(info.out, "energy shift"), 0.0, 1e-6);
    EXPECT_GT(info_number(info.out, "energy scale"), 1e-4); // energies of the frames differ
}

TEST(Cli, ReferenceEnergiesElementAbsentFromData) {
    std::string dir = temp_dir();
    std::string data = slice(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 9, 3, dir + "/eth.xyz");
    CliRun init = gbnet("init --elements C,H,O,N --reference " + data + " -o " + dir + "/m.gbnet");
    EXPECT_EQ(init.rc, 1);
    EXPECT_TRUE(contains(init.err, "gbnet init: --reference " + data + ": element N occurs in no frame")) << init.err;
    EXPECT_FALSE(std::ifstream(dir + "/m.gbnet").good());
}

// ------------------------------------------------------------ eval

// The eval table must equal the statistics of the written predictions
// against the labels, and the predictions must equal a direct library call.
TEST(Cli, EvalEthanolMatchesPredictionsAndLibrary) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet", predictions = dir + "/pred.xyz";
    std::string data = slice(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 9, 20, dir + "/eth.xyz");
    ASSERT_EQ(gbnet("init --elements H,C,O " + std::string(kSmallModel) + " --reference " + data + " -o " + model).rc,
              0);
    CliRun eval = gbnet("eval " + model + " " + data + " --batch 7 --threads 1 --write-predictions " + predictions);
    ASSERT_EQ(eval.rc, 0) << eval.err;
    EXPECT_TRUE(contains(eval.out, "frames:      20 (20 with energy, 20 with forces, 0 with stress)")) << eval.out;
    EXPECT_TRUE(contains(eval.out, "atoms:       180")) << eval.out;
    EXPECT_TRUE(contains(eval.out, "atoms/s (double precision, 1 threads, 3 calls)")) << eval.out; // 7 + 7 + 6

    ExtxyzFile labels(data), pred(predictions);
    ASSERT_EQ(pred.ds.n_frames, 20);
    Stats energy, force, force_of[3];
    const int z_order[3] = {1, 6, 8};
    for (int f = 0; f < 20; ++f) {
        const gbnet_frame &l = labels.ds.frames[f], &p = pred.ds.frames[f];
        ASSERT_EQ(p.n_atoms, 9);
        ASSERT_TRUE(p.has_energy && p.forces && p.has_virial);
        energy.add(1000.0 * (p.energy - l.energy) / 9);
        for (int i = 0; i < 9; ++i) {
            EXPECT_EQ(p.z[i], l.z[i]);
            EXPECT_EQ(p.pos[3 * i], l.pos[3 * i]);
            int e = l.z[i] == 1 ? 0 : l.z[i] == 6 ? 1 : 2;
            for (int c = 0; c < 3; ++c) {
                force.add(1000.0 * (p.forces[3 * i + c] - l.forces[3 * i + c]));
                force_of[e].add(1000.0 * (p.forces[3 * i + c] - l.forces[3 * i + c]));
            }
        }
    }
    auto rows = eval_table(eval.out);
    expect_row(rows["energy"], 20, energy, "energy");
    expect_row(rows["force"], 540, force, "force");
    EXPECT_EQ(rows["stress"].count, 0);
    for (int e = 0; e < 3; ++e) {
        std::string s = gbnet_element_symbol(z_order[e]);
        expect_row(rows["force[" + s + "]"], force_of[e].n, force_of[e], "force[" + s + "]");
        expect_row(rows["energy[" + s + "]"], 20, energy, "energy[" + s + "]"); // every frame has every element
    }
    // A random model with fitted reference energies lands within ~1 eV/atom.
    EXPECT_LT(rows["energy"].mae, 1000.0);

    // Same numbers from the library directly, one frame at a time.
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, model.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    for (int f = 0; f < 20; ++f) {
        const gbnet_frame &l = labels.ds.frames[f];
        std::vector<int> species(9);
        for (int i = 0; i < 9; ++i) species[i] = gbnet_model_element_of_z(m, l.z[i]);
        std::vector<double> forces(27);
        gbnet_structure s = {9, species.data(), l.pos, nullptr, {0, 0, 0}};
        gbnet_result r = {};
        r.forces = forces.data();
        ASSERT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
        const gbnet_frame &p = pred.ds.frames[f];
        EXPECT_NEAR(p.energy, r.energy, 1e-9 * std::fabs(r.energy)) << f;
        for (int k = 0; k < 27; ++k) EXPECT_NEAR(p.forces[k], forces[k], 1e-9) << f;
        for (int k = 0; k < 9; ++k) EXPECT_NEAR(p.virial[k], r.virial[k], 1e-9) << f;
    }
    gbnet_workspace_free(ws);
    gbnet_model_free(m);

    // Single precision gives the same errors to a few digits.
    CliRun single = gbnet("eval " + model + " " + data + " --precision float");
    ASSERT_EQ(single.rc, 0) << single.err;
    EXPECT_TRUE(contains(single.out, "float precision")) << single.out;
    auto rows32 = eval_table(single.out);
    EXPECT_NEAR(rows32["force"].mae, rows["force"].mae, 1e-3 * rows["force"].mae);
    EXPECT_NEAR(rows32["energy"].mae, rows["energy"].mae, 1.0); // meV/atom
}

// Periodic, skewed cells with stress labels: the stress row is the error of
// -virial/V in GPa over all 9 components.
TEST(Cli, EvalTantalumStress) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet", predictions = dir + "/pred.xyz";
    std::string all = data_path("fitsnap_ta/fitsnap_ta.extxyz");
    ASSERT_EQ(gbnet("init --elements Ta " + std::string(kSmallModel) + " -o " + model).rc, 0);
    CliRun eval = gbnet("eval " + model + " " + all + " --subset config_type=Elastic_BCC --subset 'subset=*_1?' " +
                     "--write-predictions " + predictions);
    ASSERT_EQ(eval.rc, 0) << eval.err;
    ExtxyzFile everything(all), pred(predictions);
    std::vector<const gbnet_frame *> labels;
    for (int f = 0; f < everything.ds.n_frames; ++f) {
        const gbnet_frame &fr = everything.ds.frames[f];
        std::string subset = fr.subset ? fr.subset : "";
        if (std::string(fr.config_type) == "Elastic_BCC" && subset.size() >= 3 &&
            subset.compare(subset.size() - 3, 2, "_1") == 0)
            labels.push_back(&fr);
    }
    ASSERT_GT(labels.size(), 0u);
    ASSERT_EQ(pred.ds.n_frames, (int)labels.size());
    Stats stress, energy;
    long long atoms = 0;
    for (size_t f = 0; f < labels.size(); ++f) {
        const gbnet_frame &l = *labels[f], &p = pred.ds.frames[f];
        ASSERT_TRUE(l.has_virial && l.has_cell);
        atoms += l.n_atoms;
        energy.add(1000.0 * (p.energy - l.energy) / l.n_atoms);
        for (int k = 0; k < 9; ++k) stress.add((-p.virial[k] / volume(p.cell) + l.virial[k] / volume(l.cell)) * 160.2176634);
    }
    auto rows = eval_table(eval.out);
    expect_row(rows["stress"], 9 * (long long)labels.size(), stress, "stress");
    expect_row(rows["energy"], (long long)labels.size(), energy, "energy");
    EXPECT_TRUE(contains(eval.out, "atoms:       " + std::to_string(atoms))) << eval.out;
    EXPECT_TRUE(contains(eval.out, "[config_type=Elastic_BCC]")) << eval.out;

    CliRun none = gbnet("eval " + model + " " + all + " --subset config_type=NoSuchGroup");
    EXPECT_EQ(none.rc, 1);
    EXPECT_TRUE(contains(none.err, "gbnet eval: no frame matches")) << none.err;
}

// gbnet eval counts the frames outside the potential's coverage record: none
// for a record made from the data itself, all of them (and the volume) for
// a record whose shortest Ta-Ta distance and volume range lie beyond the data.
TEST(Cli, EvalCountsFramesOutsideTheCoverageRecord) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    std::string bcc = data_path("fitsnap_ta/fitsnap_ta.extxyz");
    ASSERT_EQ(gbnet("init --elements Ta " + std::string(kSmallModel) + " -o " + model).rc, 0);
    CliRun plain = gbnet("eval " + model + " " + bcc + " --subset config_type=Elastic_BCC");
    ASSERT_EQ(plain.rc, 0) << plain.err;
    EXPECT_TRUE(contains(plain.out, "holds no record of its training data: not checked")) << plain.out;

    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, model.c_str()), GBNET_OK);
    gbnet_coverage c{};
    c.n_frames = 1;
    c.trained_energies = c.trained_forces = 1;
    c.n_periodic = 1;
    c.volume_per_atom_min = 1.0;
    c.volume_per_atom_max = 100.0;
    c.shortest_distance[0][0] = 1.0;  // far below any Ta-Ta distance of the data
    ASSERT_EQ(gbnet_model_set_coverage(m, &c), GBNET_OK);
    std::string inside = dir + "/inside.gbnet", outside = dir + "/outside.gbnet";
    ASSERT_EQ(gbnet_model_save(m, inside.c_str()), GBNET_OK);
    c.shortest_distance[0][0] = 3.5;  // above the BCC nearest neighbours (about 2.86 A)
    c.volume_per_atom_min = 30.0;     // above BCC Ta's 18 A^3 per atom
    ASSERT_EQ(gbnet_model_set_coverage(m, &c), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(m, outside.c_str()), GBNET_OK);
    gbnet_model_free(m);

    CliRun in = gbnet("eval " + inside + " " + bcc + " --subset config_type=Elastic_BCC");
    ASSERT_EQ(in.rc, 0) << in.err;
    EXPECT_TRUE(contains(in.out, "coverage:    0 of ")) << in.out;
    CliRun out = gbnet("eval " + outside + " " + bcc + " --subset config_type=Elastic_BCC");
    ASSERT_EQ(out.rc, 0) << out.err;
    size_t at = out.out.find("coverage:    ");
    ASSERT_NE(at, std::string::npos) << out.out;
    int n_out = -1, n_all = -2, n_close = -1;
    ASSERT_EQ(sscanf(out.out.c_str() + at, "coverage: %d of %d frames outside the training data (%d with", &n_out,
                     &n_all, &n_close), 3)
        << out.out;
    EXPECT_EQ(n_out, n_all);
    EXPECT_EQ(n_close, n_all);
    EXPECT_TRUE(contains(out.out, std::to_string(n_all) + " with a volume per atom outside")) << out.out;
    EXPECT_TRUE(contains(out.out, "closest:     0.")) << out.out;
}

// gbnet coverage records what data covers: the record of the BCC elastic
// frames holds their volume range, so eval finds those frames inside and the
// equation-of-state frames (compressed and expanded cells) outside; a bad
// subset and a committee are refused.
TEST(Cli, CoverageRecordsTheDataAndEvalChecksAgainstIt) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet", recorded = dir + "/rec.gbnet";
    std::string ta = data_path("fitsnap_ta/fitsnap_ta.extxyz");
    ASSERT_EQ(gbnet("init --elements Ta " + std::string(kSmallModel) + " -o " + model).rc, 0);
    CliRun rec = gbnet("coverage " + model + " " + ta + " --subset config_type=Elastic_BCC -o " + recorded);
    ASSERT_EQ(rec.rc, 0) << rec.err;
    EXPECT_TRUE(contains(rec.out, "labels:      energies yes, forces yes, stresses yes")) << rec.out;
    EXPECT_TRUE(contains(rec.out, "written:     " + recorded)) << rec.out;
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, recorded.c_str()), GBNET_OK);
    const gbnet_coverage *c = gbnet_model_coverage(m);
    ASSERT_NE(c, nullptr);
    EXPECT_GT(c->n_frames, 0);
    EXPECT_EQ(c->n_periodic, c->n_frames);
    EXPECT_GT(c->shortest_distance[0][0], 2.0);
    EXPECT_LT(c->shortest_distance[0][0], 3.0);
    EXPECT_GT(c->volume_per_atom_max, c->volume_per_atom_min);
    gbnet_model_free(m);
    CliRun inside = gbnet("eval " + recorded + " " + ta + " --subset config_type=Elastic_BCC");
    ASSERT_EQ(inside.rc, 0) << inside.err;
    EXPECT_TRUE(contains(inside.out, "coverage:    0 of ")) << inside.out;
    CliRun eos = gbnet("eval " + recorded + " " + ta + " --subset config_type=Volume_BCC");
    ASSERT_EQ(eos.rc, 0) << eos.err;
    size_t at = eos.out.find("coverage:    ");
    ASSERT_NE(at, std::string::npos) << eos.out;
    int n_out = 0, n_all = 0;
    ASSERT_EQ(sscanf(eos.out.c_str() + at, "coverage: %d of %d", &n_out, &n_all), 2);
    EXPECT_GT(n_out, n_all / 2) << eos.out;
    CliRun none = gbnet("coverage " + model + " " + ta + " --subset config_type=Nothing -o " + dir + "/x.gbnet");
    EXPECT_EQ(none.rc, 1);
    EXPECT_TRUE(contains(none.err, "no frame matches")) << none.err;
    CliRun usage = gbnet("coverage " + model + " " + ta);
    EXPECT_EQ(usage.rc, 2);
    EXPECT_TRUE(contains(usage.err, "need -o OUT.gbnet")) << usage.err;
}

// Energy and forces of structures by a potential file (double precision).
struct Evaluated {
    std::vector<double> energy;
    std::vector<std::vector<double>> forces;
};
Evaluated evaluate_file(const std::string &path, const std::vector<gbnet_structure> &s) {
    gbnet_model *m = nullptr;
    gbnet_workspace *ws = nullptr;
    EXPECT_EQ(gbnet_model_load(&m, path.c_str()), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(gbnet_workspace_create(&ws, m, GBNET_DOUBLE), GBNET_OK);
    Evaluated e;
    e.forces.resize(s.size());
    std::vector<gbnet_result> r(s.size());
    for (size_t k = 0; k < s.size(); ++k) {
        e.forces[k].resize(3 * (size_t)s[k].n_atoms);
        r[k] = gbnet_result{};
        r[k].forces = e.forces[k].data();
    }
    EXPECT_EQ(gbnet_evaluate(ws, (int)s.size(), s.data(), r.data()), GBNET_OK) << gbnet_last_error();
    for (auto &x : r) e.energy.push_back(x.energy);
    gbnet_workspace_free(ws);
    gbnet_model_free(m);
    return e;
}

// gbnet zbl puts a repulsive core under a potential trained without one, at
// the radii where its training data ends: energies and forces of training
// frames are unchanged, a pair pushed closer gains exactly the ZBL pair
// energy, --remove gives back the original file byte for byte, a committee
// gets it on every member, and bad requests are refused with reasons.
TEST(Cli, ZblAddsACoreBelowTheTrainingData) {
    std::string dir = temp_dir(), bare = dir + "/bare.gbnet", cored = dir + "/cored.gbnet";
    std::string shipped = source_path("potentials/water.gbnet");
    CliRun strip = gbnet("zbl " + shipped + " --remove -o " + bare);
    ASSERT_EQ(strip.rc, 0) << strip.err;
    CliRun add = gbnet("zbl " + bare + " -o " + cored);
    ASSERT_EQ(add.rc, 0) << add.err;
    EXPECT_FALSE(contains(add.out, "training energies change")) << add.out;
    EXPECT_EQ(gbnet("zbl " + cored + " --remove -o " + dir + "/again.gbnet").rc, 0);
    EXPECT_EQ(read_file(dir + "/again.gbnet"), read_file(bare));

    // radii: the coverage record's shortest distances, inner 0.75 of them
    gbnet_model *m = nullptr;
    ASSERT_EQ(gbnet_model_load(&m, cored.c_str()), GBNET_OK);
    const gbnet_coverage *c = gbnet_model_coverage(m);
    ASSERT_NE(c, nullptr);
    double inner[4], outer[4];
    ASSERT_EQ(gbnet_model_zbl(m, inner, outer), 1);
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
            EXPECT_EQ(outer[a * 2 + b], c->shortest_distance[a][b]);
            EXPECT_DOUBLE_EQ(inner[a * 2 + b], 0.75 * c->shortest_distance[a][b]);
        }
    double oo_inner = inner[0], oo_outer = outer[0];
    gbnet_model_free(m);

    // training frames (the shortest distances came from them): unchanged
    gbnet_dataset water{};
    ASSERT_EQ(gbnet_read_extxyz(&water, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
    std::vector<gbnet_structure> s;
    std::vector<std::vector<int>> species(4);
    for (int k = 0; k < 4; ++k) {
        const gbnet_frame *f = &water.frames[k * 40];
        for (int i = 0; i < f->n_atoms; ++i) species[k].push_back(f->z[i] == 8 ? 0 : 1);
        s.push_back(gbnet_structure{f->n_atoms, species[k].data(), f->pos, f->cell, {1, 1, 1}});
    }
    // and a copy of frame 0 with two oxygens pushed to 1.5 A: inside the core
    const gbnet_frame *f0 = &water.frames[0];
    std::vector<double> pushed(f0->pos, f0->pos + 3 * f0->n_atoms);
    int o1 = -1, o2 = -1;
    for (int i = 0; i < f0->n_atoms && o2 < 0; ++i)
        if (f0->z[i] == 8) (o1 < 0 ? o1 : o2) = i;
    double d0[3], len = 0;
    for (int x = 0; x < 3; ++x) {
        d0[x] = pushed[3 * o2 + x] - pushed[3 * o1 + x];
        len += d0[x] * d0[x];
    }
    len = std::sqrt(len);
    for (int x = 0; x < 3; ++x) pushed[3 * o2 + x] = pushed[3 * o1 + x] + d0[x] / len * 1.5;
    s.push_back(gbnet_structure{f0->n_atoms, species[0].data(), pushed.data(), f0->cell, {1, 1, 1}});
    Evaluated e_bare = evaluate_file(bare, s), e_cored = evaluate_file(cored, s);
    for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(e_cored.energy[k], e_bare.energy[k]) << "training frame " << k * 40;
        for (size_t i = 0; i < e_bare.forces[k].size(); ++i) ASSERT_EQ(e_cored.forces[k][i], e_bare.forces[k][i]);
    }
    // the energy gained is the switched ZBL energy of every pair inside a
    // core radius (the pushed pair, and any the push brought close), summed
    // here over minimum images of the cubic cell
    for (int x = 0; x < 9; ++x) ASSERT_EQ(f0->cell[x] != 0.0, x % 4 == 0) << "cubic cell expected";
    double extra = 0.0;
    int inside_pairs = 0;
    for (int i = 0; i < f0->n_atoms; ++i)
        for (int j = i + 1; j < f0->n_atoms; ++j) {
            double r2 = 0.0;
            for (int x = 0; x < 3; ++x) {
                double L = f0->cell[4 * x], d = pushed[3 * j + x] - pushed[3 * i + x];
                d -= L * std::nearbyint(d / L);
                r2 += d * d;
            }
            int a = species[0][i], b = species[0][j];
            double r = std::sqrt(r2);
            if (r >= outer[a * 2 + b]) continue;
            ++inside_pairs;
            extra += gbnet_zbl_pair_energy(f0->z[i], f0->z[j], r, inner[a * 2 + b], outer[a * 2 + b], nullptr);
        }
    EXPECT_GE(inside_pairs, 1);
    EXPECT_GT(extra, gbnet_zbl_pair_energy(8, 8, 1.5, oo_inner, oo_outer, nullptr) - 1e-12);
    EXPECT_NEAR(e_cored.energy[4] - e_bare.energy[4], extra, 1e-9 * std::fabs(extra));
    gbnet_dataset_free(&water);

    // a committee: every member gets its core
    CliRun com = gbnet("zbl " + source_path("potentials/water_committee.gbnet") + " --remove -o " + dir + "/c0.gbnet");
    ASSERT_EQ(com.rc, 0) << com.err;
    ASSERT_EQ(gbnet("zbl " + dir + "/c0.gbnet -o " + dir + "/c1.gbnet").rc, 0);
    gbnet_committee *cm = nullptr;
    ASSERT_EQ(gbnet_committee_load(&cm, (dir + "/c1.gbnet").c_str()), GBNET_OK);
    EXPECT_EQ(gbnet_committee_size(cm), 4);
    for (int k = 0; k < gbnet_committee_size(cm); ++k)
        EXPECT_EQ(gbnet_model_zbl(gbnet_committee_member(cm, k), nullptr, nullptr), 1) << "member " << k;
    gbnet_committee_free(cm);

    // radii given: inside the data is said; bad ones refused
    CliRun inside = gbnet("zbl " + bare + " --outer O-O=2.5 --inner H-O=0.5 -o " + dir + "/x.gbnet");
    ASSERT_EQ(inside.rc, 0) << inside.err;
    EXPECT_TRUE(contains(inside.out, "O -O  1.8750 - 2.5000 A")) << inside.out;
    EXPECT_TRUE(contains(inside.out, "O -H  0.5000 - ")) << inside.out;
    EXPECT_TRUE(contains(inside.out, "the core acts inside the data, training energies change")) << inside.out;
    // each refused with its exit code and a message saying why
    auto refused = [&](const std::string &args, int rc, const std::string &why) {
        CliRun r = gbnet("zbl " + args + " -o " + dir + "/x.gbnet");
        EXPECT_EQ(r.rc, rc) << args;
        EXPECT_TRUE(contains(r.err, why)) << args << ": " << r.err;
    };
    refused(cored, 1, "already has a repulsive core");
    EXPECT_EQ(gbnet("zbl " + cored + " --replace --outer H-H=1.2 -o " + dir + "/x.gbnet").rc, 0);
    refused(bare + " --outer O-C=2", 2, "C is not an element of the potential (it has O H)");
    refused(bare + " --inner O-O=2.4", 2, "O-O: the inner radius 2.4 A must be below the outer radius");
    refused(bare + " --outer H-H=7", 2, "beyond the cutoff");
    refused(bare + " --outer OO2", 2, "expected A-B=RADIUS");
    refused(bare + " --remove --outer O-O=2", 2, "--remove takes no --outer or --inner");
    std::string fresh = dir + "/fresh.gbnet";
    ASSERT_EQ(gbnet("init --elements O,H " + std::string(kSmallModel) + " -o " + fresh).rc, 0);
    refused(fresh, 1, "no coverage record");
    EXPECT_EQ(gbnet("zbl " + fresh + " --outer O-O=2 --outer O-H=0.8 --outer H-H=1.2 -o " + dir + "/x.gbnet").rc, 0);
    EXPECT_EQ(gbnet("zbl " + bare).rc, 2);
}

// ------------------------------------------------------------ errors

TEST(Cli, ErrorsMissingFiles) {
    std::string dir = temp_dir();
    CliRun info = gbnet("info " + dir + "/nothing.gbnet");
    EXPECT_EQ(info.rc, 1);
    EXPECT_TRUE(contains(info.err, "gbnet info: ")) << info.err;
    EXPECT_TRUE(contains(info.err, dir + "/nothing.gbnet")) << info.err;

    std::string model = dir + "/m.gbnet";
    ASSERT_EQ(gbnet("init --elements O,H " + std::string(kSmallModel) + " -o " + model).rc, 0);
    CliRun eval = gbnet("eval " + model + " " + dir + "/nothing.xyz");
    EXPECT_EQ(eval.rc, 1);
    EXPECT_TRUE(contains(eval.err, "gbnet eval: ")) << eval.err;
    EXPECT_TRUE(contains(eval.err, dir + "/nothing.xyz")) << eval.err;

    // Not a potential file.
    std::string junk = write_file(dir + "/junk.gbnet", "this is not a model\n");
    CliRun bad_model = gbnet("eval " + junk + " " + dir + "/nothing.xyz");
    EXPECT_EQ(bad_model.rc, 1);
    EXPECT_TRUE(contains(bad_model.err, junk)) << bad_model.err;

    // Unwritable predictions file.
    std::string data = slice(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 9, 2, dir + "/eth.xyz");
    std::string model_cho = dir + "/cho.gbnet";
    ASSERT_EQ(gbnet("init --elements C,H,O " + std::string(kSmallModel) + " -o " + model_cho).rc, 0);
    CliRun unwritable = gbnet("eval " + model_cho + " " + data + " --write-predictions " + dir + "/no/such/dir/p.xyz");
    EXPECT_EQ(unwritable.rc, 1);
    EXPECT_TRUE(contains(unwritable.err, dir + "/no/such/dir/p.xyz")) << unwritable.err;
}

TEST(Cli, ErrorsMalformedData) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    ASSERT_EQ(gbnet("init --elements O,H " + std::string(kSmallModel) + " -o " + model).rc, 0);
    std::string bad = write_file(dir + "/bad.xyz",
                                 "2\n"
                                 "Properties=species:S:1:pos:R:3:forces:R:3 energy=-1.5 pbc=\"F F F\"\n"
                                 "O 0 0 0 0.1 0.2 0.3\n"
                                 "H 1 zero 0 -0.1 -0.2 -0.3\n");
    CliRun eval = gbnet("eval " + model + " " + bad);
    EXPECT_EQ(eval.rc, 1);
    EXPECT_TRUE(contains(eval.err, "gbnet eval: " + bad + ":4: ")) << eval.err;
    CliRun init = gbnet("init --elements O,H --reference " + bad + " -o " + dir + "/x.gbnet");
    EXPECT_EQ(init.rc, 1);
    EXPECT_TRUE(contains(init.err, "gbnet init: " + bad + ":4: ")) << init.err;

    // Readable, but the second frame cannot be evaluated: the message names it.
    std::string overlap = write_file(dir + "/overlap.xyz",
                                     "3\n"
                                     "Properties=species:S:1:pos:R:3 energy=-1 pbc=\"F F F\"\n"
                                     "H 0 0 0\nH 1 0 0\nO 5 5 5\n"
                                     "2\n"
                                     "Properties=species:S:1:pos:R:3 energy=-1 pbc=\"F F F\"\n"
                                     "H 0 0 0\nH 0 0 0\n");
    CliRun collapsed = gbnet("eval " + model + " " + overlap);
    EXPECT_EQ(collapsed.rc, 1);
    EXPECT_TRUE(contains(collapsed.err, "gbnet eval: " + overlap + ":6: evaluating this frame failed")) << collapsed.err;
}

TEST(Cli, ErrorsElementNotInModel) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    ASSERT_EQ(gbnet("init --elements O,H " + std::string(kSmallModel) + " -o " + model).rc, 0);
    std::string data = slice(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 9, 3, dir + "/eth.xyz");
    CliRun eval = gbnet("eval " + model + " " + data);
    EXPECT_EQ(eval.rc, 1);
    // the first frame (line 1) has carbon as its first atom
    EXPECT_TRUE(contains(eval.err, "gbnet eval: " + data + ":1: ")) << eval.err;
    EXPECT_TRUE(contains(eval.err, "C (Z=6)")) << eval.err;
    EXPECT_TRUE(contains(eval.err, "model elements: O H")) << eval.err;
    CliRun init = gbnet("init --elements O,H --reference " + data + " -o " + dir + "/x.gbnet");
    EXPECT_EQ(init.rc, 1);
    EXPECT_TRUE(contains(init.err, "C (Z=6)")) << init.err;
}

// compress --quantize: written, shown by info, checked against the float model,
// noted by a double-precision eval; with --tabulate in the same call.
TEST(Cli, CompressQuantizes) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    ASSERT_EQ(gbnet("init --elements C,H,O " + std::string(kSmallModel) + " -o " + model).rc, 0);
    std::string data = slice(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 9, 12, dir + "/eth.xyz");
    CliRun q8 = gbnet("compress --tabulate --quantize int8 --calibrate " + data + " --check " + data + " " + model + " " +
                      dir + "/q8.gbnet");
    ASSERT_EQ(q8.rc, 0) << q8.err;
    EXPECT_TRUE(contains(q8.out, "quantized 7 dense layers to int8")) << q8.out;
    EXPECT_TRUE(contains(q8.out, "on 12 frames")) << q8.out;
    EXPECT_TRUE(contains(q8.out, "deviation from the float model with the same rounded weights")) << q8.out;
    CliRun info = gbnet("info " + dir + "/q8.gbnet");
    EXPECT_TRUE(contains(info.out, "quantization:    int8")) << info.out;
    EXPECT_TRUE(contains(info.out, "filters:         tabulated")) << info.out;
    CliRun b16 = gbnet("compress --quantize bf16 " + dir + "/q8.gbnet " + dir + "/b16.gbnet");
    ASSERT_EQ(b16.rc, 0) << b16.err;
    info = gbnet("info " + dir + "/b16.gbnet");
    EXPECT_TRUE(contains(info.out, "quantization:    bf16")) << info.out;
    EXPECT_TRUE(contains(info.out, "filters:         tabulated")) << info.out;  // IN's table is kept
    CliRun ev = gbnet("eval " + dir + "/b16.gbnet " + data);
    EXPECT_EQ(ev.rc, 0) << ev.err;
    EXPECT_TRUE(contains(ev.err, "run with --precision float only")) << ev.err;
    CliRun evf = gbnet("eval --precision float " + dir + "/b16.gbnet " + data);
    EXPECT_EQ(evf.rc, 0) << evf.err;
    EXPECT_FALSE(contains(evf.err, "note")) << evf.err;
    info = gbnet("info " + model);
    EXPECT_TRUE(contains(info.out, "quantization:    none")) << info.out;
}

TEST(Cli, ErrorsBadUsage) {
    std::string dir = temp_dir(), model = dir + "/m.gbnet";
    ASSERT_EQ(gbnet("init --elements O,H " + std::string(kSmallModel) + " -o " + model).rc, 0);

    CliRun unknown = gbnet("eval --bogus " + model + " x.xyz");
    EXPECT_EQ(unknown.rc, 2);
    EXPECT_TRUE(contains(unknown.err, "gbnet eval: unknown option '--bogus'")) << unknown.err;
    EXPECT_TRUE(contains(unknown.err, "Try 'gbnet eval --help'.")) << unknown.err;
    CliRun near_miss = gbnet("eval " + model + " x.xyz --thread 2");
    EXPECT_EQ(near_miss.rc, 2);
    EXPECT_TRUE(contains(near_miss.err, "did you mean '--threads'?")) << near_miss.err;

    struct Case {
        std::string args, message;
    } cases[] = {
        {"init --elements O,H --features 12abc -o " + dir + "/x.gbnet", "--features expects an integer, got '12abc'"},
        {"init --elements O,H --cutoff 5.0A -o " + dir + "/x.gbnet", "--cutoff expects a number, got '5.0A'"},
        {"init --elements O,H --cutoff '' -o " + dir + "/x.gbnet", "--cutoff expects a number, got ''"},
        {"init --elements O,H --blocks 17 -o " + dir + "/x.gbnet", "--blocks must be in 1..16, got 17"},
        {"init --elements O,H --seed -3 -o " + dir + "/x.gbnet", "--seed expects a non-negative integer"},
        {"init --elements O,Xx -o " + dir + "/x.gbnet", "'Xx' is not a chemical symbol"},
        {"init --elements O,,H -o " + dir + "/x.gbnet", "--elements expects chemical symbols"},
        {"init --elements O,H,O -o " + dir + "/x.gbnet", "O is listed twice"},
        {"init --elements O,H", "missing -o"},
        {"init -o " + dir + "/x.gbnet", "missing --elements"},
        {"init --elements", "option '--elements' needs a value"},
        {"init --elements O,H -o " + dir + "/x.gbnet extra", "unexpected argument 'extra'"},
        {"info", "missing MODEL.gbnet"},
        {"info " + model + " " + model, "unexpected argument"},
        {"info --help=yes", "option '--help' takes no value"},
        {"eval " + model, "missing DATA"},
        {"eval " + model + " x.xyz --threads 2x", "--threads expects an integer, got '2x'"},
        {"eval " + model + " x.xyz --batch 0", "--batch must be in 1..1000000, got 0"},
        {"eval " + model + " x.xyz --precision half", "--precision expects 'double' or 'float', got 'half'"},
        {"eval " + model + " x.xyz --subset data_3", "--subset expects KEY=PATTERN"},
        {"compress " + model + " " + dir + "/x.gbnet", "--quantize bf16|int8"},
        {"compress --quantize fp8 " + model + " " + dir + "/x.gbnet", "--quantize expects bf16 or int8, got 'fp8'"},
        {"compress --quantize int8 " + model + " " + dir + "/x.gbnet", "--quantize int8 needs --calibrate DATA"},
        {"compress --quantize bf16 --calibrate a.xyz " + model + " " + dir + "/x.gbnet", "--calibrate is for --quantize int8"},
        {"compress --quantize int8 --calibrate a.xyz --percentile 40 " + model + " " + dir + "/x.gbnet",
         "--percentile expects a number in (50, 100], got '40'"},
    };
    for (const Case &c : cases) {
        CliRun r = gbnet(c.args);
        EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.err;
        EXPECT_TRUE(contains(r.err, c.message)) << c.args << "\n" << r.err;
        EXPECT_TRUE(contains(r.err, "--help")) << c.args << "\n" << r.err;
        EXPECT_TRUE(r.out.empty()) << c.args;
    }
    EXPECT_FALSE(std::ifstream(dir + "/x.gbnet").good()); // nothing written by a rejected command
}
