// DependencyGraph: named nodes (daemons) with "depends on" edges; orders
// them so that every dependency comes first, and explains what is wrong
// when that cannot be done.
//
//   DependencyGraph graph;
//   graph.Add("demo.kv.KvStore", {"demo.kv.Storage", "demo.kv.Raft"});
//   graph.Add("demo.kv.Raft", {"demo.kv.Storage"});
//   graph.Add("demo.kv.Storage", {});
//   absl::StatusOr<std::vector<std::string>> order =
//       graph.DependenciesFirst("demo.kv.KvStore");
//   // -> Storage, Raft, KvStore: prepare in this order, stop in reverse.
//
// Errors name what is wrong: an unknown dependency ("demo.kv.KvStore
// depends on demo.kv.Disk, which is not declared"), or a cycle with its
// whole path ("dependency cycle: a -> b -> c -> a"). Both the factory
// (building daemons at run time) and protoc-gen-anvil (validating a .proto
// at build time) use it, so the two report the same thing the same way.
//
// Thread-compatible. Orders are deterministic: ties are broken by the
// order dependencies were declared.
#ifndef ANVIL_RUNTIME_DAEMON_DEPENDENCY_GRAPH_H_
#define ANVIL_RUNTIME_DAEMON_DEPENDENCY_GRAPH_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace anvil {

// FAILED_PRECONDITION "dependency cycle: a -> b -> a", for the path around
// a cycle (starting and ending with the same node): the factory's and
// protoc-gen-anvil's wording.
absl::Status DependencyCycleError(const std::vector<std::string>& cycle);

// Why a process-wide daemon cannot depend on `dependency`, per node: the
// scope rule, in the factory's and protoc-gen-anvil's words, to follow the
// daemon's name ("is process-wide but depends on ...").
std::string ScopeRuleViolation(absl::string_view dependency);

class DependencyGraph {
 public:
  // Declares `node` and the nodes it depends on, in order. Declaring a node
  // twice is an error (ALREADY_EXISTS); naming undeclared dependencies is
  // not, until they are needed.
  absl::Status Add(absl::string_view node,
                   const std::vector<std::string>& depends_on);

  bool Contains(absl::string_view node) const { return nodes_.contains(node); }
  // The declared dependencies of `node`, or nullptr if it is not declared.
  const std::vector<std::string>* DependenciesOf(absl::string_view node) const;

  // `root` and everything it needs, transitively, dependencies first, each
  // once. NOT_FOUND for an undeclared root; FAILED_PRECONDITION for an
  // undeclared dependency or a cycle.
  absl::StatusOr<std::vector<std::string>> DependenciesFirst(
      absl::string_view root) const;

  // Every declared node, dependencies first. Same errors, for the whole
  // graph: the first problem found, in declaration order.
  absl::StatusOr<std::vector<std::string>> AllDependenciesFirst() const;

  // The first cycle found in declaration order, as the path around it,
  // which starts and ends with the same node ({"a", "b", "a"}); empty if
  // there is none. Undeclared dependencies are skipped.
  std::vector<std::string> FindCycle() const;

 private:
  enum class Mark { kNone, kVisiting, kDone };
  struct Walk {
    absl::flat_hash_map<std::string, Mark> marks;
    std::vector<std::string> path;
    std::vector<std::string> order;
    std::vector<std::string> cycle;  // set when one is found
    bool skip_undeclared = false;
  };
  absl::Status Visit(const std::string& node, Walk& walk) const;

  absl::flat_hash_map<std::string, std::vector<std::string>> nodes_;
  std::vector<std::string> declaration_order_;
};

}  // namespace anvil

#endif  // ANVIL_RUNTIME_DAEMON_DEPENDENCY_GRAPH_H_
