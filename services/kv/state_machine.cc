#include "services/kv/state_machine.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace anvil::kv {

absl::StatusOr<CommandResult> KvStateMachine::Apply(uint64_t index,
                                                    const Command& command) {
  if (index <= applied_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "command at index ", index, " applied after index ", applied_));
  }
  CommandResult result;
  switch (command.op_case()) {
    case Command::kPut: {
      Entry& entry = entries_[command.put().key()];
      entry.value = command.put().value();
      entry.version = index;
      result.mutable_put()->set_version(index);
      break;
    }
    case Command::kDelete:
      result.mutable_delete_()->set_existed(
          entries_.erase(command.delete_().key()) > 0);
      break;
    case Command::kCompareAndSet: {
      const CompareAndSetRequest& cas = command.compare_and_set();
      auto it = entries_.find(cas.key());
      const bool found = it != entries_.end();
      const bool matches = cas.expect_absent()
                               ? !found
                               : found && it->second.value == cas.expected();
      CompareAndSetReply* reply = result.mutable_compare_and_set();
      if (matches) {
        Entry& entry = entries_[cas.key()];
        entry.value = cas.value();
        entry.version = index;
        reply->set_swapped(true);
        reply->set_version(index);
      } else {
        reply->set_found(found);
        if (found) {
          reply->set_current(it->second.value);
          reply->set_version(it->second.version);
        }
      }
      break;
    }
    case Command::OP_NOT_SET:
      return absl::InvalidArgumentError(
          absl::StrCat("command at index ", index, " has no operation"));
  }
  applied_ = index;
  return result;
}

GetReply KvStateMachine::Get(const std::string& key) const {
  GetReply reply;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    reply.set_found(true);
    reply.set_value(it->second.value);
    reply.set_version(it->second.version);
  }
  return reply;
}

}  // namespace anvil::kv
