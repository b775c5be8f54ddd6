// RegisterModel: a linearizability model of one integer register with
// Write(v), Read() -> v and CompareAndSet(expected, v) -> 1 or 0, for tests
// and benchmarks of the checker and of toy replicated registers; and
// KeyedRegisterModel, many such registers named by a key.
//
//   History<RegisterOp, RegisterOut> history;
//   size_t id = history.Invoke(1, RegisterOp{RegisterOp::kWrite, 5}, now);
//   history.Complete(id, 0, later);
//   EXPECT_TRUE(CheckLinearizable(history, RegisterModel()).linearizable);
#ifndef ANVIL_TESTING_SIM_REGISTER_MODEL_H_
#define ANVIL_TESTING_SIM_REGISTER_MODEL_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "testing/sim/linearizability.h"

namespace anvil::sim {

// A register holding an int: Write(v), Read() -> v, and CompareAndSet.
struct RegisterOp {
  enum Kind { kWrite, kRead, kCas } kind;
  int value = 0;     // written, or CAS's new value
  int expected = 0;  // CAS's expected value
};
// Read's value, or CAS's success (1/0); Write returns 0.
using RegisterOut = int;

inline Model<int, RegisterOp, RegisterOut> RegisterModel() {
  return {
      .initial = 0,
      .step = [](const int& state, const RegisterOp& op,
                 const std::optional<RegisterOut>& out) -> std::optional<int> {
        switch (op.kind) {
          case RegisterOp::kWrite:
            return op.value;
          case RegisterOp::kRead:
            if (out.has_value() && *out != state) return std::nullopt;
            return state;
          case RegisterOp::kCas: {
            const bool swapped = state == op.expected;
            if (out.has_value() && *out != (swapped ? 1 : 0)) {
              return std::nullopt;
            }
            return swapped ? op.value : state;
          }
        }
        return std::nullopt;
      },
      .describe = [](const RegisterOp& op,
                     const std::optional<RegisterOut>& out) -> std::string {
        const std::string result =
            out.has_value() ? absl::StrCat(*out) : std::string("?");
        switch (op.kind) {
          case RegisterOp::kWrite:
            return absl::StrCat("Write(", op.value, ")");
          case RegisterOp::kRead:
            return absl::StrCat("Read() -> ", result);
          case RegisterOp::kCas:
            return absl::StrCat("Cas(", op.expected, ", ", op.value, ") -> ",
                                result);
        }
        return "";
      }};
}

// Registers named by a key, each an independent object: the model sets
// Model::partition.
struct KeyedRegisterOp {
  std::string key;
  RegisterOp op;
};

inline Model<int, KeyedRegisterOp, RegisterOut> KeyedRegisterModel() {
  Model<int, RegisterOp, RegisterOut> one = RegisterModel();
  return {.initial = 0,
          .step =
              [one](const int& state, const KeyedRegisterOp& op,
                    const std::optional<RegisterOut>& out) {
                return one.step(state, op.op, out);
              },
          .describe =
              [one](const KeyedRegisterOp& op,
                    const std::optional<RegisterOut>& out) {
                return absl::StrCat(op.key, ".", one.describe(op.op, out));
              },
          .partition = [](const KeyedRegisterOp& op) { return op.key; }};
}

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_REGISTER_MODEL_H_
