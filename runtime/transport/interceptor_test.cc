// Interceptors over the loopback network and gRPC alike: client ones see
// every call made through a generated client (local and remote) and the
// metadata they add reaches the server's handler; server ones see every
// call a node serves, refusals included; a refusal on either side keeps
// the call from the daemon.
#include "runtime/actor/interceptor.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/mutex.h"
#include "runtime/transport/grpc/testdata/echo_cluster.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::transport::testdata {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWho[] = "/anvil.transport.testdata.EchoPeer/Who";
constexpr char kSay[] = "/anvil.transport.testdata.Echo/Say";

// What interceptors saw, as lines, in order. Thread-safe.
class Journal {
 public:
  void Add(std::string line) {
    MutexLock lock(mu_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> lines() const {
    MutexLock lock(mu_);
    return lines_;
  }
  void Clear() {
    MutexLock lock(mu_);
    lines_.clear();
  }

 private:
  mutable Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

std::string Where(const ClientCallInfo& call) {
  return absl::StrCat(call.remote ? "remote" : "local",
                      call.one_way ? " one-way" : "");
}

// Records each call and adds "x-request-id"; refuses methods named
// `refuse`.
class TagCalls final : public ClientInterceptor {
 public:
  TagCalls(std::string name, Journal& journal)
      : name_(std::move(name)), journal_(journal) {}

  absl::Status BeforeCall(const ClientCallInfo& call,
                          CallMetadata& metadata) override {
    journal_.Add(absl::StrCat(name_, " before ", call.method, " ", Where(call),
                              call.deadline == INT64_MAX ? "" : " deadline"));
    metadata.emplace_back("x-request-id", name_);
    if (call.method == refuse_) {
      return absl::PermissionDeniedError(absl::StrCat(name_, " says no"));
    }
    return absl::OkStatus();
  }
  void AfterCall(const ClientCallInfo& call,
                 const absl::Status& outcome) override {
    journal_.Add(absl::StrCat(name_, " after ", call.method, " ",
                              absl::StatusCodeToString(outcome.code())));
  }

  std::string refuse_;  // set before the calls it is to refuse

 private:
  const std::string name_;
  Journal& journal_;
};

// Adds a pair gRPC cannot carry.
class BadMetadata final : public ClientInterceptor {
 public:
  absl::Status BeforeCall(const ClientCallInfo&,
                          CallMetadata& metadata) override {
    metadata.emplace_back("X-Upper", "1");
    return absl::OkStatus();
  }
};

// Records each served call with its request id; refuses calls that carry
// "x-request-id: refuse-me" with UNAUTHENTICATED.
class WatchServed final : public ServerInterceptor {
 public:
  WatchServed(std::string name, Journal& journal)
      : name_(std::move(name)), journal_(journal) {}

  absl::Status BeforeServe(const ServerCallInfo& call,
                           CallContext& context) override {
    std::string id = "none";
    if (const RemoteCaller* caller = context.remote_caller()) {
      for (const auto& [key, value] : caller->request_metadata) {
        if (key == "x-request-id") id = value;
      }
    }
    journal_.Add(absl::StrCat(name_, " serves ", call.method, " id=", id));
    if (id == "refuse-me") {
      return absl::UnauthenticatedError(absl::StrCat(name_, " wants a token"));
    }
    return absl::OkStatus();
  }
  void AfterServe(const ServerCallInfo& call, CallContext&,
                  const absl::Status& outcome) override {
    journal_.Add(absl::StrCat(name_, " served ", call.method, " ",
                              absl::StatusCodeToString(outcome.code())));
  }

 private:
  const std::string name_;
  Journal& journal_;
};

template <typename Reply>
Task<absl::StatusOr<Reply>> AwaitCall(ClientCall<Reply> call) {
  co_return co_await std::move(call);
}

// Node n1 of a cluster {n1, n2} serves Echo (PUBLIC) and EchoPeer
// (CLUSTER) on a runtime with two client interceptors (a, b) and two
// server interceptors (s1, s2).
class InterceptorTest : public ::testing::TestWithParam<EchoCluster::Flavour> {
 protected:
  InterceptorTest()
      : a_(std::make_shared<TagCalls>("a", journal_)),
        b_(std::make_shared<TagCalls>("b", journal_)),
        runtime_([this] {
          RuntimeOptions options = anvil::testing::TestRuntimeOptions();
          options.client_interceptors = {a_, b_};
          options.server_interceptors = {
              std::make_shared<WatchServed>("s1", journal_),
              std::make_shared<WatchServed>("s2", journal_)};
          return options;
        }()),
        cluster_(runtime_, GetParam()) {}

  void SetUp() override {
    ASSERT_THAT(cluster_.Start(), IsOk());
    journal_.Clear();
  }
  void TearDown() override { EXPECT_THAT(cluster_.Stop(), IsOk()); }

  std::shared_ptr<Channel> ChannelAs(const std::string& name,
                                     Runtime* caller = nullptr) {
    return cluster_.ChannelAs(name, caller);
  }

  // EchoPeer.Who from node n2, made on a runtime of its own whose only
  // client interceptor is `interceptor` (a runtime's chains are fixed when
  // it is made).
  absl::StatusOr<WhoReply> WhoFromRuntimeWith(
      std::shared_ptr<ClientInterceptor> interceptor) {
    RuntimeOptions options = anvil::testing::TestRuntimeOptions();
    options.client_interceptors = {std::move(interceptor)};
    Runtime caller_runtime(options);
    std::shared_ptr<Channel> channel = ChannelAs("n2", &caller_runtime);
    return BlockOn(caller_runtime, AwaitCall(EchoPeerRef(channel).Who(
                                       EchoRequest(), absl::Seconds(30))));
  }

  template <typename Reply>
  absl::StatusOr<Reply> Await(ClientCall<Reply> call) {
    return BlockOn(runtime_, AwaitCall(std::move(call)));
  }

  Journal journal_;
  std::shared_ptr<TagCalls> a_;
  std::shared_ptr<TagCalls> b_;
  Runtime runtime_;
  EchoCluster cluster_;
};

TEST_P(InterceptorTest, ARemoteCallPassesBothChainsInOrder) {
  absl::StatusOr<WhoReply> who =
      Await(EchoPeerRef(ChannelAs("n2")).Who(EchoRequest(), absl::Seconds(30)));
  ASSERT_THAT(who, IsOk());
  // Both client interceptors' metadata reached the handler, in order.
  EXPECT_THAT(who->metadata(), Contains("x-request-id=a"));
  EXPECT_THAT(who->metadata(), Contains("x-request-id=b"));
  const std::string ids = absl::StrJoin(who->metadata(), ",");
  EXPECT_LT(ids.find("x-request-id=a"), ids.find("x-request-id=b"));
  // The server's interceptors saw the last id ("b"). The server forwards
  // the call to its actor without passing the client chain again.
  EXPECT_THAT(journal_.lines(),
              ElementsAre(absl::StrCat("a before ", kWho, " remote deadline"),
                          absl::StrCat("b before ", kWho, " remote deadline"),
                          absl::StrCat("s1 serves ", kWho, " id=b"),
                          absl::StrCat("s2 serves ", kWho, " id=b"),
                          absl::StrCat("s2 served ", kWho, " OK"),
                          absl::StrCat("s1 served ", kWho, " OK"),
                          absl::StrCat("b after ", kWho, " OK"),
                          absl::StrCat("a after ", kWho, " OK")));
  EXPECT_EQ(cluster_.peer().calls(), 1);
}

TEST_P(InterceptorTest, ALocalCallPassesTheClientChainOnly) {
  EchoRequest hello;
  hello.set_text("hello");
  absl::StatusOr<EchoReply> said =
      Await(cluster_.echo().ref().Say(hello, absl::Seconds(30)));
  ASSERT_THAT(said, IsOk());
  EXPECT_EQ(said->text(), "hello");
  EXPECT_THAT(journal_.lines(),
              ElementsAre(absl::StrCat("a before ", kSay, " local deadline"),
                          absl::StrCat("b before ", kSay, " local deadline"),
                          absl::StrCat("b after ", kSay, " OK"),
                          absl::StrCat("a after ", kSay, " OK")));
  // The reply's status reaches After, errors included.
  journal_.Clear();
  hello.set_code(static_cast<int>(absl::StatusCode::kAborted));
  EXPECT_THAT(Await(cluster_.echo().ref().Say(hello, absl::Seconds(30))),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(journal_.lines(),
              Contains(absl::StrCat("a after ", kSay, " ABORTED")));
}

TEST_P(InterceptorTest, AClientRefusalSendsNothing) {
  b_->refuse_ = kWho;
  EXPECT_THAT(
      Await(EchoPeerRef(ChannelAs("n2")).Who(EchoRequest(), absl::Seconds(30))),
      StatusIs(absl::StatusCode::kPermissionDenied, "b says no"));
  EXPECT_THAT(
      Await(cluster_.peer().ref().Who(EchoRequest(), absl::Seconds(30))),
      StatusIs(absl::StatusCode::kPermissionDenied, "b says no"));
  EXPECT_EQ(cluster_.peer().calls(), 0);
  // The refusing interceptor and those before it see After; no server
  // interceptor saw a call.
  EXPECT_THAT(
      journal_.lines(),
      ElementsAre(absl::StrCat("a before ", kWho, " remote deadline"),
                  absl::StrCat("b before ", kWho, " remote deadline"),
                  absl::StrCat("b after ", kWho, " PERMISSION_DENIED"),
                  absl::StrCat("a after ", kWho, " PERMISSION_DENIED"),
                  absl::StrCat("a before ", kWho, " local deadline"),
                  absl::StrCat("b before ", kWho, " local deadline"),
                  absl::StrCat("b after ", kWho, " PERMISSION_DENIED"),
                  absl::StrCat("a after ", kWho, " PERMISSION_DENIED")));
}

TEST_P(InterceptorTest, AServerRefusalKeepsTheCallFromTheDaemon) {
  // From a runtime whose client interceptor sends the id the server
  // refuses.
  auto refuse_me = std::make_shared<TagCalls>("refuse-me", journal_);
  EXPECT_THAT(WhoFromRuntimeWith(refuse_me),
              StatusIs(absl::StatusCode::kUnauthenticated, "s1 wants a token"));
  EXPECT_EQ(cluster_.peer().calls(), 0);
  EXPECT_THAT(journal_.lines(),
              Contains(absl::StrCat("s1 served ", kWho, " UNAUTHENTICATED")));
  EXPECT_THAT(journal_.lines(), Not(Contains(HasSubstr("s2 serves"))));
}

TEST_P(InterceptorTest, ServerInterceptorsSeeTheClusterRefusingAStranger) {
  EXPECT_THAT(Await(EchoPeerRef(ChannelAs("mallory"))
                        .Who(EchoRequest(), absl::Seconds(30))),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(cluster_.peer().calls(), 0);
  EXPECT_THAT(journal_.lines(),
              Contains(absl::StrCat("s1 served ", kWho, " PERMISSION_DENIED")));
}

TEST_P(InterceptorTest, MetadataGrpcCannotCarryFailsTheCallInEveryWorld) {
  EXPECT_THAT(WhoFromRuntimeWith(std::make_shared<BadMetadata>()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metadata key 'X-Upper'")));
  EXPECT_EQ(cluster_.peer().calls(), 0);
  EXPECT_THAT(journal_.lines(), Not(Contains(HasSubstr("serves"))));
}

INSTANTIATE_TEST_SUITE_P(Networks, InterceptorTest,
                         ::testing::Values(EchoCluster::kLoopback,
                                           EchoCluster::kGrpc),
                         [](const auto& info) {
                           return info.param == EchoCluster::kLoopback
                                      ? "Loopback"
                                      : "Grpc";
                         });

TEST(CheckMetadataTest, SaysWhichPairGrpcCannotCarry) {
  EXPECT_THAT(CheckMetadata({{"x-id", "42"}, {"trace.span_id", "a b"}}),
              IsOk());
  EXPECT_THAT(CheckMetadata({{"blob-bin", std::string("\0\xff", 2)}}), IsOk());
  EXPECT_THAT(CheckMetadata({{"", "v"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckMetadata({{"grpc-timeout", "1S"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not starting with 'grpc-'")));
  EXPECT_THAT(CheckMetadata({{"x-id", "line\nbreak"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("value of 'x-id'")));
}

}  // namespace
}  // namespace anvil::transport::testdata
