// OpenDescriptorCount: how many file descriptors the process has open, for
// tests that check a component leaks none.
//
//   const int before = anvil::testing::OpenDescriptorCount();
//   { ... open and close connections ... }
//   EXPECT_EQ(anvil::testing::OpenDescriptorCount(), before);
//
// Counts the entries of /proc/self/fd (Linux). Thread-safe, but other
// threads opening files meanwhile change the count.
#ifndef ANVIL_TESTING_OPEN_DESCRIPTORS_H_
#define ANVIL_TESTING_OPEN_DESCRIPTORS_H_

#include <dirent.h>

namespace anvil::testing {

inline int OpenDescriptorCount() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor reading the directory
}

}  // namespace anvil::testing

#endif  // ANVIL_TESTING_OPEN_DESCRIPTORS_H_
