// SimCluster: the nodes of a cluster in one Simulation, each a child
// factory of one root (which holds the PROCESS daemons, and a Cluster
// daemon so nodes find each other by name), each served on the simulated
// network under its name. Nodes crash and restart while the simulation
// runs.
//
//   anvil::sim::Simulation sim({.seed = seed});
//   anvil::sim::SimCluster cluster(sim, [](anvil::Factory& root) {
//     root.Bind<KvStoreDaemon, KvStoreImpl>();   // bindings every node uses
//   });
//   for (auto name : {"n1", "n2", "n3"}) {
//     ASSERT_OK(cluster.AddNode(name, [](anvil::Factory& node) {
//       return node.Get<KvStoreDaemon>().status();
//     }));
//   }
//   sim.At(absl::Seconds(2), [&] { (void)cluster.Crash("n1"); });
//   sim.At(absl::Seconds(5), [&] { (void)cluster.Restart("n1"); });
//
// Each node's factory gets its own view of the root's Cluster (the same
// addresses, over the node's own view of the simulated network), so that
// its daemons' calls to other nodes (through Cluster::Find(factory)) leave
// from that node and partitions between nodes apply to them.
//
// Each node's actors run on a simulation worker of their own (while there
// are enough: SimulationOptions::workers - 1, worker 0 being the root's),
// so a node can be paused or run with a skewed clock.
//
// Each node that has a worker of its own has a simulated disk of its own,
// disk(name): the files its code opens (runtime/storage/file.h) are there.
//
// Crash is a hard crash, a machine losing power. At that instant:
//   - its disk keeps what the model says (sim_disk.h): every synced byte
//     and name, and a seeded prefix of what was not synced, the last write
//     perhaps torn; its open files and locks die;
//   - its network goes dark (LoopbackNetwork::SetNodeDown): replies it
//     owes are never sent, calls to it are lost and time out at their
//     deadline (nothing refuses them), its own calls are lost, and Heal()
//     does not bring it back; its sockets die (Simulation::SetHostDown);
//   - its address stays in the cluster's address book, as a dead machine's
//     does in a real one's configuration.
// Then its factory is destroyed: every daemon, and all it held in memory,
// is gone. The objects are torn down through Stop(), in the dark (the disk
// is off and every message lost), so nothing they do then is seen outside
// the process's memory; coroutines are not dropped mid-step, so state a
// node shares in memory with others (the root's daemons) is the one place
// where a crash is gentler than a real one. Restart powers the machine on,
// builds the node again from its build function, and refuses (reset) what
// was sent to its previous incarnation. Stop, by contrast, is graceful:
// the node drains, answers, and leaves the address book. Crash, Restart
// and Stop run the simulation (in virtual time) until done; they may be
// called from Simulation::At actions.
//
// Thread-compatible, like the Simulation.
//
// Example: services/kv/kv_sim_test.cc.
#ifndef ANVIL_TESTING_SIM_SIM_CLUSTER_H_
#define ANVIL_TESTING_SIM_SIM_CLUSTER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/daemon/factory.h"
#include "runtime/io/socket_address.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node.h"
#include "testing/sim/simulation.h"

namespace anvil::sim {

// Faults SimCluster::ScheduleRandomFaults injects, all drawn from the
// simulation's generator.
struct RandomFaults {
  // Faults happen between these virtual times (since the simulation
  // began); at `end` the network heals and crashed nodes restart.
  absl::Duration start = absl::Seconds(1);
  absl::Duration end = absl::Seconds(30);
  // Mean time between two faults (uniform on [0, 2 * mean]).
  absl::Duration mean_interval = absl::Seconds(2);
  // Which kinds, each drawn as often as the others:
  //   partitions: two sides cut apart, or one link blocked one way; heals.
  bool partitions = true;
  //   crashes: hard crashes (see SimCluster::Crash) and restarts; also
  //   restarts a node that stopped on its own (a fatal storage error).
  bool crashes = true;
  //   clogs: one direction of a link slowed to 1-3 s.
  bool clogs = true;
  //   lossy links: one direction loses 20-60% of its messages until the
  //   next heal.
  bool lossy_links = true;
  //   duplication: one direction delivers 20-60% of its messages twice
  //   (each copy at its own latency) until the next heal. A request
  //   delivered twice is served twice: what a retrying client does, which
  //   a service that is not idempotent (or exactly-once) cannot survive.
  bool duplication = true;
  //   pauses: a node stops for 0.2-2 s (a long GC pause, a VM migration).
  bool pauses = true;
  //   clock skew: a node's clocks jump to up to 500 ms ahead or behind.
  bool clock_skew = true;
  //   disk faults: for 0.5-3 s a node's disk is slow (1-50 ms a call, 5-100
  //   ms a sync) and fails 1% of writes and syncs with EIO.
  bool disk_faults = true;
  //   With disk_faults, also latent corruption: bit flips on 1% of reads
  //   and 1% misdirected writes. Off by default: a node whose log is
  //   corrupt refuses to start (DATA_LOSS), for good.
  bool disk_corruption = false;
};

class SimCluster {
 public:
  // Builds a node in its factory: binds what only it needs and Gets the
  // daemons it runs.
  using Build = std::function<absl::Status(Factory& node)>;

  // `bind_root` binds, in the root factory, what every node uses.
  explicit SimCluster(Simulation& sim,
                      std::function<void(Factory& root)> bind_root = {});
  // Stops every node, in virtual time.
  ~SimCluster();

  Factory& root() { return *root_; }
  Cluster& cluster() { return *cluster_; }

  // Builds node `name` with `build` and starts it (running the simulation
  // until it has). ALREADY_EXISTS if it runs; the build's or start's error
  // otherwise.
  absl::Status AddNode(const std::string& name, Build build);
  // Stops `name` gracefully and removes it (Restart brings it back).
  absl::Status Stop(const std::string& name);
  // Crashes `name` (see the file comment). NOT_FOUND if it is not running.
  absl::Status Crash(const std::string& name);
  // Builds and starts `name` again after Stop or Crash. Called while `name`
  // goes down (from a Simulation::At action that runs inside its
  // teardown), it returns OK and starts the node once it is down; a
  // failure then is in fault_log().
  absl::Status Restart(const std::string& name);

  // Injects faults at random times (see RandomFaults), from
  // Simulation::At actions; each is logged in fault_log(). At `end` the
  // network heals (blocks, clogs, lossy links), disks are healthy again,
  // paused nodes resume and every node that is down restarts; clock skew
  // stays. A test's liveness phase starts there: see kv_sim_test.
  void ScheduleRandomFaults(RandomFaults options);
  // "2.31s: partition n1 | n2 n3", one line per fault, in order.
  const std::vector<std::string>& fault_log() const { return fault_log_; }

  // Pauses `name` (its actors and timers stop, as in a long GC pause; calls
  // to it queue in its mailboxes) until Resume. Whatever else runs on its
  // worker pauses too: spawn test clients with ActorOptions{.worker = 0},
  // the root's worker. NOT_FOUND if it is not running.
  absl::Status Pause(const std::string& name);
  absl::Status Resume(const std::string& name);
  // Runs `name`'s clocks `skew` ahead (negative: behind) of the others.
  void SetClockSkew(const std::string& name, absl::Duration skew);
  // The simulation worker that runs `name`'s actors.
  size_t worker_of(const std::string& name);
  // `name`'s address on the simulated network, with `port`: where a
  // TcpListener bound on that node is reached (TcpStream::Connect). Sockets
  // work for the nodes that have a worker of their own (the first
  // SimulationOptions::workers - 1 nodes added).
  SocketAddress address_of(const std::string& name, uint16_t port);

  bool running(const std::string& name) const;
  // The node, or null if it is not running.
  Node* node(const std::string& name);
  // `name`'s simulated disk, which survives its crashes and restarts (set
  // its faults with set_options); null if there is no such node. A node
  // without a worker of its own shares that worker's node's disk, and its
  // crash leaves the disk alone.
  SimDisk* disk(const std::string& name);
  // Options for the disks of nodes added from now on.
  void set_disk_options(SimDiskOptions options) { disk_options_ = options; }

 private:
  struct Member {
    Build build;
    std::unique_ptr<Node> node;  // null while down
    size_t worker = 0;           // where its actors run, across restarts
    SocketAddress ip;            // its simulated address (port 0)
    bool own_worker = false;     // whether the worker (and disk) are its own
    // In Down (Stop or Crash): its teardown is running the simulation.
    bool going_down = false;
    // Restart was called during that teardown: start it once down.
    bool restart_when_down = false;
    std::shared_ptr<SimDisk> disk;
  };
  absl::Status Start(const std::string& name, Member& member);
  // If `member`'s node stopped on its own (a fatal error), destroys it, so
  // that it counts as down.
  void Reap(const std::string& name, Member& member);
  // The running nodes, and the others.
  void UpAndDown(std::vector<std::string>& up, std::vector<std::string>& down);
  // Removes every block, clog and lossy link.
  void HealNetwork();
  absl::Status Down(const std::string& name, bool crash);
  // Applies one random fault and schedules the next.
  void NextFault(const RandomFaults& options);
  void EndFaults();
  void Log(const std::string& what);

  Simulation& sim_;
  std::unique_ptr<Factory> root_;
  std::unique_ptr<Node> root_node_;
  Cluster* cluster_ = nullptr;
  std::map<std::string, Member> members_;
  SimDiskOptions disk_options_;
  std::vector<std::string> fault_log_;
  // Links given their own options by a fault (clogs, lossy links).
  std::vector<std::pair<std::string, std::string>> clogged_;
  std::vector<std::string> paused_;
  std::vector<std::string> faulty_disks_;
};

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_SIM_CLUSTER_H_
