#include "services/kv/kv_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "services/kv/etcd_kv.grpc.pb.h"
#include "services/kv/kv.grpc.pb.h"

namespace anvil::kv {
namespace {

int64_t NowNanos() { return absl::GetCurrentTimeNanos(); }

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// The whole run: what every slot shares.
struct Run {
  KvBenchOptions options;
  std::vector<std::unique_ptr<KvStore::Stub>> stubs;                // kAnvil
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> etcd_stubs;  // kEtcd
  std::string value;
  int64_t measure_from = 0;  // NowNanos
  int64_t measure_until = 0;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable idle;
  int running = 0;  // slots with a request in flight, guarded by mu
};

// One in-flight request at a time, started again by its own completion
// (on a gRPC thread; never two at once for one slot).
class Slot {
 public:
  Slot(Run& run, int index)
      : run_(run),
        stub_(run.stubs.empty() ? nullptr
                                : run.stubs[index % run.stubs.size()].get()),
        etcd_stub_(run.etcd_stubs.empty()
                       ? nullptr
                       : run.etcd_stubs[index % run.etcd_stubs.size()].get()),
        random_(static_cast<uint64_t>(index) * 7919 + 1) {
    session_.set_client_id(std::random_device()() | (uint64_t{1} << 40) |
                           (static_cast<uint64_t>(index) << 41));
  }

  void Start() {
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(
        std::chrono::system_clock::now() +
        absl::ToChronoNanoseconds(run_.options.request_timeout));
    const std::string key = absl::StrCat(
        "bench/", random_() % static_cast<uint64_t>(run_.options.keys));
    started_ = NowNanos();
    const bool put = std::uniform_real_distribution<double>(0, 1)(random_) <
                     run_.options.put_fraction;
    auto done = [this, put](grpc::Status s) { Done(s, put); };
    if (etcd_stub_ != nullptr) {
      if (put) {
        etcd_put_.set_key(key);
        etcd_put_.set_value(run_.value);
        etcd_stub_->async()->Put(context_.get(), &etcd_put_, &etcd_put_reply_,
                                 std::move(done));
      } else {
        etcd_range_.set_key(key);
        etcd_stub_->async()->Range(context_.get(), &etcd_range_,
                                   &etcd_range_reply_, std::move(done));
      }
    } else if (put) {
      put_.set_key(key);
      put_.set_value(run_.value);
      session_.set_sequence(session_.sequence() + 1);
      *put_.mutable_session() = session_;
      stub_->async()->Put(context_.get(), &put_, &put_reply_, std::move(done));
    } else {
      get_.set_key(key);
      stub_->async()->Get(context_.get(), &get_, &get_reply_, std::move(done));
    }
  }

  // After the run; REQUIRES: not running.
  const std::vector<int64_t>& latencies() const { return latencies_; }
  int64_t puts() const { return puts_; }
  int64_t gets() const { return gets_; }
  const std::map<std::string, int64_t>& errors() const { return errors_; }

 private:
  void Done(const grpc::Status& status, bool put) {
    const int64_t finished = NowNanos();
    if (started_ >= run_.measure_from && finished <= run_.measure_until) {
      if (status.ok()) {
        latencies_.push_back(finished - started_);
        ++(put ? puts_ : gets_);
      } else {
        ++errors_[CodeName(status.error_code())];
      }
    }
    if (!run_.stopping.load(std::memory_order_acquire) &&
        finished < run_.measure_until) {
      if (status.ok()) {
        Start();
      } else {
        // A server that refuses at once (it is down, or has no leader)
        // would make this slot spin: retry after a pause, without holding
        // gRPC's thread.
        retry_.Set(std::chrono::system_clock::now() + kErrorPause,
                   [this](bool) { Start(); });
      }
      return;
    }
    std::lock_guard<std::mutex> lock(run_.mu);
    if (--run_.running == 0) run_.idle.notify_all();
  }

  static constexpr std::chrono::milliseconds kErrorPause{10};

  Run& run_;
  grpc::Alarm retry_;          // after a failed request
  KvStore::Stub* const stub_;  // one of these two
  etcdserverpb::KV::Stub* const etcd_stub_;
  std::mt19937_64 random_;
  ClientSession session_;
  std::unique_ptr<grpc::ClientContext> context_;
  PutRequest put_;
  PutReply put_reply_;
  GetRequest get_;
  GetReply get_reply_;
  etcdserverpb::PutRequest etcd_put_;
  etcdserverpb::PutResponse etcd_put_reply_;
  etcdserverpb::RangeRequest etcd_range_;
  etcdserverpb::RangeResponse etcd_range_reply_;
  int64_t started_ = 0;
  std::vector<int64_t> latencies_;
  int64_t puts_ = 0;
  int64_t gets_ = 0;
  std::map<std::string, int64_t> errors_;
};

absl::Duration Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return absl::ZeroDuration();
  const size_t i =
      std::min(sorted.size() - 1,
               static_cast<size_t>(q * static_cast<double>(sorted.size())));
  return absl::Nanoseconds(sorted[i]);
}

}  // namespace

absl::Status ValidateKvBenchOptions(const KvBenchOptions& options) {
  if (options.connections < 1 || options.connections > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "connections must be 1 to 1024, not ", options.connections));
  }
  if (options.concurrency < 1 || options.concurrency > 100'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "concurrency must be 1 to 100000, not ", options.concurrency));
  }
  if (options.value_size < 0 || options.value_size > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "value_size must be 0 to 1048576 bytes, not ", options.value_size));
  }
  if (!(options.put_fraction >= 0 && options.put_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "put_fraction must be 0 to 1, not ", options.put_fraction));
  }
  if (options.keys < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("keys must be at least 1, not ", options.keys));
  }
  if (options.duration <= absl::ZeroDuration() ||
      options.duration > absl::Hours(24) ||
      options.warmup < absl::ZeroDuration() ||
      options.warmup > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration must be in (0, 24h] and warmup in [0, 1h], not ",
                     absl::FormatDuration(options.duration), " and ",
                     absl::FormatDuration(options.warmup)));
  }
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("request_timeout must be positive");
  }
  return absl::OkStatus();
}

double KvBenchResult::ops_per_second() const {
  const double seconds = absl::ToDoubleSeconds(measured);
  return seconds > 0 ? static_cast<double>(puts + gets) / seconds : 0;
}

absl::StatusOr<KvBenchResult> RunKvBench(
    const std::vector<std::string>& servers,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const KvBenchOptions& options) {
  if (absl::Status valid = ValidateKvBenchOptions(options); !valid.ok()) {
    return valid;
  }
  if (servers.empty()) return absl::InvalidArgumentError("no servers");
  Run run;
  run.options = options;
  run.value.assign(static_cast<size_t>(options.value_size), 'v');
  for (int i = 0; i < options.connections; ++i) {
    grpc::ChannelArguments args;
    // A connection of its own, not one shared with the other channels.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("anvil.bench.connection", i);
    std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
        servers[static_cast<size_t>(i) % servers.size()], credentials, args);
    if (options.target == KvBenchOptions::Target::kEtcd) {
      run.etcd_stubs.push_back(etcdserverpb::KV::NewStub(channel));
    } else {
      run.stubs.push_back(KvStore::NewStub(channel));
    }
  }
  const int64_t start = NowNanos();
  run.measure_from = start + absl::ToInt64Nanoseconds(options.warmup);
  run.measure_until =
      run.measure_from + absl::ToInt64Nanoseconds(options.duration);
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < options.concurrency; ++i) {
    slots.push_back(std::make_unique<Slot>(run, i));
  }
  run.running = options.concurrency;
  for (auto& slot : slots) slot->Start();
  absl::SleepFor(absl::Nanoseconds(run.measure_until - NowNanos()));
  run.stopping.store(true, std::memory_order_release);
  {
    std::unique_lock<std::mutex> lock(run.mu);
    run.idle.wait(lock, [&] { return run.running == 0; });
  }
  KvBenchResult result;
  result.measured = options.duration;
  std::vector<int64_t> all;
  for (const auto& slot : slots) {
    all.insert(all.end(), slot->latencies().begin(), slot->latencies().end());
    result.puts += slot->puts();
    result.gets += slot->gets();
    for (const auto& [code, n] : slot->errors()) result.errors[code] += n;
  }
  std::sort(all.begin(), all.end());
  result.p50 = Percentile(all, 0.50);
  result.p99 = Percentile(all, 0.99);
  result.p999 = Percentile(all, 0.999);
  result.max =
      all.empty() ? absl::ZeroDuration() : absl::Nanoseconds(all.back());
  return result;
}

std::string FormatKvBenchResult(const KvBenchResult& r) {
  std::string line = absl::StrCat(
      "put ", r.puts, ", get ", r.gets, " in ",
      absl::FormatDuration(r.measured), ": ",
      absl::StrFormat("%.1f", r.ops_per_second()), " ops/s; latency p50 ",
      absl::FormatDuration(absl::Trunc(r.p50, absl::Microseconds(1))), " p99 ",
      absl::FormatDuration(absl::Trunc(r.p99, absl::Microseconds(1))),
      " p99.9 ",
      absl::FormatDuration(absl::Trunc(r.p999, absl::Microseconds(1))), " max ",
      absl::FormatDuration(absl::Trunc(r.max, absl::Microseconds(1))));
  if (!r.errors.empty()) {
    std::vector<std::string> errors;
    for (const auto& [code, n] : r.errors) {
      errors.push_back(absl::StrCat(code, " ", n));
    }
    absl::StrAppend(&line, "; errors: ", absl::StrJoin(errors, ", "));
  }
  return line;
}

}  // namespace anvil::kv
