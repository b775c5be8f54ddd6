// History and CheckLinearizable: record what clients of a system did and
// when, then check that some order of those operations, one that respects
// real time (an operation that completed before another began comes first),
// is allowed by a sequential model of the system.
//
//   // A register: Write(v) or Read() -> v.
//   struct Op { bool write; int value; };
//   anvil::sim::Model<int, Op, int> model{
//       .initial = 0,
//       .step = [](const int& state, const Op& op,
//                  const std::optional<int>& out) -> std::optional<int> {
//         if (op.write) return op.value;    // the next state,
//         if (out.has_value() && *out != state) return std::nullopt;  // or no
//         return state;
//       },
//       .describe = [](const Op& op, const std::optional<int>& out) { ... }};
//   anvil::sim::History<Op, int> history;
//   size_t id = history.Invoke(/*client=*/1, Op{true, 5}, now);
//   history.Complete(id, 0, later);       // never completed: outcome unknown
//   LinearizabilityResult r = CheckLinearizable(history, model);
//   EXPECT_TRUE(r.linearizable) << r.explanation;
//
// An operation that never completed (no output: a timeout, a crash) may or
// may not have taken effect: it is placed anywhere after its invocation, or
// left out; `step` sees it with no output. Times are any monotonic clock
// (virtual nanoseconds in a simulation); an operation may not complete
// before it is invoked.
//
// Independent objects: a model whose operations each touch one key of a
// store sets Model::partition, and each key's operations are checked
// alone, from `initial` (P-compositionality: the whole history is
// linearizable if and only if every key's is). With
// LinearizabilityOptions::runtime the keys are checked in parallel on that
// runtime's workers; the verdict and the explanation are the same as when
// they are checked one after another.
//
// The search is Lowe's just-in-time linearization over a linked list of
// call and return events, as in porcupine, with an explicit stack (any
// length of history, no recursion) and a memo of (operations placed,
// model state) pairs already explored. The memo stores a 128-bit
// fingerprint of each pair, 16 bytes, not the pair itself: two different
// pairs sharing a fingerprint (probability below n^2 / 2^128 for n pairs,
// about 10^-25 for a billion) would prune a branch, which could only turn
// "linearizable" into "not"; a "linearizable" verdict is always exact.
// The problem is NP-complete: a history with many concurrent operations
// can still take exponential time.
//
// REQUIRES: State is copyable and hashable with absl::Hash (provide
// AbslHashValue for a struct). Thread-compatible.
#ifndef ANVIL_TESTING_SIM_LINEARIZABILITY_H_
#define ANVIL_TESTING_SIM_LINEARIZABILITY_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/time.h"
#include "runtime/actor/actor_context.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/task.h"

namespace anvil::sim {

template <typename Input, typename Output>
struct Operation {
  int client = 0;
  Input input;
  std::optional<Output> output;  // none: it never completed
  int64_t invoke = 0;
  int64_t complete = INT64_MAX;  // ignored without an output
};

template <typename State, typename Input, typename Output>
struct Model {
  State initial;
  // The state after `input` (with `output`, if it completed) is applied to
  // `state`, or nullopt if the model does not allow that output there.
  std::function<std::optional<State>(const State&, const Input&,
                                     const std::optional<Output>&)>
      step;
  // One operation, for explanations: "Read() -> 3".
  std::function<std::string(const Input&, const std::optional<Output>&)>
      describe;
  // Optional: the key of the independent object `input` acts on. Each
  // key's operations are then checked alone, starting from `initial`.
  std::function<std::string(const Input&)> partition;
};

template <typename Input, typename Output>
class History {
 public:
  // Records that `client` invoked `input` at `time`; returns its id.
  size_t Invoke(int client, Input input, int64_t time) {
    operations_.push_back(
        {.client = client, .input = std::move(input), .invoke = time});
    return operations_.size() - 1;
  }
  // Records that operation `id` completed with `output` at `time`.
  void Complete(size_t id, Output output, int64_t time) {
    operations_[id].output = std::move(output);
    operations_[id].complete = time;
  }
  const std::vector<Operation<Input, Output>>& operations() const {
    return operations_;
  }

 private:
  std::vector<Operation<Input, Output>> operations_;
};

struct LinearizabilityOptions {
  // Check the model's partitions in parallel on this runtime's workers
  // (one actor per worker, each taking the next unchecked key), instead of
  // one after another on the calling thread. The runtime must run its own
  // workers (not manual_workers), and the caller must not be one of them:
  // CheckLinearizable blocks until the check is done.
  Runtime* runtime = nullptr;
};

struct LinearizabilityResult {
  bool linearizable = false;
  // When not: which operation could not be placed, then the context. Or
  // why the history itself is invalid.
  std::string explanation;

  // When not linearizable, in indices into the checked operations:
  // With Model::partition, the first key (in sorted order) whose operations
  // are not linearizable; all of the following are among them.
  std::string partition;
  // The longest order of operations the model allows.
  std::vector<size_t> longest_prefix;
  // The completed operation not in it that completed first: it, or another
  // operation invoked before it completed, must come next.
  std::optional<size_t> stuck;
  // Those operations (`stuck` included); the model allows none of them
  // after longest_prefix.
  std::vector<size_t> candidates;
};

namespace internal {

// A 128-bit fingerprint of (set of operations placed, model state).
struct SearchFingerprint {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const SearchFingerprint&) const = default;
};

struct SearchFingerprintHash {
  size_t operator()(const SearchFingerprint& f) const { return f.low; }
};

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The search over one partition: `ids` index `ops`. Run() once.
template <typename State, typename Input, typename Output>
class LinearizabilitySearch {
 public:
  using Op = Operation<Input, Output>;

  // `cancelled` (may be empty) is polled every few thousand steps.
  LinearizabilitySearch(const std::vector<Op>& ops, std::vector<size_t> ids,
                        const Model<State, Input, Output>& model,
                        std::function<bool()> cancelled)
      : ops_(ops),
        ids_(std::move(ids)),
        model_(model),
        cancelled_(std::move(cancelled)) {}

  // True if linearizable, false if not (then longest_prefix() is set),
  // nullopt if cancelled.
  std::optional<bool> Run() {
    BuildList();
    State state = model_.initial;
    SearchFingerprint placed;  // of the set of placed operations
    std::vector<PlacedCall> calls;
    if (Done()) return true;
    uint32_t entry = next_[head_];
    for (uint64_t steps = 1;; ++steps) {
      if ((steps & 0xfff) == 0 && cancelled_ && cancelled_()) {
        return std::nullopt;
      }
      if (!IsReturn(entry)) {
        const uint32_t k = entry >> 1;
        const Op& op = ops_[ids_[k]];
        std::optional<State> next = model_.step(state, op.input, op.output);
        if (next.has_value()) {
          const SearchFingerprint with = Toggle(placed, k);
          if (seen_.insert(WithState(with, *next)).second) {
            placed = with;
            calls.push_back({entry, std::move(state)});
            state = std::move(*next);
            Lift(entry);
            RecordLongest(calls);
            if (Done()) return true;
            entry = next_[head_];
            continue;
          }
        }
        entry = next_[entry];
      } else {
        // An unplaced operation returns here: nothing after it may come
        // before it. Undo the last placement and try what follows it.
        if (calls.empty()) return false;
        entry = calls.back().call;
        state = std::move(calls.back().before);
        calls.pop_back();
        placed = Toggle(placed, entry >> 1);
        Unlift(entry);
        common_ = std::min(common_, calls.size());
        entry = next_[entry];
      }
    }
  }

  // The longest order found, in indices into the operations.
  std::vector<size_t> longest_prefix() const {
    std::vector<size_t> prefix;
    prefix.reserve(longest_.size());
    for (uint32_t k : longest_) prefix.push_back(ids_[k]);
    return prefix;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint64_t kStateSalt = 0x5851f42d4c957f2dULL;

  struct PlacedCall {
    uint32_t call;  // its call event
    State before;   // the state before it
  };

  // Operation k has events 2k (call) and 2k+1 (return); head_ is 2n.
  static bool IsReturn(uint32_t event) { return (event & 1) != 0; }
  bool Completed(uint32_t k) const { return ops_[ids_[k]].output.has_value(); }
  int64_t ReturnTime(uint32_t k) const {
    return Completed(k) ? ops_[ids_[k]].complete : INT64_MAX;
  }

  // Links every event in time order; at equal times calls come first (they
  // overlap), and completed returns before the returns of operations that
  // never completed, which stay at the end.
  void BuildList() {
    const uint32_t n = static_cast<uint32_t>(ids_.size());
    head_ = 2 * n;
    std::vector<uint32_t> order(2 * n);
    for (uint32_t e = 0; e < 2 * n; ++e) order[e] = e;
    auto key = [&](uint32_t e) {
      const uint32_t k = e >> 1;
      return std::make_tuple(IsReturn(e) ? ReturnTime(k) : ops_[ids_[k]].invoke,
                             IsReturn(e), IsReturn(e) && !Completed(k), k);
    };
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
    next_.assign(2 * n + 1, kNone);
    prev_.assign(2 * n + 1, kNone);
    uint32_t last = head_;
    for (uint32_t e : order) {
      next_[last] = e;
      prev_[e] = last;
      last = e;
    }
    zobrist_.resize(n);
    for (uint32_t k = 0; k < n; ++k) {
      zobrist_[k] = {SplitMix64(2 * uint64_t{k}),
                     SplitMix64(2 * uint64_t{k} + 1)};
    }
    seen_.reserve(n);
  }

  // True once only operations that never completed are left.
  bool Done() const {
    const uint32_t first = next_[head_];
    return first == kNone || (IsReturn(first) && !Completed(first >> 1));
  }

  SearchFingerprint Toggle(SearchFingerprint f, uint32_t k) const {
    return {f.low ^ zobrist_[k].low, f.high ^ zobrist_[k].high};
  }
  static SearchFingerprint WithState(SearchFingerprint f, const State& s) {
    return {f.low ^ absl::HashOf(s), f.high ^ absl::HashOf(kStateSalt, s)};
  }

  // Takes a call and its return out of the list; a call is never last.
  void Lift(uint32_t call) {
    next_[prev_[call]] = next_[call];
    prev_[next_[call]] = prev_[call];
    const uint32_t ret = call + 1;
    next_[prev_[ret]] = next_[ret];
    if (next_[ret] != kNone) prev_[next_[ret]] = prev_[ret];
  }
  void Unlift(uint32_t call) {
    const uint32_t ret = call + 1;
    next_[prev_[ret]] = ret;
    if (next_[ret] != kNone) prev_[next_[ret]] = ret;
    next_[prev_[call]] = call;
    prev_[next_[call]] = call;
  }

  // Keeps longest_ the longest `calls` seen, in time linear in the pushes:
  // common_ is how much of `calls` equals longest_'s start.
  void RecordLongest(const std::vector<PlacedCall>& calls) {
    const size_t size = calls.size();
    const uint32_t k = calls.back().call >> 1;
    if (size <= longest_.size()) {
      if (common_ == size - 1 && longest_[size - 1] == k) common_ = size;
      return;
    }
    longest_.resize(size);
    for (size_t i = common_; i < size; ++i) longest_[i] = calls[i].call >> 1;
    common_ = size;
  }

  const std::vector<Op>& ops_;
  const std::vector<size_t> ids_;
  const Model<State, Input, Output>& model_;
  const std::function<bool()> cancelled_;
  uint32_t head_ = 0;
  std::vector<uint32_t> next_;
  std::vector<uint32_t> prev_;
  std::vector<SearchFingerprint> zobrist_;  // per operation
  absl::flat_hash_set<SearchFingerprint, SearchFingerprintHash> seen_;
  std::vector<uint32_t> longest_;
  size_t common_ = 0;
};

// "client 3 Read() -> 0 [40ns, 50ns]".
template <typename State, typename Input, typename Output>
std::string DescribeOperation(const Operation<Input, Output>& op,
                              const Model<State, Input, Output>& model) {
  const std::string end =
      op.output.has_value()
          ? absl::FormatDuration(absl::Nanoseconds(op.complete))
          : std::string("never");
  return absl::StrCat("client ", op.client, " ",
                      model.describe ? model.describe(op.input, op.output)
                                     : std::string("an operation"),
                      " [", absl::FormatDuration(absl::Nanoseconds(op.invoke)),
                      ", ", end, "]");
}

// Fills stuck, candidates and the explanation from longest_prefix, of the
// partition `ids`.
template <typename State, typename Input, typename Output>
void ExplainFailure(const std::vector<Operation<Input, Output>>& ops,
                    const std::vector<size_t>& ids,
                    const Model<State, Input, Output>& model,
                    LinearizabilityResult& result) {
  constexpr size_t kShown = 10;
  std::vector<bool> placed(ops.size(), false);
  for (size_t i : result.longest_prefix) placed[i] = true;
  for (size_t i : ids) {
    if (placed[i] || !ops[i].output.has_value()) continue;
    if (!result.stuck.has_value() ||
        ops[i].complete < ops[*result.stuck].complete) {
      result.stuck = i;
    }
  }
  const int64_t horizon = ops[*result.stuck].complete;
  for (size_t i : ids) {
    if (!placed[i] && ops[i].invoke <= horizon) result.candidates.push_back(i);
  }
  auto describe = [&](size_t i) { return DescribeOperation(ops[i], model); };
  std::string prefix;
  const size_t placed_count = result.longest_prefix.size();
  if (placed_count > kShown) {
    absl::StrAppend(&prefix, "\n  ... ", placed_count - kShown, " before");
  }
  for (size_t j = placed_count > kShown ? placed_count - kShown : 0;
       j < placed_count; ++j) {
    absl::StrAppend(&prefix, "\n  ", describe(result.longest_prefix[j]));
  }
  std::string next;
  for (size_t j = 0; j < result.candidates.size() && j < kShown; ++j) {
    absl::StrAppend(&next, "\n  ", describe(result.candidates[j]));
  }
  if (result.candidates.size() > kShown) {
    absl::StrAppend(&next, "\n  ... and ", result.candidates.size() - kShown,
                    " more");
  }
  result.explanation = absl::StrCat(
      "not linearizable",
      model.partition ? absl::StrCat(" (key \"", result.partition, "\")")
                      : std::string(),
      ": ", describe(*result.stuck),
      " cannot be placed. The longest order the model allows places ",
      placed_count, " of ", ids.size(), " operations",
      placed_count == 0 ? std::string(" (none)")
                        : absl::StrCat(", ending:", prefix),
      "\nand then allows none of the operations that could come next (it, "
      "or one invoked before it completed):",
      next);
}

template <typename Job>
Task<> CheckPartitionsActor(ActorContext<int>&, Job* job) {
  job->Work();
  co_return;
}

// Checks partitions, in order or in parallel; a partition after one found
// not linearizable is cancelled, one before it is not, so the first failing
// partition is the one reported either way.
template <typename State, typename Input, typename Output>
class PartitionedCheck {
 public:
  using Op = Operation<Input, Output>;

  PartitionedCheck(const std::vector<Op>& ops,
                   const Model<State, Input, Output>& model,
                   std::vector<std::string> keys,
                   std::vector<std::vector<size_t>> partitions)
      : ops_(ops),
        model_(model),
        keys_(std::move(keys)),
        partitions_(std::move(partitions)),
        prefixes_(partitions_.size()) {}

  LinearizabilityResult Run(Runtime* runtime) {
    if (runtime == nullptr || partitions_.size() < 2) {
      Work();
    } else {
      const size_t actors =
          std::min<size_t>(runtime->workers(), partitions_.size());
      absl::BlockingCounter finished(static_cast<int>(actors));
      finished_ = &finished;
      for (size_t w = 0; w < actors; ++w) {
        runtime->Spawn(CheckPartitionsActor<PartitionedCheck>, this,
                       ActorOptions{.name = "linearizability-check",
                                    .worker = static_cast<int>(w)});
      }
      finished.Wait();
    }
    LinearizabilityResult result;
    const size_t failed = first_failed_.load();
    if (failed == kNone) {
      result.linearizable = true;
      return result;
    }
    result.partition = keys_[failed];
    result.longest_prefix = std::move(prefixes_[failed]);
    ExplainFailure(ops_, partitions_[failed], model_, result);
    return result;
  }

  // Checks partitions until none is left; from each worker actor.
  void Work() {
    for (;;) {
      const size_t i = next_.fetch_add(1);
      if (i >= partitions_.size() || i > first_failed_.load()) break;
      LinearizabilitySearch<State, Input, Output> search(
          ops_, partitions_[i], model_,
          [this, i] { return first_failed_.load() < i; });
      const std::optional<bool> linearizable = search.Run();
      if (linearizable.has_value() && !*linearizable) {
        prefixes_[i] = search.longest_prefix();
        size_t failed = first_failed_.load();
        while (i < failed && !first_failed_.compare_exchange_weak(failed, i)) {
        }
      }
    }
    if (finished_ != nullptr) finished_->DecrementCount();
  }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  const std::vector<Op>& ops_;
  const Model<State, Input, Output>& model_;
  const std::vector<std::string> keys_;
  const std::vector<std::vector<size_t>> partitions_;
  std::vector<std::vector<size_t>> prefixes_;  // of the failed ones
  std::atomic<size_t> next_{0};
  std::atomic<size_t> first_failed_{kNone};
  absl::BlockingCounter* finished_ = nullptr;
};

}  // namespace internal

template <typename State, typename Input, typename Output>
LinearizabilityResult CheckLinearizable(
    const std::vector<Operation<Input, Output>>& operations,
    const Model<State, Input, Output>& model,
    const LinearizabilityOptions& options = {}) {
  for (size_t i = 0; i < operations.size(); ++i) {
    const Operation<Input, Output>& op = operations[i];
    if (op.output.has_value() && op.complete < op.invoke) {
      return {.explanation =
                  absl::StrCat("invalid history: operation ", i, ", ",
                               internal::DescribeOperation(op, model),
                               ", completes before it is invoked")};
    }
  }
  std::vector<std::string> keys;
  std::vector<std::vector<size_t>> partitions;
  if (!model.partition) {
    keys.emplace_back();
    partitions.emplace_back(operations.size());
    for (size_t i = 0; i < operations.size(); ++i) partitions[0][i] = i;
  } else {
    std::map<std::string, std::vector<size_t>> by_key;
    for (size_t i = 0; i < operations.size(); ++i) {
      by_key[model.partition(operations[i].input)].push_back(i);
    }
    for (auto& [key, ids] : by_key) {
      keys.push_back(key);
      partitions.push_back(std::move(ids));
    }
  }
  return internal::PartitionedCheck<State, Input, Output>(
             operations, model, std::move(keys), std::move(partitions))
      .Run(options.runtime);
}

template <typename State, typename Input, typename Output>
LinearizabilityResult CheckLinearizable(
    const History<Input, Output>& history,
    const Model<State, Input, Output>& model,
    const LinearizabilityOptions& options = {}) {
  return CheckLinearizable(history.operations(), model, options);
}

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_LINEARIZABILITY_H_
