// Node: runs the daemons one factory built, through their lifecycle.
//
//   anvil::Factory& n1 = root.Child("n1");
//   n1.Get<KvStore>();                      // builds what the node runs
//   anvil::Node node(n1);
//   ANVIL_RETURN_IF_ERROR(node.Start());    // Prepare, dependencies first;
//                                           // then Run, all concurrently
//   ...
//   node.RequestStop();                     // or a daemon's Run fails
//   absl::Status status = node.Wait();      // Stop in reverse order, each
//                                           // followed by its Run's end
//
// Each daemon's Run() runs as an actor named "<node path>/<daemon name>".
// The node stops (in order) when RequestStop() is called, or when any Run()
// returns: with an error, reported as "node root/n1: daemon demo.Storage
// failed: ..."; or early without one, reported as ABORTED (a daemon must run
// until stopped).
//
// A node runs only the daemons built in its own factory; process-wide ones
// built in the root belong to the root's node: start nodes parents first
// and stop them children first. Several nodes in one process share its
// shutdown: SIGINT/SIGTERM (or Runtime::Shutdown) stops every node.
//
// Exposed daemons (the .proto's `exposure: PUBLIC` or `CLUSTER`) are
// served by one server per node, on NodeOptions::network (gRPC unless the
// build is --config=sim) at NodeOptions::listen_address. A CLUSTER daemon's
// calls are refused (PERMISSION_DENIED, logged, never reaching it) unless
// the caller is a node its Cluster knows; every served call passes the
// runtime's server interceptors (docs/transport.md, "Security"). The server
// starts
// after every Prepare succeeded and before Run; health checks report each
// exposed service SERVING from then until the node starts stopping. When it
// stops, the server goes first (before any daemon's Stop): new calls get
// UNAVAILABLE, calls in flight get NodeOptions::grace to finish, then are
// answered UNAVAILABLE. If a Cluster daemon was built in the node's factory
// or an ancestor, the node records its address there under its factory's
// name while it serves (see runtime/node/cluster.h).
//
// Thread-safety: Start and Wait from one thread that is not a worker
// (they block); RequestStop from any thread.
//
// Example: examples/greeter/greeter_main.cc (through NodeMain).
#ifndef ANVIL_RUNTIME_NODE_NODE_H_
#define ANVIL_RUNTIME_NODE_NODE_H_

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/daemon.h"
#include "runtime/daemon/factory.h"
#include "runtime/transport/network.h"

namespace anvil {

struct NodeOptions {
  // Where the node serves its exposed daemons: "host:port" for gRPC (port 0
  // picks a free one; see Node::address()), a name for loopback. Empty: the
  // address a Cluster daemon lists for this node's name (--anvil_peers),
  // else "127.0.0.1:0" (this machine only).
  std::string listen_address;
  // The network to serve on (TLS is set there; see GrpcNetwork). Null: the
  // node makes NewDefaultNetwork(runtime) when it has something to serve.
  std::shared_ptr<Network> network;
  // How long stopping lets calls in flight finish.
  absl::Duration grace = absl::Seconds(5);
};

class Node {
 public:
  explicit Node(Factory& factory, NodeOptions options = {});
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Stops the node if it is running and waits for it.
  ~Node();

  // Prepares the factory's daemons in dependency order, then starts every
  // Run(), and returns once each has been entered. Returns the first Prepare
  // error (then nothing runs, and Wait() returns it too). REQUIRES: called
  // once.
  absl::Status Start();

  // As Start(), without blocking, for a runtime that the caller drives
  // (RuntimeOptions::manual_workers, a testing/sim Simulation), which must
  // then run until start_done(). REQUIRES: called once, instead of Start.
  void StartAsync();
  // True once the node started (every Run entered) or failed to start.
  bool start_done() const;
  // What Start() returns; FAILED_PRECONDITION before start_done().
  absl::Status start_status() const;
  // True once the node stopped: Wait() would return at once.
  bool stopped() const;
  // What Wait() returns; FAILED_PRECONDITION before stopped().
  absl::Status final_status() const;

  // Starts stopping the node. Thread-safe; later calls do nothing.
  void RequestStop();

  // Blocks until the node has stopped: every Stop() called, every Run()
  // returned. Returns OK, or the first failure with the node's and the
  // daemon's names.
  absl::Status Wait();
  // Blocks until the node has stopped or `timeout` passed; true if it
  // stopped (then Wait() returns at once).
  bool WaitFor(absl::Duration timeout);

  const std::string& path() const { return path_; }

  // Where the node serves its exposed daemons ("127.0.0.1:41234"); empty if
  // it exposes none. Set once Start() returned OK.
  const std::string& address() const;

 private:
  struct StopRequest {};
  struct Started {
    size_t index;
  };
  struct Exited {
    size_t index;
    absl::Status status;
  };
  using Message = std::variant<StopRequest, Started, Exited, Signal>;
  struct State;

  static Task<absl::Status> Supervise(ActorContext<Message>& ctx,
                                      std::shared_ptr<State> state);
  // Starts the server for the exposed daemons, if any.
  static absl::Status Expose(State& state, Runtime& runtime);
  // Runs one daemon's Run() and reports its end to the supervisor.
  static Task<> RunDaemon(ActorContext<int>& ctx, Daemon* daemon, size_t index,
                          ActorRef<Message> supervisor);

  Factory& factory_;
  const std::string path_;
  std::shared_ptr<State> state_;
  ActorRef<Message> supervisor_;
  bool started_ = false;
  bool waited_ = false;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_NODE_NODE_H_
