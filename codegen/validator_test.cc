// Validate's structured problems: where, which service, what, and for a
// cycle its path, on protos parsed as protoc parses them.
#include "codegen/validator.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/compiler/importer.h"
#include "gtest/gtest.h"

namespace anvil::codegen {
namespace {

using ::google::protobuf::FileDescriptor;
using ::google::protobuf::compiler::DiskSourceTree;
using ::google::protobuf::compiler::Importer;
using ::google::protobuf::compiler::MultiFileErrorCollector;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class FailOnError : public MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column,
                const std::string& message) override {
    ADD_FAILURE() << file << ":" << line << ":" << column << ": " << message;
  }
};

class ValidatorTest : public ::testing::Test {
 protected:
  ValidatorTest() {
    const char* srcdir = std::getenv("TEST_SRCDIR");
    const std::string root =
        std::string(srcdir == nullptr ? "." : srcdir) + "/anvil";
    tree_.MapPath("", root);
    tree_.MapPath("", root + "/proto");
    tree_.MapPath("", "/usr/include");
    importer_ = std::make_unique<Importer>(&tree_, &errors_);
  }

  const FileDescriptor* Import(const std::string& file) {
    const FileDescriptor* descriptor = importer_->Import(file);
    EXPECT_NE(descriptor, nullptr) << file;
    return descriptor;
  }

  DiskSourceTree tree_;
  FailOnError errors_;
  std::unique_ptr<Importer> importer_;
};

TEST_F(ValidatorTest, ACycleAcrossFilesIsOneProblemWithItsPath) {
  const FileDescriptor* file = Import("codegen/testdata/bad_cycle_a.proto");
  ASSERT_NE(file, nullptr);
  const std::vector<Problem> problems = Validate({file});
  ASSERT_THAT(problems, SizeIs(1));
  const Problem& cycle = problems[0];
  EXPECT_EQ(cycle.service, "bad.A");
  EXPECT_EQ(cycle.file, "codegen/testdata/bad_cycle_a.proto");
  EXPECT_EQ(cycle.line, 6);
  EXPECT_EQ(cycle.column, 1);
  EXPECT_THAT(cycle.cycle, ElementsAre("bad.A", "bad.B", "bad.C", "bad.A"));
  EXPECT_EQ(cycle.ToString(),
            "codegen/testdata/bad_cycle_a.proto:6:1: service bad.A: "
            "dependency cycle: bad.A -> bad.B -> bad.C -> bad.A");
}

TEST_F(ValidatorTest, EveryProblemOfAFileIsReportedNotJustTheFirst) {
  const FileDescriptor* file = Import("codegen/testdata/bad_cc.proto");
  ASSERT_NE(file, nullptr);
  const std::vector<Problem> problems = Validate({file});
  std::vector<std::string> services;
  for (const Problem& problem : problems) {
    services.push_back(problem.service);
    EXPECT_THAT(problem.cycle, IsEmpty());
    EXPECT_GT(problem.line, 0) << problem.ToString();
  }
  EXPECT_THAT(services,
              ::testing::UnorderedElementsAre(
                  "bad.NoHeader", "bad.Unused", "bad.WithMethods", "bad.NotCpp",
                  "bad.Twice", "bad.MessagesOnly", "bad.AbsoluteHeader"));
}

TEST_F(ValidatorTest, AGoodFileHasNoProblem) {
  const FileDescriptor* file = Import("codegen/testdata/kv.proto");
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(Validate({file}), IsEmpty());
}

}  // namespace
}  // namespace anvil::codegen
