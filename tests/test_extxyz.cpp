// Dataset readers: extended XYZ (real files, column orders, malformed input,
// round trip) and DeePMD npy folders (against the extxyz conversion).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "gbnet_data.h"
}
#include "test_util.h"

namespace {

struct Dataset {
    gbnet_dataset ds = {};
    ~Dataset() { gbnet_dataset_free(&ds); }
};

double determinant(const double c[9]) {
    return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
           c[2] * (c[3] * c[7] - c[4] * c[6]);
}

// Reads text as an extxyz file and expects a format error mentioning the
// file and the given line.
void expect_format_error(const std::string &name, const std::string &text, int line,
                         const std::string &needle = "") {
    std::string path = write_file(temp_dir() + "/" + name, text);
    Dataset d;
    gbnet_status status = gbnet_read_extxyz(&d.ds, path.c_str());
    std::string message = gbnet_last_error();
    EXPECT_EQ(status, GBNET_ERR_FORMAT) << name << ": " << message;
    EXPECT_NE(message.find(path + ":" + std::to_string(line) + ": expected"), std::string::npos)
        << name << ": " << message;
    if (!needle.empty()) {
        EXPECT_NE(message.find(needle), std::string::npos) << name << ": " << message;
    }
    EXPECT_EQ(d.ds.n_frames, 0) << name;
}

const char *kWaterTwoAtoms =
    "2\n"
    "Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 energy=-1.5 pbc=\"T T T\"\n"
    "O 0 0 0 0.1 0.2 0.3\n"
    "H 1 0 0 -0.1 -0.2 -0.3\n";

}  // namespace

TEST(Elements, SymbolsAndNumbers) {
    EXPECT_EQ(gbnet_atomic_number("H"), 1);
    EXPECT_EQ(gbnet_atomic_number("O"), 8);
    EXPECT_EQ(gbnet_atomic_number("Ta"), 73);
    EXPECT_EQ(gbnet_atomic_number("Og"), 118);
    EXPECT_EQ(gbnet_atomic_number("Xx"), 0);
    EXPECT_EQ(gbnet_atomic_number("CO"), 0);
    EXPECT_EQ(gbnet_atomic_number(""), 0);
    EXPECT_EQ(gbnet_atomic_number(nullptr), 0);
    for (int z = 1; z <= 118; z++) EXPECT_EQ(gbnet_atomic_number(gbnet_element_symbol(z)), z) << z;
    EXPECT_STREQ(gbnet_element_symbol(0), "X");
    EXPECT_STREQ(gbnet_element_symbol(119), "X");
    EXPECT_STREQ(gbnet_element_symbol(26), "Fe");
}

TEST(Extxyz, WaterDataset) {
    Dataset d;
    std::string path = data_path("deepmd_water/deepmd_water.extxyz");
    auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, path.c_str()), GBNET_OK) << gbnet_last_error();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 1.0) << "reading 4.7 MB took " << seconds << " s";
    ASSERT_EQ(d.ds.n_frames, 400);
    ASSERT_EQ(d.ds.n_sources, 1);
    const gbnet_frame &f = d.ds.frames[0];
    EXPECT_EQ(f.n_atoms, 192);
    EXPECT_EQ(f.line, 1);
    EXPECT_EQ(d.ds.frames[1].line, 1 + 194);
    EXPECT_STREQ(f.source, path.c_str());
    EXPECT_DOUBLE_EQ(f.energy, -29943.906250);
    EXPECT_TRUE(f.has_energy);
    EXPECT_TRUE(f.has_cell);
    EXPECT_FALSE(f.has_virial);
    EXPECT_DOUBLE_EQ(f.cell[0], 12.4446611404);
    EXPECT_DOUBLE_EQ(f.cell[1], 0.0);
    EXPECT_DOUBLE_EQ(f.cell[8], 12.4446611404);
    EXPECT_EQ(f.pbc[0] + f.pbc[1] + f.pbc[2], 3);
    EXPECT_EQ(f.z[0], 8);
    EXPECT_EQ(f.z[191], 1);
    EXPECT_DOUBLE_EQ(f.pos[0], 7.538786);
    EXPECT_DOUBLE_EQ(f.pos[2], 4.520739);
    ASSERT_NE(f.forces, nullptr);
    EXPECT_DOUBLE_EQ(f.forces[0], 0.621997);
    EXPECT_DOUBLE_EQ(f.forces[2], -0.042906);
    EXPECT_STREQ(f.config_type, "liquid_water_64H2O");
    EXPECT_STREQ(gbnet_frame_info(&f, "subset"), "data_0/set.000");
    EXPECT_STREQ(gbnet_frame_info(&f, "config_type"), "liquid_water_64H2O");
    EXPECT_EQ(gbnet_frame_info(&f, "missing"), nullptr);
    EXPECT_STREQ(d.ds.frames[399].subset, "data_3/set.000");
    int oxygens = 0;
    for (int i = 0; i < f.n_atoms; i++) oxygens += f.z[i] == 8;
    EXPECT_EQ(oxygens, 64);
}

TEST(Extxyz, EthanolDatasetAndAppend) {
    Dataset d;
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, data_path("rmd17_ethanol/rmd17_ethanol.extxyz").c_str()), GBNET_OK)
        << gbnet_last_error();
    ASSERT_EQ(d.ds.n_frames, 2000);
    const gbnet_frame &f = d.ds.frames[0];
    EXPECT_EQ(f.n_atoms, 9);
    EXPECT_FALSE(f.has_cell);
    EXPECT_EQ(f.pbc[0] + f.pbc[1] + f.pbc[2], 0);
    EXPECT_DOUBLE_EQ(f.energy, -4209.4657843065);
    EXPECT_EQ(f.z[0], 6);
    EXPECT_EQ(f.z[2], 8);
    EXPECT_DOUBLE_EQ(f.forces[0], -4.15950961);
    EXPECT_STREQ(f.subset, "train");
    EXPECT_STREQ(d.ds.frames[1999].subset, "test");

    // A second file is appended, with its own source.
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, data_path("rmd17_ethanol/rmd17_ethanol_test.extxyz").c_str()), GBNET_OK);
    ASSERT_EQ(d.ds.n_frames, 3000);
    EXPECT_EQ(d.ds.n_sources, 2);
    EXPECT_DOUBLE_EQ(d.ds.frames[2000].energy, d.ds.frames[1000].energy);
    EXPECT_STREQ(d.ds.frames[2000].source, d.ds.sources[1]);
    EXPECT_STREQ(d.ds.frames[0].source, d.ds.sources[0]);

    // A failing read keeps the frames already there.
    std::string bad = write_file(temp_dir() + "/bad.xyz", std::string(kWaterTwoAtoms) + "3\n");
    EXPECT_EQ(gbnet_read_extxyz(&d.ds, bad.c_str()), GBNET_ERR_FORMAT);
    EXPECT_EQ(d.ds.n_frames, 3000);
    EXPECT_EQ(d.ds.n_sources, 2);
}

TEST(Extxyz, TantalumStressBecomesVirial) {
    std::string path = data_path("fitsnap_ta/fitsnap_ta.extxyz");
    Dataset with_virial;
    ASSERT_EQ(gbnet_read_extxyz(&with_virial.ds, path.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(with_virial.ds.n_frames, 363);
    const gbnet_frame &first = with_virial.ds.frames[0];
    EXPECT_EQ(first.n_atoms, 64);
    EXPECT_DOUBLE_EQ(first.energy, -754.0221);
    EXPECT_TRUE(first.has_virial);
    EXPECT_DOUBLE_EQ(first.virial[0], 1.9769594986e+01);
    EXPECT_DOUBLE_EQ(first.virial[5], -1.0721457268e+00);
    EXPECT_STREQ(first.config_type, "Displaced_A15");
    EXPECT_STREQ(first.subset, "A15_1");
    EXPECT_EQ(gbnet_frame_info(&first, "stress"), nullptr);  // consumed, not kept in info
    int min_atoms = 1000, max_atoms = 0;
    for (int i = 0; i < with_virial.ds.n_frames; i++) {
        min_atoms = std::min(min_atoms, with_virial.ds.frames[i].n_atoms);
        max_atoms = std::max(max_atoms, with_virial.ds.frames[i].n_atoms);
    }
    EXPECT_EQ(min_atoms, 2);
    EXPECT_EQ(max_atoms, 100);

    // Drop virial= so the reader must convert stress= (-stress * V).
    std::string text = read_file(path);
    std::string stress_only = std::regex_replace(text, std::regex(" virial=\"[^\"]*\""), "");
    ASSERT_EQ(stress_only.find("virial="), std::string::npos);
    std::string converted_path = write_file(temp_dir() + "/ta_stress.extxyz", stress_only);
    Dataset from_stress;
    ASSERT_EQ(gbnet_read_extxyz(&from_stress.ds, converted_path.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(from_stress.ds.n_frames, 363);
    for (int i = 0; i < 363; i++) {
        const gbnet_frame &a = with_virial.ds.frames[i], &b = from_stress.ds.frames[i];
        ASSERT_TRUE(b.has_virial);
        for (int k = 0; k < 9; k++)
            EXPECT_NEAR(b.virial[k], a.virial[k], 1e-8 * (1.0 + std::fabs(a.virial[k]))) << i << " " << k;
    }
    // Skewed cells are among them.
    int skewed = 0;
    for (int i = 0; i < 363; i++) {
        const double *c = with_virial.ds.frames[i].cell;
        skewed += c[1] != 0.0 || c[2] != 0.0 || c[3] != 0.0 || c[5] != 0.0 || c[6] != 0.0 || c[7] != 0.0;
        EXPECT_GT(std::fabs(determinant(c)), 1.0);
    }
    EXPECT_GT(skewed, 0);
}

TEST(Extxyz, StressVoigtAndVirialPreferred) {
    std::string dir = temp_dir();
    // Voigt xx yy zz yz xz xy, V = 8.
    std::string voigt = write_file(dir + "/voigt.xyz",
                                   "1\nLattice=\"2 0 0 0 2 0 0 0 2\" Properties=species:S:1:pos:R:3 "
                                   "stress=\"1 2 3 4 5 6\"\nTa 0 0 0\n");
    Dataset d;
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, voigt.c_str()), GBNET_OK) << gbnet_last_error();
    const double expected[9] = {-8, -48, -40, -48, -16, -32, -40, -32, -24};
    for (int k = 0; k < 9; k++) EXPECT_DOUBLE_EQ(d.ds.frames[0].virial[k], expected[k]) << k;
    EXPECT_EQ(d.ds.frames[0].forces, nullptr);
    EXPECT_FALSE(d.ds.frames[0].has_energy);

    std::string both = write_file(dir + "/both.xyz",
                                  "1\nLattice=\"2 0 0 0 2 0 0 0 2\" Properties=species:S:1:pos:R:3 "
                                  "stress=\"1 2 3 4 5 6\" virial=\"1 2 3 4 5 6 7 8 9\" free_energy=-3.5\nTa 0 0 0\n");
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, both.c_str()), GBNET_OK) << gbnet_last_error();
    for (int k = 0; k < 9; k++) EXPECT_DOUBLE_EQ(d.ds.frames[1].virial[k], k + 1.0);
    EXPECT_TRUE(d.ds.frames[1].has_energy);
    EXPECT_DOUBLE_EQ(d.ds.frames[1].energy, -3.5);
}

TEST(Extxyz, ColumnOrderExtraColumnsAndInfo) {
    std::string dir = temp_dir();
    std::string path = write_file(
        dir + "/perm.xyz",
        "3\r\n"
        "Properties=forces:R:3:species:S:1:pos:R:3 energy=2.5 note=\"two words\" flag "
        "dipole=[1, 2, 3] quoted=\"a \\\"b\\\"\" pbc=\"F F F\"\r\n"
        "1 2 3 C 4 5 6\r\n"
        "-1 -2 -3 H 7 8 9\r\n"
        "0.5 0.25 0 O -1e-3 2E+1 0\r\n"
        "\r\n\n   \n");
    Dataset d;
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, path.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(d.ds.n_frames, 1);
    const gbnet_frame &f = d.ds.frames[0];
    ASSERT_EQ(f.n_atoms, 3);
    EXPECT_EQ(f.z[0], 6);
    EXPECT_EQ(f.z[1], 1);
    EXPECT_EQ(f.z[2], 8);
    const double pos[9] = {4, 5, 6, 7, 8, 9, -1e-3, 20, 0};
    const double forces[9] = {1, 2, 3, -1, -2, -3, 0.5, 0.25, 0};
    for (int k = 0; k < 9; k++) {
        EXPECT_DOUBLE_EQ(f.pos[k], pos[k]) << k;
        EXPECT_DOUBLE_EQ(f.forces[k], forces[k]) << k;
    }
    EXPECT_DOUBLE_EQ(f.energy, 2.5);
    EXPECT_FALSE(f.has_cell);
    EXPECT_STREQ(gbnet_frame_info(&f, "note"), "two words");
    EXPECT_STREQ(gbnet_frame_info(&f, "flag"), "T");
    EXPECT_STREQ(gbnet_frame_info(&f, "dipole"), "[1, 2, 3]");
    EXPECT_STREQ(gbnet_frame_info(&f, "quoted"), "a \"b\"");
    EXPECT_EQ(gbnet_frame_info(&f, "energy"), nullptr);
    EXPECT_EQ(gbnet_frame_info(&f, "Properties"), nullptr);
    EXPECT_EQ(f.config_type, nullptr);

    // Extra columns of several types are skipped; "force" is accepted.
    std::string extra = write_file(
        dir + "/extra.xyz",
        "2\nLattice=\"3 0 0 0.5 3 0 0 0 3\" Properties=Z:I:1:pos:R:3:masses:R:1:species:S:1:"
        "charges:R:1:force:R:3:tags:I:1 energy=-7\n"
        "1 0.1 0.2 0.3 1.008 H -0.4 9 8 7 0\n"
        "8 1.1 1.2 1.3 15.999 O 0.4 -9 -8 -7 1\n");
    ASSERT_EQ(gbnet_read_extxyz(&d.ds, extra.c_str()), GBNET_OK) << gbnet_last_error();
    const gbnet_frame &g = d.ds.frames[1];
    EXPECT_EQ(g.z[0], 1);
    EXPECT_EQ(g.z[1], 8);
    EXPECT_DOUBLE_EQ(g.pos[3], 1.1);
    EXPECT_DOUBLE_EQ(g.forces[5], -7);
    EXPECT_DOUBLE_EQ(g.cell[3], 0.5);
    EXPECT_EQ(g.pbc[0] + g.pbc[1] + g.pbc[2], 3);  // default with a Lattice
}

TEST(Extxyz, MalformedInputs) {
    const std::string header =
        "Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 energy=-1.5\n";
    const std::string good = std::string(kWaterTwoAtoms);
    expect_format_error("empty.xyz", "", 1, "no frames");
    expect_format_error("blank.xyz", "\n  \n", 2, "no frames");
    expect_format_error("no_properties.xyz", good + "1\nLattice=\"5 0 0 0 5 0 0 0 5\" energy=1\nO 0 0 0\n", 6,
                        "Properties");
    expect_format_error("columns.xyz", good + "2\n" + header + "O 0 0 0 1 2 3\nH 1 0 0 1 2\n", 8, "found 6");
    expect_format_error("number.xyz", good + "2\n" + header + "O 0 0 0 1 2 3\nH 1 zero 0 1 2 3\n", 8, "'zero'");
    expect_format_error("nan.xyz", "1\n" + header + "O 0 0 nan 1 2 3\n", 3, "'nan'");
    expect_format_error("truncated.xyz", good + "2\n" + header + "O 0 0 0 1 2 3\n", 8, "end of file");
    expect_format_error("no_comment.xyz", good + "2\n", 6, "end of file");
    expect_format_error("lattice8.xyz", "1\nLattice=\"5 0 0 0 5 0 0 0\" Properties=species:S:1:pos:R:3\nO 0 0 0\n",
                        2, "Lattice");
    expect_format_error("lattice_text.xyz",
                        "1\nLattice=\"5 0 0 0 five 0 0 0 5\" Properties=species:S:1:pos:R:3\nO 0 0 0\n", 2,
                        "'five'");
    expect_format_error("element.xyz", good + "2\n" + header + "O 0 0 0 1 2 3\nQq 1 0 0 1 2 3\n", 8, "'Qq'");
    expect_format_error("negative.xyz", good + "-2\n" + header + "O 0 0 0 1 2 3\n", 5, "'-2'");
    expect_format_error("fraction.xyz", "2.5\n" + header + "O 0 0 0 1 2 3\n", 1, "'2.5'");
    expect_format_error("word.xyz", "two\n" + header, 1, "atom count");
    expect_format_error("energy.xyz", "1\nProperties=species:S:1:pos:R:3 energy=abc\nO 0 0 0\n", 2, "'abc'");
    expect_format_error("quote.xyz", "1\nProperties=species:S:1:pos:R:3 note=\"open\nO 0 0 0\n", 2, "quote");
    expect_format_error("props.xyz", "1\nProperties=species:S:1:pos:R\nO 0 0 0\n", 2, "Properties");
    expect_format_error("no_pos.xyz", "1\nProperties=species:S:1:forces:R:3\nO 0 0 0\n", 2, "pos:R:3");
    expect_format_error("pos2.xyz", "1\nProperties=species:S:1:pos:R:2\nO 0 0\n", 2, "pos:R:3");
    expect_format_error("stress_no_cell.xyz", "1\nProperties=species:S:1:pos:R:3 stress=\"1 2 3 4 5 6\"\nO 0 0 0\n",
                        2, "Lattice");
    expect_format_error("pbc.xyz", "1\nProperties=species:S:1:pos:R:3 pbc=\"T T\"\nO 0 0 0\n", 2, "pbc");
    // Windows line endings count lines the same way.
    expect_format_error("crlf.xyz", "1\r\nProperties=species:S:1:pos:R:3\r\nO 0 0 x\r\n", 3, "'x'");

    Dataset d;
    std::string missing = temp_dir() + "/does_not_exist.xyz";
    EXPECT_EQ(gbnet_read_extxyz(&d.ds, missing.c_str()), GBNET_ERR_IO);
    EXPECT_NE(std::string(gbnet_last_error()).find(missing), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(gbnet_dataset_read(&d.ds, missing.c_str()), GBNET_ERR_IO);
}

TEST(Extxyz, RoundTrip) {
    Dataset original;
    ASSERT_EQ(gbnet_read_extxyz(&original.ds, data_path("fitsnap_ta/fitsnap_ta.extxyz").c_str()), GBNET_OK);
    ASSERT_EQ(gbnet_read_extxyz(&original.ds, data_path("rmd17_ethanol/rmd17_ethanol_test.extxyz").c_str()),
              GBNET_OK);
    std::string extra = write_file(temp_dir() + "/extra.xyz",
                                   "1\nProperties=species:S:1:pos:R:3 note=\"two words\" odd=\"a=b\" "
                                   "q=\"say \\\"hi\\\"\" config_type=\"with space\"\nO 0.1 1e-300 -7\n");
    ASSERT_EQ(gbnet_read_extxyz(&original.ds, extra.c_str()), GBNET_OK) << gbnet_last_error();
    // Perturb values so they need all 17 digits.
    original.ds.frames[0].pos[0] += 1.0 / 3.0;
    original.ds.frames[0].energy = std::nextafter(original.ds.frames[0].energy, 0.0);
    const gbnet_dataset &a = original.ds;

    std::string path = temp_dir() + "/roundtrip.extxyz";
    ASSERT_EQ(gbnet_write_extxyz(path.c_str(), a.frames, a.n_frames, nullptr, nullptr, nullptr), GBNET_OK)
        << gbnet_last_error();
    Dataset copy;
    ASSERT_EQ(gbnet_read_extxyz(&copy.ds, path.c_str()), GBNET_OK) << gbnet_last_error();
    const gbnet_dataset &b = copy.ds;
    ASSERT_EQ(b.n_frames, a.n_frames);
    for (int i = 0; i < a.n_frames; i++) {
        const gbnet_frame &x = a.frames[i], &y = b.frames[i];
        ASSERT_EQ(y.n_atoms, x.n_atoms) << i;
        EXPECT_EQ(y.has_cell, x.has_cell) << i;
        EXPECT_EQ(y.has_energy, x.has_energy) << i;
        EXPECT_EQ(y.has_virial, x.has_virial) << i;
        EXPECT_EQ(y.energy, x.energy) << i;
        for (int k = 0; k < 9; k++) {
            EXPECT_EQ(y.cell[k], x.cell[k]) << i;
            EXPECT_EQ(y.virial[k], x.virial[k]) << i;
        }
        for (int k = 0; k < 3; k++) EXPECT_EQ(y.pbc[k], x.pbc[k]) << i;
        for (int j = 0; j < x.n_atoms; j++) EXPECT_EQ(y.z[j], x.z[j]) << i;
        for (int j = 0; j < 3 * x.n_atoms; j++) EXPECT_EQ(y.pos[j], x.pos[j]) << i;
        ASSERT_EQ(y.forces == nullptr, x.forces == nullptr) << i;
        if (x.forces) {
            for (int j = 0; j < 3 * x.n_atoms; j++) EXPECT_EQ(y.forces[j], x.forces[j]) << i;
        }
        EXPECT_STREQ(y.config_type, x.config_type) << i;
        EXPECT_STREQ(y.subset, x.subset) << i;
        ASSERT_EQ(y.n_info, x.n_info) << i;
        for (int k = 0; k < x.n_info; k++)
            EXPECT_STREQ(gbnet_frame_info(&y, x.info[k].key), x.info[k].value) << i << " " << x.info[k].key;
    }

    // Overrides replace labels (predictions), and add them where missing.
    const gbnet_frame &last = a.frames[a.n_frames - 1];
    std::vector<double> energies = {-1.25, 2.5};
    std::vector<double> predicted_forces(3 * last.n_atoms, 0.125);
    const double *force_ptrs[2] = {nullptr, predicted_forces.data()};
    std::vector<double> virials(18);
    for (int k = 0; k < 18; k++) virials[k] = 0.5 * k - 3;
    const gbnet_frame two[2] = {a.frames[0], last};
    std::string predicted = temp_dir() + "/predicted.extxyz";
    ASSERT_EQ(gbnet_write_extxyz(predicted.c_str(), two, 2, energies.data(), force_ptrs, virials.data()), GBNET_OK);
    Dataset p;
    ASSERT_EQ(gbnet_read_extxyz(&p.ds, predicted.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(p.ds.n_frames, 2);
    EXPECT_EQ(p.ds.frames[0].energy, -1.25);
    EXPECT_EQ(p.ds.frames[1].energy, 2.5);
    EXPECT_EQ(p.ds.frames[0].forces[7], a.frames[0].forces[7]);  // NULL entry keeps the frame's own
    ASSERT_NE(p.ds.frames[1].forces, nullptr);
    EXPECT_EQ(p.ds.frames[1].forces[2], 0.125);
    for (int k = 0; k < 9; k++) {
        EXPECT_EQ(p.ds.frames[0].virial[k], virials[k]);
        EXPECT_EQ(p.ds.frames[1].virial[k], virials[9 + k]);
    }

    EXPECT_EQ(gbnet_write_extxyz((temp_dir() + "/no/such/dir.xyz").c_str(), a.frames, 1, nullptr, nullptr, nullptr),
              GBNET_ERR_IO);
}

TEST(DeePMD, MatchesExtxyzConversion) {
    Dataset xyz;
    ASSERT_EQ(gbnet_read_extxyz(&xyz.ds, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
    Dataset npy;
    std::string system = data_path("deepmd_water/raw/data_0");
    ASSERT_EQ(gbnet_read_deepmd(&npy.ds, system.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(npy.ds.n_frames, 80);
    for (int i = 0; i < 80; i++) {
        const gbnet_frame &a = npy.ds.frames[i], &b = xyz.ds.frames[i];
        ASSERT_EQ(a.n_atoms, b.n_atoms);
        EXPECT_EQ(a.line, i + 1);
        EXPECT_TRUE(a.has_cell && a.has_energy);
        EXPECT_FALSE(a.has_virial);
        EXPECT_EQ(a.pbc[0] + a.pbc[1] + a.pbc[2], 3);
        EXPECT_STREQ(a.subset, "data_0/set.000");
        EXPECT_STREQ(a.subset, b.subset);
        EXPECT_NEAR(a.energy, b.energy, 1e-5) << i;
        for (int k = 0; k < 9; k++) EXPECT_NEAR(a.cell[k], b.cell[k], 1e-5) << i;
        for (int j = 0; j < a.n_atoms; j++) ASSERT_EQ(a.z[j], b.z[j]) << i;
        ASSERT_NE(a.forces, nullptr);
        double worst_pos = 0, worst_force = 0;
        for (int j = 0; j < 3 * a.n_atoms; j++) {
            worst_pos = std::max(worst_pos, std::fabs(a.pos[j] - b.pos[j]));
            worst_force = std::max(worst_force, std::fabs(a.forces[j] - b.forces[j]));
        }
        EXPECT_LT(worst_pos, 1e-5) << i;
        EXPECT_LT(worst_force, 1e-5) << i;
    }

    // The parent folder reads all systems (data_0..data_3) in order, like the extxyz.
    Dataset all;
    ASSERT_EQ(gbnet_dataset_read(&all.ds, data_path("deepmd_water/raw").c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(all.ds.n_frames, 400);
    EXPECT_EQ(all.ds.n_sources, 5);
    for (int i = 0; i < 400; i += 37) {
        EXPECT_STREQ(all.ds.frames[i].subset, xyz.ds.frames[i].subset) << i;
        EXPECT_NEAR(all.ds.frames[i].energy, xyz.ds.frames[i].energy, 1e-5) << i;
        EXPECT_NEAR(all.ds.frames[i].pos[100], xyz.ds.frames[i].pos[100], 1e-5) << i;
    }
}

namespace {

// Writes a float64 .npy (format version `version`) of the given shape.
void write_npy(const std::string &path, const std::vector<double> &values, const std::string &shape,
               int version = 1, const char *descr = "<f8") {
    std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    size_t prefix = version == 1 ? 10 : 12;
    while ((prefix + dict.size() + 1) % 64) dict += ' ';
    dict += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += char(version);
    bytes += char(0);
    uint32_t n = (uint32_t)dict.size();
    for (size_t k = 0; k < (version == 1 ? 2u : 4u); k++) bytes += char((n >> (8 * k)) & 0xff);
    bytes += dict;
    if (std::string(descr) == "<f4") {
        for (double v : values) {
            float f = (float)v;
            bytes.append(reinterpret_cast<const char *>(&f), 4);
        }
    } else {
        bytes.append(reinterpret_cast<const char *>(values.data()), values.size() * 8);
    }
    write_file(path, bytes);
}

}  // namespace

TEST(DeePMD, SyntheticFloat64VersionsVirialAndErrors) {
    std::string sys = temp_dir() + "/mysys";
    ASSERT_EQ(system(("mkdir -p " + sys + "/set.000 " + sys + "/set.001").c_str()), 0);
    write_file(sys + "/type_map.raw", "Ta\nO\n");
    write_file(sys + "/type.raw", "1\n0\n");
    std::vector<double> coord = {0.1, 0.2, 0.3, 1.1, 1.2, 1.3};
    std::vector<double> box = {3, 0, 0, 0, 3, 0, 0, 0, 3};
    std::vector<double> virial = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    write_npy(sys + "/set.000/coord.npy", coord, "(1, 6)", 2);
    write_npy(sys + "/set.000/box.npy", box, "(1, 9)", 3);
    write_npy(sys + "/set.000/energy.npy", {-4.25}, "(1,)");
    write_npy(sys + "/set.000/virial.npy", virial, "(1, 9)");
    write_npy(sys + "/set.001/coord.npy", {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, "(2, 2, 3)", 1, "<f4");
    write_npy(sys + "/set.001/box.npy", {3, 0, 0, 0, 3, 0, 0, 0, 3, 4, 0, 0, 0, 4, 0, 0, 0, 4}, "(2, 9)");

    Dataset d;
    ASSERT_EQ(gbnet_dataset_read(&d.ds, sys.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(d.ds.n_frames, 3);
    const gbnet_frame &f = d.ds.frames[0];
    EXPECT_EQ(f.z[0], 8);
    EXPECT_EQ(f.z[1], 73);
    EXPECT_EQ(f.pos[4], 1.2);
    EXPECT_EQ(f.energy, -4.25);
    EXPECT_TRUE(f.has_virial);
    EXPECT_EQ(f.virial[8], 9.0);
    EXPECT_EQ(f.forces, nullptr);
    EXPECT_STREQ(f.subset, "mysys/set.000");
    EXPECT_STREQ(d.ds.frames[2].subset, "mysys/set.001");
    EXPECT_FALSE(d.ds.frames[2].has_energy);
    EXPECT_EQ(d.ds.frames[2].pos[3], 3.0);
    EXPECT_EQ(d.ds.frames[2].cell[8], 4.0);

    // Inconsistent frame counts and bad type indices are format errors.
    write_npy(sys + "/set.001/box.npy", box, "(1, 9)");
    EXPECT_EQ(gbnet_read_deepmd(&d.ds, sys.c_str()), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("box.npy"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(d.ds.n_frames, 3);
    write_npy(sys + "/set.001/box.npy", box, "(1, 9)", 1, "<i8");
    EXPECT_EQ(gbnet_read_deepmd(&d.ds, sys.c_str()), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("<i8"), std::string::npos) << gbnet_last_error();
    write_file(sys + "/type.raw", "1\n2\n");
    EXPECT_EQ(gbnet_read_deepmd(&d.ds, sys.c_str()), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("type.raw:2"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(d.ds.n_frames, 3);
}

// Inputs found by fuzzing (issue 15): each must be a clear format error, never
// a read past the end, an overflow or an unbounded allocation.
TEST(DeePMD, FuzzedHeadersShapesAndNumbersAreFormatErrors) {
    std::string sys = temp_dir() + "/fuzzed";
    ASSERT_EQ(system(("mkdir -p " + sys + "/set.000").c_str()), 0);
    write_file(sys + "/type_map.raw", "O\nH\n");
    write_file(sys + "/type.raw", "0\n1\n");
    std::vector<double> box = {3, 0, 0, 0, 3, 0, 0, 0, 3};
    write_npy(sys + "/set.000/box.npy", box, "(1, 9)");
    auto expect_error = [&](const std::string &what, const std::string &needle) {
        Dataset d;
        EXPECT_EQ(gbnet_read_deepmd(&d.ds, sys.c_str()), GBNET_ERR_FORMAT) << what;
        EXPECT_NE(std::string(gbnet_last_error()).find(needle), std::string::npos) << what << ": " << gbnet_last_error();
        EXPECT_EQ(d.ds.n_frames, 0) << what;
    };
    // a header that ends right after 'descr': (63 bytes; read one byte past the header before)
    std::string dict = "{'fortran_order': False, 'shape': (2, 576), 'descr':";
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(dict.size()) + char(0) + dict + '\n';
    ASSERT_EQ(bytes.size(), 63u);
    write_file(sys + "/set.000/coord.npy", bytes);
    expect_error("header ending after descr", "coord.npy");
    // a shape whose element count wraps around 2^64 to 64 with 256 data bytes present
    std::string d2 = "{'descr': '<f4', 'fortran_order': False, 'shape': (160127986750950969, 576), }";
    while ((10 + d2.size() + 1) % 64) d2 += ' ';
    d2 += '\n';
    std::string b2 = std::string("\x93NUMPY\x01\x00", 8) + char(d2.size() & 0xff) + char(d2.size() >> 8) + d2 +
                     std::string(256, '\0');
    std::string types192;
    for (int i = 0; i < 192; ++i) types192 += i % 3 ? "1\n" : "0\n";
    write_file(sys + "/type.raw", types192);  // 576 numbers per frame, as in the water data
    write_file(sys + "/set.000/coord.npy", b2);
    expect_error("shape overflowing size_t", "shape");
    write_file(sys + "/type.raw", "0\n1\n");
    // an empty system
    write_npy(sys + "/set.000/coord.npy", {}, "(0, 6)");
    expect_error("coord of shape (0, 6)", "at least one frame");
    // NaN and Inf are refused as the extxyz reader refuses them
    write_npy(sys + "/set.000/coord.npy", {0, 0, 0, 1, 1, NAN}, "(1, 6)");
    expect_error("NaN coordinate", "NaN");
    write_npy(sys + "/set.000/coord.npy", {0, 0, 0, 1, 1, 1}, "(1, 6)");
    write_npy(sys + "/set.000/energy.npy", {INFINITY}, "(1,)");
    expect_error("infinite energy", "infinite");
    write_npy(sys + "/set.000/energy.npy", {-1.5}, "(1,)");
    Dataset ok;
    EXPECT_EQ(gbnet_read_deepmd(&ok.ds, sys.c_str()), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(ok.ds.n_frames, 1);
}

TEST(ExtXYZ, AtomCountBeyondTheFileIsRefusedBeforeAllocating) {
    // 52 bytes that asked for 17 GB before
    std::string path = write_file(temp_dir() + "/huge.xyz", "715827882\nProperties=species:S:1:pos:R:3:forces:R:3\n");
    Dataset d;
    EXPECT_EQ(gbnet_read_extxyz(&d.ds, path.c_str()), GBNET_ERR_FORMAT);
    std::string msg = gbnet_last_error();
    EXPECT_NE(msg.find("huge.xyz:1: expected 715827882 atom lines"), std::string::npos) << msg;
    EXPECT_EQ(d.ds.n_frames, 0);
}
