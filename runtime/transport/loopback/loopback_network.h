// LoopbackNetwork: an in-process Network. Servers are registered by name;
// a call is serialized, handed to the named server's handler on the calling
// worker, and its reply serialized back, as over a real wire, so that code
// tested on it sees the same bytes and the same errors as over gRPC. The
// deterministic simulator (testing/sim) injects its faults here.
//
//   anvil::LoopbackNetwork network(runtime);
//   auto server = network.Serve("n1", StorageRef::Handlers(storage));
//   StorageRef remote(network.Connect("n1"));
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_TRANSPORT_LOOPBACK_LOOPBACK_NETWORK_H_
#define ANVIL_RUNTIME_TRANSPORT_LOOPBACK_LOOPBACK_NETWORK_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/network.h"

namespace anvil {

class LoopbackNetwork final : public Network {
 public:
  explicit LoopbackNetwork(Runtime& runtime);
  ~LoopbackNetwork() override;

  absl::string_view name() const override { return "loopback"; }
  absl::StatusOr<std::unique_ptr<Server>> Serve(
      const std::string& address, MethodHandlers handlers) override;
  std::shared_ptr<Channel> Connect(const std::string& address) override;

  // Shared with servers and channels, which may outlive the network.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_LOOPBACK_LOOPBACK_NETWORK_H_
