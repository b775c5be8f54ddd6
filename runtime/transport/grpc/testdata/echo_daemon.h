// EchoImpl: the Echo daemon of echo.proto, for tests and benchmarks of
// exposed daemons; EchoPeerImpl, its CLUSTER-only EchoPeer.
//
//   factory.Bind<EchoDaemon, EchoImpl>();
//   auto* echo = static_cast<EchoImpl*>(*factory.Get<EchoDaemon>());
//   echo->Release();   // lets Hold calls finish
//
// Thread-safe counters; the methods run on the daemon's actor.
#ifndef ANVIL_RUNTIME_TRANSPORT_GRPC_TESTDATA_ECHO_DAEMON_H_
#define ANVIL_RUNTIME_TRANSPORT_GRPC_TESTDATA_ECHO_DAEMON_H_

#include <atomic>

#include "runtime/core/async_event.h"
#include "runtime/transport/grpc/testdata/echo.anvil.h"

namespace anvil::transport::testdata {

class EchoImpl final : public EchoDaemon {
 public:
  explicit EchoImpl(const EchoDeps& deps) : EchoDaemon(deps) {}

  Task<absl::StatusOr<EchoReply>> Say(CallContext& call,
                                      const EchoRequest& request) override;
  Task<absl::StatusOr<EchoReply>> Hold(CallContext& call,
                                       const EchoRequest& request) override;

  // Lets every Hold call, current and future, finish.
  void Release() { release_.Notify(); }

  // Say calls that reached the daemon.
  int says() const { return says_.load(); }
  // Calls waiting for their cancellation (wait_for_cancel) right now.
  int waiting_for_cancel() const { return waiting_.load(); }
  // Calls that saw CallContext::cancelled() become true.
  int cancellations_seen() const { return cancelled_.load(); }
  // Hold calls that started.
  int holds_started() const { return holds_.load(); }
  // Calls with a delay_ms that started waiting.
  int delays_started() const { return delays_.load(); }

 private:
  AsyncEvent release_;
  std::atomic<int> says_{0};
  std::atomic<int> waiting_{0};
  std::atomic<int> cancelled_{0};
  std::atomic<int> holds_{0};
  std::atomic<int> delays_{0};
};

// Answers who called; counts the calls that reached it.
class EchoPeerImpl final : public EchoPeerDaemon {
 public:
  explicit EchoPeerImpl(const EchoPeerDeps& deps) : EchoPeerDaemon(deps) {}

  Task<absl::StatusOr<WhoReply>> Who(CallContext& call,
                                     const EchoRequest& request) override;
  Task<absl::StatusOr<EchoReply>> Poke(CallContext& call,
                                       const EchoRequest& request) override;

  // Calls of either method that reached the daemon.
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
};

// Echoes the request's text, nothing else: the work of the QPS benchmark.
class BenchEchoImpl final : public BenchEchoDaemon {
 public:
  explicit BenchEchoImpl(const BenchEchoDeps& deps) : BenchEchoDaemon(deps) {}

  Task<absl::StatusOr<EchoReply>> Say(CallContext&,
                                      const EchoRequest& request) override {
    EchoReply reply;
    reply.set_text(request.text());
    co_return reply;
  }
};

class BenchPeerEchoImpl final : public BenchPeerEchoDaemon {
 public:
  explicit BenchPeerEchoImpl(const BenchPeerEchoDeps& deps)
      : BenchPeerEchoDaemon(deps) {}

  Task<absl::StatusOr<EchoReply>> Say(CallContext&,
                                      const EchoRequest& request) override {
    EchoReply reply;
    reply.set_text(request.text());
    co_return reply;
  }
};

}  // namespace anvil::transport::testdata

#endif  // ANVIL_RUNTIME_TRANSPORT_GRPC_TESTDATA_ECHO_DAEMON_H_
