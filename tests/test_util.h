// Helpers shared by the test suites.
#ifndef GBNET_TEST_UTIL_H
#define GBNET_TEST_UTIL_H

#include <string>

// Path to a file under ../shared/data (the project's real datasets).
std::string data_path(const std::string &relative);
// Path to a file under the source tree.
std::string source_path(const std::string &relative);
// A fresh temporary directory for one test (removed by nobody: under /tmp).
std::string temp_dir();
// Writes text to path; returns the path.
std::string write_file(const std::string &path, const std::string &text);

#endif
