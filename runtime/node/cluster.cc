#include "runtime/node/cluster.h"

#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/transport/network_flags.h"

ABSL_FLAG(std::string, anvil_peers, "",
          "Nodes of the cluster in other processes and where they serve: "
          "n1=host:port,n2=host:port.");

namespace anvil {

absl::StatusOr<std::map<std::string, std::string>> Cluster::ParsePeers(
    const std::string& text) {
  std::map<std::string, std::string> peers;
  for (absl::string_view entry :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::vector<absl::string_view> parts = absl::StrSplit(entry, '=');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--anvil_peers: '", entry,
                       "' is not node=host:port (in '", text, "')"));
    }
    if (!peers.emplace(parts[0], parts[1]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--anvil_peers: node '", parts[0], "' appears twice"));
    }
  }
  return peers;
}

namespace {

// The flags' network, or (when they are bad; Prepare reports it) the
// default one.
std::shared_ptr<Network> FlagsNetwork(Runtime& runtime, absl::Status& error) {
  absl::StatusOr<std::shared_ptr<Network>> network = NetworkFromFlags(runtime);
  if (network.ok()) return *std::move(network);
  error = network.status();
  return NewDefaultNetwork(runtime);
}

}  // namespace

Cluster::Cluster(DaemonContext& context)
    : peers_(FlagsNetwork(context.runtime(), flag_status_)) {
  if (!flag_status_.ok()) return;
  absl::StatusOr<std::map<std::string, std::string>> peers =
      ParsePeers(absl::GetFlag(FLAGS_anvil_peers));
  if (!peers.ok()) {
    flag_status_ = peers.status();
    return;
  }
  for (const auto& [node, address] : *peers) peers_.SetAddress(node, address);
}

Cluster::Cluster(std::shared_ptr<Network> network,
                 const std::map<std::string, std::string>& addresses)
    : peers_(std::move(network)) {
  for (const auto& [node, address] : addresses) {
    peers_.SetAddress(node, address);
  }
}

Cluster::Cluster(std::shared_ptr<Network> network, Cluster& directory)
    : peers_(std::move(network), directory.peers()) {}

Task<absl::Status> Cluster::Prepare() { co_return flag_status_; }

Cluster* Cluster::Find(const Factory& factory) {
  for (const Factory* f = &factory; f != nullptr; f = f->parent()) {
    for (const auto& [name, daemon] : f->Built()) {
      if (name == Info().name) return static_cast<Cluster*>(daemon);
    }
  }
  return nullptr;
}

}  // namespace anvil
