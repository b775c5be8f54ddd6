#include "examples/grpc_echo/echo_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace anvil::examples {
namespace {

using ::testing::HasSubstr;

// A real server on an ephemeral 127.0.0.1 port and a real client channel.
class EchoServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    stub_ =
        Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                          grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  grpc::Status Say(const std::string& text, uint32_t times, EchoReply* reply) {
    EchoRequest request;
    request.set_text(text);
    request.set_times(times);
    grpc::ClientContext context;
    return stub_->Say(&context, request, reply);
  }

  EchoService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(EchoServiceTest, EchoesTextOnceByDefault) {
  EchoReply reply;
  grpc::Status status = Say("hello", 0, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "hello");
}

TEST_F(EchoServiceTest, RepeatsText) {
  EchoReply reply;
  grpc::Status status = Say("ab", 3, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "ababab");
}

TEST_F(EchoServiceTest, RejectsEmptyText) {
  EchoReply reply;
  grpc::Status status = Say("", 1, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("text must not be empty"));
  EXPECT_EQ(reply.text(), "");
}

TEST_F(EchoServiceTest, RejectsTooManyRepetitions) {
  EchoReply reply;
  grpc::Status status = Say("x", kMaxEchoTimes + 1, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("times is 101"));
}

TEST_F(EchoServiceTest, UnreachableServerIsUnavailable) {
  server_->Shutdown();
  server_.reset();
  EchoRequest request;
  request.set_text("hello");
  EchoReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Status status = stub_->Say(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace anvil::examples
