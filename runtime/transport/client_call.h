// ClientCall<Reply>: what a generated client's method returns: one
// awaitable whether the actor is local (a message to its mailbox) or remote
// (a call over a Channel). Also the generic halves of a remote call that
// generated code instantiates per method: StartCall and SendCall (client:
// through the runtime's client interceptors, to the local actor or over
// the Channel: serialize, call, parse) and ServeLocally (server: parse,
// call the local actor, serialize).
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
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/interceptor.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/actor/request.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/log.h"
#include "runtime/core/task.h"
#include "runtime/transport/channel.h"

namespace anvil {
namespace internal {

// The client interceptors of the runtime that owns `worker`; null if it
// has none, or `worker` is null.
inline const ClientInterceptors* ClientInterceptorsOf(Worker* worker) {
  if (runtimes_with_client_interceptors.load(std::memory_order_relaxed) == 0)
      [[likely]] {
    return nullptr;
  }
  if (worker == nullptr || worker->owner() == nullptr) return nullptr;
  const ClientInterceptors& chain =
      static_cast<Runtime*>(worker->owner())->client_interceptors();
  return chain.empty() ? nullptr : &chain;
}
// The client interceptors of the runtime that owns `actor`; null if it
// has none. While no runtime has any, one relaxed load and nothing of the
// actor is read.
template <typename M>
const ClientInterceptors* ClientInterceptorsOf(const ActorRef<M>& actor) {
  if (runtimes_with_client_interceptors.load(std::memory_order_relaxed) == 0)
      [[likely]] {
    return nullptr;
  }
  return ClientInterceptorsOf(actor.home_worker());
}

// One call's pass through a chain of client interceptors: Before runs
// their BeforeCall in order, Finish the AfterCall of each whose BeforeCall
// ran, in reverse. Dropped before Finish (a call never awaited), it
// finishes with CANCELLED. `chain` and the method name in `info` outlive
// it.
class PendingAfterCall {
 public:
  PendingAfterCall(const ClientInterceptors& chain, ClientCallInfo info)
      : chain_(chain), info_(info) {}
  PendingAfterCall(const PendingAfterCall&) = delete;
  PendingAfterCall& operator=(const PendingAfterCall&) = delete;
  ~PendingAfterCall() {
    if (entered_ > 0) {
      Finish(absl::CancelledError("the caller dropped the call unawaited"));
    }
  }

  // The first error of a BeforeCall (later ones do not run), or OK.
  absl::Status Before(CallMetadata& metadata) {
    while (entered_ < chain_.size()) {
      absl::Status admitted = chain_[entered_++]->BeforeCall(info_, metadata);
      if (!admitted.ok()) return admitted;
    }
    return absl::OkStatus();
  }
  void Finish(const absl::Status& outcome) {
    while (entered_ > 0) chain_[--entered_]->AfterCall(info_, outcome);
  }

 private:
  const ClientInterceptors& chain_;
  const ClientCallInfo info_;
  size_t entered_ = 0;
};

}  // namespace internal

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
  // Thread-safe while this object exists. A remote call, or a local one
  // that passed client interceptors, is not affected: it ends at its
  // deadline. (A transport's served calls, which it cancels, pass none.)
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

// The client half of a remote unary call, through the client interceptors
// of the runtime whose worker runs it (it starts when awaited).
template <typename Reply, typename Request>
Task<absl::StatusOr<Reply>> CallRemote(std::shared_ptr<Channel> channel,
                                       std::string method, Request request,
                                       int64_t deadline, bool one_way) {
  CallMetadata metadata;
  std::optional<PendingAfterCall> after;
  if (const ClientInterceptors* chain = ClientInterceptorsOf(Worker::Current()))
      [[unlikely]] {
    after.emplace(*chain, ClientCallInfo{.method = method,
                                         .remote = true,
                                         .one_way = one_way,
                                         .deadline = deadline});
    if (absl::Status admitted = after->Before(metadata); !admitted.ok()) {
      after->Finish(admitted);
      co_return admitted;
    }
  }
  absl::StatusOr<Reply> result;
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    result = absl::InvalidArgumentError(
        absl::StrCat(method, ": the request does not serialize"));
  } else {
    absl::StatusOr<std::string> reply = co_await channel->Call(
        method, std::move(bytes), deadline, std::move(metadata));
    if (!reply.ok()) {
      result = reply.status();
    } else if (Reply parsed; parsed.ParseFromString(*reply)) {
      result = std::move(parsed);
    } else {
      result = absl::InternalError(
          absl::StrCat(method, ": the reply does not parse as ",
                       Reply::descriptor()->full_name()));
    }
  }
  if (after.has_value()) [[unlikely]]
    after->Finish(result.status());
  co_return result;
}

// The server half: parses the request and makes the call locally with
// `call(Request, const CallContext&)`, which returns a ClientCall<Reply>
// (and passes the context's deadline and remote caller on to the actor). If the
// transport cancels the remote call meanwhile, the local one ends at once
// with the transport's reason, and its actor sees CallContext::cancelled().
template <typename Request, typename Reply, typename LocalCall>
Task<absl::StatusOr<std::string>> ServeLocallyOnce(const char* method,
                                                   LocalCall call,
                                                   std::string bytes,
                                                   CallContext context) {
  Request request;
  if (!request.ParseFromString(bytes)) {
    absl::Status refused = absl::InvalidArgumentError(absl::StrCat(
        "the request does not parse as ", Request::descriptor()->full_name()));
    LogRefusedCall(Log(), method, context.remote_caller(), refused.message());
    co_return refused;
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
// `method`: the full method name, a string literal. `home`: the worker of
// the actor `call` reaches (null if unknown), where a transport best starts
// the call.
template <typename Request, typename Reply, typename LocalCall>
MethodHandler ServeLocally(const char* method, LocalCall call, Worker* home) {
  return MethodHandler(
      [method, call](std::string bytes, CallContext context) {
        return ServeLocallyOnce<Request, Reply>(method, call, std::move(bytes),
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
    absl::StatusOr<Reply> reply = co_await CallRemote<Reply>(
        std::move(c), m, std::move(r), INT64_MAX, /*one_way=*/true);
    if (!reply.ok())
      Log().warn("one-way call {} failed: {}", m, reply.status().ToString());
  };
  send(std::move(channel), std::move(method), std::move(request))
      .StartOn(*worker);
  return absl::OkStatus();
}

// Awaits `call`, then gives its outcome to `after`.
template <typename Reply>
Task<absl::StatusOr<Reply>> FinishAfter(
    CallAwaiter<Reply> call, std::unique_ptr<PendingAfterCall> after) {
  absl::StatusOr<Reply> reply = co_await std::move(call);
  after->Finish(reply.status());
  co_return reply;
}

// A generated client's two-way call of `method`: over `remote` if set,
// else to `actor`, through the client interceptors.
template <typename CallMessage, typename M>
ClientCall<typename CallMessage::ReplyType> StartCall(
    const ActorRef<M>& actor, const std::shared_ptr<Channel>& remote,
    const char* method, typename CallMessage::RequestType&& request,
    int64_t deadline) {
  using Reply = typename CallMessage::ReplyType;
  if (remote != nullptr) {
    return CallRemote<Reply>(remote, method, std::move(request), deadline,
                             /*one_way=*/false);
  }
  const ClientInterceptors* chain = ClientInterceptorsOf(actor);
  if (chain == nullptr) [[likely]] {
    return actor.template CallUntil<CallMessage>(std::move(request), deadline);
  }
  auto after = std::make_unique<PendingAfterCall>(
      *chain, ClientCallInfo{.method = method, .deadline = deadline});
  CallMetadata ignored;  // a local call carries none
  absl::Status admitted = after->Before(ignored);
  if (!admitted.ok()) {
    after->Finish(admitted);
    return CallAwaiter<Reply>(std::move(admitted));
  }
  return FinishAfter(
      actor.template CallUntil<CallMessage>(std::move(request), deadline),
      std::move(after));
}

// As StartCall, for a one-way call (CallMessage: {request, remote_caller})
// whose reply type is `Reply` (google.protobuf.Empty).
template <typename CallMessage, typename Reply, typename M>
absl::Status SendCall(const ActorRef<M>& actor,
                      const std::shared_ptr<Channel>& remote,
                      const char* method,
                      decltype(CallMessage::request)&& request) {
  if (remote != nullptr) {
    return SendRemote<Reply>(remote, method, std::move(request));
  }
  const ClientInterceptors* chain = ClientInterceptorsOf(actor);
  if (chain == nullptr) [[likely]] {
    return actor.TrySend(M(CallMessage{std::move(request)}));
  }
  PendingAfterCall after(*chain,
                         ClientCallInfo{.method = method, .one_way = true});
  CallMetadata ignored;  // a local call carries none
  absl::Status sent = after.Before(ignored);
  if (sent.ok()) sent = actor.TrySend(M(CallMessage{std::move(request)}));
  after.Finish(sent);
  return sent;
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
