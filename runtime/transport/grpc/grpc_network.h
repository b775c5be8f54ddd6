// GrpcNetwork: the Network over real gRPC (callback API, plaintext). A
// server serves every method of its MethodHandlers through one generic
// service, so any gRPC client can call them by their full names; a channel
// is a grpc::Channel with a generic stub. Replies and handlers run on the
// runtime's workers; gRPC's own threads only hand calls over.
//
//   anvil::GrpcNetwork network(runtime);
//   auto server = network.Serve("127.0.0.1:0", StorageRef::Handlers(local));
//   StorageRef remote(network.Connect((*server)->address()));
//
// Status codes map one to one (absl and gRPC share them). Deadlines travel
// as gRPC deadlines. Thread-safe.
#ifndef ANVIL_RUNTIME_TRANSPORT_GRPC_GRPC_NETWORK_H_
#define ANVIL_RUNTIME_TRANSPORT_GRPC_GRPC_NETWORK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/actor/runtime.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/network.h"

namespace anvil {

class GrpcNetwork final : public Network {
 public:
  explicit GrpcNetwork(Runtime& runtime) : runtime_(runtime) {}

  absl::string_view name() const override { return "grpc"; }
  absl::StatusOr<std::unique_ptr<Server>> Serve(
      const std::string& address, MethodHandlers handlers) override;
  std::shared_ptr<Channel> Connect(const std::string& address) override;

 private:
  Runtime& runtime_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_GRPC_GRPC_NETWORK_H_
