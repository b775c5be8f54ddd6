// Unary QPS and latency of an exposed daemon (BenchEcho, served by its
// node) against a hand-written gRPC callback-API server doing the same work
// (echo the text), with the same client, in the same process and run:
//
//   ./bazelw run --config=opt //runtime/transport:exposed_daemon_benchmark
//
// Runs twice: with the runtime's default options, and with one worker that
// does not spin (see the Args below). The client keeps `concurrency` calls in
// flight over one channel per server. Rounds alternate between the two servers
// so that drift in the machine's speed hits both alike; the counters give each
// side's QPS and p50/p99 latency, and the ratios the target is stated in:
// qps_ratio = anvil / raw (target >= 0.9), p99_ratio = anvil / raw (target
// <= 1.2).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/daemon/factory.h"
#include "runtime/daemon/node.h"
#include "runtime/transport/grpc/testdata/echo.grpc.pb.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"

namespace anvil::transport::testdata {
namespace {

constexpr int kConcurrency = 32;
constexpr int kCallsPerRound = 4000;

// The baseline: gRPC's callback API, the reply made on gRPC's thread.
class RawEchoService final : public BenchEcho::CallbackService {
  grpc::ServerUnaryReactor* Say(grpc::CallbackServerContext* context,
                                const EchoRequest* request,
                                EchoReply* reply) override {
    reply->set_text(request->text());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Closed-loop load: `concurrency` calls in flight until `calls` completed.
// Appends each call's latency (ns) to `latencies`; returns the wall time.
class Load {
 public:
  // `bytes` of text per request (0: "a small message").
  Load(BenchEcho::Stub& stub, int calls, std::vector<int64_t>& latencies,
       int64_t bytes)
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

  BenchEcho::Stub& stub_;
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

std::unique_ptr<BenchEcho::Stub> StubFor(const std::string& address) {
  return BenchEcho::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

void BM_ExposedEchoVsRawGrpc(benchmark::State& state) {
  // anvil: the Echo daemon, exposed by its node.
  RuntimeOptions options{.name = "bench", .handle_signals = false};
  if (state.range(0) > 0) {
    options.threads = static_cast<size_t>(state.range(0));
    options.idle_spin = absl::Microseconds(state.range(1));
  }
  Runtime runtime(options);
  Factory factory(runtime);
  factory.Bind<BenchEchoDaemon, BenchEchoImpl>();
  if (!factory.Get<BenchEchoDaemon>().ok()) std::abort();
  Node node(factory);
  if (!node.Start().ok()) std::abort();

  // The hand-written server.
  RawEchoService raw_service;
  grpc::ServerBuilder builder;
  int raw_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &raw_port);
  builder.RegisterService(&raw_service);
  std::unique_ptr<grpc::Server> raw_server = builder.BuildAndStart();

  std::unique_ptr<BenchEcho::Stub> anvil_stub = StubFor(node.address());
  std::unique_ptr<BenchEcho::Stub> raw_stub =
      StubFor("127.0.0.1:" + std::to_string(raw_port));
  // Warm both up: connections, pools, caches.
  std::vector<int64_t> ignored;
  const int64_t bytes = state.range(2);
  Load(*anvil_stub, 2000, ignored, bytes).Run(kConcurrency);
  Load(*raw_stub, 2000, ignored, bytes).Run(kConcurrency);

  std::vector<int64_t> anvil_latencies;
  std::vector<int64_t> raw_latencies;
  int64_t anvil_ns = 0;
  int64_t raw_ns = 0;
  int64_t calls = 0;
  for (auto _ : state) {
    anvil_ns += Load(*anvil_stub, kCallsPerRound, anvil_latencies, bytes)
                    .Run(kConcurrency);
    raw_ns +=
        Load(*raw_stub, kCallsPerRound, raw_latencies, bytes).Run(kConcurrency);
    calls += kCallsPerRound;
  }
  const double anvil_qps = static_cast<double>(calls) * 1e9 / anvil_ns;
  const double raw_qps = static_cast<double>(calls) * 1e9 / raw_ns;
  const double anvil_p99 = Percentile(anvil_latencies, 0.99);
  const double raw_p99 = Percentile(raw_latencies, 0.99);
  state.counters["anvil_qps"] = anvil_qps;
  state.counters["raw_qps"] = raw_qps;
  state.counters["qps_ratio"] = anvil_qps / raw_qps;
  state.counters["anvil_p50_us"] = Percentile(anvil_latencies, 0.5);
  state.counters["raw_p50_us"] = Percentile(raw_latencies, 0.5);
  state.counters["anvil_p99_us"] = anvil_p99;
  state.counters["raw_p99_us"] = raw_p99;
  state.counters["p99_ratio"] = anvil_p99 / raw_p99;

  raw_server->Shutdown();
  node.RequestStop();
  if (!node.Wait().ok()) std::abort();
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

}  // namespace
}  // namespace anvil::transport::testdata

BENCHMARK_MAIN();
