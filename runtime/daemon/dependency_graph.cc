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

absl::Status DependencyGraph::Visit(
    const std::string& node, absl::flat_hash_map<std::string, Mark>& marks,
    std::vector<std::string>& path, std::vector<std::string>& order) const {
  Mark& mark = marks[node];
  if (mark == Mark::kDone) return absl::OkStatus();
  if (mark == Mark::kVisiting) {
    // The cycle is the part of the path from `node`'s first appearance.
    auto start = std::find(path.begin(), path.end(), node);
    std::vector<std::string> cycle(start, path.end());
    cycle.push_back(node);
    return absl::FailedPreconditionError(
        absl::StrCat("dependency cycle: ", absl::StrJoin(cycle, " -> ")));
  }
  mark = Mark::kVisiting;
  path.push_back(node);
  const std::vector<std::string>& deps = nodes_.at(node);
  for (const std::string& dep : deps) {
    if (!nodes_.contains(dep)) {
      return absl::FailedPreconditionError(
          absl::StrCat(node, " depends on ", dep, ", which is not declared"));
    }
    absl::Status status = Visit(dep, marks, path, order);
    if (!status.ok()) return status;
  }
  path.pop_back();
  marks[node] = Mark::kDone;  // `mark` may dangle: marks grew meanwhile
  order.push_back(node);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DependencyGraph::DependenciesFirst(
    absl::string_view root) const {
  if (!nodes_.contains(root)) {
    return absl::NotFoundError(absl::StrCat(root, " is not declared"));
  }
  absl::flat_hash_map<std::string, Mark> marks;
  std::vector<std::string> path;
  std::vector<std::string> order;
  absl::Status status = Visit(std::string(root), marks, path, order);
  if (!status.ok()) return status;
  return order;
}

absl::StatusOr<std::vector<std::string>> DependencyGraph::AllDependenciesFirst()
    const {
  absl::flat_hash_map<std::string, Mark> marks;
  std::vector<std::string> path;
  std::vector<std::string> order;
  for (const std::string& node : declaration_order_) {
    absl::Status status = Visit(node, marks, path, order);
    if (!status.ok()) return status;
  }
  return order;
}

}  // namespace anvil
