#include "runtime/actor/supervisor.h"

#include <deque>

#include "runtime/core/clock.h"

namespace anvil {

Supervisor RestartSupervisor(int max_restarts, absl::Duration within) {
  const int64_t window = Clock::ToNanos(within);
  return Supervisor([max_restarts, window, restarts = std::deque<int64_t>()](
                        const absl::Status&) mutable {
    const int64_t now = Clock::MonotonicNanos();
    while (!restarts.empty() && now - restarts.front() > window) {
      restarts.pop_front();
    }
    if (static_cast<int>(restarts.size()) >= max_restarts) {
      return SupervisorDecision::kStop;
    }
    restarts.push_back(now);
    return SupervisorDecision::kRestart;
  });
}

}  // namespace anvil
