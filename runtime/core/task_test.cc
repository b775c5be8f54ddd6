#include "runtime/core/task.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "runtime/core/status_macros.h"

namespace anvil {
namespace {

// Drives a top-level task to completion on this thread. Only for tasks that
// never suspend on anything but other tasks.
template <typename T>
T RunSync(Task<T> task) {
  std::optional<T> result;
  auto outer = [](Task<T> t, std::optional<T>& out) -> Task<void> {
    out.emplace(co_await std::move(t));
  }(std::move(task), result);
  outer.handle().resume();
  EXPECT_TRUE(outer.done());
  return std::move(*result);
}

Task<int> Constant(int x) { co_return x; }

Task<int64_t> Sum(int depth) {
  if (depth == 0) co_return 0;
  co_return depth + co_await Sum(depth - 1);
}

TEST(Task, IsLazy) {
  bool ran = false;
  auto make = [&ran]() -> Task<int> {
    ran = true;
    co_return 1;
  };
  Task<int> task = make();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(task.valid());
  EXPECT_FALSE(task.done());
}

TEST(Task, ReturnsValue) { EXPECT_EQ(RunSync(Constant(7)), 7); }

// Symmetric transfer: a deep chain of synchronously finishing awaits must
// not grow the stack (a recursion this deep would overflow it otherwise).
TEST(Task, DeepChainDoesNotGrowTheStack) {
  constexpr int kDepth = 100'000;
  EXPECT_EQ(RunSync(Sum(kDepth)), int64_t{kDepth} * (kDepth + 1) / 2);
}

TEST(Task, MoveOnlyResult) {
  auto make = []() -> Task<std::unique_ptr<std::string>> {
    co_return std::make_unique<std::string>("moved");
  };
  EXPECT_EQ(*RunSync(make()), "moved");
}

TEST(Task, ExceptionPropagatesToAwaiter) {
  auto thrower = []() -> Task<int> {
    throw std::runtime_error("boom");
    co_return 0;
  };
  auto catcher = [&]() -> Task<std::string> {
    try {
      co_await thrower();
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what());
    }
    co_return std::string("no exception");
  };
  EXPECT_EQ(RunSync(catcher()), "boom");
}

TEST(Task, DestroyingAnUnstartedTaskFreesItsArguments) {
  auto owner = std::make_shared<int>(1);
  {
    auto holds = [](std::shared_ptr<int> p) -> Task<int> { co_return *p; };
    Task<int> task = holds(owner);
    EXPECT_EQ(owner.use_count(), 2);
  }
  EXPECT_EQ(owner.use_count(), 1);
}

TEST(Task, MoveTransfersOwnership) {
  Task<int> a = Constant(3);
  Task<int> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point
  EXPECT_EQ(RunSync(std::move(b)), 3);
}

absl::StatusOr<int> Parse(const std::string& s) {
  if (s.empty()) return absl::InvalidArgumentError("empty");
  return static_cast<int>(s.size());
}

Task<absl::StatusOr<int>> Doubled(std::string s) {
  ANVIL_CO_ASSIGN_OR_RETURN(int n, Parse(s));
  ANVIL_CO_RETURN_IF_ERROR(n > 3 ? absl::OutOfRangeError("too long")
                                 : absl::OkStatus());
  co_return 2 * n;
}

TEST(StatusMacros, CoroutineFormsReturnEarly) {
  EXPECT_EQ(*RunSync(Doubled("abc")), 6);
  EXPECT_EQ(RunSync(Doubled("")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunSync(Doubled("abcd")).status().code(),
            absl::StatusCode::kOutOfRange);
}

absl::Status Validate(int x) {
  ANVIL_ASSIGN_OR_RETURN(int n, Parse(std::string(x, 'x')));
  ANVIL_RETURN_IF_ERROR(n == 2 ? absl::AlreadyExistsError("two")
                               : absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacros, FunctionFormsReturnEarly) {
  EXPECT_TRUE(Validate(1).ok());
  EXPECT_EQ(Validate(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Validate(2).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace anvil
