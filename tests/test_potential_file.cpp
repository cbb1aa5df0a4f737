// The .gbnet potential file: bitwise round trips, every documented failure,
// fuzzing, and files written by the independent Python writer
// (tests/reference/gbnet_file.py -> tests/golden/).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "gbnet.h"
extern "C" {  // internal C headers without C++ guards
#include "model.h"
}
#include "potential_file.h"
#include "test_util.h"

namespace {

// FNV-1a 64 written again here, so the library's is checked against the spec.
uint64_t fnv1a64(const std::string &s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

void put_u32(std::string &s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
void put_u64(std::string &s, uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
void put_f64(std::string &s, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    put_u64(s, bits);
}
uint32_t get_u32(const std::string &s, size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t((unsigned char)s[at + i]) << (8 * i);
    return v;
}
uint64_t get_u64(const std::string &s, size_t at) { return get_u32(s, at) | uint64_t(get_u32(s, at + 4)) << 32; }

struct Section {
    std::string tag;
    uint32_t flags;
    std::string payload;
};

// Splits a file into its header (16 bytes) and sections, END! excluded.
std::vector<Section> split_sections(const std::string &file) {
    std::vector<Section> out;
    size_t at = 16;
    while (at + 16 <= file.size()) {
        Section s{file.substr(at, 4), get_u32(file, at + 4), file.substr(at + 16, get_u64(file, at + 8))};
        at += 16 + s.payload.size();
        if (s.tag == "END!") break;
        out.push_back(s);
    }
    return out;
}

// A complete file from sections, with a correct checksum.
std::string assemble(const std::vector<Section> &sections, uint32_t version = 1) {
    std::string f = "GBNETPOT";
    put_u32(f, version);
    put_u32(f, 0);
    for (const Section &s : sections) {
        f += s.tag;
        put_u32(f, s.flags);
        put_u64(f, s.payload.size());
        f += s.payload;
    }
    uint64_t checksum = fnv1a64(f);
    f += "END!";
    put_u32(f, 0);
    put_u64(f, 8);
    put_u64(f, checksum);
    return f;
}

Section *find(std::vector<Section> &sections, const std::string &tag) {
    for (Section &s : sections)
        if (s.tag == tag) return &s;
    return nullptr;
}

struct ModelPtr {
    gbnet_model *m = nullptr;
    ~ModelPtr() { gbnet_model_free(m); }
};

void attach_table(gbnet_model *m, int n_points) {
    size_t n = size_t(m->hp.n_blocks) * n_points * m->hp.n_features;
    m->table = (gb_filter_table *)calloc(1, sizeof(gb_filter_table));
    m->table->n_points = n_points;
    m->table->values = (double *)malloc(n * sizeof(double));
    m->table->derivs = (double *)malloc(n * sizeof(double));
    for (size_t i = 0; i < n; ++i) {
        m->table->values[i] = std::sin(0.37 * double(i)) / 3.0;
        m->table->derivs[i] = std::cos(1.1 * double(i)) * 1e-3 + 1e-300;
    }
}

bool same_bits(const double *a, const double *b, size_t n) { return std::memcmp(a, b, n * sizeof(double)) == 0; }

void expect_models_identical(const gbnet_model *a, const gbnet_model *b) {
    EXPECT_EQ(a->hp.n_features, b->hp.n_features);
    EXPECT_EQ(a->hp.n_blocks, b->hp.n_blocks);
    EXPECT_EQ(a->hp.n_rbf, b->hp.n_rbf);
    EXPECT_EQ(a->hp.readout_width, b->hp.readout_width);
    EXPECT_TRUE(same_bits(&a->hp.cutoff, &b->hp.cutoff, 1));
    ASSERT_EQ(a->hp.n_elements, b->hp.n_elements);
    for (int e = 0; e < a->hp.n_elements; ++e) EXPECT_EQ(a->hp.atomic_numbers[e], b->hp.atomic_numbers[e]);
    ASSERT_EQ(a->layout.total, b->layout.total);
    EXPECT_TRUE(same_bits(a->params, b->params, a->layout.total));
    EXPECT_TRUE(same_bits(&a->energy_scale, &b->energy_scale, 1));
    EXPECT_TRUE(same_bits(&a->energy_shift, &b->energy_shift, 1));
    EXPECT_TRUE(same_bits(a->e_ref, b->e_ref, size_t(a->hp.n_elements)));
    EXPECT_STREQ(gbnet_model_provenance(a), gbnet_model_provenance(b));
    ASSERT_EQ(a->table == nullptr, b->table == nullptr);
    if (a->table) {
        ASSERT_EQ(a->table->n_points, b->table->n_points);
        size_t n = size_t(a->hp.n_blocks) * a->table->n_points * a->hp.n_features;
        EXPECT_TRUE(same_bits(a->table->values, b->table->values, n));
        EXPECT_TRUE(same_bits(a->table->derivs, b->table->derivs, n));
    }
}

std::vector<std::string> list_dir(const std::string &dir) {
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d))
            if (e->d_name[0] != '.') names.push_back(e->d_name);
        closedir(d);
    }
    return names;
}

// A saved model of about 300 bytes, for exhaustive corruption tests.
std::string tiny_model_file(const std::string &dir) {
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(2, 1, 2, 1, 4.5, {1});
    EXPECT_EQ(gbnet_model_create(&m.m, &hp, 5), GBNET_OK);
    EXPECT_EQ(gbnet_model_set_provenance(m.m, "tiny"), GBNET_OK);
    attach_table(m.m, 2);
    std::string path = dir + "/tiny.gbnet";
    EXPECT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK);
    return path;
}

// Loads bytes written to a file; returns the status and keeps the message.
gbnet_status load_bytes(const std::string &path, const std::string &bytes, std::string *message = nullptr) {
    write_file(path, bytes);
    gbnet_model *m = nullptr;
    gbnet_status st = gbnet_model_load(&m, path.c_str());
    if (message) *message = gbnet_last_error();
    if (st == GBNET_OK) {
        EXPECT_NE(m, nullptr);
        gbnet_model_free(m);
    } else {
        EXPECT_EQ(m, nullptr);
    }
    return st;
}

}  // namespace

TEST(PotentialFile, ChecksumIsFnv1a64) {
    EXPECT_EQ(gb_fnv1a64("", 0), 0xcbf29ce484222325ull);
    EXPECT_EQ(gb_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(gb_fnv1a64("foobar", 6), 0x85944171f73967e8ull);
    EXPECT_EQ(gb_fnv1a64("GBNETPOT", 8), 0x8185406a1089b09eull);  // the vector in docs/potential-format.md
}

TEST(PotentialFile, RoundTripIsBitwiseExact) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(8, 3, 7, 5, 5.123456789, {8, 1, 6, 73});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 42), GBNET_OK);
    double e_ref[4] = {-432.1, -13.6, 1e-310 /* subnormal */, -11.9};
    ASSERT_EQ(gbnet_model_set_normalization(m.m, 0.1 + 0.2, -0.3, e_ref), GBNET_OK);
    m.m->params[3] = -0.0;
    m.m->params[4] = 4.9e-324;
    m.m->params[5] = 1.7976931348623157e308;
    ASSERT_EQ(gbnet_model_set_provenance(m.m, "trained on water\nµ ≠ σ — UTF-8 ✓"), GBNET_OK);

    std::string path = dir + "/model.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    ModelPtr back;
    ASSERT_EQ(gbnet_model_load(&back.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    expect_models_identical(m.m, back.m);
    EXPECT_FALSE(gbnet_model_is_tabulated(back.m));

    // Saving the loaded model reproduces the file byte for byte.
    std::string again = dir + "/again.gbnet";
    ASSERT_EQ(gbnet_model_save(back.m, again.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(path), read_file(again));
}

// A write killed before its rename leaves NAME.tmp.PID; the next save of the
// same file removes those of processes that no longer exist and keeps a live
// writer's (here this test's parent: a live process).
TEST(PotentialFile, SaveRemovesTemporariesOfDeadWriters) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(8, 2, 6, 4, 4.0, {8, 1});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(0);
    ASSERT_EQ(waitpid(child, nullptr, 0), child);  // reaped: its pid names no process now
    std::string path = dir + "/model.gbnet";
    std::string dead = path + ".tmp." + std::to_string((long)child);
    std::string live = path + ".tmp." + std::to_string((long)getppid());
    std::string other = dir + "/other.gbnet.tmp." + std::to_string((long)child);
    for (const std::string &f : {dead, live, other}) std::ofstream(f) << "torn";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    struct stat st;
    EXPECT_NE(stat(dead.c_str(), &st), 0) << "a dead writer's temporary is removed";
    EXPECT_EQ(stat(live.c_str(), &st), 0) << "a live writer's temporary is kept";
    EXPECT_EQ(stat(other.c_str(), &st), 0) << "another file's temporary is not touched";
}

TEST(PotentialFile, RoundTripWithFilterTable) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(5, 2, 4, 3, 4.5, {29, 79});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 7), GBNET_OK);
    attach_table(m.m, 17);
    std::string path = dir + "/tab.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    ModelPtr back;
    ASSERT_EQ(gbnet_model_load(&back.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    EXPECT_TRUE(gbnet_model_is_tabulated(back.m));
    expect_models_identical(m.m, back.m);
    // An empty provenance is written and read as "".
    EXPECT_STREQ(gbnet_model_provenance(back.m), "");
}

TEST(PotentialFile, SaveIsAtomicAndLeavesNoTemporaryFile) {
    std::string dir = temp_dir();
    ModelPtr a, b;
    gbnet_hyperparams hp = small_hyperparams(4, 1, 3, 2, 4.5, {1});
    ASSERT_EQ(gbnet_model_create(&a.m, &hp, 1), GBNET_OK);
    ASSERT_EQ(gbnet_model_create(&b.m, &hp, 2), GBNET_OK);
    std::string path = dir + "/m.gbnet";
    ASSERT_EQ(gbnet_model_save(a.m, path.c_str()), GBNET_OK);
    ASSERT_EQ(gbnet_model_save(b.m, path.c_str()), GBNET_OK);  // replaces the old file
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{"m.gbnet"});
    ModelPtr back;
    ASSERT_EQ(gbnet_model_load(&back.m, path.c_str()), GBNET_OK);
    expect_models_identical(b.m, back.m);

    // A failed save (folder missing) reports the path and writes nothing.
    std::string bad = dir + "/no/such/folder/m.gbnet";
    EXPECT_EQ(gbnet_model_save(a.m, bad.c_str()), GBNET_ERR_IO);
    EXPECT_NE(std::string(gbnet_last_error()).find(bad), std::string::npos) << gbnet_last_error();
    // Non-finite weights are refused before anything is written.
    a.m->params[0] = NAN;
    EXPECT_EQ(gbnet_model_save(a.m, path.c_str()), GBNET_ERR_NUMERIC);
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{"m.gbnet"});
    ModelPtr intact;
    ASSERT_EQ(gbnet_model_load(&intact.m, path.c_str()), GBNET_OK);  // the old file is intact
    expect_models_identical(b.m, intact.m);
}

TEST(PotentialFile, LoadFailuresNameTheFileAndTheProblem) {
    std::string dir = temp_dir();
    std::string good = read_file(tiny_model_file(dir));
    ASSERT_GT(good.size(), 100u);
    std::vector<Section> sections = split_sections(good);
    ASSERT_EQ(assemble(sections), good);  // the test's own writer agrees with the library's

    struct Case {
        std::string name;
        std::string bytes;
        gbnet_status status;
        std::string says;
    };
    std::vector<Case> cases;
    cases.push_back({"empty", "", GBNET_ERR_FORMAT, "empty"});
    cases.push_back({"text", "# LAMMPS data file\n3 atoms\n", GBNET_ERR_FORMAT, "not a gbnet potential file"});
    cases.push_back({"short_magic", "GBNE", GBNET_ERR_FORMAT, "truncated"});
    cases.push_back({"half", good.substr(0, good.size() / 2), GBNET_ERR_FORMAT, "truncated"});
    cases.push_back({"no_end", good.substr(0, good.size() - 1), GBNET_ERR_FORMAT, "truncated"});
    {
        std::string corrupt = good;
        corrupt[good.size() / 2] ^= 0x10;
        cases.push_back({"corrupt", corrupt, GBNET_ERR_CHECKSUM, "checksum"});
    }
    cases.push_back({"version2", assemble(sections, 2), GBNET_ERR_VERSION, "version 2"});
    cases.push_back({"version0", assemble(sections, 0), GBNET_ERR_VERSION, "version 0"});
    {
        std::string v = good;  // version field changed without fixing the checksum: still a version error
        v[8] = 3;
        cases.push_back({"version3_raw", v, GBNET_ERR_VERSION, "version 3"});
    }
    auto variant = [&](const std::string &name, gbnet_status st, const std::string &says, auto edit) {
        std::vector<Section> s = sections;
        edit(s);
        cases.push_back({name, assemble(s), st, says});
    };
    variant("param_count", GBNET_ERR_FORMAT, "hyperparameters need", [](std::vector<Section> &s) {
        Section *p = find(s, "PARM");
        p->payload[0] += 1;  // count one more ...
        put_f64(p->payload, 0.5);  // ... and really hold it
    });
    variant("features_changed", GBNET_ERR_FORMAT, "hyperparameters need", [](std::vector<Section> &s) {
        find(s, "HYPR")->payload[0] = 3;  // F = 3 no longer matches the blob
    });
    variant("nan_weight", GBNET_ERR_NUMERIC, "parameter 2", [](std::vector<Section> &s) {
        Section *p = find(s, "PARM");
        std::string nan;
        put_f64(nan, std::nan(""));
        p->payload.replace(8 + 2 * 8, 8, nan);
    });
    variant("inf_scale", GBNET_ERR_NUMERIC, "NORM", [](std::vector<Section> &s) {
        std::string inf;
        put_f64(inf, INFINITY);
        find(s, "NORM")->payload.replace(0, 8, inf);
    });
    variant("nan_table", GBNET_ERR_NUMERIC, "FTAB", [](std::vector<Section> &s) {
        std::string nan;
        put_f64(nan, std::nan(""));
        Section *t = find(s, "FTAB");
        t->payload.replace(t->payload.size() - 8, 8, nan);
    });
    variant("table_shape", GBNET_ERR_FORMAT, "FTAB", [](std::vector<Section> &s) {
        find(s, "FTAB")->payload[8] = 7;  // F = 7 in the table header
    });
    variant("zero_elements", GBNET_ERR_FORMAT, "n_elements", [](std::vector<Section> &s) {
        find(s, "HYPR")->payload[24] = 0;
    });
    variant("bad_cutoff", GBNET_ERR_FORMAT, "cutoff", [](std::vector<Section> &s) {
        std::string c;
        put_f64(c, -1.0);
        find(s, "HYPR")->payload.replace(16, 8, c);
    });
    variant("huge_features", GBNET_ERR_FORMAT, "n_features", [](std::vector<Section> &s) {
        find(s, "HYPR")->payload.replace(0, 4, "\xff\xff\xff\x7f");
    });
    variant("wrong_symbol", GBNET_ERR_FORMAT, "ELEM", [](std::vector<Section> &s) {
        find(s, "ELEM")->payload = std::string("He\0\0", 4);
    });
    variant("units", GBNET_ERR_UNSUPPORTED, "real", [](std::vector<Section> &s) { find(s, "UNIT")->payload = "real"; });
    variant("missing_params", GBNET_ERR_FORMAT, "PARM is missing", [](std::vector<Section> &s) {
        s.erase(s.begin() + (find(s, "PARM") - s.data()));
    });
    variant("hyper_not_first", GBNET_ERR_FORMAT, "before the HYPR", [](std::vector<Section> &s) {
        std::swap(s[0], s[1]);
    });
    variant("duplicate", GBNET_ERR_FORMAT, "twice", [](std::vector<Section> &s) { s.push_back(*find(s, "NORM")); });
    variant("unknown_required", GBNET_ERR_UNSUPPORTED, "XNEW", [](std::vector<Section> &s) {
        s.push_back({"XNEW", 0, "future"});
    });
    variant("nul_in_provenance", GBNET_ERR_FORMAT, "PROV", [](std::vector<Section> &s) {
        find(s, "PROV")->payload = std::string("a\0b", 3);
    });
    variant("early_end", GBNET_ERR_FORMAT, "END!", [](std::vector<Section> &s) {
        std::string checksum;
        put_u64(checksum, 0);
        s.insert(s.begin() + 2, Section{"END!", 0, checksum});
    });
    {
        // A section length pointing far past the end, behind a valid checksum.
        std::string f = assemble(sections);
        f[16 + 8] = char(0xff);  // HYPR's length, low byte
        f[16 + 12] = 1;          // ... and bit 32: about 4 GiB
        std::string body = f.substr(0, f.size() - 24);
        std::string end = f.substr(f.size() - 24, 16);
        put_u64(end, fnv1a64(body));
        cases.push_back({"overlong_section", body + end, GBNET_ERR_FORMAT, "claims"});
    }

    for (const Case &c : cases) {
        std::string path = dir + "/" + c.name + ".gbnet";
        std::string message;
        EXPECT_EQ(load_bytes(path, c.bytes, &message), c.status) << c.name << ": " << message;
        EXPECT_NE(message.find(path), std::string::npos) << c.name << ": message does not name the file: " << message;
        EXPECT_NE(message.find(c.says), std::string::npos) << c.name << ": expected '" << c.says << "' in: " << message;
    }

    // An unknown section flagged optional is skipped.
    std::vector<Section> with_extra = sections;
    with_extra.insert(with_extra.begin() + 3, Section{"XNEW", 1, "from the future"});
    EXPECT_EQ(load_bytes(dir + "/optional.gbnet", assemble(with_extra)), GBNET_OK) << gbnet_last_error();

    // Missing files and folders are I/O errors.
    gbnet_model *m = nullptr;
    std::string missing = dir + "/does-not-exist.gbnet";
    EXPECT_EQ(gbnet_model_load(&m, missing.c_str()), GBNET_ERR_IO);
    EXPECT_NE(std::string(gbnet_last_error()).find(missing), std::string::npos);
    EXPECT_EQ(gbnet_model_load(&m, dir.c_str()), GBNET_ERR_IO);
    EXPECT_EQ(m, nullptr);
}

TEST(PotentialFile, EveryTruncationAndByteFlipFails) {
    std::string dir = temp_dir();
    std::string good = read_file(tiny_model_file(dir));
    std::string path = dir + "/fuzz.gbnet";
    for (size_t n = 0; n < good.size(); ++n)
        EXPECT_NE(load_bytes(path, good.substr(0, n)), GBNET_OK) << "truncated to " << n << " bytes";
    std::mt19937 rng(1234);
    for (size_t at = 0; at < good.size(); ++at) {
        std::string bad = good;
        bad[at] = char((unsigned char)bad[at] ^ (1 + rng() % 255));
        EXPECT_NE(load_bytes(path, bad), GBNET_OK) << "byte " << at << " changed";
    }
    EXPECT_EQ(load_bytes(path, good), GBNET_OK);
}

// Corruptions behind a recomputed checksum reach the section parser itself:
// it must never crash, and whatever loads must be a valid model.
TEST(PotentialFile, CorruptedSectionsWithValidChecksumNeverCrash) {
    std::string dir = temp_dir();
    std::string good = read_file(tiny_model_file(dir));
    std::string body = good.substr(0, good.size() - 24);
    std::string path = dir + "/fuzz.gbnet";
    std::mt19937 rng(99);
    int loaded = 0;
    for (int trial = 0; trial < 1000; ++trial) {
        std::string b = body;
        int flips = 1 + int(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            size_t at = 16 + rng() % (b.size() - 16);
            b[at] = char(rng() % 4 == 0 ? 0xff : (unsigned char)b[at] ^ (1u << (rng() % 8)));
        }
        if (rng() % 8 == 0) b.resize(16 + rng() % (b.size() - 16));
        std::string f = b + "END!";
        put_u32(f, 0);
        put_u64(f, 8);
        put_u64(f, fnv1a64(b));
        write_file(path, f);
        gbnet_model *m = nullptr;
        if (gbnet_model_load(&m, path.c_str()) == GBNET_OK) {
            ++loaded;
            EXPECT_EQ(gb_hyperparams_check(&m->hp), GBNET_OK);
            EXPECT_EQ(m->layout.total, gbnet_model_n_params(m));
            for (size_t i = 0; i < m->layout.total; ++i) ASSERT_TRUE(std::isfinite(m->params[i]));
            gbnet_model_free(m);
        } else {
            EXPECT_EQ(m, nullptr);
            EXPECT_STRNE(gbnet_last_error(), "");
        }
    }
    // Flips inside weights or provenance load fine; most others are caught.
    EXPECT_GT(loaded, 0);
    EXPECT_LT(loaded, 1000);
}

// tests/golden/model_ohcta.gbnet was written by tests/reference/gbnet_file.py;
// model_ohcta.txt lists what it must contain.
TEST(PotentialFile, ReadsThePythonWrittenGoldenModel) {
    std::string model_path = source_path("tests/golden/model_ohcta.gbnet");
    ModelPtr m;
    ASSERT_EQ(gbnet_model_load(&m.m, model_path.c_str()), GBNET_OK) << gbnet_last_error();
    std::ifstream summary(source_path("tests/golden/model_ohcta.txt"));
    ASSERT_TRUE(summary.good());
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m.m);
    const gb_layout &L = m.m->layout;
    std::map<std::string, size_t> offsets = {{"embedding", L.embedding},   {"readout1_w", L.readout1_w},
                                             {"readout1_b", L.readout1_b}, {"readout2_w", L.readout2_w},
                                             {"readout2_b", L.readout2_b}};
    for (int t = 0; t < hp->n_blocks; ++t) {
        std::string b = "block" + std::to_string(t) + ".";
        offsets[b + "filter1_w"] = L.block[t].filter1_w;
        offsets[b + "filter1_b"] = L.block[t].filter1_b;
        offsets[b + "filter2_w"] = L.block[t].filter2_w;
        offsets[b + "filter2_b"] = L.block[t].filter2_b;
        offsets[b + "in_w"] = L.block[t].in_w;
        offsets[b + "out1_w"] = L.block[t].out1_w;
        offsets[b + "out1_b"] = L.block[t].out1_b;
        offsets[b + "out2_w"] = L.block[t].out2_w;
        offsets[b + "out2_b"] = L.block[t].out2_b;
    }
    int tensors = 0;
    std::string line;
    while (std::getline(summary, line)) {
        std::istringstream in(line);
        std::string key;
        in >> key;
        if (key == "hyper") {
            int F, T, K, R;
            double rc;
            in >> F >> T >> K >> R >> rc;
            EXPECT_EQ(hp->n_features, F);
            EXPECT_EQ(hp->n_blocks, T);
            EXPECT_EQ(hp->n_rbf, K);
            EXPECT_EQ(hp->readout_width, R);
            EXPECT_EQ(hp->cutoff, rc);
        } else if (key == "elements") {
            std::string symbol;
            int z, e = 0;
            while (in >> symbol >> z) {
                EXPECT_EQ(hp->atomic_numbers[e], z);
                EXPECT_EQ(gbnet_model_element_index(m.m, symbol.c_str()), e);
                ++e;
            }
            EXPECT_EQ(hp->n_elements, e);
        } else if (key == "normalization") {
            double scale, shift, e_ref[GBNET_MAX_ELEMENTS], expected;
            gbnet_model_get_normalization(m.m, &scale, &shift, e_ref);
            in >> expected;
            EXPECT_EQ(scale, expected);
            in >> expected;
            EXPECT_EQ(shift, expected);
            for (int e = 0; e < hp->n_elements; ++e) {
                in >> expected;
                EXPECT_EQ(e_ref[e], expected) << "element " << e;
            }
        } else if (key == "n_params") {
            size_t n;
            in >> n;
            EXPECT_EQ(gbnet_model_n_params(m.m), n);
        } else if (key == "tensor") {
            std::string name;
            size_t offset, size;
            double first, last, sum;
            in >> name >> offset >> size >> first >> last >> sum;
            ASSERT_TRUE(offsets.count(name)) << name;
            EXPECT_EQ(offsets[name], offset) << name;
            const double *p = m.m->params + offsets[name];
            EXPECT_EQ(p[0], first) << name;
            EXPECT_EQ(p[size - 1], last) << name;
            double s = 0;
            for (size_t i = 0; i < size; ++i) s += p[i];
            EXPECT_NEAR(s, sum, 1e-12 * (1 + std::fabs(sum))) << name;
            ++tensors;
        }
    }
    EXPECT_EQ(tensors, 1 + 9 * hp->n_blocks + 4);
    EXPECT_NE(std::string(gbnet_model_provenance(m.m)).find("H\u2082O, C\u2082H\u2085OH, Ta"), std::string::npos);

    // The C writer produces exactly the bytes of the independent Python writer.
    std::string copy = temp_dir() + "/copy.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, copy.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(copy), read_file(model_path));
}

// model_tabulated.gbnet has a filter table and an unknown optional section "XTRA".
TEST(PotentialFile, ReadsThePythonWrittenTabulatedModel) {
    ModelPtr m;
    ASSERT_EQ(gbnet_model_load(&m.m, source_path("tests/golden/model_tabulated.gbnet").c_str()), GBNET_OK)
        << gbnet_last_error();
    std::ifstream summary(source_path("tests/golden/model_tabulated.txt"));
    ASSERT_TRUE(summary.good());
    ASSERT_TRUE(gbnet_model_is_tabulated(m.m));
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m.m);
    std::string line;
    int checked = 0;
    while (std::getline(summary, line)) {
        std::istringstream in(line);
        std::string key;
        in >> key;
        if (key == "hyper") {
            int F, T, K, R;
            double rc;
            in >> F >> T >> K >> R >> rc;
            EXPECT_EQ(hp->n_features, F);
            EXPECT_EQ(hp->n_blocks, T);
            EXPECT_EQ(hp->n_rbf, K);
            EXPECT_EQ(hp->readout_width, R);
            EXPECT_EQ(hp->cutoff, rc);
            ++checked;
        } else if (key == "param_sum") {
            double sum, s = 0;
            in >> sum;
            for (size_t i = 0; i < gbnet_model_n_params(m.m); ++i) s += m.m->params[i];
            EXPECT_NEAR(s, sum, 1e-12 * (1 + std::fabs(sum)));
            ++checked;
        } else if (key == "table") {
            int n_points;
            double value_sum, deriv_sum, last_value, first_deriv;
            in >> n_points >> value_sum >> deriv_sum >> last_value >> first_deriv;
            const gb_filter_table *t = m.m->table;
            EXPECT_EQ(t->n_points, n_points);
            size_t n = size_t(hp->n_blocks) * n_points * hp->n_features;
            double vs = 0, ds = 0;
            for (size_t i = 0; i < n; ++i) {
                vs += t->values[i];
                ds += t->derivs[i];
            }
            EXPECT_NEAR(vs, value_sum, 1e-12 * (1 + std::fabs(value_sum)));
            EXPECT_NEAR(ds, deriv_sum, 1e-12 * (1 + std::fabs(deriv_sum)));
            EXPECT_EQ(t->values[n - 1], last_value);
            EXPECT_EQ(t->derivs[0], first_deriv);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 3);
    EXPECT_STREQ(gbnet_model_provenance(m.m), "tabulated test model\nline two: \u00fcn\u00efc\u00f6d\u00e9 \u2713");
}

// ------------------------------------------------ repulsive core and coverage

namespace {
void attach_core_and_coverage(gbnet_model *m) {
    int n = m->hp.n_elements;
    std::vector<double> inner(n * n), outer(n * n);
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            inner[a * n + b] = 0.5 + 0.1 * (a + b);
            outer[a * n + b] = 1.5 + 0.25 * (a + b) + 0.1 / 3;
        }
    ASSERT_EQ(gbnet_model_set_zbl(m, inner.data(), outer.data()), GBNET_OK) << gbnet_last_error();
    gbnet_coverage c{};
    c.n_frames = 321;
    c.trained_energies = c.trained_forces = 1;
    c.trained_stresses = 0;
    c.n_periodic = 300;
    c.volume_per_atom_min = 9.5 + 1e-13;
    c.volume_per_atom_max = 31.25;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) c.shortest_distance[a][b] = a == 1 && b == 1 ? 0.0 : 0.9 + 0.3 * (a + b) + 1e-14;
    ASSERT_EQ(gbnet_model_set_coverage(m, &c), GBNET_OK);
}
}  // namespace

// ZBLR and COVR round trip bitwise; the file without them (older writers)
// still loads, as a model without a core and without coverage.
TEST(PotentialFile, RepulsiveCoreAndCoverageRoundTrip) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 3, 4.0, {8, 1, 73});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
    std::string plain = dir + "/plain.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, plain.c_str()), GBNET_OK);
    attach_core_and_coverage(m.m);
    std::string path = dir + "/core.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    ModelPtr back;
    ASSERT_EQ(gbnet_model_load(&back.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    expect_models_identical(m.m, back.m);
    double inner[9], outer[9], inner0[9], outer0[9];
    ASSERT_EQ(gbnet_model_zbl(back.m, inner, outer), 1);
    ASSERT_EQ(gbnet_model_zbl(m.m, inner0, outer0), 1);
    EXPECT_EQ(std::memcmp(inner, inner0, sizeof inner), 0);
    EXPECT_EQ(std::memcmp(outer, outer0, sizeof outer), 0);
    const gbnet_coverage *c = gbnet_model_coverage(back.m);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(std::memcmp(c, gbnet_model_coverage(m.m), sizeof *c), 0);
    std::string again = dir + "/again.gbnet";
    ASSERT_EQ(gbnet_model_save(back.m, again.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(path), read_file(again));
    // the sections are where the table says, ZBLR required, COVR optional
    std::vector<Section> s = split_sections(read_file(path));
    ASSERT_NE(find(s, "ZBLR"), nullptr);
    ASSERT_NE(find(s, "COVR"), nullptr);
    EXPECT_EQ(find(s, "ZBLR")->flags, 0u);
    EXPECT_EQ(find(s, "COVR")->flags, 1u);
    EXPECT_EQ(find(s, "ZBLR")->payload.size(), 4u + 16u * 9u);
    EXPECT_EQ(find(s, "COVR")->payload.size(), 32u + 8u * 9u);
    // a clone keeps both
    gbnet_model *clone = nullptr;
    ASSERT_EQ(gbnet_model_clone(&clone, back.m), GBNET_OK);
    EXPECT_EQ(gbnet_model_zbl(clone, nullptr, nullptr), 1);
    ASSERT_NE(gbnet_model_coverage(clone), nullptr);
    gbnet_model_free(clone);
    // the plain file: no core, no coverage
    ModelPtr old;
    ASSERT_EQ(gbnet_model_load(&old.m, plain.c_str()), GBNET_OK);
    EXPECT_EQ(gbnet_model_zbl(old.m, nullptr, nullptr), 0);
    EXPECT_EQ(gbnet_model_coverage(old.m), nullptr);
    ModelPtr golden;  // written by the Python reference writer before these sections existed
    ASSERT_EQ(gbnet_model_load(&golden.m, source_path("tests/golden/model_ohcta.gbnet").c_str()), GBNET_OK);
    EXPECT_EQ(gbnet_model_zbl(golden.m, nullptr, nullptr), 0);
}

// Bad ZBLR/COVR payloads behind a valid checksum name the section and problem.
TEST(PotentialFile, BadRepulsiveCoreAndCoverageSectionsAreRefused) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 3, 4.0, {8, 1});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
    attach_core_and_coverage(m.m);
    std::string path = dir + "/core.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK);
    std::vector<Section> good = split_sections(read_file(path));
    struct Case {
        std::string tag;
        size_t at;          // byte of the payload to overwrite with value
        double value;
        gbnet_status status;
        std::string words;
    };
    std::vector<Case> cases = {
        {"ZBLR", 4, -1.0, GBNET_ERR_FORMAT, "inner"},                       // inner radius negative
        {"ZBLR", 4 + 8 * 4, 9.0, GBNET_ERR_FORMAT, "cutoff"},               // outer beyond the cutoff
        {"ZBLR", 4 + 8, 0.55, GBNET_ERR_FORMAT, "differ"},                  // asymmetric
        {"ZBLR", 4, std::nan(""), GBNET_ERR_NUMERIC, "not finite"},
        {"COVR", 16, 50.0, GBNET_ERR_FORMAT, "volume per atom"},            // min above max
        {"COVR", 32, -2.0, GBNET_ERR_FORMAT, "shortest distance"},
    };
    for (const Case &c : cases) {
        std::vector<Section> s = good;
        std::string &p = find(s, c.tag)->payload;
        std::string bytes;
        put_f64(bytes, c.value);
        p.replace(c.at, 8, bytes);
        std::string bad_path = write_file(dir + "/bad.gbnet", assemble(s));
        ModelPtr back;
        EXPECT_EQ(gbnet_model_load(&back.m, bad_path.c_str()), c.status) << c.tag << " " << c.at;
        std::string message = gbnet_last_error();
        EXPECT_NE(message.find(c.tag), std::string::npos) << message;
        EXPECT_NE(message.find(c.words), std::string::npos) << message;
    }
    // a ZBLR for another element count, and one of the wrong length
    {
        std::vector<Section> s = good;
        std::string &p = find(s, "ZBLR")->payload;
        p[0] = 3;
        ModelPtr back;
        EXPECT_EQ(gbnet_model_load(&back.m, write_file(dir + "/bad.gbnet", assemble(s)).c_str()), GBNET_ERR_FORMAT);
        EXPECT_NE(std::string(gbnet_last_error()).find("HYPR has 2"), std::string::npos) << gbnet_last_error();
        s = good;
        find(s, "COVR")->payload.pop_back();
        EXPECT_EQ(gbnet_model_load(&back.m, write_file(dir + "/bad.gbnet", assemble(s)).c_str()), GBNET_ERR_FORMAT);
        EXPECT_NE(std::string(gbnet_last_error()).find("length"), std::string::npos) << gbnet_last_error();
    }
}

// ------------------------------------------------ readout-input ranges

namespace {
// A record with awkward values (subnormal, huge, negative zero), bound to m's weights.
void attach_feature_ranges(gbnet_model *m) {
    int n = m->hp.n_elements, F = m->hp.n_features;
    std::vector<double> lo(n * F), hi(n * F);
    for (int k = 0; k < n * F; ++k) {
        lo[k] = k % 5 == 0 ? -0.0 : -std::sin(0.3 * k) - 1.0 + 4.9e-324;
        hi[k] = k % 7 == 0 ? 1e300 : std::cos(0.7 * k) + 1.0 + 1e-17;
    }
    gbnet_feature_ranges r{};
    r.n_elements = n;
    r.n_features = F;
    for (int e = 0; e < n; ++e) r.atoms[e] = e == 1 ? 0 : 1000000007LL * (e + 1);
    r.min = lo.data();
    r.max = hi.data();
    ASSERT_EQ(gbnet_model_set_feature_ranges(m, &r), GBNET_OK) << gbnet_last_error();
}
}  // namespace

// FRNG round trips bitwise, holds the FNV-1a of the PARM values it belongs to,
// is optional, survives tabulation; a file without it is a model without it.
TEST(PotentialFile, FeatureRangesRoundTrip) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 3, 4.0, {8, 1, 73});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
    std::string plain = dir + "/plain.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, plain.c_str()), GBNET_OK);
    attach_feature_ranges(m.m);
    std::string path = dir + "/frng.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    ModelPtr back;
    ASSERT_EQ(gbnet_model_load(&back.m, path.c_str()), GBNET_OK) << gbnet_last_error();
    int stale = -1;
    const gbnet_feature_ranges *a = gbnet_model_feature_ranges(m.m, nullptr), *b = gbnet_model_feature_ranges(back.m, &stale);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(stale, 0);
    EXPECT_EQ(b->n_elements, 3);
    EXPECT_EQ(b->n_features, 6);
    EXPECT_EQ(std::memcmp(a->atoms, b->atoms, sizeof a->atoms), 0);
    EXPECT_TRUE(same_bits(a->min, b->min, 18));
    EXPECT_TRUE(same_bits(a->max, b->max, 18));
    std::string again = dir + "/again.gbnet";
    ASSERT_EQ(gbnet_model_save(back.m, again.c_str()), GBNET_OK);
    EXPECT_EQ(read_file(path), read_file(again));
    std::vector<Section> s = split_sections(read_file(path));
    const Section *frng = find(s, "FRNG");
    ASSERT_NE(frng, nullptr);
    EXPECT_EQ(frng->flags, 1u);
    EXPECT_EQ(frng->payload.size(), 16u + 8u * 3 + 16u * 3 * 6);
    EXPECT_EQ(get_u64(frng->payload, 8), fnv1a64(find(s, "PARM")->payload.substr(8)));
    // a clone keeps it, and so does a tabulated model (the weights are the same)
    gbnet_model *clone = nullptr;
    ASSERT_EQ(gbnet_model_clone(&clone, back.m), GBNET_OK);
    ASSERT_EQ(gbnet_model_tabulate(clone, 101), GBNET_OK);
    EXPECT_NE(gbnet_model_feature_ranges(clone, &stale), nullptr);
    EXPECT_EQ(stale, 0);
    gbnet_model_free(clone);
    ModelPtr old;
    ASSERT_EQ(gbnet_model_load(&old.m, plain.c_str()), GBNET_OK);
    EXPECT_EQ(gbnet_model_feature_ranges(old.m, &stale), nullptr);
    EXPECT_EQ(stale, 0);
}

// Bad FRNG payloads behind a valid checksum name the file, the section and
// what was expected; a well-formed record of another F or other weights
// loads as stale.
TEST(PotentialFile, BadFeatureRangesAreRefusedAndForeignOnesAreStale) {
    std::string dir = temp_dir();
    ModelPtr m;
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 3, 4.0, {8, 1});
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
    attach_feature_ranges(m.m);
    std::string path = dir + "/frng.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK);
    std::vector<Section> good = split_sections(read_file(path));
    size_t values = 16 + 8 * 2;  // after the header and the atom counts
    struct Case {
        size_t at;
        double value;
        std::string words;
    };
    std::vector<Case> cases = {
        {values + 8, 50.0, "channel 1 has min 50"},     // element 0 channel 1: min above max
        {values + 8 * 12 + 8, std::nan(""), "finite"},  // its max not finite
        {values + 16, INFINITY, "finite"},
    };
    for (const Case &c : cases) {
        std::vector<Section> s = good;
        std::string bytes;
        put_f64(bytes, c.value);
        find(s, "FRNG")->payload.replace(c.at, 8, bytes);
        std::string bad_path = write_file(dir + "/bad.gbnet", assemble(s));
        ModelPtr back;
        EXPECT_EQ(gbnet_model_load(&back.m, bad_path.c_str()), GBNET_ERR_FORMAT) << c.at;
        std::string message = gbnet_last_error();
        EXPECT_NE(message.find("bad.gbnet"), std::string::npos) << message;
        EXPECT_NE(message.find("FRNG"), std::string::npos) << message;
        EXPECT_NE(message.find(c.words), std::string::npos) << message;
    }
    auto refused = [&](std::vector<Section> s, const std::string &words) {
        ModelPtr back;
        EXPECT_EQ(gbnet_model_load(&back.m, write_file(dir + "/bad.gbnet", assemble(s)).c_str()), GBNET_ERR_FORMAT);
        EXPECT_NE(std::string(gbnet_last_error()).find(words), std::string::npos) << gbnet_last_error();
    };
    std::vector<Section> s = good;
    find(s, "FRNG")->payload[0] = 3;  // 3 elements
    refused(s, "HYPR has 2");
    s = good;
    find(s, "FRNG")->payload.pop_back();
    refused(s, "expected 224 for 2 elements of 6 channels");
    s = good;
    find(s, "FRNG")->payload[4] = 0;  // 0 channels
    refused(s, "channels, expected 1..");
    s = good;
    find(s, "FRNG")->payload.resize(8);
    refused(s, "shorter");
    s = good;
    s.push_back(*find(s, "FRNG"));
    refused(s, "appears twice");

    // another model's record (F = 5, other weights) in this file: loads, stale, unused
    ModelPtr small;
    gbnet_hyperparams hp5 = small_hyperparams(5, 2, 5, 3, 4.0, {8, 1});
    ASSERT_EQ(gbnet_model_create(&small.m, &hp5, 4), GBNET_OK);
    attach_feature_ranges(small.m);
    std::string small_path = dir + "/small.gbnet";
    ASSERT_EQ(gbnet_model_save(small.m, small_path.c_str()), GBNET_OK);
    std::vector<Section> small_sections = split_sections(read_file(small_path));
    for (int other_f : {0, 1}) {
        s = good;
        if (other_f) *find(s, "FRNG") = *find(small_sections, "FRNG");
        else find(s, "FRNG")->payload.replace(8, 8, std::string(8, '\x5a'));  // the hash of other weights
        ModelPtr back;
        ASSERT_EQ(gbnet_model_load(&back.m, write_file(dir + "/foreign.gbnet", assemble(s)).c_str()), GBNET_OK)
            << gbnet_last_error();
        int stale = 0;
        const gbnet_feature_ranges *r = gbnet_model_feature_ranges(back.m, &stale);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(stale, 1) << other_f;
        EXPECT_EQ(r->n_features, other_f ? 5 : 6);
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, back.m, GBNET_DOUBLE), GBNET_OK);
        std::vector<int> species = {0, 1, 1};
        std::vector<double> pos = {0, 0, 0, 0.96, 0, 0, -0.24, 0.93, 0};
        gbnet_structure st{};
        st.n_atoms = 3;
        st.species = species.data();
        st.positions = pos.data();
        gbnet_feature_report rep{};
        EXPECT_EQ(gbnet_feature_check(ws, 1, &st, 0.1, &rep), GBNET_ERR_UNSUPPORTED);
        gbnet_workspace_free(ws);
    }
}

namespace {

// A quantization record set through the API (int8 calibrated on two small structures).
void quantize_small(gbnet_model *m, gbnet_quant_mode mode) {
    std::vector<int> species = {0, 1, 1, 0};
    std::vector<double> pos = {0, 0, 0, 1.0, 0, 0, 0, 1.1, 0, 0.2, 0.3, 1.2};
    gbnet_structure s{};
    s.n_atoms = 4;
    s.species = species.data();
    s.positions = pos.data();
    ASSERT_EQ(gbnet_model_quantize(m, mode, 1, &s, 100.0), GBNET_OK) << gbnet_last_error();
}

}  // namespace

// QUNT round trips bitwise for both modes, is optional, and a file without it is the float model.
TEST(PotentialFile, QuantizationRecordRoundTrip) {
    std::string dir = temp_dir();
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 3, 4.0, {8, 1});
    for (gbnet_quant_mode mode : {GBNET_QUANT_BF16, GBNET_QUANT_INT8}) {
        ModelPtr m;
        ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
        quantize_small(m.m, mode);
        std::string a = dir + "/q.gbnet", b = dir + "/q2.gbnet";
        ASSERT_EQ(gbnet_model_save(m.m, a.c_str()), GBNET_OK);
        ModelPtr back;
        ASSERT_EQ(gbnet_model_load(&back.m, a.c_str()), GBNET_OK) << gbnet_last_error();
        EXPECT_EQ(gbnet_model_quantization(back.m), mode);
        for (int l = 0; l < 3 * hp.n_blocks + 1; ++l)
            EXPECT_EQ(gbnet_model_quant_clip(back.m, l), gbnet_model_quant_clip(m.m, l));
        EXPECT_TRUE(same_bits(gbnet_model_params(back.m), gbnet_model_params(m.m), gbnet_model_n_params(m.m)));
        ASSERT_EQ(gbnet_model_save(back.m, b.c_str()), GBNET_OK);
        EXPECT_EQ(read_file(a), read_file(b));
        std::vector<Section> s = split_sections(read_file(a));
        Section *q = find(s, "QUNT");
        ASSERT_NE(q, nullptr);
        EXPECT_EQ(q->flags, 1u);  // optional: an older reader evaluates the float model
        EXPECT_EQ(q->payload.size(), mode == GBNET_QUANT_INT8 ? 8u + 8u * 7u : 8u);
        // without the section: the same float model, no record
        s.erase(s.begin() + (q - s.data()));
        ModelPtr plain;
        ASSERT_EQ(gbnet_model_load(&plain.m, write_file(dir + "/plain.gbnet", assemble(s)).c_str()), GBNET_OK);
        EXPECT_EQ(gbnet_model_quantization(plain.m), GBNET_QUANT_NONE);
        EXPECT_TRUE(same_bits(gbnet_model_params(plain.m), gbnet_model_params(m.m), gbnet_model_n_params(m.m)));
        // a clone keeps the record
        ModelPtr c;
        ASSERT_EQ(gbnet_model_clone(&c.m, m.m), GBNET_OK);
        EXPECT_EQ(gbnet_model_quantization(c.m), mode);
    }
}

// Bad QUNT payloads behind a valid checksum name the section and the problem.
TEST(PotentialFile, BadQuantizationRecordsAreRefused) {
    std::string dir = temp_dir();
    gbnet_hyperparams hp = small_hyperparams(6, 2, 5, 3, 4.0, {8, 1});
    ModelPtr m;
    ASSERT_EQ(gbnet_model_create(&m.m, &hp, 3), GBNET_OK);
    quantize_small(m.m, GBNET_QUANT_INT8);
    std::string path = dir + "/q8.gbnet";
    ASSERT_EQ(gbnet_model_save(m.m, path.c_str()), GBNET_OK);
    std::vector<Section> good = split_sections(read_file(path));
    struct Case {
        std::string name;
        std::function<void(std::string &)> edit;
        gbnet_status status;
        std::string words;
    };
    auto set_u32 = [](std::string &p, size_t at, uint32_t v) {
        std::string b;
        put_u32(b, v);
        p.replace(at, 4, b);
    };
    auto set_f64 = [](std::string &p, size_t at, double v) {
        std::string b;
        put_f64(b, v);
        p.replace(at, 8, b);
    };
    std::vector<Case> cases = {
        {"mode", [&](std::string &p) { set_u32(p, 0, 3); }, GBNET_ERR_FORMAT, "unknown mode 3"},
        {"count", [&](std::string &p) { set_u32(p, 4, 6); }, GBNET_ERR_FORMAT, "6 activation clips, expected 7"},
        {"bf16 with clips", [&](std::string &p) { set_u32(p, 0, 1); }, GBNET_ERR_FORMAT, "expected 0 for bf16"},
        {"length", [&](std::string &p) { p.pop_back(); }, GBNET_ERR_FORMAT, "length"},
        {"short", [&](std::string &p) { p.resize(5); }, GBNET_ERR_FORMAT, "shorter than 8"},
        {"negative", [&](std::string &p) { set_f64(p, 8 + 8 * 2, -1.0); }, GBNET_ERR_NUMERIC, "clip of layer 2"},
        {"nan", [&](std::string &p) { set_f64(p, 8, std::nan("")); }, GBNET_ERR_NUMERIC, "clip of layer 0"},
    };
    for (const Case &c : cases) {
        std::vector<Section> s = good;
        c.edit(find(s, "QUNT")->payload);
        ModelPtr back;
        EXPECT_EQ(gbnet_model_load(&back.m, write_file(dir + "/bad.gbnet", assemble(s)).c_str()), c.status) << c.name;
        std::string message = gbnet_last_error();
        EXPECT_NE(message.find("QUNT"), std::string::npos) << message;
        EXPECT_NE(message.find(c.words), std::string::npos) << c.name << ": " << message;
    }
}
