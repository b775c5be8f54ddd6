// GrpcNetworkOptions' limits, each exceeded over real gRPC on 127.0.0.1:
// message size (request and reply, from anvil and from a plain gRPC
// client), calls in flight per client connection, and keepalive against a
// peer that goes silent mid-call (a TCP relay that stops relaying).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo.grpc.pb.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "testing/eventually.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::transport::testdata {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::Eventually;
using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kLimit = 64 << 10;

template <typename Reply>
Task<absl::StatusOr<Reply>> AwaitCall(ClientCall<Reply> call) {
  co_return co_await std::move(call);
}

// A node serving Echo over gRPC with `options`.
class EchoNode {
 public:
  explicit EchoNode(GrpcNetworkOptions options)
      : runtime_([] {
          RuntimeOptions runtime = anvil::testing::TestRuntimeOptions();
          runtime.threads = 2;
          return runtime;
        }()),
        factory_(runtime_),
        network_(std::make_shared<GrpcNetwork>(runtime_, std::move(options))) {
    factory_.Bind<EchoDaemon, EchoImpl>();
  }
  ~EchoNode() {
    if (node_ != nullptr) {
      node_->RequestStop();
      EXPECT_THAT(node_->Wait(), IsOk());
    }
  }

  absl::Status Start() {
    absl::StatusOr<EchoDaemon*> echo = factory_.Get<EchoDaemon>();
    if (!echo.ok()) return echo.status();
    echo_ = static_cast<EchoImpl*>(*echo);
    node_ = std::make_unique<Node>(factory_, NodeOptions{.network = network_});
    return node_->Start();
  }

  // An anvil call of Say to `address` over a network with `options`.
  absl::StatusOr<EchoReply> Say(const EchoRequest& request,
                                GrpcNetworkOptions options = {},
                                std::string address = "") {
    GrpcNetwork client(runtime_, std::move(options));
    EchoRef echo(client.Connect(address.empty() ? node_->address() : address));
    return BlockOn(runtime_, AwaitCall(echo.Say(request, absl::Seconds(60))));
  }

  Runtime& runtime() { return runtime_; }
  EchoImpl& echo() { return *echo_; }
  const std::string& address() const { return node_->address(); }

 private:
  Runtime runtime_;
  Factory factory_;
  std::shared_ptr<GrpcNetwork> network_;
  std::unique_ptr<Node> node_;
  EchoImpl* echo_ = nullptr;
};

EchoRequest Text(size_t bytes, uint32_t repeat = 0) {
  EchoRequest request;
  request.set_text(std::string(bytes, 'x'));
  request.set_repeat(repeat);
  return request;
}

TEST(MessageSizeLimitTest, ALargerRequestFailsBeforeItIsSent) {
  EchoNode node({.max_message_bytes = kLimit});
  ASSERT_THAT(node.Start(), IsOk());
  EXPECT_THAT(node.Say(Text(kLimit / 2)), IsOk());
  // A channel with the same limit refuses to send it.
  EXPECT_THAT(node.Say(Text(kLimit + 1), {.max_message_bytes = kLimit}),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(node.echo().says(), 1);
}

TEST(MessageSizeLimitTest, TheServerRefusesALargerRequestBeforeAnyHandler) {
  EchoNode node({.max_message_bytes = kLimit});
  ASSERT_THAT(node.Start(), IsOk());
  // From anvil with gRPC's default limit, and from a plain gRPC client.
  EXPECT_THAT(node.Say(Text(kLimit + 1)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  auto stub = Echo::NewStub(
      grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  EchoReply reply;
  const grpc::Status status = stub->Say(&context, Text(kLimit + 1), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(node.echo().says(), 0);
  // The server goes on serving.
  EXPECT_THAT(node.Say(Text(10)), IsOk());
}

TEST(MessageSizeLimitTest, ALargerReplyFailsTheCall) {
  EchoNode node({.max_message_bytes = kLimit});
  ASSERT_THAT(node.Start(), IsOk());
  // A 1 KiB request whose reply is 128 KiB: the server cannot send it.
  EXPECT_THAT(node.Say(Text(1024, 128)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // A server with room, a client without: the client cannot take it.
  EchoNode roomy({});
  ASSERT_THAT(roomy.Start(), IsOk());
  EXPECT_THAT(roomy.Say(Text(1024, 128), {.max_message_bytes = kLimit}),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(MessageSizeLimitTest, TheLoopbackNetworkAppliesItAlike) {
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  LoopbackNetwork network(runtime);
  network.SetMaxMessageBytes(kLimit);
  EXPECT_EQ(network.max_message_bytes(), kLimit);
  EXPECT_EQ(network.ForNode("n1")->max_message_bytes(), kLimit);
  Factory factory(runtime);
  factory.Bind<EchoDaemon, EchoImpl>();
  ASSERT_THAT(factory.Get<EchoDaemon>(), IsOk());
  Node node(factory, NodeOptions{.listen_address = "echo",
                                 .network = network.ForNode("echo")});
  ASSERT_THAT(node.Start(), IsOk());
  EchoRef remote(network.Connect("echo"));
  auto say = [&](const EchoRequest& request) {
    return BlockOn(runtime, AwaitCall(remote.Say(request, absl::Seconds(60))));
  };
  EXPECT_THAT(say(Text(kLimit + 1)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(say(Text(1024, 128)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(say(Text(10)), IsOk());
  node.RequestStop();
  EXPECT_THAT(node.Wait(), IsOk());
}

TEST(CallsPerConnectionLimitTest, FurtherCallsWaitForAFreeSlot) {
  EchoNode node({.max_calls_per_connection = 2});
  ASSERT_THAT(node.Start(), IsOk());
  // One connection (one channel) for every call.
  auto stub = Echo::NewStub(
      grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
  EchoRequest hold;
  hold.set_wait_for_cancel(true);
  grpc::ClientContext first, second;
  EchoReply first_reply, second_reply;
  std::promise<grpc::Status> first_done, second_done;
  stub->async()->Say(&first, &hold, &first_reply,
                     [&](grpc::Status s) { first_done.set_value(s); });
  stub->async()->Say(&second, &hold, &second_reply,
                     [&](grpc::Status s) { second_done.set_value(s); });
  ASSERT_TRUE(
      Eventually([&] { return node.echo().waiting_for_cancel() == 2; }));

  // A third call on the same connection waits for a slot; its deadline
  // ends it before it ever reaches the server.
  grpc::ClientContext third;
  third.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(300));
  EchoReply third_reply;
  const grpc::Status waited = stub->Say(&third, Text(10), &third_reply);
  EXPECT_EQ(waited.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << waited.error_message();
  EXPECT_EQ(node.echo().says(), 2);

  // One slot frees: the next call goes through.
  first.TryCancel();
  EXPECT_EQ(first_done.get_future().get().error_code(),
            grpc::StatusCode::CANCELLED);
  grpc::ClientContext fourth;
  fourth.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(60));
  EchoReply fourth_reply;
  EXPECT_TRUE(stub->Say(&fourth, Text(10), &fourth_reply).ok());
  EXPECT_EQ(node.echo().says(), 3);
  second.TryCancel();
  second_done.get_future().get();
}

// Relays TCP connections from its own port to `target`, until Freeze():
// then it holds every connection open and relays nothing, as a peer that
// is paused or cut off would.
class Relay {
 public:
  explicit Relay(const std::string& target) {
    target_port_ = std::stoi(target.substr(target.rfind(':') + 1));
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address),
                    &length) != 0) {
      ADD_FAILURE() << "relay: cannot listen";
    }
    port_ = ntohs(address.sin_port);
    accept_ = std::thread([this] { Accept(); });
  }
  ~Relay() {
    stop_ = true;
    accept_.join();
    for (std::thread& thread : pumps_) thread.join();
    for (int fd : fds_) close(fd);
    close(listener_);
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  void Freeze() { frozen_ = true; }

 private:
  void Accept() {
    while (!stop_) {
      pollfd ready{.fd = listener_, .events = POLLIN};
      if (poll(&ready, 1, 10) <= 0) continue;
      const int client = accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (connect(server, reinterpret_cast<sockaddr*>(&address),
                  sizeof(address)) != 0) {
        close(client);
        close(server);
        continue;
      }
      fds_.push_back(client);
      fds_.push_back(server);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  // Copies bytes both ways until stopped; while frozen, reads nothing.
  void Pump(int a, int b) {
    char buffer[16384];
    while (!stop_) {
      if (frozen_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      pollfd ready[2] = {{.fd = a, .events = POLLIN},
                         {.fd = b, .events = POLLIN}};
      if (poll(ready, 2, 10) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if ((ready[i].revents & (POLLIN | POLLHUP)) == 0) continue;
        const ssize_t n = read(ready[i].fd, buffer, sizeof(buffer));
        if (n <= 0) return;
        if (write(ready[1 - i].fd, buffer, static_cast<size_t>(n)) != n) {
          return;
        }
      }
    }
  }

  int listener_ = -1;
  int port_ = 0;
  int target_port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> frozen_{false};
  // The Accept thread's, read once it has ended.
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::thread accept_;
};

// Pings after 200 ms of quiet; gives up on a peer after 2 s more.
GrpcNetworkOptions FastKeepalive() {
  return {.keepalive_time = absl::Milliseconds(200),
          .keepalive_timeout = absl::Seconds(2)};
}

TEST(KeepaliveTest, AQuietCallOnAHealthyConnectionIsNotCut) {
  // The server accepts the pings of a client configured alike: a call
  // that sends nothing for many keepalive times finishes.
  EchoNode node(FastKeepalive());
  ASSERT_THAT(node.Start(), IsOk());
  EchoRequest slow = Text(10);
  slow.set_delay_ms(1500);
  EXPECT_THAT(node.Say(slow, FastKeepalive()), IsOk());
}

TEST(KeepaliveTest, APeerThatGoesSilentFailsTheCallUnavailable) {
  EchoNode node(FastKeepalive());
  ASSERT_THAT(node.Start(), IsOk());
  Relay relay(node.address());
  EchoRequest hold;
  hold.set_wait_for_cancel(true);
  // The call would wait out its 60 s deadline on a peer that never
  // answers; keepalive ends it once a ping goes unanswered.
  std::future<absl::StatusOr<EchoReply>> call = std::async(
      std::launch::async,
      [&] { return node.Say(hold, FastKeepalive(), relay.address()); });
  ASSERT_TRUE(
      Eventually([&] { return node.echo().waiting_for_cancel() == 1; }));
  relay.Freeze();
  EXPECT_THAT(call.get(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(KeepaliveTest, WithoutItTheCallWaitsForItsDeadline) {
  EchoNode node({});
  ASSERT_THAT(node.Start(), IsOk());
  Relay relay(node.address());
  EchoRequest hold;
  hold.set_wait_for_cancel(true);
  GrpcNetwork client(node.runtime(),
                     {.keepalive_time = absl::InfiniteDuration()});
  EchoRef echo(client.Connect(relay.address()));
  std::future<absl::StatusOr<EchoReply>> call =
      std::async(std::launch::async, [&] {
        return BlockOn(node.runtime(),
                       AwaitCall(echo.Say(hold, absl::Seconds(2))));
      });
  ASSERT_TRUE(
      Eventually([&] { return node.echo().waiting_for_cancel() == 1; }));
  relay.Freeze();
  EXPECT_THAT(call.get(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(LimitsTest, OptionsGrpcCannotApplyAreRefused) {
  EXPECT_THAT(CheckLimits({.max_message_bytes = 10}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_message_bytes is 10")));
  EXPECT_THAT(CheckLimits({.max_calls_per_connection = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_calls_per_connection")));
  EXPECT_THAT(CheckLimits({.keepalive_time = absl::Milliseconds(1)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("keepalive_time")));
  Runtime runtime(anvil::testing::TestRuntimeOptions());
  GrpcNetwork network(runtime, {.max_message_bytes = 10});
  EXPECT_THAT(network.Serve("127.0.0.1:0", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace anvil::transport::testdata
