// Clock: where the runtime reads time. Timers, deadlines and Sleep use the
// monotonic clock; Now() is wall-clock time for logs and user code.
//
//   int64_t start = anvil::Clock::MonotonicNanos();
//   ...
//   absl::Duration spent = absl::Nanoseconds(anvil::Clock::MonotonicNanos() -
//   start);
//
// In the simulation configuration (--config=sim, or a test built with the
// sim transition; it defines ANVIL_SIMULATION), while a simulation runs
// (testing/sim/simulation.h) both are virtual and driven by the simulator;
// code that reads time through Clock runs unchanged there. Reading
// std::chrono or absl::Now() directly bypasses the simulator. Production
// builds read the real clocks with no extra branch.
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_CORE_CLOCK_H_
#define ANVIL_RUNTIME_CORE_CLOCK_H_

#include <time.h>

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace anvil {

namespace internal {

#ifdef ANVIL_SIMULATION
inline constexpr bool kSimulationBuild = true;
// The running simulation's virtual monotonic time, or null. Set by the
// simulator only (testing/sim).
inline std::atomic<const int64_t*> virtual_monotonic_nanos{nullptr};
// Added to the virtual time read on this thread: the skew of the simulated
// node whose worker the simulator is running.
inline thread_local int64_t virtual_clock_skew = 0;
#else
inline constexpr bool kSimulationBuild = false;
#endif

}  // namespace internal

class Clock {
 public:
  // Nanoseconds on CLOCK_MONOTONIC: never jumps, unrelated to the wall clock.
  static int64_t MonotonicNanos() {
#ifdef ANVIL_SIMULATION
    if (const int64_t* virtual_now =
            internal::virtual_monotonic_nanos.load(std::memory_order_relaxed)) {
      return *virtual_now + internal::virtual_clock_skew;
    }
#endif
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

  // Wall-clock time. In a simulation: 2030-01-01 UTC plus the virtual
  // monotonic time (both as skewed for the node that reads them).
  static absl::Time Now() {
#ifdef ANVIL_SIMULATION
    if (const int64_t* virtual_now =
            internal::virtual_monotonic_nanos.load(std::memory_order_relaxed)) {
      return absl::FromUnixSeconds(1893456000) +
             absl::Nanoseconds(*virtual_now + internal::virtual_clock_skew);
    }
#endif
    return absl::Now();
  }

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
