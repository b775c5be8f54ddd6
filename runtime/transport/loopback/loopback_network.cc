#include "runtime/transport/loopback/loopback_network.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/clock.h"

namespace anvil {

// One served address: its handlers, shared with the calls in flight.
struct Endpoint {
  MethodHandlers handlers;
};

struct LoopbackNetwork::State {
  Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<const Endpoint>> servers
      ABSL_GUARDED_BY(mu);
  // "<address>/<service>" -> serving, as servers set it.
  absl::flat_hash_map<std::string, bool> serving ABSL_GUARDED_BY(mu);

  std::shared_ptr<const Endpoint> Find(const std::string& address) {
    MutexLock lock(mu);
    auto it = servers.find(address);
    return it == servers.end() ? nullptr : it->second;
  }
};

namespace {

class LoopbackServer final : public Server {
 public:
  LoopbackServer(std::shared_ptr<LoopbackNetwork::State> state,
                 std::string address)
      : state_(std::move(state)), address_(std::move(address)) {}
  // Unregisters: new calls get UNAVAILABLE; calls in flight keep their
  // handlers and finish.
  ~LoopbackServer() override { Unregister(); }

  const std::string& address() const override { return address_; }

  // Loopback has no health service; the status is only recorded.
  void SetServing(const std::string& service, bool serving) override {
    MutexLock lock(state_->mu);
    state_->serving[absl::StrCat(address_, "/", service)] = serving;
  }

  // Calls in flight keep their handlers and finish on their own (loopback
  // does not track them), so `grace` is not needed.
  Task<> Stop(absl::Duration) override {
    Unregister();
    co_return;
  }

 private:
  void Unregister() {
    MutexLock lock(state_->mu);
    state_->servers.erase(address_);
  }

  std::shared_ptr<LoopbackNetwork::State> state_;
  const std::string address_;
};

class LoopbackChannel final : public Channel {
 public:
  LoopbackChannel(std::shared_ptr<LoopbackNetwork::State> state,
                  std::string address)
      : state_(std::move(state)), address_(std::move(address)) {}

  Task<absl::StatusOr<std::string>> Call(std::string method,
                                         std::string request,
                                         int64_t deadline) override {
    return CallOn(state_->Find(address_), address_, std::move(method),
                  std::move(request), deadline);
  }

 private:
  static Task<absl::StatusOr<std::string>> CallOn(
      std::shared_ptr<const Endpoint> endpoint, std::string address,
      std::string method, std::string request, int64_t deadline) {
    if (endpoint == nullptr) {
      co_return absl::UnavailableError(
          absl::StrCat("loopback: no server at '", address, "'"));
    }
    auto handler = endpoint->handlers.find(method);
    if (handler == endpoint->handlers.end()) {
      co_return absl::UnimplementedError(absl::StrCat(
          "loopback: the server at '", address, "' has no method ", method));
    }
    if (deadline != INT64_MAX && Clock::MonotonicNanos() >= deadline) {
      co_return absl::DeadlineExceededError(
          absl::StrCat(method, ": deadline passed before sending"));
    }
    co_return co_await handler->second(std::move(request),
                                       CallContext(deadline));
  }

  std::shared_ptr<LoopbackNetwork::State> state_;
  const std::string address_;
};

}  // namespace

LoopbackNetwork::LoopbackNetwork(Runtime&)
    : state_(std::make_shared<State>()) {}

LoopbackNetwork::~LoopbackNetwork() = default;

absl::StatusOr<std::unique_ptr<Server>> LoopbackNetwork::Serve(
    const std::string& address, MethodHandlers handlers) {
  auto endpoint = std::make_shared<Endpoint>();
  endpoint->handlers = std::move(handlers);
  MutexLock lock(state_->mu);
  if (!state_->servers.emplace(address, std::move(endpoint)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("loopback: '", address, "' is already served"));
  }
  return std::make_unique<LoopbackServer>(state_, address);
}

std::shared_ptr<Channel> LoopbackNetwork::Connect(const std::string& address) {
  return std::make_shared<LoopbackChannel>(state_, address);
}

}  // namespace anvil
