// Server-streaming throughput of generated streams, in messages per
// second, each against a baseline in the same run:
//
//   ./bazelw run --config=opt //codegen:generated_stream_benchmark
//
// BM_LocalStream: a local stream between two actors on one worker (the
// daemon's Count writing, a client actor reading), of Numbers holding an
// int64 (no padding: a message that owns nothing on the heap). Target:
// >= 10 M messages/s.
// BM_ExposedStreamVsRawGrpc: Count over real gRPC on 127.0.0.1, the anvil
// daemon served by GrpcNetwork against a hand-written gRPC callback-API
// server (ServerWriteReactor writing from OnWriteDone) producing the same
// messages, read by the same synchronous gRPC client. 64-byte messages.
// Target: ratio = anvil / raw >= 0.9. Rounds alternate between the two.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "codegen/testdata/streams.anvil.h"
#include "codegen/testdata/streams.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/clock.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "testing/runtime_test_util.h"

namespace anvil::codegen::testdata::streams {
namespace {

// The padding that makes a Number 64 bytes serialized (value: 1-3 bytes).
constexpr int kPadding = 58;

class CountingDaemon final : public CounterDaemon {
 public:
  using CounterDaemon::CounterDaemon;

  Task<absl::Status> Count(CallContext&, const CountRequest& request,
                           ServerWriter<Number>& replies) override {
    const std::string padding(request.padding(), 'p');
    for (int64_t i = 0; i < request.count(); ++i) {
      Number number;
      number.set_value(request.from() + i);
      // A message with padding owns a heap string: none for the local
      // benchmark, whose messages are an int64.
      if (!padding.empty()) number.set_padding(padding);
      if (!(co_await replies.Write(std::move(number))).ok()) break;
    }
    co_return absl::OkStatus();
  }
  Task<absl::StatusOr<Sum>> Add(CallContext&, ServerReader<Number>&) override {
    co_return Sum();
  }
  Task<absl::Status> Double(CallContext&,
                            ServerStream<Number, Number>&) override {
    co_return absl::OkStatus();
  }
  Task<absl::StatusOr<Sum>> Cancelled(CallContext&,
                                      const CountRequest&) override {
    co_return Sum();
  }
};

// The baseline: gRPC's callback API, each write started from the last
// one's OnWriteDone, on gRPC's threads.
class RawCounter final : public Counter::CallbackService {
  grpc::ServerWriteReactor<Number>* Count(
      grpc::CallbackServerContext*, const CountRequest* request) override {
    class Writer final : public grpc::ServerWriteReactor<Number> {
     public:
      explicit Writer(const CountRequest& request)
          : left_(request.count()), next_(request.from()) {
        number_.set_padding(std::string(request.padding(), 'p'));
        Next();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status::CANCELLED);
          return;
        }
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        if (left_-- == 0) {
          Finish(grpc::Status::OK);
          return;
        }
        number_.set_value(next_++);
        StartWrite(&number_);
      }
      int64_t left_;
      int64_t next_;
      Number number_;
    };
    return new Writer(*request);
  }
};

CountRequest Counting(int64_t count) {
  CountRequest request;
  request.set_count(count);
  request.set_padding(kPadding);
  return request;
}

void BM_LocalStream(benchmark::State& state) {
  RuntimeOptions options = anvil::testing::TestRuntimeOptions();
  options.threads = 1;
  Runtime runtime(options);
  Factory root(runtime);
  root.Bind<CounterDaemon, CountingDaemon>();
  Node node(root);
  CounterRef counter = (*root.Get<CounterDaemon>())->ref();
  if (!node.Start().ok()) state.SkipWithError("the node did not start");
  const int64_t count = state.range(0);
  int64_t received = 0;
  for (auto _ : state) {
    received += anvil::testing::BlockOn(
        runtime, [](CounterRef c, int64_t n) -> Task<int64_t> {
          CountRequest request;
          request.set_count(n);
          ClientReader<Number> reader = c.Count(request);
          int64_t got = 0;
          while (co_await reader.Read()) ++got;
          (void)co_await reader.Finish();
          co_return got;
        }(counter, count));
  }
  state.SetItemsProcessed(received);
  node.RequestStop();
  (void)node.Wait();
}
BENCHMARK(BM_LocalStream)
    ->Arg(100000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Reads one Count stream of `count` messages from `stub`; how many came.
int64_t ReadCount(Counter::Stub& stub, int64_t count) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<Number>> reader =
      stub.Count(&context, Counting(count));
  Number number;
  int64_t got = 0;
  while (reader->Read(&number)) ++got;
  return reader->Finish().ok() ? got : -1;
}

void BM_ExposedStreamVsRawGrpc(benchmark::State& state) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  root.Bind<CounterDaemon, CountingDaemon>();
  Node node(root);
  CounterRef local = (*root.Get<CounterDaemon>())->ref();
  if (!node.Start().ok()) state.SkipWithError("the node did not start");
  GrpcNetwork network(runtime);
  absl::StatusOr<std::unique_ptr<Server>> anvil_server =
      network.Serve("127.0.0.1:0", CounterRef::Handlers(local));
  if (!anvil_server.ok()) state.SkipWithError("anvil could not serve");

  RawCounter raw_service;
  int raw_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &raw_port);
  builder.RegisterService(&raw_service);
  std::unique_ptr<grpc::Server> raw_server = builder.BuildAndStart();

  auto anvil_stub = Counter::NewStub(grpc::CreateChannel(
      (*anvil_server)->address(), grpc::InsecureChannelCredentials()));
  auto raw_stub =
      Counter::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", raw_port),
                                           grpc::InsecureChannelCredentials()));
  const int64_t count = state.range(0);
  ReadCount(*anvil_stub, 1000);  // connect and warm up both
  ReadCount(*raw_stub, 1000);
  int64_t anvil_ns = 0, raw_ns = 0, anvil_got = 0, raw_got = 0;
  for (auto _ : state) {
    int64_t start = Clock::MonotonicNanos();
    anvil_got += ReadCount(*anvil_stub, count);
    const int64_t middle = Clock::MonotonicNanos();
    raw_got += ReadCount(*raw_stub, count);
    const int64_t end = Clock::MonotonicNanos();
    anvil_ns += middle - start;
    raw_ns += end - middle;
  }
  if (anvil_got <= 0 || raw_got <= 0) state.SkipWithError("a stream failed");
  const double anvil_rate = anvil_got * 1e9 / static_cast<double>(anvil_ns);
  const double raw_rate = raw_got * 1e9 / static_cast<double>(raw_ns);
  state.counters["anvil_msgs_per_s"] = anvil_rate;
  state.counters["raw_msgs_per_s"] = raw_rate;
  state.counters["ratio"] = anvil_rate / raw_rate;
  raw_server->Shutdown();
  anvil::testing::BlockOn(runtime, (*anvil_server)->Stop(absl::Seconds(1)));
  node.RequestStop();
  (void)node.Wait();
}
BENCHMARK(BM_ExposedStreamVsRawGrpc)
    ->Arg(100000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace anvil::codegen::testdata::streams

BENCHMARK_MAIN();
