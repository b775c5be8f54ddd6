#include "runtime/daemon/dependency_graph.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::ElementsAre;

TEST(DependencyGraph, OrdersDependenciesFirstAndOnlyWhatIsNeeded) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("kv", {"storage", "raft"}), IsOk());
  ASSERT_THAT(graph.Add("raft", {"storage", "config"}), IsOk());
  ASSERT_THAT(graph.Add("storage", {}), IsOk());
  ASSERT_THAT(graph.Add("config", {}), IsOk());
  ASSERT_THAT(graph.Add("unrelated", {"config"}), IsOk());
  EXPECT_THAT(graph.DependenciesFirst("kv"),
              IsOkAndHolds(ElementsAre("storage", "config", "raft", "kv")));
  EXPECT_THAT(graph.DependenciesFirst("storage"),
              IsOkAndHolds(ElementsAre("storage")));
  EXPECT_THAT(graph.AllDependenciesFirst(),
              IsOkAndHolds(
                  ElementsAre("storage", "config", "raft", "kv", "unrelated")));
}

TEST(DependencyGraph, NamesTheWholeCycle) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("top", {"a"}), IsOk());
  ASSERT_THAT(graph.Add("a", {"b"}), IsOk());
  ASSERT_THAT(graph.Add("b", {"c"}), IsOk());
  ASSERT_THAT(graph.Add("c", {"a"}), IsOk());
  EXPECT_THAT(graph.DependenciesFirst("top"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "dependency cycle: a -> b -> c -> a"));
  EXPECT_THAT(graph.AllDependenciesFirst(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "dependency cycle: a -> b -> c -> a"));
  EXPECT_EQ(graph.FindCycle(), (std::vector<std::string>{"a", "b", "c", "a"}));
}

TEST(DependencyGraph, FindCycleSkipsUndeclaredAndFindsNoneInADag) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("a", {"b", "missing"}), IsOk());
  ASSERT_THAT(graph.Add("b", {}), IsOk());
  EXPECT_TRUE(graph.FindCycle().empty());
  ASSERT_THAT(graph.Add("c", {"missing", "d"}), IsOk());
  ASSERT_THAT(graph.Add("d", {"c"}), IsOk());
  EXPECT_EQ(graph.FindCycle(), (std::vector<std::string>{"c", "d", "c"}));
}

TEST(DependencyGraph, SelfDependencyIsACycle) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("narcissus", {"narcissus"}), IsOk());
  EXPECT_THAT(graph.DependenciesFirst("narcissus"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "dependency cycle: narcissus -> narcissus"));
}

TEST(DependencyGraph, UnknownDependencyAndRootAreNamed) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("kv", {"disk"}), IsOk());
  EXPECT_THAT(graph.DependenciesFirst("kv"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "kv depends on disk, which is not declared"));
  EXPECT_THAT(graph.DependenciesFirst("nope"),
              StatusIs(absl::StatusCode::kNotFound, "nope is not declared"));
  EXPECT_EQ(graph.DependenciesOf("nope"), nullptr);
  ASSERT_NE(graph.DependenciesOf("kv"), nullptr);
  EXPECT_THAT(*graph.DependenciesOf("kv"), ElementsAre("disk"));
}

TEST(DependencyGraph, DuplicateDeclarationIsRefused) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("a", {}), IsOk());
  EXPECT_THAT(graph.Add("a", {"b"}), StatusIs(absl::StatusCode::kAlreadyExists,
                                              "a is declared more than once"));
  EXPECT_TRUE(graph.DependenciesOf("a")->empty());  // the first one stands
}

TEST(DependencyGraph, DiamondIsBuiltOnce) {
  DependencyGraph graph;
  ASSERT_THAT(graph.Add("top", {"left", "right"}), IsOk());
  ASSERT_THAT(graph.Add("left", {"base"}), IsOk());
  ASSERT_THAT(graph.Add("right", {"base"}), IsOk());
  ASSERT_THAT(graph.Add("base", {}), IsOk());
  EXPECT_THAT(graph.DependenciesFirst("top"),
              IsOkAndHolds(ElementsAre("base", "left", "right", "top")));
}

}  // namespace
}  // namespace anvil
