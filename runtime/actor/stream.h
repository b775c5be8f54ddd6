// Streaming calls: the handles a generated client's streaming method
// returns (ClientReader, ClientWriter, ClientStream) and the ones a
// generated daemon's streaming method receives (ServerWriter,
// ServerReader, ServerStream). One set for every world: a local actor, a
// remote one over gRPC, or the simulated network.
//
//   // rpc Watch(WatchRequest) returns (stream Event);     server streaming
//   anvil::ClientReader<Event> watch = feed.Watch(request);
//   while (std::optional<Event> event = co_await watch.Read()) Use(*event);
//   absl::Status status = co_await watch.Finish();   // OK: a clean end
//
//   // rpc Upload(stream Chunk) returns (Summary);         client streaming
//   anvil::ClientWriter<Chunk, Summary> upload = store.Upload();
//   for (Chunk& chunk : chunks) ANVIL_CO_RETURN_IF_ERROR(
//       co_await upload.Write(std::move(chunk)));  // waits while the window is
//       full
//   absl::StatusOr<Summary> summary = co_await upload.Finish();
//
//   // rpc Chat(stream Line) returns (stream Line);        bidirectional
//   anvil::ClientStream<Line, Line> chat = room.Chat();
//   co_await chat.Write(hello);
//   chat.WritesDone();                                // half-close
//   while (std::optional<Line> line = co_await chat.Read()) ...
//   absl::Status status = co_await chat.Finish();
//
//   // The daemon's side (generated base: one virtual per streaming method):
//   Task<absl::Status> Watch(anvil::CallContext& call,
//                            const WatchRequest& request,
//                            anvil::ServerWriter<Event>& events) override {
//     ANVIL_CO_RETURN_IF_ERROR(co_await events.Write(first));
//     co_return absl::OkStatus();   // the status the client's Finish gets
//   }
//
// Semantics (the contract of runtime/actor/internal/stream_state.h):
//   - Read() gives the next message, or nullopt once none will come: the
//     server finished, or the stream failed. Finish() says which: it reads
//     and drops what is left, then returns the server's status, or the
//     failure (CANCELLED, UNAVAILABLE when a connection broke or a server
//     stopped, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED for an oversized
//     message).
//   - Write(m) queues `m` and returns OK, waiting while the stream's window
//     (CallOptions::stream_window, messages each way) is full: a slow
//     reader slows its writer. It fails once the stream has ended, with
//     the failure, or FAILED_PRECONDITION after a clean end or WritesDone.
//   - Destroying a client handle before Finish() cancels the stream: the
//     server's CallContext::cancelled() turns true and its writes fail
//     CANCELLED. Cancel(why) does so explicitly.
//   - A server that returns ends the stream with what it returned; the
//     messages it wrote before are delivered first. An actor that stops
//     ends its open streams with UNAVAILABLE.
//
// Reentrancy: a streaming method runs as its own task on its actor's
// worker, beside the receive loop (as a reentrant unary method does): the
// actor goes on serving other calls while a stream waits to read or
// write, and the stream's code may use the actor's state between its
// co_awaits, as the loop does. Keep that state consistent across each
// co_await.
//
// Thread-safety: a handle belongs to one coroutine at a time, on a worker;
// a Read and a Write may wait at once (from two coroutines).
//
// Example: services/kv (KvStore.Watch; kvctl watch).
#ifndef ANVIL_RUNTIME_ACTOR_STREAM_H_
#define ANVIL_RUNTIME_ACTOR_STREAM_H_

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/core/task.h"

namespace anvil {

// The message of a streaming call in its actor's mailbox: the stream it
// serves. Generated code declares one per streaming method
// (`struct FeedWatchCall : anvil::StreamRequest<WatchRequest, Event> {}`).
template <typename Req, typename Rep>
struct StreamRequest {
  using RequestType = Req;
  using ReplyType = Rep;
  std::shared_ptr<internal::StreamState<Req, Rep>> stream;
};

namespace internal {

// What the client handles share: the stream, cancelled if dropped
// unfinished, and its replies lane.
template <typename Rep>
class ClientEnd {
 public:
  ClientEnd(std::shared_ptr<StreamStateBase> state, Ring<Rep>& replies)
      : state_(std::move(state)), replies_(&replies) {}
  ClientEnd(ClientEnd&&) = default;
  ClientEnd& operator=(ClientEnd&& other) {
    if (this != &other) {
      Drop();
      state_ = std::move(other.state_);
      replies_ = other.replies_;
    }
    return *this;
  }
  ~ClientEnd() { Drop(); }

  // Ends the stream now with `why` (see the file comment). Does nothing
  // once it has ended.
  void Cancel(absl::Status why =
                  absl::CancelledError("the client cancelled the stream")) {
    state_->Cancel(std::move(why));
  }

 protected:
  using Read = StreamStateBase::ReadAwaiter<Rep, StreamStateBase::kClientRead,
                                            StreamStateBase::kServerWrite>;
  Read ReadReply() { return Read(*state_, *replies_); }

  // Reads and drops the replies left, then the stream's end status.
  Task<absl::Status> Drain() {
    while (co_await ReadReply()) {
    }
    co_return *state_->end();
  }

  std::shared_ptr<StreamStateBase> state_;

 private:
  void Drop() {
    if (state_ != nullptr) {
      state_->Cancel(
          absl::CancelledError("the client dropped the stream unfinished"));
    }
  }

  Ring<Rep>* replies_;
};

// The requests lane of a client that writes: Write and WritesDone.
template <typename Req>
class RequestWriter {
 public:
  RequestWriter(StreamStateBase& state, Ring<Req>& requests)
      : writing_(&state), requests_(&requests) {}

  // co_await: absl::Status (see the file comment).
  auto Write(Req request) {
    return StreamStateBase::WriteAwaiter<Req, StreamStateBase::kClientWrite,
                                         StreamStateBase::kServerRead>(
        *writing_, *requests_, std::move(request));
  }
  // No more requests (half-close); replies keep coming.
  void WritesDone() { writing_->CloseRequests(); }

 private:
  StreamStateBase* writing_;  // kept alive by the ClientEnd beside it
  Ring<Req>* requests_;
};

}  // namespace internal

// A server-streaming call's client: reads replies.
template <typename Rep>
class ClientReader : public internal::ClientEnd<Rep> {
 public:
  template <typename Req>
  explicit ClientReader(std::shared_ptr<internal::StreamState<Req, Rep>> state)
      : internal::ClientEnd<Rep>(state, state->replies()) {}

  // co_await: std::optional<Rep>.
  auto Read() { return this->ReadReply(); }
  // co_await: the stream's status (see the file comment).
  Task<absl::Status> Finish() { return this->Drain(); }
};

// A client-streaming call's client: writes requests, then gets one reply.
template <typename Req, typename Rep>
class ClientWriter : public internal::ClientEnd<Rep>,
                     public internal::RequestWriter<Req> {
 public:
  explicit ClientWriter(std::shared_ptr<internal::StreamState<Req, Rep>> state)
      : internal::ClientEnd<Rep>(state, state->replies()),
        internal::RequestWriter<Req>(*state, state->requests()) {}
  // WritesDone, then the server's reply or the stream's error.
  Task<absl::StatusOr<Rep>> Finish() {
    this->state_->CloseRequests();
    std::optional<Rep> reply = co_await this->ReadReply();
    absl::Status status = co_await this->Drain();
    if (!status.ok()) co_return status;
    if (!reply.has_value()) {
      co_return absl::InternalError(
          "the server ended the stream without a reply");
    }
    co_return std::move(*reply);
  }
};

// A bidirectional call's client.
template <typename Req, typename Rep>
class ClientStream : public internal::ClientEnd<Rep>,
                     public internal::RequestWriter<Req> {
 public:
  explicit ClientStream(std::shared_ptr<internal::StreamState<Req, Rep>> state)
      : internal::ClientEnd<Rep>(state, state->replies()),
        internal::RequestWriter<Req>(*state, state->requests()) {}
  // co_await: std::optional<Rep>.
  auto Read() { return this->ReadReply(); }
  // co_await: the stream's status (see the file comment).
  Task<absl::Status> Finish() { return this->Drain(); }
};

// A server-streaming or bidirectional method's replies. Refers to the
// stream, which outlives the method.
template <typename Rep>
class ServerWriter {
 public:
  template <typename Req>
  explicit ServerWriter(internal::StreamState<Req, Rep>& state)
      : state_(&state), replies_(&state.replies()) {}

  // co_await: absl::Status (see the file comment).
  auto Write(Rep reply) {
    return internal::StreamStateBase::WriteAwaiter<
        Rep, internal::StreamStateBase::kServerWrite,
        internal::StreamStateBase::kClientRead>(*state_, *replies_,
                                                std::move(reply));
  }

 private:
  internal::StreamStateBase* state_;
  internal::Ring<Rep>* replies_;
};

// A client-streaming or bidirectional method's requests.
template <typename Req>
class ServerReader {
 public:
  template <typename Rep>
  explicit ServerReader(internal::StreamState<Req, Rep>& state)
      : state_(&state), requests_(&state.requests()) {}

  // co_await: std::optional<Req>: nullopt once the client is done writing
  // (WritesDone) or the stream ended.
  auto Read() {
    return internal::StreamStateBase::ReadAwaiter<
        Req, internal::StreamStateBase::kServerRead,
        internal::StreamStateBase::kClientWrite>(*state_, *requests_);
  }

 private:
  internal::StreamStateBase* state_;
  internal::Ring<Req>* requests_;
};

// A bidirectional method's two directions.
template <typename Req, typename Rep>
class ServerStream : public ServerReader<Req>, public ServerWriter<Rep> {
 public:
  explicit ServerStream(internal::StreamState<Req, Rep>& state)
      : ServerReader<Req>(state), ServerWriter<Rep>(state) {}
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_ACTOR_STREAM_H_
