#include "runtime/daemon/factory.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/actor/runtime.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Every constructor and destructor of the test daemons, in order.
std::vector<std::string>* events = nullptr;

class Recorded : public Daemon {
 public:
  explicit Recorded(std::string tag) : tag_(std::move(tag)) {
    events->push_back("+" + tag_);
  }
  ~Recorded() override { events->push_back("-" + tag_); }
  Task<absl::Status> Run() override { co_return absl::OkStatus(); }
  Task<> Stop() override { co_return; }
  const std::string& tag() const { return tag_; }

 private:
  std::string tag_;
};

// A process-wide daemon and three node daemons: Top -> Middle -> Book.
class Book : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() {
    return {.name = "test.Book", .scope = DaemonScope::kProcess};
  }
};
class Middle : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() {
    return {.name = "test.Middle", .depends_on = {"test.Book"}};
  }
  Book* book = nullptr;
};
class Top : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() {
    return {.name = "test.Top", .depends_on = {"test.Middle", "test.Book"}};
  }
  Middle* middle = nullptr;
};
class Unused : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() { return {.name = "test.Unused"}; }
};

class BookImpl final : public Book {
 public:
  explicit BookImpl(DaemonContext& ctx)
      : Book("book@" + ctx.factory().path()) {}
};
class MiddleImpl final : public Middle {
 public:
  explicit MiddleImpl(DaemonContext& ctx)
      : Middle("middle@" + ctx.factory().path()) {
    book = &ctx.Get<Book>();
  }
};
class TopImpl final : public Top {
 public:
  explicit TopImpl(DaemonContext& ctx) : Top("top@" + ctx.factory().path()) {
    middle = &ctx.Get<Middle>();
  }
};
class UnusedImpl final : public Unused {
 public:
  explicit UnusedImpl(DaemonContext&) : Unused("unused") {}
};

class FactoryTest : public ::testing::Test {
 protected:
  FactoryTest() : runtime_(Options()) { events = &events_; }
  ~FactoryTest() override { events = nullptr; }

  static RuntimeOptions Options() {
    RuntimeOptions options = testing::TestRuntimeOptions();
    options.manual_workers = true;  // no threads needed here
    return options;
  }
  void BindAll(Factory& f) {
    f.Bind<Book, BookImpl>();
    f.Bind<Middle, MiddleImpl>();
    f.Bind<Top, TopImpl>();
    f.Bind<Unused, UnusedImpl>();
  }

  std::vector<std::string> events_;
  Runtime runtime_;
};

TEST_F(FactoryTest, BuildsDependenciesFirstAndNothingUnneeded) {
  Factory root(runtime_);
  BindAll(root);
  absl::StatusOr<Top*> top = root.Get<Top>();
  ASSERT_THAT(top, IsOk());
  EXPECT_THAT(events_, ElementsAre("+book@root", "+middle@root", "+top@root"));
  EXPECT_EQ((*top)->middle->book, *root.Get<Book>());
  // Memoized: asking again builds nothing.
  EXPECT_EQ(*root.Get<Top>(), *top);
  EXPECT_EQ(events_.size(), 3u);
  std::vector<std::string> built;
  for (const auto& [name, daemon] : root.Built()) built.push_back(name);
  EXPECT_THAT(built, ElementsAre("test.Book", "test.Middle", "test.Top"));
}

TEST_F(FactoryTest, ProcessDaemonsAreSharedAndNodeDaemonsArePerChild) {
  Factory root(runtime_);
  BindAll(root);
  Factory& n1 = root.Child("n1");
  Factory& n2 = root.Child("n2");
  EXPECT_EQ(n1.path(), "root/n1");
  Top* top1 = *n1.Get<Top>();
  Top* top2 = *n2.Get<Top>();
  EXPECT_NE(top1, top2);
  EXPECT_NE(top1->middle, top2->middle);
  EXPECT_EQ(top1->middle->book, top2->middle->book);  // one per process
  EXPECT_EQ(top1->middle->book->tag(), "book@root");
  EXPECT_EQ(top1->tag(), "top@root/n1");
  EXPECT_TRUE(root.Built().size() == 1);  // only the Book
  EXPECT_THAT(events_,
              ElementsAre("+book@root", "+middle@root/n1", "+top@root/n1",
                          "+middle@root/n2", "+top@root/n2"));
}

// A Top whose tag comes from Bind's arguments.
class TaggedTop final : public Top {
 public:
  TaggedTop(DaemonContext& ctx, std::string tag, int copies)
      : Top(tag + "x" + std::to_string(copies) + "@" + ctx.factory().path()) {}
};

TEST_F(FactoryTest, BindPassesItsArgumentsToEveryBuild) {
  Factory root(runtime_);
  BindAll(root);
  std::string tag = "custom";
  root.Bind<Top, TaggedTop>(tag, 2);
  tag = "changed later";  // the binding kept its own copy
  EXPECT_EQ((*root.Child("n1").Get<Top>())->tag(), "customx2@root/n1");
  EXPECT_EQ((*root.Child("n2").Get<Top>())->tag(), "customx2@root/n2");
}

class OtherBook final : public Book {
 public:
  explicit OtherBook(DaemonContext& ctx)
      : Book("other-book@" + ctx.factory().path()) {}
};

TEST_F(FactoryTest, AChildOverridesABinding) {
  Factory root(runtime_);
  BindAll(root);
  Factory& special = root.Child("special");
  special.Bind<Book, OtherBook>();
  EXPECT_EQ((*special.Get<Middle>())->book->tag(), "other-book@root/special");
  EXPECT_EQ((*root.Child("plain").Get<Middle>())->book->tag(), "book@root");
}

TEST_F(FactoryTest, DestroyingAChildKeepsSharedDaemonsAndRebuildsOnRequest) {
  Factory root(runtime_);
  BindAll(root);
  absl::StatusOr<Top*> top = root.Child("lease").Get<Top>();
  ASSERT_THAT(top, IsOk());
  Book* book = (*top)->middle->book;
  events_.clear();
  ASSERT_THAT(root.DestroyChild("lease"), IsOk());
  // Dependents first; the process-wide Book stays.
  EXPECT_THAT(events_, ElementsAre("-top@root/lease", "-middle@root/lease"));
  events_.clear();
  Top* again = *root.Child("lease").Get<Top>();
  EXPECT_EQ(again->middle->book, book);
  EXPECT_THAT(events_, ElementsAre("+middle@root/lease", "+top@root/lease"));
  EXPECT_THAT(root.DestroyChild("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'nope'")));
}

TEST_F(FactoryTest, AThousandChildrenComeAndGo) {
  Factory root(runtime_);
  BindAll(root);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_THAT(root.Child("lease").Get<Top>(), IsOk());
    ASSERT_THAT(root.DestroyChild("lease"), IsOk());
  }
  EXPECT_TRUE(root.ChildNames().empty());
  EXPECT_EQ(root.Built().size(), 1u);  // still the one Book
  // 1 Book + 1000 x (2 built + 2 destroyed).
  EXPECT_EQ(events_.size(), 1u + 4000u);
}

TEST_F(FactoryTest, DestructionGoesChildrenFirstThenDependentsFirst) {
  {
    Factory root(runtime_);
    BindAll(root);
    ASSERT_THAT(root.Get<Top>(), IsOk());
    ASSERT_THAT(root.Child("n1").Get<Middle>(), IsOk());
    events_.clear();
  }
  EXPECT_THAT(events_, ElementsAre("-middle@root/n1", "-top@root",
                                   "-middle@root", "-book@root"));
}

// A -> B -> C -> A, under a root that needs A.
class CycleA : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() { return {.name = "c.A", .depends_on = {"c.B"}}; }
};
class CycleB : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() { return {.name = "c.B", .depends_on = {"c.C"}}; }
};
class CycleC : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() { return {.name = "c.C", .depends_on = {"c.A"}}; }
};
template <typename I>
class Plain final : public I {
 public:
  explicit Plain(DaemonContext& ctx) : I(ctx.info().name) {}
};

TEST_F(FactoryTest, ACycleIsAnErrorNamingTheWholeCycle) {
  Factory root(runtime_);
  root.Bind<CycleA, Plain<CycleA>>();
  root.Bind<CycleB, Plain<CycleB>>();
  root.Bind<CycleC, Plain<CycleC>>();
  EXPECT_THAT(root.Get<CycleB>(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "dependency cycle: c.B -> c.C -> c.A -> c.B"));
  EXPECT_TRUE(events_.empty());  // nothing half-built
}

TEST_F(FactoryTest, UnboundDaemonsAndDependenciesAreNamed) {
  Factory root(runtime_);
  root.Bind<Middle, MiddleImpl>();  // but no Book
  EXPECT_THAT(root.Get<Top>(),
              StatusIs(absl::StatusCode::kNotFound,
                       "no daemon test.Top is bound in root; bound: "
                       "test.Middle"));
  EXPECT_THAT(root.Get<Middle>(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("test.Middle depends on test.Book, which is "
                                 "not bound in root")));
}

// A process-wide daemon that wrongly depends on a node daemon.
class Shared : public Recorded {
 public:
  using Recorded::Recorded;
  static DaemonInfo Info() {
    return {.name = "test.Shared",
            .scope = DaemonScope::kProcess,
            .depends_on = {"test.Middle"}};
  }
};

TEST_F(FactoryTest, AProcessDaemonCannotDependOnANodeDaemon) {
  Factory root(runtime_);
  BindAll(root);
  root.Bind<Shared, Plain<Shared>>();
  EXPECT_THAT(root.Child("n1").Get<Shared>(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "test.Shared is process-wide but depends on "
                       "test.Middle, which is per node: a process-wide daemon "
                       "can only depend on process-wide daemons"));
  EXPECT_TRUE(events_.empty());
}

class ProvidedBook final : public Book {
 public:
  ProvidedBook() : Book("provided-book") {}
};

TEST_F(FactoryTest, ProvideInjectsAReadyInstance) {
  Factory root(runtime_);
  BindAll(root);
  root.Provide<Book>(std::make_unique<ProvidedBook>());
  events_.clear();
  absl::StatusOr<Middle*> middle = root.Child("n1").Get<Middle>();
  ASSERT_THAT(middle, IsOk());
  EXPECT_EQ((*middle)->book->tag(), "provided-book");
  EXPECT_THAT(events_, ElementsAre("+middle@root/n1"));  // no Book built
}

}  // namespace
}  // namespace anvil
