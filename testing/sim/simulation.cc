#include "testing/sim/simulation.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/core/buggify.h"
#include "runtime/core/clock.h"
#include "runtime/core/internal/scheduler.h"
#include "runtime/core/internal/worker.h"
#include "runtime/core/status_macros.h"

ABSL_FLAG(uint64_t, anvil_seed, 0,
          "Replays one simulation seed (0: run the seeds of --anvil_seeds).");
ABSL_FLAG(int, anvil_seeds, 0,
          "Simulation seeds to run: N of them from --anvil_seed_start (0: "
          "the test's default count).");
ABSL_FLAG(uint64_t, anvil_seed_start, 1, "The first seed --anvil_seeds runs.");
ABSL_FLAG(bool, anvil_census, false,
          "Runs every seed, failing or not, and reports all that failed "
          "(default: stop at the first).");
ABSL_FLAG(absl::Duration, anvil_seed_budget, absl::InfiniteDuration(),
          "Wall-clock time for a seed loop: once spent, no new seed starts, "
          "and the loop reports how many ran (not a failure).");
ABSL_FLAG(bool, anvil_self_check, false,
          "Runs each simulation seed twice and fails if the traces differ.");

namespace anvil::sim {
namespace {

// Virtual time starts here rather than at 0, so that "deadline 0" and
// "now" never coincide by accident.
constexpr int64_t kStartNanos = 1'000'000'000;

RuntimeOptions SimulatedRuntime(const SimulationOptions& options) {
  RuntimeOptions runtime;
  runtime.threads = options.workers;
  runtime.name = "sim";
  runtime.handle_signals = false;
  runtime.manual_workers = true;
  runtime.stall_threshold = absl::ZeroDuration();  // no watchdog thread
  return runtime;
}

}  // namespace

Simulation::Simulation(SimulationOptions options)
    : options_(options),
      random_(options.seed),
      now_(kStartNanos),
      start_(kStartNanos) {
  if (!internal::kSimulationBuild) {
    std::fprintf(stderr,
                 "anvil::sim::Simulation needs the simulation build: "
                 "--config=sim, or a sim_test target\n");
    std::abort();
  }
#ifdef ANVIL_SIMULATION
  const int64_t* none = nullptr;
  if (!internal::virtual_monotonic_nanos.compare_exchange_strong(none, &now_)) {
    std::fprintf(stderr, "anvil::sim: one Simulation at a time\n");
    std::abort();
  }
#endif
  paused_.assign(options_.workers, false);
  skew_.assign(options_.workers, 0);
  runtime_ = std::make_unique<Runtime>(SimulatedRuntime(options_));
  network_ = std::make_shared<LoopbackNetwork>(*runtime_);
  network_->SetRandom(&random_);
  hosts_ = std::make_unique<internal::SimHosts>(
      [network = network_](const std::string& from,
                           const std::string& to) -> std::optional<int64_t> {
        std::optional<absl::Duration> latency = network->RouteMessage(from, to);
        if (!latency.has_value()) return std::nullopt;
        return Clock::ToNanos(*latency);
      });
  worker_hosts_.resize(options_.workers);
  worker_disks_.resize(options_.workers);
  network_->SetTrace(
      [this](const char* what, uint64_t a, uint64_t b) { Event(what, a, b); });
  default_disk_ = NewDisk("default");
#ifdef ANVIL_SIMULATION
  if (options_.buggify) {
    internal::buggify_context.store(this, std::memory_order_release);
    internal::buggify_hook.store(
        [](void* sim, const char* name, const char* file, int line,
           double probability) {
          return static_cast<Simulation*>(sim)->Buggify(name, file, line,
                                                        probability);
        },
        std::memory_order_release);
  }
#endif
}

bool Simulation::Buggify(const char* name, const char* file, int line,
                         double probability) {
  auto [site, first] = buggify_sites_.try_emplace({file, line}, false);
  if (first) site->second = random_() % 4 == 0;
  const bool fires =
      site->second &&
      static_cast<double>(random_() >> 11) * 0x1.0p-53 < probability;
  if (fires) buggify_fired_.insert(name);
  Event("buggify", Fnv1a(name), fires ? 1 : 0);
  return fires;
}

Simulation::~Simulation() {
  scheduled_.clear();
  paused_.assign(paused_.size(), false);
  runtime_->Shutdown();
  // Let the actors drain and finish, then whatever else still waits on a
  // timer (detached calls in flight), in virtual time, within the budgets.
  const int64_t cap = now_ + Clock::ToNanos(absl::Hours(1));
  while (steps_ < options_.step_limit && now_ <= cap && Step()) {
  }
#ifdef ANVIL_SIMULATION
  internal::buggify_hook.store(nullptr, std::memory_order_release);
  internal::buggify_context.store(nullptr, std::memory_order_release);
  // Whatever is left finishes on the real clock, on which every virtual
  // deadline has passed.
  internal::virtual_monotonic_nanos.store(nullptr);
#endif
  network_->SetRandom(nullptr);  // nodes may hold it; random_ goes away
  network_->SetTrace(nullptr);
  for (const std::weak_ptr<SimDisk>& made : disks_) {
    if (std::shared_ptr<SimDisk> disk = made.lock()) disk->Detach();
  }
  runtime_.reset();
}

void Simulation::Record(uint64_t value) {
  // FNV-1a over the value's bytes, little endian.
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  trace_ = Fnv1a(absl::string_view(bytes, sizeof(bytes)), trace_);
}

void Simulation::Event(const char* kind, uint64_t a, uint64_t b) {
  for (const char* c = kind; *c != '\0'; ++c) Record(static_cast<uint8_t>(*c));
  Record(a);
  Record(b);
  if (options_.record_trace) {
    absl::StrAppend(&trace_text_, now_ - start_, " ", kind, " ", a, " ", b,
                    "\n");
  }
}

void Simulation::PauseWorker(size_t worker) {
  paused_[worker] = true;
  Event("pause", worker);
}

void Simulation::ResumeWorker(size_t worker) {
  paused_[worker] = false;
  Event("resume", worker);
}

void Simulation::SetWorkerHost(size_t worker, const std::string& node,
                               const SocketAddress& ip) {
  hosts_->AddHost(node, ip);
  worker_hosts_[worker] = std::make_unique<internal::SimHost>(
      internal::SimHost{hosts_.get(), node, ip.WithPort(0)});
}

std::shared_ptr<SimDisk> Simulation::NewDisk(const std::string& name,
                                             SimDiskOptions options) {
  auto disk = std::make_shared<SimDisk>(
      name, options, &random_,
      [this](const char* what, uint64_t a, uint64_t b) { Event(what, a, b); });
  disks_.push_back(disk);
  return disk;
}

void Simulation::SetWorkerDisk(size_t worker, std::shared_ptr<SimDisk> disk) {
  worker_disks_[worker] = std::move(disk);
}

void Simulation::SetHostDown(const std::string& node) { hosts_->SetDown(node); }

void Simulation::SetHostUp(const std::string& node) { hosts_->SetUp(node); }

void Simulation::SetClockSkew(size_t worker, absl::Duration skew) {
  skew_[worker] = Clock::ToNanos(skew);
}

void Simulation::At(absl::Duration at, std::function<void()> action) {
  scheduled_.emplace(start_ + Clock::ToNanos(at), std::move(action));
}

int64_t Simulation::UnskewedDeadline(size_t worker) {
  const int64_t deadline =
      runtime_->scheduler().worker(worker).timers().NextDeadline();
  if (deadline == INT64_MAX) return deadline;
  return deadline - skew_[worker];
}

bool Simulation::Step(int64_t horizon) {
  if (!scheduled_.empty() && scheduled_.begin()->first <= now_) {
    std::function<void()> action = std::move(scheduled_.begin()->second);
    scheduled_.erase(scheduled_.begin());
    Event("action");
    action();
    return true;
  }
  internal::Scheduler& scheduler = runtime_->scheduler();
  std::vector<size_t> ready;
  int64_t next_timer = INT64_MAX;
  for (size_t i = 0; i < scheduler.size(); ++i) {
    if (paused_[i]) continue;
    internal::Worker& worker = scheduler.worker(i);
    // Its timers run on its own (skewed) clock.
    const int64_t deadline = UnskewedDeadline(i);
    if (worker.has_queued_work() || deadline <= now_) ready.push_back(i);
    next_timer = std::min(next_timer, deadline);
  }
  if (!scheduled_.empty()) {
    next_timer = std::min(next_timer, scheduled_.begin()->first);
  }
  if (ready.empty()) {
    if (next_timer == INT64_MAX || next_timer > horizon) return false;
    now_ = next_timer;  // nothing runs until then
    Event("time", static_cast<uint64_t>(now_ - start_));
    return true;
  }
  const size_t chosen = ready[random_() % ready.size()];
#ifdef ANVIL_SIMULATION
  internal::virtual_clock_skew = skew_[chosen];
#endif
  internal::current_sim_host = worker_hosts_[chosen].get();
  internal::current_sim_disk = worker_disks_[chosen] != nullptr
                                   ? worker_disks_[chosen].get()
                                   : default_disk_.get();
  const size_t ran = scheduler.worker(chosen).RunOnce(/*poll_events=*/false);
  internal::current_sim_host = nullptr;
  internal::current_sim_disk = nullptr;
#ifdef ANVIL_SIMULATION
  internal::virtual_clock_skew = 0;
#endif
  ++steps_;
  Event("run", chosen, ran);
  return true;
}

absl::Status Simulation::RunUntil(const std::function<bool()>& done) {
  const int64_t time_limit = start_ + Clock::ToNanos(options_.time_limit);
  while (!done()) {
    if (now_ > time_limit || steps_ >= options_.step_limit) {
      return absl::DeadlineExceededError(
          absl::StrCat("simulation budget spent (",
                       absl::FormatDuration(elapsed()), " of virtual time, ",
                       steps_, " steps) before it was done; ", ReproCommand()));
    }
    if (!Step()) {
      if (done()) break;
      return absl::FailedPreconditionError(absl::StrCat(
          "deadlock at ", absl::FormatDuration(elapsed()),
          " of virtual time: nothing can run and no timer is pending, but "
          "the run is not done; actors: ",
          absl::StrJoin(runtime_->DescribeLiveActors(), ", "), "; ",
          ReproCommand()));
    }
  }
  return absl::OkStatus();
}

absl::Status Simulation::RunFor(absl::Duration duration) {
  const int64_t until = now_ + Clock::ToNanos(duration);
  while (steps_ < options_.step_limit) {
    // Events past `until` wait for a later run; time stops at `until`.
    if (!Step(until)) {
      now_ = std::max(now_, until);
      return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("simulation step budget (",
                                                  options_.step_limit,
                                                  ") spent; ", ReproCommand()));
}

namespace {

// The flags that choose seeds: a replay replaces them with --anvil_seed.
bool IsSeedSelection(absl::string_view arg) {
  for (absl::string_view flag :
       {"--anvil_seed=", "--anvil_seeds=", "--anvil_seed_start=",
        "--anvil_census", "--anvil_seed_budget=", "--gtest_filter="}) {
    if (absl::StartsWith(arg, flag)) return true;
  }
  return false;
}

// This process's arguments after argv[0], from /proc/self/cmdline.
std::vector<std::string> CommandLineArguments() {
  std::vector<std::string> args;
  std::FILE* file = std::fopen("/proc/self/cmdline", "rb");
  if (file == nullptr) return args;
  std::string all;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), file)) {
    all.append(buffer, n);
  }
  std::fclose(file);
  for (absl::string_view arg : absl::StrSplit(all, '\0', absl::SkipEmpty())) {
    args.emplace_back(arg);
  }
  if (!args.empty()) args.erase(args.begin());
  return args;
}

// "Suite.Name" of the running GoogleTest test, or empty.
std::string CurrentTest() {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  if (test == nullptr) return "";
  return absl::StrCat(test->test_suite_name(), ".", test->name());
}

// `arg` quoted for a shell if it needs it.
std::string ShellQuoted(const std::string& arg) {
  if (!arg.empty() &&
      arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                            "VWXYZ0123456789-_=./:,+@%") == std::string::npos) {
    return arg;
  }
  return absl::StrCat("'", absl::StrReplaceAll(arg, {{"'", "'\\''"}}), "'");
}

}  // namespace

std::string Simulation::ReproCommand() const {
  // This run's arguments but the seed selection, then this seed, and only
  // this test.
  std::vector<std::string> args;
  for (std::string& arg : CommandLineArguments()) {
    if (!IsSeedSelection(arg)) args.push_back(std::move(arg));
  }
  args.push_back(absl::StrCat("--anvil_seed=", options_.seed));
  const std::string test = CurrentTest();
  if (const char* target = std::getenv("TEST_TARGET"); target != nullptr) {
    std::string command = absl::StrCat("replay: ./bazelw test ", target);
    for (const std::string& arg : args) {
      absl::StrAppend(&command, " ", ShellQuoted("--test_arg=" + arg));
    }
    if (!test.empty()) absl::StrAppend(&command, " --test_filter=", test);
    return absl::StrCat(command, " --test_output=all");
  }
  if (!test.empty()) args.push_back("--gtest_filter=" + test);
  std::string command = "replay with";
  for (const std::string& arg : args) {
    absl::StrAppend(&command, " ", ShellQuoted(arg));
  }
  return command;
}

absl::Status ForEachSeed(
    const std::function<absl::Status(Simulation&)>& scenario, int default_seeds,
    SimulationOptions options, bool self_check) {
  std::vector<uint64_t> seeds;
  if (const uint64_t one = absl::GetFlag(FLAGS_anvil_seed); one != 0) {
    seeds.push_back(one);
  } else {
    const int flag = absl::GetFlag(FLAGS_anvil_seeds);
    const int count = flag > 0 ? flag : default_seeds;
    const uint64_t start =
        std::max<uint64_t>(1, absl::GetFlag(FLAGS_anvil_seed_start));
    for (int s = 0; s < count; ++s) seeds.push_back(start + s);
  }
  self_check = self_check || absl::GetFlag(FLAGS_anvil_self_check);
  const bool census = absl::GetFlag(FLAGS_anvil_census);
  const absl::Duration budget = absl::GetFlag(FLAGS_anvil_seed_budget);
  // Wall-clock time, outside every simulation (none exists between seeds).
  const absl::Time began = absl::Now();

  // One run of `seed`; its trace hash in `trace`.
  auto run = [&](uint64_t seed, uint64_t& trace) -> absl::Status {
    options.seed = seed;
    Simulation sim(options);
    absl::Status status = scenario(sim);
    trace = sim.trace_hash();
    std::fprintf(
        stderr, "sim seed=%llu steps=%llu virtual=%s trace=%016llx %s\n",
        static_cast<unsigned long long>(seed),
        static_cast<unsigned long long>(sim.steps()),
        absl::FormatDuration(sim.elapsed()).c_str(),
        static_cast<unsigned long long>(trace), status.ok() ? "ok" : "FAILED");
    if (status.ok()) return status;
    const std::vector<std::string> fired = sim.buggify_fired();
    return absl::Status(
        status.code(),
        absl::StrCat("seed ", seed, ": ", status.message(), " (",
                     sim.ReproCommand(), "; BUGGIFY sites that fired: ",
                     fired.empty() ? "none" : absl::StrJoin(fired, ", "), ")"));
  };
  // One seed, checked twice with self_check.
  auto check = [&](uint64_t seed) -> absl::Status {
    uint64_t first = 0;
    ANVIL_RETURN_IF_ERROR(run(seed, first));
    if (!self_check) return absl::OkStatus();
    uint64_t second = 0;
    ANVIL_RETURN_IF_ERROR(run(seed, second));
    if (first != second) {
      return absl::InternalError(absl::StrFormat(
          "seed %d is not reproducible: trace %016x, then %016x (a real "
          "clock read, a thread, or randomness not from the simulation); "
          "check again with --anvil_seed=%d --anvil_self_check",
          seed, first, second, seed));
    }
    return absl::OkStatus();
  };

  std::vector<uint64_t> failed;
  absl::Status first_failure;
  size_t ran = 0;
  for (uint64_t seed : seeds) {
    if (absl::Now() - began > budget) {
      std::fprintf(stderr,
                   "sim: the wall-clock budget of %s is spent after %zu of "
                   "%zu seeds; the rest are not run\n",
                   absl::FormatDuration(budget).c_str(), ran, seeds.size());
      break;
    }
    ++ran;
    absl::Status status = check(seed);
    if (status.ok()) continue;
    if (!census) return status;
    failed.push_back(seed);
    if (first_failure.ok()) first_failure = status;
  }
  if (census) {
    std::fprintf(stderr, "sim census: %zu seeds run, %zu failed%s%s\n", ran,
                 failed.size(), failed.empty() ? "" : ": ",
                 absl::StrJoin(failed, " ").c_str());
  }
  if (failed.empty()) return absl::OkStatus();
  return absl::Status(
      first_failure.code(),
      absl::StrCat(failed.size(), " of ", ran, " seeds failed (",
                   absl::StrJoin(failed, " "),
                   "); the first: ", first_failure.message()));
}

}  // namespace anvil::sim
