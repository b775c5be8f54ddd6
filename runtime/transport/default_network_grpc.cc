// NewDefaultNetwork in the default configuration: gRPC.
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/network.h"

namespace anvil {

std::unique_ptr<Network> NewDefaultNetwork(Runtime& runtime) {
  return std::make_unique<GrpcNetwork>(runtime);
}

absl::string_view DefaultNetworkName() { return "grpc"; }

}  // namespace anvil
