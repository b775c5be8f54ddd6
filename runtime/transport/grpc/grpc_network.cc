#include "runtime/transport/grpc/grpc_network.h"

#include <chrono>
#include <coroutine>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "runtime/core/clock.h"
#include "runtime/core/detached.h"
#include "runtime/core/worker.h"

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

// One unary call: read the request, run the handler on a worker, write the
// reply. Deletes itself when gRPC is done with it.
class CallReactor final : public grpc::ServerGenericBidiReactor {
 public:
  CallReactor(const MethodHandlers& handlers, Runtime& runtime,
              grpc::GenericCallbackServerContext* context)
      : handlers_(handlers), runtime_(runtime), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "no request message"));
      return;
    }
    auto handler = handlers_.find(context_->method());
    if (handler == handlers_.end()) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          absl::StrCat("no method ", context_->method())));
      return;
    }
    Serve(this, handler->second, ToString(request_),
          CallContext(ToMonotonicDeadline(context_->deadline())))
        .StartOn(runtime_.scheduler().NextWorker());
  }

  void OnWriteDone(bool) override {}
  void OnDone() override { delete this; }

 private:
  static internal::Detached Serve(CallReactor* self,
                                  const MethodHandler& handler,
                                  std::string request, CallContext call) {
    absl::StatusOr<std::string> reply =
        co_await handler(std::move(request), call);
    if (reply.ok()) {
      self->reply_ = ToBuffer(*reply);
      self->StartWriteAndFinish(&self->reply_, grpc::WriteOptions(),
                                grpc::Status::OK);
    } else {
      self->Finish(ToGrpc(reply.status()));
    }
  }

  const MethodHandlers& handlers_;
  Runtime& runtime_;
  grpc::GenericCallbackServerContext* const context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
};

class GenericService final : public grpc::CallbackGenericService {
 public:
  GenericService(MethodHandlers handlers, Runtime& runtime)
      : handlers_(std::move(handlers)), runtime_(runtime) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new CallReactor(handlers_, runtime_, context);
  }

 private:
  const MethodHandlers handlers_;
  Runtime& runtime_;
};

class GrpcServer final : public Server {
 public:
  GrpcServer(std::unique_ptr<GenericService> service,
             std::unique_ptr<grpc::Server> server, std::string address)
      : service_(std::move(service)),
        server_(std::move(server)),
        address_(std::move(address)) {}
  // Stops accepting; calls in flight get a few seconds to finish, then are
  // cancelled.
  ~GrpcServer() override {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    server_->Wait();
  }
  const std::string& address() const override { return address_; }

 private:
  std::unique_ptr<GenericService> service_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  const std::string address_;
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

class GrpcChannel final : public Channel {
 public:
  explicit GrpcChannel(std::shared_ptr<grpc::Channel> channel)
      : stub_(std::move(channel)) {}

  Task<absl::StatusOr<std::string>> Call(std::string method,
                                         std::string request,
                                         int64_t deadline) override {
    // Owned by this coroutine and destroyed on its worker, never inside
    // gRPC's callback: the callback only records the status and schedules
    // the caller.
    PendingCall call;
    call.request = ToBuffer(request);
    if (deadline != INT64_MAX) {
      call.context.set_deadline(ToSystemDeadline(deadline));
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
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> GrpcNetwork::Serve(
    const std::string& address, MethodHandlers handlers) {
  auto service =
      std::make_unique<GenericService>(std::move(handlers), runtime_);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("grpc: cannot serve at ", address));
  }
  const std::string host = address.substr(0, address.rfind(':'));
  return std::make_unique<GrpcServer>(std::move(service), std::move(server),
                                      absl::StrCat(host, ":", port));
}

std::shared_ptr<Channel> GrpcNetwork::Connect(const std::string& address) {
  return std::make_shared<GrpcChannel>(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

}  // namespace anvil
