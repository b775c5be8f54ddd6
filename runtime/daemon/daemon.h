// Daemon: a long-running service with a lifecycle, built by a Factory.
//
// A daemon type is an interface (what others depend on) declared with its
// name, scope and dependencies; implementations derive from it. Normally
// protoc-gen-anvil generates the declaration from a .proto (see
// docs/codegen.md); by hand it is this small:
//
//   class GuestBook : public anvil::Daemon {
//    public:
//     static anvil::DaemonInfo Info() {
//       return {.name = "hello.GuestBook", .scope =
//       anvil::DaemonScope::kProcess};
//     }
//     virtual void Sign(std::string who) = 0;
//   };
//
//   class Alice : public anvil::Daemon {
//    public:
//     static anvil::DaemonInfo Info() {
//       return {.name = "hello.Alice", .depends_on = {"hello.GuestBook"}};
//     }
//   };
//
//   class AliceImpl final : public Alice {
//    public:
//     explicit AliceImpl(anvil::DaemonContext& ctx)
//         : book_(ctx.Get<GuestBook>()) {}   // built before Alice
//     anvil::Task<absl::Status> Run() override;
//     anvil::Task<> Stop() override;
//    private:
//     GuestBook& book_;
//   };
//
// Lifecycle (driven by anvil::Node): Prepare() on every daemon in dependency
// order (dependencies first; a daemon must not serve requests yet); then
// Run() on all of them concurrently; then Stop() in reverse order
// (dependents first: top daemons stop admitting work before the daemons
// they use), each awaited, and followed by awaiting that daemon's Run().
// All three are coroutines on the runtime.
//
// Thread-safety: Prepare, Run and Stop are called from the runtime's
// workers; Stop may be called while Run is suspended, on another worker.
//
// Example: examples/heartbeat/heartbeat_main.cc.
#ifndef ANVIL_RUNTIME_DAEMON_DAEMON_H_
#define ANVIL_RUNTIME_DAEMON_DAEMON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/actor/method_handler.h"
#include "runtime/core/task.h"

namespace anvil {

// Where a daemon lives in the factory hierarchy (the .proto's anvil.Scope).
enum class DaemonScope {
  // Built once per node: in the factory that asks for it.
  kNode,
  // Built once per process: in the root factory (or in the nearest factory
  // that binds it itself, overriding the root), shared by every child.
  kProcess,
};

// To whom its node serves a daemon over the network (the .proto's
// anvil.Exposure; see docs/transport.md, "Security").
enum class DaemonExposure {
  // Reachable only from inside its process.
  kNotExposed,
  // Served to the cluster's other nodes: a call whose caller is not
  // authenticated as a node of the node's Cluster is refused with
  // PERMISSION_DENIED before it reaches the daemon.
  kCluster,
  // Served to any client.
  kPublic,
};

// What a node serves for one daemon: its methods, by full method name, and
// to whom.
struct ExposedMethods {
  DaemonExposure exposure = DaemonExposure::kNotExposed;
  MethodHandlers methods;
};

// What a daemon type declares about itself (generated from the .proto).
struct DaemonInfo {
  // Fully qualified name, such as "demo.kv.KvStore".
  std::string name;
  DaemonScope scope = DaemonScope::kNode;
  // Names of the daemons it needs; built (and prepared) before it.
  std::vector<std::string> depends_on;
  // To whom its node serves it (the .proto's `exposure`); see
  // Daemon::Exposed().
  DaemonExposure exposure = DaemonExposure::kNotExposed;
};

class Daemon {
 public:
  virtual ~Daemon() = default;

  // Gets ready to run: open files, recover state. Runs after every
  // dependency's Prepare. An error stops the node before anything runs.
  virtual Task<absl::Status> Prepare() { co_return absl::OkStatus(); }

  // Serves until Stop() is called, then returns once quiesced. An error (or
  // an early return) makes the node stop, and is reported with the node's
  // and the daemon's names.
  virtual Task<absl::Status> Run() = 0;

  // Makes Run() finish: stop admitting work, then finish or cancel what is
  // outstanding; it may await that. Run()'s return is awaited after it.
  // Called once Run() was entered, possibly while Run's first step is still
  // running on another worker (so Run must check for a stop it may have
  // missed, as a flag rather than an event); also after Run() returned by
  // itself; and, if the runtime shuts down while the node is starting,
  // possibly before Run() was entered at all.
  virtual Task<> Stop() = 0;

  // What its node serves for it, and to whom (generated daemons return
  // their SRef::Handlers with the .proto's exposure). Called once, after
  // Prepare() succeeded; calls may arrive before Run() starts. Default:
  // nothing.
  virtual ExposedMethods Exposed() { return {}; }
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_DAEMON_DAEMON_H_
