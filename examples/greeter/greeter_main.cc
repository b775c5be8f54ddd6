// greeter: the smallest whole anvil service, as a node program. Counter
// and Greeter are daemons declared in greeter.proto; Greeter, exposed,
// calls Counter for each greeting.
//
//   ./bazelw run //examples/greeter -- --anvil_listen=127.0.0.1:7000
//   grpcurl -plaintext -d '{"name": "Ada"}' 127.0.0.1:7000 \
//       anvil.examples.greeter.Greeter/Greet
//   {"text": "Hello, Ada (greeting 1)"}
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "examples/greeter/greeter.anvil.h"
#include "runtime/core/status_macros.h"
#include "runtime/node/node_main.h"

namespace anvil::examples::greeter {

class CounterImpl final : public CounterDaemon {
 public:
  using CounterDaemon::CounterDaemon;

  Task<absl::StatusOr<CountReply>> Next(CallContext&,
                                        const CountRequest&) override {
    CountReply reply;
    reply.set_count(++count_);  // one call at a time: no lock needed
    co_return reply;
  }

 private:
  int64_t count_ = 0;
};

class GreeterImpl final : public GreeterDaemon {
 public:
  using GreeterDaemon::GreeterDaemon;

  Task<absl::StatusOr<GreetReply>> Greet(CallContext& call,
                                         const GreetRequest& request) override {
    ANVIL_CO_ASSIGN_OR_RETURN(CountReply n,
                              co_await counter().Next(CountRequest(), call));
    GreetReply reply;
    reply.set_text(
        absl::StrCat("Hello, ", request.name(), " (greeting ", n.count(), ")"));
    co_return reply;
  }
};

}  // namespace anvil::examples::greeter

int main(int argc, char** argv) {
  using namespace anvil::examples::greeter;  // NOLINT: the example's own
  return anvil::NodeMain(
      argc, argv,
      {.usage = "greeter --anvil_listen=127.0.0.1:7000",
       .runtime = {.name = "greeter"},
       .bind = anvil::BindDaemons<CounterImpl, GreeterImpl>()});
}
