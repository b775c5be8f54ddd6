// Checks that anvil's custom options compile and read back from descriptors,
// through an import across packages.
#include <cstdlib>

#include "anvil/options.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/testdata/options_test.pb.h"

namespace anvil {
namespace {

using ::google::protobuf::DescriptorPool;
using ::google::protobuf::ServiceDescriptor;
using ::testing::ElementsAre;

// Linking options_test.pb.cc registers its descriptors in the generated pool;
// a missing service aborts the test instead of dereferencing null.
const ServiceDescriptor& Service(const char* name) {
  const ServiceDescriptor* service =
      DescriptorPool::generated_pool()->FindServiceByName(name);
  if (service == nullptr) {
    ADD_FAILURE() << "no service " << name << " in the generated pool";
    std::abort();
  }
  return *service;
}

TEST(DaemonOptions, ReadsScopeDependenciesAndExposure) {
  const DaemonOptions& kv =
      Service("anvil.testdata.KvStore").options().GetExtension(daemon);
  EXPECT_EQ(kv.scope(), NODE);
  EXPECT_THAT(kv.depends_on(),
              ElementsAre("anvil.testdata.Storage", "anvil.testdata.Config"));
  EXPECT_EQ(kv.exposure(), PUBLIC);
  EXPECT_EQ(kv.mailbox_capacity(), 0u);

  const DaemonOptions& storage =
      Service("anvil.testdata.Storage").options().GetExtension(daemon);
  EXPECT_EQ(storage.mailbox_capacity(), 64u);
  EXPECT_EQ(storage.exposure(), EXPOSURE_UNSPECIFIED);

  EXPECT_EQ(
      Service("anvil.testdata.Config").options().GetExtension(daemon).scope(),
      PROCESS);
}

TEST(DaemonOptions, AbsentOnPlainActors) {
  const ServiceDescriptor& plain = Service("anvil.testdata.Plain");
  EXPECT_FALSE(plain.options().HasExtension(daemon));
  EXPECT_EQ(plain.options().GetExtension(daemon).scope(), SCOPE_UNSPECIFIED);
}

TEST(MethodOptions, ReadsOneWayDeadlineReentrancyAndInternal) {
  const MethodOptions& flush = Service("anvil.testdata.Storage")
                                   .FindMethodByName("Flush")
                                   ->options()
                                   .GetExtension(method);
  EXPECT_TRUE(flush.one_way());
  EXPECT_EQ(flush.deadline_ms(), 0u);

  const MethodOptions& get = Service("anvil.testdata.KvStore")
                                 .FindMethodByName("Get")
                                 ->options()
                                 .GetExtension(method);
  EXPECT_FALSE(get.one_way());
  EXPECT_EQ(get.deadline_ms(), 250u);
  EXPECT_TRUE(get.reentrant());
  EXPECT_FALSE(get.internal());

  EXPECT_TRUE(Service("anvil.testdata.KvStore")
                  .FindMethodByName("Compact")
                  ->options()
                  .GetExtension(method)
                  .internal());
}

}  // namespace
}  // namespace anvil
