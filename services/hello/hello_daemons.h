// The hello example's daemons, declared by hand (protoc-gen-anvil will
// generate such declarations from a .proto):
//
//   hello.GuestBook  kProcess            a list of signatures
//   hello.Alice      kNode, -> GuestBook signs it every few milliseconds
//   hello.Bob        kNode, -> GuestBook signs it too
//   hello.Carol      kNode, -> GuestBook reads how many have signed
//
//   anvil::Factory root(runtime);
//   hello::BindAll(root);
//   hello::Build(root, "alice");   // builds GuestBook, then Alice
#ifndef ANVIL_SERVICES_HELLO_HELLO_DAEMONS_H_
#define ANVIL_SERVICES_HELLO_HELLO_DAEMONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/daemon/daemon.h"
#include "runtime/daemon/factory.h"

namespace hello {

class GuestBook : public anvil::Daemon {
 public:
  static anvil::DaemonInfo Info() {
    return {.name = "hello.GuestBook", .scope = anvil::DaemonScope::kProcess};
  }
  // Thread-safe.
  virtual void Sign(std::string who) = 0;
  virtual std::vector<std::string> Entries() const = 0;
};

class Alice : public anvil::Daemon {
 public:
  static anvil::DaemonInfo Info() {
    return {.name = "hello.Alice", .depends_on = {"hello.GuestBook"}};
  }
};

class Bob : public anvil::Daemon {
 public:
  static anvil::DaemonInfo Info() {
    return {.name = "hello.Bob", .depends_on = {"hello.GuestBook"}};
  }
};

class Carol : public anvil::Daemon {
 public:
  static anvil::DaemonInfo Info() {
    return {.name = "hello.Carol", .depends_on = {"hello.GuestBook"}};
  }
};

// Binds the implementations of all four.
void BindAll(anvil::Factory& factory);

// The names Build accepts: alice, bob, carol.
std::vector<std::string> DaemonChoices();

// Builds the daemon called `choice` (and what it needs). INVALID_ARGUMENT
// for an unknown name, listing the valid ones.
absl::Status Build(anvil::Factory& factory, const std::string& choice);

}  // namespace hello

#endif  // ANVIL_SERVICES_HELLO_HELLO_DAEMONS_H_
