#include "services/hello/hello_daemons.h"

#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/async_event.h"
#include "runtime/core/sleep.h"

namespace hello {
namespace {

class MemGuestBook final : public GuestBookDaemon {
 public:
  explicit MemGuestBook(const GuestBookDeps& deps) : GuestBookDaemon(deps) {}

  anvil::Task<> Sign(anvil::CallContext&, const Signature& request) override {
    entries_.push_back(request.who());
    co_return;
  }

  anvil::Task<absl::StatusOr<Signatures>> List(
      anvil::CallContext&, const google::protobuf::Empty&) override {
    Signatures reply;
    for (const std::string& who : entries_) reply.add_who(who);
    co_return reply;
  }

  // Serves until stopped (after the signers: they depend on it), then
  // prints the book.
  anvil::Task<absl::Status> Run() override {
    absl::Status status = co_await GuestBookDaemon::Run();
    std::printf("guest book: %s\n", absl::StrJoin(entries_, ", ").c_str());
    co_return status;
  }

 private:
  // Touched only by the daemon's actor, and by Run once the actor ended.
  std::vector<std::string> entries_;
};

// Calls Tick() every 100 ms from Run() until stopped.
template <typename Interface>
class Periodic : public Interface {
 public:
  anvil::Task<absl::Status> Run() final {
    anvil::Interval every(absl::Milliseconds(100));
    while (!stopped_.HasBeenNotified()) {
      co_await Tick();
      co_await every.Next();
    }
    co_return absl::OkStatus();
  }
  anvil::Task<> Stop() final {
    stopped_.Notify();
    co_return;
  }

 protected:
  virtual anvil::Task<> Tick() = 0;

 private:
  anvil::AsyncEvent stopped_;
};

// Signs the guest book: "hello.Alice" as "alice#1", "alice#2", ...
template <typename Interface>
class Signer final : public Periodic<Interface> {
 public:
  explicit Signer(const typename Interface::Deps& deps)
      : book_(deps.guest_book),
        who_(absl::AsciiStrToLower(
            deps.context.info().name.substr(std::string("hello.").size()))) {
    deps.context.log().info("{} will sign every 100 ms", who_);
  }

 private:
  anvil::Task<> Tick() override {
    Signature signature;
    signature.set_who(absl::StrCat(who_, "#", ++signed_));
    if (absl::Status sent = book_.Sign(std::move(signature)); sent.ok()) {
      std::printf("%s signed the guest book\n", who_.c_str());
    } else {
      std::printf("%s could not sign: %s\n", who_.c_str(),
                  sent.ToString().c_str());
    }
    co_return;
  }

  GuestBookRef book_;
  const std::string who_;
  int signed_ = 0;
};

// Counts the signatures.
class Reader final : public Periodic<CarolDaemon> {
 public:
  explicit Reader(const CarolDeps& deps) : book_(deps.guest_book) {}

 private:
  anvil::Task<> Tick() override {
    absl::StatusOr<Signatures> book =
        co_await book_.List(google::protobuf::Empty());
    if (book.ok()) {
      std::printf("carol counts %d signatures\n", book->who_size());
    } else {
      std::printf("carol could not read: %s\n",
                  book.status().ToString().c_str());
    }
  }

  GuestBookRef book_;
};

}  // namespace

void BindAll(anvil::Factory& factory) {
  factory.Bind<GuestBookDaemon, MemGuestBook>();
  factory.Bind<AliceDaemon, Signer<AliceDaemon>>();
  factory.Bind<BobDaemon, Signer<BobDaemon>>();
  factory.Bind<CarolDaemon, Reader>();
}

std::vector<std::string> DaemonChoices() { return {"alice", "bob", "carol"}; }

absl::Status Build(anvil::Factory& factory, const std::string& choice) {
  absl::Status status;
  if (choice == "alice") {
    status = factory.Get<AliceDaemon>().status();
  } else if (choice == "bob") {
    status = factory.Get<BobDaemon>().status();
  } else if (choice == "carol") {
    status = factory.Get<CarolDaemon>().status();
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown daemon '", choice,
                     "'; valid: ", absl::StrJoin(DaemonChoices(), ", ")));
  }
  return status;
}

}  // namespace hello
