// CallOptions: how long a call through a generated client may take (and
// a streaming call's window). Each method of a generated ref takes one,
// and converts from what is passed most often:
//
//   kv.Get(request);                      // the method's default timeout
//   kv.Get(request, absl::Seconds(5));    // a timeout of its own
//   kv.Get(request, call);                // made while serving `call`: its
//                                         // deadline bounds this one's
//   kv.Get(request, anvil::CallOptions(call).Timeout(absl::Seconds(1)));
//   kv.Get(request, anvil::CallOptions::Until(deadline));  // absolute
//
// The method's default timeout is its `deadline_ms` in the .proto (none if
// it has none); a timeout given here replaces it. The call's deadline is
// the earliest of the timeout from now, an absolute deadline and the
// serving call's. Copyable, a few words; make one per call.
//
// Example: examples/greeter/greeter_main.cc.
#ifndef ANVIL_RUNTIME_ACTOR_CALL_OPTIONS_H_
#define ANVIL_RUNTIME_ACTOR_CALL_OPTIONS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/time/time.h"
#include "runtime/actor/call_context.h"
#include "runtime/core/clock.h"

namespace anvil {

class CallOptions {
 public:
  // The method's default timeout, no other bound.
  CallOptions() = default;
  // Implicit: a timeout.
  CallOptions(absl::Duration timeout) : timeout_(timeout) {}
  // Implicit: a call made while serving `within`, which ends no later than
  // it (the method's default timeout still applies, unless Timeout says).
  CallOptions(const CallContext& within) : deadline_(within.deadline()) {}
  // An absolute deadline (Clock::MonotonicNanos time, INT64_MAX for none),
  // and no timeout: not the method's default either.
  static CallOptions Until(int64_t deadline) {
    CallOptions options(absl::InfiniteDuration());
    options.deadline_ = deadline;
    return options;
  }

  // Replaces the timeout (the method's default, or one given before).
  CallOptions& Timeout(absl::Duration timeout) & {
    timeout_ = timeout;
    return *this;
  }
  CallOptions&& Timeout(absl::Duration timeout) && {
    timeout_ = timeout;
    return std::move(*this);
  }

  // A streaming call's window: how many messages each direction holds
  // before its writer waits (runtime/actor/stream.h). At least 1;
  // default kDefaultStreamWindow. A unary call ignores it.
  static constexpr size_t kDefaultStreamWindow = 256;
  CallOptions& StreamWindow(size_t messages) & {
    stream_window_ = std::max<size_t>(messages, 1);
    return *this;
  }
  CallOptions&& StreamWindow(size_t messages) && {
    stream_window_ = std::max<size_t>(messages, 1);
    return std::move(*this);
  }
  size_t stream_window() const { return stream_window_; }

  // The deadline of a call of a method whose default timeout is
  // `method_default` (InfiniteDuration: none). Reads the clock only if a
  // timeout applies.
  int64_t DeadlineFor(absl::Duration method_default) const {
    return std::min(deadline_,
                    Clock::DeadlineAfter(timeout_.value_or(method_default)));
  }

 private:
  std::optional<absl::Duration> timeout_;
  int64_t deadline_ = INT64_MAX;
  size_t stream_window_ = kDefaultStreamWindow;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_CALL_OPTIONS_H_
