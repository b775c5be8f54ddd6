// The linearizability checker on porcupine's test data (the figure to set
// beside porcupine's own, see testing/sim/porcupine_compare) and on
// generated register histories of 1k to 100k operations.
//
//   ./bazelw run --config=opt //testing/sim:linearizability_benchmark
//
// Each run checks its verdict and fails the benchmark if it is wrong.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "testing/sim/linearizability.h"
#include "testing/sim/porcupine_histories.h"
#include "testing/sim/register_model.h"

namespace anvil::sim {
namespace {

// Checks every log of `logs` (or the error reading them) once per
// iteration; each verdict must be porcupine's.
template <typename Logs, typename Model>
void CheckPorcupineLogs(benchmark::State& state, const Logs& logs,
                        const Model& model) {
  if (!logs.ok()) {
    state.SkipWithError(std::string(logs.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    for (const auto& log : *logs) {
      if (CheckLinearizable(log.operations, model).linearizable !=
          log.linearizable) {
        state.SkipWithError(("wrong verdict on " + log.name).c_str());
        return;
      }
    }
  }
  state.counters["histories"] = static_cast<double>(logs->size());
}

void BM_PorcupineEtcdLogs(benchmark::State& state) {
  CheckPorcupineLogs(state, ReadPorcupineEtcdLogs(), EtcdModel());
}
BENCHMARK(BM_PorcupineEtcdLogs)->Unit(benchmark::kMillisecond);

void BM_PorcupineKvLogs(benchmark::State& state) {
  CheckPorcupineLogs(state, ReadPorcupineKvLogs(), KvLogModel());
}
BENCHMARK(BM_PorcupineKvLogs)->Unit(benchmark::kMillisecond);

enum class Variant { kLinearizable, kNotLinearizable, kSomeUnknown };

// A history of a real register: `clients` clients each run operations one
// after another (half writes of fresh values, 40% reads, 10% CAS), each
// taking effect at a random instant between its invocation and its
// completion, so about `clients` overlap at any time. kSomeUnknown drops
// the outcome of 2% of them (they still took effect); kNotLinearizable
// makes the last read return a value overwritten long before.
History<RegisterOp, RegisterOut> GenerateRegisterHistory(int operations,
                                                         Variant variant) {
  constexpr int kClients = 5;
  std::mt19937_64 random(operations * 3 + static_cast<int>(variant));
  struct Generated {
    int client;
    RegisterOp op;
    int64_t invoke, effect, complete;
  };
  std::vector<Generated> generated;
  std::vector<int64_t> free_at(kClients, 0);
  for (int i = 0; i < operations; ++i) {
    const int client = static_cast<int>(
        std::min_element(free_at.begin(), free_at.end()) - free_at.begin());
    const int64_t invoke = free_at[client] + 1 + random() % 5;
    const int64_t complete = invoke + 1 + random() % 20;
    const int64_t effect = invoke + random() % (complete - invoke + 1);
    free_at[client] = complete;
    const int kind = static_cast<int>(random() % 10);
    RegisterOp op{.kind = kind < 5   ? RegisterOp::kWrite
                          : kind < 9 ? RegisterOp::kRead
                                     : RegisterOp::kCas,
                  .value = i + 1};
    generated.push_back({client, op, invoke, effect, complete});
  }
  // Apply in effect order to learn each output.
  std::vector<size_t> by_effect(generated.size());
  for (size_t i = 0; i < by_effect.size(); ++i) by_effect[i] = i;
  std::stable_sort(by_effect.begin(), by_effect.end(), [&](size_t a, size_t b) {
    return generated[a].effect < generated[b].effect;
  });
  std::vector<RegisterOut> outputs(generated.size());
  int value = 0;
  int last = 0;  // the previous value, for CAS to expect
  for (size_t i : by_effect) {
    RegisterOp& op = generated[i].op;
    switch (op.kind) {
      case RegisterOp::kWrite:
        last = value;
        value = op.value;
        break;
      case RegisterOp::kRead:
        outputs[i] = value;
        break;
      case RegisterOp::kCas:
        op.expected = (i % 2 == 0) ? value : last;  // half succeed
        outputs[i] = op.expected == value ? 1 : 0;
        if (op.expected == value) value = op.value;
        break;
    }
  }
  if (variant == Variant::kNotLinearizable) {
    for (size_t j = by_effect.size(); j-- > 0;) {
      const size_t i = by_effect[j];
      if (generated[i].op.kind == RegisterOp::kRead && outputs[i] != 1) {
        outputs[i] = 1;  // the first write's value, long overwritten
        break;
      }
    }
  }
  History<RegisterOp, RegisterOut> history;
  for (size_t i = 0; i < generated.size(); ++i) {
    const size_t id = history.Invoke(generated[i].client, generated[i].op,
                                     generated[i].invoke);
    if (variant == Variant::kSomeUnknown && random() % 50 == 0) continue;
    history.Complete(id, outputs[i], generated[i].complete);
  }
  return history;
}

void BM_GeneratedRegisterHistory(benchmark::State& state) {
  const int operations = static_cast<int>(state.range(0));
  const Variant variant = static_cast<Variant>(state.range(1));
  const History<RegisterOp, RegisterOut> history =
      GenerateRegisterHistory(operations, variant);
  const auto model = RegisterModel();
  for (auto _ : state) {
    LinearizabilityResult result = CheckLinearizable(history, model);
    if (result.linearizable != (variant != Variant::kNotLinearizable)) {
      state.SkipWithError("wrong verdict");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * operations);
}
BENCHMARK(BM_GeneratedRegisterHistory)
    ->ArgNames({"ops", "variant"})
    ->ArgsProduct({{1'000, 10'000, 100'000}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace anvil::sim

BENCHMARK_MAIN();
