#include "runtime/io/tcp_server.h"

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/core/status_macros.h"
#include "runtime/io/blocking_socket.h"
#include "runtime/io/tcp_listener.h"
#include "testing/open_descriptors.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::BlockingSocket;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

// Echoes newline-terminated lines. Idle while no partial line is buffered,
// so a stop ends it between lines (its read is cancelled), and lets it
// finish the line in progress.
Task<absl::Status> EchoLines(Connection& connection) {
  std::string pending;
  char buffer[1024];
  while (true) {
    connection.set_idle(pending.empty());
    absl::StatusOr<size_t> n = co_await connection.stream().Read(
        absl::MakeSpan(buffer), absl::Seconds(30));
    connection.set_idle(false);
    if (absl::IsCancelled(n.status())) co_return absl::OkStatus();  // stop
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::OkStatus();
    pending.append(buffer, *n);
    size_t end;
    while ((end = pending.find('\n')) != std::string::npos) {
      ANVIL_CO_RETURN_IF_ERROR(co_await connection.stream().Write(
          absl::string_view(pending).substr(0, end + 1), absl::Seconds(30)));
      pending.erase(0, end + 1);
    }
  }
}

// Polls `condition` (state the server updates asynchronously) until it
// holds; a test that waits here forever times out instead of passing.
template <typename F>
void AwaitCondition(F condition) {
  while (!condition())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

class TcpServerTest : public ::testing::Test {
 protected:
  Runtime runtime_{testing::TestRuntimeOptions()};
};

TEST_F(TcpServerTest, ServesManyClientsOnEveryWorker) {
  Mutex mu;
  std::set<size_t> workers;
  auto handler = [&](Connection& c) -> Task<absl::Status> {
    {
      MutexLock lock(mu);
      workers.insert(internal::Worker::Current()->index());
    }
    co_return co_await EchoLines(c);
  };
  absl::StatusOr<std::unique_ptr<TcpServer>> server =
      TcpServer::Start(runtime_, {.name = "echo"}, handler);
  ASSERT_THAT(server.status(), IsOk());
  EXPECT_EQ((*server)->address().ToString().rfind("127.0.0.1:", 0), 0u);

  constexpr int kClients = 64;
  std::vector<std::unique_ptr<BlockingSocket>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<BlockingSocket>());
    ASSERT_THAT(clients.back()->Connect((*server)->address()), IsOk());
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kClients; ++i) {
      const std::string line =
          absl::StrCat("client ", i, " round ", round, "\n");
      ASSERT_THAT(clients[i]->Send(line), IsOk());
      EXPECT_THAT(clients[i]->ReceiveUntil("\n"), IsOkAndHolds(line));
    }
  }
  EXPECT_EQ((*server)->stats().accepted, kClients);
  EXPECT_EQ((*server)->stats().active, kClients);
  // SO_REUSEPORT spreads connections by a hash of their addresses: 64 of
  // them all landing on one of two listeners has odds of 2^-63.
  MutexLock lock(mu);
  EXPECT_EQ(workers, (std::set<size_t>{0, 1}));
}

TEST_F(TcpServerTest, RefusesConnectionsOverTheLimitWithTheOverloadReply) {
  absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Start(
      runtime_,
      {.name = "limited", .max_connections = 2, .overload_reply = "busy\n"},
      EchoLines);
  ASSERT_THAT(server.status(), IsOk());
  BlockingSocket a, b, c;
  ASSERT_THAT(a.Connect((*server)->address()), IsOk());
  ASSERT_THAT(b.Connect((*server)->address()), IsOk());
  // Both are served (and so counted) before the third arrives.
  for (BlockingSocket* s : {&a, &b}) {
    ASSERT_THAT(s->Send("hi\n"), IsOk());
    ASSERT_THAT(s->ReceiveUntil("\n"), IsOkAndHolds("hi\n"));
  }
  ASSERT_THAT(c.Connect((*server)->address()), IsOk());
  EXPECT_THAT(c.ReceiveAll(), IsOkAndHolds("busy\n"));
  EXPECT_EQ((*server)->stats().rejected, 1u);

  // A slot frees when a connection closes.
  a.Close();
  AwaitCondition([&] { return (*server)->stats().active == 1; });
  ASSERT_THAT(c.Connect((*server)->address()), IsOk());
  ASSERT_THAT(c.Send("again\n"), IsOk());
  EXPECT_THAT(c.ReceiveUntil("\n"), IsOkAndHolds("again\n"));
  EXPECT_EQ((*server)->stats().accepted, 3u);
}

TEST_F(TcpServerTest, GracefulStopClosesIdleConnectionsAndLetsBusyOnesFinish) {
  absl::StatusOr<std::unique_ptr<TcpServer>> server =
      TcpServer::Start(runtime_, {.name = "graceful"}, EchoLines);
  ASSERT_THAT(server.status(), IsOk());
  const SocketAddress address = (*server)->address();
  BlockingSocket idle, busy;
  ASSERT_THAT(idle.Connect(address), IsOk());
  ASSERT_THAT(busy.Connect(address), IsOk());
  ASSERT_THAT(idle.Send("one\n"), IsOk());
  ASSERT_THAT(idle.ReceiveUntil("\n"), IsOkAndHolds("one\n"));
  // Half a line: the handler holds it and is busy.
  ASSERT_THAT(busy.Send("half"), IsOk());
  AwaitCondition([&] { return (*server)->stats().active == 2; });

  (*server)->RequestStop();
  EXPECT_TRUE(idle.PeerClosed());
  AwaitCondition([&] { return (*server)->stats().listening == 0; });
  BlockingSocket late;
  EXPECT_THAT(late.Connect(address), StatusIs(absl::StatusCode::kUnavailable,
                                              HasSubstr("Connection refused")));
  ASSERT_THAT(busy.Send(" and the rest\n"), IsOk());
  EXPECT_THAT(busy.ReceiveUntil("\n"), IsOkAndHolds("half and the rest\n"));
  EXPECT_TRUE(busy.PeerClosed());
  (*server)->Wait();
  EXPECT_EQ((*server)->stats().active, 0u);
}

TEST_F(TcpServerTest, ConnectionsBusyPastTheDrainTimeoutAreCut) {
  absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Start(
      runtime_, {.name = "impatient", .drain_timeout = absl::Milliseconds(50)},
      EchoLines);
  ASSERT_THAT(server.status(), IsOk());
  BlockingSocket busy;
  ASSERT_THAT(busy.Connect((*server)->address()), IsOk());
  ASSERT_THAT(busy.Send("never finished"), IsOk());
  AwaitCondition([&] { return (*server)->stats().active == 1; });
  (*server)->RequestStop();
  (*server)->Wait();  // returns although the line never ends
  EXPECT_TRUE(busy.PeerClosed());
  EXPECT_EQ((*server)->stats().active, 0u);
}

TEST_F(TcpServerTest, RuntimeShutdownStopsTheServer) {
  absl::StatusOr<std::unique_ptr<TcpServer>> server =
      TcpServer::Start(runtime_, {.name = "shutdown"}, EchoLines);
  ASSERT_THAT(server.status(), IsOk());
  BlockingSocket client;
  ASSERT_THAT(client.Connect((*server)->address()), IsOk());
  ASSERT_THAT(client.Send("x\n"), IsOk());
  ASSERT_THAT(client.ReceiveUntil("\n"), IsOkAndHolds("x\n"));
  runtime_.Shutdown();
  (*server)->Wait();
  EXPECT_TRUE(client.PeerClosed());
  EXPECT_THAT(runtime_.Run(), IsOk());
}

TEST_F(TcpServerTest, AHandlerThatThrowsClosesOnlyItsConnection) {
  auto handler = [](Connection& c) -> Task<absl::Status> {
    char byte;
    absl::StatusOr<size_t> n =
        co_await c.stream().Read(absl::MakeSpan(&byte, 1), absl::Seconds(30));
    if (n.ok() && *n == 1 && byte == '!') throw std::runtime_error("boom");
    ANVIL_CO_RETURN_IF_ERROR(co_await c.stream().Write("ok\n"));
    co_return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<TcpServer>> server =
      TcpServer::Start(runtime_, {.name = "thrower"}, handler);
  ASSERT_THAT(server.status(), IsOk());
  BlockingSocket bad, good;
  ASSERT_THAT(bad.Connect((*server)->address()), IsOk());
  ASSERT_THAT(bad.Send("!"), IsOk());
  EXPECT_TRUE(bad.PeerClosed());
  ASSERT_THAT(good.Connect((*server)->address()), IsOk());
  ASSERT_THAT(good.Send("?"), IsOk());
  EXPECT_THAT(good.ReceiveUntil("\n"), IsOkAndHolds("ok\n"));
}

TEST_F(TcpServerTest, BadOptionsAndATakenPortAreClearErrors) {
  EXPECT_THAT(TcpServer::Start(runtime_, {.name = "x"}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no connection handler")));
  EXPECT_THAT(TcpServer::Start(runtime_, {.name = "x", .max_connections = 0},
                               EchoLines),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_connections must be at least 1")));
  EXPECT_THAT(
      TcpServer::Start(runtime_, {.name = "x", .listeners = 3}, EchoLines),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("3 listeners asked for, but the runtime has 2")));
  // A listener without SO_REUSEPORT keeps the port to itself.
  absl::StatusOr<TcpListener> taken =
      TcpListener::Bind(SocketAddress::Loopback(0));
  ASSERT_THAT(taken.status(), IsOk());
  absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Start(
      runtime_, {.name = "late", .address = taken->local_address()}, EchoLines);
  EXPECT_THAT(server.status().message(),
              HasSubstr(absl::StrCat("TcpServer late: bind ",
                                     taken->local_address().ToString(),
                                     ": Address already in use")));
}

TEST_F(TcpServerTest, LeavesNoDescriptorOpen) {
  const int before = testing::OpenDescriptorCount();
  {
    absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Start(
        runtime_,
        {.name = "leak", .max_connections = 4, .overload_reply = "busy\n"},
        EchoLines);
    ASSERT_THAT(server.status(), IsOk());
    std::vector<std::unique_ptr<BlockingSocket>> clients;
    for (int i = 0; i < 8; ++i) {  // half of them refused
      clients.push_back(std::make_unique<BlockingSocket>());
      ASSERT_THAT(clients.back()->Connect((*server)->address()), IsOk());
      if (i % 3 == 0) clients.back()->SetResetOnClose();
    }
    clients.clear();
  }  // the destructor stops the server and waits
  EXPECT_EQ(testing::OpenDescriptorCount(), before);
}

}  // namespace
}  // namespace anvil
