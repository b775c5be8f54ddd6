// Network: how nodes reach each other: serve a node's methods at an address,
// connect to another's. Two implementations, one interface: gRPC
// (runtime/transport/grpc, real sockets) and loopback
// (runtime/transport/loopback, in-process, for simulation). The build picks
// the default: `--config=sim` (the //bazel:transport build setting) makes
// NewDefaultNetwork() loopback; otherwise it is gRPC.
//
//   std::unique_ptr<anvil::Network> network = anvil::NewDefaultNetwork(rt);
//   absl::StatusOr<std::unique_ptr<anvil::Server>> server =
//       network->Serve("127.0.0.1:0", StorageRef::Handlers(storage));
//   StorageRef remote(network->Connect((*server)->address()));
//   absl::StatusOr<ReadReply> r = co_await remote.Read(request);
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_TRANSPORT_NETWORK_H_
#define ANVIL_RUNTIME_TRANSPORT_NETWORK_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/task.h"
#include "runtime/transport/channel.h"

namespace anvil {

// One node's server.
class Server {
 public:
  // Destroying a server that was not stopped stops it as Stop(5 s) would,
  // blocking the calling thread (so not on a worker whose calls it waits
  // for).
  virtual ~Server() = default;
  // Where clients Connect: "127.0.0.1:41234" (gRPC, the port bound) or the
  // name it was given (loopback).
  virtual const std::string& address() const = 0;

  // Sets what health checks report for `service` (a full service name such
  // as "demo.kv.KvStore"; "" for the server as a whole). Over gRPC it is the
  // standard grpc.health.v1.Health service. Until set, a served service
  // reports NOT_SERVING. Thread-safe.
  virtual void SetServing(const std::string& service, bool serving) = 0;

  // Stops the server: new calls get UNAVAILABLE at once; calls in flight
  // get up to `grace` to finish, then the rest are cancelled (their callers
  // get UNAVAILABLE, the actors serving them see CallContext::cancelled()).
  // Completes once no call is left. Await on a worker; later calls
  // complete at once.
  virtual Task<> Stop(absl::Duration grace) = 0;
};

class Network {
 public:
  virtual ~Network() = default;

  // "grpc" or "loopback".
  virtual absl::string_view name() const = 0;

  // Whether its servers know for sure who calls: the RemoteCaller of each
  // call they serve has the caller's proven names (mutual TLS; a simulated
  // node's view). If not, a node's CLUSTER services can only take a
  // caller's claimed name on trust (see docs/transport.md, "Security").
  virtual bool VerifiesCallers() const = 0;
  // The largest message, serialized, its servers and channels take: a
  // larger request or reply fails its call with RESOURCE_EXHAUSTED. What a
  // service that batches (Raft's AppendEntries) sizes its batches below.
  virtual size_t max_message_bytes() const = 0;

  // Serves `handlers` at `address`. gRPC: "host:port", port 0 picks a free
  // one. Loopback: any name unique in the network. Errors: ALREADY_EXISTS
  // (loopback name taken), UNAVAILABLE (gRPC could not bind).
  virtual absl::StatusOr<std::unique_ptr<Server>> Serve(
      const std::string& address, MethodHandlers handlers) = 0;

  // A channel to `address`; connects lazily, so an address with no server
  // gives UNAVAILABLE on the first call, not here.
  virtual std::shared_ptr<Channel> Connect(const std::string& address) = 0;
};

// The build's default network on `runtime`: loopback with --config=sim,
// gRPC otherwise.
std::unique_ptr<Network> NewDefaultNetwork(Runtime& runtime);

// The name of the default: "grpc" or "loopback".
absl::string_view DefaultNetworkName();

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_NETWORK_H_
