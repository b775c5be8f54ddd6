// kvctl: the kv store's command-line client. A plain gRPC client (the
// generated kv.grpc.pb.h stub, no anvil runtime), as any program in any
// language could be.
//
//   kvctl --servers=127.0.0.1:7001,127.0.0.1:7002 put color blue
//   kvctl --servers=127.0.0.1:7001 get color            # prints blue
//   kvctl --servers=127.0.0.1:7001 get color size       # "color blue" ...
//   kvctl --servers=... cas color blue green            # swap if blue
//   kvctl --servers=... cas --absent color red          # create if absent
//   kvctl --servers=... delete color
//   kvctl --servers=... status                          # each server's Raft
//   kvctl --servers=... watch color                     # changes under a
//   prefix kvctl --servers=... --watch_limit=10 watch "" 42    # from revision
//   42
//
//   # Over TLS, with the flags kvd has (a client certificate for a kvd that
//   # runs with --anvil_tls_mutual):
//   kvctl --anvil_tls_ca=ca.pem --anvil_tls_cert=me.pem \
//       --anvil_tls_key=me.key --servers=... get color
//
// Any node serves any call (a follower passes it to the leader). A server
// that is down or has no leader yet is skipped for the next one, round and
// round, until --timeout; a write goes in a session of its own (kv.proto's
// ClientSession), so a retried one applies once. A watch prints one line
// per change ("PUT key value @revision", "DELETE key @revision") and, when
// its server goes away, resumes at the next one from the revision after
// the last it printed: no change is missed or printed twice. Exit codes: 0
// done; 1 get: not found, cas: not swapped; 2 bad usage (or unreadable TLS
// files); 3 no server answered (a watch: for --timeout in a row), or a watch's
// revision is no longer kept.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "runtime/node/flag_help.h"
#include "services/kv/kv.grpc.pb.h"
#include "services/kv/kv_bench.h"

ABSL_FLAG(std::vector<std::string>, servers, {"127.0.0.1:7001"},
          "kvd addresses, comma-separated.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "Give up after this long.");
ABSL_FLAG(bool, absent, false, "cas: expect the key to be absent.");
ABSL_FLAG(int64_t, watch_limit, 0,
          "watch: exit after this many changes (0: never).");
ABSL_FLAG(std::string, bench_target, "anvil",
          "bench: anvil (KvStore) or etcd (etcd v3's KV API at --servers).");
ABSL_FLAG(int, bench_connections, 4,
          "bench: HTTP/2 connections, spread over --servers.");
ABSL_FLAG(int, bench_concurrency, 64, "bench: requests kept in flight.");
ABSL_FLAG(int, bench_value_size, 100, "bench: bytes per value.");
ABSL_FLAG(double, bench_put_fraction, 1.0,
          "bench: the fraction of requests that are Puts; the rest Gets.");
ABSL_FLAG(int, bench_keys, 10000, "bench: distinct keys.");
ABSL_FLAG(absl::Duration, bench_duration, absl::Seconds(10),
          "bench: how long to measure.");
ABSL_FLAG(absl::Duration, bench_warmup, absl::Seconds(2),
          "bench: how long to run before measuring.");
ABSL_FLAG(std::string, anvil_tls_ca, "",
          "PEM certificate authority that signed the servers' certificates: "
          "call over TLS.");
ABSL_FLAG(std::string, anvil_tls_cert, "",
          "PEM client certificate chain (with --anvil_tls_key), for servers "
          "that require one (kvd --anvil_tls_mutual).");
ABSL_FLAG(std::string, anvil_tls_key, "",
          "PEM private key of --anvil_tls_cert.");

namespace {

using anvil::kv::KvStore;

constexpr char kUsage[] =
    "the kv store's command-line client.\n\n"
    "usage: kvctl [--servers=host:port,...] [flags] COMMAND ARGS...\n\n"
    "commands:\n"
    "  get KEY...               print the value (several: KEY VALUE lines)\n"
    "  put KEY VALUE            set a key\n"
    "  delete KEY               remove a key\n"
    "  cas KEY EXPECTED VALUE   set KEY to VALUE if it holds EXPECTED\n"
    "  cas --absent KEY VALUE   create KEY if it is absent\n"
    "  status                   each server's Raft state\n"
    "  watch PREFIX [FROM_REVISION]\n"
    "                           print changes under PREFIX, from a revision\n"
    "  bench                    load the servers (--bench_* flags) and print\n"
    "                           throughput and latency percentiles\n\n"
    "exit codes: 0 done; 1 get: not found, cas: not swapped; 2 bad usage;\n"
    "3 no server answered, or a watch's revision is no longer kept";

// A session of its own for the one write this run makes, so that the
// retries CallAny makes (at another server, after a timeout) apply once.
anvil::kv::ClientSession OneRequestSession() {
  std::random_device random;
  anvil::kv::ClientSession session;
  session.set_client_id((uint64_t{random()} << 32 | random()) | 1);
  session.set_sequence(1);
  return session;
}

// What every call connects with: plaintext, or TLS from the flags.
std::shared_ptr<grpc::ChannelCredentials> credentials;

// The contents of `path`, or "" (with a message) if it cannot be read.
std::string ReadFile(const std::string& path, const char* flag) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file || contents.str().empty()) {
    std::fprintf(stderr, "kvctl: --%s: cannot read %s\n", flag, path.c_str());
    return "";
  }
  return contents.str();
}

// Sets `credentials` from the TLS flags; false (with a message) if they
// are incomplete or a file cannot be read.
bool SetCredentials() {
  const std::string ca = absl::GetFlag(FLAGS_anvil_tls_ca);
  const std::string cert = absl::GetFlag(FLAGS_anvil_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_anvil_tls_key);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty()) {
      std::fprintf(stderr,
                   "kvctl: --anvil_tls_cert and --anvil_tls_key need "
                   "--anvil_tls_ca\n");
      return false;
    }
    credentials = grpc::InsecureChannelCredentials();
    return true;
  }
  if (cert.empty() != key.empty()) {
    std::fprintf(stderr,
                 "kvctl: give both --anvil_tls_cert and --anvil_tls_key, or "
                 "neither\n");
    return false;
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(ca, "anvil_tls_ca");
  if (options.pem_root_certs.empty()) return false;
  if (!cert.empty()) {
    options.pem_cert_chain = ReadFile(cert, "anvil_tls_cert");
    options.pem_private_key = ReadFile(key, "anvil_tls_key");
    if (options.pem_cert_chain.empty() || options.pem_private_key.empty()) {
      return false;
    }
  }
  credentials = grpc::SslCredentials(options);
  return true;
}

// Calls `call(stub, context)` on each server in turn until one answers
// with something other than UNAVAILABLE (down, no leader yet), or the
// timeout passes. The last status.
template <typename Call>
grpc::Status CallAny(Call call) {
  const std::vector<std::string> servers = absl::GetFlag(FLAGS_servers);
  const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_timeout);
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "no servers given");
  for (size_t i = 0; !servers.empty() && absl::Now() < give_up; ++i) {
    std::unique_ptr<KvStore::Stub> stub = KvStore::NewStub(
        grpc::CreateChannel(servers[i % servers.size()], credentials));
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(std::min(give_up, absl::Now() + absl::Seconds(2))));
    status = call(*stub, context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return status;
    if ((i + 1) % servers.size() == 0) absl::SleepFor(absl::Milliseconds(200));
  }
  return status;
}

int Fail(const grpc::Status& status);

// Prints the changes under `prefix` from revision `from` (0: from now),
// resuming at the next server when one goes away. Returns the exit code.
int Watch(const std::string& prefix, uint64_t from) {
  const std::vector<std::string> servers = absl::GetFlag(FLAGS_servers);
  const int64_t limit = absl::GetFlag(FLAGS_watch_limit);
  if (from == 0) {
    // "From now" as a revision, so that a resumed watch misses nothing.
    anvil::kv::RaftStatus raft;
    grpc::Status known = CallAny([&](KvStore::Stub& stub, auto& context) {
      return stub.Status(&context, anvil::kv::RaftStatusRequest(), &raft);
    });
    if (!known.ok()) return Fail(known);
    from = raft.applied_index() + 1;
  }
  int64_t printed = 0;
  absl::Time last_answer = absl::Now();
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "no servers given");
  for (size_t i = 0; !servers.empty(); ++i) {
    std::unique_ptr<KvStore::Stub> stub = KvStore::NewStub(
        grpc::CreateChannel(servers[i % servers.size()], credentials));
    grpc::ClientContext context;
    anvil::kv::WatchRequest request;
    request.set_prefix(prefix);
    request.set_from_revision(from);
    std::unique_ptr<grpc::ClientReader<anvil::kv::WatchEvent>> reader =
        stub->Watch(&context, request);
    anvil::kv::WatchEvent event;
    while (reader->Read(&event)) {
      last_answer = absl::Now();
      if (event.type() == anvil::kv::WatchEvent::DELETE) {
        std::printf("DELETE %s @%llu\n", event.key().c_str(),
                    static_cast<unsigned long long>(event.revision()));
      } else {
        std::printf("PUT %s %s @%llu\n", event.key().c_str(),
                    event.value().c_str(),
                    static_cast<unsigned long long>(event.revision()));
      }
      std::fflush(stdout);
      from = event.revision() + 1;
      if (limit > 0 && ++printed >= limit) {
        context.TryCancel();
        return 0;
      }
    }
    status = reader->Finish();
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE ||
        status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      break;  // no server will do better
    }
    if (absl::Now() - last_answer > absl::GetFlag(FLAGS_timeout)) break;
    if ((i + 1) % servers.size() == 0) absl::SleepFor(absl::Milliseconds(200));
  }
  return Fail(status);
}

int Fail(const grpc::Status& status) {
  std::fprintf(stderr, "kvctl: %d %s\n", static_cast<int>(status.error_code()),
               status.error_message().c_str());
  return 3;
}

int Run(const std::vector<char*>& args) {
  if (args.size() < 2) {
    std::fprintf(stderr, "kvctl: %s\n", kUsage);
    return 2;
  }
  const std::string command = args[1];
  auto arg = [&](size_t i) { return std::string(args[i]); };
  if (command == "bench" && args.size() == 2) {
    using Target = anvil::kv::KvBenchOptions::Target;
    const std::string target = absl::GetFlag(FLAGS_bench_target);
    if (target != "anvil" && target != "etcd") {
      std::fprintf(stderr,
                   "kvctl: bench: --bench_target is anvil or etcd, not '%s'\n",
                   target.c_str());
      return 2;
    }
    absl::StatusOr<anvil::kv::KvBenchResult> result = anvil::kv::RunKvBench(
        absl::GetFlag(FLAGS_servers), credentials,
        {.target = target == "etcd" ? Target::kEtcd : Target::kAnvil,
         .connections = absl::GetFlag(FLAGS_bench_connections),
         .concurrency = absl::GetFlag(FLAGS_bench_concurrency),
         .value_size = absl::GetFlag(FLAGS_bench_value_size),
         .put_fraction = absl::GetFlag(FLAGS_bench_put_fraction),
         .keys = absl::GetFlag(FLAGS_bench_keys),
         .duration = absl::GetFlag(FLAGS_bench_duration),
         .warmup = absl::GetFlag(FLAGS_bench_warmup),
         .request_timeout = absl::GetFlag(FLAGS_timeout)});
    if (!result.ok()) {
      std::fprintf(stderr, "kvctl: bench: %s\n",
                   std::string(result.status().message()).c_str());
      return 2;
    }
    std::printf("%s\n", anvil::kv::FormatKvBenchResult(*result).c_str());
    return result->puts + result->gets > 0 ? 0 : 3;
  }
  if (command == "get" && args.size() >= 3) {
    // One key: its value. Several: "KEY VALUE" lines, in order.
    int missing = 0;
    for (size_t i = 2; i < args.size(); ++i) {
      anvil::kv::GetRequest request;
      request.set_key(arg(i));
      anvil::kv::GetReply reply;
      grpc::Status status = CallAny([&](KvStore::Stub& stub, auto& context) {
        return stub.Get(&context, request, &reply);
      });
      if (!status.ok()) return Fail(status);
      if (!reply.found()) {
        ++missing;
        std::fprintf(stderr, "kvctl: %s: not found\n", request.key().c_str());
      } else if (args.size() == 3) {
        std::printf("%s\n", reply.value().c_str());
      } else {
        std::printf("%s %s\n", request.key().c_str(), reply.value().c_str());
      }
    }
    return missing == 0 ? 0 : 1;
  }
  if (command == "put" && args.size() == 4) {
    anvil::kv::PutRequest request;
    request.set_key(arg(2));
    request.set_value(arg(3));
    *request.mutable_session() = OneRequestSession();
    anvil::kv::PutReply reply;
    grpc::Status status = CallAny([&](KvStore::Stub& stub, auto& context) {
      return stub.Put(&context, request, &reply);
    });
    if (!status.ok()) return Fail(status);
    std::printf("ok, version %llu\n",
                static_cast<unsigned long long>(reply.version()));
    return 0;
  }
  if (command == "delete" && args.size() == 3) {
    anvil::kv::DeleteRequest request;
    request.set_key(arg(2));
    *request.mutable_session() = OneRequestSession();
    anvil::kv::DeleteReply reply;
    grpc::Status status = CallAny([&](KvStore::Stub& stub, auto& context) {
      return stub.Delete(&context, request, &reply);
    });
    if (!status.ok()) return Fail(status);
    std::printf("%s\n", reply.existed() ? "deleted" : "was absent");
    return 0;
  }
  const bool absent = absl::GetFlag(FLAGS_absent);
  if (command == "cas" && args.size() == (absent ? 4u : 5u)) {
    anvil::kv::CompareAndSetRequest request;
    request.set_key(arg(2));
    *request.mutable_session() = OneRequestSession();
    request.set_expect_absent(absent);
    if (!absent) request.set_expected(arg(3));
    request.set_value(arg(absent ? 3 : 4));
    anvil::kv::CompareAndSetReply reply;
    grpc::Status status = CallAny([&](KvStore::Stub& stub, auto& context) {
      return stub.CompareAndSet(&context, request, &reply);
    });
    if (!status.ok()) return Fail(status);
    if (reply.swapped()) {
      std::printf("swapped, version %llu\n",
                  static_cast<unsigned long long>(reply.version()));
      return 0;
    }
    std::printf("not swapped: %s\n",
                reply.found() ? reply.current().c_str() : "(absent)");
    return 1;
  }
  if (command == "watch" && (args.size() == 3 || args.size() == 4)) {
    uint64_t from = 0;
    if (args.size() == 4 && !absl::SimpleAtoi(args[3], &from)) {
      std::fprintf(stderr, "kvctl: FROM_REVISION must be a number, not %s\n",
                   args[3]);
      return 2;
    }
    return Watch(args[2], from);
  }
  if (command == "status" && args.size() == 2) {
    int answered = 0;
    for (const std::string& server : absl::GetFlag(FLAGS_servers)) {
      std::unique_ptr<KvStore::Stub> stub =
          KvStore::NewStub(grpc::CreateChannel(server, credentials));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
      anvil::kv::RaftStatus reply;
      grpc::Status status =
          stub->Status(&context, anvil::kv::RaftStatusRequest(), &reply);
      if (!status.ok()) {
        std::printf("%s: %s\n", server.c_str(), status.error_message().c_str());
        continue;
      }
      ++answered;
      std::printf(
          "%s: %s %s, term %llu, leader %s, log %llu, committed %llu, "
          "applied %llu, %llu keys\n",
          server.c_str(), reply.node().c_str(), reply.role().c_str(),
          static_cast<unsigned long long>(reply.term()),
          reply.leader().empty() ? "unknown" : reply.leader().c_str(),
          static_cast<unsigned long long>(reply.last_index()),
          static_cast<unsigned long long>(reply.commit_index()),
          static_cast<unsigned long long>(reply.applied_index()),
          static_cast<unsigned long long>(reply.keys()));
    }
    return answered > 0 ? 0 : 3;
  }
  std::fprintf(stderr,
               "kvctl: unknown command, or the wrong arguments for it: %s\n\n"
               "%s\n",
               command.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (anvil::AsksForHelp(argc, argv)) {
    anvil::PrintFlagHelp(std::cout, absl::StrCat("kvctl: ", kUsage),
                         "services/kv/kvctl_main.cc",
                         /*with_runtime_flags=*/false);
    return 0;
  }
  absl::SetProgramUsageMessage(kUsage);
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (!SetCredentials()) return 2;
  return Run(args);
}
