// An exposed daemon served by its node over real gRPC on 127.0.0.1, called
// by clients written against the plain generated stub (echo.grpc.pb.h), the
// generic stub and the standard health stub: status mapping both ways,
// deadlines and cancellation reaching the actor, health transitions and
// graceful stop.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/node.h"
#include "runtime/transport/grpc/grpc_network.h"
#include "runtime/transport/grpc/testdata/echo.grpc.pb.h"
#include "runtime/transport/grpc/testdata/echo_daemon.h"
#include "testing/eventually.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::transport::testdata {
namespace {

using ::anvil::testing::Eventually;
using ::anvil::testing::IsOk;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr char kService[] = "anvil.transport.testdata.Echo";

std::chrono::system_clock::time_point In(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

class ExposedDaemonTest : public ::testing::Test {
 protected:
  void StartNode(NodeOptions options = {}) {
    RuntimeOptions runtime_options = anvil::testing::TestRuntimeOptions();
    runtime_options.threads = 2;
    runtime_ = std::make_unique<Runtime>(runtime_options);
    factory_ = std::make_unique<Factory>(*runtime_);
    factory_->Bind<EchoDaemon, EchoImpl>();
    absl::StatusOr<EchoDaemon*> echo = factory_->Get<EchoDaemon>();
    ASSERT_TRUE(echo.ok()) << echo.status();
    echo_ = static_cast<EchoImpl*>(*echo);
    // gRPC whatever the build's default (these tests are about gRPC).
    if (options.network == nullptr) {
      options.network = std::make_shared<GrpcNetwork>(*runtime_);
    }
    node_ = std::make_unique<Node>(*factory_, std::move(options));
    ASSERT_THAT(node_->Start(), IsOk());
    ASSERT_FALSE(node_->address().empty());
    channel_ = grpc::CreateChannel(node_->address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = Echo::NewStub(channel_);
  }

  // Stops the node and waits for it (the daemon stays: the factory owns
  // it).
  void StopNode() {
    node_->RequestStop();
    EXPECT_THAT(node_->Wait(), IsOk());
    node_.reset();
  }

  void TearDown() override {
    if (echo_ != nullptr) echo_->Release();
    if (node_ != nullptr) {
      node_->RequestStop();
      EXPECT_THAT(node_->Wait(), IsOk());
    }
  }

  grpc::Status Say(
      const EchoRequest& request, EchoReply* reply,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) {
    grpc::ClientContext context;
    context.set_deadline(In(timeout));
    return stub_->Say(&context, request, reply);
  }

  // Starts a call through the stub's callback API; the future gets its
  // status. The arguments must outlive the call.
  std::future<grpc::Status> SayAsync(grpc::ClientContext* context,
                                     const EchoRequest* request,
                                     EchoReply* reply) {
    auto done = std::make_shared<std::promise<grpc::Status>>();
    stub_->async()->Say(context, request, reply,
                        [done](grpc::Status s) { done->set_value(s); });
    return done->get_future();
  }
  std::future<grpc::Status> HoldAsync(grpc::ClientContext* context,
                                      const EchoRequest* request,
                                      EchoReply* reply) {
    auto done = std::make_shared<std::promise<grpc::Status>>();
    stub_->async()->Hold(context, request, reply,
                         [done](grpc::Status s) { done->set_value(s); });
    return done->get_future();
  }

  // Calls `method` with `bytes` as the request, through gRPC's generic
  // stub (no message types involved).
  grpc::Status CallGeneric(const std::string& method,
                           const std::string& bytes) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer reply;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &reply,
                      [&done](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  }

  HealthCheckResponse::ServingStatus Health(const std::string& service) {
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Factory> factory_;
  std::unique_ptr<Node> node_;
  EchoImpl* echo_ = nullptr;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(ExposedDaemonTest, PlainGrpcStubCallsTheDaemon) {
  StartNode();
  EchoRequest request;
  request.set_text("hello");
  EchoReply reply;
  grpc::Status status = Say(request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "hello");
  EXPECT_EQ(node_->address().rfind("127.0.0.1:", 0), 0u) << node_->address();
}

TEST_F(ExposedDaemonTest, ActorStatusBecomesTheRpcStatus) {
  StartNode();
  for (int code = 1; code <= 16; ++code) {
    EchoRequest request;
    request.set_code(code);
    request.set_text(absl::StrCat("failure ", code));
    EchoReply reply;
    grpc::Status status = Say(request, &reply);
    EXPECT_EQ(static_cast<int>(status.error_code()), code);
    EXPECT_EQ(status.error_message(), absl::StrCat("failure ", code));
  }
}

TEST_F(ExposedDaemonTest, RequestThatDoesNotParseIsInvalidArgument) {
  StartNode();
  // Field 1 announced as 100 bytes long, with 2 present.
  grpc::Status status =
      CallGeneric(absl::StrCat("/", kService, "/Say"), "\x0a\x64xy");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("EchoRequest"), std::string::npos)
      << status.error_message();
}

TEST_F(ExposedDaemonTest, UnknownMethodIsUnimplemented) {
  StartNode();
  EXPECT_EQ(CallGeneric(absl::StrCat("/", kService, "/Shout"), "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ExposedDaemonTest, FullMailboxIsResourceExhausted) {
  StartNode();
  // Hold occupies the daemon; its mailbox (capacity 2) then fills with
  // calls that cannot be served, until one is refused.
  grpc::ClientContext hold_context;
  EchoRequest hold;
  hold.set_text("held");
  EchoReply hold_reply;
  std::future<grpc::Status> held = HoldAsync(&hold_context, &hold, &hold_reply);
  ASSERT_TRUE(Eventually([&] { return echo_->holds_started() == 1; }));

  // Five calls while it is held: whatever order they arrive in, two wait in
  // the mailbox and three are refused at once.
  constexpr int kCalls = 5;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoReply> replies(kCalls);
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(In(std::chrono::milliseconds(60'000)));
    requests[i].set_text(absl::StrCat("queued ", i));
    calls.push_back(SayAsync(contexts.back().get(), &requests[i], &replies[i]));
  }
  auto refused = [&] {
    int n = 0;
    for (std::future<grpc::Status>& call : calls) {
      if (call.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        ++n;
      }
    }
    return n;
  };
  ASSERT_TRUE(Eventually([&] { return refused() == kCalls - 2; }));
  echo_->Release();
  grpc::Status status = held.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(hold_reply.text(), "held");
  // The two that waited are served once the daemon is free.
  int served = 0;
  int exhausted = 0;
  for (std::future<grpc::Status>& call : calls) {
    const grpc::Status s = call.get();
    if (s.ok()) ++served;
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++exhausted;
  }
  EXPECT_EQ(served, 2);
  EXPECT_EQ(exhausted, kCalls - 2);
}

TEST_F(ExposedDaemonTest, DeadlineReachesTheActor) {
  StartNode();
  EchoRequest request;
  request.set_wait_for_cancel(true);
  EchoReply reply;
  grpc::Status status = Say(request, &reply, std::chrono::milliseconds(50));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(Eventually([&] { return echo_->cancellations_seen() == 1; }));
}

TEST_F(ExposedDaemonTest, ClientCancellationReachesTheActor) {
  StartNode();
  grpc::ClientContext context;
  EchoRequest request;
  request.set_wait_for_cancel(true);
  EchoReply reply;
  std::future<grpc::Status> done = SayAsync(&context, &request, &reply);
  ASSERT_TRUE(Eventually([&] { return echo_->waiting_for_cancel() == 1; }));
  context.TryCancel();
  EXPECT_EQ(done.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(Eventually([&] { return echo_->cancellations_seen() == 1; }));
}

TEST_F(ExposedDaemonTest, HealthIsServingOnlyBetweenPrepareAndStop) {
  StartNode({.grace = absl::Seconds(30)});
  EXPECT_EQ(Health(kService), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);

  // A call in flight keeps the server up while the node stops.
  grpc::ClientContext hold_context;
  EchoRequest hold;
  EchoReply hold_reply;
  std::future<grpc::Status> held = HoldAsync(&hold_context, &hold, &hold_reply);
  ASSERT_TRUE(Eventually([&] { return echo_->holds_started() == 1; }));
  node_->RequestStop();
  EXPECT_TRUE(Eventually(
      [&] { return Health(kService) == HealthCheckResponse::NOT_SERVING; }));
  EXPECT_EQ(Health(""), HealthCheckResponse::NOT_SERVING);

  // New calls are refused meanwhile; the one in flight still finishes.
  EchoRequest late;
  EchoReply late_reply;
  EXPECT_EQ(Say(late, &late_reply).error_code(), grpc::StatusCode::UNAVAILABLE);
  echo_->Release();
  EXPECT_TRUE(held.get().ok());
  EXPECT_THAT(node_->Wait(), IsOk());
  node_.reset();
}

TEST_F(ExposedDaemonTest, StopAnswersCallsPastTheGraceUnavailable) {
  StartNode({.grace = absl::Milliseconds(100)});
  grpc::ClientContext context;
  EchoRequest request;
  request.set_wait_for_cancel(true);
  EchoReply reply;
  std::future<grpc::Status> done = SayAsync(&context, &request, &reply);
  ASSERT_TRUE(Eventually([&] { return echo_->waiting_for_cancel() == 1; }));

  StopNode();
  grpc::Status status = done.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(echo_->cancellations_seen(), 1);
}

TEST_F(ExposedDaemonTest, StopLetsCallsWithinTheGraceFinish) {
  StartNode({.grace = absl::Seconds(30)});
  grpc::ClientContext context;
  EchoRequest request;
  request.set_text("slow");
  request.set_delay_ms(100);
  EchoReply reply;
  std::future<grpc::Status> done = SayAsync(&context, &request, &reply);
  ASSERT_TRUE(Eventually([&] { return echo_->delays_started() == 1; }));
  StopNode();
  grpc::Status status = done.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "slow");
}

TEST_F(ExposedDaemonTest, GeneratedRefCallsByAddress) {
  StartNode();
  GrpcNetwork network(*runtime_);
  EchoRef remote(network.Connect(node_->address()));
  EchoRequest request;
  request.set_text("typed");
  auto call = [&](EchoRequest r) {
    return anvil::testing::BlockOn(
        *runtime_,
        [](EchoRef echo, EchoRequest r) -> Task<absl::StatusOr<EchoReply>> {
          co_return co_await echo.Say(std::move(r));
        }(remote, std::move(r)));
  };
  absl::StatusOr<EchoReply> reply = call(request);
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->text(), "typed");

  request.set_code(static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(call(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ExposedDaemonAddressTest, AddressInUseFailsStartNamingIt) {
  RuntimeOptions runtime_options = anvil::testing::TestRuntimeOptions();
  Runtime runtime(runtime_options);
  Factory first(runtime);
  first.Bind<EchoDaemon, EchoImpl>();
  ASSERT_TRUE(first.Get<EchoDaemon>().ok());
  auto grpc = std::make_shared<GrpcNetwork>(runtime);
  Node serving(first, {.network = grpc});
  ASSERT_THAT(serving.Start(), IsOk());

  Factory second(runtime);
  second.Bind<EchoDaemon, EchoImpl>();
  ASSERT_TRUE(second.Get<EchoDaemon>().ok());
  Node clashing(second, {.listen_address = serving.address(), .network = grpc});
  absl::Status status = clashing.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find(serving.address()), std::string::npos)
      << status;
  EXPECT_NE(status.message().find(kService), std::string::npos) << status;
  serving.RequestStop();
  EXPECT_THAT(serving.Wait(), IsOk());
}

}  // namespace
}  // namespace anvil::transport::testdata
