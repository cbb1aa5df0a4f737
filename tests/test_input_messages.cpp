// Error messages about bad input: bytes from the file are escaped (no raw
// control or non-ASCII bytes reach a terminal or log), and one error has one
// wording whichever reader or check finds it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "test_util.h"

extern "C" {
#include "checkpoint.h"
#include "escape.h"
#include "gbnet_data.h"
#include "gbnet_train.h"
#include "model.h"
#include "potential_file.h"
}

namespace {

// True when every byte of text is printable ASCII (what gb_escape promises).
bool printable(const std::string &text) {
    for (unsigned char c : text)
        if (c < 32 || c >= 127) return false;
    return true;
}

std::string escape(const std::string &bytes, size_t size = GB_ESCAPE_SIZE) {
    std::string out(size, '#');
    gb_escape(&out[0], size, bytes.data(), bytes.size());
    return std::string(out.c_str());
}

// A tiny model saved by gbnet, then edited: at (found by search) replaced
// by with (same length) and the END! checksum recomputed.
std::string edited_potential(const std::string &dir, const std::string &at, const std::string &with,
                             size_t offset_after_at = 0) {
    gbnet_hyperparams hp = small_hyperparams(2, 1, 2, 1, 3.0, {1, 8});
    gbnet_model *m = small_model(hp, 7);
    std::string path = dir + "/tiny.gbnet";
    EXPECT_EQ(gbnet_model_save(m, path.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_model_free(m);
    std::string bytes = read_file(path);
    size_t pos = bytes.find(at);
    EXPECT_NE(pos, std::string::npos) << at;
    if (offset_after_at == 0) {
        EXPECT_EQ(at.size(), with.size());
    }
    bytes.replace(pos + offset_after_at, with.size(), with);
    size_t body = bytes.size() - 8;  // the checksum is the last 8 bytes, over all before "END!"
    uint64_t sum = gb_fnv1a64(bytes.data(), body - 16);
    for (int i = 0; i < 8; ++i) bytes[body + i] = char((sum >> (8 * i)) & 0xff);
    return write_file(dir + "/edited.gbnet", bytes);
}

std::string load_message(const std::string &path, gbnet_status expected) {
    gbnet_model *m = nullptr;
    EXPECT_EQ(gbnet_model_load(&m, path.c_str()), expected) << gbnet_last_error();
    gbnet_model_free(m);
    return gbnet_last_error();
}

}  // namespace

TEST(Escape, PrintableAsciiStaysOtherBytesBecomeHexAndLongInputIsCut) {
    EXPECT_EQ(escape("metal"), "metal");
    EXPECT_EQ(escape(std::string("\x1b[2J\x00\x7f\xff", 7)), "\\x1b[2J\\x00\\x7f\\xff");
    EXPECT_EQ(escape("a\\b"), "a\\\\b");
    EXPECT_EQ(escape(""), "");
    // exactly fitting input is not cut; one byte more is, and ends with "..."
    EXPECT_EQ(escape("1234567", 8), "1234567");
    EXPECT_EQ(escape("12345678", 8), "1234...");
    // a hex escape is never split by the cut
    EXPECT_EQ(escape(std::string("ab\x01\x02\x03", 5), 10), "ab\\x01...");
    std::string big(100000, '\x01');
    std::string shown = escape(big);
    EXPECT_LT(shown.size(), size_t(GB_ESCAPE_SIZE));
    EXPECT_EQ(shown.substr(shown.size() - 3), "...");
    EXPECT_TRUE(printable(shown));
    char text_out[16];
    EXPECT_STREQ(gb_escape_text(text_out, sizeof text_out, "tab\there"), "tab\\x09here");
}

TEST(Messages, PotentialFileBytesAreEscapedInTagsUnitsAndElementNames) {
    std::string dir = temp_dir();
    std::string msg = load_message(edited_potential(dir, "metal", "\x1b[2J\xff"), GBNET_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("units '\\x1b[2J\\xff'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;

    msg = load_message(edited_potential(dir, "UNIT", std::string("\x07NI\x00", 4)), GBNET_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("unknown required section '\\x07NI\\x00'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;

    msg = load_message(edited_potential(dir, std::string("O\0\0\0", 4), std::string("\x9b\x31m\0", 4)),
                       GBNET_ERR_FORMAT);
    EXPECT_NE(msg.find("named '\\x9b1m\\x00'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;
}

TEST(Messages, HyperparameterRangeErrorsHaveOneWording) {
    // the API check
    gbnet_hyperparams hp = small_hyperparams(5000, 1, 2, 1, 3.0, {1});
    gbnet_model *m = nullptr;
    EXPECT_EQ(gbnet_model_create(&m, &hp, 1), GBNET_ERR_INVALID_ARGUMENT);
    const std::string wording = "n_features (F) must be in 1..4096, got 5000";
    EXPECT_NE(std::string(gbnet_last_error()).find(wording), std::string::npos) << gbnet_last_error();

    // the potential file: F = 5000 and F = 2^32 - 1 (beyond int) in the HYPR payload
    std::string dir = temp_dir();
    // (the HYPR payload starts after the 16-byte section header; F is its first u32)
    std::string msg = load_message(edited_potential(dir, "HYPR", std::string("\x88\x13\0\0", 4), 16),
                                   GBNET_ERR_FORMAT);
    EXPECT_NE(msg.find("section HYPR: " + wording), std::string::npos) << msg;
    msg = load_message(edited_potential(dir, "HYPR", "\xff\xff\xff\xff", 16), GBNET_ERR_FORMAT);
    EXPECT_NE(msg.find("section HYPR: n_features (F) must be in 1..4096, got 4294967295"), std::string::npos) << msg;

    // the checkpoint: n_features is the int64 after the magic and the version
    gbnet_hyperparams chp = small_hyperparams(2, 1, 2, 1, 3.0, {1});
    gbnet_model *cm = small_model(chp, 3);
    gb_optimizer opt;
    ASSERT_EQ(gb_optimizer_init(&opt, GB_OPTIMIZER_ADAM, cm->layout.total, 0.9, 0.999, 1e-8, 0.0), GBNET_OK);
    gb_train_state state;
    memset(&state, 0, sizeof state);
    std::string path = dir + "/a.ckpt";
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), cm, &opt, &state, "lr = 0.1\n"), GBNET_OK) << gbnet_last_error();
    std::string bytes = read_file(path);
    int64_t f = 5000;
    memcpy(&bytes[16], &f, 8);
    uint64_t sum = gb_fnv1a64(bytes.data(), bytes.size() - 8);
    memcpy(&bytes[bytes.size() - 8], &sum, 8);
    write_file(path, bytes);
    gbnet_model *m2 = nullptr;
    gb_optimizer o2;
    gb_train_state s2;
    EXPECT_EQ(gb_checkpoint_read(path.c_str(), &m2, &o2, &s2, nullptr), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("checkpoint model header: " + wording), std::string::npos)
        << gbnet_last_error();
    gb_optimizer_free(&opt);
    gbnet_model_free(cm);
}

TEST(Messages, ExtxyzTokensAreEscaped) {
    std::string dir = temp_dir();
    std::string path = write_file(dir + "/bad.xyz", "1\nProperties=species:S:1:pos:R:3\n\x1b]0;X\x07 0 0 0\n");
    gbnet_dataset dataset = {};
    gbnet_dataset *ds = &dataset;
    EXPECT_EQ(gbnet_read_extxyz(ds, path.c_str()), GBNET_ERR_FORMAT);
    std::string msg = gbnet_last_error();
    EXPECT_NE(msg.find("bad.xyz:3: expected a chemical symbol but found '\\x1b]0;X\\x07'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;

    path = write_file(dir + "/count.xyz", "1\xc3\xa9\n");
    EXPECT_EQ(gbnet_read_extxyz(ds, path.c_str()), GBNET_ERR_FORMAT);
    msg = gbnet_last_error();
    EXPECT_NE(msg.find("'1\\xc3\\xa9'"), std::string::npos) << msg;
    gbnet_dataset_free(ds);
}

TEST(Messages, NpyHeadersAndTypeMapsAreEscaped) {
    std::string dir = temp_dir(), sys = dir + "/sys";
    ASSERT_EQ(system(("mkdir -p " + sys + "/set.000").c_str()), 0);
    write_file(sys + "/type_map.raw", "H\n");
    write_file(sys + "/type.raw", "0\n");
    write_file(sys + "/nopbc", "");
    std::string header = "{'descr': '<\x1b\x9b', 'fortran_order': False, 'shape': (1, 3), }";
    std::string npy = std::string("\x93NUMPY\x01\x00", 8);
    npy += char(header.size());
    npy += '\0';
    npy += header + std::string(24, '\0');
    write_file(sys + "/set.000/coord.npy", npy);
    gbnet_dataset dataset = {};
    gbnet_dataset *ds = &dataset;
    EXPECT_EQ(gbnet_read_deepmd(ds, sys.c_str()), GBNET_ERR_FORMAT);
    std::string msg = gbnet_last_error();
    EXPECT_NE(msg.find("coord.npy: expected dtype '<f4' or '<f8' but found '<\\x1b\\x9b'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;

    header = "{\x01\x02}";
    npy = std::string("\x93NUMPY\x01\x00", 8);
    npy += char(header.size());
    npy += '\0';
    npy += header;
    write_file(sys + "/set.000/coord.npy", npy);
    EXPECT_EQ(gbnet_read_deepmd(ds, sys.c_str()), GBNET_ERR_FORMAT);
    msg = gbnet_last_error();
    EXPECT_NE(msg.find("but found '{\\x01\\x02}'"), std::string::npos) << msg;

    write_file(sys + "/type_map.raw", "H \x1b[1mXx\n");
    EXPECT_EQ(gbnet_read_deepmd(ds, sys.c_str()), GBNET_ERR_FORMAT);
    msg = gbnet_last_error();
    EXPECT_NE(msg.find("expected a chemical symbol but found '\\x1b[1mXx'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;
    gbnet_dataset_free(ds);
}

TEST(Messages, TrainingConfigurationValuesAndKeysAreEscaped) {
    std::string dir = temp_dir();
    std::string path = write_file(dir + "/train.cfg", "epochs = 3\x1b[0m\n");
    gbnet_train_config *c = nullptr;
    ASSERT_EQ(gbnet_train_config_create(&c), GBNET_OK);
    EXPECT_EQ(gbnet_train_config_read(c, path.c_str()), GBNET_ERR_FORMAT);
    std::string msg = gbnet_last_error();
    EXPECT_NE(msg.find("train.cfg:1: epochs = '3\\x1b[0m'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;
    path = write_file(dir + "/train2.cfg", "\xff\xfe = 1\n");
    EXPECT_EQ(gbnet_train_config_read(c, path.c_str()), GBNET_ERR_FORMAT);
    msg = gbnet_last_error();
    EXPECT_NE(msg.find("unknown key '\\xff\\xfe'"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;
    // the cross-key check too (found by fuzz_train_config)
    path = write_file(dir + "/train3.cfg", "train_data = a.xyz\nvalid_key = x\xb2\n");
    ASSERT_EQ(gbnet_train_config_read(c, path.c_str()), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(gbnet_train_config_check(c), GBNET_ERR_FORMAT);
    msg = gbnet_last_error();
    EXPECT_NE(msg.find("valid_key = 'x\\xb2': expected KEY=PATTERN"), std::string::npos) << msg;
    EXPECT_TRUE(printable(msg)) << msg;
    gbnet_train_config_free(c);
}

TEST(Messages, CheckpointWithNonFiniteNumbersOrNegativeCountersIsRefused) {
    gbnet_hyperparams hp = small_hyperparams(2, 1, 2, 1, 3.0, {1});
    gbnet_model *m = small_model(hp, 3);
    gb_optimizer opt;
    ASSERT_EQ(gb_optimizer_init(&opt, GB_OPTIMIZER_ADAM, m->layout.total, 0.9, 0.999, 1e-8, 0.0), GBNET_OK);
    gb_train_state state;
    memset(&state, 0, sizeof state);
    state.lr = 1e-3;
    std::string dir = temp_dir(), path = dir + "/a.ckpt";
    auto read_back = [&]() {
        gbnet_model *m2 = nullptr;
        gb_optimizer o2;
        gb_train_state s2;
        gbnet_status st = gb_checkpoint_read(path.c_str(), &m2, &o2, &s2, nullptr);
        if (st == GBNET_OK) {
            gbnet_model_free(m2);
            gb_optimizer_free(&o2);
        }
        return st;
    };
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), m, &opt, &state, nullptr), GBNET_OK);
    EXPECT_EQ(read_back(), GBNET_OK) << gbnet_last_error();

    m->params[1] = INFINITY;  // the writer does not check: a trainer that diverged could have written it
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), m, &opt, &state, nullptr), GBNET_OK);
    EXPECT_EQ(read_back(), GBNET_ERR_NUMERIC);
    EXPECT_NE(std::string(gbnet_last_error()).find("a.ckpt: checkpoint parameter 1 is inf"), std::string::npos)
        << gbnet_last_error();
    m->params[1] = 0.5;

    opt.v[0] = NAN;
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), m, &opt, &state, nullptr), GBNET_OK);
    EXPECT_EQ(read_back(), GBNET_ERR_NUMERIC);
    EXPECT_NE(std::string(gbnet_last_error()).find("optimizer second moment"), std::string::npos) << gbnet_last_error();
    opt.v[0] = 0.0;

    state.epoch = -3;
    ASSERT_EQ(gb_checkpoint_write(path.c_str(), m, &opt, &state, nullptr), GBNET_OK);
    EXPECT_EQ(read_back(), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("negative step or epoch"), std::string::npos) << gbnet_last_error();
    gb_optimizer_free(&opt);
    gbnet_model_free(m);
}

// The configuration text that checkpoints and provenance record reads back
// to the same values: text values with outer blanks, '#' or quotes of their
// own are quoted (in a quote whose first occurrence has no '#' after it); a
// quoted value may hold '#'; a value with a line break (only possible
// through --set), or with a '#' after both kinds of quote, is refused.
TEST(TrainConfig, FormattedTextReadsBackToTheSameValues) {
    std::string dir = temp_dir();
    gbnet_train_config *c = nullptr;
    ASSERT_EQ(gbnet_train_config_create(&c), GBNET_OK);
    std::string path = write_file(dir + "/a.cfg",
                                  "train_data = a.xyz\n"
                                  "valid_key = '\"quoted\"'   # a comment\n"
                                  "exclude_key = \" config_type=x#y \"  # another\n");
    ASSERT_EQ(gbnet_train_config_read(c, path.c_str()), GBNET_OK) << gbnet_last_error();
    char value[256];
    ASSERT_EQ(gbnet_train_config_get(c, "exclude_key", value, sizeof value), GBNET_OK);
    EXPECT_STREQ(value, "\" config_type=x#y \"");
    size_t need = gbnet_train_config_format(c, nullptr, 0);
    std::string text(need + 1, '\0');
    gbnet_train_config_format(c, &text[0], text.size());
    text.resize(need);
    std::string again_path = write_file(dir + "/b.cfg", text);
    gbnet_train_config *d = nullptr;
    ASSERT_EQ(gbnet_train_config_create(&d), GBNET_OK);
    ASSERT_EQ(gbnet_train_config_read(d, again_path.c_str()), GBNET_OK) << gbnet_last_error() << "\n" << text;
    for (const char *key : {"valid_key", "exclude_key", "train_data"}) {
        char a[512], b[512];
        ASSERT_EQ(gbnet_train_config_get(c, key, a, sizeof a), GBNET_OK);
        ASSERT_EQ(gbnet_train_config_get(d, key, b, sizeof b), GBNET_OK);
        EXPECT_STREQ(a, b) << key;
    }
    ASSERT_EQ(gbnet_train_config_get(d, "valid_key", value, sizeof value), GBNET_OK);
    EXPECT_STREQ(value, "'\"quoted\"'");
    EXPECT_EQ(gbnet_train_config_set(c, "valid_key=a\nepochs = 1"), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("expected a value on one line"), std::string::npos)
        << gbnet_last_error();
    // '#' after a double quote: written in single quotes (found by fuzz_train_config)
    ASSERT_EQ(gbnet_train_config_set(c, "valid_key=a\"b'#c"), GBNET_ERR_FORMAT);
    ASSERT_EQ(gbnet_train_config_set(c, "valid_key=a\"#b'c"), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_train_config_set(c, "valid_key=a\"#b"), GBNET_OK) << gbnet_last_error();
    need = gbnet_train_config_format(c, nullptr, 0);
    text.assign(need + 1, '\0');
    gbnet_train_config_format(c, &text[0], text.size());
    text.resize(need);
    EXPECT_NE(text.find("valid_key = 'a\"#b'"), std::string::npos) << text;
    // '#' after both kinds of quote cannot be written back: refused on reading
    std::string both = write_file(dir + "/both.cfg", "train_data = a.xyz\nvalid_key = 'x\"# y\"'z\n");
    gbnet_train_config *e = nullptr;
    ASSERT_EQ(gbnet_train_config_create(&e), GBNET_OK);
    EXPECT_EQ(gbnet_train_config_read(e, both.c_str()), GBNET_ERR_FORMAT);
    EXPECT_NE(std::string(gbnet_last_error()).find("both.cfg:2: valid_key"), std::string::npos) << gbnet_last_error();
    EXPECT_NE(std::string(gbnet_last_error()).find("cannot be written to a configuration file and read back"),
              std::string::npos)
        << gbnet_last_error();
    gbnet_train_config_free(e);
    gbnet_train_config_free(d);
    gbnet_train_config_free(c);
}
