// BindDaemons: binds each implementation where its scope says and builds
// them all, stopping at the first error; Factory::Bind<Impl>() finds the
// interface from the implementation.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/daemon/serves_until_stopped.h"
#include "runtime/node/node_main.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// What generated bases declare: Interface, Info().
class SharedDaemon : public Daemon {
 public:
  using Interface = SharedDaemon;
  static DaemonInfo Info() {
    return {.name = "test.Shared", .scope = DaemonScope::kProcess};
  }
};
class LocalDaemon : public Daemon {
 public:
  using Interface = LocalDaemon;
  static DaemonInfo Info() {
    return {.name = "test.Local", .depends_on = {"test.Shared"}};
  }
};
class NeedsMissingDaemon : public Daemon {
 public:
  using Interface = NeedsMissingDaemon;
  static DaemonInfo Info() {
    return {.name = "test.NeedsMissing", .depends_on = {"test.Missing"}};
  }
};

class SharedImpl final : public ServesUntilStopped<SharedDaemon> {
 public:
  explicit SharedImpl(DaemonContext&) {}
};
class LocalImpl final : public ServesUntilStopped<LocalDaemon> {
 public:
  explicit LocalImpl(DaemonContext& context) { context.Get<SharedDaemon>(); }
};
class NeedsMissingImpl final : public ServesUntilStopped<NeedsMissingDaemon> {
 public:
  explicit NeedsMissingImpl(DaemonContext&) {}
};

TEST(BindDaemons, BindsByScopeAndBuildsEach) {
  Runtime runtime(::anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  Factory& node = root.Child("n1");
  EXPECT_THAT((BindDaemons<LocalImpl, SharedImpl>()(root, node)), IsOk());
  EXPECT_THAT(root.Built(), UnorderedElementsAre(Pair("test.Shared", _)));
  EXPECT_THAT(node.Built(), UnorderedElementsAre(Pair("test.Local", _)));
  // A second node shares the process-wide one.
  Factory& other = root.Child("n2");
  EXPECT_THAT((BindDaemons<LocalImpl>()(root, other)), IsOk());
  EXPECT_EQ(root.Built().size(), 1u);
}

TEST(BindDaemons, TheFirstErrorNamesWhatIsMissing) {
  Runtime runtime(::anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  Factory& node = root.Child("n1");
  EXPECT_THAT(
      (BindDaemons<SharedImpl, NeedsMissingImpl, LocalImpl>()(root, node)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("test.Missing")));
  // Stopped there: LocalImpl was bound but not built.
  EXPECT_TRUE(node.Built().empty());
}

TEST(FactoryBind, BindOfAnImplementationFindsItsInterface) {
  Runtime runtime(::anvil::testing::TestRuntimeOptions());
  Factory root(runtime);
  root.Bind<SharedImpl>();
  absl::StatusOr<SharedDaemon*> shared = root.Get<SharedDaemon>();
  ASSERT_THAT(shared.status(), IsOk());
  EXPECT_NE(dynamic_cast<SharedImpl*>(*shared), nullptr);
}

}  // namespace
}  // namespace anvil
