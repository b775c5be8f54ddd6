#include "runtime/daemon/factory.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/log.h"
#include "runtime/daemon/dependency_graph.h"

namespace anvil {

Daemon& DaemonContext::GetByName(absl::string_view name) const {
  auto it = dependencies_.find(name);
  if (it == dependencies_.end()) {
    std::fprintf(stderr,
                 "anvil: daemon %s asked for %.*s, which its DaemonInfo does "
                 "not list in depends_on\n",
                 info_.name.c_str(), static_cast<int>(name.size()),
                 name.data());
    std::abort();
  }
  return *it->second;
}

Runtime& DaemonContext::runtime() const { return factory_.runtime(); }

spdlog::logger& DaemonContext::log() const {
  return ComponentLog(factory_.path(), info_.name);
}

Factory::Factory(Runtime& runtime) : Factory(runtime, nullptr, "root") {}

Factory::Factory(Runtime& runtime, Factory* parent, std::string name)
    : runtime_(runtime), parent_(parent), name_(std::move(name)) {}

Factory::~Factory() {
  children_.clear();
  while (!built_.empty()) built_.pop_back();  // dependents first
}

std::string Factory::path() const {
  return parent_ == nullptr ? name_ : absl::StrCat(parent_->path(), "/", name_);
}

Factory& Factory::Child(const std::string& name) {
  std::unique_ptr<Factory>& child = children_[name];
  if (child == nullptr) {
    child.reset(new Factory(runtime_, this, name));
  }
  return *child;
}

absl::Status Factory::DestroyChild(const std::string& name) {
  auto it = children_.find(name);
  if (it == children_.end()) {
    return absl::NotFoundError(
        absl::StrCat("factory ", path(), " has no child '", name, "'"));
  }
  children_.erase(it);
  return absl::OkStatus();
}

std::vector<std::string> Factory::ChildNames() const {
  std::vector<std::string> names;
  for (const auto& [name, child] : children_) names.push_back(name);
  return names;
}

void Factory::BindErased(DaemonInfo info, Maker make) {
  if (built_by_name_.contains(info.name)) {
    std::fprintf(stderr, "anvil: %s: Bind of %s after it was built\n",
                 path().c_str(), info.name.c_str());
    std::abort();
  }
  std::string name = info.name;
  bindings_[name] = Binding{std::move(info), std::move(make), nullptr};
}

void Factory::ProvideErased(DaemonInfo info, std::unique_ptr<Daemon> instance) {
  if (built_by_name_.contains(info.name)) {
    std::fprintf(stderr, "anvil: %s: Provide of %s after it was built\n",
                 path().c_str(), info.name.c_str());
    std::abort();
  }
  std::string name = info.name;
  bindings_[name] = Binding{std::move(info), nullptr, std::move(instance)};
}

Factory::Binding* Factory::FindBinding(absl::string_view name,
                                       Factory** holder) {
  for (Factory* f = this; f != nullptr; f = f->parent_) {
    auto it = f->bindings_.find(name);
    if (it != f->bindings_.end()) {
      *holder = f;
      return &it->second;
    }
  }
  *holder = nullptr;
  return nullptr;
}

std::vector<std::string> Factory::BoundNames() const {
  std::vector<std::string> names;
  for (const Factory* f = this; f != nullptr; f = f->parent_) {
    for (const auto& [name, binding] : f->bindings_) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::pair<std::string, Daemon*>> Factory::Built() const {
  std::vector<std::pair<std::string, Daemon*>> built;
  for (const BuiltDaemon& b : built_)
    built.emplace_back(b.name, b.daemon.get());
  return built;
}

absl::StatusOr<Daemon*> Factory::GetByName(absl::string_view name) {
  std::vector<std::string> building;
  return GetInternal(std::string(name), building);
}

absl::StatusOr<Daemon*> Factory::GetInternal(
    const std::string& name, std::vector<std::string>& building) {
  if (auto it = built_by_name_.find(name); it != built_by_name_.end()) {
    return it->second;
  }
  Factory* holder = nullptr;
  Binding* binding = FindBinding(name, &holder);
  if (binding == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no daemon ", name, " is bound in ", path(),
                     "; bound: ", absl::StrJoin(BoundNames(), ", ")));
  }
  // A process-wide daemon lives where it is bound; a node daemon here.
  if (binding->info.scope == DaemonScope::kProcess && holder != this) {
    return holder->GetInternal(name, building);
  }

  if (auto it = std::find(building.begin(), building.end(), name);
      it != building.end()) {
    std::vector<std::string> cycle(it, building.end());
    cycle.push_back(name);
    return DependencyCycleError(cycle);
  }

  // Copied: building dependencies may add bindings' storage elsewhere, and a
  // provided instance is taken out of the binding below.
  const DaemonInfo info = binding->info;
  building.push_back(name);
  DaemonContext context(*this, info);
  for (const std::string& dependency : info.depends_on) {
    Factory* dependency_holder = nullptr;
    if (FindBinding(dependency, &dependency_holder) == nullptr) {
      building.pop_back();
      return absl::FailedPreconditionError(absl::StrCat(
          name, " depends on ", dependency, ", which is not bound in ", path(),
          "; bound: ", absl::StrJoin(BoundNames(), ", ")));
    }
    if (info.scope == DaemonScope::kProcess &&
        FindBinding(dependency, &dependency_holder)->info.scope ==
            DaemonScope::kNode) {
      building.pop_back();
      return absl::FailedPreconditionError(
          absl::StrCat(name, " ", ScopeRuleViolation(dependency)));
    }
    absl::StatusOr<Daemon*> built = GetInternal(dependency, building);
    if (!built.ok()) {
      building.pop_back();
      return built.status();
    }
    context.dependencies_[dependency] = *built;
  }
  building.pop_back();

  // The binding may live in a parent; look it up again (a dependency's
  // Provide or Bind cannot have moved it, but a map rehash can).
  binding = FindBinding(name, &holder);
  std::unique_ptr<Daemon> daemon;
  if (binding->provided != nullptr) {
    if (holder != this) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, " was provided as one instance to ",
                       holder->path(), " but is a node daemon asked for in ",
                       path(), "; bind a type, or make it kProcess"));
    }
    daemon = std::move(binding->provided);
  } else {
    daemon = binding->make(context);
  }
  Daemon* raw = daemon.get();
  built_.push_back(BuiltDaemon{name, std::move(daemon)});
  built_by_name_[name] = raw;
  return raw;
}

}  // namespace anvil
