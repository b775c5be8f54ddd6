// Daemons declared in codegen/testdata/kv.proto, implemented against the
// generated base classes and built by a Factory: no hand-written DaemonInfo.
#include <memory>

#include "codegen/testdata/kv.anvil.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::codegen::testdata {
namespace {

using ::anvil::testing::IsOk;

// Does nothing; enough to be built.
template <typename Base>
class Idle final : public Base {
 public:
  explicit Idle(DaemonContext& ctx) : context_(ctx) {}
  Task<absl::Status> Run() override { co_return absl::OkStatus(); }
  Task<> Stop() override { co_return; }
  DaemonContext& context_;
};

TEST(GeneratedDaemon, InfoComesFromTheProto) {
  const DaemonInfo kv = KvStoreDaemon::Info();
  EXPECT_EQ(kv.name, "anvil.codegen.testdata.KvStore");
  EXPECT_EQ(kv.scope, DaemonScope::kNode);
  EXPECT_EQ(kv.depends_on,
            (std::vector<std::string>{"anvil.codegen.testdata.Storage",
                                      "anvil.codegen.testdata.Config"}));
  EXPECT_EQ(ConfigDaemon::Info().scope, DaemonScope::kProcess);
}

TEST(GeneratedDaemon, AFactoryBuildsThemWithTheirDependencies) {
  RuntimeOptions options = anvil::testing::TestRuntimeOptions();
  options.manual_workers = true;
  Runtime runtime(options);
  Factory root(runtime);
  root.Bind<ConfigDaemon, Idle<ConfigDaemon>>();
  root.Bind<StorageDaemon, Idle<StorageDaemon>>();
  root.Bind<KvStoreDaemon, Idle<KvStoreDaemon>>();
  ASSERT_THAT(root.Child("n1").Get<KvStoreDaemon>(), IsOk());
  EXPECT_EQ(root.Built().size(), 1u);              // Config, shared
  EXPECT_EQ(root.Child("n1").Built().size(), 2u);  // Storage, KvStore
}

}  // namespace
}  // namespace anvil::codegen::testdata
