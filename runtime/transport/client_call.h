// ClientCall<Reply>: what a generated client's method returns: one
// awaitable whether the actor is local (a message to its mailbox) or remote
// (a call over a Channel). Also the generic halves of a remote call that
// generated code instantiates per method: CallRemote (client: serialize,
// call, parse) and ServeLocally (server: parse, call the local actor,
// serialize).
//
//   anvil::ClientCall<ReadReply> call = storage.Read(request);
//   absl::StatusOr<ReadReply> reply = co_await std::move(call);
//
// Thread-safety: a ClientCall is awaited once, by one coroutine, on a
// worker.
#ifndef ANVIL_RUNTIME_TRANSPORT_CLIENT_CALL_H_
#define ANVIL_RUNTIME_TRANSPORT_CLIENT_CALL_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/request.h"
#include "runtime/core/detached.h"
#include "runtime/core/log.h"
#include "runtime/core/task.h"
#include "runtime/core/worker.h"
#include "runtime/transport/channel.h"

namespace anvil {

template <typename Reply>
class [[nodiscard]] ClientCall {
 public:
  // Implicit, so that a generated method returns either kind as is.
  // A call to a local actor, already sent (or refused).
  ClientCall(internal::CallAwaiter<Reply> local) : local_(std::move(local)) {}
  // A remote call, started when awaited.
  ClientCall(Task<absl::StatusOr<Reply>> remote)
      : local_(absl::OkStatus()), remote_(std::move(remote)) {}

  bool await_ready() { return !remote_.valid() && local_.await_ready(); }
  // Returns bool, not a handle to transfer to, to keep the local call's
  // path as short as a plain ActorRef::Call; a remote call starts one
  // run-queue turn later instead.
  bool await_suspend(std::coroutine_handle<> caller) {
    if (remote_.valid()) [[unlikely]] {
      remote_.handle().promise().SetContinuation(caller);
      internal::Worker::Current()->Schedule(remote_.handle());
      return true;
    }
    return local_.await_suspend(caller);
  }
  // Ends a local call now with `status` (unless its reply is in already):
  // the awaiter resumes with it and the actor sees the call cancelled.
  // Thread-safe while this object exists. A remote call is not affected:
  // it ends at its deadline.
  void Cancel(absl::Status status) {
    if (!remote_.valid()) local_.Cancel(std::move(status));
  }

  absl::StatusOr<Reply> await_resume() {
    if (remote_.valid()) [[unlikely]] {
      return remote_.handle().promise().TakeResult();
    }
    return local_.await_resume();
  }

 private:
  // Unused (an OK "refusal") when the call is remote.
  internal::CallAwaiter<Reply> local_;
  Task<absl::StatusOr<Reply>> remote_;
};

namespace internal {

// The client half of a remote unary call.
template <typename Reply, typename Request>
Task<absl::StatusOr<Reply>> CallRemote(std::shared_ptr<Channel> channel,
                                       std::string method, Request request,
                                       int64_t deadline) {
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    co_return absl::InvalidArgumentError(
        absl::StrCat(method, ": the request does not serialize"));
  }
  absl::StatusOr<std::string> reply =
      co_await channel->Call(method, std::move(bytes), deadline);
  if (!reply.ok()) co_return reply.status();
  Reply parsed;
  if (!parsed.ParseFromString(*reply)) {
    co_return absl::InternalError(
        absl::StrCat(method, ": the reply does not parse as ",
                     Reply::descriptor()->full_name()));
  }
  co_return parsed;
}

// The server half: parses the request and makes the call locally with
// `call(Request, const CallContext&)`, which returns a ClientCall<Reply>
// (and passes the context's deadline and remote caller on to the actor). If the
// transport cancels the remote call meanwhile, the local one ends at once
// with the transport's reason, and its actor sees CallContext::cancelled().
template <typename Request, typename Reply, typename LocalCall>
Task<absl::StatusOr<std::string>> ServeLocallyOnce(LocalCall call,
                                                   std::string bytes,
                                                   CallContext context) {
  Request request;
  if (!request.ParseFromString(bytes)) {
    co_return absl::InvalidArgumentError(absl::StrCat(
        "the request does not parse as ", Request::descriptor()->full_name()));
  }
  ClientCall<Reply> local = call(std::move(request), context);
  CallCancellation* cancellation = context.cancellation();
  if (cancellation != nullptr) {
    cancellation->OnCancel(
        [&local](const absl::Status& why) { local.Cancel(why); });
  }
  absl::StatusOr<Reply> reply = co_await local;
  if (cancellation != nullptr) cancellation->OnCancel(nullptr);
  if (!reply.ok()) co_return reply.status();
  co_return reply->SerializeAsString();
}
// `home`: the worker of the actor `call` reaches (null if unknown), where
// a transport best starts the call.
template <typename Request, typename Reply, typename LocalCall>
MethodHandler ServeLocally(LocalCall call, Worker* home) {
  return MethodHandler(
      [call](std::string bytes, CallContext context) {
        return ServeLocallyOnce<Request, Reply>(call, std::move(bytes),
                                                context);
      },
      home);
}

// A one-way remote call: sent from a coroutine started on the calling
// worker; its outcome is logged, not returned. FAILED_PRECONDITION off a
// worker.
template <typename Reply, typename Request>
absl::Status SendRemote(std::shared_ptr<Channel> channel, std::string method,
                        Request request) {
  Worker* worker = Worker::Current();
  if (worker == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        method, ": a one-way call to a remote actor is made on a worker"));
  }
  auto send = [](std::shared_ptr<Channel> c, std::string m,
                 Request r) -> Detached {
    absl::StatusOr<Reply> reply =
        co_await CallRemote<Reply>(std::move(c), m, std::move(r), INT64_MAX);
    if (!reply.ok())
      Log().warn("one-way call {} failed: {}", m, reply.status().ToString());
  };
  send(std::move(channel), std::move(method), std::move(request))
      .StartOn(*worker);
  return absl::OkStatus();
}

// The outcome of a one-way send, as a call's result for a remote caller.
template <typename Reply>
Task<absl::StatusOr<Reply>> OneWayAsCall(absl::Status sent) {
  if (!sent.ok()) co_return sent;
  co_return Reply();
}

}  // namespace internal
}  // namespace anvil

#endif  // ANVIL_RUNTIME_TRANSPORT_CLIENT_CALL_H_
