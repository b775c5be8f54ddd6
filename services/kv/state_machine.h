// KvStateMachine: the key-value map that Raft replicates. Every replica
// applies the same committed commands in the same order and so holds the
// same map; a command's result (a Put's version, whether a
// CompareAndSet swapped) is decided here, deterministically.
//
//   KvStateMachine kv;
//   Command put;
//   put.mutable_put()->set_key("k");
//   put.mutable_put()->set_value("v");
//   absl::StatusOr<CommandResult> r = kv.Apply(/*index=*/1, put);
//   GetReply got = kv.Get("k");   // found, "v", version 1
//
// Versions are the log index of the write that last set a key, so they
// only grow. Thread-compatible.
#ifndef ANVIL_SERVICES_KV_STATE_MACHINE_H_
#define ANVIL_SERVICES_KV_STATE_MACHINE_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/kv/kv.pb.h"

namespace anvil::kv {

class KvStateMachine {
 public:
  // Applies the committed `command` at log `index`. INVALID_ARGUMENT (and
  // no change) for a command with no operation, or an index not after the
  // last applied one.
  absl::StatusOr<CommandResult> Apply(uint64_t index, const Command& command);

  GetReply Get(const std::string& key) const;

  // Index of the last command applied; 0 before any.
  uint64_t applied_index() const { return applied_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string value;
    uint64_t version = 0;
  };
  absl::flat_hash_map<std::string, Entry> entries_;
  uint64_t applied_ = 0;
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_STATE_MACHINE_H_
