// Eventually: waits, on the test's thread, for something other threads
// make true: a liveness bound, never a timing assertion.
//
//   ASSERT_TRUE(anvil::testing::Eventually(
//       [&] { return echo.waiting_for_cancel() == 2; }));
#ifndef ANVIL_TESTING_EVENTUALLY_H_
#define ANVIL_TESTING_EVENTUALLY_H_

#include <chrono>
#include <thread>

namespace anvil::testing {

// Polls `done` every millisecond until it holds, for at most 20 s; returns
// its last answer.
template <typename Predicate>
bool Eventually(Predicate done) {
  for (int i = 0; i < 20'000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

}  // namespace anvil::testing

#endif  // ANVIL_TESTING_EVENTUALLY_H_
