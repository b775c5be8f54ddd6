#include "services/http_hello/http_hello.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/io/blocking_socket.h"
#include "runtime/io/tcp_server.h"
#include "testing/open_descriptors.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::http {
namespace {

using ::anvil::testing::BlockingSocket;
using ::anvil::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::string_view kGet = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

// One response: head and body (by its Content-Length).
struct Response {
  std::string head;
  std::string body;
};

Response ReadResponse(BlockingSocket& socket) {
  Response response;
  absl::StatusOr<std::string> head = socket.ReceiveUntil("\r\n\r\n");
  if (!head.ok()) {
    ADD_FAILURE() << head.status();
    return response;
  }
  response.head = *head;
  const size_t at = head->find("Content-Length: ");
  EXPECT_NE(at, std::string::npos) << *head;
  const size_t length = std::stoul(head->substr(at + 16));
  absl::StatusOr<std::string> body = socket.ReceiveExactly(length);
  EXPECT_THAT(body.status(), IsOk());
  if (body.ok()) response.body = *body;
  return response;
}

class HttpHelloTest : public ::testing::Test {
 protected:
  void StartServer(HttpHelloOptions options = {},
                   size_t max_connections = 10'000) {
    options_ = std::move(options);
    TcpServerOptions server_options =
        HttpHelloServerOptions(SocketAddress::Loopback(0));
    server_options.max_connections = max_connections;
    absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Start(
        runtime_, server_options,
        [this](Connection& c) { return ServeHttpHello(c, options_); });
    ASSERT_THAT(server.status(), IsOk());
    server_ = *std::move(server);
  }

  BlockingSocket& Connect() {
    clients_.push_back(std::make_unique<BlockingSocket>());
    EXPECT_THAT(clients_.back()->Connect(server_->address()), IsOk());
    return *clients_.back();
  }

  void AwaitActive(uint64_t active) {
    while (server_->stats().active != active) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  Runtime runtime_{anvil::testing::TestRuntimeOptions()};
  HttpHelloOptions options_;
  std::unique_ptr<TcpServer> server_;
  std::vector<std::unique_ptr<BlockingSocket>> clients_;
};

TEST_F(HttpHelloTest, AnswersRequestsOnAKeptAliveConnection) {
  StartServer();
  BlockingSocket& client = Connect();
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(client.Send(kGet), IsOk());
    Response r = ReadResponse(client);
    EXPECT_THAT(r.head, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(r.head, HasSubstr("Content-Length: 14\r\n"));
    EXPECT_THAT(r.head, HasSubstr(" GMT\r\n"));  // Date
    EXPECT_THAT(r.head, ::testing::Not(HasSubstr("Connection: close")));
    EXPECT_EQ(r.body, "Hello, World!\n");
  }
  EXPECT_EQ(server_->stats().accepted, 1u);
}

TEST_F(HttpHelloTest, AnswersPipelinedRequestsInOrderAndSkipsBodies) {
  StartServer();
  BlockingSocket& client = Connect();
  ASSERT_THAT(
      client.Send(absl::StrCat(
          "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nGET /",
          "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", kGet)),
      IsOk());
  // The body "GET /" is skipped, not parsed as a request.
  EXPECT_EQ(ReadResponse(client).body, "Hello, World!\n");
  // HEAD: the head only (its Content-Length describes the GET body).
  absl::StatusOr<std::string> head = client.ReceiveUntil("\r\n\r\n");
  ASSERT_THAT(head.status(), IsOk());
  EXPECT_THAT(*head, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_EQ(ReadResponse(client).body, "Hello, World!\n");
}

TEST_F(HttpHelloTest, ClosesAfterConnectionCloseAndAfterHttp10) {
  StartServer();
  BlockingSocket& a = Connect();
  ASSERT_THAT(a.Send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
              IsOk());
  EXPECT_THAT(ReadResponse(a).head, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(a.PeerClosed());
  BlockingSocket& b = Connect();
  ASSERT_THAT(b.Send("GET / HTTP/1.0\r\n\r\n"), IsOk());
  EXPECT_EQ(ReadResponse(b).body, "Hello, World!\n");
  EXPECT_TRUE(b.PeerClosed());
  BlockingSocket& c = Connect();
  ASSERT_THAT(c.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
              IsOk());
  EXPECT_THAT(ReadResponse(c).head, HasSubstr("Connection: keep-alive\r\n"));
  ASSERT_THAT(c.Send(kGet), IsOk());
  EXPECT_EQ(ReadResponse(c).body, "Hello, World!\n");
}

TEST_F(HttpHelloTest, MalformedRequestsGet400AndTheConnectionCloses) {
  StartServer();
  BlockingSocket& client = Connect();
  ASSERT_THAT(client.Send("NOT HTTP AT ALL\r\n\r\n"), IsOk());
  Response r = ReadResponse(client);
  EXPECT_THAT(r.head, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(r.head, HasSubstr("Connection: close\r\n"));
  EXPECT_EQ(r.body, "malformed HTTP version\n");
  EXPECT_TRUE(client.PeerClosed());
}

TEST_F(HttpHelloTest, OversizedHeadersGet431) {
  StartServer();
  BlockingSocket& client = Connect();
  // Far more than the limit, and never a blank line.
  ASSERT_THAT(client.Send(absl::StrCat("GET / HTTP/1.1\r\nHost: t\r\nX-Big: ",
                                       std::string(20000, 'a'))),
              IsOk());
  EXPECT_THAT(ReadResponse(client).head,
              StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_TRUE(client.PeerClosed());
}

TEST_F(HttpHelloTest, ASlowClientSendingOneByteAtATimeIsServed) {
  StartServer();
  BlockingSocket& client = Connect();
  for (char c : kGet) {
    ASSERT_THAT(client.Send(absl::string_view(&c, 1)), IsOk());
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(ReadResponse(client).body, "Hello, World!\n");
}

TEST_F(HttpHelloTest, AHeadThatNeverCompletesGets408) {
  HttpHelloOptions options;
  options.header_timeout = absl::Milliseconds(100);
  StartServer(options);
  BlockingSocket& client = Connect();
  ASSERT_THAT(client.Send("GET / HTTP/1.1\r\nHo"), IsOk());  // and no more
  EXPECT_THAT(ReadResponse(client).head,
              StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
  EXPECT_TRUE(client.PeerClosed());
}

TEST_F(HttpHelloTest, AnIdleKeptAliveConnectionIsClosedAfterIdleTimeout) {
  HttpHelloOptions options;
  options.idle_timeout = absl::Milliseconds(50);
  StartServer(options);
  BlockingSocket& client = Connect();
  ASSERT_THAT(client.Send(kGet), IsOk());
  EXPECT_EQ(ReadResponse(client).body, "Hello, World!\n");
  EXPECT_TRUE(client.PeerClosed());  // without a response
}

TEST_F(HttpHelloTest, APeerThatNeverReadsIsCutOffAfterTheWriteTimeout) {
  HttpHelloOptions options;
  options.write_timeout = absl::Milliseconds(100);
  StartServer(options);
  BlockingSocket& client = Connect();
  // Requests whose responses fill both socket buffers, never read. The
  // server stops reading while its write waits, so our sends stall too;
  // a short send timeout keeps this thread from waiting on that.
  timeval tv{.tv_sec = 0, .tv_usec = 200'000};
  setsockopt(client.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string batch;
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&batch, kGet);
  for (int i = 0; i < 200 && client.Send(batch).ok(); ++i) {
  }
  AwaitActive(0);  // the server gave up on the connection
}

TEST_F(HttpHelloTest, ResetAndHalfSentRequestsEndOnlyTheirConnection) {
  StartServer();
  BlockingSocket& reset = Connect();
  ASSERT_THAT(reset.Send("GET / HTTP/1.1\r\nHo"), IsOk());
  BlockingSocket& half = Connect();
  ASSERT_THAT(half.Send("GET / HTTP/1.1\r\nHost: t\r\n"), IsOk());
  AwaitActive(2);
  reset.SetResetOnClose();
  reset.Close();
  half.ShutdownWrite();  // half-open: the request can never complete
  EXPECT_TRUE(half.PeerClosed());
  AwaitActive(0);
  BlockingSocket& fine = Connect();
  ASSERT_THAT(fine.Send(kGet), IsOk());
  EXPECT_EQ(ReadResponse(fine).body, "Hello, World!\n");
}

TEST_F(HttpHelloTest, ConnectionsOverTheLimitGet503) {
  StartServer({}, /*max_connections=*/1);
  BlockingSocket& first = Connect();
  ASSERT_THAT(first.Send(kGet), IsOk());
  ReadResponse(first);
  BlockingSocket& second = Connect();
  EXPECT_THAT(ReadResponse(second).head,
              StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_TRUE(second.PeerClosed());
}

TEST_F(HttpHelloTest, StoppingAnswersTheRequestInProgressWithConnectionClose) {
  StartServer();
  BlockingSocket& idle = Connect();
  BlockingSocket& busy = Connect();
  ASSERT_THAT(busy.Send("GET / HTTP/1.1\r\nHost: t\r\n"), IsOk());
  AwaitActive(2);
  server_->RequestStop();
  EXPECT_TRUE(idle.PeerClosed());
  // The stop reaches each worker on its own; once every listener closed,
  // every connection knows.
  while (server_->stats().listening != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_THAT(busy.Send("\r\n"), IsOk());
  EXPECT_THAT(ReadResponse(busy).head, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(busy.PeerClosed());
  server_->Wait();
}

TEST_F(HttpHelloTest, LeavesNoDescriptorOpen) {
  const int before = anvil::testing::OpenDescriptorCount();
  StartServer({}, /*max_connections=*/3);
  for (int i = 0; i < 6; ++i) {
    BlockingSocket& c = Connect();
    if (c.Send(kGet).ok()) ReadResponse(c);
  }
  Connect().Send("garbage\r\n\r\n").IgnoreError();
  clients_.clear();
  server_.reset();  // stops and waits
  EXPECT_EQ(anvil::testing::OpenDescriptorCount(), before);
}

}  // namespace
}  // namespace anvil::http
