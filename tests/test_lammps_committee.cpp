// pair_style gbnet with a committee file: the deviation file in DeePMD-kit's
// model_devi.out layout, the per-atom force deviation (d_gbnet_devi_f), the
// global deviations through compute pair gbnet and fix halt, all equal to the
// core's gbnet_committee_evaluate and the same on 1, 2 and 4 MPI ranks; a
// chosen member; a deviation file that cannot be written. Skips when
// gbnet-lmp is not built.
#include "gbnet.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
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
std::string gbnet_lmp_path() { return std::string(GBNET_BINARY_DIR) + "/gbnet-lmp"; }

LmpRun run_lammps(const std::string &dir, const std::string &name, const std::string &script, int ranks) {
    return run_lmp(gbnet_lmp_path(), dir, name, script, ranks);
}

// Three random O-H members of different widths (rc = 4) as one committee file;
// table_points > 0: with tabulated filters on that grid (members share the
// graph's in-edge lists, edge lengths and table cells).
std::string make_committee(const std::string &dir, int table_points = 0) {
    const double e_ref[2] = {-4.3, -1.1};
    std::vector<gbnet_model *> ms = {small_model(small_hyperparams(16, 3, 12, 8, 4.0, {8, 1}), 2024, 12.0, 0.05),
                                     small_model(small_hyperparams(16, 3, 12, 8, 4.0, {8, 1}), 2025, 12.0, 0.05),
                                     small_model(small_hyperparams(8, 2, 10, 8, 4.0, {8, 1}), 2026, 12.0, 0.05)};
    for (auto *m : ms) EXPECT_EQ(gbnet_model_set_normalization(m, 12.0, 0.05, e_ref), GBNET_OK);
    for (auto *m : ms) {
        if (table_points > 0) {
            EXPECT_EQ(gbnet_model_tabulate(m, table_points), GBNET_OK) << gbnet_last_error();
        }
    }
    gbnet_committee *c = nullptr;
    std::vector<const gbnet_model *> view(ms.begin(), ms.end());
    EXPECT_EQ(gbnet_committee_create(&c, view.data(), 3), GBNET_OK) << gbnet_last_error();
    std::string path = dir + (table_points > 0 ? "/committee_tab.gbnet" : "/committee.gbnet");
    EXPECT_EQ(gbnet_committee_save(c, path.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_committee_free(c);
    for (auto *m : ms) gbnet_model_free(m);
    return path;
}

std::string script(const std::string &pot, const std::string &style_extra, const std::string &before_run,
                   int steps, bool print_last = true) {
    return "units metal\natom_style atomic\nboundary p p p\natom_modify map array\nread_data " +
           data_path("deepmd_water/raw/lammps_start/water.lmp") +
           "\nmass 1 15.999\nmass 2 1.008\n"
           "pair_style gbnet " + style_extra + "\npair_coeff * * " + pot + " O H\nneighbor 1.0 bin\n"
           "compute dev all pair gbnet\n"
           "print \"GBNET box $(lx:%.17g) $(ly:%.17g) $(lz:%.17g) $(xy:%.17g) $(xz:%.17g) $(yz:%.17g)\"\n"
           "velocity all create 300 12345 loop geom\nfix nve all nve\ntimestep 0.0005\n"
           "thermo_style custom step pe c_dev[4] c_dev[7]\nthermo_modify format float %.17g\nthermo 2\n" +
           before_run + "run " + std::to_string(steps) + "\n" +
           (print_last ? "" : "#") + "print \"GBNET last $(pe:%.17g) $(c_dev[1]:%.17g) $(c_dev[2]:%.17g) $(c_dev[3]:%.17g) $(c_dev[4]:%.17g) "
           "$(c_dev[5]:%.17g) $(c_dev[6]:%.17g) $(c_dev[7]:%.17g)\"\n";
}

// Data lines of a model_devi.out file: [step][8 numbers].
std::vector<std::vector<double>> read_devi(const std::string &path, std::string *header = nullptr) {
    std::vector<std::vector<double>> rows;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line[0] == '#') {
            if (header) *header = line;
            continue;
        }
        std::istringstream s(line);
        std::vector<double> row;
        double v;
        while (s >> v) row.push_back(v);
        rows.push_back(row);
    }
    return rows;
}

// The first snapshot of a dump "id type x y z d_gbnet_devi_f" (sorted by id).
struct Snapshot {
    std::vector<int> type;
    std::vector<double> x, devi;
};
Snapshot first_snapshot(const std::string &path) {
    Snapshot s;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("ITEM: ATOMS", 0) == 0) break;
    while (std::getline(in, line) && line.rfind("ITEM:", 0) != 0) {
        std::istringstream f(line);
        int id, type;
        double x, y, z, d;
        f >> id >> type >> x >> y >> z >> d;
        s.type.push_back(type);
        s.x.insert(s.x.end(), {x, y, z});
        s.devi.push_back(d);
    }
    return s;
}

// Every snapshot of a dump "id a b c" (sorted by id): [snapshot][3 N] values.
std::vector<std::vector<double>> all_snapshots(const std::string &path) {
    std::vector<std::vector<double>> snaps;
    std::ifstream in(path);
    std::string line;
    bool atoms = false;
    while (std::getline(in, line)) {
        if (line.rfind("ITEM:", 0) == 0) {
            atoms = line.rfind("ITEM: ATOMS", 0) == 0;
            if (atoms) snaps.emplace_back();
            continue;
        }
        if (!atoms) continue;
        std::istringstream f(line);
        int id;
        double v[3];
        f >> id >> v[0] >> v[1] >> v[2];
        snaps.back().insert(snaps.back().end(), v, v + 3);
    }
    return snaps;
}

class LammpsCommittee : public ::testing::Test {
  protected:
    void SetUp() override {
        if (system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun not found";
        if (!is_file(gbnet_lmp_path())) GTEST_SKIP() << "gbnet-lmp not built (-DGBNET_LAMMPS=ON)";
        dir = temp_dir();
        pot = make_committee(dir);
    }
    std::string dir, pot;
};

const char *kDump = "dump d all custom 2 devi.dump id type x y z d_gbnet_devi_f\n"
                    "dump_modify d sort id format float %.17g\n";

TEST_F(LammpsCommittee, DeviationsEqualTheCoreAndDoNotDependOnTheRankCount) {
    std::vector<std::vector<std::vector<double>>> files;
    std::vector<LmpRun> runs;
    for (int ranks : {1, 2, 4}) {
        std::string tag = "np" + std::to_string(ranks);
        LmpRun r = run_lammps(dir, tag, script(pot, "out_freq 2 out_file " + tag + ".devi", kDump, 4), ranks);
        ASSERT_EQ(r.status, 0) << r.text();
        std::string header;
        files.push_back(read_devi(dir + "/" + tag + ".devi", &header));
        EXPECT_EQ(header.find("#        step         max_devi_v         min_devi_v         avg_devi_v         "
                              "max_devi_f         min_devi_f         avg_devi_f             devi_e"),
                  0u)
            << header;
        runs.push_back(r);
        rename((dir + "/devi.dump").c_str(), (dir + "/" + tag + ".dump").c_str());
    }
    EXPECT_NE(runs[0].text().find("holds a committee of 3 members: forces from their mean"), std::string::npos)
        << runs[0].text();
    // steps 0, 2 and 4, the step and 7 deviations each, all nonzero
    ASSERT_EQ(files[0].size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
        ASSERT_EQ(files[0][k].size(), 8u);
        EXPECT_EQ(files[0][k][0], 2.0 * k);
        for (int c = 1; c < 8; ++c) EXPECT_GT(files[0][k][c], 0.0) << "column " << c;
        EXPECT_GE(files[0][k][4], files[0][k][6]);  // max >= avg >= min
        EXPECT_GE(files[0][k][6], files[0][k][5]);
    }
    double worst = 0;
    for (size_t r = 1; r < files.size(); ++r) {
        ASSERT_EQ(files[r].size(), files[0].size());
        for (size_t k = 0; k < files[0].size(); ++k)
            for (int c = 1; c < 8; ++c) {
                double a = files[0][k][c], b = files[r][k][c];
                EXPECT_LE(std::fabs(a - b), 1e-10 * std::fabs(a)) << "ranks run " << r << " step " << k << " col " << c;
                worst = std::max(worst, std::fabs(a - b) / std::fabs(a));
            }
    }
    // at full precision: the seven numbers of the last step (print %.17g) and
    // every atom's deviation at step 0 (dump %.17g)
    Snapshot one = first_snapshot(dir + "/np1.dump");
    for (size_t r = 1; r < runs.size(); ++r) {
        std::vector<double> a = runs[0].values["last"], b = runs[r].values["last"];
        ASSERT_EQ(a.size(), 8u);
        ASSERT_EQ(b.size(), 8u);
        for (int c = 1; c < 8; ++c) {
            EXPECT_LE(std::fabs(a[c] - b[c]), 1e-10 * std::fabs(a[c])) << "run " << r << " value " << c;
            worst = std::max(worst, std::fabs(a[c] - b[c]) / std::fabs(a[c]));
        }
        Snapshot other = first_snapshot(dir + "/np" + std::to_string(r == 1 ? 2 : 4) + ".dump");
        ASSERT_EQ(other.devi.size(), one.devi.size());
        for (size_t i = 0; i < one.devi.size(); ++i) {
            EXPECT_LE(std::fabs(one.devi[i] - other.devi[i]), 1e-10 * one.devi[i]) << "atom " << i;
            worst = std::max(worst, std::fabs(one.devi[i] - other.devi[i]) / one.devi[i]);
        }
    }
    printf("1 vs 2 and 4 ranks: largest relative difference of a deviation %.2e\n", worst);
    // compute pair gbnet after the run holds the last step's deviations
    std::vector<double> last = runs[1].values["last"];
    ASSERT_EQ(last.size(), 8u);
    for (int c = 1; c < 8; ++c) EXPECT_LE(std::fabs(last[c] - files[1][2][c]), 1e-9 * files[1][2][c]) << c;

    // step 0 against the core: per-atom deviations and the seven numbers
    const Snapshot &s = one;
    int n = (int)s.type.size();
    ASSERT_EQ(n, 192);
    std::vector<double> box = runs[0].values["box"];
    ASSERT_EQ(box.size(), 6u);
    double h[9] = {box[0], 0, 0, box[3], box[1], 0, box[4], box[5], box[2]};
    std::vector<int> species(n);
    for (int i = 0; i < n; ++i) species[i] = s.type[i] - 1;
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_load(&c, pot.c_str()), GBNET_OK);
    gbnet_committee_workspace *cws = nullptr;
    ASSERT_EQ(gbnet_committee_workspace_create(&cws, c, GBNET_DOUBLE), GBNET_OK);
    gbnet_structure st = {n, species.data(), s.x.data(), h, {1, 1, 1}};
    std::vector<double> f(3 * n), atom_dev(n);
    gbnet_result res{};
    res.forces = f.data();
    gbnet_committee_deviation dev{};
    dev.atom_force_deviations = atom_dev.data();
    ASSERT_EQ(gbnet_committee_evaluate(cws, 1, &st, &res, &dev), GBNET_OK) << gbnet_last_error();
    double dmax = 0;
    for (int i = 0; i < n; ++i) dmax = std::max(dmax, std::fabs(s.devi[i] - atom_dev[i]));
    EXPECT_LE(dmax, 1e-10 * dev.force_deviation_max);
    const double core[7] = {dev.virial_deviation_max, dev.virial_deviation_min, dev.virial_deviation_mean,
                            dev.force_deviation_max,  dev.force_deviation_min,  dev.force_deviation_mean,
                            dev.energy_deviation};
    for (int k = 0; k < 7; ++k)
        EXPECT_LE(std::fabs(files[0][0][1 + k] - core[k]), 1e-9 * core[k]) << "column " << k + 2;
    printf("step 0: max_devi_f %.6g eV/A (core %.6g), devi_e %.6g eV/atom (core %.6g)\n", files[0][0][4], core[3],
           files[0][0][7], core[6]);
    gbnet_committee_workspace_free(cws);
    gbnet_committee_free(c);
}

TEST_F(LammpsCommittee, FixHaltStopsOnTheForceDeviation) {
    LmpRun r = run_lammps(dir, "halt",
                       script(pot, "",
                              "variable maxf equal c_dev[4]\nfix stop all halt 1 v_maxf > 1e-6 error soft\n", 20, false),
                       2);
    ASSERT_EQ(r.status, 0) << r.text();
    EXPECT_NE(r.text().find("Fix halt condition for fix-id stop met on step 1"), std::string::npos) << r.text();
    LmpRun keep = run_lammps(dir, "nohalt",
                          script(pot, "", "variable maxf equal c_dev[4]\nfix stop all halt 1 v_maxf > 1e6 error soft\n",
                                 4),
                          2);
    ASSERT_EQ(keep.status, 0) << keep.text();
    EXPECT_EQ(keep.text().find("Fix halt condition"), std::string::npos) << keep.text();
}

TEST_F(LammpsCommittee, ChosenMemberIntegratesWithItsOwnForces) {
    LmpRun r = run_lammps(dir, "member", script(pot, "committee_output 2", "", 0), 1);
    ASSERT_EQ(r.status, 0) << r.text();
    EXPECT_NE(r.text().find("forces from member 2"), std::string::npos) << r.text();
    LmpRun mean = run_lammps(dir, "mean", script(pot, "", "", 0), 1);
    ASSERT_EQ(mean.status, 0) << mean.text();
    // member 2 alone through the core on the same configuration
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_load(&c, pot.c_str()), GBNET_OK);
    std::string single = dir + "/member2.gbnet";
    ASSERT_EQ(gbnet_model_save(gbnet_committee_member(c, 2), single.c_str()), GBNET_OK);
    gbnet_committee_free(c);
    LmpRun alone = run_lammps(dir, "alone", script(single, "", "", 0), 1);
    ASSERT_EQ(alone.status, 0) << alone.text();
    double e_member = r.values["last"].at(0), e_alone = alone.values["last"].at(0), e_mean = mean.values["last"].at(0);
    EXPECT_LE(std::fabs(e_member - e_alone), 1e-10 * std::fabs(e_alone));
    EXPECT_GT(std::fabs(e_member - e_mean), 1e-6);
    // deviations are the committee's whichever member integrates
    for (int k = 1; k < 8; ++k) EXPECT_LE(std::fabs(r.values["last"][k] - mean.values["last"][k]), 1e-12 * mean.values["last"][k]);
    // a single model has no deviations: out_freq is ignored with a warning, compute pair gives zeros
    EXPECT_NE(alone.text().find("Loop time"), std::string::npos);
    LmpRun warn = run_lammps(dir, "warn", script(single, "out_freq 1", "", 0), 1);
    EXPECT_NE(warn.text().find("out_freq 1 ignored"), std::string::npos) << warn.text();
    LmpRun bad = run_lammps(dir, "bad_member", script(pot, "committee_output 3", "", 0), 2);
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.text().find("committee_output 3 but potential file"), std::string::npos) << bad.text();
}

// Integrating with member 2 and out_freq 5, the other members run only on
// steps 0, 5, 10: the trajectory is member 2's alone, step by step, and the
// deviations written on those steps are those of a run that evaluates every
// member on every step (out_freq 1) along the same trajectory.
TEST_F(LammpsCommittee, ChosenMemberWithOutFreqEvaluatesTheOthersOnlyOnThoseSteps) {
    gbnet_committee *c = nullptr;
    ASSERT_EQ(gbnet_committee_load(&c, pot.c_str()), GBNET_OK);
    std::string single = dir + "/member2.gbnet";
    ASSERT_EQ(gbnet_model_save(gbnet_committee_member(c, 2), single.c_str()), GBNET_OK);
    gbnet_committee_free(c);
    // pe and the compute's max_devi_f on every step (fix print), 10 steps
    auto every_step = [&](const std::string &p, const std::string &style) {
        std::string sc = script(p, style, "thermo 1\nfix p all print 1 \"GBNET s$(step) $(pe:%.17g) $(c_dev[4]:%.17g)\"\n", 10);
        return sc;
    };
    LmpRun sparse = run_lammps(dir, "sparse", every_step(pot, "committee_output 2 out_freq 5 out_file sparse.devi"), 1);
    ASSERT_EQ(sparse.status, 0) << sparse.text();
    EXPECT_NE(sparse.text().find("forces from member 2, model deviation in compute pair gbnet and d_gbnet_devi_f "
                                 "(the other members and the deviations every 5 steps)"),
              std::string::npos)
        << sparse.text();
    LmpRun dense = run_lammps(dir, "dense", every_step(pot, "committee_output 2 out_freq 1 out_file dense.devi"), 1);
    ASSERT_EQ(dense.status, 0) << dense.text();
    LmpRun alone = run_lammps(dir, "alone", every_step(single, ""), 1);
    ASSERT_EQ(alone.status, 0) << alone.text();
    for (int step = 0; step <= 10; ++step) {
        std::string k = "s" + std::to_string(step);
        ASSERT_EQ(sparse.values[k].size(), 2u) << k << sparse.text();
        double e = sparse.values[k][0], e_alone = alone.values[k].at(0), e_dense = dense.values[k].at(0);
        EXPECT_LE(std::fabs(e - e_alone), 1e-10 * std::fabs(e_alone)) << k;
        EXPECT_LE(std::fabs(e - e_dense), 1e-10 * std::fabs(e_alone)) << k;
        // between out_freq steps the compute holds the last computed deviation
        double held = sparse.values["s" + std::to_string(step - step % 5)][1];
        EXPECT_EQ(sparse.values[k][1], held) << k;
        if (step % 5) {
            EXPECT_NE(dense.values[k][1], held) << k;  // (it did change)
        }
    }
    std::vector<std::vector<double>> rows = read_devi(dir + "/sparse.devi"), all = read_devi(dir + "/dense.devi");
    ASSERT_EQ(rows.size(), 3u);
    ASSERT_EQ(all.size(), 11u);
    for (size_t r = 0; r < rows.size(); ++r) {
        ASSERT_EQ(rows[r].size(), 8u);
        EXPECT_EQ(rows[r][0], 5.0 * r);
        for (int col = 1; col < 8; ++col)
            EXPECT_LE(std::fabs(rows[r][col] - all[5 * r][col]), 1e-10 * std::fabs(all[5 * r][col]))
                << "step " << 5 * r << " column " << col;
    }
}

// Integrating with the mean and out_freq 5, the deviations are computed on
// steps 0, 5, 10 only, and on the steps between the mean's forces come from
// the members' mean edge gradients (no member's own forces): every step's
// forces are those of out_freq 1, where every step takes the mean of the
// members' own forces, to rounding; with exact and with tabulated members
// (which share the graph's arrays), on 1 and 4 ranks (ghosts and exchanges).
TEST_F(LammpsCommittee, MeanWithOutFreqComputesTheDeviationsOnlyOnThoseSteps) {
    auto every_step = [&](const std::string &p, const std::string &style) {
        return script(p, style, "thermo 1\nfix p all print 1 \"GBNET s$(step) $(pe:%.17g) $(c_dev[4]:%.17g)\"\n"
                      "dump x all custom 1 x.dump id fx fy fz\ndump_modify x sort id format float %.17g\n", 10);
    };
    std::string tabulated = make_committee(dir, 201);
    std::vector<std::vector<std::vector<double>>> forces_by_run;  // [run][step][3N]
    for (const std::string &p : {pot, tabulated})
        for (int ranks : {1, 4}) {
            SCOPED_TRACE((p == pot ? "exact, " : "tabulated, ") + std::to_string(ranks) + " rank(s)");
            std::string tag = (p == pot ? "e" : "t") + std::to_string(ranks);
            LmpRun sparse = run_lammps(dir, "sparse" + tag, every_step(p, "out_freq 5 out_file sparse.devi"), ranks);
            ASSERT_EQ(sparse.status, 0) << sparse.text();
            EXPECT_NE(sparse.text().find("forces from their mean, model deviation in compute pair gbnet and "
                                         "d_gbnet_devi_f (the deviations every 5 steps)"),
                      std::string::npos)
                << sparse.text();
            std::vector<std::vector<double>> fs = all_snapshots(dir + "/x.dump");
            LmpRun dense = run_lammps(dir, "dense" + tag, every_step(p, "out_freq 1 out_file dense.devi"), ranks);
            ASSERT_EQ(dense.status, 0) << dense.text();
            std::vector<std::vector<double>> fd = all_snapshots(dir + "/x.dump");
            for (int step = 0; step <= 10; ++step) {
                std::string k = "s" + std::to_string(step);
                ASSERT_EQ(sparse.values[k].size(), 2u) << k << sparse.text();
                double e = sparse.values[k][0], e_dense = dense.values[k].at(0);
                EXPECT_LE(std::fabs(e - e_dense), 1e-10 * std::fabs(e_dense)) << k;
                double held = sparse.values["s" + std::to_string(step - step % 5)][1];
                EXPECT_EQ(sparse.values[k][1], held) << k;
                if (step % 5) {
                    EXPECT_NE(dense.values[k][1], held) << k;
                }
            }
            // the forces of every step, the steps between deviations included
            ASSERT_EQ(fs.size(), 11u);
            ASSERT_EQ(fd.size(), 11u);
            double fmax = 0, worst = 0;
            for (size_t t = 0; t < fs.size(); ++t) {
                ASSERT_EQ(fs[t].size(), 3u * 192);
                ASSERT_EQ(fd[t].size(), fs[t].size());
                for (size_t i = 0; i < fs[t].size(); ++i) {
                    fmax = std::max(fmax, std::fabs(fd[t][i]));
                    worst = std::max(worst, std::fabs(fs[t][i] - fd[t][i]));
                }
            }
            EXPECT_GT(fmax, 1e-3);
            EXPECT_LE(worst, 1e-12 * fmax) << "largest force difference " << worst << " eV/A of " << fmax;
            forces_by_run.push_back(fs);
            std::vector<std::vector<double>> rows = read_devi(dir + "/sparse.devi"), all = read_devi(dir + "/dense.devi");
            ASSERT_EQ(rows.size(), 3u);
            ASSERT_EQ(all.size(), 11u);
            for (size_t r = 0; r < rows.size(); ++r)
                for (int col = 1; col < 8; ++col)
                    EXPECT_LE(std::fabs(rows[r][col] - all[5 * r][col]), 1e-10 * std::fabs(all[5 * r][col]))
                        << "step " << 5 * r << " column " << col;
        }
    // 1 against 4 ranks, every step (exact: runs 0, 1; tabulated: 2, 3)
    ASSERT_EQ(forces_by_run.size(), 4u);
    for (size_t a : {0u, 2u}) {
        double fmax = 0, worst = 0;
        for (size_t t = 0; t < forces_by_run[a].size(); ++t)
            for (size_t i = 0; i < forces_by_run[a][t].size(); ++i) {
                fmax = std::max(fmax, std::fabs(forces_by_run[a][t][i]));
                worst = std::max(worst, std::fabs(forces_by_run[a][t][i] - forces_by_run[a + 1][t][i]));
            }
        EXPECT_LE(worst, 1e-10 * fmax) << (a == 0 ? "exact" : "tabulated") << ": 1 vs 4 ranks";
    }
}

TEST_F(LammpsCommittee, DeviationFileThatCannotBeWrittenIsAnError) {
    LmpRun r = run_lammps(dir, "unwritable", script(pot, "out_freq 1 out_file /nonexistent/dir/model_devi.out", "", 0), 2);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.text().find("ERROR"), std::string::npos) << r.text();
    EXPECT_NE(r.text().find("cannot open the deviation file /nonexistent/dir/model_devi.out (out_file) for writing"),
              std::string::npos)
        << r.text();
    EXPECT_EQ(r.text().find("Segmentation"), std::string::npos);
    LmpRun k = run_lammps(dir, "badfreq", script(pot, "out_freq -1", "", 0), 1);
    EXPECT_NE(k.text().find("out_freq must be >= 0"), std::string::npos) << k.text();
}

}  // namespace
