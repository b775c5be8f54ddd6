#include "runtime/daemon/dependency_graph.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace anvil {

absl::Status DependencyGraph::Add(absl::string_view node,
                                  const std::vector<std::string>& depends_on) {
  auto [it, inserted] = nodes_.try_emplace(std::string(node), depends_on);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat(node, " is declared more than once"));
  }
  declaration_order_.push_back(it->first);
  return absl::OkStatus();
}

const std::vector<std::string>* DependencyGraph::DependenciesOf(
    absl::string_view node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

absl::Status DependencyCycleError(const std::vector<std::string>& cycle) {
  return absl::FailedPreconditionError(
      absl::StrCat("dependency cycle: ", absl::StrJoin(cycle, " -> ")));
}

std::string ScopeRuleViolation(absl::string_view dependency) {
  return absl::StrCat("is process-wide but depends on ", dependency,
                      ", which is per node: a process-wide daemon can only "
                      "depend on process-wide daemons");
}

absl::Status DependencyGraph::Visit(const std::string& node, Walk& walk) const {
  Mark& mark = walk.marks[node];
  if (mark == Mark::kDone) return absl::OkStatus();
  if (mark == Mark::kVisiting) {
    // The cycle is the part of the path from `node`'s first appearance.
    auto start = std::find(walk.path.begin(), walk.path.end(), node);
    walk.cycle.assign(start, walk.path.end());
    walk.cycle.push_back(node);
    return DependencyCycleError(walk.cycle);
  }
  mark = Mark::kVisiting;
  walk.path.push_back(node);
  for (const std::string& dep : nodes_.at(node)) {
    if (!nodes_.contains(dep)) {
      if (walk.skip_undeclared) continue;
      return absl::FailedPreconditionError(
          absl::StrCat(node, " depends on ", dep, ", which is not declared"));
    }
    absl::Status status = Visit(dep, walk);
    if (!status.ok()) return status;
  }
  walk.path.pop_back();
  walk.marks[node] = Mark::kDone;  // `mark` may dangle: marks grew meanwhile
  walk.order.push_back(node);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DependencyGraph::DependenciesFirst(
    absl::string_view root) const {
  if (!nodes_.contains(root)) {
    return absl::NotFoundError(absl::StrCat(root, " is not declared"));
  }
  Walk walk;
  absl::Status status = Visit(std::string(root), walk);
  if (!status.ok()) return status;
  return std::move(walk.order);
}

absl::StatusOr<std::vector<std::string>> DependencyGraph::AllDependenciesFirst()
    const {
  Walk walk;
  for (const std::string& node : declaration_order_) {
    absl::Status status = Visit(node, walk);
    if (!status.ok()) return status;
  }
  return std::move(walk.order);
}

std::vector<std::string> DependencyGraph::FindCycle() const {
  Walk walk{.skip_undeclared = true};
  for (const std::string& node : declaration_order_) {
    if (!Visit(node, walk).ok()) return std::move(walk.cycle);
  }
  return {};
}

}  // namespace anvil
