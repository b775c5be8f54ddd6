// What both sides of the peer comparison share, so that anvil and CAF
// measure the same way and do the same work: resident memory, the one-line
// report compare.sh parses, and the mixed case's factorization.
//
//   const int64_t before = anvil::bench::ResidentBytes();
//   anvil::bench::Report("skynet", seconds, "s");   // "skynet 0.41 s"
//
// Header only, with no dependency on either runtime.
#ifndef ANVIL_BENCHMARKS_WORKLOAD_COMMON_H_
#define ANVIL_BENCHMARKS_WORKLOAD_COMMON_H_

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
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

}  // namespace anvil::bench

#endif  // ANVIL_BENCHMARKS_WORKLOAD_COMMON_H_
