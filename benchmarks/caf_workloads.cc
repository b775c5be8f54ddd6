// The peer workloads of anvil_workloads.cc, written for CAF 0.17.6 as its
// own benchmark suite writes them (event-based actors, send and reply).
// Same workloads, same sizes, same output:
//
//   caf_workloads --workload=skynet          # "skynet 0.9 s"
//
// CAF decides where actors run (a work-stealing scheduler): ping_pong_2
// runs with two threads, but cannot pin the two actors to different ones.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/workload_common.h"
#include "caf/all.hpp"

namespace {

using ::anvil::bench::Factorize;
using ::anvil::bench::FactorsOfKToFactor;
using ::anvil::bench::kToFactor;
using ::anvil::bench::PeakResidentBytes;
using ::anvil::bench::Report;
using ::anvil::bench::ResidentBytes;
using ::anvil::bench::RunWorkload;
using ::anvil::bench::WorkloadSide;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

caf::actor_system_config& Config(caf::actor_system_config& cfg,
                                 size_t threads) {
  cfg.set("scheduler.max-threads", threads);
  return cfg;
}

// --- ping-pong ---

caf::behavior Pong(caf::event_based_actor*) {
  return {[](int64_t n) { return n; }};  // replies to the sender
}

caf::behavior Ping(caf::event_based_actor* self, caf::actor pong,
                   int64_t rounds) {
  self->send(pong, int64_t{0});
  return {[=](int64_t n) {
    if (n + 1 == rounds) {
      self->send_exit(pong, caf::exit_reason::user_shutdown);
      self->quit();
      return;
    }
    self->send(pong, n + 1);
  }};
}

double PingPong(size_t threads, int64_t rounds) {
  caf::actor_system_config cfg;
  caf::actor_system system{Config(cfg, threads)};
  const Clock::time_point start = Clock::now();
  caf::actor pong = system.spawn(Pong);
  system.spawn(Ping, pong, rounds);
  pong = nullptr;
  system.await_all_actors_done();
  return SecondsSince(start) * 1e9 / rounds;
}

// --- Trees ---

caf::behavior TreeNode(caf::event_based_actor* self, caf::actor parent,
                       int64_t num, int64_t size, int fanout) {
  if (size == 1) {
    self->send(parent, num);
    self->quit();
    return {};
  }
  const int64_t child_size = size / fanout;
  for (int i = 0; i < fanout; ++i) {
    self->spawn(TreeNode, caf::actor_cast<caf::actor>(self),
                num + i * child_size, child_size, fanout);
  }
  auto sum = std::make_shared<int64_t>(0);
  auto count = std::make_shared<int>(0);
  return {[=](int64_t v) {
    *sum += v;
    if (++*count == fanout) {
      self->send(parent, *sum);
      self->quit();
    }
  }};
}

double TreeSeconds(size_t threads, int64_t leaves, int fanout, int64_t* sum) {
  caf::actor_system_config cfg;
  caf::actor_system system{Config(cfg, threads)};
  const Clock::time_point start = Clock::now();
  caf::scoped_actor self{system};
  self->spawn(TreeNode, caf::actor{self}, int64_t{0}, leaves, fanout);
  self->receive([&](int64_t v) { *sum = v; });
  return SecondsSince(start);
}

// --- Mailbox contention ---

caf::behavior Receiver(caf::event_based_actor* self, int64_t expected,
                       caf::actor done) {
  auto received = std::make_shared<int64_t>(0);
  return {[=](int64_t) {
    if (++*received == expected) {
      self->send(done, true);
      self->quit();
    }
  }};
}

void Sender(caf::event_based_actor* self, caf::actor to, int64_t each) {
  for (int64_t i = 0; i < each; ++i) self->send(to, i);
}

double ContentionSeconds(size_t threads, int senders, int64_t each) {
  caf::actor_system_config cfg;
  caf::actor_system system{Config(cfg, threads)};
  const Clock::time_point start = Clock::now();
  caf::scoped_actor self{system};
  caf::actor receiver =
      system.spawn(Receiver, senders * each, caf::actor{self});
  for (int s = 0; s < senders; ++s) system.spawn(Sender, receiver, each);
  self->receive([](bool) {});
  return SecondsSince(start);
}

// --- Mixed case ---

caf::behavior Worker(caf::event_based_actor*, std::atomic<int64_t>* checks) {
  return {[=](uint64_t n) {
    std::vector<uint64_t> f = Factorize(n);
    if (FactorsOfKToFactor(f)) checks->fetch_add(1);
  }};
}

caf::behavior Chain(caf::event_based_actor* self, caf::actor next) {
  return {[=](int64_t token) { self->send(next, token); }};
}

caf::behavior Master(caf::event_based_actor* self, int ring_size, int laps,
                     std::atomic<int64_t>* checks, caf::actor done) {
  caf::actor worker = self->spawn(Worker, checks);
  caf::actor first = caf::actor_cast<caf::actor>(self);
  std::vector<caf::actor> members;
  for (int i = 1; i < ring_size; ++i) {
    first = self->spawn(Chain, first);
    members.push_back(first);
  }
  self->send(worker, kToFactor);
  self->send(first, int64_t{0});
  return {[=](int64_t lap) {
    if (lap + 1 == laps) {
      self->send_exit(worker, caf::exit_reason::user_shutdown);
      for (const caf::actor& m : members) {
        self->send_exit(m, caf::exit_reason::user_shutdown);
      }
      self->send(done, true);
      self->quit();
      return;
    }
    self->send(worker, kToFactor);
    self->send(first, lap + 1);
  }};
}

double MixedSeconds(size_t threads, int rings, int ring_size, int laps,
                    int64_t* checks_out) {
  std::atomic<int64_t> checks{0};
  caf::actor_system_config cfg;
  caf::actor_system system{Config(cfg, threads)};
  const Clock::time_point start = Clock::now();
  {
    caf::scoped_actor self{system};
    for (int r = 0; r < rings; ++r) {
      system.spawn(Master, ring_size, laps, &checks, caf::actor{self});
    }
    for (int r = 0; r < rings; ++r) self->receive([](bool) {});
  }
  system.await_all_actors_done();  // the workers' last factorizations
  *checks_out = checks.load();
  return SecondsSince(start);
}

// --- Idle memory ---

caf::behavior Idle(caf::event_based_actor*) {
  return {[](int64_t) {}};
}

void IdleMemory(size_t threads, int64_t count) {
  caf::actor_system_config cfg;
  caf::actor_system system{Config(cfg, threads)};
  std::vector<caf::actor> actors;
  actors.reserve(count);
  const int64_t before = ResidentBytes();
  for (int64_t i = 0; i < count; ++i) actors.push_back(system.spawn(Idle));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int64_t after = ResidentBytes();
  Report("idle_memory_bytes_per_actor",
         static_cast<double>(after - before) / count, "B");
  for (const caf::actor& a : actors) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  actors.clear();
  system.await_all_actors_done();
  Report("idle_memory_peak_rss", PeakResidentBytes() / 1048576.0, "MiB");
}

std::string Flag(int argc, char** argv, const std::string& name,
                 const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string workload = Flag(argc, argv, "workload", "");
  const size_t threads = std::stoul(Flag(argc, argv, "threads", "2"));
  return RunWorkload(
      "caf_workloads", workload,
      WorkloadSide{
          .ping_pong = PingPong,
          .tree =
              [threads](int64_t leaves, int fanout, int64_t* sum) {
                return TreeSeconds(threads, leaves, fanout, sum);
              },
          .contention =
              [threads](int senders, int64_t each) {
                return ContentionSeconds(threads, senders, each);
              },
          .mixed =
              [threads](int rings, int ring_size, int laps, int64_t* checks) {
                return MixedSeconds(threads, rings, ring_size, laps, checks);
              },
          .idle_memory =
              [threads](int64_t count) { IdleMemory(threads, count); },
      });
}
