#include "runtime/transport/grpc/grpc_network.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <coroutine>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "runtime/actor/call_options.h"
#include "runtime/actor/internal/concurrent_calls.h"
#include "runtime/actor/internal/stream_state.h"
#include "runtime/actor/remote_caller.h"
#include "runtime/core/async_event.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/detached.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/log.h"
#include "runtime/core/mutex.h"
#include "runtime/core/status_macros.h"

namespace anvil {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// A monotonic deadline (INT64_MAX: none) as a gRPC one, and back.
std::chrono::system_clock::time_point ToSystemDeadline(int64_t deadline) {
  const int64_t left = deadline - Clock::MonotonicNanos();
  return std::chrono::system_clock::now() + std::chrono::nanoseconds(left);
}
int64_t ToMonotonicDeadline(std::chrono::system_clock::time_point deadline) {
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return INT64_MAX;
  }
  const auto left = deadline - std::chrono::system_clock::now();
  // Far-off deadlines (gRPC's "infinite" is a huge one) mean none.
  if (left > std::chrono::hours(24 * 365)) return INT64_MAX;
  return Clock::MonotonicNanos() +
         std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
}

class UnaryCall;

// What a server's services share with its calls in flight.
struct ServerCalls {
  explicit ServerCalls(size_t max_message_bytes)
      : max_message_bytes(max_message_bytes) {}

  bool Drained() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return in_flight.empty() && streams.empty();
  }

  const size_t max_message_bytes;
  Mutex mu;
  absl::flat_hash_set<UnaryCall*> in_flight ABSL_GUARDED_BY(mu);
  // The streams served, until gRPC is done with each.
  absl::flat_hash_set<internal::ByteStream*> streams ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  CondVar drained;  // notified when Drained() becomes true
};

// One gRPC operation a coroutine awaits: Await(start) runs `start` (which
// begins it); the reaction calls Done(ok) on gRPC's thread, which resumes
// the coroutine on its worker with `ok`. One operation at a time.
class GrpcOperation {
 public:
  template <typename Start>
  auto Await(Start start) {
    struct Awaiter {
      GrpcOperation& operation;
      Start start;
      bool await_ready() const { return false; }
      void await_suspend(std::coroutine_handle<> waiting) {
        operation.waiting_ = waiting;
        operation.worker_ = internal::Worker::Current();
        start();
      }
      bool await_resume() const { return operation.ok_; }
    };
    return Awaiter{*this, std::move(start)};
  }
  // gRPC's thread. The worker's queue orders `ok_` before the resumption.
  void Done(bool ok) {
    ok_ = ok;
    worker_->Schedule(waiting_);
  }

 private:
  std::coroutine_handle<> waiting_;
  internal::Worker* worker_ = nullptr;
  bool ok_ = false;
};

// RESOURCE_EXHAUSTED for a stream message over the limit, as gRPC words
// it; OK otherwise.
absl::Status CheckStreamMessage(const std::string& message, size_t limit) {
  if (message.size() <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("a stream message of ", message.size(),
                   " bytes is larger than max (", limit, ")"));
}

// One unary call being served: the handler runs on a worker and finishes
// the RPC with its outcome. Deletes itself when gRPC is done with it.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(std::shared_ptr<ServerCalls> calls,
            grpc::CallbackServerContext* context, grpc::ByteBuffer* response)
      : calls_(std::move(calls)), context_(context), response_(response) {}

  // gRPC's thread: the client cancelled, went away, or its deadline passed.
  void OnCancel() override {
    cancellation_.Cancel(absl::CancelledError("the caller cancelled the call"));
  }

  void OnDone() override {
    {
      MutexLock lock(calls_->mu);
      calls_->in_flight.erase(this);
      if (calls_->Drained()) calls_->drained.NotifyAll();
    }
    delete this;
  }

  CallCancellation& cancellation() { return cancellation_; }

  // Lets gRPC run OnDone and OnCancel inline, on the thread that completes
  // the call (gRPC's, or the worker that calls Finish), as it does for its
  // own DefaultReactor. Otherwise it sends each call's OnDone, and with it
  // the request for the next call, to its executor thread: one more thread
  // hand-off per call, about 3% of an exposed echo daemon's QPS.
  // Safe because both reactions are short (a brief lock, no waiting) and
  // never call into gRPC. gRPC's header calls this hook "not API": check it
  // when gRPC is upgraded.
  bool InternalInlineable() override { return true; }

  // Runs `handler` and finishes the RPC with what it returns. The last
  // thing it does is Finish(): gRPC may delete the call right after.
  static internal::Detached Serve(UnaryCall* self, const MethodHandler& handler,
                                  std::string request, int64_t deadline,
                                  std::shared_ptr<RemoteCaller> caller) {
    CallContext context(deadline, &self->cancellation_);
    context.set_remote_caller(&caller);
    absl::StatusOr<std::string> reply =
        co_await handler(std::move(request), std::move(context));
    CallMetadata response_metadata = caller->TakeResponseMetadata();
    if (absl::Status valid = CheckMetadata(response_metadata); !valid.ok()) {
      Log().warn("a handler's response metadata is not sent: {}",
                 valid.ToString());
      response_metadata.clear();
    }
    for (auto& [key, value] : response_metadata) {
      self->context_->AddInitialMetadata(std::move(key), std::move(value));
    }
    if (reply.ok()) {
      *self->response_ = ToBuffer(*reply);
      self->Finish(grpc::Status::OK);
    } else {
      self->Finish(ToGrpc(reply.status()));
    }
  }

 private:
  const std::shared_ptr<ServerCalls> calls_;
  grpc::CallbackServerContext* const context_;  // gRPC's, valid until Finish
  grpc::ByteBuffer* const response_;            // gRPC's, valid until Finish
  CallCancellation cancellation_;
};

// One streaming call being served (every kind is served as gRPC's
// bidirectional one: the wire is the same). Two coroutines on the
// serving worker move messages between gRPC and the ByteStream the
// handler serves: ReadRequests (one read outstanding at a time, the next
// only once the stream has room: gRPC's flow control then holds the
// client) and WriteReplies (one write at a time, then Finish with the
// stream's end). Deleted when both gRPC (OnDone) and ReadRequests are done
// with it; WriteReplies touches nothing after Finish.
class StreamCall final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCall(std::shared_ptr<ServerCalls> calls,
             grpc::CallbackServerContext* context,
             std::shared_ptr<internal::ByteStream> stream)
      : calls_(std::move(calls)),
        context_(context),
        stream_(std::move(stream)) {}

  // gRPC's thread: the client cancelled, went away, or its deadline passed.
  void OnCancel() override {
    stream_->Cancel(absl::CancelledError("the caller cancelled the stream"));
  }
  void OnReadDone(bool ok) override { read_.Done(ok); }
  // gRPC's thread. While replies are queued, writes the next one from
  // here, as a callback server does, sparing a hop to the worker and back
  // per message; WriteReplies takes over when the queue runs dry (or on
  // an error, or a reply over the limit, which it handles).
  void OnWriteDone(bool ok) override {
    if (ok) {
      if (std::optional<std::string> next = stream_->TryReadReply()) {
        if (next->size() <= calls_->max_message_bytes) {
          reply_ = ToBuffer(*next);
          StartWrite(&reply_);
          return;
        }
        pending_reply_ = std::move(next);
      }
    }
    write_.Done(ok);
  }
  void OnDone() override {
    {
      MutexLock lock(calls_->mu);
      calls_->streams.erase(stream_.get());
      if (calls_->Drained()) calls_->drained.NotifyAll();
    }
    Release();
  }

  // Starts the two coroutines on `worker`.
  void Start(internal::Worker& worker) {
    refs_.fetch_add(1, std::memory_order_relaxed);  // ReadRequests'
    ReadRequests(this).StartOn(worker);
    WriteReplies(this).StartOn(worker);
  }

 private:
  static internal::Detached ReadRequests(StreamCall* self) {
    while (co_await self->read_.Await(
        [self] { self->StartRead(&self->request_); })) {
      if (!(co_await self->stream_->WriteRequest(ToString(self->request_)))
               .ok()) {
        break;  // the stream ended
      }
    }
    // The client half-closed (or the call ended: then this does nothing).
    self->stream_->CloseRequests();
    self->Release();
  }

  static internal::Detached WriteReplies(StreamCall* self) {
    bool metadata_sent = false;
    for (;;) {
      std::optional<std::string> reply = std::move(self->pending_reply_);
      self->pending_reply_.reset();
      if (!reply.has_value()) reply = co_await self->stream_->ReadReply();
      if (!reply.has_value()) break;
      if (absl::Status fits =
              CheckStreamMessage(*reply, self->calls_->max_message_bytes);
          !fits.ok()) {
        self->stream_->Cancel(std::move(fits));
        break;
      }
      if (!metadata_sent) self->SendResponseMetadata(&metadata_sent);
      self->reply_ = ToBuffer(*reply);
      if (!co_await self->write_.Await(
              [self] { self->StartWrite(&self->reply_); })) {
        self->stream_->Cancel(
            absl::UnavailableError("the stream's connection broke"));
        break;
      }
    }
    if (!metadata_sent) self->SendResponseMetadata(&metadata_sent);
    const absl::Status end = self->stream_->end().value_or(
        absl::InternalError("the stream ended without a status"));
    CallMetadata trailing =
        self->stream_->remote_caller()->TakeTrailingMetadata();
    if (absl::Status valid = CheckMetadata(trailing); !valid.ok()) {
      Log().warn("a handler's trailing metadata is not sent: {}",
                 valid.ToString());
      trailing.clear();
    }
    for (auto& [key, value] : trailing) {
      self->context_->AddTrailingMetadata(std::move(key), std::move(value));
    }
    self->Finish(ToGrpc(end));  // the last touch: gRPC may be done after it
  }

  void SendResponseMetadata(bool* sent) {
    *sent = true;
    CallMetadata metadata = stream_->remote_caller()->TakeResponseMetadata();
    if (absl::Status valid = CheckMetadata(metadata); !valid.ok()) {
      Log().warn("a handler's response metadata is not sent: {}",
                 valid.ToString());
      return;
    }
    for (auto& [key, value] : metadata) {
      context_->AddInitialMetadata(std::move(key), std::move(value));
    }
  }

  void Release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  const std::shared_ptr<ServerCalls> calls_;
  grpc::CallbackServerContext* const context_;  // gRPC's, valid until OnDone
  const std::shared_ptr<internal::ByteStream> stream_;
  grpc::ByteBuffer request_;  // ReadRequests'
  grpc::ByteBuffer reply_;    // WriteReplies', then OnWriteDone's
  // A reply OnWriteDone took but left to WriteReplies.
  std::optional<std::string> pending_reply_;
  GrpcOperation read_;
  GrpcOperation write_;
  std::atomic<int> refs_{1};  // gRPC's, until OnDone
};

// Runs `handler` on `stream` until it ended.
internal::Detached ServeStream(const MethodHandler& handler,
                               std::shared_ptr<internal::ByteStream> stream) {
  co_await handler.ServeStream(stream, internal::StreamContext(*stream));
}

std::string ToString(grpc::string_ref text) {
  return std::string(text.data(), text.size());
}

// What gRPC knows of the caller of `context`. Its certificate's names are
// read only where the server verified one (`verifies_clients`).
std::shared_ptr<RemoteCaller> CallerOf(
    const grpc::CallbackServerContext& context, bool verifies_clients) {
  auto caller = std::make_shared<RemoteCaller>();
  caller->address = context.peer();
  for (const auto& [key, value] : context.client_metadata()) {
    if (key == kClaimedPeerHeader) caller->claimed_name = ToString(value);
    caller->request_metadata.emplace_back(ToString(key), ToString(value));
  }
  if (verifies_clients) {
    const std::shared_ptr<const grpc::AuthContext> auth =
        context.auth_context();
    if (auth != nullptr && auth->IsPeerAuthenticated()) {
      for (const char* property :
           {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
        for (const grpc::string_ref& value :
             auth->FindPropertyValues(property)) {
          std::string name = ToString(value);
          std::vector<std::string>& names = caller->verified_names;
          if (std::find(names.begin(), names.end(), name) == names.end()) {
            names.push_back(std::move(name));
          }
        }
      }
    }
  }
  return caller;
}

// One gRPC service ("demo.kv.KvStore") whose methods take and return
// serialized messages (gRPC's raw callback API), each served by its
// MethodHandler.
class RawService final : public grpc::Service {
 public:
  // `methods`: full method names ("/demo.kv.KvStore/Get") and handlers.
  RawService(std::vector<std::pair<std::string, MethodHandler>> methods,
             Runtime& runtime, std::shared_ptr<ServerCalls> calls,
             bool verifies_clients)
      : methods_(std::move(methods)),
        runtime_(runtime),
        calls_(std::move(calls)),
        verifies_clients_(verifies_clients) {
    for (size_t i = 0; i < methods_.size(); ++i) {
      const MethodHandler* handler = &methods_[i].second;
      if (handler->streaming()) {
        AddMethod(new grpc::internal::RpcServiceMethod(
            methods_[i].first.c_str(),
            grpc::internal::RpcMethod::BIDI_STREAMING, nullptr));
        MarkMethodRawCallback(
            static_cast<int>(i),
            new grpc::internal::CallbackBidiHandler<grpc::ByteBuffer,
                                                    grpc::ByteBuffer>(
                [this, handler](grpc::CallbackServerContext* context) {
                  return StartStream(*handler, context);
                }));
        continue;
      }
      // gRPC keeps the name pointer: methods_ never changes after this.
      AddMethod(new grpc::internal::RpcServiceMethod(
          methods_[i].first.c_str(), grpc::internal::RpcMethod::NORMAL_RPC,
          nullptr));
      MarkMethodRawCallback(
          static_cast<int>(i),
          new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                                   grpc::ByteBuffer>(
              [this, handler](grpc::CallbackServerContext* context,
                              const grpc::ByteBuffer* request,
                              grpc::ByteBuffer* response) {
                return Start(*handler, context, *request, response);
              }));
    }
  }

 private:
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StartStream(
      const MethodHandler& handler, grpc::CallbackServerContext* context) {
    auto stream = std::make_shared<internal::ByteStream>(
        CallOptions::kDefaultStreamWindow,
        ToMonotonicDeadline(context->deadline()));
    stream->set_remote_caller(CallerOf(*context, verifies_clients_));
    auto* call = new StreamCall(calls_, context, stream);
    {
      MutexLock lock(calls_->mu);
      if (calls_->stopping) {
        call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                  "the server is stopping"));
        return call;
      }
      calls_->streams.insert(stream.get());
    }
    internal::Worker& worker = handler.home() != nullptr
                                   ? *handler.home()
                                   : runtime_.scheduler().NextWorker();
    ServeStream(handler, stream).StartOn(worker);
    call->Start(worker);
    return call;
  }

  grpc::ServerUnaryReactor* Start(const MethodHandler& handler,
                                  grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer& request,
                                  grpc::ByteBuffer* response) {
    auto* call = new UnaryCall(calls_, context, response);
    bool stopping;
    {
      MutexLock lock(calls_->mu);
      stopping = calls_->stopping;
      if (!stopping) calls_->in_flight.insert(call);
    }
    if (stopping) {
      call->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "the server is stopping"));
      return call;
    }
    UnaryCall::Serve(call, handler, ToString(request),
                     ToMonotonicDeadline(context->deadline()),
                     CallerOf(*context, verifies_clients_))
        .StartOn(handler.home() != nullptr ? *handler.home()
                                           : runtime_.scheduler().NextWorker());
    return call;
  }

  const std::vector<std::pair<std::string, MethodHandler>> methods_;
  Runtime& runtime_;
  const std::shared_ptr<ServerCalls> calls_;
  const bool verifies_clients_;
};

constexpr absl::Duration kDefaultGrace = absl::Seconds(5);

class GrpcServer final : public Server {
 public:
  GrpcServer(std::vector<std::unique_ptr<RawService>> services,
             std::shared_ptr<ServerCalls> calls,
             std::unique_ptr<grpc::Server> server, std::string address)
      : services_(std::move(services)),
        calls_(std::move(calls)),
        server_(std::move(server)),
        address_(std::move(address)) {}

  ~GrpcServer() override {
    BeginStop(kDefaultGrace);
    stopper_.join();
  }

  const std::string& address() const override { return address_; }

  void SetServing(const std::string& service, bool serving) override {
    server_->GetHealthCheckService()->SetServingStatus(service, serving);
  }

  Task<> Stop(absl::Duration grace) override {
    BeginStop(grace);
    co_await stopped_.Wait();
  }

 private:
  // Starts the stopping thread, the first time.
  void BeginStop(absl::Duration grace) {
    {
      MutexLock lock(calls_->mu);
      if (calls_->stopping) return;
      calls_->stopping = true;  // new calls get UNAVAILABLE from here on
    }
    stopper_ = std::thread([this, grace] {
      StopNow(grace);
      stopped_.Notify();
    });
  }

  // Waits up to `grace` for the calls in flight, cancels what is left with
  // UNAVAILABLE (each ends at once: see ServeLocallyOnce), then shuts gRPC
  // down. Blocks; runs on the stopping thread.
  void StopNow(absl::Duration grace) {
    {
      MutexLock lock(calls_->mu);
      const auto until =
          std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(grace);
      // Streams may never end on their own (a watch): they end now, and
      // their clients can go elsewhere. Unary calls get the grace.
      for (internal::ByteStream* stream : calls_->streams) {
        stream->Cancel(absl::UnavailableError("the server is stopping"));
      }
      while (!calls_->Drained() && std::chrono::steady_clock::now() < until) {
        calls_->drained.WaitFor(calls_->mu,
                                until - std::chrono::steady_clock::now());
      }
      for (UnaryCall* call : calls_->in_flight) {
        call->cancellation().Cancel(
            absl::UnavailableError("the server is stopping"));
      }
    }
    // gRPC cancels what still runs after this (a handler that ignores
    // cancellation), and waits for every reactor to be done.
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
    server_->Wait();
  }

  const std::vector<std::unique_ptr<RawService>> services_;  // outlive server_
  const std::shared_ptr<ServerCalls> calls_;
  const std::unique_ptr<grpc::Server> server_;
  const std::string address_;
  std::thread stopper_;
  AsyncEvent stopped_;
};

// Where a unary call's outcome lands; resumes the caller on its worker.
struct PendingCall {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer reply;
  grpc::Status status;
  std::coroutine_handle<> caller;
  internal::Worker* worker = nullptr;
};

// One streaming call made: two coroutines on the opening worker move
// messages between the ByteStream (whose server end this is) and gRPC:
// SendRequests (one write at a time, then WritesDone) and ReceiveReplies
// (one read at a time, the next once the stream has room). Each holds the
// call open (a gRPC hold) until it is done; OnDone then finishes the
// stream with the call's status and deletes the call.
class ClientStreamCall final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  static void Start(grpc::GenericStub& stub, const std::string& method,
                    CallMetadata metadata, const std::string& node_name,
                    size_t max_message_bytes,
                    std::shared_ptr<internal::ByteStream> stream) {
    auto* call = new ClientStreamCall(stream, max_message_bytes);
    if (stream->deadline() != INT64_MAX) {
      call->context_.set_deadline(ToSystemDeadline(stream->deadline()));
    }
    if (!node_name.empty()) {
      call->context_.AddMetadata(kClaimedPeerHeader, node_name);
    }
    for (auto& [key, value] : metadata) {
      call->context_.AddMetadata(std::move(key), std::move(value));
    }
    stub.PrepareBidiStreamingCall(&call->context_, method, grpc::StubOptions(),
                                  call);
    call->AddMultipleHolds(2);  // SendRequests', ReceiveReplies'
    call->StartCall();
    // A cancel of the stream (the client, its deadline) cancels the RPC.
    // TryCancel runs no reaction inline, so this hook, which runs under
    // the cancellation's lock, cannot meet OnDone's unhooking there.
    stream->cancellation().OnCancel(
        [call](const absl::Status&) { call->context_.TryCancel(); });
    internal::Worker& worker = *internal::Worker::Current();
    SendRequests(call).StartOn(worker);
    ReceiveReplies(call).StartOn(worker);
  }

  void OnReadDone(bool ok) override { read_.Done(ok); }
  void OnWriteDone(bool ok) override { write_.Done(ok); }
  void OnWritesDoneDone(bool ok) override { write_.Done(ok); }
  void OnDone(const grpc::Status& status) override {
    stream_->cancellation().OnCancel(nullptr);
    stream_->Finish(FromGrpc(status));
    delete this;
  }

 private:
  ClientStreamCall(std::shared_ptr<internal::ByteStream> stream,
                   size_t max_message_bytes)
      : stream_(std::move(stream)), max_message_bytes_(max_message_bytes) {}

  static internal::Detached SendRequests(ClientStreamCall* self) {
    bool sent_all = true;
    while (std::optional<std::string> request =
               co_await self->stream_->ReadRequest()) {
      if (absl::Status fits =
              CheckStreamMessage(*request, self->max_message_bytes_);
          !fits.ok()) {
        self->stream_->Cancel(std::move(fits));
        sent_all = false;
        break;
      }
      self->request_ = ToBuffer(*request);
      if (!co_await self->write_.Await(
              [self] { self->StartWrite(&self->request_); })) {
        sent_all = false;  // the call ended; OnDone says how
        break;
      }
    }
    if (sent_all && !self->stream_->end().has_value()) {
      co_await self->write_.Await([self] { self->StartWritesDone(); });
    }
    self->RemoveHold();  // the last touch: OnDone may follow at once
  }

  static internal::Detached ReceiveReplies(ClientStreamCall* self) {
    while (co_await self->read_.Await(
        [self] { self->StartRead(&self->reply_); })) {
      if (!(co_await self->stream_->WriteReply(ToString(self->reply_))).ok()) {
        self->context_.TryCancel();  // the client cancelled
        break;
      }
    }
    // The server is done sending: stop SendRequests waiting for more, so
    // that OnDone can bring the status.
    self->stream_->CloseRequests();
    self->RemoveHold();  // the last touch: OnDone may follow at once
  }

  grpc::ClientContext context_;
  const std::shared_ptr<internal::ByteStream> stream_;
  const size_t max_message_bytes_;
  grpc::ByteBuffer request_;  // SendRequests'
  grpc::ByteBuffer reply_;    // ReceiveReplies'
  GrpcOperation read_;
  GrpcOperation write_;
};

class GrpcChannel final : public Channel {
 public:
  GrpcChannel(std::shared_ptr<grpc::Channel> channel, std::string node_name,
              size_t max_message_bytes)
      : stub_(std::move(channel)),
        node_name_(std::move(node_name)),
        max_message_bytes_(max_message_bytes) {}

  void OpenStream(std::string method, CallMetadata metadata,
                  std::shared_ptr<internal::ByteStream> stream) override {
    if (absl::Status valid = CheckMetadata(metadata); !valid.ok()) {
      stream->Finish(std::move(valid));
      return;
    }
    ClientStreamCall::Start(stub_, method, std::move(metadata), node_name_,
                            max_message_bytes_, std::move(stream));
  }

  using Channel::Call;
  Task<absl::StatusOr<std::string>> Call(std::string method,
                                         std::string request, int64_t deadline,
                                         CallMetadata metadata) override {
    // Owned by this coroutine and destroyed on its worker, never inside
    // gRPC's callback: the callback only records the status and schedules
    // the caller.
    ANVIL_CO_RETURN_IF_ERROR(CheckMetadata(metadata));
    PendingCall call;
    call.request = ToBuffer(request);
    if (deadline != INT64_MAX) {
      call.context.set_deadline(ToSystemDeadline(deadline));
    }
    if (!node_name_.empty()) {
      call.context.AddMetadata(kClaimedPeerHeader, node_name_);
    }
    for (auto& [key, value] : metadata) {
      call.context.AddMetadata(std::move(key), std::move(value));
    }
    struct Awaiter {
      grpc::GenericStub& stub;
      PendingCall& call;
      const std::string& method;
      bool await_ready() const { return false; }
      void await_suspend(std::coroutine_handle<> caller) {
        call.caller = caller;
        call.worker = internal::Worker::Current();
        PendingCall* pending = &call;
        stub.UnaryCall(&call.context, method, grpc::StubOptions(),
                       &call.request, &call.reply,
                       [pending](grpc::Status status) {
                         pending->status = std::move(status);
                         pending->worker->Schedule(pending->caller);
                       });
      }
      void await_resume() const {}
    };
    co_await Awaiter{stub_, call, method};
    if (!call.status.ok()) co_return FromGrpc(call.status);
    co_return ToString(call.reply);
  }

 private:
  grpc::GenericStub stub_;
  const std::string node_name_;  // sent as kClaimedPeerHeader, if set
  const size_t max_message_bytes_;
};

// The contents of the PEM file at `path`; `what` names it in errors.
absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("tls: no ", what, " file"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("tls: cannot read ", what, " file ", path));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  if (contents.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls: ", what, " file ", path, " is empty"));
  }
  return contents.str();
}

// `duration` in whole milliseconds, at least 1, for a gRPC argument.
int Milliseconds(absl::Duration duration) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(duration), 1, INT_MAX));
}

}  // namespace

absl::Status CheckLimits(const GrpcNetworkOptions& options) {
  if (options.max_message_bytes < 1024 ||
      options.max_message_bytes > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes is ", options.max_message_bytes,
                     "; it must be between 1024 and ", INT_MAX));
  }
  if (options.max_calls_per_connection < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_calls_per_connection is ",
                     options.max_calls_per_connection, "; it must be >= 1"));
  }
  if (options.keepalive_time != absl::InfiniteDuration() &&
      options.keepalive_time < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keepalive_time is ", absl::FormatDuration(options.keepalive_time),
        "; it must be at least 100ms (or infinite: off)"));
  }
  if (options.keepalive_timeout < absl::Milliseconds(10) ||
      options.keepalive_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keepalive_timeout is ",
                     absl::FormatDuration(options.keepalive_timeout),
                     "; it must be at least 10ms, and finite"));
  }
  return absl::OkStatus();
}

absl::StatusOr<GrpcNetworkOptions> TlsFromFiles(const TlsFiles& files) {
  absl::StatusOr<std::string> roots = ReadPem(files.root_certs, "root_certs");
  if (!roots.ok()) return roots.status();
  absl::StatusOr<std::string> chain = ReadPem(files.cert_chain, "cert_chain");
  absl::StatusOr<std::string> key = ReadPem(files.private_key, "private_key");
  GrpcNetworkOptions options;
  // A server side needs its own certificate; a client only for mutual TLS.
  if (chain.ok() && key.ok()) {
    grpc::SslServerCredentialsOptions server(
        files.mutual
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    server.pem_root_certs = *roots;
    server.pem_key_cert_pairs.push_back({*key, *chain});
    options.server_credentials = grpc::SslServerCredentials(server);
    options.verifies_clients = files.mutual;
  } else if (!files.cert_chain.empty() || !files.private_key.empty() ||
             files.mutual) {
    return !chain.ok() ? chain.status() : key.status();
  }
  grpc::SslCredentialsOptions client;
  client.pem_root_certs = *roots;
  if (files.mutual) {
    client.pem_private_key = *key;
    client.pem_cert_chain = *chain;
  }
  options.channel_credentials = grpc::SslCredentials(client);
  return options;
}

absl::StatusOr<std::unique_ptr<Server>> GrpcNetwork::Serve(
    const std::string& address, MethodHandlers handlers) {
  static const bool plugins_installed = [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return true;
  }();
  (void)plugins_installed;

  // Group the methods by service, in a stable order.
  std::map<std::string, std::vector<std::pair<std::string, MethodHandler>>>
      by_service;
  for (auto& [method, handler] : handlers) {
    const std::vector<absl::string_view> parts = absl::StrSplit(method, '/');
    if (parts.size() != 3 || !parts[0].empty() || parts[1].empty() ||
        parts[2].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("grpc: method name '", method,
                       "' is not of the form /package.Service/Method"));
    }
    by_service[std::string(parts[1])].emplace_back(method, std::move(handler));
  }

  ANVIL_RETURN_IF_ERROR(CheckLimits(options_));
  auto calls = std::make_shared<ServerCalls>(options_.max_message_bytes);
  std::vector<std::unique_ptr<RawService>> services;
  grpc::ServerBuilder builder;
  // A port another server holds is an error, not shared.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(options_.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options_.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options_.max_calls_per_connection);
  if (options_.keepalive_time != absl::InfiniteDuration()) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               Milliseconds(options_.keepalive_time));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                               Milliseconds(options_.keepalive_timeout));
    // Clients configured alike ping every keepalive_time: never count
    // them as abusive (gRPC's default floor is 5 min between pings).
    builder.AddChannelArgument(
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
        Milliseconds(options_.keepalive_time / 2));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }
  int port = 0;
  builder.AddListeningPort(address,
                           options_.server_credentials != nullptr
                               ? options_.server_credentials
                               : grpc::InsecureServerCredentials(),
                           &port);
  for (auto& [service, methods] : by_service) {
    std::sort(methods.begin(), methods.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    services.push_back(std::make_unique<RawService>(
        std::move(methods), runtime_, calls, options_.verifies_clients));
    builder.RegisterService(services.back().get());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("grpc: cannot serve at ", address));
  }
  // Served services are not ready until the owner says so.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);
  for (const auto& [service, methods] : by_service) {
    health->SetServingStatus(service, false);
  }
  const std::string host = address.substr(0, address.rfind(':'));
  return std::make_unique<GrpcServer>(std::move(services), std::move(calls),
                                      std::move(server),
                                      absl::StrCat(host, ":", port));
}

std::shared_ptr<Channel> GrpcNetwork::Connect(const std::string& address) {
  grpc::ChannelArguments arguments;
  const int max_backoff_ms = static_cast<int>(std::max<int64_t>(
      100, absl::ToInt64Milliseconds(options_.max_reconnect_backoff)));
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                   std::min(100, max_backoff_ms));
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the shortest a
  // connection attempt may take (20 s by default), which a slow machine
  // (or a sanitizer) needs.
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  arguments.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(options_.max_message_bytes, INT_MAX)));
  arguments.SetMaxSendMessageSize(
      static_cast<int>(std::min<size_t>(options_.max_message_bytes, INT_MAX)));
  if (options_.keepalive_time != absl::InfiniteDuration()) {
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                     Milliseconds(options_.keepalive_time));
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                     Milliseconds(options_.keepalive_timeout));
    // Pings only while calls are in flight, as many as it takes.
    arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  return std::make_shared<GrpcChannel>(
      grpc::CreateCustomChannel(address,
                                options_.channel_credentials != nullptr
                                    ? options_.channel_credentials
                                    : grpc::InsecureChannelCredentials(),
                                arguments),
      options_.node_name, options_.max_message_bytes);
}

}  // namespace anvil
