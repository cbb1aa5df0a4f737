// pair_style gbnet/kk (KOKKOS) against pair_style gbnet, both from
// gbnetkkplugin.so in the KOKKOS LAMMPS of tools/build_lammps_kokkos.sh
// (Debian's Kokkos, Serial backend). The same input runs once with plain
// `lmp` (pair_style gbnet, the core's CPU kernels) and once with
// `lmp -k on -sf kk` (the suffix turns pair_style gbnet into gbnet/kk, whose
// kernels are all Kokkos loops) on 1 and 2 MPI ranks; energies, per-atom
// energies, forces, per-atom virials and the global virial must agree to
// 1e-10 relative. Systems: the shipped water and tantalum potentials
// (tabulated filters), and a small random model with exact filters in a
// cubic and a triclinic cell; a short MD run checks that neighbor-list
// rebuilds and atoms migrating between ranks change nothing.
// Skips when the KOKKOS LAMMPS or the plugin is not built.
#include "test_util.h"

#include "gbnet.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool is_file(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string kokkos_lmp_path() {
    const char *cache = getenv("GBNET_LAMMPS_KOKKOS_CACHE");
    std::string dir = cache ? cache
                            : std::string(getenv("HOME") ? getenv("HOME") : "/root") +
                                  "/.cache/gbnet/lammps-20210929-kokkos";
    return dir + "/install/bin/lmp";
}
std::string kk_plugin_path() { return std::string(GBNET_BINARY_DIR) + "/plugin/gbnetkkplugin.so"; }

LmpRun run_lammps(const std::string &dir, const std::string &name, const std::string &script, int ranks,
                  const std::string &args) {
    return run_lmp(kokkos_lmp_path(), dir, name, script, ranks, args);
}

using Atoms = ReportAtoms;  // test_util.h
Atoms read_dump(const std::string &path) { return read_report_dump(path); }

double max_abs(const std::vector<double> &v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}
double max_abs_diff(const std::vector<double> &a, const std::vector<double> &b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}
// max |a - b| / max |b|, the measure every comparison here uses
double relative(const std::vector<double> &a, const std::vector<double> &b) {
    double scale = max_abs(b);
    return max_abs_diff(a, b) / (scale > 0 ? scale : 1.0);
}

struct Outcome {
    double energy = 0;
    std::vector<double> pvirial;
    Atoms atoms;
    std::string log;
};

class LammpsKokkosTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun not found";
        if (!is_file(kokkos_lmp_path()) || !is_file(kk_plugin_path()))
            GTEST_SKIP() << "no KOKKOS LAMMPS (" << kokkos_lmp_path() << ") or no " << kk_plugin_path()
                         << ": run tools/build_lammps_kokkos.sh, then configure with -DGBNET_LAMMPS=ON";
        dir = temp_dir();
    }

    // body: the system and pair_coeff after `plugin load`; then report.in
    Outcome evaluate(const std::string &name, const std::string &body, bool kokkos, int ranks,
                     const std::string &vars = "", const std::string &kokkos_args = "") {
        std::string script = "plugin load " + kk_plugin_path() + "\n" + body + "variable dump string " + name +
                             ".dump\ninclude " + source_path("tests/lammps/report.in") + "\n";
        std::string args = (kokkos ? "-k on -sf kk " + kokkos_args + " " : std::string()) + vars;
        LmpRun run = run_lammps(dir, name, script, ranks, args);
        Outcome out;
        EXPECT_TRUE(run.ok()) << name << ":\n" << run.text();
        if (!run.ok()) return out;
        // the kk run really ran gbnet/kk (its init line), the plain one gbnet
        bool kk_line = run.log.find("pair gbnet/kk:") != std::string::npos;
        EXPECT_EQ(kk_line, kokkos) << name << ": pair style used is not the one intended\n" << run.log;
        out.energy = run.values["energy"].empty() ? NAN : run.values["energy"][0];
        out.pvirial = run.values["pvirial"];
        out.atoms = read_dump(dir + "/" + name + ".dump");
        out.log = run.log;
        return out;
    }

    // gbnet/kk on 1 and 2 ranks against gbnet on 1 rank
    // kokkos_args: more command-line arguments of the kk runs (e.g. -pk kokkos ...)
    void expect_kokkos_equals_cpu(const std::string &tag, const std::string &body, const std::string &vars = "",
                                  double tolerance = 1e-10, const std::string &kokkos_args = "") {
        Outcome cpu = evaluate(tag + "_cpu", body, false, 1, vars);
        ASSERT_FALSE(cpu.atoms.f.empty());
        ASSERT_GT(max_abs(cpu.atoms.f), 0.0);
        ASSERT_EQ(cpu.pvirial.size(), 6u);
        for (int ranks : {1, 2}) {
            std::string name = tag + "_kk" + std::to_string(ranks);
            Outcome kk = evaluate(name, body, true, ranks, vars, kokkos_args);
            ASSERT_EQ(kk.atoms.f.size(), cpu.atoms.f.size()) << name;
            double de = std::fabs(kk.energy - cpu.energy) / std::fabs(cpu.energy);
            double df = relative(kk.atoms.f, cpu.atoms.f);
            double dpe = relative(kk.atoms.pe, cpu.atoms.pe);
            double dsv = relative(kk.atoms.stress, cpu.atoms.stress);
            double dvir = relative(kk.pvirial, cpu.pvirial);
            double dx = max_abs_diff(kk.atoms.x, cpu.atoms.x);
            EXPECT_LE(de, tolerance) << name << ": energy " << kk.energy << " vs " << cpu.energy;
            EXPECT_LE(df, tolerance) << name << ": forces";
            EXPECT_LE(dpe, tolerance) << name << ": per-atom energies";
            EXPECT_LE(dsv, tolerance) << name << ": per-atom virials";
            EXPECT_LE(dvir, tolerance) << name << ": virial";
            EXPECT_LE(dx, 1e-9) << name << ": positions";
            printf("%s: E = %.12f eV; relative differences to gbnet: energy %.2e, forces %.2e, per-atom "
                   "energies %.2e, per-atom virials %.2e, virial %.2e; positions %.2e A\n",
                   name.c_str(), kk.energy, de, df, dpe, dsv, dvir, dx);
        }
    }
    std::string dir;
};

std::string water_system(const std::string &pot, int tri) {
    return "variable pot string '" + pot + "'\nvariable data string '" +
           data_path("deepmd_water/raw/lammps_start/water.lmp") + "'\nvariable tri equal " +
           std::to_string(tri) + "\nvariable precision string double\ninclude " +
           source_path("tests/lammps/setup.in") + "\n";
}

// 128 atoms of BCC tantalum, displaced from the lattice (fixed seed)
std::string tantalum_system(const std::string &pot) {
    return "units metal\natom_style atomic\nboundary p p p\natom_modify map array\n"
           "lattice bcc 3.31\nregion box block 0 4 0 4 0 4\ncreate_box 1 box\ncreate_atoms 1 box\n"
           "mass 1 180.95\ndisplace_atoms all random 0.15 0.15 0.15 8123\n"
           "pair_style gbnet\npair_coeff * * " + pot + " Ta\nneighbor 1.0 bin\n"
           "compute pe all pe/atom\ncompute sv all stress/atom NULL virial\n"
           "compute pv all pressure NULL virial\n"
           "thermo_style custom step pe press c_pv[1] c_pv[2] c_pv[3] c_pv[4] c_pv[5] c_pv[6]\n"
           "thermo_modify format float %.17g\n";
}

TEST_F(LammpsKokkosTest, WaterPotentialEqualsCpu) {
    expect_kokkos_equals_cpu("water", water_system(source_path("potentials/water.gbnet"), 0));
}

TEST_F(LammpsKokkosTest, TantalumPotentialEqualsCpu) {
    expect_kokkos_equals_cpu("tantalum", tantalum_system(source_path("potentials/tantalum.gbnet")));
}

// A random O/H model with exact (not tabulated) filters: the Gaussian basis,
// cutoff and filter network kernels, in a cubic and a triclinic cell (the
// latter with `package kokkos neigh full`).
TEST_F(LammpsKokkosTest, ExactFilterModelEqualsCpuInCubicAndTriclinicCells) {
    gbnet_model *model = small_model(small_hyperparams(16, 3, 12, 8, 4.0, {8, 1}), 2024, 12.0, 0.05, {-4.3, -1.1});
    ASSERT_NE(model, nullptr);
    ASSERT_EQ(gbnet_model_is_tabulated(model), 0);
    std::string pot = dir + "/small.gbnet";
    ASSERT_EQ(gbnet_model_save(model, pot.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_model_free(model);
    expect_kokkos_equals_cpu("exact_cubic", water_system(pot, 0));
    // LAMMPS's Kokkos full neighbor lists instead of the default half setting
    expect_kokkos_equals_cpu("exact_triclinic", water_system(pot, 1), "", 1e-10, "-pk kokkos neigh full");
}

// Compressed files (docs/compression.md): gbnet/kk multiplies factored dense
// layers out when it reads them and ignores a quantization record (double
// precision), as the CPU style in double precision ignores it too.
TEST_F(LammpsKokkosTest, FactoredAndQuantizedModelsEqualCpu) {
    gbnet_model *model = small_model(small_hyperparams(16, 3, 12, 8, 4.0, {8, 1}), 2025, 12.0, 0.05, {-4.3, -1.1});
    ASSERT_NE(model, nullptr);
    gbnet_rank_spec spec{};
    ASSERT_EQ(gbnet_rank_spec_parse(&spec, "in=5,out1=6,out2=7,readout=3"), GBNET_OK);
    gbnet_model *factored = nullptr;
    ASSERT_EQ(gbnet_model_reduce_rank(model, &spec, &factored), GBNET_OK) << gbnet_last_error();
    gbnet_model_free(model);
    ASSERT_TRUE(gbnet_model_is_factored(factored));
    std::string pot = dir + "/factored.gbnet";
    ASSERT_EQ(gbnet_model_save(factored, pot.c_str()), GBNET_OK) << gbnet_last_error();
    expect_kokkos_equals_cpu("factored", water_system(pot, 0));
    gbnet_model_free(factored);
    std::string bf16 = dir + "/bf16.gbnet";
    CliRun quantize = run_gbnet("compress --quantize bf16 " + source_path("potentials/water.gbnet") + " " + bf16);
    ASSERT_EQ(quantize.rc, 0) << quantize.all();
    expect_kokkos_equals_cpu("bf16", water_system(bf16, 0));
}

// 30 steps of NVE with a neighbor-list rebuild every step: the Views that
// grow and are reused, and atoms changing ranks, give the same trajectory.
TEST_F(LammpsKokkosTest, ShortMolecularDynamicsMatchesCpu) {
    std::string body = water_system(source_path("potentials/water.gbnet"), 0) +
                       "velocity all create 600 4928 mom yes rot yes\nneigh_modify every 1 delay 0 check no\n"
                       "timestep 0.0005\nfix nve all nve\nrun 30 post no\n";
    expect_kokkos_equals_cpu("md", body, "", 1e-9);
}

// pair_style hybrid/overlay gbnet lj/cut with type 2 NULL for gbnet (-sf kk:
// hybrid/overlay/kk with gbnet/kk and lj/cut/kk): the atoms of the NULL type
// take no part in gbnet/kk's graph, as in gbnet's.
TEST_F(LammpsKokkosTest, HybridOverlayWithNullTypeEqualsCpu) {
    std::string body = "units metal\natom_style atomic\nboundary p p p\natom_modify map array\n"
                       "lattice bcc 3.31\nregion box block 0 4 0 4 0 4\ncreate_box 2 box\ncreate_atoms 1 box\n"
                       "mass 1 180.95\nmass 2 39.948\ndisplace_atoms all random 0.15 0.15 0.15 8123\n"
                       "group third id 2:128:3\nset group third type 2\n"
                       "pair_style hybrid/overlay gbnet lj/cut 4.0\npair_coeff * * gbnet " +
                       source_path("potentials/tantalum.gbnet") +
                       " Ta NULL\npair_coeff 1 2 lj/cut 0.05 2.6\npair_coeff 2 2 lj/cut 0.01 3.4\n"
                       "neighbor 1.0 bin\ncompute pe all pe/atom\ncompute sv all stress/atom NULL virial\n"
                       "compute pv all pressure NULL virial\n"
                       "thermo_style custom step pe press c_pv[1] c_pv[2] c_pv[3] c_pv[4] c_pv[5] c_pv[6]\n"
                       "thermo_modify format float %.17g\n";
    expect_kokkos_equals_cpu("hybrid_null", body);
}

TEST_F(LammpsKokkosTest, FloatPrecisionIsRefusedClearly) {
    std::string body = water_system(source_path("potentials/water.gbnet"), 0);
    size_t at = body.find("variable precision string double");
    body.replace(at, std::string("variable precision string double").size(), "variable precision string float");
    std::string script = "plugin load " + kk_plugin_path() + "\n" + body + "run 0\n";
    LmpRun run = run_lammps(dir, "float", script, 1, "-k on -sf kk");
    EXPECT_FALSE(run.ok());
    EXPECT_NE(run.text().find("supports only 'precision double'"), std::string::npos) << run.text();
}

}  // namespace
