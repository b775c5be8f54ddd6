#include "testing/sim/sim_cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace anvil::sim {
namespace {

// A node's whole stop, in virtual time: a few simulated minutes at most.
constexpr absl::Duration kStopBudget = absl::Minutes(10);

}  // namespace

SimCluster::SimCluster(Simulation& sim,
                       std::function<void(Factory& root)> bind_root)
    : sim_(sim), root_(std::make_unique<Factory>(sim.runtime())) {
  // The cluster's own address book; each node's calls go through its own
  // view of the network (see Peers in the nodes' builds).
  root_->Provide<Cluster>(std::make_unique<Cluster>(
      sim.network().ForNode("root"), std::map<std::string, std::string>{}));
  if (bind_root) bind_root(*root_);
  ScopedSpawnWorker on_root_worker(0);
  cluster_ = *root_->Get<Cluster>();
  root_node_ = std::make_unique<Node>(*root_);
  root_node_->StartAsync();
  absl::Status ran = sim_.RunUntil([&] { return root_node_->start_done(); });
  if (!ran.ok() || !root_node_->start_status().ok()) {
    std::fprintf(stderr, "SimCluster: root failed to start: %s %s\n",
                 ran.ToString().c_str(),
                 root_node_->start_status().ToString().c_str());
    std::abort();
  }
}

SimCluster::~SimCluster() {
  for (auto& [name, member] : members_) {
    if (member.node != nullptr) (void)Down(name, /*crash=*/false);
  }
  root_node_->RequestStop();
  (void)sim_.RunUntil([&] { return root_node_->stopped(); });
  if (!root_node_->stopped()) {
    // The simulation cannot move; leave the node to the runtime's shutdown
    // rather than block in ~Node.
    (void)root_node_.release();
  }
}

absl::Status SimCluster::AddNode(const std::string& name, Build build) {
  const bool added = !members_.contains(name);
  Member& member = members_[name];
  if (member.node != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("node ", name, " is already running"));
  }
  if (added) {
    const size_t workers = sim_.runtime().workers();
    member.worker =
        workers <= 1 ? 0 : 1 + (members_.size() - 1) % (workers - 1);
    // Its sockets run as it, at 10.0.<n / 250>.<n % 250 + 1>, if the
    // worker is its own.
    const size_t n = members_.size() - 1;
    member.ip = SocketAddress::Parse(
                    absl::StrCat("10.0.", n / 250, ".", n % 250 + 1, ":0"))
                    .value();
    member.own_worker = workers > 1 && members_.size() < workers;
    if (member.own_worker) {
      sim_.SetWorkerHost(member.worker, name, member.ip);
      member.disk = sim_.NewDisk(name, disk_options_);
      sim_.SetWorkerDisk(member.worker, member.disk);
    } else {
      // The disk of the node that owns the worker, or the default one.
      for (const auto& [other, owner] : members_) {
        if (owner.own_worker && owner.worker == member.worker) {
          member.disk = owner.disk;
        }
      }
    }
  }
  member.build = std::move(build);
  return Start(name, member);
}

absl::Status SimCluster::Restart(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) {
    return absl::NotFoundError(absl::StrCat("no node ", name));
  }
  Member& member = it->second;
  Reap(name, member);
  if (member.going_down) {
    // Called from an action inside its teardown: once that is done.
    member.restart_when_down = true;
    return absl::OkStatus();
  }
  if (member.node != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("node ", name, " is already running"));
  }
  return Start(name, member);
}

absl::Status SimCluster::Start(const std::string& name, Member& member) {
  // Booting (again).
  sim_.SetHostUp(name);
  sim_.network().SetNodeUp(name);
  if (member.own_worker && !member.disk->powered()) member.disk->PowerOn();
  // The node's actors (its daemons', its supervisor's) go to its worker.
  ScopedSpawnWorker on_node_worker(static_cast<int>(member.worker));
  Factory& factory = root_->Child(name);
  // The node's calls to other nodes leave from its own view of the
  // network, so that partitions and clogged links apply to them.
  factory.Provide<Cluster>(
      std::make_unique<Cluster>(sim_.network().ForNode(name), *cluster_));
  if (absl::Status view = factory.Get<Cluster>().status(); !view.ok()) {
    (void)root_->DestroyChild(name);
    return view;
  }
  if (absl::Status built = member.build(factory); !built.ok()) {
    (void)root_->DestroyChild(name);
    return built;
  }
  member.node = std::make_unique<Node>(
      factory, NodeOptions{.listen_address = name,
                           .network = sim_.network().ForNode(name),
                           .grace = absl::Seconds(1)});
  Node& node = *member.node;
  node.StartAsync();
  absl::Status ran = sim_.RunUntil([&] { return node.start_done(); });
  if (ran.ok()) ran = node.start_status();
  if (!ran.ok()) {
    (void)sim_.RunUntil([&] { return node.stopped(); });
    member.node.reset();
    (void)root_->DestroyChild(name);
  }
  return ran;
}

absl::Status SimCluster::Stop(const std::string& name) {
  return Down(name, /*crash=*/false);
}

absl::Status SimCluster::Crash(const std::string& name) {
  return Down(name, /*crash=*/true);
}

absl::Status SimCluster::Down(const std::string& name, bool crash) {
  auto it = members_.find(name);
  if (it == members_.end() || it->second.node == nullptr ||
      it->second.going_down) {
    return absl::NotFoundError(absl::StrCat("node ", name, " is not running"));
  }
  Member& member = it->second;
  Node& node = *member.node;
  member.going_down = true;
  sim_.ResumeWorker(member.worker);  // a paused node cannot stop
  // A crash: at once the disk loses power and the network the machine, so
  // nothing the node does while its objects are torn down is seen.
  absl::StatusOr<std::string> address = cluster_->peers().AddressOf(name);
  if (crash) {
    sim_.network().SetNodeDown(name);
    sim_.SetHostDown(name);  // its sockets die with it
    if (member.own_worker) member.disk->Crash();
  }
  node.RequestStop();
  const absl::Duration deadline = sim_.elapsed() + kStopBudget;
  absl::Status ran = sim_.RunUntil(
      [&] { return node.stopped() || sim_.elapsed() > deadline; });
  // The teardown took the address out of the book; a dead machine's
  // address stays where it was configured.
  if (crash && address.ok()) cluster_->peers().SetAddress(name, *address);
  member.going_down = false;
  if (!ran.ok()) return ran;
  if (!node.stopped()) {
    return absl::DeadlineExceededError(
        absl::StrCat("node ", name, " did not stop within ",
                     absl::FormatDuration(kStopBudget), " of virtual time"));
  }
  const absl::Status final_status = node.final_status();
  member.node.reset();
  if (absl::Status destroyed = root_->DestroyChild(name); !destroyed.ok()) {
    return destroyed;
  }
  if (member.restart_when_down) {
    member.restart_when_down = false;
    Log(absl::StrCat("restart ", name, " (asked for while it went down)"));
    if (absl::Status restarted = Start(name, member); !restarted.ok()) {
      Log(absl::StrCat("restart of ", name, " failed: ", restarted.ToString()));
    }
  }
  return crash ? absl::OkStatus() : final_status;
}

void SimCluster::Log(const std::string& what) {
  fault_log_.push_back(
      absl::StrCat(absl::FormatDuration(sim_.elapsed()), ": ", what));
}

void SimCluster::ScheduleRandomFaults(RandomFaults options) {
  sim_.At(options.start, [this, options] { NextFault(options); });
  sim_.At(options.end, [this] { EndFaults(); });
}

void SimCluster::Reap(const std::string& name, Member& member) {
  if (member.node == nullptr || member.going_down || !member.node->stopped()) {
    return;
  }
  Log(absl::StrCat(name, " had stopped on its own: ",
                   member.node->final_status().ToString()));
  member.node.reset();
  if (absl::Status destroyed = root_->DestroyChild(name); !destroyed.ok()) {
    Log(absl::StrCat("destroying ", name, " failed: ", destroyed.ToString()));
  }
}

void SimCluster::UpAndDown(std::vector<std::string>& up,
                           std::vector<std::string>& down) {
  for (auto& [name, member] : members_) {
    Reap(name, member);
    (running(name) ? up : down).push_back(name);
  }
}

void SimCluster::HealNetwork() {
  sim_.network().Heal();
  for (const auto& [from, to] : clogged_) sim_.network().ClearLink(from, to);
  clogged_.clear();
}

void SimCluster::NextFault(const RandomFaults& options) {
  if (sim_.elapsed() >= options.end) return;
  std::mt19937_64& random = sim_.random();
  std::vector<std::string> up, down;
  UpAndDown(up, down);
  std::vector<std::string> all;
  for (const auto& [name, member] : members_) all.push_back(name);
  enum Kind {
    kPartition,
    kBlock,
    kHeal,
    kCrash,
    kRestart,
    kClog,
    kLossy,
    kPause,
    kSkew,
    kDisk,
    kDuplicate
  };
  std::vector<Kind> kinds;
  const bool pairs = all.size() >= 2;
  if (options.partitions && pairs) {
    kinds.insert(kinds.end(), {kPartition, kBlock});
  }
  if (options.partitions || options.clogs || options.lossy_links ||
      options.duplication) {
    kinds.push_back(kHeal);
  }
  if (options.crashes && !up.empty()) kinds.push_back(kCrash);
  if (options.crashes && !down.empty()) kinds.push_back(kRestart);
  if (options.clogs && pairs) kinds.push_back(kClog);
  if (options.lossy_links && pairs) kinds.push_back(kLossy);
  if (options.duplication && pairs) kinds.push_back(kDuplicate);
  if (options.pauses && !up.empty()) kinds.push_back(kPause);
  if (options.clock_skew && !up.empty()) kinds.push_back(kSkew);
  if (options.disk_faults && !up.empty()) kinds.push_back(kDisk);
  // A random ordered pair of distinct nodes.
  auto pick_link = [&]() -> std::pair<std::string, std::string> {
    const size_t i = random() % all.size();
    const size_t j = (i + 1 + random() % (all.size() - 1)) % all.size();
    return {all[i], all[j]};
  };
  // Milliseconds uniform in [low, high].
  auto millis = [&](int64_t low, int64_t high) {
    return absl::Milliseconds(
        low + static_cast<int64_t>(random() % (high - low + 1)));
  };
  if (!kinds.empty()) {
    const Kind kind = kinds[random() % kinds.size()];
    switch (kind) {
      case kPartition: {
        std::shuffle(all.begin(), all.end(), random);
        const size_t split = 1 + random() % (all.size() - 1);
        std::vector<std::string> a(all.begin(), all.begin() + split);
        std::vector<std::string> b(all.begin() + split, all.end());
        sim_.network().Partition(a, b);
        Log(absl::StrCat("partition ", absl::StrJoin(a, " "), " | ",
                         absl::StrJoin(b, " ")));
        break;
      }
      case kBlock: {
        const auto [from, to] = pick_link();
        sim_.network().Block(from, to);
        Log(absl::StrCat("block ", from, " -> ", to, " (one way)"));
        break;
      }
      case kHeal:
        HealNetwork();
        Log("heal");
        break;
      case kCrash: {
        const std::string& victim = up[random() % up.size()];
        Log(absl::StrCat("crash ", victim));
        if (absl::Status crashed = Crash(victim); !crashed.ok()) {
          Log(absl::StrCat("crash of ", victim,
                           " failed: ", crashed.ToString()));
        }
        break;
      }
      case kRestart: {
        const std::string& back = down[random() % down.size()];
        Log(absl::StrCat("restart ", back));
        if (absl::Status restarted = Restart(back); !restarted.ok()) {
          Log(absl::StrCat("restart of ", back,
                           " failed: ", restarted.ToString()));
        }
        break;
      }
      case kClog: {
        const auto [from, to] = pick_link();
        const absl::Duration latency = millis(1000, 3000);
        sim_.network().SetLink(
            from, to, {.min_latency = latency, .max_latency = latency});
        clogged_.emplace_back(from, to);
        Log(absl::StrCat("clog ", from, " -> ", to, " (",
                         absl::FormatDuration(latency), ")"));
        break;
      }
      case kLossy:
      case kDuplicate: {
        const bool duplicate = kind == kDuplicate;
        const auto [from, to] = pick_link();
        LinkOptions link = sim_.network().link(from, to);
        const double rate =
            0.2 + 0.4 * static_cast<double>(random() % 101) / 100.0;
        (duplicate ? link.duplicate : link.drop) = rate;
        sim_.network().SetLink(from, to, link);
        clogged_.emplace_back(from, to);
        Log(absl::StrFormat("%s %s -> %s (%.0f%%)",
                            duplicate ? "duplicate" : "drop", from, to,
                            rate * 100));
        break;
      }
      case kPause: {
        const std::string node = up[random() % up.size()];
        const absl::Duration pause = millis(200, 2000);
        (void)Pause(node);
        paused_.push_back(node);
        Log(absl::StrCat("pause ", node, " for ", absl::FormatDuration(pause)));
        sim_.At(sim_.elapsed() + pause, [this, node] {
          auto it = std::find(paused_.begin(), paused_.end(), node);
          if (it == paused_.end()) return;  // EndFaults resumed it
          paused_.erase(it);
          if (Resume(node).ok()) Log(absl::StrCat("resume ", node));
        });
        break;
      }
      case kSkew: {
        const std::string& node = up[random() % up.size()];
        const absl::Duration skew = millis(0, 1000) - absl::Milliseconds(500);
        SetClockSkew(node, skew);
        Log(absl::StrCat("skew ", node, "'s clock by ",
                         absl::FormatDuration(skew)));
        break;
      }
      case kDisk: {
        const std::string node = up[random() % up.size()];
        SimDisk* disk = this->disk(node);
        if (disk == nullptr || !members_[node].own_worker) break;
        SimDiskOptions faulty = disk_options_;
        faulty.min_latency = absl::Milliseconds(1);
        faulty.max_latency = millis(1, 50);
        faulty.min_sync_latency = absl::Milliseconds(5);
        faulty.max_sync_latency = millis(5, 100);
        faulty.write_error = 0.01;
        faulty.sync_error = 0.01;
        if (options.disk_corruption) {
          faulty.read_corruption = 0.01;
          faulty.misdirected_write = 0.01;
        }
        disk->set_options(faulty);
        faulty_disks_.push_back(node);
        const absl::Duration lasts = millis(500, 3000);
        Log(absl::StrCat(
            "disk of ", node, " faulty for ", absl::FormatDuration(lasts),
            " (up to ", absl::FormatDuration(faulty.max_latency), " a call, ",
            absl::FormatDuration(faulty.max_sync_latency), " a sync, 1% EIO",
            options.disk_corruption ? ", corruption" : "", ")"));
        sim_.At(sim_.elapsed() + lasts, [this, node] {
          auto it = std::find(faulty_disks_.begin(), faulty_disks_.end(), node);
          if (it == faulty_disks_.end()) return;  // EndFaults healed it
          faulty_disks_.erase(it);
          this->disk(node)->set_options(disk_options_);
          Log(absl::StrCat("disk of ", node, " healthy"));
        });
        break;
      }
    }
  }
  const int64_t mean = absl::ToInt64Nanoseconds(options.mean_interval);
  const absl::Duration wait = absl::Nanoseconds(
      mean > 0 ? static_cast<int64_t>(random() % (2 * mean + 1)) : 0);
  sim_.At(sim_.elapsed() + wait, [this, options] { NextFault(options); });
}

void SimCluster::EndFaults() {
  HealNetwork();
  for (const std::string& node : faulty_disks_) {
    disk(node)->set_options(disk_options_);
  }
  faulty_disks_.clear();
  for (const std::string& node : paused_) (void)Resume(node);
  paused_.clear();
  std::vector<std::string> up, down, failed;
  UpAndDown(up, down);
  for (const std::string& name : down) {
    if (absl::Status restarted = Restart(name); !restarted.ok()) {
      failed.push_back(absl::StrCat(name, " (", restarted.ToString(), ")"));
    }
  }
  Log(failed.empty() ? "end of faults: healed, every node up"
                     : absl::StrCat("end of faults: healed; failed to restart ",
                                    absl::StrJoin(failed, ", ")));
}

absl::Status SimCluster::Pause(const std::string& name) {
  if (!running(name)) {
    return absl::NotFoundError(absl::StrCat("node ", name, " is not running"));
  }
  sim_.PauseWorker(members_[name].worker);
  return absl::OkStatus();
}

absl::Status SimCluster::Resume(const std::string& name) {
  if (!running(name)) {
    return absl::NotFoundError(absl::StrCat("node ", name, " is not running"));
  }
  sim_.ResumeWorker(members_[name].worker);
  return absl::OkStatus();
}

void SimCluster::SetClockSkew(const std::string& name, absl::Duration skew) {
  sim_.SetClockSkew(members_[name].worker, skew);
  sim_.network().SetClockOffset(name, skew);
}

SocketAddress SimCluster::address_of(const std::string& name, uint16_t port) {
  return members_[name].ip.WithPort(port);
}

size_t SimCluster::worker_of(const std::string& name) {
  return members_[name].worker;
}

SimDisk* SimCluster::disk(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) return nullptr;
  return it->second.disk != nullptr ? it->second.disk.get()
                                    : &sim_.default_disk();
}

bool SimCluster::running(const std::string& name) const {
  auto it = members_.find(name);
  return it != members_.end() && it->second.node != nullptr &&
         !it->second.going_down && !it->second.node->stopped();
}

Node* SimCluster::node(const std::string& name) {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : it->second.node.get();
}

}  // namespace anvil::sim
