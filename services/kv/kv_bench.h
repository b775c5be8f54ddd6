// RunKvBench: a closed-loop load generator for KvStore over real gRPC
// (`kvctl bench`). `concurrency` requests are kept in flight, spread over
// `connections` HTTP/2 connections (round robin over the servers); each
// finished request starts the next. Requests are Puts (a
// `put_fraction` of them, each in the slot's own ClientSession, so the
// exactly-once bookkeeping is paid for as a client that retries would pay
// it) or Gets, of `value_size`-byte values on `keys` keys. Latencies of
// requests that start after `warmup` and finish before warmup + duration
// count. A failed request counts by its code, and its slot goes on after a
// 10 ms pause (so a server that is down is not hammered).
//
//   absl::StatusOr<KvBenchResult> r = RunKvBench(
//       {"127.0.0.1:7001"}, grpc::InsecureChannelCredentials(),
//       {.concurrency = 64, .duration = absl::Seconds(10)});
//   std::puts(FormatKvBenchResult(*r).c_str());
//
// Thread-safe; blocks the caller for warmup + duration (and the requests
// still in flight then).
#ifndef ANVIL_SERVICES_KV_KV_BENCH_H_
#define ANVIL_SERVICES_KV_KV_BENCH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace anvil::kv {

struct KvBenchOptions {
  // Whose API: anvil's KvStore, or etcd v3's KV (Put; Range, linearizable),
  // so that one load generator measures both.
  enum class Target { kAnvil, kEtcd } target = Target::kAnvil;
  int connections = 4;
  int concurrency = 64;
  int value_size = 100;
  double put_fraction = 1.0;  // the rest are Gets
  int keys = 10'000;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration request_timeout = absl::Seconds(5);
};

// OK, or INVALID_ARGUMENT naming the first option out of range.
absl::Status ValidateKvBenchOptions(const KvBenchOptions& options);

struct KvBenchResult {
  int64_t puts = 0;  // succeeded, counted
  int64_t gets = 0;
  std::map<std::string, int64_t> errors;  // by status code name
  absl::Duration measured;                // the counted window
  // Of the counted requests; zero if none.
  absl::Duration p50, p99, p999, max;
  double ops_per_second() const;
};

// INVALID_ARGUMENT for bad options or no servers; else the result, errors
// included (a server that is down shows as UNAVAILABLE counts).
absl::StatusOr<KvBenchResult> RunKvBench(
    const std::vector<std::string>& servers,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const KvBenchOptions& options);

// "put 12345, get 0 in 10s: 1234.5 ops/s; latency p50 1.2ms p99 3.4ms
// p99.9 5.6ms max 7.8ms", then the errors by code, if any.
std::string FormatKvBenchResult(const KvBenchResult& result);

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_KV_BENCH_H_
