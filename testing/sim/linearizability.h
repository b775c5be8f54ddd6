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
// linearizable if and only if every key's is). The keys are searched in
// rounds, each giving every undecided key the same budget of steps (four
// times the last), so one hard key does not hide an easy failure in
// another; the failing key reported is the first, in key order, found in
// the first round that finds one. With LinearizabilityOptions::runtime the
// keys of a round are searched in parallel on that runtime's workers, and
// the verdict and the explanation are the same as without.
//
// The search is Lowe's just-in-time linearization over a linked list of
// call and return events, as in porcupine, with an explicit stack (any
// length of history, no recursion) and a memo of (operations placed,
// model state) pairs already explored. The memo stores a 128-bit
// fingerprint of each pair, 16 bytes, not the pair itself: two different
// pairs sharing a fingerprint (probability below n^2 / 2^128 for n pairs,
// about 3 * 10^-21 for a billion) would prune a branch, which could only turn
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
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "runtime/actor/actor_context.h"
#include "runtime/actor/runtime.h"
#include "runtime/core/task.h"
#include "runtime/core/thread_event.h"

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
  // one after another on the calling thread; `step`, `describe` and
  // `partition` are then called from several threads at once. The runtime must
  // run its own workers (not manual_workers), and the caller must not be one of
  // them: CheckLinearizable blocks until the check is done.
  Runtime* runtime = nullptr;
};

struct LinearizabilityResult {
  bool linearizable = false;
  // When not: which operation could not be placed, then the context. Or
  // why the history itself is invalid.
  std::string explanation;

  // When not linearizable, in indices into the checked operations:
  // With Model::partition, the key reported (see the file comment); all of
  // the following are among its operations.
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

enum class SearchOutcome { kLinearizable, kNotLinearizable, kUnfinished };

// The search over one partition: `ids` index `ops`. Resumable: Run() goes
// on where the last call stopped.
template <typename State, typename Input, typename Output>
class LinearizabilitySearch {
 public:
  using Op = Operation<Input, Output>;

  LinearizabilitySearch(const std::vector<Op>& ops, std::vector<size_t> ids,
                        const Model<State, Input, Output>& model)
      : ops_(ops), ids_(std::move(ids)), model_(model), state_(model.initial) {
    BuildList();
    entry_ = next_[head_];
  }

  // Searches for at most `steps` more steps, and stops early (every few
  // thousand steps it looks) once `*failed_before` (may be null) drops
  // below `position`: kUnfinished if either ends it first. After
  // kNotLinearizable, longest_prefix() is the longest order found.
  SearchOutcome Run(uint64_t steps, const std::atomic<size_t>* failed_before,
                    size_t position) {
    if (Done()) return SearchOutcome::kLinearizable;
    for (uint64_t step = 1; step <= steps; ++step) {
      if ((step & 0xfff) == 0 && failed_before != nullptr &&
          failed_before->load(std::memory_order_relaxed) < position) {
        break;
      }
      if (!IsReturn(entry_)) {
        const uint32_t k = entry_ >> 1;
        const Op& op = ops_[ids_[k]];
        std::optional<State> next = model_.step(state_, op.input, op.output);
        if (next.has_value()) {
          const SearchFingerprint with = Toggle(placed_, k);
          if (seen_.insert(WithState(with, *next)).second) {
            placed_ = with;
            calls_.push_back({entry_, std::move(state_)});
            state_ = std::move(*next);
            Lift(entry_);
            if (op.output.has_value()) --completed_left_;
            RecordLongest();
            if (Done()) return SearchOutcome::kLinearizable;
            entry_ = next_[head_];
            continue;
          }
        }
        entry_ = next_[entry_];
      } else {
        // An unplaced operation returns here: nothing after it may come
        // before it. Undo the last placement and try what follows it.
        if (calls_.empty()) return SearchOutcome::kNotLinearizable;
        entry_ = calls_.back().call;
        state_ = std::move(calls_.back().before);
        calls_.pop_back();
        placed_ = Toggle(placed_, entry_ >> 1);
        Unlift(entry_);
        if (Completed(entry_ >> 1)) ++completed_left_;
        common_ = std::min(common_, calls_.size());
        entry_ = next_[entry_];
      }
    }
    return SearchOutcome::kUnfinished;
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
    completed_left_ = 0;
    for (uint32_t k = 0; k < n; ++k) completed_left_ += Completed(k) ? 1 : 0;
    zobrist_.resize(n);
    for (uint32_t k = 0; k < n; ++k) {
      zobrist_[k] = {SplitMix64(2 * uint64_t{k}),
                     SplitMix64(2 * uint64_t{k} + 1)};
    }
    seen_.reserve(n);
  }

  // True once every completed operation is placed (those that never
  // completed may be left out).
  bool Done() const { return completed_left_ == 0; }

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
  void RecordLongest() {
    const size_t size = calls_.size();
    const uint32_t k = calls_.back().call >> 1;
    if (size <= longest_.size()) {
      if (common_ == size - 1 && longest_[size - 1] == k) common_ = size;
      return;
    }
    longest_.resize(size);
    for (size_t i = common_; i < size; ++i) longest_[i] = calls_[i].call >> 1;
    common_ = size;
  }

  const std::vector<Op>& ops_;
  const std::vector<size_t> ids_;
  const Model<State, Input, Output>& model_;
  uint32_t head_ = 0;
  std::vector<uint32_t> next_;
  std::vector<uint32_t> prev_;
  std::vector<SearchFingerprint> zobrist_;  // per operation
  absl::flat_hash_set<SearchFingerprint, SearchFingerprintHash> seen_;
  std::vector<uint32_t> longest_;
  size_t common_ = 0;
  // Where the search is: the model state, the placed operations and their
  // fingerprint, and the event to try next.
  State state_;
  std::vector<PlacedCall> calls_;
  SearchFingerprint placed_;
  uint32_t entry_ = 0;
  size_t completed_left_ = 0;  // completed operations not placed
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

// Checks partitions in rounds: each round gives every partition not yet
// decided the same budget of steps, four times the last round's, on the
// calling thread or on a runtime's workers. The first round in which some
// partition is found not linearizable ends the check, and the first such
// partition (in key order) is reported. Budgets count steps, not time, so
// the same partition is reported in every run, in either mode; a hard
// partition does not hide an easy failure in another.
template <typename State, typename Input, typename Output>
class PartitionedCheck {
 public:
  using Op = Operation<Input, Output>;
  using Search = LinearizabilitySearch<State, Input, Output>;

  PartitionedCheck(const std::vector<Op>& ops,
                   const Model<State, Input, Output>& model,
                   std::vector<std::string> keys,
                   std::vector<std::vector<size_t>> partitions)
      : ops_(ops),
        model_(model),
        keys_(std::move(keys)),
        partitions_(std::move(partitions)) {}

  LinearizabilityResult Run(Runtime* runtime) {
    for (size_t i = 0; i < partitions_.size(); ++i) undecided_.push_back(i);
    searches_.resize(partitions_.size());
    for (budget_ = kFirstBudget; !undecided_.empty();
         budget_ = std::min(budget_ * 4, kLastBudget)) {
      outcomes_.assign(undecided_.size(), SearchOutcome::kUnfinished);
      next_ = 0;
      first_failed_ = SIZE_MAX;
      if (runtime == nullptr || undecided_.size() < 2) {
        Work();
      } else {
        const size_t actors =
            std::min<size_t>(runtime->workers(), undecided_.size());
        ThreadEvent finished;
        working_ = actors;
        finished_ = &finished;
        for (size_t w = 0; w < actors; ++w) {
          runtime->Spawn(CheckPartitionsActor<PartitionedCheck>, this,
                         ActorOptions{.name = "linearizability-check",
                                      .worker = static_cast<int>(w)});
        }
        finished.Wait();
        finished_ = nullptr;
      }
      std::vector<size_t> still;
      for (size_t j = 0; j < undecided_.size(); ++j) {
        const size_t i = undecided_[j];
        if (outcomes_[j] == SearchOutcome::kNotLinearizable) {
          return Failure(i);
        }
        if (outcomes_[j] == SearchOutcome::kUnfinished) {
          still.push_back(i);
        } else {
          searches_[i].reset();  // linearizable: free its memo
        }
      }
      undecided_ = std::move(still);
    }
    return {.linearizable = true};
  }

  // Runs undecided partitions for this round's budget until none is left;
  // on the calling thread or from each worker actor.
  void Work() {
    for (;;) {
      const size_t j = next_.fetch_add(1);
      if (j >= undecided_.size()) break;
      const size_t i = undecided_[j];
      if (searches_[i] == nullptr) {
        searches_[i] = std::make_unique<Search>(ops_, partitions_[i], model_);
      }
      // A partition after one that failed in this round cannot be the
      // one reported; those before it go on.
      outcomes_[j] = first_failed_.load() < j
                         ? SearchOutcome::kUnfinished
                         : searches_[i]->Run(budget_, &first_failed_, j);
      if (outcomes_[j] == SearchOutcome::kNotLinearizable) {
        size_t failed = first_failed_.load();
        while (j < failed && !first_failed_.compare_exchange_weak(failed, j)) {
        }
      }
    }
    // The last actor out wakes Run(); finished_ is not touched after that.
    if (finished_ != nullptr && working_.fetch_sub(1) == 1) {
      finished_->Notify();
    }
  }

 private:
  static constexpr uint64_t kFirstBudget = 1 << 14;
  static constexpr uint64_t kLastBudget = uint64_t{1} << 60;  // no overflow

  LinearizabilityResult Failure(size_t i) {
    LinearizabilityResult result;
    result.partition = keys_[i];
    result.longest_prefix = searches_[i]->longest_prefix();
    ExplainFailure(ops_, partitions_[i], model_, result);
    return result;
  }

  const std::vector<Op>& ops_;
  const Model<State, Input, Output>& model_;
  const std::vector<std::string> keys_;
  const std::vector<std::vector<size_t>> partitions_;
  std::vector<std::unique_ptr<Search>> searches_;  // by partition
  // This round: the partitions not yet decided, and what each came to.
  std::vector<size_t> undecided_;
  std::vector<SearchOutcome> outcomes_;  // by position in undecided_
  uint64_t budget_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<size_t> first_failed_{SIZE_MAX};  // position in undecided_
  // With a runtime: the round's actors still working, and how they wake
  // Run() when none is.
  std::atomic<size_t> working_{0};
  ThreadEvent* finished_ = nullptr;
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
