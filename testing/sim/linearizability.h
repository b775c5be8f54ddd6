// History and CheckLinearizable: record what clients of a system did and
// when, then check that some order of those operations, one that respects
// real time (an operation that completed before another began comes first),
// is allowed by a sequential model of the system. The search is Wing and
// Gong's, with the memoization of Lowe (and porcupine): each (set of
// operations placed, model state) is explored once.
//
//   // A register: Write(v) or Read() -> v.
//   struct Op { bool write; int value; };
//   anvil::sim::Model<int, Op, int> model{
//       .initial = 0,
//       .step = [](const int& state, const Op& op, const std::optional<int>&
//       out)
//           -> std::optional<int> {       // the next state, or nullopt
//         if (op.write) return op.value;
//         if (out.has_value() && *out != state) return std::nullopt;
//         return state;
//       },
//       .describe = [](const Op& op, const std::optional<int>& out) { ... }};
//   anvil::sim::History<Op, int> history;
//   size_t id = history.Invoke(/*client=*/1, Op{true, 5}, now);
//   history.Complete(id, 0, later);       // never completed: outcome unknown
//   LinearizabilityResult r = CheckLinearizable(history, model);
//   EXPECT_TRUE(r.linearizable) << r.explanation;
//
// An operation that never completed (a timeout, a crash) may or may not
// have taken effect: it is placed anywhere after its invocation, or left
// out; `step` sees it with no output. Times are any monotonic clock
// (virtual nanoseconds in a simulation).
//
// The search is exponential in the worst case (the problem is NP-complete);
// histories of a few hundred operations on one object check quickly. Check
// independent objects (keys of a store) separately.
//
// Thread-compatible.
#ifndef ANVIL_TESTING_SIM_LINEARIZABILITY_H_
#define ANVIL_TESTING_SIM_LINEARIZABILITY_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace anvil::sim {

template <typename Input, typename Output>
struct Operation {
  int client = 0;
  Input input;
  std::optional<Output> output;  // none: it never completed
  int64_t invoke = 0;
  int64_t complete = INT64_MAX;  // INT64_MAX: never
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

struct LinearizabilityResult {
  bool linearizable = false;
  // When not: the longest order found that the model allows, and the
  // operations none of which could come next, with their times.
  std::string explanation;
};

namespace internal {

template <typename State, typename Input, typename Output>
class LinearizabilitySearch {
 public:
  LinearizabilitySearch(const std::vector<Operation<Input, Output>>& ops,
                        const Model<State, Input, Output>& model)
      : ops_(ops), model_(model), placed_(ops.size(), false) {
    for (const auto& op : ops) completed_ += op.output.has_value() ? 1 : 0;
  }

  LinearizabilityResult Run() {
    std::vector<size_t> order;
    if (Search(model_.initial, order, 0)) return {true, ""};
    return {false, Explain()};
  }

 private:
  // Places operations after `order` (with `done` completed ones placed);
  // true once every completed operation is.
  bool Search(const State& state, std::vector<size_t>& order, size_t done) {
    if (done == completed_) return true;
    if (!Visit(state)) return false;  // explored before
    // The next operation must have begun before every unplaced completed
    // operation ended.
    int64_t horizon = INT64_MAX;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!placed_[i]) horizon = std::min(horizon, ops_[i].complete);
    }
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (placed_[i] || ops_[i].invoke > horizon) continue;
      std::optional<State> next =
          model_.step(state, ops_[i].input, ops_[i].output);
      if (!next.has_value()) continue;
      placed_[i] = true;
      order.push_back(i);
      if (order.size() > best_.size()) best_ = order;
      const bool found =
          Search(*next, order, done + (ops_[i].output.has_value() ? 1 : 0));
      order.pop_back();
      placed_[i] = false;
      if (found) return true;
    }
    return false;
  }

  // Records (placed, state); false if seen already.
  bool Visit(const State& state) {
    std::vector<State>& states = seen_[placed_];
    if (std::find(states.begin(), states.end(), state) != states.end()) {
      return false;
    }
    states.push_back(state);
    return true;
  }

  std::string Describe(size_t i) const {
    const auto& op = ops_[i];
    const std::string end =
        op.complete == INT64_MAX
            ? "never"
            : absl::FormatDuration(absl::Nanoseconds(op.complete));
    return absl::StrCat(
        "client ", op.client, " ", model_.describe(op.input, op.output), " [",
        absl::FormatDuration(absl::Nanoseconds(op.invoke)), ", ", end, "]");
  }

  std::string Explain() const {
    std::vector<bool> placed(ops_.size(), false);
    std::vector<std::string> order;
    for (size_t i : best_) {
      placed[i] = true;
      order.push_back(Describe(i));
    }
    int64_t horizon = INT64_MAX;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!placed[i]) horizon = std::min(horizon, ops_[i].complete);
    }
    std::vector<std::string> stuck;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!placed[i] && ops_[i].invoke <= horizon) stuck.push_back(Describe(i));
    }
    return absl::StrCat(
        "not linearizable: the longest order the model allows places ",
        best_.size(), " of ", ops_.size(), " operations:\n  ",
        order.empty() ? "(none)" : absl::StrJoin(order, "\n  "),
        "\nand then none of these can come next:\n  ",
        absl::StrJoin(stuck, "\n  "));
  }

  const std::vector<Operation<Input, Output>>& ops_;
  const Model<State, Input, Output>& model_;
  size_t completed_ = 0;
  std::vector<bool> placed_;
  std::vector<size_t> best_;
  std::map<std::vector<bool>, std::vector<State>> seen_;
};

}  // namespace internal

// REQUIRES: State is copyable and equality-comparable.
template <typename State, typename Input, typename Output>
LinearizabilityResult CheckLinearizable(
    const std::vector<Operation<Input, Output>>& operations,
    const Model<State, Input, Output>& model) {
  return internal::LinearizabilitySearch<State, Input, Output>(operations,
                                                               model)
      .Run();
}

template <typename State, typename Input, typename Output>
LinearizabilityResult CheckLinearizable(
    const History<Input, Output>& history,
    const Model<State, Input, Output>& model) {
  return CheckLinearizable(history.operations(), model);
}

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_LINEARIZABILITY_H_
