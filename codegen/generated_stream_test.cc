// Generated streaming methods of every kind, with the same client code in
// every world: a local actor, a remote one over gRPC (real sockets on
// 127.0.0.1) and over the loopback network.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "codegen/testdata/streams.anvil.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::codegen::testdata::streams {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Number N(int64_t value) {
  Number number;
  number.set_value(value);
  return number;
}

// What the daemon saw, shared with the test.
struct Seen {
  std::atomic<int> cancelled{0};    // streams whose caller went away
  std::atomic<int64_t> written{0};  // numbers Count wrote
};

class CounterImpl final : public CounterDaemon {
 public:
  CounterImpl(const CounterDeps& deps, std::shared_ptr<Seen> seen)
      : CounterDaemon(deps), seen_(std::move(seen)) {}

  Task<absl::Status> Count(CallContext& call, const CountRequest& request,
                           ServerWriter<Number>& replies) override {
    for (int64_t i = 0; i < request.count(); ++i) {
      Number number = N(request.from() + i);
      number.set_padding(std::string(request.padding(), 'p'));
      absl::Status written = co_await replies.Write(std::move(number));
      if (!written.ok()) {
        if (call.cancelled()) ++seen_->cancelled;
        co_return written;
      }
      ++seen_->written;
    }
    if (request.hang()) {
      while (!call.cancelled()) co_await Sleep(absl::Milliseconds(2));
      ++seen_->cancelled;
      co_return absl::CancelledError("the caller went away");
    }
    co_return absl::Status(static_cast<absl::StatusCode>(request.end_code()),
                           request.end_code() == 0 ? "" : "as asked");
  }

  Task<absl::StatusOr<Sum>> Add(CallContext& call,
                                ServerReader<Number>& requests) override {
    Sum sum;
    while (std::optional<Number> number = co_await requests.Read()) {
      sum.set_total(sum.total() + number->value());
      sum.set_count(sum.count() + 1);
    }
    if (call.cancelled()) co_return absl::CancelledError("gone");
    co_return sum;
  }

  Task<absl::Status> Double(CallContext& call,
                            ServerStream<Number, Number>& stream) override {
    while (std::optional<Number> number = co_await stream.Read()) {
      ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(N(2 * number->value())));
    }
    co_return absl::OkStatus();
  }

  Task<absl::StatusOr<Sum>> Cancelled(CallContext& call,
                                      const CountRequest& request) override {
    Sum sum;
    sum.set_total(seen_->cancelled.load());
    sum.set_count(seen_->written.load());
    co_return sum;
  }

 private:
  std::shared_ptr<Seen> seen_;
};

enum class World { kLocal, kGrpc, kLoopback };

class StreamTest : public ::testing::TestWithParam<World> {
 protected:
  StreamTest()
      : runtime_(anvil::testing::TestRuntimeOptions()),
        root_(runtime_),
        seen_(std::make_shared<Seen>()) {
    root_.Bind<CounterDaemon, CounterImpl>(seen_);
    node_ = std::make_unique<Node>(root_);
    local_ = (*root_.Get<CounterDaemon>())->ref();
    EXPECT_THAT(node_->Start(), IsOk());
    switch (GetParam()) {
      case World::kLocal:
        counter_ = local_;
        return;
      case World::kGrpc:
        network_ = std::make_unique<GrpcNetwork>(runtime_);
        break;
      case World::kLoopback:
        network_ = std::make_unique<LoopbackNetwork>(runtime_);
        break;
    }
    absl::StatusOr<std::unique_ptr<Server>> server =
        network_->Serve(GetParam() == World::kGrpc ? "127.0.0.1:0" : "n1",
                        CounterRef::Handlers(local_));
    EXPECT_THAT(server, IsOk());
    server_ = *std::move(server);
    channel_ = network_->Connect(server_->address());
    counter_ = CounterRef(channel_);
  }
  ~StreamTest() override {
    if (server_ != nullptr) BlockOn(runtime_, server_->Stop(absl::Seconds(1)));
    StopNode();
  }

  void StopNode() {
    if (node_ == nullptr) return;
    node_->RequestStop();
    EXPECT_THAT(node_->Wait(), IsOk());
    node_ = nullptr;
  }

  // The daemon's view, once `done(view)` holds (or after 10 s).
  template <typename Done>
  Sum SeenOnce(Done done) {
    Sum sum;
    for (int i = 0; i < 5000; ++i) {
      sum = *BlockOn(runtime_, [](CounterRef c) -> Task<absl::StatusOr<Sum>> {
        co_return co_await c.Cancelled(CountRequest());
      }(local_));
      if (done(sum)) break;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return sum;
  }

  Runtime runtime_;
  Factory root_;
  std::shared_ptr<Seen> seen_;
  std::unique_ptr<Node> node_;
  CounterRef local_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<Channel> channel_;
  CounterRef counter_;
};

// Runs `task` beside the caller, on its worker.
void ConcurrentFlood(Task<> task) {
  [](Task<> t) -> internal::Detached { co_await std::move(t); }(std::move(task))
                      .StartOn(*internal::Worker::Current());
}

struct Outcome {
  std::vector<int64_t> values;
  absl::Status status;
};

Task<Outcome> ReadCount(CounterRef counter, CountRequest request,
                        CallOptions options = {}) {
  ClientReader<Number> reader = counter.Count(request, options);
  Outcome outcome;
  while (std::optional<Number> number = co_await reader.Read()) {
    outcome.values.push_back(number->value());
  }
  outcome.status = co_await reader.Finish();
  co_return outcome;
}

CountRequest Counting(int64_t from, int64_t count) {
  CountRequest request;
  request.set_from(from);
  request.set_count(count);
  return request;
}

TEST_P(StreamTest, AServerStreamDeliversInOrderThenTheStatus) {
  Outcome outcome = BlockOn(runtime_, ReadCount(counter_, Counting(10, 5)));
  EXPECT_THAT(outcome.values, ElementsAre(10, 11, 12, 13, 14));
  EXPECT_THAT(outcome.status, IsOk());

  CountRequest failing = Counting(1, 3);
  failing.set_end_code(static_cast<int>(absl::StatusCode::kNotFound));
  outcome = BlockOn(runtime_, ReadCount(counter_, failing));
  EXPECT_THAT(outcome.values, ElementsAre(1, 2, 3));  // then the error
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("as asked")));
}

TEST_P(StreamTest, AStreamFarLongerThanItsWindowArrivesWhole) {
  Outcome outcome = BlockOn(runtime_, ReadCount(counter_, Counting(0, 3000),
                                                CallOptions().StreamWindow(4)));
  ASSERT_EQ(outcome.values.size(), 3000u);
  for (int64_t i = 0; i < 3000; ++i) ASSERT_EQ(outcome.values[i], i);
  EXPECT_THAT(outcome.status, IsOk());
}

TEST_P(StreamTest, AClientStreamGetsOneReply) {
  absl::StatusOr<Sum> sum =
      BlockOn(runtime_, [](CounterRef counter) -> Task<absl::StatusOr<Sum>> {
        ClientWriter<Number, Sum> writer =
            counter.Add(CallOptions().StreamWindow(8));
        for (int i = 1; i <= 100; ++i) {
          ANVIL_CO_RETURN_IF_ERROR(co_await writer.Write(N(i)));
        }
        co_return co_await writer.Finish();
      }(counter_));
  ASSERT_THAT(sum, IsOk());
  EXPECT_EQ(sum->total(), 5050);
  EXPECT_EQ(sum->count(), 100);
}

TEST_P(StreamTest, ABidiStreamInterleavesAndHalfCloses) {
  Outcome outcome = BlockOn(runtime_, [](CounterRef counter) -> Task<Outcome> {
    ClientStream<Number, Number> stream = counter.Double();
    Outcome outcome;
    for (int i = 1; i <= 20; ++i) {
      EXPECT_THAT(co_await stream.Write(N(i)), IsOk());
      // Each reply comes before the next request is sent.
      std::optional<Number> doubled = co_await stream.Read();
      if (!doubled.has_value()) break;
      outcome.values.push_back(doubled->value());
    }
    stream.WritesDone();
    EXPECT_THAT(co_await stream.Write(N(99)),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_EQ(co_await stream.Read(), std::nullopt);
    outcome.status = co_await stream.Finish();
    co_return outcome;
  }(counter_));
  ASSERT_EQ(outcome.values.size(), 20u);
  EXPECT_EQ(outcome.values.front(), 2);
  EXPECT_EQ(outcome.values.back(), 40);
  EXPECT_THAT(outcome.status, IsOk());
}

TEST_P(StreamTest, ACancelReachesTheServer) {
  CountRequest hang = Counting(0, 1);
  hang.set_hang(true);
  absl::Status status = BlockOn(
      runtime_,
      [](CounterRef counter, CountRequest request) -> Task<absl::Status> {
        ClientReader<Number> reader = counter.Count(request);
        EXPECT_TRUE((co_await reader.Read()).has_value());
        reader.Cancel();
        co_return co_await reader.Finish();
      }(counter_, hang));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(SeenOnce([](const Sum& s) { return s.total() >= 1; }).total(), 1);
}

TEST_P(StreamTest, DroppingTheHandleCancelsTheStream) {
  CountRequest hang = Counting(0, 0);
  hang.set_hang(true);
  BlockOn(runtime_, [](CounterRef counter, CountRequest request) -> Task<> {
    ClientReader<Number> reader = counter.Count(request);
    co_await Sleep(absl::Milliseconds(10));  // let it reach the server
  }(counter_, hang));
  EXPECT_EQ(SeenOnce([](const Sum& s) { return s.total() >= 1; }).total(), 1);
}

TEST_P(StreamTest, TheDeadlineEndsTheStreamAtBothEnds) {
  CountRequest hang = Counting(0, 2);
  hang.set_hang(true);
  Outcome outcome =
      BlockOn(runtime_,
              ReadCount(counter_, hang, CallOptions(absl::Milliseconds(100))));
  EXPECT_THAT(outcome.values, ElementsAre(0, 1));
  EXPECT_THAT(outcome.status, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(SeenOnce([](const Sum& s) { return s.total() >= 1; }).total(), 1);
}

TEST_P(StreamTest, OtherCallsAreServedWhileAStreamWaits) {
  CountRequest hang = Counting(0, 0);
  hang.set_hang(true);
  absl::StatusOr<Sum> served = BlockOn(
      runtime_,
      [](CounterRef counter,
         CountRequest request) -> Task<absl::StatusOr<Sum>> {
        ClientReader<Number> reader = counter.Count(request);
        ClientStream<Number, Number> idle = counter.Double();
        co_await Sleep(absl::Milliseconds(10));
        // Two streams wait on the actor; a unary call still gets through.
        absl::StatusOr<Sum> sum = co_await counter.Cancelled(CountRequest());
        reader.Cancel();
        idle.Cancel();
        co_return sum;
      }(counter_, hang));
  EXPECT_THAT(served, IsOk());
}

TEST_P(StreamTest, ASlowReaderHoldsTheWriterBack) {
  if (GetParam() == World::kGrpc) {
    GTEST_SKIP() << "gRPC buffers up to its HTTP/2 flow-control window "
                    "(64 KiB and up) on top of anvil's: no tight bound";
  }
  BlockOn(runtime_, [](CounterRef counter) -> Task<> {
    ClientReader<Number> reader =
        counter.Count(Counting(0, 1000), CallOptions().StreamWindow(4));
    co_await Sleep(absl::Milliseconds(50));  // not reading
    co_return;
  }(counter_));
  // Local: one window. Loopback: five queues on the way (the typed
  // stream at each end, the serialized one at each end, the link), each a
  // window, and the four coroutines moving messages between them one in
  // hand each. Whatever the stream's length.
  const int64_t bound = GetParam() == World::kLocal ? 4 : 5 * 4 + 4;
  EXPECT_LE(seen_->written.load(), bound);
  EXPECT_GE(seen_->written.load(), 4);
}

TEST_P(StreamTest, AClientThatFloodsWritesWaitsForTheServer) {
  if (GetParam() == World::kGrpc) {
    GTEST_SKIP() << "HTTP/2's flow-control window buffers on top of anvil's";
  }
  // Double echoes each request; the client never reads the echoes, so
  // the server's writes stop, then its reads, then the client's writes.
  auto written = std::make_shared<std::atomic<int>>(0);
  BlockOn(
      runtime_,
      [](CounterRef counter, std::shared_ptr<std::atomic<int>> w) -> Task<> {
        ClientStream<Number, Number> stream =
            counter.Double(CallOptions().StreamWindow(4));
        auto flood = [](ClientStream<Number, Number>& s,
                        std::shared_ptr<std::atomic<int>> w) -> Task<> {
          for (int i = 0; i < 10000; ++i) {
            if (!(co_await s.Write(N(i))).ok()) co_return;
            ++*w;
          }
        };
        ConcurrentFlood(flood(stream, w));
        co_await Sleep(absl::Milliseconds(50));
        stream.Cancel();  // the flood's next write fails; it ends
        co_await Sleep(absl::Milliseconds(10));
      }(counter_, written));
  // Each queue on the way holds a window, each mover one message in hand
  // (see ASlowReaderHoldsTheWriterBack), both ways, plus the server's one.
  const int bound =
      GetParam() == World::kLocal ? 2 * 4 + 1 : 2 * (5 * 4 + 4) + 1;
  EXPECT_LE(written->load(), bound);
  EXPECT_GE(written->load(), 4);
}

TEST_P(StreamTest, AStoppingDaemonEndsItsStreamsUnavailable) {
  CountRequest hang = Counting(0, 0);
  hang.set_hang(true);
  absl::Status status = BlockOn(runtime_,
                                [](CounterRef counter, CountRequest request,
                                   Node* node) -> Task<absl::Status> {
                                  ClientReader<Number> reader =
                                      counter.Count(request);
                                  co_await Sleep(absl::Milliseconds(10));
                                  node->RequestStop();
                                  co_return co_await reader.Finish();
                                }(counter_, hang, node_.get()));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(node_->Wait(), IsOk());
  node_ = nullptr;
}

// Opens `method` on `channel` as a raw stream, sends `requests` and
// half-closes, drops the replies, and returns how the stream ended.
Task<absl::Status> RawStream(std::shared_ptr<Channel> channel,
                             std::string method,
                             std::vector<std::string> requests) {
  auto stream = std::make_shared<internal::ByteStream>(4, INT64_MAX);
  channel->OpenStream(method, {}, stream);
  for (std::string& request : requests) {
    if (!(co_await stream->WriteRequest(std::move(request))).ok()) break;
  }
  stream->CloseRequests();
  while (co_await stream->ReadReply()) {
  }
  co_return *stream->end();
}

TEST_P(StreamTest, ARequestThatDoesNotParseIsRefused) {
  if (GetParam() == World::kLocal) GTEST_SKIP() << "typed: nothing to parse";
  EXPECT_THAT(BlockOn(runtime_, RawStream(channel_,
                                          "/anvil.codegen.testdata.streams."
                                          "Counter/Add",
                                          {"\xff\xff\xff"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not parse")));
}

TEST_P(StreamTest, AMessageOverTheLimitEndsTheStream) {
  if (GetParam() == World::kLocal) GTEST_SKIP() << "no wire: no limit";
  EXPECT_THAT(BlockOn(runtime_, RawStream(channel_,
                                          "/anvil.codegen.testdata.streams."
                                          "Counter/Add",
                                          {std::string(5 << 20, 'x')})),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // The server goes on serving.
  Outcome outcome = BlockOn(runtime_, ReadCount(counter_, Counting(1, 2)));
  EXPECT_THAT(outcome.values, ElementsAre(1, 2));
}

TEST_P(StreamTest, AUnaryMethodCalledAsAStream) {
  if (GetParam() == World::kLocal) GTEST_SKIP() << "typed: cannot happen";
  absl::Status status = BlockOn(
      runtime_,
      RawStream(channel_, "/anvil.codegen.testdata.streams.Counter/Cancelled",
                {""}));
  if (GetParam() == World::kGrpc) {
    // On the wire a unary call is a stream of one request and one reply:
    // gRPC serves it (docs/transport.md, "Streams").
    EXPECT_THAT(status, IsOk());
  } else {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnimplemented,
                                 HasSubstr("a unary method, not a stream")));
  }
}

INSTANTIATE_TEST_SUITE_P(Worlds, StreamTest,
                         ::testing::Values(World::kLocal, World::kGrpc,
                                           World::kLoopback),
                         [](const ::testing::TestParamInfo<World>& info) {
                           switch (info.param) {
                             case World::kLocal:
                               return "Local";
                             case World::kGrpc:
                               return "Grpc";
                             case World::kLoopback:
                               return "Loopback";
                           }
                           return "Unknown";
                         });

// The simulated network's faults, as a stream meets them.
class LoopbackFaultTest : public ::testing::Test {
 protected:
  LoopbackFaultTest()
      : runtime_(anvil::testing::TestRuntimeOptions()),
        root_(runtime_),
        seen_(std::make_shared<Seen>()),
        network_(runtime_),
        random_(1) {
    root_.Bind<CounterDaemon, CounterImpl>(seen_);
    node_ = std::make_unique<Node>(root_);
    CounterRef local = (*root_.Get<CounterDaemon>())->ref();
    EXPECT_THAT(node_->Start(), IsOk());
    network_.SetRandom(&random_);
    absl::StatusOr<std::unique_ptr<Server>> server =
        network_.ForNode("server")->Serve("server",
                                          CounterRef::Handlers(local));
    EXPECT_THAT(server, IsOk());
    server_ = *std::move(server);
    remote_ = CounterRef(network_.ForNode("client")->Connect("server"));
  }
  ~LoopbackFaultTest() override {
    node_->RequestStop();
    EXPECT_THAT(node_->Wait(), IsOk());
  }

  Runtime runtime_;
  Factory root_;
  std::shared_ptr<Seen> seen_;
  std::unique_ptr<Node> node_;
  LoopbackNetwork network_;
  std::mt19937_64 random_;
  std::unique_ptr<Server> server_;
  CounterRef remote_;
};

TEST_F(LoopbackFaultTest, ALostMessageBreaksTheStreamUnavailable) {
  network_.SetLinks({.min_latency = absl::Microseconds(10),
                     .max_latency = absl::Microseconds(200),
                     .drop = 0.01});
  Outcome outcome = BlockOn(runtime_, ReadCount(remote_, Counting(0, 5000)));
  EXPECT_LT(outcome.values.size(), 5000u);  // 1% of 5000 messages: lost
  for (size_t i = 0; i < outcome.values.size(); ++i) {
    ASSERT_EQ(outcome.values[i], static_cast<int64_t>(i));  // no gap before
  }
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("lost")));
}

// Opens a stream that hangs after one number, applies `fault` once that
// number came, and returns how the stream ended.
absl::Status BreakAnOpenStream(Runtime& runtime, CounterRef counter,
                               std::function<void()> fault) {
  CountRequest hang = Counting(0, 1);
  hang.set_hang(true);
  return BlockOn(runtime,
                 [](CounterRef c, CountRequest request,
                    std::function<void()> f) -> Task<absl::Status> {
                   ClientReader<Number> reader = c.Count(request);
                   EXPECT_TRUE((co_await reader.Read()).has_value());
                   f();
                   co_return co_await reader.Finish();
                 }(counter, hang, std::move(fault)));
}

TEST_F(LoopbackFaultTest, APartitionBreaksAnOpenStreamAtBothEnds) {
  EXPECT_THAT(
      BreakAnOpenStream(runtime_, remote_,
                        [this] { network_.Partition({"client"}, {"server"}); }),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("the link is cut")));
  for (int i = 0; i < 5000 && seen_->cancelled.load() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(seen_->cancelled.load(), 1);  // the server's end broke too
}

TEST_F(LoopbackFaultTest, AServerWhoseMachineIsDownBreaksItsStreams) {
  EXPECT_THAT(BreakAnOpenStream(runtime_, remote_,
                                [this] { network_.SetNodeDown("server"); }),
              StatusIs(absl::StatusCode::kUnavailable));
}

// A plain actor's stream, with its method's default timeout.
class TickerImpl final : public TickerActor {
 public:
  Task<absl::Status> Ticks(CallContext& call, const CountRequest& request,
                           ServerWriter<Number>& replies) override {
    EXPECT_TRUE(call.has_deadline());  // deadline_ms: 5000
    for (int64_t i = 0; i < request.count(); ++i) {
      ANVIL_CO_RETURN_IF_ERROR(co_await replies.Write(N(i)));
    }
    co_return absl::OkStatus();
  }
};

TEST(PlainActorStream, APlainActorServesAStream) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  TickerRef ticker =
      TickerActor::Spawn(runtime, std::make_shared<TickerImpl>());
  std::vector<int64_t> got =
      BlockOn(runtime, [](TickerRef t) -> Task<std::vector<int64_t>> {
        ClientReader<Number> reader = t.Ticks(Counting(0, 3));
        std::vector<int64_t> got;
        while (std::optional<Number> n = co_await reader.Read()) {
          got.push_back(n->value());
        }
        EXPECT_THAT(co_await reader.Finish(), IsOk());
        co_return got;
      }(ticker));
  EXPECT_THAT(got, ElementsAre(0, 1, 2));
}

}  // namespace
}  // namespace anvil::codegen::testdata::streams
