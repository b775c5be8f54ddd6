// Factory: builds daemons lazily, dependencies first, and shares them down a
// hierarchy of factories by scope.
//
//   anvil::Factory root(runtime);                 // "the cluster"
//   root.Bind<GuestBook, MemGuestBook>();         // kProcess: one per process
//   root.Bind<Alice, AliceImpl>();                // kNode: one per node
//   anvil::Factory& n1 = root.Child("n1");        // "one machine"
//   absl::StatusOr<Alice*> alice = n1.Get<Alice>();
//   // Builds root's GuestBook (once, shared by every child), then n1's Alice.
//   // Nothing that nobody asked for is built.
//
// Rules:
// - Get<T>() builds T on first use, memoized per factory, after building
//   what T's DaemonInfo::depends_on names. A dependency cycle is an error
//   naming the whole cycle ("dependency cycle: a -> b -> c -> a"); an
//   unbound daemon or dependency is an error listing what is bound.
// - Bindings are looked up from the factory asked, then its parent, up to
//   the root: a child overrides any binding by binding it itself.
// - A kNode daemon is built in the factory that asks for it. A kProcess
//   daemon is built in the nearest factory (from the one asking, upwards)
//   that binds it, usually the root, and shared by that factory's
//   descendants. Its dependencies are resolved from there, and must be
//   kProcess too (a shared daemon cannot use one node's daemon): an error
//   says so.
// - Bind<I, Impl>(args...) needs `Impl(const I::Deps&, args...)` (for
//   daemons generated from a .proto: the typed refs to its dependencies)
//   or `Impl(DaemonContext&, args...)`; Provide<I>(instance) injects a
//   ready one, which is then treated as built.
// - A child can be destroyed (DestroyChild) while its parent lives on, and a
//   new one made in its place; daemons of the parent are neither destroyed
//   nor rebuilt by that. Destruction order: children first, then this
//   factory's daemons, dependents before their dependencies.
//
// Thread-compatible: build the hierarchy and Get from one thread (or one
// actor) at a time. The daemons themselves are thread-safe as they say.
//
// Example: examples/heartbeat/heartbeat_main.cc.
#ifndef ANVIL_RUNTIME_DAEMON_FACTORY_H_
#define ANVIL_RUNTIME_DAEMON_FACTORY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/daemon/daemon.h"
#include "spdlog/logger.h"

namespace anvil {

class Factory;
class Runtime;

// What a daemon's constructor gets: its declared dependencies, already
// built, and where it lives.
class DaemonContext {
 public:
  // The dependency T. REQUIRES: T is in this daemon's depends_on (a
  // mismatch between declaration and constructor is a programmer error and
  // aborts with both names).
  template <typename T>
  T& Get() const {
    return static_cast<T&>(GetByName(T::Info().name));
  }
  Daemon& GetByName(absl::string_view name) const;

  // The factory that builds this daemon (its node).
  Factory& factory() const { return factory_; }
  // The daemon's logger: every line carries the node's path and the
  // daemon's name (see runtime/core/log.h). Lives as long as the process.
  spdlog::logger& log() const;
  Runtime& runtime() const;
  const DaemonInfo& info() const { return info_; }

 private:
  friend class Factory;
  DaemonContext(Factory& factory, const DaemonInfo& info)
      : factory_(factory), info_(info) {}

  Factory& factory_;
  const DaemonInfo& info_;
  absl::flat_hash_map<std::string, Daemon*> dependencies_;
};

namespace internal {
// True if I is a generated daemon (it names its Deps) and Impl takes them
// (then `args`).
template <typename I, typename Impl, typename... Args>
constexpr bool kTakesDeps = [] {
  if constexpr (requires { typename I::Deps; }) {
    return std::is_constructible_v<Impl, const typename I::Deps&,
                                   const Args&...>;
  } else {
    return false;
  }
}();
}  // namespace internal

class Factory {
 public:
  // The root factory.
  explicit Factory(Runtime& runtime);
  Factory(const Factory&) = delete;
  Factory& operator=(const Factory&) = delete;
  // Destroys the children, then this factory's daemons, dependents first.
  // REQUIRES: the daemons are stopped (their Run() returned).
  ~Factory();

  // "root", or the child's name.
  const std::string& name() const { return name_; }
  // Names from the root down, such as "root/n1".
  std::string path() const;
  Runtime& runtime() const { return runtime_; }
  Factory* parent() const { return parent_; }

  // The child called `name`, created on first use. Owned by this factory.
  Factory& Child(const std::string& name);
  // Destroys the child and its descendants. NOT_FOUND if there is none.
  absl::Status DestroyChild(const std::string& name);
  // The children's names, sorted.
  std::vector<std::string> ChildNames() const;

  // Makes `Impl` the implementation of daemon interface `I` for this factory
  // and its descendants (unless they bind it themselves). Each build makes
  // `Impl(deps, args...)` (a generated daemon's typed `const I::Deps&`) or
  // `Impl(context, args...)` (`DaemonContext&`): the binding keeps a copy
  // of `args`, and a kNode daemon built in several factories gets the same
  // values in each.
  //
  //   root.Bind<GreeterDaemon, Greeter>(std::string("Hello"), 3);
  //
  // REQUIRES: I derives from Daemon and has `static DaemonInfo Info()`;
  // Impl derives from I; Args are copyable; I is not built in this factory
  // yet.
  template <typename I, typename Impl, typename... Args>
  void Bind(Args... args) {
    static_assert(std::is_base_of_v<Daemon, I>, "I must derive from Daemon");
    static_assert(std::is_base_of_v<I, Impl>, "Impl must derive from I");
    if constexpr (internal::kTakesDeps<I, Impl, Args...>) {
      BindErased(I::Info(),
                 [... args = std::move(args)](
                     DaemonContext& context) -> std::unique_ptr<Daemon> {
                   return std::make_unique<Impl>(typename I::Deps(context),
                                                 args...);
                 });
    } else {
      static_assert(
          std::is_constructible_v<Impl, DaemonContext&, const Args&...>,
          "Impl needs a constructor taking DaemonContext& (or, for a "
          "generated daemon, const I::Deps&), then Bind's arguments");
      BindErased(I::Info(),
                 [... args = std::move(args)](
                     DaemonContext& context) -> std::unique_ptr<Daemon> {
                   return std::make_unique<Impl>(context, args...);
                 });
    }
  }

  // Bind<I, Impl>(args...) with I the generated daemon base Impl derives
  // from (Impl::Interface):
  //
  //   node.Bind<GreeterImpl>();   // Bind<GreeterDaemon, GreeterImpl>()
  template <typename Impl, typename... Args>
  requires(requires { typename Impl::Interface; } &&
           !std::is_abstract_v<Impl>) void Bind(Args... args) {
    Bind<typename Impl::Interface, Impl>(std::move(args)...);
  }

  // Binds `I` to a ready instance, owned and managed from now on like a
  // built one. For daemons made without a DaemonContext (those without
  // methods: a daemon with methods is an actor of its factory's runtime);
  // give one with methods its values through Bind's arguments instead.
  // REQUIRES: as Bind.
  template <typename I>
  void Provide(std::unique_ptr<I> instance) {
    static_assert(std::is_base_of_v<Daemon, I>, "I must derive from Daemon");
    ProvideErased(I::Info(), std::move(instance));
  }

  // The daemon `I`, built with its dependencies if it was not yet. Errors:
  // NOT_FOUND (nothing binds it), FAILED_PRECONDITION (a dependency is not
  // bound, or a cycle), each naming the daemons involved.
  template <typename I>
  absl::StatusOr<I*> Get() {
    absl::StatusOr<Daemon*> daemon = GetByName(I::Info().name);
    if (!daemon.ok()) return daemon.status();
    return static_cast<I*>(*daemon);
  }
  absl::StatusOr<Daemon*> GetByName(absl::string_view name);

  // Names of every daemon bound here or above, sorted.
  std::vector<std::string> BoundNames() const;

  // The daemons built in this factory (not its parents'), dependencies
  // first: the order to prepare them in; stop them in reverse.
  std::vector<std::pair<std::string, Daemon*>> Built() const;

 private:
  using Maker = std::function<std::unique_ptr<Daemon>(DaemonContext&)>;
  struct Binding {
    DaemonInfo info;
    Maker make;                        // or
    std::unique_ptr<Daemon> provided;  // a ready instance
  };
  struct BuiltDaemon {
    std::string name;
    std::unique_ptr<Daemon> daemon;
  };

  Factory(Runtime& runtime, Factory* parent, std::string name);
  void BindErased(DaemonInfo info, Maker make);
  void ProvideErased(DaemonInfo info, std::unique_ptr<Daemon> instance);
  // The binding of `name` seen from here, and the factory that holds it.
  Binding* FindBinding(absl::string_view name, Factory** holder);
  absl::StatusOr<Daemon*> GetInternal(const std::string& name,
                                      std::vector<std::string>& building);

  Runtime& runtime_;
  Factory* const parent_;
  const std::string name_;
  absl::flat_hash_map<std::string, Binding> bindings_;
  std::vector<BuiltDaemon> built_;  // in build order
  absl::flat_hash_map<std::string, Daemon*> built_by_name_;
  std::map<std::string, std::unique_ptr<Factory>> children_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_DAEMON_FACTORY_H_
