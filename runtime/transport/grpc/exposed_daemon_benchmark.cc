// Unary QPS and latency of an exposed daemon (BenchEcho, served by its
// node) against a baseline doing the same work (echo the text), with the
// same client, in the same process and run:
//
//   ./bazelw run --config=opt //runtime/transport:exposed_daemon_benchmark
//
// BM_ExposedEchoVsRawGrpc: against a hand-written gRPC callback-API server,
// with the runtime's default options and with one worker that does not
// spin (see the Args below). Targets: qps_ratio = anvil / raw >= 0.9,
// p99_ratio = anvil / raw <= 1.2.
// BM_NoOpServerInterceptor: the same daemon on a runtime with one server
// interceptor that does nothing, against one without. Target: qps_ratio =
// intercepted / plain >= 0.97.
// BM_MutualTlsClusterVsRawGrpc: a CLUSTER daemon over mutual TLS (the
// caller's certificate checked against the cluster's nodes on every call)
// against the raw server with the same TLS credentials. Target: qps_ratio
// >= 0.9.
//
// The client keeps 32 calls in flight over one channel per server. Rounds
// alternate between the two sides so that drift in the machine's speed
// hits both alike; the counters give each side's QPS and p50/p99 latency,
// and the ratios.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo.grpc.pb.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "testing/test_certificates.h"

namespace anvil::transport::testdata {
namespace {

constexpr int kConcurrency = 32;
constexpr int kCallsPerRound = 4000;

// The baseline: gRPC's callback API, the reply made on gRPC's thread.
template <typename Service>
class RawEchoService final : public Service::CallbackService {
  grpc::ServerUnaryReactor* Say(grpc::CallbackServerContext* context,
                                const EchoRequest* request,
                                EchoReply* reply) override {
    reply->set_text(request->text());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// A server interceptor that does nothing.
class NoOpInterceptor final : public ServerInterceptor {};

// Closed-loop load: `concurrency` calls in flight until `calls` completed.
// Appends each call's latency (ns) to `latencies`; returns the wall time.
template <typename Stub>
class Load {
 public:
  // `bytes` of text per request (0: "a small message").
  Load(Stub& stub, int calls, std::vector<int64_t>& latencies, int64_t bytes)
      : stub_(stub), remaining_(calls), latencies_(latencies) {
    request_.set_text(bytes == 0 ? std::string("a small message")
                                 : std::string(bytes, 'x'));
  }

  int64_t Run(int concurrency) {
    const auto start = std::chrono::steady_clock::now();
    {
      MutexLock lock(mu_);
      for (int i = 0; i < concurrency && remaining_ > 0; ++i) StartLocked();
      while (in_flight_ > 0) done_.Wait(mu_);
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now() - start)
        .count();
  }

 private:
  struct Call {
    grpc::ClientContext context;
    EchoReply reply;
    std::chrono::steady_clock::time_point start;
  };

  void StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    --remaining_;
    ++in_flight_;
    auto* call = new Call;
    call->start = std::chrono::steady_clock::now();
    stub_.async()->Say(
        &call->context, &request_, &call->reply,
        [this, call](grpc::Status status) {
          const auto end = std::chrono::steady_clock::now();
          if (!status.ok()) {
            std::fprintf(stderr, "call failed: %s\n",
                         status.error_message().c_str());
            std::abort();
          }
          MutexLock lock(mu_);
          latencies_.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(end -
                                                                   call->start)
                  .count());
          delete call;
          --in_flight_;
          if (remaining_ > 0) StartLocked();
          if (in_flight_ == 0) done_.NotifyAll();
        });
  }

  Stub& stub_;
  EchoRequest request_;
  Mutex mu_;
  CondVar done_;
  int remaining_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t>& latencies_ ABSL_GUARDED_BY(mu_);
};

double Percentile(std::vector<int64_t>& values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index =
      std::min(values.size() - 1,
               static_cast<size_t>(p * static_cast<double>(values.size())));
  return static_cast<double>(values[index]) / 1e3;  // µs
}

template <typename Service>
std::unique_ptr<typename Service::Stub> StubFor(
    const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::InsecureChannelCredentials()) {
  return Service::NewStub(grpc::CreateChannel(address, credentials));
}

// A raw callback server of `Service` on 127.0.0.1 with `credentials`.
template <typename Service>
class RawServer {
 public:
  explicit RawServer(std::shared_ptr<grpc::ServerCredentials> credentials =
                         grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) std::abort();
  }
  ~RawServer() { server_->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  RawEchoService<Service> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Runs the benchmark's rounds, alternating between `measured` and
// `baseline`, and sets the counters: `<name>_qps`, `_p50_us`, `_p99_us`
// for each side, and qps_ratio and p99_ratio (measured / baseline).
template <typename Stub>
void Alternate(benchmark::State& state, Stub& measured, Stub& baseline,
               const std::string& measured_name,
               const std::string& baseline_name, int64_t bytes) {
  // Warm both up: connections, pools, caches.
  std::vector<int64_t> ignored;
  Load<Stub>(measured, 2000, ignored, bytes).Run(kConcurrency);
  Load<Stub>(baseline, 2000, ignored, bytes).Run(kConcurrency);

  std::vector<int64_t> measured_latencies;
  std::vector<int64_t> baseline_latencies;
  int64_t measured_ns = 0;
  int64_t baseline_ns = 0;
  int64_t calls = 0;
  for (auto _ : state) {
    measured_ns +=
        Load<Stub>(measured, kCallsPerRound, measured_latencies, bytes)
            .Run(kConcurrency);
    baseline_ns +=
        Load<Stub>(baseline, kCallsPerRound, baseline_latencies, bytes)
            .Run(kConcurrency);
    calls += kCallsPerRound;
  }
  const double measured_qps = static_cast<double>(calls) * 1e9 / measured_ns;
  const double baseline_qps = static_cast<double>(calls) * 1e9 / baseline_ns;
  const double measured_p99 = Percentile(measured_latencies, 0.99);
  const double baseline_p99 = Percentile(baseline_latencies, 0.99);
  state.counters[measured_name + "_qps"] = measured_qps;
  state.counters[baseline_name + "_qps"] = baseline_qps;
  state.counters["qps_ratio"] = measured_qps / baseline_qps;
  state.counters[measured_name + "_p50_us"] =
      Percentile(measured_latencies, 0.5);
  state.counters[baseline_name + "_p50_us"] =
      Percentile(baseline_latencies, 0.5);
  state.counters[measured_name + "_p99_us"] = measured_p99;
  state.counters[baseline_name + "_p99_us"] = baseline_p99;
  state.counters["p99_ratio"] = measured_p99 / baseline_p99;
}

// A BenchEcho daemon served by its node on a runtime of its own.
class EchoNode {
 public:
  explicit EchoNode(RuntimeOptions options)
      : runtime_(std::move(options)), factory_(runtime_) {
    factory_.Bind<BenchEchoDaemon, BenchEchoImpl>();
    if (!factory_.Get<BenchEchoDaemon>().ok()) std::abort();
    node_ = std::make_unique<Node>(factory_);
    if (!node_->Start().ok()) std::abort();
  }
  ~EchoNode() {
    node_->RequestStop();
    if (!node_->Wait().ok()) std::abort();
  }
  const std::string& address() const { return node_->address(); }

 private:
  Runtime runtime_;
  Factory factory_;
  std::unique_ptr<Node> node_;
};

void BM_ExposedEchoVsRawGrpc(benchmark::State& state) {
  // anvil: the Echo daemon, exposed by its node.
  RuntimeOptions options{.name = "bench", .handle_signals = false};
  if (state.range(0) > 0) {
    options.threads = static_cast<size_t>(state.range(0));
    options.idle_spin = absl::Microseconds(state.range(1));
  }
  EchoNode node(options);
  RawServer<BenchEcho> raw;
  auto anvil_stub = StubFor<BenchEcho>(node.address());
  auto raw_stub = StubFor<BenchEcho>(raw.address());
  Alternate(state, *anvil_stub, *raw_stub, "anvil", "raw", state.range(2));
}
// Args: anvil's worker threads and idle spin (µs), and the request's size
// in bytes (0: a 15-byte text). Threads 0 is the RuntimeOptions defaults (a
// worker per core, 20 µs spin). On a machine whose cores gRPC's own
// threads also need, spinning workers take CPU from them: {1, 0} leaves it
// to gRPC.
BENCHMARK(BM_ExposedEchoVsRawGrpc)
    ->ArgNames({"threads", "spin_us", "bytes"})
    ->Args({0, 0, 0})
    ->Args({1, 0, 0})
    ->Args({0, 0, 4096})
    ->Args({1, 0, 4096})
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One worker each, not spinning, so that the idle side leaves the cores to
// the measured one.
void BM_NoOpServerInterceptor(benchmark::State& state) {
  RuntimeOptions plain_options{.threads = 1,
                               .name = "plain",
                               .handle_signals = false,
                               .idle_spin = absl::ZeroDuration()};
  RuntimeOptions intercepted_options = plain_options;
  intercepted_options.name = "intercepted";
  intercepted_options.server_interceptors = {
      std::make_shared<NoOpInterceptor>()};
  EchoNode plain(plain_options);
  EchoNode intercepted(intercepted_options);
  auto plain_stub = StubFor<BenchEcho>(plain.address());
  auto intercepted_stub = StubFor<BenchEcho>(intercepted.address());
  Alternate(state, *intercepted_stub, *plain_stub, "intercepted", "plain", 0);
}
BENCHMARK(BM_NoOpServerInterceptor)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_MutualTlsClusterVsRawGrpc(benchmark::State& state) {
  const std::string dir = absl::StrCat(anvil::testing::TestDirectory(),
                                       "/anvil_bench_certs_", getpid());
  std::filesystem::create_directories(dir);
  if (!anvil::testing::MakeCertificates(dir, "ca", {"n1", "n2"}).ok()) {
    state.SkipWithError("openssl could not make the certificates");
    return;
  }
  auto tls_of = [&](const std::string& name) {
    absl::StatusOr<GrpcNetworkOptions> tls =
        TlsFromFiles({.cert_chain = absl::StrCat(dir, "/", name, ".pem"),
                      .private_key = absl::StrCat(dir, "/", name, ".key"),
                      .root_certs = absl::StrCat(dir, "/ca.pem"),
                      .mutual = true});
    if (!tls.ok()) std::abort();
    return *std::move(tls);
  };
  const GrpcNetworkOptions server_tls = tls_of("n1");
  const GrpcNetworkOptions client_tls = tls_of("n2");

  // anvil: node n1 of the cluster {n1, n2}, serving BenchPeerEcho to the
  // cluster's nodes; the client's certificate names n2.
  Runtime runtime({.name = "bench", .handle_signals = false});
  auto network = std::make_shared<GrpcNetwork>(runtime, server_tls);
  Factory root(runtime);
  root.Provide<Cluster>(std::make_unique<Cluster>(
      network, std::map<std::string, std::string>{{"n2", "127.0.0.1:1"}}));
  if (!root.Get<Cluster>().ok()) std::abort();
  Factory& n1 = root.Child("n1");
  n1.Bind<BenchPeerEchoDaemon, BenchPeerEchoImpl>();
  if (!n1.Get<BenchPeerEchoDaemon>().ok()) std::abort();
  Node root_node(root);
  if (!root_node.Start().ok()) std::abort();
  Node node(n1, NodeOptions{.network = network});
  if (!node.Start().ok()) std::abort();

  RawServer<BenchPeerEcho> raw(server_tls.server_credentials);
  auto anvil_stub =
      StubFor<BenchPeerEcho>(node.address(), client_tls.channel_credentials);
  auto raw_stub =
      StubFor<BenchPeerEcho>(raw.address(), client_tls.channel_credentials);
  Alternate(state, *anvil_stub, *raw_stub, "anvil", "raw", 0);

  node.RequestStop();
  if (!node.Wait().ok()) std::abort();
  root_node.RequestStop();
  if (!root_node.Wait().ok()) std::abort();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_MutualTlsClusterVsRawGrpc)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace anvil::transport::testdata

BENCHMARK_MAIN();
