// ServesUntilStopped<Base>: Run() and Stop() for a daemon whose work is
// done by its methods or its state, with nothing to run: Run() waits until
// Stop(). Base is Daemon or a generated daemon base without methods.
//
//   class Config final : public anvil::ServesUntilStopped<ConfigDaemon> {
//    public:
//     explicit Config(const ConfigDeps&) {}
//     int port() const { return 7000; }   // what dependents read
//   };
//
// Thread-safe as AsyncEvent: Stop() may come from any worker, and before
// Run() (Run then returns at once).
//
// Example: examples/heartbeat/heartbeat_main.cc.
#ifndef ANVIL_RUNTIME_DAEMON_SERVES_UNTIL_STOPPED_H_
#define ANVIL_RUNTIME_DAEMON_SERVES_UNTIL_STOPPED_H_

#include <type_traits>

#include "absl/status/status.h"
#include "runtime/core/async_event.h"
#include "runtime/core/task.h"
#include "runtime/daemon/daemon.h"

namespace anvil {

template <typename Base>
class ServesUntilStopped : public Base {
  static_assert(std::is_base_of_v<Daemon, Base>, "Base must be a Daemon");

 public:
  using Base::Base;

  Task<absl::Status> Run() override {
    co_await stopped_.Wait();
    co_return absl::OkStatus();
  }
  Task<> Stop() override {
    stopped_.Notify();
    co_return;
  }

 private:
  AsyncEvent stopped_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_DAEMON_SERVES_UNTIL_STOPPED_H_
