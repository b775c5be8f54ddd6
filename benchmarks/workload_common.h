// What both sides of the peer comparison share, so that anvil and CAF
// measure the same way and do the same work: resident memory, the one-line
// report compare.sh parses, the mixed case's factorization, and the
// workloads themselves (their sizes and result checks), run by name.
//
//   const int64_t before = anvil::bench::ResidentBytes();
//   anvil::bench::Report("skynet", seconds, "s");   // "skynet 0.41 s"
//   return anvil::bench::RunWorkload("anvil_workloads", "skynet", side);
//
// Header only, with no dependency on either runtime.
#ifndef ANVIL_BENCHMARKS_WORKLOAD_COMMON_H_
#define ANVIL_BENCHMARKS_WORKLOAD_COMMON_H_

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace anvil::bench {

// Resident memory now, in bytes.
inline int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// The most resident memory the process has had, in bytes.
inline int64_t PeakResidentBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

// Prints "workload value unit", the line compare.sh reads.
inline void Report(const char* workload, double value, const char* unit) {
  std::printf("%s %.6g %s\n", workload, value, unit);
}

// The mixed case's work: two primes near 100,000, about 0.1 ms of trial
// division per lap.
constexpr uint64_t kToFactor = 100003ull * 100019ull;

inline std::vector<uint64_t> Factorize(uint64_t n) {
  std::vector<uint64_t> factors;
  if (n <= 3) return {n};
  uint64_t d = 2;
  while (n % d == 0) {
    factors.push_back(d);
    n /= d;
  }
  for (d = 3; d * d <= n; d += 2) {
    while (n % d == 0) {
      factors.push_back(d);
      n /= d;
    }
  }
  if (n > 1) factors.push_back(n);
  return factors;
}

// True if `factors` are kToFactor's two primes.
inline bool FactorsOfKToFactor(const std::vector<uint64_t>& factors) {
  return factors.size() == 2 && factors[0] * factors[1] == kToFactor;
}

// One side's implementation of each workload (see benchmarks/README.md).
struct WorkloadSide {
  // ns per round trip of `rounds` round trips with `workers` threads.
  std::function<double(size_t workers, int64_t rounds)> ping_pong;
  // Seconds to build a tree of `leaves` leaves, `fanout` children per
  // actor, summing the leaves' numbers into `*sum`.
  std::function<double(int64_t leaves, int fanout, int64_t* sum)> tree;
  // Seconds for `senders` actors to send `each` messages to one receiver.
  std::function<double(int senders, int64_t each)> contention;
  // Seconds for the mixed case; `*checks` counts correct factorizations.
  std::function<double(int rings, int ring_size, int laps, int64_t* checks)>
      mixed;
  // Reports the memory of `count` idle actors.
  std::function<void(int64_t count)> idle_memory;
};

// Runs `workload` with the sizes both sides use and checks its result.
// Returns the process's exit code: 0, 1 for a wrong result, 2 for an
// unknown workload (named, with `program`, on stderr).
inline int RunWorkload(const char* program, const std::string& workload,
                       const WorkloadSide& side) {
  int64_t sum = 0;
  if (workload == "ping_pong_1") {
    Report("ping_pong_1", side.ping_pong(1, 1'000'000), "ns");
  } else if (workload == "ping_pong_2") {
    Report("ping_pong_2", side.ping_pong(2, 200'000), "ns");
  } else if (workload == "actor_creation") {
    const double seconds = side.tree(1 << 20, 2, &sum);
    if (sum != (int64_t{1} << 20) * ((1 << 20) - 1) / 2) return 1;
    Report("actor_creation", seconds, "s");
  } else if (workload == "skynet") {
    const double seconds = side.tree(1'000'000, 10, &sum);
    if (sum != 499999500000) return 1;
    Report("skynet", seconds, "s");
  } else if (workload == "mailbox_contention") {
    Report("mailbox_contention", side.contention(20, 100'000), "s");
  } else if (workload == "mixed_case") {
    int64_t checks = 0;
    const double seconds = side.mixed(20, 100, 50, &checks);
    if (checks != 20 * 50) return 1;
    Report("mixed_case", seconds, "s");
  } else if (workload == "idle_memory") {
    side.idle_memory(1'000'000);
  } else {
    std::fprintf(stderr, "%s: unknown --workload '%s'\n", program,
                 workload.c_str());
    return 2;
  }
  return 0;
}

}  // namespace anvil::bench

#endif  // ANVIL_BENCHMARKS_WORKLOAD_COMMON_H_
