// forged_raft_call: the attack a client outside a kv cluster could make, for
// the tests that show it is refused. Sends one forged AppendEntries (a much
// higher term, prev_index 0, one entry: accepted, it would truncate the
// node's log) and one RequestVote with a huge term (accepted, it would
// depose the leader) to --server, then bytes that are no PutRequest to
// KvStore.Put, and prints each outcome:
//
//   forged_raft_call --server=127.0.0.1:7001 [--anvil_tls_ca=ca.pem
//       [--anvil_tls_cert=mallory.pem --anvil_tls_key=mallory.key]]
//       [--claim=n2]
//   append: 7 PERMISSION_DENIED ...
//   vote: 7 PERMISSION_DENIED ...
//   garbage: 3 the request does not parse as anvil.kv.PutRequest
//
// A plain gRPC client (no anvil runtime). Exit code 0 once every call was
// answered (whatever the answer), 2 on bad flags.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "services/kv/kv.grpc.pb.h"

ABSL_FLAG(std::string, server, "", "The kvd to attack (host:port).");
ABSL_FLAG(std::string, anvil_tls_ca, "", "Call over TLS, trusting this CA.");
ABSL_FLAG(std::string, anvil_tls_cert, "", "Present this certificate.");
ABSL_FLAG(std::string, anvil_tls_key, "", "The key of --anvil_tls_cert.");
ABSL_FLAG(std::string, claim, "",
          "Claim to be this node (the anvil-peer header).");

namespace {

std::string Read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

void Print(const char* what, const grpc::Status& status) {
  std::printf("%s: %d %s\n", what, static_cast<int>(status.error_code()),
              status.ok() ? "OK (the forgery was accepted)"
                          : status.error_message().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    std::fprintf(stderr, "forged_raft_call: give --server\n");
    return 2;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!absl::GetFlag(FLAGS_anvil_tls_ca).empty()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(absl::GetFlag(FLAGS_anvil_tls_ca));
    if (!absl::GetFlag(FLAGS_anvil_tls_cert).empty()) {
      options.pem_cert_chain = Read(absl::GetFlag(FLAGS_anvil_tls_cert));
      options.pem_private_key = Read(absl::GetFlag(FLAGS_anvil_tls_key));
    }
    credentials = grpc::SslCredentials(options);
  }
  std::unique_ptr<anvil::kv::RaftPeer::Stub> stub =
      anvil::kv::RaftPeer::NewStub(grpc::CreateChannel(server, credentials));
  auto context = [](grpc::ClientContext& c) {
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!absl::GetFlag(FLAGS_claim).empty()) {
      c.AddMetadata("anvil-peer", absl::GetFlag(FLAGS_claim));
    }
  };

  constexpr uint64_t kForgedTerm = uint64_t{1} << 40;
  anvil::kv::AppendRequest append;
  append.set_term(kForgedTerm);
  append.set_leader("mallory");
  append.set_prev_index(0);
  append.add_entries()->set_term(kForgedTerm);
  append.set_leader_commit(1);
  anvil::kv::AppendReply appended;
  grpc::ClientContext append_context;
  context(append_context);
  Print("append", stub->AppendEntries(&append_context, append, &appended));

  anvil::kv::VoteRequest vote;
  vote.set_term(kForgedTerm);
  vote.set_candidate("mallory");
  vote.set_last_log_index(kForgedTerm);
  vote.set_last_log_term(kForgedTerm);
  anvil::kv::VoteReply voted;
  grpc::ClientContext vote_context;
  context(vote_context);
  Print("vote", stub->RequestVote(&vote_context, vote, &voted));

  // A truncated varint: no message parses from it.
  grpc::GenericStub generic(grpc::CreateChannel(server, credentials));
  const grpc::Slice slice(std::string("\x0a\xff\xff\xff", 4));
  const grpc::ByteBuffer garbage(&slice, 1);
  grpc::ByteBuffer ignored;
  grpc::ClientContext garbage_context;
  context(garbage_context);
  std::promise<grpc::Status> answered;
  generic.UnaryCall(&garbage_context, "/anvil.kv.KvStore/Put",
                    grpc::StubOptions(), &garbage, &ignored,
                    [&](grpc::Status status) { answered.set_value(status); });
  Print("garbage", answered.get_future().get());
  return 0;
}
