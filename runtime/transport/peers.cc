#include "runtime/transport/peers.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace anvil {

void Peers::SetAddress(const std::string& node, const std::string& address) {
  if (directory_ != this) return directory_->SetAddress(node, address);
  MutexLock lock(mu_);
  addresses_[node] = address;
}

void Peers::RemoveAddress(const std::string& node) {
  if (directory_ != this) return directory_->RemoveAddress(node);
  MutexLock lock(mu_);
  addresses_.erase(node);
}

absl::StatusOr<std::string> Peers::AddressOf(const std::string& node) const {
  if (directory_ != this) return directory_->AddressOf(node);
  MutexLock lock(mu_);
  auto it = addresses_.find(node);
  if (it != addresses_.end()) return it->second;
  std::map<std::string, std::string> known(addresses_.begin(),
                                           addresses_.end());
  return absl::NotFoundError(absl::StrCat(
      "no address for node '", node, "'; known: ",
      known.empty() ? "none"
                    : absl::StrJoin(known, ", ", absl::PairFormatter("="))));
}

std::map<std::string, std::string> Peers::Addresses() const {
  if (directory_ != this) return directory_->Addresses();
  MutexLock lock(mu_);
  return std::map<std::string, std::string>(addresses_.begin(),
                                            addresses_.end());
}

std::shared_ptr<Channel> Peers::ConnectAddress(const std::string& address) {
  MutexLock lock(mu_);
  std::shared_ptr<Channel>& channel = channels_[address];
  if (channel == nullptr) channel = network_->Connect(address);
  return channel;
}

absl::StatusOr<std::shared_ptr<Channel>> Peers::Connect(
    const std::string& node) {
  absl::StatusOr<std::string> address = AddressOf(node);
  if (!address.ok()) return address.status();
  return ConnectAddress(*address);
}

}  // namespace anvil
