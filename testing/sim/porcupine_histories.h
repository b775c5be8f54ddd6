// Histories in the formats of porcupine's test data, and the models that
// check them: Jepsen's etcd register logs and porcupine's key-value logs.
// With them the checker runs on the same inputs as porcupine, for a test
// of its verdicts and a side-by-side benchmark.
//
//   absl::StatusOr<std::vector<Operation<EtcdOp, EtcdOutput>>> history =
//       ParseJepsenEtcdLog(text);   // "INFO  jepsen.util - 3\t:invoke..."
//   LinearizabilityResult r = CheckLinearizable(*history, EtcdModel());
//
// Times are event indices, as in porcupine. An operation with no
// completion (Jepsen's `:info`, a read that `:fail`s as `:timed-out`) has
// no output: it may or may not have taken effect. A malformed line, or a
// completion no invocation matches, is an error naming its line.
//
// The data (testing/sim/testdata/porcupine, MIT, see LICENSE.md there) is
// porcupine's: 103 Jepsen logs of etcd and 6 key-value logs.
#ifndef ANVIL_TESTING_SIM_PORCUPINE_HISTORIES_H_
#define ANVIL_TESTING_SIM_PORCUPINE_HISTORIES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "testing/sim/linearizability.h"

namespace anvil::sim {

// An etcd register operation: read, write(value), cas(value -> to).
struct EtcdOp {
  enum Kind { kRead, kWrite, kCas } kind = kRead;
  int value = 0;
  int to = 0;
};
struct EtcdOutput {
  bool ok = false;           // cas
  std::optional<int> value;  // read; none: the key is absent (nil)
};
// State: the register's value, none while absent.
Model<std::optional<int>, EtcdOp, EtcdOutput> EtcdModel();
absl::StatusOr<std::vector<Operation<EtcdOp, EtcdOutput>>> ParseJepsenEtcdLog(
    absl::string_view text);

// A key-value operation: get(key), put(key, value), append(key, value).
struct KvLogOp {
  enum Kind { kGet, kPut, kAppend } kind = kGet;
  std::string key;
  std::string value;
};
// State: one key's value; partitioned by key. The output is get's value.
Model<std::string, KvLogOp, std::string> KvLogModel();
absl::StatusOr<std::vector<Operation<KvLogOp, std::string>>> ParseKvLog(
    absl::string_view text);

// One log of that data, parsed, with the verdict porcupine's own tests
// (porcupine_test.go) expect of it.
template <typename Input, typename Output>
struct PorcupineLog {
  std::string name;  // "jepsen/etcd_007.log"
  std::vector<Operation<Input, Output>> operations;
  bool linearizable = false;
};

// The 102 etcd logs porcupine's tests give a verdict for (all but
// etcd_095), and the 6 key-value logs, read from
// testing/sim/testdata/porcupine under the working directory (a test's, or
// `bazel run`'s, runfiles root). NOT_FOUND naming a file that cannot be
// read; a parse error is prefixed with the file's name.
absl::StatusOr<std::vector<PorcupineLog<EtcdOp, EtcdOutput>>>
ReadPorcupineEtcdLogs();
absl::StatusOr<std::vector<PorcupineLog<KvLogOp, std::string>>>
ReadPorcupineKvLogs();

}  // namespace anvil::sim

#endif  // ANVIL_TESTING_SIM_PORCUPINE_HISTORIES_H_
