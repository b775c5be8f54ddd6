// TempPath: a fresh path for a test's file, in the test's private
// directory ($TEST_TMPDIR under bazel test, else /tmp).
//
//   const std::string path = anvil::testing::TempPath("log.wal");
//
// Any file already at the path is removed, so each test starts empty.
#ifndef ANVIL_TESTING_TEMP_PATH_H_
#define ANVIL_TESTING_TEMP_PATH_H_

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace anvil::testing {

inline std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  unlink(path.c_str());
  return path;
}

}  // namespace anvil::testing

#endif  // ANVIL_TESTING_TEMP_PATH_H_
