// The hello example's daemons, declared in services/hello/hello.proto and
// implemented here against the generated base classes:
//
//   anvil::Factory root(runtime);
//   hello::BindAll(root);
//   hello::Build(root, "alice");   // builds GuestBook, then Alice
//
// alice and bob sign the guest book every 100 ms (one-way calls); carol
// asks it how many have signed; the guest book prints every signature when
// it stops, after the signers (it is their dependency).
#ifndef ANVIL_SERVICES_HELLO_HELLO_DAEMONS_H_
#define ANVIL_SERVICES_HELLO_HELLO_DAEMONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/daemon/factory.h"
#include "services/hello/hello.anvil.h"

namespace hello {

// Binds the implementations of all four.
void BindAll(anvil::Factory& factory);

// The names Build accepts: alice, bob, carol.
std::vector<std::string> DaemonChoices();

// Builds the daemon called `choice` (and what it needs). INVALID_ARGUMENT
// for an unknown name, listing the valid ones.
absl::Status Build(anvil::Factory& factory, const std::string& choice);

}  // namespace hello

#endif  // ANVIL_SERVICES_HELLO_HELLO_DAEMONS_H_
