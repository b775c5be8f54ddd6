// http_hello between simulated nodes: the same server code, tested under
// latency, loss and a partition in virtual time (built through sim_test).
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/daemon/daemon.h"
#include "runtime/daemon/factory.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_server.h"
#include "runtime/io/tcp_stream.h"
#include "services/http_hello/http_hello.anvil.h"
#include "services/http_hello/http_hello.h"
#include "services/http_hello/http_hello_server.h"
#include "testing/sim/sim_cluster.h"
#include "testing/sim/simulation.h"
#include "testing/status_matchers.h"

namespace anvil::http {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;

const SocketAddress kServer = *SocketAddress::Parse("10.0.0.1:80");

// Reads one response (head and Content-Length body) from `stream`, keeping
// what follows in `pending`.
Task<absl::StatusOr<std::string>> ReadResponse(TcpStream& stream,
                                               std::string& pending,
                                               Deadline deadline = {}) {
  char buffer[4096];
  while (true) {
    const size_t head_end = pending.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const size_t at = pending.find("Content-Length: ");
      const size_t length = std::stoul(pending.substr(at + 16));
      const size_t total = head_end + 4 + length;
      if (pending.size() >= total) {
        std::string response = pending.substr(0, total);
        pending.erase(0, total);
        co_return response;
      }
    }
    ANVIL_CO_ASSIGN_OR_RETURN(
        size_t n, co_await stream.Read(absl::MakeSpan(buffer), deadline));
    if (n == 0) co_return absl::UnavailableError("the server closed");
    pending.append(buffer, n);
  }
}

// Serves http_hello on node "server" (its worker) until the runtime stops.
Task<absl::Status> RunServer(ActorContext<int>& ctx) {
  const HttpHelloOptions options;
  ANVIL_CO_ASSIGN_OR_RETURN(
      std::unique_ptr<TcpServer> server,
      TcpServer::Start(
          ctx.runtime(), HttpHelloServerOptions(kServer),
          [&options](Connection& c) { return ServeHttpHello(c, options); }));
  co_await server->Stopped();
  co_return absl::OkStatus();
}

constexpr absl::string_view kGet = "GET / HTTP/1.1\r\nHost: sim\r\n\r\n";

class HttpHelloSimTest : public ::testing::Test {
 protected:
  HttpHelloSimTest() {
    sim_.SetWorkerHost(1, "server", kServer);
    sim_.SetWorkerHost(2, "client", *SocketAddress::Parse("10.0.0.2:0"));
    sim_.network().SetLinks({.min_latency = absl::Milliseconds(1),
                             .max_latency = absl::Milliseconds(5)});
    sim_.runtime().Spawn(RunServer,
                         ActorOptions{.name = "server", .worker = 1});
  }

  // Runs `client` on node "client" until it returns; returns its status.
  template <typename F>
  absl::Status RunClient(F client) {
    std::optional<absl::Status> result;
    sim_.runtime().Spawn(
        [](ActorContext<int>&, F f,
           std::optional<absl::Status>* out) -> Task<> {
          co_await Sleep(absl::Milliseconds(10));  // the server is up
          *out = co_await f();
        },
        std::move(client), &result, ActorOptions{.worker = 2});
    absl::Status run = sim_.RunUntil([&] { return result.has_value(); });
    if (!run.ok()) return run;
    return *result;
  }

  sim::Simulation sim_{{.seed = 3, .workers = 3}};
};

TEST_F(HttpHelloSimTest, ServesOverALossyLinkWithPipelining) {
  sim_.network().SetLinks({.min_latency = absl::Milliseconds(1),
                           .max_latency = absl::Milliseconds(20),
                           .drop = 0.2});
  EXPECT_THAT(RunClient([]() -> Task<absl::Status> {
                ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                                          co_await TcpStream::Connect(kServer));
                std::string batch;
                for (int i = 0; i < 50; ++i) absl::StrAppend(&batch, kGet);
                ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(batch));
                std::string pending;
                for (int i = 0; i < 50; ++i) {
                  ANVIL_CO_ASSIGN_OR_RETURN(
                      std::string response,
                      co_await ReadResponse(stream, pending));
                  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200 OK"));
                  EXPECT_TRUE(absl::EndsWith(response, "Hello, World!\n"));
                }
                co_return absl::OkStatus();
              }),
              IsOk());
  EXPECT_GT(sim_.network().stats().lost, 0u);
}

TEST_F(HttpHelloSimTest, ARequestAcrossAPartitionIsAnsweredOnceHealed) {
  EXPECT_THAT(
      RunClient([this]() -> Task<absl::Status> {
        ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                                  co_await TcpStream::Connect(kServer));
        std::string pending;
        ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(kGet));
        ANVIL_CO_RETURN_IF_ERROR(
            (co_await ReadResponse(stream, pending)).status());

        sim_.network().Partition({"server"}, {"client"});
        ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(kGet));
        EXPECT_THAT(co_await ReadResponse(stream, pending, absl::Seconds(2)),
                    StatusIs(absl::StatusCode::kDeadlineExceeded));
        sim_.network().Heal();
        // The request was retransmitted, then answered.
        ANVIL_CO_ASSIGN_OR_RETURN(std::string response,
                                  co_await ReadResponse(stream, pending));
        EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200 OK"));
        co_return absl::OkStatus();
      }),
      IsOk());
}

TEST_F(HttpHelloSimTest, MalformedRequestsGet400InTheSimulationToo) {
  EXPECT_THAT(
      RunClient([]() -> Task<absl::Status> {
        ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                                  co_await TcpStream::Connect(kServer));
        ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write("BROKEN\r\n\r\n"));
        std::string pending;
        ANVIL_CO_ASSIGN_OR_RETURN(std::string response,
                                  co_await ReadResponse(stream, pending));
        EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 400"));
        char byte;
        EXPECT_THAT(co_await stream.Read(absl::MakeSpan(&byte, 1)),
                    ::anvil::testing::IsOkAndHolds(0));
        co_return absl::OkStatus();
      }),
      IsOk());
}

TEST(HttpHelloCrashTest, ACrashedServerTimesOutAndItsRestartServesAgain) {
  sim::Simulation sim({.seed = 5, .workers = 4});
  // http_hello as the daemon of a simulated node: crashing the node stops
  // it, restarting builds it again.
  sim::SimCluster cluster(sim, [](Factory& root) {
    root.Bind<http_hello::HttpHelloDaemon, HttpHelloServer>(
        HttpHelloServerOptions(*SocketAddress::Parse("0.0.0.0:80")));
  });
  ASSERT_THAT(
      cluster.AddNode("web",
                      [](Factory& node) {
                        return node.Get<http_hello::HttpHelloDaemon>().status();
                      }),
      IsOk());
  // The client runs as a node of its own on a free worker.
  sim.SetWorkerHost(3, "client", *SocketAddress::Parse("10.0.1.1:0"));
  sim.network().SetLinks({.min_latency = absl::Milliseconds(1),
                          .max_latency = absl::Milliseconds(5)});
  const SocketAddress web = cluster.address_of("web", 80);
  sim.At(absl::Seconds(1), [&] { ASSERT_THAT(cluster.Crash("web"), IsOk()); });
  sim.At(absl::Seconds(5),
         [&] { ASSERT_THAT(cluster.Restart("web"), IsOk()); });

  std::optional<absl::Status> result;
  sim.runtime().Spawn(
      [](ActorContext<int>&, SocketAddress web,
         std::optional<absl::Status>* out) -> Task<> {
        *out = co_await [](SocketAddress web) -> Task<absl::Status> {
          ANVIL_CO_ASSIGN_OR_RETURN(TcpStream stream,
                                    co_await TcpStream::Connect(web));
          std::string pending;
          ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(kGet));
          ANVIL_CO_RETURN_IF_ERROR(
              (co_await ReadResponse(stream, pending)).status());
          // The server crashes at 1 s: like a dead machine, it neither
          // answers nor says goodbye.
          co_await Sleep(absl::Milliseconds(1500));
          ANVIL_CO_RETURN_IF_ERROR(co_await stream.Write(kGet));
          EXPECT_THAT(co_await ReadResponse(stream, pending, absl::Seconds(1)),
                      StatusIs(absl::StatusCode::kDeadlineExceeded));
          EXPECT_THAT(co_await TcpStream::Connect(web, absl::Seconds(1)),
                      StatusIs(absl::StatusCode::kDeadlineExceeded));
          // Restarted at 5 s: the old connection is gone (what it had sent
          // reaches the new server's kernel, which resets it), and a new one
          // is served.
          co_await Sleep(absl::Seconds(2));
          EXPECT_THAT(
              co_await ReadResponse(stream, pending, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::HasSubstr("Connection reset by peer")));
          ANVIL_CO_ASSIGN_OR_RETURN(TcpStream fresh,
                                    co_await TcpStream::Connect(web));
          ANVIL_CO_RETURN_IF_ERROR(co_await fresh.Write(kGet));
          ANVIL_CO_ASSIGN_OR_RETURN(std::string response,
                                    co_await ReadResponse(fresh, pending));
          EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200 OK"));
          co_return absl::OkStatus();
        }(web);
      },
      web, &result, ActorOptions{.worker = 3});
  ASSERT_THAT(sim.RunUntil([&] { return result.has_value(); }), IsOk());
  EXPECT_THAT(*result, IsOk());
}

}  // namespace
}  // namespace anvil::http
