// GrpcNetwork: the Network over real gRPC (callback API). A server serves
// each service of its MethodHandlers as a named gRPC service of raw
// (serialized) unary methods, so any gRPC client can call them, server
// reflection lists them, and the standard health service reports them. A
// channel is a grpc::Channel with a generic stub. Handlers and replies run
// on the runtime's workers; gRPC's threads only hand calls over.
//
//   anvil::GrpcNetwork network(runtime);               // plaintext
//   auto server = network.Serve("127.0.0.1:0", StorageRef::Handlers(local));
//   (*server)->SetServing("demo.kv.Storage", true);
//   StorageRef remote(network.Connect((*server)->address()));
//
//   // TLS, or mutual TLS, from PEM files:
//   absl::StatusOr<anvil::GrpcNetworkOptions> tls = anvil::TlsFromFiles(
//       {.cert_chain = "node.pem", .private_key = "node.key",
//        .root_certs = "ca.pem", .mutual = true});
//   anvil::GrpcNetwork secure(runtime, *tls);
//
// A served call's CallContext::remote_caller() has the caller's address
// (gRPC's peer string), its metadata, the names its certificate proves
// (mutual TLS only) and the `anvil-peer` name it claims; what the handler
// adds with RemoteCaller::AddResponseMetadata goes back as initial
// metadata.
//
// Status codes map one to one both ways (absl and gRPC share them): the
// actor's status is the RPC's. Deadlines travel as gRPC deadlines and
// become the served call's CallContext deadline; a cancelled RPC ends the
// local call with CANCELLED and shows as CallContext::cancelled().
// Thread-safe.
#ifndef ANVIL_RUNTIME_TRANSPORT_GRPC_GRPC_NETWORK_H_
#define ANVIL_RUNTIME_TRANSPORT_GRPC_GRPC_NETWORK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "runtime/actor/runtime.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/network.h"

namespace anvil {

struct GrpcNetworkOptions {
  // What servers listen with; null: plaintext (fine on 127.0.0.1 only).
  std::shared_ptr<grpc::ServerCredentials> server_credentials;
  // What channels connect with; null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;
  // Whether `server_credentials` require and verify client certificates
  // (mutual TLS): then a served call's RemoteCaller::verified_names are
  // the certificate's subject common name and alternative names.
  bool verifies_clients = false;
  // The node this process runs, if one: channels send it in the
  // `anvil-peer` header, which peers that cannot verify certificates take
  // on trust for their CLUSTER services (see docs/transport.md).
  std::string node_name;
  // The longest a channel to an unreachable peer waits between attempts
  // to reconnect (it starts at 100 ms and backs off). gRPC's own default,
  // 120 s, suits clients of far services; a node whose peer restarted must
  // reach it again within about an election timeout.
  absl::Duration max_reconnect_backoff = absl::Seconds(1);

  // Limits (docs/transport.md, "Limits").
  //
  // The largest message, serialized, a server or channel takes or sends:
  // a larger request fails RESOURCE_EXHAUSTED at the channel before it is
  // sent (or at a server, from a client with a larger limit, before any
  // handler runs); a larger reply fails the call RESOURCE_EXHAUSTED.
  // gRPC's default; at most 2^31 - 1.
  size_t max_message_bytes = 4 << 20;
  // Calls one client connection may have in flight at a server (HTTP/2's
  // SETTINGS_MAX_CONCURRENT_STREAMS): the client holds further calls until
  // one ends, or until their deadline.
  int max_calls_per_connection = 1000;
  // Keepalive: a channel with calls in flight that hears nothing for
  // `keepalive_time` pings; with no answer within `keepalive_timeout` it
  // closes the connection, and its calls fail UNAVAILABLE at once instead
  // of waiting out their deadlines on a peer that is gone (a paused
  // process, a pulled cable). Servers ping idle clients the same way and
  // accept pings as often as every keepalive_time / 2. InfiniteDuration:
  // no pings.
  absl::Duration keepalive_time = absl::Seconds(10);
  absl::Duration keepalive_timeout = absl::Seconds(5);
};

// OK if `options`' limits are ones gRPC can apply; else INVALID_ARGUMENT
// naming the field.
absl::Status CheckLimits(const GrpcNetworkOptions& options);

// PEM files for TLS.
struct TlsFiles {
  // This side's certificate chain and its private key. A server needs
  // them; a client only with `mutual`.
  std::string cert_chain;
  std::string private_key;
  // The certificate authority that signed the peer's certificate: the
  // server's, for a client; the clients', for a server with `mutual`.
  std::string root_certs;
  // Mutual TLS: servers require a client certificate signed by
  // `root_certs`, and channels present `cert_chain`.
  bool mutual = false;
};

// Options for TLS from `files`. Errors: NOT_FOUND / INVALID_ARGUMENT naming
// a file that cannot be read or is empty.
absl::StatusOr<GrpcNetworkOptions> TlsFromFiles(const TlsFiles& files);

class GrpcNetwork final : public Network {
 public:
  explicit GrpcNetwork(Runtime& runtime, GrpcNetworkOptions options = {})
      : runtime_(runtime), options_(std::move(options)) {}

  absl::string_view name() const override { return "grpc"; }
  bool VerifiesCallers() const override { return options_.verifies_clients; }
  size_t max_message_bytes() const override {
    return options_.max_message_bytes;
  }
  // Method names must be gRPC's "/package.Service/Method"; INVALID_ARGUMENT
  // otherwise.
  absl::StatusOr<std::unique_ptr<Server>> Serve(
      const std::string& address, MethodHandlers handlers) override;
  std::shared_ptr<Channel> Connect(const std::string& address) override;

 private:
  Runtime& runtime_;
  const GrpcNetworkOptions options_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_GRPC_GRPC_NETWORK_H_
