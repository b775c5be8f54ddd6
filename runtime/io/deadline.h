// Deadline: when an I/O wait gives up, as a point on the runtime's monotonic
// clock (anvil::Clock, so virtual time in a simulation).
//
//   // One deadline for a whole request, however many reads it takes:
//   anvil::Deadline deadline = anvil::Deadline::After(absl::Seconds(10));
//   while (!complete) {
//     absl::StatusOr<size_t> n = co_await stream.Read(buffer, deadline);
//     ...
//   }
//   co_await stream.Write(reply, absl::Seconds(1));  // a Duration converts
//
// A deadline that has passed still lets an operation that can complete at
// once complete; it only bounds waiting. Cheap to copy; thread-compatible.
#ifndef ANVIL_RUNTIME_IO_DEADLINE_H_
#define ANVIL_RUNTIME_IO_DEADLINE_H_

#include <cstdint>

#include "absl/time/time.h"
#include "runtime/core/clock.h"

namespace anvil {

class Deadline {
 public:
  // No deadline: wait as long as it takes.
  static constexpr Deadline Never() { return Deadline(INT64_MAX); }
  // `timeout` from now; an infinite timeout is Never().
  static Deadline After(absl::Duration timeout) {
    return Deadline(Clock::DeadlineAfter(timeout));
  }
  // Monotonic nanoseconds as read by Clock::MonotonicNanos().
  static constexpr Deadline AtMonotonicNanos(int64_t nanos) {
    return Deadline(nanos);
  }

  // Never().
  constexpr Deadline() = default;
  // After(timeout): lets a call site pass a Duration.
  Deadline(absl::Duration timeout)  // NOLINT(google-explicit-constructor)
      : nanos_(Clock::DeadlineAfter(timeout)) {}

  bool is_never() const { return nanos_ == INT64_MAX; }
  int64_t monotonic_nanos() const { return nanos_; }
  // Time left, zero once passed, infinite for Never().
  absl::Duration remaining() const {
    if (is_never()) return absl::InfiniteDuration();
    const int64_t left = nanos_ - Clock::MonotonicNanos();
    return left > 0 ? absl::Nanoseconds(left) : absl::ZeroDuration();
  }

  friend bool operator==(Deadline a, Deadline b) {
    return a.nanos_ == b.nanos_;
  }
  friend bool operator<(Deadline a, Deadline b) { return a.nanos_ < b.nanos_; }
  // The earlier of the two.
  static Deadline Earliest(Deadline a, Deadline b) { return a < b ? a : b; }

 private:
  explicit constexpr Deadline(int64_t nanos) : nanos_(nanos) {}
  int64_t nanos_ = INT64_MAX;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_IO_DEADLINE_H_
