#include "services/kv/state_machine.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace anvil::kv {

namespace {

// The command's session, or null if it has none.
const ClientSession* SessionOf(const Command& command) {
  const ClientSession* session = nullptr;
  switch (command.op_case()) {
    case Command::kPut:
      session = &command.put().session();
      break;
    case Command::kDelete:
      session = &command.delete_().session();
      break;
    case Command::kCompareAndSet:
      session = &command.compare_and_set().session();
      break;
    case Command::OP_NOT_SET:
      break;
  }
  return session != nullptr && session->client_id() != 0 ? session : nullptr;
}

}  // namespace

absl::StatusOr<CommandResult> KvStateMachine::Apply(uint64_t index,
                                                    const Command& command) {
  if (index <= applied_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "command at index ", index, " applied after index ", applied_));
  }
  const ClientSession* session = SessionOf(command);
  if (session != nullptr) {
    auto it = sessions_.find(session->client_id());
    if (it != sessions_.end() && session->sequence() <= it->second.sequence) {
      applied_ = index;  // consumed, changing nothing
      if (session->sequence() == it->second.sequence) {
        return it->second.result;  // a repeat: the first one's result
      }
      return absl::AbortedError(absl::StrCat(
          "request ", session->sequence(), " of client ", session->client_id(),
          " arrived after its request ", it->second.sequence, ": not applied"));
    }
  }
  absl::StatusOr<CommandResult> result = ApplyOnce(index, command);
  if (result.ok() && session != nullptr) Remember(*session, index, *result);
  return result;
}

void KvStateMachine::Remember(const ClientSession& session, uint64_t index,
                              const CommandResult& result) {
  Session& kept = sessions_[session.client_id()];
  if (kept.last_index != 0) sessions_by_use_.erase(kept.last_index);
  kept.sequence = session.sequence();
  kept.result = result;
  kept.last_index = index;
  sessions_by_use_.emplace(index, session.client_id());
  while (sessions_.size() > session_limit_) {
    auto oldest = sessions_by_use_.begin();
    sessions_.erase(oldest->second);
    sessions_by_use_.erase(oldest);
  }
}

absl::StatusOr<CommandResult> KvStateMachine::ApplyOnce(
    uint64_t index, const Command& command) {
  CommandResult result;
  switch (command.op_case()) {
    case Command::kPut: {
      Entry& entry = entries_[command.put().key()];
      entry.value = command.put().value();
      entry.version = index;
      result.mutable_put()->set_version(index);
      Record(WatchEvent::PUT, command.put().key(), entry.value, index);
      break;
    }
    case Command::kDelete: {
      const bool existed = entries_.erase(command.delete_().key()) > 0;
      result.mutable_delete_()->set_existed(existed);
      if (existed)
        Record(WatchEvent::DELETE, command.delete_().key(), "", index);
      break;
    }
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
        Record(WatchEvent::PUT, cas.key(), cas.value(), index);
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

void KvStateMachine::Record(WatchEvent::Type type, const std::string& key,
                            const std::string& value, uint64_t index) {
  WatchEvent& event = history_.emplace_back();
  event.set_type(type);
  event.set_key(key);
  event.set_value(value);
  event.set_revision(index);
  history_bytes_ += key.size() + value.size();
  while (history_.size() > history_limit_ ||
         (history_bytes_ > history_bytes_limit_ && history_.size() > 1)) {
    dropped_through_ = history_.front().revision();
    history_bytes_ -=
        history_.front().key().size() + history_.front().value().size();
    history_.pop_front();
  }
}

absl::StatusOr<std::vector<WatchEvent>> KvStateMachine::EventsFrom(
    uint64_t from_revision, const std::string& prefix, size_t max) const {
  if (from_revision <= dropped_through_) {
    return absl::OutOfRangeError(absl::StrCat(
        "revision ", from_revision, " is no longer kept (history from ",
        dropped_through_ + 1, " on); watch from there or later"));
  }
  auto it = std::lower_bound(history_.begin(), history_.end(), from_revision,
                             [](const WatchEvent& event, uint64_t revision) {
                               return event.revision() < revision;
                             });
  std::vector<WatchEvent> events;
  for (; it != history_.end() && events.size() < max; ++it) {
    if (absl::StartsWith(it->key(), prefix)) events.push_back(*it);
  }
  return events;
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
