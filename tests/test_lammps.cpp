// pair_style gbnet inside LAMMPS. The LAMMPS that runs the inputs (the
// "host") is chosen by the environment, so ctest runs this suite once per
// LAMMPS (tests/CMakeLists.txt):
//   GBNET_TEST_LAMMPS          the executable (default: this build's gbnet-lmp)
//   GBNET_TEST_LAMMPS_PLUGIN   a gbnetplugin.so every input loads first
//                              (`plugin load`), or unset: the style is there
//                              already (gbnet-lmp, or LAMMPS built with ML-GBNET)
//   GBNET_TEST_LAMMPS_HOST     LMP|PLUGIN: both in one (what ctest sets)
// Skips when the host is not built.
//
// Checks: LAMMPS's energy, forces, per-atom energies and virial equal the
// core's gbnet_evaluate on the same configuration; forces are minus finite
// differences of LAMMPS's energy; the virial is minus the derivative of the
// energy with respect to the cell; 1, 2 and 4 MPI ranks agree; pair_style
// hybrid and hybrid/overlay (with NULL types) equal their parts run alone;
// potential files are found through LAMMPS_POTENTIALS; bad input gives a
// clean LAMMPS error.
#include "gbnet.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

// LAMMPS's conversion of eV/Angstrom^3 to bar (force->nktv2p, units metal)
constexpr double NKTV2P_METAL = 1.6021765e6;

bool is_file(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string gbnet_lmp_path() { return std::string(GBNET_BINARY_DIR) + "/gbnet-lmp"; }
std::string plugin_path() { return std::string(GBNET_BINARY_DIR) + "/plugin/gbnetplugin.so"; }
std::string plugin_host_path() { return GBNET_PLUGIN_HOST_LMP; }  // the LAMMPS gbnetplugin.so was built for

std::string env_or(const char *name, const std::string &fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}
// the LAMMPS under test and what each input must do first to have the style;
// GBNET_TEST_LAMMPS_HOST=LMP|PLUGIN (what ctest sets) gives both at once
std::string host_field(int k) {
    std::string host = env_or("GBNET_TEST_LAMMPS_HOST", "");
    size_t bar = host.find('|');
    if (host.empty() || bar == std::string::npos) return "";
    return k == 0 ? host.substr(0, bar) : host.substr(bar + 1);
}
std::string lmp_path() {
    std::string from_host = host_field(0);
    return from_host.empty() ? env_or("GBNET_TEST_LAMMPS", gbnet_lmp_path()) : from_host;
}
std::string host_plugin() {
    return host_field(0).empty() ? env_or("GBNET_TEST_LAMMPS_PLUGIN", "") : host_field(1);
}
std::string load() { return host_plugin().empty() ? "" : "plugin load " + host_plugin() + "\n"; }
bool have_mpirun() { return system("command -v mpirun > /dev/null 2>&1") == 0; }

// A small random potential for O and H (F=16, T=3, K=12, rc=4), saved in dir.
std::string make_potential(const std::string &dir) {
    gbnet_model *model = small_model(small_hyperparams(16, 3, 12, 8, 4.0, {8, 1}), 2024);
    const double e_ref[2] = {-4.3, -1.1};
    EXPECT_EQ(gbnet_model_set_normalization(model, 12.0, 0.05, e_ref), GBNET_OK);
    std::string path = dir + "/small.gbnet";
    EXPECT_EQ(gbnet_model_save(model, path.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_model_free(model);
    return path;
}

// Runs script with `exe` on `ranks` MPI ranks in dir (test_util.h); vars are
// further command-line arguments (-var NAME VALUE ...).
LmpRun run_lammps(const std::string &exe, const std::string &dir, const std::string &name, const std::string &script,
                  int ranks, const std::string &vars = "", const std::string &env = "") {
    return run_lmp(exe, dir, name, script, ranks, vars, env);
}

using Atoms = ReportAtoms;  // test_util.h
Atoms read_dump(const std::string &path) { return read_report_dump(path); }

std::string vars_for(const std::string &pot, int tri, const std::string &precision = "double") {
    return "-var pot '" + pot + "' -var data '" + data_path("deepmd_water/raw/lammps_start/water.lmp") +
           "' -var tri " + std::to_string(tri) + " -var precision " + precision;
}

// every input starts with setup() (or load()): a second `plugin load` of the
// same plugin is ignored, and one after `clear` is needed
std::string setup() { return load() + "include " + source_path("tests/lammps/setup.in") + "\n"; }
std::string report(const std::string &dump) {
    return "variable dump string " + dump + "\ninclude " + source_path("tests/lammps/report.in") + "\n";
}

double max_abs(const std::vector<double> &v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}
double max_abs_diff(const std::vector<double> &a, const std::vector<double> &b) {
    double m = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return a.size() == b.size() ? m : INFINITY;
}

// Lower-triangular LAMMPS cell h (rows a, b, c) from lx ly lz xy xz yz.
void cell_of(const std::vector<double> &box, double h[9]) {
    double lx = box[0], ly = box[1], lz = box[2], xy = box[3], xz = box[4], yz = box[5];
    double c[9] = {lx, 0, 0, xy, ly, 0, xz, yz, lz};
    std::copy(c, c + 9, h);
}

class LammpsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!have_mpirun()) GTEST_SKIP() << "mpirun not found";
        if (!is_file(lmp_path()))
            GTEST_SKIP() << lmp_path() << " not built (configure with -DGBNET_LAMMPS=ON after "
                            "tools/build_lammps_plugin_host.sh)";
        if (!host_plugin().empty() && !is_file(host_plugin()))
            GTEST_SKIP() << "no " << host_plugin() << " to load into " << lmp_path();
        dir = temp_dir();
        pot = make_potential(dir);
    }
    std::string dir, pot;
};

// ----------------------------------------------------------------- core agreement

class LammpsCell : public LammpsTest, public ::testing::WithParamInterface<int> {};

TEST_P(LammpsCell, EnergyForcesVirialEqualTheCore) {
    int tri = GetParam();
    LmpRun run = run_lammps(lmp_path(), dir, "core", setup() + report("core.dump"), 1, vars_for(pot, tri));
    ASSERT_TRUE(run.ok()) << run.text();
    Atoms a = read_dump(dir + "/core.dump");
    ASSERT_EQ(a.id.size(), 192u);
    double e_lmp = run.values["energy"].at(0);
    std::vector<double> box = run.values["box"], pv = run.values["pvirial"];
    ASSERT_EQ(box.size(), 7u);
    ASSERT_EQ(pv.size(), 6u);

    gbnet_model *model = nullptr;
    ASSERT_EQ(gbnet_model_load(&model, pot.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, model, GBNET_DOUBLE), GBNET_OK);
    int n = (int)a.id.size();
    std::vector<int> species(n);
    for (int i = 0; i < n; ++i) species[i] = a.type[i] - 1;  // types 1 = O, 2 = H; model order O H
    double h[9];
    cell_of(box, h);
    gbnet_structure s = {n, species.data(), a.x.data(), h, {1, 1, 1}};
    std::vector<double> f(3 * n), e_atom(n);
    gbnet_result r;
    r.atom_energies = e_atom.data();
    r.forces = f.data();
    ASSERT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();

    EXPECT_LE(std::fabs(e_lmp - r.energy), 1e-10 * std::fabs(r.energy)) << e_lmp << " vs core " << r.energy;
    EXPECT_LE(max_abs_diff(a.f, f), 1e-10 * max_abs(f));
    EXPECT_LE(max_abs_diff(a.pe, e_atom), 1e-10 * max_abs(e_atom));
    double sum_pe = 0;
    for (double e : a.pe) sum_pe += e;
    EXPECT_LE(std::fabs(sum_pe - e_lmp), 1e-12 * std::fabs(e_lmp));

    // global virial: LAMMPS's virial-only pressure times V is W (xx yy zz xy xz yz)
    double vol = box[6];
    const int comp[6] = {0, 4, 8, 1, 2, 5};
    std::vector<double> w_lmp(6), w_core(6), w_atoms(6, 0.0);
    for (int k = 0; k < 6; ++k) {
        w_lmp[k] = pv[k] * vol / NKTV2P_METAL;
        w_core[k] = r.virial[comp[k]];
        for (int i = 0; i < n; ++i) w_atoms[k] -= a.stress[6 * i + k] / NKTV2P_METAL;
    }
    // pressure is printed with 17 digits but passes through the unit constant
    EXPECT_LE(max_abs_diff(w_lmp, w_core), 1e-10 * max_abs(w_core));
    // per-atom virials (compute stress/atom = -vatom) sum to the global virial
    EXPECT_LE(max_abs_diff(w_atoms, w_core), 1e-10 * max_abs(w_core));
    printf("cell %s: E = %.12f eV, |F|max = %.4f eV/A, W = [%.6f %.6f %.6f %.6f %.6f %.6f] eV\n",
           tri ? "triclinic" : "cubic", e_lmp, max_abs(f), w_core[0], w_core[1], w_core[2], w_core[3], w_core[4],
           w_core[5]);
    gbnet_workspace_free(ws);
    gbnet_model_free(model);
}

// Forces are minus central differences of LAMMPS's energy.
TEST_P(LammpsCell, ForcesAreMinusEnergyGradient) {
    int tri = GetParam();
    const double h = 1e-4;
    const int ids[] = {1, 37, 65, 150};
    std::ostringstream script;
    script << setup() << report("fd.dump");
    for (int id : ids) {
        script << "group a" << id << " id " << id << "\n";
        for (int c = 0; c < 3; ++c) {
            double d[3] = {0, 0, 0};
            d[c] = h;
            for (int sign : {1, -1}) {
                double step = sign > 0 ? 1.0 : -2.0;
                script << "displace_atoms a" << id << " move " << step * d[0] << " " << step * d[1] << " "
                       << step * d[2] << " units box\nrun 0 post no\n";
                script << "print \"GBNET e_" << id << "_" << c << (sign > 0 ? "p" : "m") << " $(pe:%.17g)\"\n";
            }
            script << "displace_atoms a" << id << " move " << d[0] << " " << d[1] << " " << d[2] << " units box\n";
        }
    }
    LmpRun run = run_lammps(lmp_path(), dir, "fd", script.str(), 1, vars_for(pot, tri));
    ASSERT_TRUE(run.ok()) << run.text();
    Atoms a = read_dump(dir + "/fd.dump");
    double worst = 0, fmax = max_abs(a.f);
    for (int id : ids)
        for (int c = 0; c < 3; ++c) {
            std::string key = "e_" + std::to_string(id) + "_" + std::to_string(c);
            double ep = run.values[key + "p"].at(0), em = run.values[key + "m"].at(0);
            double fd = -(ep - em) / (2 * h);
            double f = a.f[3 * (id - 1) + c];
            worst = std::max(worst, std::fabs(fd - f));
        }
    printf("finite-difference forces: max |F - F_fd| = %.3e eV/A (|F|max %.3f)\n", worst, fmax);
    EXPECT_LE(worst, 1e-6 * std::max(1.0, fmax));
}

// The virial is minus the energy's derivative with respect to the cell:
// with r = lambda h at fixed fractional coordinates, G = -dE/dh = h^-T W.
TEST_P(LammpsCell, VirialIsMinusCellDerivative) {
    int tri = GetParam();
    const double delta = 1e-4;
    struct Change {
        const char *name, *command;
        int k, b;  // entry h[k][b] it changes
    } changes[] = {{"lx", "x delta 0 ", 0, 0}, {"ly", "y delta 0 ", 1, 1}, {"lz", "z delta 0 ", 2, 2},
                   {"xy", "xy delta ", 1, 0},  {"xz", "xz delta ", 2, 0},  {"yz", "yz delta ", 2, 1}};
    std::ostringstream script;
    script << setup() << report("cell.dump");
    for (const Change &c : changes) {
        script << "change_box all " << c.command << delta << " remap units box\nrun 0 post no\n"
               << "print \"GBNET " << c.name << "p $(pe:%.17g)\"\n"
               << "change_box all " << c.command << -2 * delta << " remap units box\nrun 0 post no\n"
               << "print \"GBNET " << c.name << "m $(pe:%.17g)\"\n"
               << "change_box all " << c.command << delta << " remap units box\n";
    }
    LmpRun run = run_lammps(lmp_path(), dir, "cell", script.str(), 1, vars_for(pot, tri));
    ASSERT_TRUE(run.ok()) << run.text();
    std::vector<double> box = run.values["box"], pv = run.values["pvirial"];
    ASSERT_EQ(box.size(), 7u);
    double h[9];
    cell_of(box, h);
    double W[9];
    const int comp[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
    for (int k = 0; k < 6; ++k) {
        double w = pv[k] * box[6] / NKTV2P_METAL;
        W[3 * comp[k][0] + comp[k][1]] = W[3 * comp[k][1] + comp[k][0]] = w;
    }
    // G = h^-T W: solve h^T G = W column by column (h^T is upper triangular)
    double G[9];
    for (int col = 0; col < 3; ++col)
        for (int row = 2; row >= 0; --row) {
            double s = W[3 * row + col];
            for (int m = row + 1; m < 3; ++m) s -= h[3 * m + row] * G[3 * m + col];
            G[3 * row + col] = s / h[3 * row + row];
        }
    double worst = 0, scale = 0;
    for (const Change &c : changes) {
        double ep = run.values[std::string(c.name) + "p"].at(0), em = run.values[std::string(c.name) + "m"].at(0);
        double fd = -(ep - em) / (2 * delta);
        double g = G[3 * c.k + c.b];
        worst = std::max(worst, std::fabs(fd - g));
        scale = std::max(scale, std::fabs(g));
        printf("  -dE/d%s: finite difference %.9f, from the virial %.9f eV/A\n", c.name, fd, g);
    }
    EXPECT_LE(worst, 1e-6 * std::max(1.0, scale));
}

INSTANTIATE_TEST_SUITE_P(Cells, LammpsCell, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int> &p) { return p.param ? "triclinic" : "cubic"; });

// --------------------------------------------------------------------- MPI ranks

struct Totals {
    double energy;
    std::vector<double> pvirial;
    Atoms atoms;
};

Totals run_ranks(const std::string &dir, const std::string &pot, int tri, int ranks, const std::string &before,
                 const std::string &between, const std::string &tag) {
    std::string script = before + setup() + between + report(tag + ".dump");
    LmpRun run = run_lammps(lmp_path(), dir, tag, script, ranks, vars_for(pot, tri));
    EXPECT_TRUE(run.ok()) << run.text();
    Totals t;
    t.energy = run.values.count("energy") ? run.values["energy"].at(0) : NAN;
    t.pvirial = run.values["pvirial"];
    t.atoms = read_dump(dir + "/" + tag + ".dump");
    return t;
}

void expect_same(const Totals &a, const Totals &b, const std::string &what) {
    EXPECT_LE(std::fabs(a.energy - b.energy), 1e-10 * std::fabs(a.energy)) << what;
    EXPECT_EQ(a.atoms.id, b.atoms.id) << what;
    EXPECT_LE(max_abs_diff(a.atoms.f, b.atoms.f), 1e-10 * max_abs(a.atoms.f)) << what;
    EXPECT_LE(max_abs_diff(a.atoms.pe, b.atoms.pe), 1e-10 * max_abs(a.atoms.pe)) << what;
    EXPECT_LE(max_abs_diff(a.pvirial, b.pvirial), 1e-10 * max_abs(a.pvirial)) << what;
    EXPECT_LE(max_abs_diff(a.atoms.stress, b.atoms.stress), 1e-10 * max_abs(a.atoms.stress)) << what;
    printf("%s: dE = %.2e, max dF = %.2e eV/A\n", what.c_str(), std::fabs(a.energy - b.energy),
           max_abs_diff(a.atoms.f, b.atoms.f));
}

TEST_P(LammpsCell, OneTwoAndFourRanksAgree) {
    int tri = GetParam();
    Totals one = run_ranks(dir, pot, tri, 1, "", "", "np1");
    Totals two = run_ranks(dir, pot, tri, 2, "", "", "np2");
    Totals four = run_ranks(dir, pot, tri, 4, "", "", "np4");
    Totals slabs = run_ranks(dir, pot, tri, 4, "processors 4 1 1\n", "", "np4slabs");
    ASSERT_EQ(one.atoms.id.size(), 192u);
    expect_same(one, two, "2 ranks");
    expect_same(one, four, "4 ranks (2x2x1)");
    expect_same(one, slabs, "4 ranks (4x1x1, slabs thinner than the cutoff)");
}

TEST_F(LammpsTest, RanksWithoutAtomsTakePart) {
    // keep the atoms with x > 6.5 A: with 4 slabs along x two ranks own none
    std::string cut = "region left block INF 6.5 INF INF INF INF units box\ndelete_atoms region left compress no\n";
    Totals one = run_ranks(dir, pot, 0, 1, "", cut, "empty1");
    Totals four = run_ranks(dir, pot, 0, 4, "processors 4 1 1\n", cut, "empty4");
    ASSERT_GT(one.atoms.id.size(), 0u);
    ASSERT_LT(one.atoms.id.size(), 192u);
    expect_same(one, four, "4 ranks, two of them without atoms");
}

TEST_F(LammpsTest, FloatPrecisionIsCloseToDouble) {
    LmpRun d = run_lammps(lmp_path(), dir, "double", setup() + report("double.dump"), 2, vars_for(pot, 1));
    LmpRun f = run_lammps(lmp_path(), dir, "float", setup() + report("float.dump"), 2, vars_for(pot, 1, "float"));
    ASSERT_TRUE(d.ok()) << d.text();
    ASSERT_TRUE(f.ok()) << f.text();
    double ed = d.values["energy"].at(0), ef = f.values["energy"].at(0);
    EXPECT_NE(ed, ef);  // really evaluated in float
    EXPECT_LE(std::fabs(ed - ef), 1e-5 * std::fabs(ed));
    Atoms ad = read_dump(dir + "/double.dump"), af = read_dump(dir + "/float.dump");
    EXPECT_LE(max_abs_diff(ad.f, af.f), 1e-3 * max_abs(ad.f));
}

// A quantized file (gbnet compress --quantize bf16): precision float runs the
// bf16 dense layers (a different, close result), precision double ignores the
// record (the same numbers as the float weights' file).
TEST_F(LammpsTest, QuantizedFileIsQuantizedInFloatOnly) {
    std::string q = dir + "/bf16.gbnet";
    CliRun quantize = run_gbnet("compress --quantize bf16 " + pot + " " + q);
    ASSERT_EQ(quantize.rc, 0) << quantize.all();
    LmpRun f = run_lammps(lmp_path(), dir, "float", setup() + report("float.dump"), 1, vars_for(pot, 1, "float"));
    LmpRun fq = run_lammps(lmp_path(), dir, "floatq", setup() + report("floatq.dump"), 1, vars_for(q, 1, "float"));
    LmpRun d = run_lammps(lmp_path(), dir, "double", setup() + report("double.dump"), 1, vars_for(pot, 1));
    LmpRun dq = run_lammps(lmp_path(), dir, "doubleq", setup() + report("doubleq.dump"), 1, vars_for(q, 1));
    for (LmpRun *r : {&f, &fq, &d, &dq}) ASSERT_TRUE(r->ok()) << r->text();
    EXPECT_EQ(d.values["energy"].at(0), dq.values["energy"].at(0));
    Atoms ad = read_dump(dir + "/double.dump"), adq = read_dump(dir + "/doubleq.dump");
    EXPECT_EQ(max_abs_diff(ad.f, adq.f), 0.0);
    double ef = f.values["energy"].at(0), efq = fq.values["energy"].at(0);
    Atoms af = read_dump(dir + "/float.dump"), afq = read_dump(dir + "/floatq.dump");
    EXPECT_NE(ef, efq);
    // bf16 moves water's energy by about 1 meV/atom (docs/compression.md)
    EXPECT_LE(std::fabs(ef - efq), 3e-3 * (double)(af.f.size() / 3));
    EXPECT_GT(max_abs_diff(af.f, afq.f), 0.0);
    EXPECT_LE(max_abs_diff(af.f, afq.f), 0.05 * max_abs(af.f));
}

// ------------------------------------------------- pair_style hybrid, NULL types

// A BCC tantalum box, 4x4x4 cells (a = 3.316 A), each atom displaced by up
// to 0.15 A (a fixed LCG), with `types` atom types: type 2 for every third
// atom when types = 2. Written here so IDs and positions do not depend on how
// LAMMPS distributes create_atoms over ranks.
std::string write_tantalum_box(const std::string &dir, int types) {
    const int n = 4;
    const double a = 3.316;
    unsigned long long state = 20240611ULL;
    auto uniform = [&state]() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (double)(state >> 11) / 9007199254740992.0;  // [0, 1)
    };
    std::ostringstream out;
    out.precision(17);
    out << "BCC tantalum, displaced (tests/test_lammps.cpp)\n\n" << 2 * n * n * n << " atoms\n2 atom types\n\n0 "
        << n * a << " xlo xhi\n0 " << n * a << " ylo yhi\n0 " << n * a << " zlo zhi\n\nAtoms # atomic\n\n";
    int id = 0;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
            for (int k = 0; k < n; ++k)
                for (int b = 0; b < 2; ++b) {
                    ++id;
                    int type = types > 1 && id % 3 == 2 ? 2 : 1;
                    out << id << " " << type;
                    for (int c : {i, j, k}) out << " " << (c + 0.5 * b) * a + 0.3 * (uniform() - 0.5);
                    out << "\n";
                }
    return write_file(dir + "/tantalum" + std::to_string(types) + ".data", out.str());
}

// The tantalum box (tests/lammps/tantalum_box.in) with the shipped potential
// (F = 64: under hybrid, a feature row is wider than the buffers LAMMPS sized
// from hybrid's comm_forward before the fix) and the given pair style lines.
Totals run_box(const std::string &dir, const std::string &tag, int types, int drop2, const std::string &pair,
               int ranks) {
    std::string script = load() + "variable box index " + write_tantalum_box(dir, types) + "\nvariable drop2 index " +
                         std::to_string(drop2) + "\ninclude " + source_path("tests/lammps/tantalum_box.in") + "\n" +
                         pair + report(tag + ".dump");
    LmpRun run = run_lammps(lmp_path(), dir, tag, script, ranks,
                            "-var tapot '" + source_path("potentials/tantalum.gbnet") + "'");
    EXPECT_TRUE(run.ok()) << run.text();
    Totals t;
    t.energy = run.values.count("energy") ? run.values["energy"].at(0) : NAN;
    t.pvirial = run.values["pvirial"];
    t.atoms = read_dump(dir + "/" + tag + ".dump");
    return t;
}

// a + b atom by atom (b's atoms a subset of a's, matched by ID)
Totals sum_of(const Totals &a, const Totals &b) {
    Totals s = a;
    s.energy = a.energy + b.energy;
    for (size_t k = 0; k < s.pvirial.size() && k < b.pvirial.size(); ++k) s.pvirial[k] += b.pvirial[k];
    std::map<int, size_t> row;
    for (size_t i = 0; i < a.atoms.id.size(); ++i) row[a.atoms.id[i]] = i;
    for (size_t j = 0; j < b.atoms.id.size(); ++j) {
        auto it = row.find(b.atoms.id[j]);
        if (it == row.end()) {
            s.energy = NAN;  // b has an atom a lacks
            continue;
        }
        size_t i = it->second;
        for (int c = 0; c < 3; ++c) s.atoms.f[3 * i + c] += b.atoms.f[3 * j + c];
        s.atoms.pe[i] += b.atoms.pe[j];
        for (int c = 0; c < 6; ++c) s.atoms.stress[6 * i + c] += b.atoms.stress[6 * j + c];
    }
    return s;
}

TEST_F(LammpsTest, HybridAndOverlayWithZblEqualTheirParts) {
    const std::string gbnet = "pair_style gbnet\npair_coeff * * ${tapot} Ta Ta\n";
    const std::string hybrid = "pair_style hybrid gbnet\npair_coeff * * gbnet ${tapot} Ta Ta\n";
    const std::string overlay =
        "pair_style hybrid/overlay gbnet zbl 2.5 3.0\npair_coeff * * gbnet ${tapot} Ta Ta\npair_coeff * * zbl 73 73\n";
    const std::string zbl = "pair_style zbl 2.5 3.0\npair_coeff * * 73 73\n";
    Totals plain = run_box(dir, "ta_gbnet", 1, 0, gbnet, 1);
    Totals zbl_alone = run_box(dir, "ta_zbl", 1, 0, zbl, 1);
    ASSERT_EQ(plain.atoms.id.size(), 128u);
    ASSERT_GT(max_abs(zbl_alone.atoms.f), 1e-3);  // the ZBL part is not empty
    Totals expected = sum_of(plain, zbl_alone);
    for (int ranks : {1, 2}) {
        std::string r = std::to_string(ranks);
        expect_same(plain, run_box(dir, "ta_hybrid" + r, 1, 0, hybrid, ranks), "hybrid gbnet, " + r + " rank(s)");
        expect_same(expected, run_box(dir, "ta_overlay" + r, 1, 0, overlay, ranks),
                    "hybrid/overlay gbnet zbl = gbnet + zbl, " + r + " rank(s)");
    }
}

// gbnet on type 1 only (type 2: NULL) and lj/cut on the pairs with type 2:
// the gbnet part equals gbnet on the box without the type-2 atoms.
TEST_F(LammpsTest, NullTypesWithOverlayEqualTheirParts) {
    const std::string lj_pairs = "pair_coeff 1 2 lj/cut 0.05 2.6\npair_coeff 2 2 lj/cut 0.01 3.4\n";
    const std::string mixed = "pair_style hybrid/overlay gbnet lj/cut 4.0\npair_coeff * * gbnet ${tapot} Ta NULL\n" +
                              lj_pairs;
    const std::string gbnet = "pair_style gbnet\npair_coeff * * ${tapot} Ta Ta\n";
    const std::string lj = "pair_style lj/cut 4.0\npair_coeff 1 1 0.0 1.0\npair_coeff 1 2 0.05 2.6\n"
                           "pair_coeff 2 2 0.01 3.4\n";
    Totals lj_alone = run_box(dir, "null_lj", 2, 0, lj, 1);
    Totals gbnet_alone = run_box(dir, "null_gbnet", 2, 1, gbnet, 1);
    ASSERT_EQ(lj_alone.atoms.id.size(), 128u);
    ASSERT_EQ(gbnet_alone.atoms.id.size(), 128u - 43u);  // IDs 2, 5, ..., 128 are type 2
    ASSERT_GT(max_abs(lj_alone.atoms.f), 1e-3);
    Totals expected = sum_of(lj_alone, gbnet_alone);
    for (int ranks : {1, 2, 3}) {
        std::string r = std::to_string(ranks);
        expect_same(expected, run_box(dir, "null_mixed" + r, 2, 0, mixed, ranks),
                    "hybrid/overlay gbnet (Ta NULL) lj/cut = parts, " + r + " rank(s)");
    }
}

// pair_coeff finds a potential named without a folder where LAMMPS's own
// styles find theirs (utils::get_potential_file_path): in the folder
// $LAMMPS_POTENTIALS names. Debian patches its LAMMPS (29Sep2021) to look in
// /usr/share/lammps/potentials instead; there gbnet must fail exactly as
// LAMMPS's pair_style table does.
TEST_F(LammpsTest, PotentialFoundThroughLammpsPotentials) {
    std::string pots = dir + "/potentials";
    ASSERT_EQ(system(("mkdir -p '" + pots + "' && cp '" + pot + "' '" + pots + "/moved.gbnet'").c_str()), 0);
    write_file(pots + "/moved.table", "# pair_style table file for the test\n\nKEY\nN 3 R 1.0 3.0\n\n"
                                      "1 1.0 1.0 1.0\n2 2.0 0.5 0.5\n3 3.0 0.0 0.0\n");
    const std::string env = "LAMMPS_POTENTIALS='" + pots + "'";
    LmpRun table = run_lammps(lmp_path(), dir, "table",
                              load() + "units metal\natom_style atomic\nregion b block 0 5 0 5 0 5\ncreate_box 1 b\n"
                                       "pair_style table linear 3\npair_coeff * * moved.table KEY 3.0\n",
                              1, "", env);
    bool host_reads_env = table.ok();
    LmpRun ref = run_lammps(lmp_path(), dir, "path", setup() + report("path.dump"), 1, vars_for(pot, 0));
    ASSERT_TRUE(ref.ok()) << ref.text();
    LmpRun found = run_lammps(lmp_path(), dir, "env", setup() + report("env.dump"), 1, vars_for("moved.gbnet", 0), env);
    if (!host_reads_env) {
        // failed for that reason only: the table file itself is fine
        ASSERT_NE(table.text().find("potential file moved.table: No such file"), std::string::npos) << table.text();
        printf("this LAMMPS ignores LAMMPS_POTENTIALS (pair_style table cannot find the file); gbnet must too\n");
        EXPECT_FALSE(found.ok());
        EXPECT_NE(found.text().find("cannot load potential file moved.gbnet: not found"), std::string::npos)
            << found.text();
        return;
    }
    ASSERT_TRUE(found.ok()) << found.text();
    EXPECT_EQ(found.values["energy"].at(0), ref.values["energy"].at(0));
    // the one-line summary names the file found, its elements and sizes
    EXPECT_NE(found.log.find("pair gbnet: " + pots + "/moved.gbnet: elements O H, F=16 T=3 rc=4 A, exact filters"),
              std::string::npos)
        << found.log;
    LmpRun missing = run_lammps(lmp_path(), dir, "noenv", setup() + "run 0\n", 1, vars_for("moved.gbnet", 0),
                                "env -u LAMMPS_POTENTIALS");
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.text().find("cannot load potential file moved.gbnet: not found"), std::string::npos)
        << missing.text();
}

// ------------------------------------------------------------ loaders and clear

TEST_F(LammpsTest, PairStyleTwiceAndAfterClear) {
    LmpRun ref = run_lammps(lmp_path(), dir, "ref", setup() + report("ref.dump"), 1, vars_for(pot, 0));
    ASSERT_TRUE(ref.ok()) << ref.text();
    std::string again = "pair_style gbnet precision float\npair_style gbnet\npair_coeff * * ${pot} O H\n";
    std::string script = setup() + "run 0\n" + again + "variable dump string twice.dump\n" +
                         "include " + source_path("tests/lammps/report.in") + "\nclear\n" + setup() +
                         "clear\n" + setup() + report("cleared.dump");
    LmpRun run = run_lammps(lmp_path(), dir, "twice", script, 2, vars_for(pot, 0));
    ASSERT_TRUE(run.ok()) << run.text();
    EXPECT_EQ(run.text().find("WARNING: cannot interpose"), std::string::npos);
    Atoms a = read_dump(dir + "/ref.dump"), b = read_dump(dir + "/twice.dump"), c = read_dump(dir + "/cleared.dump");
    EXPECT_LE(max_abs_diff(a.f, b.f), 1e-10 * max_abs(a.f));
    EXPECT_LE(max_abs_diff(a.f, c.f), 1e-10 * max_abs(a.f));
    EXPECT_LE(std::fabs(run.values["energy"].at(0) - ref.values["energy"].at(0)),
              1e-10 * std::fabs(ref.values["energy"].at(0)));
}

// What docs/pair_gbnet.md tells plugin users: LAMMPS's `clear` unloads
// plugins, so pair_style gbnet needs another `plugin load` after it.
TEST_F(LammpsTest, ClearUnloadsThePlugin) {
    if (host_plugin().empty()) GTEST_SKIP() << "the style is not loaded as a plugin here";
    LmpRun run = run_lammps(lmp_path(), dir, "unloaded", load() + "clear\nunits metal\npair_style gbnet\n", 1);
    EXPECT_NE(run.status, 0);
    EXPECT_NE(run.text().find("Unrecognized pair style 'gbnet'"), std::string::npos) << run.text();
}

// The LAMMPS under test gives what gbnet-lmp gives (another LAMMPS version
// or way in); under gbnet-lmp itself: `plugin load` into the plugin's host.
TEST_F(LammpsTest, PluginOrBuiltInMatchesLauncher) {
    std::string exe = lmp_path(), preamble = load();
    if (exe == gbnet_lmp_path()) {
        if (!is_file(plugin_host_path()) || !is_file(plugin_path()))
            GTEST_SKIP() << "no plugin host LAMMPS (" << plugin_host_path() << ") or no " << plugin_path()
                         << ": run tools/build_lammps_plugin_host.sh and configure again";
        exe = plugin_host_path();
        preamble = "plugin load " + plugin_path() + "\n";
    }
    if (!is_file(gbnet_lmp_path())) GTEST_SKIP() << "no gbnet-lmp to compare with";
    std::string plain_setup = "include " + source_path("tests/lammps/setup.in") + "\n";
    LmpRun ref = run_lammps(gbnet_lmp_path(), dir, "ref", plain_setup + report("ref.dump"), 2, vars_for(pot, 1));
    LmpRun plug = run_lammps(exe, dir, "plug", preamble + plain_setup + report("plug.dump"), 2, vars_for(pot, 1));
    ASSERT_TRUE(ref.ok()) << ref.text();
    ASSERT_TRUE(plug.ok()) << plug.text();
    Atoms a = read_dump(dir + "/ref.dump"), b = read_dump(dir + "/plug.dump");
    ASSERT_EQ(a.id.size(), b.id.size());
    EXPECT_LE(std::fabs(plug.values["energy"].at(0) - ref.values["energy"].at(0)),
              1e-10 * std::fabs(ref.values["energy"].at(0)));
    EXPECT_LE(max_abs_diff(a.f, b.f), 1e-10 * max_abs(a.f));
    EXPECT_LE(max_abs_diff(ref.values["pvirial"], plug.values["pvirial"]), 1e-10 * max_abs(ref.values["pvirial"]));
}

// ------------------------------------------------------------------ bad input

struct BadInput {
    const char *name;
    const char *script;    // %POT% is replaced by the potential path
    const char *expected;  // part of the error message
};

TEST_F(LammpsTest, BadInputGivesCleanErrors) {
    std::string corrupt = dir + "/corrupt.gbnet";
    {
        std::string bytes = read_file(pot);
        bytes[bytes.size() / 2] ^= 0x5a;
        write_file(corrupt, bytes);
    }
    std::string truncated = write_file(dir + "/truncated.gbnet", read_file(pot).substr(0, 200));
    const std::string base = load() + "units metal\natom_style atomic\nboundary p p p\nread_data " +
                             data_path("deepmd_water/raw/lammps_start/water.lmp") + "\nmass * 1.0\n";
    const BadInput cases[] = {
        {"missing", "pair_style gbnet\npair_coeff * * /nonexistent/x.gbnet O H\n", "cannot load potential file"},
        {"corrupt", "pair_style gbnet\npair_coeff * * %CORRUPT% O H\n", "cannot load potential file"},
        {"truncated", "pair_style gbnet\npair_coeff * * %TRUNC% O H\n", "cannot load potential file"},
        {"element", "pair_style gbnet\npair_coeff * * %POT% O Xx\n", "element 'Xx' given for atom type 2"},
        {"count", "pair_style gbnet\npair_coeff * * %POT% O\n", "1 element names given, but there are 2 atom types"},
        // (LAMMPS 2025 says it in its own words)
        {"not_star", "pair_style gbnet\npair_coeff 1 2 %POT% O H\n",
         "Incorrect args for pair coefficients|Pair_coeff must start with * * for pair style gbnet"},
        {"keyword", "pair_style gbnet precision half\n", "precision must be 'double' or 'float'"},
        {"no_coeff", "pair_style gbnet\nrun 0\n", "All pair coeffs are not set"},
        {"newton", "newton off on\npair_style gbnet\npair_coeff * * %POT% O H\nrun 0\n", "requires newton pair on"},
        {"overlap", "pair_style gbnet\npair_coeff * * %POT% O H\nset atom 2 x 11.83 y 2.56 z 2.18\nrun 0\n",
         "overlapping atoms"},
        {"null_alone", "pair_style gbnet\npair_coeff * * %POT% O NULL\nrun 0\n",
         "NULL types need pair_style hybrid/overlay"},
        {"all_null", "pair_style gbnet\npair_coeff * * %POT% NULL NULL\n", "every atom type is NULL"},
    };
    for (const BadInput &c : cases) {
        std::string body = c.script;
        for (auto [key, value] : {std::pair<std::string, std::string>{"%POT%", pot}, {"%CORRUPT%", corrupt},
                                  {"%TRUNC%", truncated}}) {
            size_t at;
            while ((at = body.find(key)) != std::string::npos) body.replace(at, key.size(), value);
        }
        LmpRun run = run_lammps(lmp_path(), dir, std::string("bad_") + c.name, base + body, 2);
        EXPECT_NE(run.status, 0) << c.name;
        EXPECT_NE(run.text().find("ERROR"), std::string::npos) << c.name << ":\n" << run.text();
        bool found = false;  // expected: alternatives separated by '|'
        for (size_t from = 0; from != std::string::npos;) {
            size_t bar = std::string(c.expected).find('|', from);
            std::string one = std::string(c.expected).substr(from, bar == std::string::npos ? bar : bar - from);
            found = found || run.text().find(one) != std::string::npos;
            from = bar == std::string::npos ? bar : bar + 1;
        }
        EXPECT_TRUE(found) << c.name << ": expected " << c.expected << ":\n" << run.text();
        EXPECT_EQ(run.text().find("Segmentation"), std::string::npos) << c.name;
    }
    // units other than metal
    LmpRun real = run_lammps(lmp_path(), dir, "bad_units",
                          load() + "units real\natom_style atomic\nread_data " +
                              data_path("deepmd_water/raw/lammps_start/water.lmp") +
                              "\nmass * 1.0\npair_style gbnet\npair_coeff * * " + pot + " O H\nrun 0\n",
                          1);
    EXPECT_NE(real.text().find("requires 'units metal'"), std::string::npos) << real.text();
}

}  // namespace

// ------------------------------------------------------ shipped examples

// The example inputs run with the shipped potentials (short runs, from a
// scratch folder so outputs stay out of the source tree), and NVE conserves
// the total energy: forces are the exact gradient of the energy.
struct ExampleRun {
    const char *input, *potential;
    std::string extra_vars;
    int atoms;
};

TEST_F(LammpsTest, ShippedExamplesRunAndConserveEnergy) {
    const ExampleRun examples[] = {
        {"examples/water/in.water", "potentials/water.gbnet",
         "-var data " + data_path("deepmd_water/raw/lammps_start/water.lmp"), 192},
        {"examples/tantalum/in.tantalum", "potentials/tantalum.gbnet", "", 128},
    };
    for (const ExampleRun &ex : examples) {
        std::string name = std::string(ex.input).substr(std::string(ex.input).rfind('/') + 1);
        std::string load_var = host_plugin().empty() ? "" : "-var load 'plugin load " + host_plugin() + "' ";
        std::string cmd = "cd '" + dir + "' && OMP_NUM_THREADS=2 '" + lmp_path() + "' -echo none -in '" +
                          source_path(ex.input) + "' -var pot '" + source_path(ex.potential) + "' " + load_var +
                          ex.extra_vars + " -var nvt 200 -var nve 400 -log " + name + ".log > " + name +
                          ".out 2>&1";
        int rc = system(cmd.c_str());
        std::string log = read_file(dir + "/" + name + ".log");
        ASSERT_EQ(rc, 0) << cmd << "\n" << read_file(dir + "/" + name + ".out") << log;
        // thermo rows of the last run (NVE): total energy at its first and last row
        size_t header = log.rfind("\n   Step ");
        if (header == std::string::npos) header = log.rfind("\nStep ");
        ASSERT_NE(header, std::string::npos) << log;
        std::istringstream rows(log.substr(header + 1));
        std::string line, column;
        std::getline(rows, line);
        std::istringstream names(line);
        int etotal = -1, k = 0;
        while (names >> column) {
            if (column == "TotEng") etotal = k;
            ++k;
        }
        ASSERT_GE(etotal, 0) << line;
        std::vector<double> energies;
        while (std::getline(rows, line) && line.find("Loop time") == std::string::npos) {
            std::istringstream fields(line);
            std::vector<double> v;
            double x;
            while (fields >> x) v.push_back(x);
            if ((int)v.size() == k) energies.push_back(v[etotal]);
        }
        ASSERT_GE(energies.size(), 2u) << log;
        double drift_meV_per_atom = 1000 * std::fabs(energies.back() - energies.front()) / ex.atoms;
        // the NVE energy fluctuates by ~0.02 meV/atom RMS (water, 0.5 fs) and kT is
        // ~26 meV/atom: a bound of 0.5 catches forces that are not -dE/dx
        EXPECT_LT(drift_meV_per_atom, 0.5) << ex.input;
        RecordProperty(name + "_nve_energy_change_meV_per_atom", std::to_string(drift_meV_per_atom));
    }
}

// ----------------------------------------------- repulsive core and coverage

namespace {
// Shortest distance per pair of element indices (types - 1) in an orthogonal
// periodic box (minimum image; the water box is 12.4 A wide).
void shortest_distances(const Atoms &a, const std::vector<double> &box, double out[2][2]) {
    out[0][0] = out[0][1] = out[1][0] = out[1][1] = INFINITY;
    int n = (int)a.id.size();
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j) {
            double d2 = 0;
            for (int c = 0; c < 3; ++c) {
                double d = a.x[3 * j + c] - a.x[3 * i + c];
                d -= box[c] * std::round(d / box[c]);
                d2 += d * d;
            }
            int p = a.type[i] - 1, q = a.type[j] - 1;
            out[p][q] = out[q][p] = std::min(out[p][q], std::sqrt(d2));
        }
}
}  // namespace

// A potential with a repulsive core and a training record: LAMMPS equals the
// core (core included) on 1 and 2 ranks; the box as it is gives no coverage
// warning, the same box compressed by 3% in every direction (volume per atom
// 8.7% below the trained range, atoms closer than trained) warns with the
// numbers, and compute pair gbnet counts the same atoms on 1 and 2 ranks as
// the core's gbnet_coverage_check and gbnet_feature_check of that box.
TEST_F(LammpsTest, RepulsiveCoreAndCoverageWarnings) {
    // the starting configuration, for its distances and volume
    LmpRun ref = run_lammps(lmp_path(), dir, "start", setup() + report("start.dump"), 1, vars_for(pot, 0));
    ASSERT_TRUE(ref.ok()) << ref.text();
    Atoms start = read_dump(dir + "/start.dump");
    std::vector<double> box = ref.values["box"];
    ASSERT_EQ(box.size(), 7u);
    double shortest[2][2];
    shortest_distances(start, box, shortest);

    gbnet_model *model = nullptr;
    ASSERT_EQ(gbnet_model_load(&model, pot.c_str()), GBNET_OK);
    double inner[4] = {0.6, 0.5, 0.5, 0.7}, outer[4] = {2.6, 1.6, 1.6, 2.0};  // O-O, O-H, H-O, H-H
    ASSERT_EQ(gbnet_model_set_zbl(model, inner, outer), GBNET_OK) << gbnet_last_error();
    gbnet_coverage c{};
    c.n_frames = 10;
    c.trained_energies = c.trained_forces = 1;
    c.n_periodic = 10;
    double v0 = box[6] / (double)start.id.size();
    c.volume_per_atom_min = 0.95 * v0;
    c.volume_per_atom_max = 1.05 * v0;
    for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 2; ++q) c.shortest_distance[p][q] = 0.99 * shortest[p][q];
    ASSERT_EQ(gbnet_model_set_coverage(model, &c), GBNET_OK);
    {   // the readout-input ranges of the starting configuration alone
        int n = (int)start.id.size();
        std::vector<int> species(n);
        for (int i = 0; i < n; ++i) species[i] = start.type[i] - 1;
        double h[9];
        cell_of(box, h);
        gbnet_structure s0 = {n, species.data(), start.x.data(), h, {1, 1, 1}};
        ASSERT_EQ(gbnet_model_record_feature_ranges(model, 1, &s0), GBNET_OK) << gbnet_last_error();
    }
    std::string core_pot = dir + "/core.gbnet";
    ASSERT_EQ(gbnet_model_save(model, core_pot.c_str()), GBNET_OK);

    // LAMMPS = the core with the repulsion, on 1 and 2 ranks
    for (int ranks : {1, 2}) {
        std::string tag = "zbl" + std::to_string(ranks);
        LmpRun run = run_lammps(lmp_path(), dir, tag, setup() + report(tag + ".dump"), ranks,
                                vars_for(core_pot, 1));
        ASSERT_TRUE(run.ok()) << run.text();
        Atoms a = read_dump(dir + "/" + tag + ".dump");
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, model, GBNET_DOUBLE), GBNET_OK);
        int n = (int)a.id.size();
        std::vector<int> species(n);
        for (int i = 0; i < n; ++i) species[i] = a.type[i] - 1;
        double h[9];
        cell_of(run.values["box"], h);
        gbnet_structure s = {n, species.data(), a.x.data(), h, {1, 1, 1}};
        std::vector<double> f(3 * n);
        gbnet_result r{};
        r.forces = f.data();
        ASSERT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
        EXPECT_LE(std::fabs(run.values["energy"].at(0) - r.energy), 1e-10 * std::fabs(r.energy)) << ranks;
        EXPECT_LE(max_abs_diff(a.f, f), 1e-10 * max_abs(f)) << ranks;
        gbnet_workspace_free(ws);
    }

    auto coverage_script = [&](double scale) {
        std::ostringstream s;
        s << setup() << "compute cov all pair gbnet\n"
          << "thermo_style custom step pe c_cov[8] c_cov[9] c_cov[10] c_cov[11] c_cov[12]\n";  // computed on the step, read after
        if (scale != 1.0) s << "change_box all x scale " << scale << " y scale " << scale << " z scale " << scale
                            << " remap\n";
        s << "run 0\n"
          << "print \"GBNET coverage $(c_cov[8]:%.17g) $(c_cov[9]:%.17g) $(c_cov[10]:%.17g) $(c_cov[11]:%.17g) "
             "$(c_cov[12]:%.17g)\"\n";
        return s.str();
    };
    LmpRun normal = run_lammps(lmp_path(), dir, "normal", coverage_script(1.0), 2, vars_for(core_pot, 0));
    ASSERT_TRUE(normal.ok()) << normal.text();
    EXPECT_EQ(normal.text().find("WARNING: pair gbnet"), std::string::npos) << normal.text();
    ASSERT_EQ(normal.values["coverage"].size(), 5u) << normal.text();
    EXPECT_EQ(normal.values["coverage"][0], 0.0);
    EXPECT_GE(normal.values["coverage"][1], 1.0);
    EXPECT_EQ(normal.values["coverage"][2], 0.0);
    EXPECT_EQ(normal.values["coverage"][3], 0.0);  // the recorded configuration: inside its own ranges
    EXPECT_LT(normal.values["coverage"][4], 1e-6);

    std::vector<double> counts[2], compressed_box;
    for (int ranks : {1, 2}) {
        std::string tag = "compressed" + std::to_string(ranks);
        std::string positions = "write_dump all custom " + tag + ".dump id type x y z modify sort id format float "
                                "%.17g\nprint \"GBNET box $(lx:%.17g) $(ly:%.17g) $(lz:%.17g) $(xy:%.17g) "
                                "$(xz:%.17g) $(yz:%.17g) $(vol:%.17g)\"\n";
        LmpRun run = run_lammps(lmp_path(), dir, tag, coverage_script(0.97) + positions, ranks, vars_for(core_pot, 0));
        ASSERT_TRUE(run.ok()) << run.text();
        std::string text = run.log;
        EXPECT_NE(text.find("WARNING: pair gbnet: step 0: outside what potential"), std::string::npos) << text;
        EXPECT_NE(text.find("atoms closer than 0.98 times the shortest distance in the training data"),
                  std::string::npos) << text;
        EXPECT_NE(text.find("with a readout input outside what potential"), std::string::npos) << text;
        EXPECT_NE(text.find("below the trained"), std::string::npos) << text;
        EXPECT_NE(text.find("(density higher than any training frame)"), std::string::npos) << text;
        counts[ranks - 1] = run.values["coverage"];
        compressed_box = run.values["box"];
        ASSERT_EQ(counts[ranks - 1].size(), 5u) << text;
        EXPECT_GT(counts[ranks - 1][0], 0.0);
        EXPECT_LT(counts[ranks - 1][1], 1.0);
        EXPECT_EQ(counts[ranks - 1][2], 1.0);
        EXPECT_GT(counts[ranks - 1][3], 0.0);
        EXPECT_GT(counts[ranks - 1][4], GBNET_DEFAULT_FEATURE_MARGIN);
    }
    EXPECT_EQ(counts[0], counts[1]) << "the counts must not depend on the number of ranks";
    {   // and they are the core's checks of the same (compressed) configuration
        Atoms a = read_dump(dir + "/compressed2.dump");
        int n = (int)a.id.size();
        std::vector<int> species(n);
        for (int i = 0; i < n; ++i) species[i] = a.type[i] - 1;
        double h[9];
        ASSERT_EQ(compressed_box.size(), 7u);
        cell_of(compressed_box, h);
        gbnet_structure s = {n, species.data(), a.x.data(), h, {1, 1, 1}};
        gbnet_coverage_report distance{};
        ASSERT_EQ(gbnet_coverage_check(model, &s, GBNET_DEFAULT_DISTANCE_MARGIN, &distance), GBNET_OK)
            << gbnet_last_error();
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, model, GBNET_DOUBLE), GBNET_OK);
        gbnet_feature_report features{};
        ASSERT_EQ(gbnet_feature_check(ws, 1, &s, GBNET_DEFAULT_FEATURE_MARGIN, &features), GBNET_OK)
            << gbnet_last_error();
        gbnet_workspace_free(ws);
        EXPECT_EQ(counts[1][0], distance.atoms_too_close);
        EXPECT_NEAR(counts[1][1], distance.closest_ratio, 1e-12);
        EXPECT_EQ(counts[1][2], distance.volume_outside);
        EXPECT_EQ(counts[1][3], features.atoms_outside);
        EXPECT_NEAR(counts[1][4], features.largest_excess, 1e-9 * features.largest_excess);
    }

    // warn_coverage no: quiet, counts zero; a bad keyword value is a clean error
    auto with_style = [&](const std::string &style) {
        std::string script = coverage_script(0.97);
        size_t at = script.find("compute cov");
        return script.insert(at, style + "\npair_coeff * * ${pot} O H\n");
    };
    LmpRun quiet = run_lammps(lmp_path(), dir, "quiet", with_style("pair_style gbnet warn_coverage no"), 1,
                              vars_for(core_pot, 0));
    ASSERT_TRUE(quiet.ok()) << quiet.text();
    EXPECT_EQ(quiet.text().find("WARNING: pair gbnet"), std::string::npos) << quiet.text();
    EXPECT_EQ(quiet.values["coverage"], std::vector<double>({0.0, 0.0, 0.0, 0.0, 0.0}));
    LmpRun bad_margin = run_lammps(lmp_path(), dir, "badmargin", with_style("pair_style gbnet warn_feature_margin -1"),
                                   1, vars_for(core_pot, 0));
    EXPECT_FALSE(bad_margin.ok());
    EXPECT_NE(bad_margin.text().find("warn_feature_margin must be >= 0"), std::string::npos) << bad_margin.text();
    LmpRun bad = run_lammps(lmp_path(), dir, "badwarn", with_style("pair_style gbnet warn_every 0"), 1,
                            vars_for(core_pot, 0));
    EXPECT_FALSE(bad.ok());
    EXPECT_NE(bad.text().find("warn_every must be >= 1"), std::string::npos) << bad.text();
    gbnet_model_free(model);
}
