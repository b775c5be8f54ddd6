// NewDefaultNetwork with --config=sim: the in-process loopback.
#include "runtime/transport/loopback/loopback_network.h"
#include "runtime/transport/network.h"

namespace anvil {

std::unique_ptr<Network> NewDefaultNetwork(Runtime& runtime) {
  return std::make_unique<LoopbackNetwork>(runtime);
}

absl::string_view DefaultNetworkName() { return "loopback"; }

}  // namespace anvil
