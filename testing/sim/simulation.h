// Simulation: a deterministic world for testing distributed code in one
// process. One thread drives every worker of a runtime; which worker runs
// next is chosen by a seeded generator; time is virtual and jumps to the
// next timer when nothing can run. The same seed gives the same run, step
// for step, and the same trace hash.
//
//   anvil::sim::Simulation sim({.seed = 42});
//   anvil::Factory root(sim.runtime());
//   ... build nodes, start actors ...
//   absl::Status status = sim.RunUntil([&] { return done; });
//   EXPECT_TRUE(status.ok()) << status << "\n" << sim.ReproCommand();
//
// Over many seeds, stopping at the first failure (flags: --anvil_seed=N
// replays one; --anvil_seeds=K runs K from --anvil_seed_start=S, default 1;
// --anvil_census runs them all and reports every failing one;
// --anvil_seed_budget=30m stops starting seeds after that much wall-clock
// time; --anvil_self_check runs each seed twice and fails if the traces
// differ):
//
//   absl::Status status = anvil::sim::ForEachSeed(
//       [](anvil::sim::Simulation& sim) -> absl::Status { ... });
//
// Requires the simulation build (--config=sim, or a test built through
// sim_test in //bazel:transport.bzl): elsewhere Clock reads real time, and
// constructing a Simulation aborts saying so. Only one Simulation may exist
// at a time. Code under test must not start threads of its own or read the
// real clock (std::chrono, absl::Now()): the run would stop being
// reproducible, which --anvil_self_check detects. Sync actors (their own
// threads) are not supported; blocking work goes through RunBlocking
// (runtime/actor/blocking.h), which runs inline here.
//
// Thread-compatible: use a Simulation from one thread.
//
// Example: services/http_hello/http_hello_sim_test.cc.
#ifndef ANVIL_TESTING_SIM_SIMULATION_H_
#define ANVIL_TESTING_SIM_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/fnv1a.h"
#include "runtime/io/sim_stream.h"
#include "runtime/io/socket_address.h"
#include "runtime/storage/sim_disk.h"
#include "runtime/transport/loopback/loopback_network.h"
#include "runtime/transport/network.h"

ABSL_DECLARE_FLAG(uint64_t, anvil_seed);
ABSL_DECLARE_FLAG(int, anvil_seeds);
ABSL_DECLARE_FLAG(uint64_t, anvil_seed_start);
ABSL_DECLARE_FLAG(bool, anvil_census);
ABSL_DECLARE_FLAG(absl::Duration, anvil_seed_budget);
ABSL_DECLARE_FLAG(bool, anvil_self_check);

namespace anvil::sim {

// The simulated disk of a node, and its faults (runtime/storage/sim_disk.h
// tells the model): what File and the file-system calls reach in a
// Simulation.
using SimDisk = ::anvil::internal::SimDisk;
using SimDiskOptions = ::anvil::internal::SimDiskOptions;

struct SimulationOptions {
  // Every random choice of the run derives from it.
  uint64_t seed = 1;
  // Workers of the simulated runtime; actors spread over them round robin,
  // and the seed picks which runs next.
  size_t workers = 4;
  // A run that passes this much virtual time, or takes this many steps,
  // stops with DEADLINE_EXCEEDED (and its seed).
  absl::Duration time_limit = absl::Hours(24);
  uint64_t step_limit = 50'000'000;
  // Whether ANVIL_BUGGIFY fault points may fire (runtime/core/buggify.h).
  bool buggify = true;
  // Keep the trace as text (trace_text()), one line per event, not only
  // its hash.
  bool record_trace = false;
};

class Simulation {
 public:
  explicit Simulation(SimulationOptions options = {});
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;
  // Shuts the runtime down, running it (in virtual time) until its actors
  // finished, then restores the real clock.
  ~Simulation();

  Runtime& runtime() { return *runtime_; }
  uint64_t seed() const { return options_.seed; }
  // The run's random generator: draw every random choice from it.
  std::mt19937_64& random() { return random_; }

  // The simulated network between nodes: latency, loss, duplication and
  // partitions, drawn from random(). Give each node its view of it:
  //   Node n1(root.Child("n1"), {.listen_address = "n1",
  //                               .network = sim.network().ForNode("n1")});
  LoopbackNetwork& network() { return *network_; }

  // Virtual time since the simulation began.
  absl::Duration elapsed() const { return absl::Nanoseconds(now_ - start_); }

  // Runs until `done()` holds (checked between steps). Errors:
  // FAILED_PRECONDITION "deadlock" when nothing can run, no timer is
  // pending and `done()` is false, naming each live actor and whether it
  // waits in Receive or on something else;
  // DEADLINE_EXCEEDED when the time or step budget is spent. Each names
  // the seed.
  absl::Status RunUntil(const std::function<bool()>& done);
  // Runs `duration` of virtual time (or until nothing is left to happen).
  absl::Status RunFor(absl::Duration duration);

  // Runs `action` on the simulation's thread (outside any actor) when the
  // virtual time reaches `at` after the start: a scripted fault
  // (sim.network().Partition(...), a node crash) or a check. Actions due
  // at the same time run in the order scheduled. An action may run the
  // simulation itself (RunUntil), as crashing a node does.
  void At(absl::Duration at, std::function<void()> action);

  // Per worker (a SimCluster gives each node one): a paused worker runs
  // nothing, and its timers wait, until resumed, as in a stop-the-world
  // pause; a skewed worker reads the virtual clocks `skew` ahead (or
  // behind), and its timers follow that clock.
  void PauseWorker(size_t worker);
  void ResumeWorker(size_t worker);
  bool paused(size_t worker) const { return paused_[worker]; }
  void SetClockSkew(size_t worker, absl::Duration skew);

  // Sockets opened on `worker` (TcpListener::Bind, TcpStream::Connect)
  // belong to simulated node `node`, which answers at `ip` (an IPv4
  // address; its port is ignored): they run over network() with its
  // latency, loss and partitions (runtime/io/sim_stream.h). SimCluster sets
  // it for each node that has a worker of its own.
  void SetWorkerHost(size_t worker, const std::string& node,
                     const SocketAddress& ip);
  // A new simulated disk, its faults and latencies drawn from random(), its
  // operations in the trace. Give it to a worker with SetWorkerDisk.
  std::shared_ptr<SimDisk> NewDisk(const std::string& name,
                                   SimDiskOptions options = {});
  // Files opened by code running on `worker` are on `disk` (null: on
  // default_disk()). SimCluster gives each node that has a worker of its
  // own a disk of its own.
  void SetWorkerDisk(size_t worker, std::shared_ptr<SimDisk> disk);
  // The disk of every worker that has none of its own; no latency, no
  // faults. Files are never real while the simulation runs a step.
  SimDisk& default_disk() { return *default_disk_; }

  // Node `node`'s machine is down (crashed) or up again, for its sockets:
  // while down its TCP segments are lost; going down ends its connections
  // (a rebooted machine resets what reaches them). SimCluster::Crash and
  // Restart call these.
  void SetHostDown(const std::string& node);
  void SetHostUp(const std::string& node);

  // The names of the ANVIL_BUGGIFY sites that fired so far, sorted. A
  // failing ForEachSeed run names them.
  std::vector<std::string> buggify_fired() const {
    return {buggify_fired_.begin(), buggify_fired_.end()};
  }

  // Steps taken so far (one step: one worker runs what it has ready).
  uint64_t steps() const { return steps_; }
  // A hash of every step so far: which worker ran, how much, and when. Two
  // runs of a seed give the same hash.
  uint64_t trace_hash() const { return trace_; }
  // With SimulationOptions::record_trace: every event so far, one per line
  // ("<virtual ns> run <worker> <steps>", "... time <ns> 0", "... action",
  // "... buggify <digest of its name> <fired>", "... pause <worker>", "...
  // net.request <digest of method and bytes> <digest of route>", "... net.reply
  // ...", "... disk.write <inode and offset> <digest of bytes>", ...). Two runs
  // of a seed give the same text, byte for byte; a change in any byte sent or
  // written changes the hash.
  const std::string& trace_text() const { return trace_text_; }

  // How to replay this run: this process's arguments with the seed
  // selection replaced by --anvil_seed=<this seed>, and only the running
  // GoogleTest test. Under `bazel test`, the whole command ("replay:
  // ./bazelw test //pkg:target --test_arg=--other --test_arg=--anvil_seed=42
  // --test_filter=Suite.Test --test_output=all"); else the arguments.
  std::string ReproCommand() const;

 private:
  // Runs one step: a due action, or one ready worker, or else moves time to
  // the next timer or action. Returns false, time unchanged, if nothing is
  // ready and nothing is due at or before `horizon`.
  bool Step(int64_t horizon = INT64_MAX);
  void Record(uint64_t value);
  // Adds one event to the trace (hash, and text if recorded).
  void Event(const char* kind, uint64_t a = 0, uint64_t b = 0);
  // When `worker`'s earliest timer is due, in unskewed virtual time.
  int64_t UnskewedDeadline(size_t worker);
  // One evaluation of the ANVIL_BUGGIFY site `name` at `file`:`line`,
  // which fires with `probability` if it is on.
  bool Buggify(const char* name, const char* file, int line,
               double probability);

  const SimulationOptions options_;
  std::mt19937_64 random_;
  int64_t now_;
  const int64_t start_;
  uint64_t steps_ = 0;
  uint64_t trace_ = kFnv1aOffsetBasis;
  std::string trace_text_;
  std::unique_ptr<Runtime> runtime_;
  std::shared_ptr<LoopbackNetwork> network_;
  // Simulated TCP between nodes, and which node each worker runs as.
  std::unique_ptr<::anvil::internal::SimHosts> hosts_;
  std::vector<std::unique_ptr<::anvil::internal::SimHost>> worker_hosts_;
  // Each worker's disk (null: the default), and every disk made, to detach
  // from random_ when the simulation ends.
  std::shared_ptr<SimDisk> default_disk_;
  std::vector<std::shared_ptr<SimDisk>> worker_disks_;
  std::vector<std::weak_ptr<SimDisk>> disks_;
  std::multimap<int64_t, std::function<void()>> scheduled_;
  std::vector<bool> paused_;
  std::vector<int64_t> skew_;
  // ANVIL_BUGGIFY sites seen in this run, and whether each is on; the
  // names of those that fired.
  std::map<std::pair<std::string, int>, bool> buggify_sites_;
  std::set<std::string> buggify_fired_;
};

// Runs `scenario` in a fresh Simulation for each seed the flags ask for
// (--anvil_seed=N: that seed only; else --anvil_seeds (or `default_seeds`)
// seeds from --anvil_seed_start), with `options` for everything but the
// seed. Stops at the first seed whose scenario fails, returning its error
// with the seed and the replay command; with --anvil_census, runs every
// seed and fails naming all that failed, with the first one's error. With
// --anvil_seed_budget, starts no seed once that much wall-clock time has
// passed (and says so; not a failure). With --anvil_self_check (or
// `self_check`), runs each seed twice and fails if the trace hashes
// differ. Prints one line per seed run: seed, steps, virtual time, trace
// hash; and with --anvil_census a closing "sim census:" line.
absl::Status ForEachSeed(
    const std::function<absl::Status(Simulation&)>& scenario,
    int default_seeds = 20, SimulationOptions options = {},
    bool self_check = false);

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_SIMULATION_H_
