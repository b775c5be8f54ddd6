// MapPlain: a Plain actor (codegen/testdata/kv.proto) over a fixed map, for
// the generated-code tests; and ReadThrough, one call through a PlainRef.
//
//   PlainRef plain = PlainActor::Spawn(runtime, std::make_shared<MapPlain>());
//   absl::StatusOr<std::string> v = co_await ReadThrough(plain, "a", timeout);
//
// Keys: "a" -> "alpha"; "slow" answers only once the call's deadline passed
// (DEADLINE_EXCEEDED); "deadline" answers "set" or "none" for whether the
// call carries a deadline; "throw" throws std::runtime_error; any other key
// is NOT_FOUND.
#ifndef ANVIL_CODEGEN_TESTDATA_MAP_PLAIN_H_
#define ANVIL_CODEGEN_TESTDATA_MAP_PLAIN_H_

#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "codegen/testdata/kv.anvil.h"
#include "runtime/core/sleep.h"

namespace anvil::codegen::testdata {

class MapPlain final : public PlainActor {
 public:
  Task<absl::StatusOr<ReadReply>> Ping(CallContext& call,
                                       const ReadRequest& request) override {
    if (request.key() == "slow") {
      while (!call.expired()) co_await Sleep(absl::Milliseconds(1));
      co_return absl::DeadlineExceededError("expired");
    }
    if (request.key() == "throw") throw std::runtime_error("thrown by Ping");
    ReadReply reply;
    if (request.key() == "deadline") {
      reply.set_value(call.has_deadline() ? "set" : "none");
      co_return reply;
    }
    auto it = values_.find(request.key());
    if (it == values_.end()) co_return absl::NotFoundError(request.key());
    reply.set_value(it->second);
    co_return reply;
  }

 private:
  std::map<std::string, std::string> values_ = {{"a", "alpha"}};
};

// The value `plain` answers for `key`, or its error.
inline Task<absl::StatusOr<std::string>> ReadThrough(PlainRef plain,
                                                     std::string key,
                                                     absl::Duration timeout) {
  ReadRequest request;
  request.set_key(std::move(key));
  absl::StatusOr<ReadReply> reply =
      co_await plain.Ping(std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return reply->value();
}

}  // namespace anvil::codegen::testdata

#endif  // ANVIL_CODEGEN_TESTDATA_MAP_PLAIN_H_
