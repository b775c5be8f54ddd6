// A call through a generated typed client (SRef) against the same call
// through a hand-written ActorRef<M>::Call, in the same run:
//   ./bazelw run --config=opt //codegen:generated_call_benchmark -- \
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Target: the generated call costs at most 10% more. This VM's timings
// drift by tens of percent between runs, so BM_Call_Paired measures both
// in one runtime, alternating short batches, and reports the ratio.
#include <cstdint>
#include <memory>
#include <optional>
#include <variant>

#include "benchmark/benchmark.h"
#include "codegen/testdata/kv.anvil.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/clock.h"
#include "testing/runtime_test_util.h"

namespace anvil::codegen::testdata {
namespace {

constexpr int kCalls = 20'000;

RuntimeOptions Options() {
  RuntimeOptions options;
  options.threads = 1;
  options.handle_signals = false;
  options.stall_threshold = absl::ZeroDuration();
  return options;
}

ReadReply Answer(const ReadRequest& request) {
  ReadReply reply;
  reply.set_value(request.key());
  return reply;
}

class EchoPlain final : public PlainActor {
 public:
  Task<absl::StatusOr<ReadReply>> Ping(CallContext&,
                                       const ReadRequest& request) override {
    co_return Answer(request);
  }
};

// Makes kCalls calls per iteration from a task on worker 0; `call` makes
// one and returns what to co_await.
template <typename Call>
void MeasureCalls(benchmark::State& state, Runtime& runtime, Call call) {
  for (auto _ : state) {
    anvil::testing::BlockOn(
        runtime,
        [](Call make_call) -> Task<> {
          ReadRequest request;
          request.set_key("k");
          for (int i = 0; i < kCalls; ++i) {
            absl::StatusOr<ReadReply> reply = co_await make_call(request);
            benchmark::DoNotOptimize(reply);
          }
        }(call),
        0);
  }
  state.counters["ns/call"] = benchmark::Counter(
      static_cast<double>(kCalls) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Call_Generated(benchmark::State& state) {
  Runtime runtime(Options());
  PlainRef plain = PlainActor::Spawn(runtime, std::make_shared<EchoPlain>());
  MeasureCalls(state, runtime, [plain](const ReadRequest& request) {
    return plain.Ping(request);
  });
}
BENCHMARK(BM_Call_Generated)->UseRealTime();

// The same service written by hand on the actor API.
struct ReadCall {
  using Reply = ReadReply;
  ReadRequest request;
};
using HandMessage = std::variant<Request<ReadCall>>;

Task<> HandStorage(ActorContext<HandMessage>& ctx) {
  while (std::optional<HandMessage> message = co_await ctx.Receive()) {
    auto& call = std::get<0>(*message);
    call.reply.Send(Answer(call.request.request));
  }
}

// The same, with the reply computed by a coroutine, as the generated
// actor's virtual method is: isolates what the generated code adds beyond
// that.
Task<absl::StatusOr<ReadReply>> AnswerLater(const ReadRequest& request) {
  co_return Answer(request);
}

Task<> HandStorageAwaiting(ActorContext<HandMessage>& ctx) {
  while (std::optional<HandMessage> message = co_await ctx.Receive()) {
    auto& call = std::get<0>(*message);
    call.reply.Send(co_await AnswerLater(call.request.request));
  }
}

void BM_Call_HandWrittenAwaiting(benchmark::State& state) {
  Runtime runtime(Options());
  ActorRef<HandMessage> storage = runtime.Spawn(HandStorageAwaiting);
  MeasureCalls(state, runtime, [storage](const ReadRequest& request) {
    return storage.Call(ReadCall{request});
  });
}
BENCHMARK(BM_Call_HandWrittenAwaiting)->UseRealTime();

void BM_Call_HandWritten(benchmark::State& state) {
  Runtime runtime(Options());
  ActorRef<HandMessage> storage = runtime.Spawn(HandStorage);
  MeasureCalls(state, runtime, [storage](const ReadRequest& request) {
    return storage.Call(ReadCall{request});
  });
}
BENCHMARK(BM_Call_HandWritten)->UseRealTime();

// Both actors in one runtime; batches of calls alternate between them, so
// drift in the machine's speed hits both alike. Reports ns per call of
// each (and of the awaiting hand-written actor) and the target's ratio,
// generated / hand-written.
void BM_Call_Paired(benchmark::State& state) {
  constexpr int kBatch = 500;
  Runtime runtime(Options());
  PlainRef plain = PlainActor::Spawn(runtime, std::make_shared<EchoPlain>());
  ActorRef<HandMessage> storage = runtime.Spawn(HandStorage);
  ActorRef<HandMessage> awaiting = runtime.Spawn(HandStorageAwaiting);
  int64_t generated_ns = 0;
  int64_t hand_ns = 0;
  int64_t awaiting_ns = 0;
  for (auto _ : state) {
    anvil::testing::BlockOn(
        runtime,
        [](PlainRef plain, ActorRef<HandMessage> storage,
           ActorRef<HandMessage> awaiting, int64_t& generated, int64_t& hand,
           int64_t& hand_awaiting) -> Task<> {
          ReadRequest request;
          request.set_key("k");
          for (int batch = 0; batch < kCalls / kBatch; ++batch) {
            int64_t start = Clock::MonotonicNanos();
            for (int i = 0; i < kBatch; ++i) {
              absl::StatusOr<ReadReply> reply = co_await plain.Ping(request);
              benchmark::DoNotOptimize(reply);
            }
            int64_t middle = Clock::MonotonicNanos();
            for (int i = 0; i < kBatch; ++i) {
              absl::StatusOr<ReadReply> reply =
                  co_await storage.Call(ReadCall{request});
              benchmark::DoNotOptimize(reply);
            }
            int64_t third = Clock::MonotonicNanos();
            for (int i = 0; i < kBatch; ++i) {
              absl::StatusOr<ReadReply> reply =
                  co_await awaiting.Call(ReadCall{request});
              benchmark::DoNotOptimize(reply);
            }
            generated += middle - start;
            hand += third - middle;
            hand_awaiting += Clock::MonotonicNanos() - third;
          }
        }(plain, storage, awaiting, generated_ns, hand_ns, awaiting_ns),
        0);
  }
  const double calls = static_cast<double>(kCalls / kBatch * kBatch) *
                       static_cast<double>(state.iterations());
  state.counters["generated_ns"] = static_cast<double>(generated_ns) / calls;
  state.counters["hand_ns"] = static_cast<double>(hand_ns) / calls;
  state.counters["awaiting_ns"] = static_cast<double>(awaiting_ns) / calls;
  state.counters["ratio"] =
      static_cast<double>(generated_ns) / static_cast<double>(hand_ns);
}
BENCHMARK(BM_Call_Paired)->UseRealTime();

}  // namespace
}  // namespace anvil::codegen::testdata

BENCHMARK_MAIN();
