#include "runtime/transport/grpc/testdata/echo_daemon.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/core/sleep.h"

namespace anvil::transport::testdata {

Task<absl::StatusOr<EchoReply>> EchoImpl::Say(CallContext& call,
                                              const EchoRequest& request) {
  says_.fetch_add(1);
  if (request.code() != 0) {
    co_return absl::Status(static_cast<absl::StatusCode>(request.code()),
                           request.text());
  }
  if (request.wait_for_cancel()) {
    waiting_.fetch_add(1);
    while (!call.cancelled()) co_await Sleep(absl::Milliseconds(1));
    waiting_.fetch_sub(1);
    cancelled_.fetch_add(1);
    co_return absl::CancelledError("saw the cancellation");
  }
  if (request.delay_ms() > 0) {
    delays_.fetch_add(1);
    co_await Sleep(absl::Milliseconds(request.delay_ms()));
  }
  EchoReply reply;
  if (request.repeat() == 0) {
    reply.set_text(request.text());
  } else {
    for (uint32_t i = 0; i < request.repeat(); ++i) {
      reply.mutable_text()->append(request.text());
    }
  }
  co_return reply;
}

Task<absl::StatusOr<EchoReply>> EchoImpl::Hold(CallContext&,
                                               const EchoRequest& request) {
  holds_.fetch_add(1);
  co_await release_.Wait();
  EchoReply reply;
  reply.set_text(request.text());
  co_return reply;
}

Task<absl::StatusOr<WhoReply>> EchoPeerImpl::Who(CallContext& call,
                                                 const EchoRequest&) {
  calls_.fetch_add(1);
  WhoReply reply;
  RemoteCaller* caller = call.remote_caller();
  if (caller == nullptr) co_return reply;
  for (const std::string& name : caller->verified_names) {
    reply.add_verified_names(name);
  }
  reply.set_claimed_name(caller->claimed_name);
  reply.set_address(caller->address);
  for (const auto& [key, value] : caller->request_metadata) {
    reply.add_metadata(absl::StrCat(key, "=", value));
  }
  caller->AddResponseMetadata("x-served-by", "echo-peer");
  co_return reply;
}

Task<absl::StatusOr<EchoReply>> EchoPeerImpl::Poke(CallContext&,
                                                   const EchoRequest& request) {
  calls_.fetch_add(1);
  EchoReply reply;
  reply.set_text(request.text());
  co_return reply;
}

}  // namespace anvil::transport::testdata
