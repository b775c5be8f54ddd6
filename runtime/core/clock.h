// Clock: where the runtime reads time. Timers, deadlines and Sleep use the
// monotonic clock; Now() is wall-clock time for logs and user code.
//
//   int64_t start = anvil::Clock::MonotonicNanos();
//   ...
//   absl::Duration spent = absl::Nanoseconds(anvil::Clock::MonotonicNanos() -
//   start);
//
// In the simulation configuration (a later build setting) both are virtual
// and driven by the simulator; code that reads time through Clock, or through
// Context::Now(), runs unchanged there. Reading std::chrono or absl::Now()
// directly bypasses the simulator.
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_CORE_CLOCK_H_
#define ANVIL_RUNTIME_CORE_CLOCK_H_

#include <time.h>

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace anvil {

class Clock {
 public:
  // Nanoseconds on CLOCK_MONOTONIC: never jumps, unrelated to the wall clock.
  static int64_t MonotonicNanos() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

  // Wall-clock time.
  static absl::Time Now() { return absl::Now(); }

  // `d` in nanoseconds, saturating at the int64 range; infinite durations
  // map to the largest value.
  static int64_t ToNanos(absl::Duration d) {
    if (d == absl::InfiniteDuration()) return INT64_MAX;
    if (d == -absl::InfiniteDuration()) return INT64_MIN;
    return absl::ToInt64Nanoseconds(d);
  }

  // The monotonic deadline `d` from now, saturating.
  static int64_t DeadlineAfter(absl::Duration d) {
    if (d == absl::InfiniteDuration()) return INT64_MAX;  // no clock read
    const int64_t now = MonotonicNanos();
    const int64_t delta = ToNanos(d);
    if (delta > 0 && now > INT64_MAX - delta) return INT64_MAX;
    return now + delta;
  }
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_CLOCK_H_
