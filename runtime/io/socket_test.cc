#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/async_event.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/sleep.h"
#include "runtime/core/status_macros.h"
#include "runtime/core/with_deadline.h"
#include "runtime/io/socket_address.h"
#include "runtime/io/tcp_listener.h"
#include "runtime/io/tcp_stream.h"
#include "runtime/io/udp_socket.h"
#include "testing/open_descriptors.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"
#include "testing/temp_path.h"

namespace anvil {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

// A connected pair over 127.0.0.1: {client side, server side}.
Task<absl::StatusOr<std::pair<TcpStream, TcpStream>>> ConnectedPair() {
  ANVIL_CO_ASSIGN_OR_RETURN(TcpListener listener,
                            TcpListener::Bind(SocketAddress::Loopback(0)));
  // Connecting completes in the listen queue, before Accept.
  ANVIL_CO_ASSIGN_OR_RETURN(
      TcpStream client,
      co_await TcpStream::Connect(listener.local_address(), absl::Seconds(10)));
  ANVIL_CO_ASSIGN_OR_RETURN(TcpStream server,
                            co_await listener.Accept(absl::Seconds(10)));
  co_return std::make_pair(std::move(client), std::move(server));
}

// Reads until `size` bytes arrived or the stream ends.
Task<absl::StatusOr<std::string>> ReadBytes(TcpStream& stream, size_t size) {
  std::string out;
  char buffer[4096];
  while (out.size() < size) {
    ANVIL_CO_ASSIGN_OR_RETURN(
        size_t n,
        co_await stream.Read(absl::MakeSpan(buffer), absl::Seconds(10)));
    if (n == 0) break;
    out.append(buffer, n);
  }
  co_return out;
}

class SocketTest : public ::testing::Test {
 protected:
  Runtime runtime_{testing::TestRuntimeOptions()};
};

TEST(SocketAddressTest, ParsesAndPrints) {
  EXPECT_EQ(SocketAddress::Parse("127.0.0.1:8080")->ToString(),
            "127.0.0.1:8080");
  EXPECT_EQ(SocketAddress::Parse("[::1]:0")->ToString(), "[::1]:0");
  EXPECT_EQ(SocketAddress::Parse("unix:/run/x.sock")->ToString(),
            "unix:/run/x.sock");
  EXPECT_EQ(SocketAddress::Loopback(7).port(), 7);
  EXPECT_EQ(SocketAddress::Loopback(7).WithPort(9).ToString(), "127.0.0.1:9");
  EXPECT_EQ(SocketAddress().ToString(), "unset");
}

TEST(SocketAddressTest, RejectsBadTextNamingIt) {
  EXPECT_THAT(SocketAddress::Parse("localhost:80"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"localhost:80\": not a numeric IPv4")));
  EXPECT_THAT(SocketAddress::Parse("1.2.3.4"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected host:port")));
  EXPECT_THAT(
      SocketAddress::Parse("1.2.3.4:70000"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 to 65535")));
  EXPECT_THAT(SocketAddress::Parse("[::1:80"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("']'")));
  EXPECT_THAT(SocketAddress::Unix(std::string(200, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("longer than 107 bytes")));
}

TEST_F(SocketTest, EchoesBothWaysAndSeesEndOfStream) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    auto& [client, server] = pair;
    EXPECT_EQ(client.peer_address(), server.local_address());
    EXPECT_THAT(client.SetNoDelay(true), IsOk());
    EXPECT_THAT(client.SetKeepAlive(true, absl::Seconds(30)), IsOk());
    ANVIL_CO_RETURN_IF_ERROR(co_await client.Write("ping"));
    EXPECT_THAT(co_await ReadBytes(server, 4), IsOkAndHolds("ping"));
    ANVIL_CO_RETURN_IF_ERROR(co_await server.Write("pong"));
    EXPECT_THAT(co_await ReadBytes(client, 4), IsOkAndHolds("pong"));

    // Half-open: the client stops sending but still reads.
    ANVIL_CO_RETURN_IF_ERROR(client.ShutdownWrite());
    char byte;
    EXPECT_THAT(co_await server.Read(absl::MakeSpan(&byte, 1)),
                IsOkAndHolds(0));
    ANVIL_CO_RETURN_IF_ERROR(co_await server.Write("after"));
    EXPECT_THAT(co_await ReadBytes(client, 5), IsOkAndHolds("after"));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, LargeWritesWaitForTheReader) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    auto& [client, server] = pair;
    // Much more than the socket buffers hold: the writer must wait for the
    // reader, which runs on the same worker.
    const std::string payload(8 << 20, 'x');
    absl::StatusOr<std::string> received;
    AsyncEvent read_all;
    auto reader = [](TcpStream& s, absl::StatusOr<std::string>& out,
                     size_t size, AsyncEvent& done) -> internal::Detached {
      out = co_await ReadBytes(s, size);
      done.Notify();
    };
    reader(server, received, payload.size(), read_all)
        .StartOn(*internal::Worker::Current());
    ANVIL_CO_RETURN_IF_ERROR(co_await client.Write(payload, absl::Seconds(30)));
    co_await read_all.Wait();
    ANVIL_CO_RETURN_IF_ERROR(received.status());
    EXPECT_EQ(received->size(), payload.size());
    EXPECT_EQ(*received, payload);
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, APeerThatNeverReadsMakesWriteWaitUntilItsDeadline) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    auto& [client, server] = pair;
    const std::string payload(64 << 20, 'x');
    EXPECT_THAT(co_await client.Write(payload, absl::Milliseconds(100)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("write: deadline exceeded")));
    // The stream is still usable afterwards.
    EXPECT_THAT(co_await client.Write("", absl::Milliseconds(100)),
                StatusIs(absl::StatusCode::kOk));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, ReadWithNothingToReadEndsAtItsDeadline) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    char buffer[16];
    EXPECT_THAT(co_await pair.second.Read(absl::MakeSpan(buffer),
                                          absl::Milliseconds(20)),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("read: deadline exceeded")));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, AResetConnectionIsUnavailableWithTheErrnoText) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    auto& [client, server] = pair;
    // SO_LINGER with a zero timeout: close sends RST instead of FIN.
    linger hard{.l_onoff = 1, .l_linger = 0};
    setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    client.Close();
    char buffer[16];
    EXPECT_THAT(co_await server.Read(absl::MakeSpan(buffer), absl::Seconds(10)),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("read: Connection reset by peer")));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, ConnectingToNothingIsRefusedNamingTheAddress) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    // Bind to learn a free port, then close it so nothing listens there.
    SocketAddress address;
    {
      ANVIL_CO_ASSIGN_OR_RETURN(TcpListener l,
                                TcpListener::Bind(SocketAddress::Loopback(0)));
      address = l.local_address();
    }
    EXPECT_THAT(
        co_await TcpStream::Connect(address, absl::Seconds(10)),
        StatusIs(absl::StatusCode::kUnavailable,
                 HasSubstr(absl::StrCat("connect to ", address.ToString(),
                                        ": Connection refused"))));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, BindingATakenPortFailsUnlessBothReusePort) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ListenOptions shared{.reuse_port = true};
    ANVIL_CO_ASSIGN_OR_RETURN(
        TcpListener first,
        TcpListener::Bind(SocketAddress::Loopback(0), shared));
    const SocketAddress address = first.local_address();
    EXPECT_THAT(TcpListener::Bind(address).status().message(),
                HasSubstr("Address already in use"));
    EXPECT_THAT(TcpListener::Bind(address, shared).status(), IsOk());
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, ASecondWaitingReadIsRefusedAndCancelEndsTheFirst) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    TcpStream& server = pair.second;
    absl::StatusOr<size_t> first = 0;
    auto read_once = [](TcpStream& s, absl::StatusOr<size_t>& out) -> Task<> {
      char buffer[16];
      out = co_await s.Read(absl::MakeSpan(buffer));
    };
    // The first read parks; WithDeadline returns and leaves it waiting.
    EXPECT_THAT(
        co_await WithDeadline(absl::Milliseconds(1), read_once(server, first)),
        StatusIs(absl::StatusCode::kDeadlineExceeded));
    char buffer[16];
    EXPECT_THAT(co_await server.Read(absl::MakeSpan(buffer)),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("another read on this socket is waiting")));
    server.Cancel();
    co_await Sleep(absl::Milliseconds(1));  // the first read resumes
    EXPECT_THAT(first, StatusIs(absl::StatusCode::kCancelled,
                                HasSubstr("read: the socket was cancelled")));
    EXPECT_THAT(co_await server.Read(absl::MakeSpan(buffer)),
                StatusIs(absl::StatusCode::kCancelled));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, UsingASocketOffItsWorkerIsRefused) {
  absl::StatusOr<std::pair<TcpStream, TcpStream>> pair =
      BlockOn(runtime_, ConnectedPair(), /*worker=*/0);
  ASSERT_THAT(pair.status(), IsOk());
  // Registers the server side with worker 0's event loop.
  absl::Status timed_out = BlockOn(
      runtime_,
      [](TcpStream& s) -> Task<absl::Status> {
        char buffer[1];
        co_return (
            co_await s.Read(absl::MakeSpan(buffer), absl::Milliseconds(1)))
            .status();
      }(pair->second),
      0);
  EXPECT_THAT(timed_out, StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::Status off_worker = BlockOn(
      runtime_,
      [](TcpStream& s) -> Task<absl::Status> {
        char buffer[1];
        co_return (co_await s.Read(absl::MakeSpan(buffer))).status();
      }(pair->second),
      1);
  EXPECT_THAT(off_worker, StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("belongs to worker 0")));
  // Both ends belong to worker 0: close them there.
  BlockOn(
      runtime_,
      [](std::pair<TcpStream, TcpStream>& p) -> Task<> {
        p.first.Close();
        p.second.Close();
        co_return;
      }(*pair),
      0);
}

TEST_F(SocketTest, OperationsOnAClosedOrEmptyStreamFail) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    TcpStream empty;
    char buffer[4];
    EXPECT_THAT(co_await empty.Read(absl::MakeSpan(buffer)),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("read: the socket is closed")));
    EXPECT_THAT(co_await empty.Write("x"),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(empty.ShutdownWrite(),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
    pair.first.Close();
    pair.first.Close();  // idempotent
    EXPECT_THAT(co_await pair.first.Write("x"),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, WritesVectorsAndFiles) {
  const std::string path = testing::TempPath("sendfile.txt");
  {
    const int file = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT_GE(file, 0);
    ASSERT_EQ(write(file, "0123456789", 10), 10);
    close(file);
  }
  absl::Status status =
      BlockOn(runtime_, [](std::string path) -> Task<absl::Status> {
        ANVIL_CO_ASSIGN_OR_RETURN(auto pair, co_await ConnectedPair());
        auto& [client, server] = pair;
        std::vector<absl::string_view> pieces = {"GET ", "", "/ HTTP/1.1\r\n",
                                                 "\r\n"};
        ANVIL_CO_RETURN_IF_ERROR(co_await client.WriteVectored(pieces));
        EXPECT_THAT(co_await ReadBytes(server, 18),
                    IsOkAndHolds("GET / HTTP/1.1\r\n\r\n"));

        const int file = open(path.c_str(), O_RDONLY);
        ANVIL_CO_RETURN_IF_ERROR(co_await client.SendFile(file, 2, 5));
        EXPECT_THAT(co_await ReadBytes(server, 5), IsOkAndHolds("23456"));
        EXPECT_THAT(co_await client.SendFile(file, 8, 5),
                    StatusIs(absl::StatusCode::kOutOfRange,
                             HasSubstr("3 bytes still to send")));
        close(file);
        co_return absl::OkStatus();
      }(path));
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, UdpSendsAndReceivesAndReportsTruncation) {
  absl::Status status = BlockOn(runtime_, []() -> Task<absl::Status> {
    ANVIL_CO_ASSIGN_OR_RETURN(UdpSocket a,
                              UdpSocket::Bind(SocketAddress::Loopback(0)));
    ANVIL_CO_ASSIGN_OR_RETURN(UdpSocket b,
                              UdpSocket::Bind(SocketAddress::Loopback(0)));
    ANVIL_CO_RETURN_IF_ERROR(co_await a.SendTo("hello", b.local_address()));
    char buffer[16];
    ANVIL_CO_ASSIGN_OR_RETURN(
        Datagram d,
        co_await b.ReceiveFrom(absl::MakeSpan(buffer), absl::Seconds(10)));
    EXPECT_EQ(absl::string_view(buffer, d.size), "hello");
    EXPECT_EQ(d.from, a.local_address());
    EXPECT_FALSE(d.truncated);

    ANVIL_CO_RETURN_IF_ERROR(
        co_await b.SendTo("a longer datagram", a.local_address()));
    ANVIL_CO_ASSIGN_OR_RETURN(
        Datagram cut,
        co_await a.ReceiveFrom(absl::MakeSpan(buffer, 4), absl::Seconds(10)));
    EXPECT_EQ(absl::string_view(buffer, cut.size), "a lo");
    EXPECT_TRUE(cut.truncated);

    EXPECT_THAT(
        co_await a.ReceiveFrom(absl::MakeSpan(buffer), absl::Milliseconds(10)),
        StatusIs(absl::StatusCode::kDeadlineExceeded,
                 HasSubstr("receive: deadline exceeded")));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketTest, UnixStreamSockets) {
  // sockaddr_un holds 107 bytes: the test's own tmpdir may be too deep.
  const std::string path = absl::StrCat("/tmp/anvil-socket-test-", getpid());
  unlink(path.c_str());
  absl::Status status =
      BlockOn(runtime_, [](std::string path) -> Task<absl::Status> {
        ANVIL_CO_ASSIGN_OR_RETURN(SocketAddress address,
                                  SocketAddress::Unix(path));
        ANVIL_CO_ASSIGN_OR_RETURN(TcpListener listener,
                                  TcpListener::Bind(address));
        EXPECT_EQ(listener.local_address().ToString(), "unix:" + path);
        EXPECT_THAT(TcpListener::Bind(address).status().message(),
                    HasSubstr("Address already in use"));
        ANVIL_CO_ASSIGN_OR_RETURN(TcpStream client,
                                  co_await TcpStream::Connect(address));
        ANVIL_CO_ASSIGN_OR_RETURN(TcpStream server, co_await listener.Accept());
        EXPECT_THAT(client.SetNoDelay(true), IsOk());  // no-op on Unix sockets
        ANVIL_CO_RETURN_IF_ERROR(co_await client.Write("over unix"));
        EXPECT_THAT(co_await ReadBytes(server, 9), IsOkAndHolds("over unix"));
        co_return absl::OkStatus();
      }(path));
  EXPECT_THAT(status, IsOk());
  unlink(path.c_str());
}

TEST_F(SocketTest, NoDescriptorLeaksOnSuccessOrFailure) {
  auto exercise = []() -> Task<> {
    for (int i = 0; i < 20; ++i) {
      absl::StatusOr<std::pair<TcpStream, TcpStream>> pair =
          co_await ConnectedPair();
      EXPECT_THAT(pair.status(), IsOk());
      // A failed bind and a refused connect each opened a socket too.
      EXPECT_FALSE(TcpListener::Bind(pair->first.local_address()).ok());
      SocketAddress gone;
      {
        absl::StatusOr<TcpListener> l =
            TcpListener::Bind(SocketAddress::Loopback(0));
        gone = l->local_address();
      }
      EXPECT_FALSE((co_await TcpStream::Connect(gone)).ok());
      absl::StatusOr<UdpSocket> udp =
          UdpSocket::Bind(SocketAddress::Loopback(0));
      EXPECT_THAT(udp.status(), IsOk());
    }
  };
  BlockOn(runtime_, exercise(), 0);  // warms up what the runtime opens once
  const int before = testing::OpenDescriptorCount();
  BlockOn(runtime_, exercise(), 0);
  EXPECT_EQ(testing::OpenDescriptorCount(), before);
}

}  // namespace
}  // namespace anvil
