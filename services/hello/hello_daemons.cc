#include "services/hello/hello_daemons.h"

#include <atomic>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/mutex.h"
#include "runtime/core/sleep.h"

namespace hello {
namespace {

class MemGuestBook final : public GuestBook {
 public:
  explicit MemGuestBook(anvil::DaemonContext&) {}

  void Sign(std::string who) override {
    anvil::MutexLock lock(mu_);
    entries_.push_back(std::move(who));
  }
  std::vector<std::string> Entries() const override {
    anvil::MutexLock lock(mu_);
    return entries_;
  }
  anvil::Task<absl::Status> Run() override {
    while (!stopped_.load()) co_await anvil::Sleep(absl::Milliseconds(5));
    co_return absl::OkStatus();
  }
  anvil::Task<> Stop() override {
    stopped_.store(true);
    co_return;
  }

 private:
  mutable anvil::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stopped_{false};
};

// Calls Tick() every 100 ms from Run() until stopped.
template <typename Interface>
class Periodic : public Interface {
 public:
  anvil::Task<absl::Status> Run() final {
    anvil::Interval every(absl::Milliseconds(100));
    while (!stopped_.load()) {
      Tick();
      co_await every.Next();
    }
    co_return absl::OkStatus();
  }
  anvil::Task<> Stop() final {
    stopped_.store(true);
    co_return;
  }

 protected:
  virtual void Tick() = 0;

 private:
  std::atomic<bool> stopped_{false};
};

// Signs the guest book: "hello.Alice" as "alice#1", "alice#2", ...
template <typename Interface>
class Signer final : public Periodic<Interface> {
 public:
  explicit Signer(anvil::DaemonContext& ctx)
      : book_(ctx.Get<GuestBook>()),
        who_(absl::AsciiStrToLower(
            ctx.info().name.substr(std::string("hello.").size()))) {
    ctx.log().info("{} will sign every 100 ms", who_);
  }

 private:
  void Tick() override {
    book_.Sign(absl::StrCat(who_, "#", ++signed_));
    std::printf("%s signed the guest book\n", who_.c_str());
  }

  GuestBook& book_;
  const std::string who_;
  int signed_ = 0;
};

// Reads the guest book.
class Reader final : public Periodic<Carol> {
 public:
  explicit Reader(anvil::DaemonContext& ctx) : book_(ctx.Get<GuestBook>()) {}

 private:
  void Tick() override {
    std::printf("carol counts %zu signatures\n", book_.Entries().size());
  }

  GuestBook& book_;
};

}  // namespace

void BindAll(anvil::Factory& factory) {
  factory.Bind<GuestBook, MemGuestBook>();
  factory.Bind<Alice, Signer<Alice>>();
  factory.Bind<Bob, Signer<Bob>>();
  factory.Bind<Carol, Reader>();
}

std::vector<std::string> DaemonChoices() { return {"alice", "bob", "carol"}; }

absl::Status Build(anvil::Factory& factory, const std::string& choice) {
  absl::Status status;
  if (choice == "alice") {
    status = factory.Get<Alice>().status();
  } else if (choice == "bob") {
    status = factory.Get<Bob>().status();
  } else if (choice == "carol") {
    status = factory.Get<Carol>().status();
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown daemon '", choice,
                     "'; valid: ", absl::StrJoin(DaemonChoices(), ", ")));
  }
  return status;
}

}  // namespace hello
