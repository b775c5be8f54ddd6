#include "testing/sim/porcupine_histories.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace anvil::sim {
namespace {

// Pairs invocations with completions by client, in event order.
template <typename Input, typename Output>
class HistoryBuilder {
 public:
  void Invoke(int client, Input input) {
    open_[client] = operations_.size();
    operations_.push_back(
        {.client = client, .input = std::move(input), .invoke = time_++});
  }
  // The open operation of `client`, which completes or is abandoned now;
  // null if none.
  Operation<Input, Output>* Close(int client) {
    auto it = open_.find(client);
    if (it == open_.end()) return nullptr;
    Operation<Input, Output>* op = &operations_[it->second];
    open_.erase(it);
    return op;
  }
  int64_t Tick() { return time_++; }
  std::vector<Operation<Input, Output>> Take() {
    return std::move(operations_);
  }

 private:
  std::vector<Operation<Input, Output>> operations_;
  absl::flat_hash_map<int, size_t> open_;
  int64_t time_ = 0;
};

absl::Status LineError(int line, absl::string_view text,
                       absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line, ": ", why, ": \"", text, "\""));
}

}  // namespace

Model<std::optional<int>, EtcdOp, EtcdOutput> EtcdModel() {
  using State = std::optional<int>;
  return {
      .initial = std::nullopt,
      .step = [](const State& state, const EtcdOp& op,
                 const std::optional<EtcdOutput>& out) -> std::optional<State> {
        switch (op.kind) {
          case EtcdOp::kRead:
            if (out.has_value() && out->value != state) return std::nullopt;
            return state;
          case EtcdOp::kWrite:
            return State(op.value);
          case EtcdOp::kCas: {
            const bool swapped = state == op.value;
            if (out.has_value() && out->ok != swapped) return std::nullopt;
            return swapped ? State(op.to) : state;
          }
        }
        return std::nullopt;
      },
      .describe = [](const EtcdOp& op,
                     const std::optional<EtcdOutput>& out) -> std::string {
        switch (op.kind) {
          case EtcdOp::kRead:
            return absl::StrCat("read() -> ", !out.has_value() ? "?"
                                              : out->value.has_value()
                                                  ? absl::StrCat(*out->value)
                                                  : "nil");
          case EtcdOp::kWrite:
            return absl::StrCat("write(", op.value, ")");
          case EtcdOp::kCas:
            return absl::StrCat("cas(", op.value, ", ", op.to, ") -> ",
                                !out.has_value() ? "?"
                                : out->ok        ? "ok"
                                                 : "fail");
        }
        return "";
      }};
}

absl::StatusOr<std::vector<Operation<EtcdOp, EtcdOutput>>> ParseJepsenEtcdLog(
    absl::string_view text) {
  HistoryBuilder<EtcdOp, EtcdOutput> builder;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "INFO  jepsen.util - ")) {
      return LineError(line_number, line, "not a jepsen.util event");
    }
    std::vector<absl::string_view> f =
        absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    int client = 0;
    if (f.size() < 4 || !absl::SimpleAtoi(f[0], &client)) {
      return LineError(line_number, line, "expected: process :type :f value");
    }
    const absl::string_view type = f[1], fn = f[2];
    auto number = [&](size_t i, int& value) {
      if (i >= f.size()) return false;
      absl::string_view s = f[i];
      absl::ConsumePrefix(&s, "[");
      absl::ConsumeSuffix(&s, "]");
      return absl::SimpleAtoi(s, &value);
    };
    EtcdOp op;
    if (type == ":invoke") {
      if (fn == ":read" && f[3] == "nil") {
        op.kind = EtcdOp::kRead;
      } else if (fn == ":write" && number(3, op.value)) {
        op.kind = EtcdOp::kWrite;
      } else if (fn == ":cas" && f.size() == 5 && number(3, op.value) &&
                 number(4, op.to)) {
        op.kind = EtcdOp::kCas;
      } else {
        return LineError(line_number, line, "unknown invocation");
      }
      builder.Invoke(client, op);
      continue;
    }
    if (type != ":ok" && type != ":fail" && type != ":info") {
      return LineError(line_number, line, "unknown event type");
    }
    Operation<EtcdOp, EtcdOutput>* open = builder.Close(client);
    if (open == nullptr) {
      return LineError(line_number, line, "completes nothing invoked");
    }
    const int64_t time = builder.Tick();
    // :info: the outcome is unknown; a read that timed out changed nothing.
    if (type == ":info" || (type == ":fail" && fn == ":read")) continue;
    EtcdOutput out;
    if (fn == ":read" && open->input.kind == EtcdOp::kRead) {
      int value = 0;
      if (f[3] != "nil") {
        if (!number(3, value)) return LineError(line_number, line, "bad read");
        out.value = value;
      }
    } else if (fn == ":cas" && open->input.kind == EtcdOp::kCas) {
      out.ok = type == ":ok";
    } else if (!(fn == ":write" && open->input.kind == EtcdOp::kWrite &&
                 type == ":ok")) {
      return LineError(line_number, line,
                       "does not match the client's open invocation");
    }
    open->output = out;
    open->complete = time;
  }
  return builder.Take();
}

Model<std::string, KvLogOp, std::string> KvLogModel() {
  return {.initial = "",
          .step = [](const std::string& state, const KvLogOp& op,
                     const std::optional<std::string>& out)
              -> std::optional<std::string> {
            switch (op.kind) {
              case KvLogOp::kGet:
                if (out.has_value() && *out != state) return std::nullopt;
                return state;
              case KvLogOp::kPut:
                return op.value;
              case KvLogOp::kAppend:
                return absl::StrCat(state, op.value);
            }
            return std::nullopt;
          },
          .describe = [](const KvLogOp& op,
                         const std::optional<std::string>& out) -> std::string {
            switch (op.kind) {
              case KvLogOp::kGet:
                return absl::StrCat(
                    "get('", op.key, "') -> ",
                    out.has_value() ? absl::StrCat("'", *out, "'") : "?");
              case KvLogOp::kPut:
                return absl::StrCat("put('", op.key, "', '", op.value, "')");
              case KvLogOp::kAppend:
                return absl::StrCat("append('", op.key, "', '", op.value, "')");
            }
            return "";
          },
          .partition = [](const KvLogOp& op) { return op.key; }};
}

absl::StatusOr<std::vector<Operation<KvLogOp, std::string>>> ParseKvLog(
    absl::string_view text) {
  HistoryBuilder<KvLogOp, std::string> builder;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    // {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
    absl::string_view rest = line;
    int client = 0;
    std::vector<absl::string_view> head =
        absl::StrSplit(rest, absl::MaxSplits(", :key \"", 1));
    absl::string_view fields = head[0];
    if (head.size() != 2 || !absl::ConsumePrefix(&fields, "{:process ")) {
      return LineError(line_number, line, "expected {:process N, ... :key");
    }
    std::vector<absl::string_view> f = absl::StrSplit(fields, ", ");
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &client) ||
        !absl::ConsumePrefix(&f[1], ":type ") ||
        !absl::ConsumePrefix(&f[2], ":f ")) {
      return LineError(line_number, line, "expected :process, :type, :f");
    }
    std::vector<absl::string_view> kv =
        absl::StrSplit(head[1], absl::MaxSplits("\", :value ", 1));
    absl::string_view value = kv.size() == 2 ? kv[1] : "";
    if (kv.size() != 2 || !absl::ConsumeSuffix(&value, "}")) {
      return LineError(line_number, line, "expected :key \"k\", :value v}");
    }
    const bool nil = value == "nil";
    if (!nil && !(absl::ConsumePrefix(&value, "\"") &&
                  absl::ConsumeSuffix(&value, "\""))) {
      return LineError(line_number, line, "a value is nil or quoted");
    }
    const absl::string_view type = f[1], fn = f[2];
    KvLogOp op{.key = std::string(kv[0]), .value = std::string(value)};
    if (fn == ":get") {
      op.kind = KvLogOp::kGet;
    } else if (fn == ":put") {
      op.kind = KvLogOp::kPut;
    } else if (fn == ":append") {
      op.kind = KvLogOp::kAppend;
    } else {
      return LineError(line_number, line, "unknown :f");
    }
    if (type == ":invoke") {
      if (op.kind == KvLogOp::kGet) op.value.clear();
      builder.Invoke(client, std::move(op));
      continue;
    }
    if (type != ":ok" && type != ":info") {
      return LineError(line_number, line, "unknown :type");
    }
    Operation<KvLogOp, std::string>* open = builder.Close(client);
    if (open == nullptr || open->input.kind != op.kind ||
        open->input.key != op.key) {
      return LineError(line_number, line,
                       "does not match the client's open invocation");
    }
    const int64_t time = builder.Tick();
    if (type == ":info") continue;
    open->output = op.kind == KvLogOp::kGet ? op.value : std::string();
    open->complete = time;
  }
  return builder.Take();
}

namespace {

absl::StatusOr<std::string> ReadTestData(const std::string& name) {
  const std::string path = "testing/sim/testdata/porcupine/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, " (run from the runfiles root)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename Input, typename Output, typename Parse>
absl::StatusOr<PorcupineLog<Input, Output>> ReadLog(std::string name,
                                                    bool linearizable,
                                                    Parse parse) {
  absl::StatusOr<std::string> text = ReadTestData(name);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Operation<Input, Output>>> operations =
      parse(*text);
  if (!operations.ok()) {
    return absl::Status(
        operations.status().code(),
        absl::StrCat(name, ": ", operations.status().message()));
  }
  return PorcupineLog<Input, Output>{.name = std::move(name),
                                     .operations = *std::move(operations),
                                     .linearizable = linearizable};
}

}  // namespace

absl::StatusOr<std::vector<PorcupineLog<EtcdOp, EtcdOutput>>>
ReadPorcupineEtcdLogs() {
  static constexpr int kLinearizable[] = {2,  5,  7,  18, 25,  31,  38, 45,
                                          48, 49, 51, 53, 56,  67,  75, 76,
                                          80, 87, 92, 98, 100, 101, 102};
  std::vector<PorcupineLog<EtcdOp, EtcdOutput>> logs;
  for (int log = 0; log <= 102; ++log) {
    if (log == 95) continue;  // porcupine's tests have no verdict for it
    absl::StatusOr<PorcupineLog<EtcdOp, EtcdOutput>> read =
        ReadLog<EtcdOp, EtcdOutput>(
            absl::StrFormat("jepsen/etcd_%03d.log", log),
            std::find(std::begin(kLinearizable), std::end(kLinearizable),
                      log) != std::end(kLinearizable),
            ParseJepsenEtcdLog);
    if (!read.ok()) return read.status();
    logs.push_back(*std::move(read));
  }
  return logs;
}

absl::StatusOr<std::vector<PorcupineLog<KvLogOp, std::string>>>
ReadPorcupineKvLogs() {
  std::vector<PorcupineLog<KvLogOp, std::string>> logs;
  for (const char* name :
       {"c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"}) {
    const std::string file = absl::StrCat("kv/", name, ".txt");
    absl::StatusOr<PorcupineLog<KvLogOp, std::string>> read =
        ReadLog<KvLogOp, std::string>(file, absl::EndsWith(name, "-ok"),
                                      ParseKvLog);
    if (!read.ok()) return read.status();
    logs.push_back(*std::move(read));
  }
  return logs;
}

}  // namespace anvil::sim
