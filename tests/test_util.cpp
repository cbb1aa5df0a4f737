#include "test_util.h"

#include <cstdio>
#include <cstdlib>
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
