// main() for anvil's tests: GoogleTest and GoogleMock with their flags, then
// the Abseil flags the test links (--anvil_seed, --anvil_seeds, ...).
#include "absl/flags/parse.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  return RUN_ALL_TESTS();
}
