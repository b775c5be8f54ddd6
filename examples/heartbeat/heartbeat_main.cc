// heartbeat: a daemon with a timer, as a node program. Heart beats every
// --period on its own actor (ActorDaemon::Every sends it a private Beat),
// so the count it serves needs no lock; Settings, a daemon without
// methods, is read through its C++ interface (no cast).
//
//   ./bazelw run //examples/heartbeat -- --period=500ms
//   --anvil_listen=127.0.0.1:7000 grpcurl -plaintext 127.0.0.1:7000
//   anvil.examples.heartbeat.Heart/Count
#include <cstdint>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "examples/heartbeat/heartbeat.anvil.h"
#include "runtime/daemon/serves_until_stopped.h"
#include "runtime/node/node_main.h"

ABSL_FLAG(absl::Duration, period, absl::Seconds(1), "Time between beats.");

namespace anvil::examples::heartbeat {

class FlagSettings final : public ServesUntilStopped<SettingsDaemon> {
 public:
  FlagSettings(const SettingsDeps&, absl::Duration period) : period_(period) {}
  absl::Duration period() const override { return period_; }

 private:
  const absl::Duration period_;
};

class HeartImpl final : public HeartDaemon {
 public:
  explicit HeartImpl(const HeartDeps& deps)
      : HeartDaemon(deps), timer_(Every(settings().period(), Beat{})) {}

  // A bad period (not positive) fails the node's start, naming it.
  Task<absl::Status> Prepare() override { co_return timer_; }

  Task<> Receive(Beat&) override {
    std::printf("beat %lld\n", static_cast<long long>(++beats_));
    std::fflush(stdout);
    co_return;
  }

  Task<absl::StatusOr<CountReply>> Count(CallContext&,
                                         const CountRequest&) override {
    CountReply reply;
    reply.set_beats(beats_);  // on the actor, like Receive: no lock
    co_return reply;
  }

 private:
  const absl::Status timer_;
  int64_t beats_ = 0;
};

}  // namespace anvil::examples::heartbeat

int main(int argc, char** argv) {
  using namespace anvil::examples::heartbeat;  // NOLINT: the example's own
  return anvil::NodeMain(
      argc, argv,
      {.usage = "heartbeat --period=500ms --anvil_listen=127.0.0.1:7000",
       .runtime = {.name = "heartbeat"},
       .bind = [](anvil::Factory& root, anvil::Factory& node) {
         root.Bind<FlagSettings>(absl::GetFlag(FLAGS_period));
         node.Bind<HeartImpl>();
         return node.Get<HeartDaemon>().status();
       }});
}
