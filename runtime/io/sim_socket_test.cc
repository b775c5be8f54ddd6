// TcpListener and TcpStream between simulated nodes: latency, partitions,
// loss, refusal and close, in virtual time (built through sim_test).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_listener.h"
#include "runtime/io/tcp_stream.h"
#include "testing/sim/simulation.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

const SocketAddress kA = *SocketAddress::Parse("10.0.0.1:0");
const SocketAddress kB = *SocketAddress::Parse("10.0.0.2:0");

// Node "a" runs on worker 1 and node "b" on worker 2.
class SimSocketTest : public ::testing::Test {
 protected:
  explicit SimSocketTest(uint64_t seed = 1)
      : sim_({.seed = seed, .workers = 3}) {
    sim_.SetWorkerHost(1, "a", kA);
    sim_.SetWorkerHost(2, "b", kB);
  }

  // Runs `body` as an actor on `worker`; its status lands in `*out`.
  template <typename F>
  void Run(int worker, std::shared_ptr<std::optional<absl::Status>> out,
           F body) {
    sim_.runtime().Spawn(
        [](ActorContext<int>&, F f,
           std::shared_ptr<std::optional<absl::Status>> result) -> Task<> {
          *result = co_await f();
        },
        std::move(body), std::move(out), ActorOptions{.worker = worker});
  }

  // Runs the simulation until every result is in; expects each OK.
  void RunToCompletion(
      std::vector<std::shared_ptr<std::optional<absl::Status>>> results) {
    ASSERT_THAT(sim_.RunUntil([&] {
      for (const auto& r : results) {
        if (!r->has_value()) return false;
      }
      return true;
    }),
                IsOk());
    for (const auto& r : results) EXPECT_THAT(**r, IsOk());
  }

  static std::shared_ptr<std::optional<absl::Status>> Result() {
    return std::make_shared<std::optional<absl::Status>>();
  }

  sim::Simulation sim_;
};

// Reads exactly `size` bytes (fewer at end of stream).
Task<absl::StatusOr<std::string>> ReadBytes(TcpStream& stream, size_t size,
                                            Deadline deadline = {}) {
  std::string out;
  char buffer[3000];
  while (out.size() < size) {
    ANVIL_CO_ASSIGN_OR_RETURN(
        size_t n, co_await stream.Read(absl::MakeSpan(buffer), deadline));
    if (n == 0) break;
    out.append(buffer, n);
  }
  co_return out;
}

TEST_F(SimSocketTest, EchoAcrossNodesTakesTheLinksLatency) {
  sim_.network().SetLinks({.min_latency = absl::Milliseconds(5),
                           .max_latency = absl::Milliseconds(5)});
  auto server = Result();
  auto client = Result();
  absl::Duration client_done;
  Run(1, server, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(
        TcpListener listener,
        TcpListener::Bind(*SocketAddress::Parse("0.0.0.0:7000")));
    EXPECT_EQ(listener.local_address().ToString(), "10.0.0.1:7000");
    ANVIL_CO_ASSIGN_OR_RETURN(TcpStream peer, co_await listener.Accept());
    EXPECT_THAT(peer.peer_address().ToString(), HasSubstr("10.0.0.2:"));
    EXPECT_THAT(co_await ReadBytes(peer, 4), IsOkAndHolds("ping"));
    co_return co_await peer.Write("pong");
  });
  Run(2, client, [&]() -> Task<absl::Status> {
    co_await Sleep(absl::Milliseconds(1));  // the server listens first
    const int64_t start = Clock::MonotonicNanos();
    ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                              co_await TcpStream::Connect(kA.WithPort(7000)));
    EXPECT_EQ(stream.peer_address().ToString(), "10.0.0.1:7000");
    ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write("ping"));
    EXPECT_THAT(co_await ReadBytes(stream, 4), IsOkAndHolds("pong"));
    client_done = absl::Nanoseconds(Clock::MonotonicNanos() - start);
    co_return absl::OkStatus();
  });
  RunToCompletion({server, client});
  // SYN, SYN-ACK, ping, pong: four trips of exactly 5 ms of virtual time.
  EXPECT_EQ(client_done, absl::Milliseconds(20));
}

TEST_F(SimSocketTest, APartitionStallsAStreamAndHealingResumesIt) {
  auto server = Result();
  auto client = Result();
  Run(1, server, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(TcpListener listener,
                              TcpListener::Bind(kA.WithPort(80)));
    ANVIL_CO_ASSIGN_OR_RETURN(TcpStream peer, co_await listener.Accept());
    EXPECT_THAT(co_await ReadBytes(peer, 6), IsOkAndHolds("before"));
    // Partitioned: nothing arrives before the deadline...
    EXPECT_THAT(co_await ReadBytes(peer, 6, absl::Seconds(1)),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
    // ... and once healed, what was sent arrives, retransmitted.
    EXPECT_THAT(co_await ReadBytes(peer, 6), IsOkAndHolds("during"));
    co_return absl::OkStatus();
  });
  Run(2, client, [this]() -> Task<absl::Status> {
    co_await Sleep(absl::Milliseconds(1));
    ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                              co_await TcpStream::Connect(kA.WithPort(80)));
    ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write("before"));
    co_await Sleep(absl::Milliseconds(100));
    sim_.network().Partition({"a"}, {"b"});
    ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write("during"));
    co_await Sleep(absl::Seconds(3));
    sim_.network().Heal();
    co_await Sleep(absl::Seconds(1));
    co_return absl::OkStatus();
  });
  RunToCompletion({server, client});
}

// 1 MiB over a link that loses 30% of the segments and reorders them:
// every byte arrives, in order, and the window holds the writer back.
absl::Status LossyTransfer(sim::Simulation& sim, uint64_t* trace_hash) {
  sim.SetWorkerHost(1, "a", kA);
  sim.SetWorkerHost(2, "b", kB);
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(30),
                          .drop = 0.3});
  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + (i * 7919) % 26);
  }
  std::optional<absl::StatusOr<std::string>> received;
  std::optional<absl::Status> sent;
  sim.runtime().Spawn(
      [](ActorContext<int>&, std::optional<absl::StatusOr<std::string>>* out,
         size_t size) -> Task<> {
        absl::StatusOr<TcpListener> listener =
            TcpListener::Bind(kA.WithPort(9000));
        absl::StatusOr<TcpStream> peer = co_await listener->Accept();
        *out = co_await ReadBytes(*peer, size);
      },
      &received, payload.size(), ActorOptions{.worker = 1});
  sim.runtime().Spawn(
      [](ActorContext<int>&, std::optional<absl::Status>* out,
         const std::string* data) -> Task<> {
        co_await Sleep(absl::Milliseconds(1));
        absl::StatusOr<TcpStream> stream =
            co_await TcpStream::Connect(kA.WithPort(9000));
        if (!stream.ok()) {
          *out = stream.status();
          co_return;
        }
        *out = co_await stream->Write(*data);
      },
      &sent, &payload, ActorOptions{.worker = 2});
  ANVIL_RETURN_IF_ERROR(
      sim.RunUntil([&] { return received.has_value() && sent.has_value(); }));
  ANVIL_RETURN_IF_ERROR(*sent);
  ANVIL_RETURN_IF_ERROR(received->status());
  if (**received != payload) {
    return absl::DataLossError(absl::StrCat("received ", (*received)->size(),
                                            " bytes, not the payload"));
  }
  if (sim.network().stats().lost == 0) {
    return absl::InternalError("the link lost nothing");
  }
  *trace_hash = sim.trace_hash();
  return absl::OkStatus();
}

TEST(SimSocketLossTest, EveryByteArrivesInOrderOverALossyLinkAndReplays) {
  uint64_t first = 0;
  uint64_t second = 0;
  {
    sim::Simulation sim({.seed = 7, .workers = 3});
    ASSERT_THAT(LossyTransfer(sim, &first), IsOk());
  }
  {
    sim::Simulation sim({.seed = 7, .workers = 3});
    ASSERT_THAT(LossyTransfer(sim, &second), IsOk());
  }
  EXPECT_EQ(first, second);  // the same seed, the same run
}

TEST_F(SimSocketTest, RefusedUnreachableAndPartitionedConnects) {
  auto client = Result();
  Run(2, client, [this]() -> Task<absl::Status> {
    EXPECT_THAT(co_await TcpStream::Connect(kA.WithPort(1234)),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("connect to 10.0.0.1:1234: Connection "
                                   "refused")));
    EXPECT_THAT(
        co_await TcpStream::Connect(*SocketAddress::Parse("10.9.9.9:80")),
        StatusIs(absl::StatusCode::kUnavailable,
                 HasSubstr("No route to host")));
    sim_.network().Partition({"a"}, {"b"});
    EXPECT_THAT(
        co_await TcpStream::Connect(kA.WithPort(1234), absl::Seconds(2)),
        StatusIs(absl::StatusCode::kDeadlineExceeded,
                 HasSubstr("connect to 10.0.0.1:1234")));
    // Binding another node's address, or a port taken, fails.
    EXPECT_THAT(TcpListener::Bind(kA.WithPort(1)).status().message(),
                HasSubstr("Cannot assign requested address"));
    absl::StatusOr<TcpListener> first = TcpListener::Bind(kB.WithPort(5));
    EXPECT_THAT(first.status(), IsOk());
    EXPECT_THAT(TcpListener::Bind(kB.WithPort(5)).status().message(),
                HasSubstr("Address already in use"));
    co_return absl::OkStatus();
  });
  RunToCompletion({client});
}

TEST_F(SimSocketTest, ClosingGivesEndOfStreamAndLaterWritesFail) {
  auto server = Result();
  auto client = Result();
  Run(1, server, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(TcpListener listener,
                              TcpListener::Bind(kA.WithPort(80)));
    ANVIL_CO_ASSIGN_OR_RETURN(TcpStream peer, co_await listener.Accept());
    EXPECT_THAT(co_await ReadBytes(peer, 3), IsOkAndHolds("bye"));
    peer.Close();
    co_return absl::OkStatus();
  });
  Run(2, client, []() -> Task<absl::Status> {
    co_await Sleep(absl::Milliseconds(1));
    ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                              co_await TcpStream::Connect(kA.WithPort(80)));
    ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write("bye"));
    char byte;
    EXPECT_THAT(co_await stream.Read(absl::MakeSpan(&byte, 1)),
                IsOkAndHolds(0));
    // The first write after the close still goes out; the server's kernel
    // answers it with a reset, after which reads and writes fail.
    ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write("more"));
    co_await Sleep(absl::Milliseconds(100));
    EXPECT_THAT(co_await stream.Write("again"),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("write: Broken pipe")));
    EXPECT_THAT(co_await stream.Read(absl::MakeSpan(&byte, 1)),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("read: Connection reset by peer")));
    co_return absl::OkStatus();
  });
  RunToCompletion({server, client});
}

}  // namespace
}  // namespace anvil
