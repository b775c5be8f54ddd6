// The generic halves of a streaming call that generated code instantiates
// per streaming method (as client_call.h does for unary ones): the
// client's StartServerStream, StartClientStream and StartBidiStream (to
// the local actor, or over a Channel: serialize, stream, parse) and the
// server's ServeStreamLocally (parse, stream to the local actor,
// serialize). Internal: users see the handles of runtime/actor/stream.h.
//
//   // Generated FeedRef::Watch:
//   return anvil::internal::StartServerStream<FeedWatchCall>(
//       actor_, remote_, "/demo.Feed/Watch", std::move(request), deadline,
//       options.stream_window());
//   // Generated FeedRef::Handlers:
//   handlers["/demo.Feed/Watch"] = anvil::internal::ServeStreamLocally<
//       FeedWatchCall>("/demo.Feed/Watch", local.actor());
//
// A remote stream is two streams spliced by two forwarding coroutines on
// the worker that opened it: the typed one the handle reads and writes,
// and the serialized one (ByteStream) the Channel carries. Each keeps to
// its window, so the splice buffers at most two windows each way. A
// cancellation of either side reaches the other at once (a
// CallCancellation hook); its end status is passed on as it is.
//
// Client interceptors see a remote stream: BeforeCall as it opens (a
// refusal ends it with the refusal; nothing is sent) and AfterCall with
// its end status; a stream to a local actor passes none.
//
// Thread-safety: as the handles'; the forwarding coroutines run on the
// opening worker.
#ifndef ANVIL_RUNTIME_TRANSPORT_STREAM_CALL_H_
#define ANVIL_RUNTIME_TRANSPORT_STREAM_CALL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/actor_ref.h"
#include "runtime/actor/call_context.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/actor/method_handler.h"
#include "runtime/actor/stream.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/log.h"
#include "runtime/core/task.h"
#include "runtime/transport/channel.h"
#include "runtime/transport/client_call.h"

namespace anvil::internal {

// Passes `from`'s cancellation on to `to`: hooks `from`'s
// CallCancellation, which has one hook (the splice owns it).
inline void CancelWith(StreamStateBase& from,
                       const std::shared_ptr<StreamStateBase>& to) {
  from.cancellation().OnCancel(
      [to = std::weak_ptr<StreamStateBase>(to)](const absl::Status& why) {
        if (std::shared_ptr<StreamStateBase> other = to.lock()) {
          other->Cancel(why);
        }
      });
}

// Client splice: what the client writes to `typed` (whose server end this
// is) goes out serialized on `bytes` (whose client end this is).
template <typename Req, typename Rep>
Detached SendRequests(std::shared_ptr<StreamState<Req, Rep>> typed,
                      std::shared_ptr<ByteStream> bytes, const char* method) {
  while (std::optional<Req> request = co_await typed->ReadRequest()) {
    std::string serialized;
    if (!request->SerializeToString(&serialized)) {
      const absl::Status failed = absl::InvalidArgumentError(
          absl::StrCat(method, ": a request does not serialize"));
      bytes->Cancel(failed);
      typed->Finish(failed);
      co_return;
    }
    // A failed write: the stream ended, and ReceiveReplies passes on why.
    if (!(co_await bytes->WriteRequest(std::move(serialized))).ok()) co_return;
  }
  // The client is done writing (a cancel reached `bytes` by its hook).
  if (!typed->end().has_value()) bytes->CloseRequests();
}

// Client splice: what the server replies on `bytes` reaches `typed`
// parsed, then the end status; `after` (may be null) sees it.
template <typename Req, typename Rep>
Detached ReceiveReplies(std::shared_ptr<StreamState<Req, Rep>> typed,
                        std::shared_ptr<ByteStream> bytes, const char* method,
                        std::unique_ptr<PendingAfterCall> after) {
  while (std::optional<std::string> reply = co_await bytes->ReadReply()) {
    Rep parsed;
    if (!parsed.ParseFromString(*reply)) {
      const absl::Status failed = absl::InternalError(
          absl::StrCat(method, ": a reply does not parse as ",
                       Rep::descriptor()->full_name()));
      bytes->Cancel(failed);
      typed->Finish(failed);
      break;
    }
    // A failed write: the client cancelled, which its hook passed on.
    if (!(co_await typed->WriteReply(std::move(parsed))).ok()) break;
  }
  typed->Finish(bytes->end().value_or(absl::OkStatus()));
  if (after != nullptr) after->Finish(*typed->end());
}

// Opens `typed` (a new stream) over `channel`.
template <typename Req, typename Rep>
void StreamRemote(const std::shared_ptr<Channel>& channel, const char* method,
                  std::shared_ptr<StreamState<Req, Rep>> typed) {
  Worker* const worker = Worker::Current();
  if (worker == nullptr) {
    typed->Finish(absl::FailedPreconditionError(absl::StrCat(
        method, ": a stream to a remote actor is opened on a worker")));
    return;
  }
  CallMetadata metadata;
  std::unique_ptr<PendingAfterCall> after;
  if (const ClientInterceptors* chain = ClientInterceptorsOf(worker))
      [[unlikely]] {
    after = std::make_unique<PendingAfterCall>(
        *chain,
        ClientCallInfo{
            .method = method, .remote = true, .deadline = typed->deadline()});
    if (absl::Status admitted = after->Before(metadata); !admitted.ok()) {
      typed->Finish(admitted);
      after->Finish(admitted);
      return;
    }
  }
  auto bytes = std::make_shared<ByteStream>(typed->window(), typed->deadline());
  CancelWith(*typed, bytes);
  channel->OpenStream(method, std::move(metadata), bytes);
  SendRequests(typed, bytes, method).StartOn(*worker);
  ReceiveReplies(typed, bytes, method, std::move(after)).StartOn(*worker);
}

// A new stream of `CallMessage`'s types, sent to `actor` or over `remote`
// (if set). `first`: a server-streaming call's one request (the client's
// requests are then closed).
template <typename CallMessage, typename M>
std::shared_ptr<StreamState<typename CallMessage::RequestType,
                            typename CallMessage::ReplyType>>
OpenStream(const ActorRef<M>& actor, const std::shared_ptr<Channel>& remote,
           const char* method, int64_t deadline, size_t window,
           std::optional<typename CallMessage::RequestType> first) {
  using State = StreamState<typename CallMessage::RequestType,
                            typename CallMessage::ReplyType>;
  auto stream = std::make_shared<State>(window, deadline);
  if (first.has_value()) {
    stream->PushRequest(std::move(*first));
    stream->CloseRequests();
  }
  if (remote != nullptr) {
    StreamRemote(remote, method, stream);
  } else if (absl::Status sent = actor.TrySend(M(CallMessage{{stream}}));
             !sent.ok()) {
    stream->Finish(std::move(sent));
  }
  return stream;
}

// A generated client's streaming methods, one per kind.
template <typename CallMessage, typename M>
ClientReader<typename CallMessage::ReplyType> StartServerStream(
    const ActorRef<M>& actor, const std::shared_ptr<Channel>& remote,
    const char* method, typename CallMessage::RequestType&& request,
    int64_t deadline, size_t window) {
  return ClientReader<typename CallMessage::ReplyType>(OpenStream<CallMessage>(
      actor, remote, method, deadline, window, std::move(request)));
}
template <typename CallMessage, typename M>
ClientWriter<typename CallMessage::RequestType, typename CallMessage::ReplyType>
StartClientStream(const ActorRef<M>& actor,
                  const std::shared_ptr<Channel>& remote, const char* method,
                  int64_t deadline, size_t window) {
  return ClientWriter<typename CallMessage::RequestType,
                      typename CallMessage::ReplyType>(OpenStream<CallMessage>(
      actor, remote, method, deadline, window, std::nullopt));
}
template <typename CallMessage, typename M>
ClientStream<typename CallMessage::RequestType, typename CallMessage::ReplyType>
StartBidiStream(const ActorRef<M>& actor,
                const std::shared_ptr<Channel>& remote, const char* method,
                int64_t deadline, size_t window) {
  return ClientStream<typename CallMessage::RequestType,
                      typename CallMessage::ReplyType>(OpenStream<CallMessage>(
      actor, remote, method, deadline, window, std::nullopt));
}

// Server splice: what the remote client sends on `bytes` (whose server
// end this is) reaches `typed` (whose client end this is) parsed.
template <typename Req, typename Rep>
Detached ParseRequests(std::shared_ptr<StreamState<Req, Rep>> typed,
                       std::shared_ptr<ByteStream> bytes, const char* method,
                       std::shared_ptr<RemoteCaller> caller) {
  while (std::optional<std::string> request = co_await bytes->ReadRequest()) {
    Req parsed;
    if (!parsed.ParseFromString(*request)) {
      const absl::Status refused = absl::InvalidArgumentError(absl::StrCat(
          "a request does not parse as ", Req::descriptor()->full_name()));
      LogRefusedCall(Log(), method, caller.get(), refused.message());
      typed->Cancel(refused);
      bytes->Finish(refused);
      co_return;
    }
    // A failed write: the stream ended, and the reply loop passes on why.
    if (!(co_await typed->WriteRequest(std::move(parsed))).ok()) co_return;
  }
  if (!bytes->end().has_value()) typed->CloseRequests();
}

// Serves `bytes` by a stream to `actor`, until it has ended.
template <typename CallMessage, typename M>
Task<> ServeStreamLocallyOnce(const char* method, ActorRef<M> actor,
                              std::shared_ptr<ByteStream> bytes,
                              CallContext call) {
  using Req = typename CallMessage::RequestType;
  using Rep = typename CallMessage::ReplyType;
  auto typed = std::make_shared<StreamState<Req, Rep>>(bytes->window(),
                                                       bytes->deadline());
  typed->set_remote_caller(call.shared_remote_caller());
  CancelWith(*bytes, typed);
  if (absl::Status sent = actor.TrySend(M(CallMessage{{typed}})); !sent.ok()) {
    bytes->Finish(std::move(sent));
    co_return;
  }
  ParseRequests(typed, bytes, method, call.shared_remote_caller())
      .StartOn(*Worker::Current());
  while (std::optional<Rep> reply = co_await typed->ReadReply()) {
    std::string serialized;
    if (!reply->SerializeToString(&serialized)) {
      const absl::Status failed = absl::InternalError(
          absl::StrCat(method, ": a reply does not serialize"));
      typed->Cancel(failed);
      bytes->Finish(failed);
      co_return;
    }
    // A failed write: the transport cancelled, which its hook passed on.
    if (!(co_await bytes->WriteReply(std::move(serialized))).ok()) break;
  }
  bytes->Finish(typed->end().value_or(absl::OkStatus()));
}

// SRef::Handlers' entry for a streaming method of `actor`.
template <typename CallMessage, typename M>
MethodHandler ServeStreamLocally(const char* method, ActorRef<M> actor) {
  Worker* const home = actor.home_worker();
  return MethodHandler::Streaming(
      [method, actor = std::move(actor)](std::shared_ptr<ByteStream> bytes,
                                         CallContext call) {
        return ServeStreamLocallyOnce<CallMessage>(method, actor,
                                                   std::move(bytes), call);
      },
      home);
}

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_TRANSPORT_STREAM_CALL_H_
