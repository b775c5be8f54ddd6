#include "services/kv/log_store.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"
#include "testing/temp_path.h"

namespace anvil::kv {
namespace {

using ::anvil::testing::Await;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::TempPath;

std::vector<LogEntry> Entries(uint64_t term,
                              std::vector<std::string> commands) {
  std::vector<LogEntry> entries;
  for (std::string& c : commands) entries.push_back({term, std::move(c)});
  return entries;
}

// The behaviour both engines share.
class LogStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      std::string name =
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
      for (char& c : name) c = c == '/' ? '_' : c;
      path_ = TempPath(name + ".wal");
      auto durable = Await(DurableLogStore::Open(path_));
      ASSERT_THAT(durable, IsOk());
      store_ = *std::move(durable);
    } else {
      store_ = std::make_unique<MemoryLogStore>();
    }
  }

  std::string path_;
  std::unique_ptr<LogStore> store_;
};

TEST_P(LogStoreTest, AppendsReadsAndTruncatesAConflictingSuffix) {
  EXPECT_EQ(store_->last_index(), 0u);
  EXPECT_THAT(store_->TermAt(0), IsOkAndHolds(0u));
  ASSERT_THAT(Await(store_->Append(1, Entries(1, {"a", "b", "c"}))), IsOk());
  EXPECT_EQ(store_->last_index(), 3u);
  // A new leader overwrites entries 2.. with its own.
  ASSERT_THAT(Await(store_->Append(2, Entries(2, {"x"}))), IsOk());
  EXPECT_EQ(store_->last_index(), 2u);
  EXPECT_THAT(store_->TermAt(2), IsOkAndHolds(2u));
  absl::StatusOr<std::vector<LogEntry>> read = store_->Read(1, 10);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, (std::vector<LogEntry>{{1, "a"}, {2, "x"}}));
  EXPECT_THAT(store_->Read(3, 10), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_P(LogStoreTest, OutOfRangeIsRefusedAndChangesNothing) {
  ASSERT_THAT(Await(store_->Append(1, Entries(1, {"a"}))), IsOk());
  absl::Status gap = Await(store_->Append(3, Entries(1, {"c"})));
  EXPECT_EQ(gap.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(gap.message(), "1..1")) << gap;
  EXPECT_EQ(Await(store_->Append(0, {})).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->TermAt(2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->Read(0, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->last_index(), 1u);
}

TEST_P(LogStoreTest, KeepsTheHardState) {
  ASSERT_THAT(
      Await(store_->SetHardState({.term = 4, .vote = "n2", .commit = 7})),
      IsOk());
  EXPECT_EQ(store_->hard_state(),
            (HardState{.term = 4, .vote = "n2", .commit = 7}));
}

INSTANTIATE_TEST_SUITE_P(Engines, LogStoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Durable" : "Memory";
                         });

TEST(DurableLogStoreTest, RecoversEverythingAcknowledged) {
  const std::string path = TempPath("recover.wal");
  {
    auto store = Await(DurableLogStore::Open(path));
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(Await((*store)->Append(1, Entries(1, {"a", "b", "c"}))),
                IsOk());
    ASSERT_THAT(Await((*store)->SetHardState({.term = 2, .vote = "n3"})),
                IsOk());
    ASSERT_THAT(Await((*store)->Append(3, Entries(2, {"z"}))), IsOk());
  }
  auto reopened = Await(DurableLogStore::Open(path));
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->last_index(), 3u);
  EXPECT_THAT((*reopened)->Read(1, 10), IsOkAndHolds(std::vector<LogEntry>{
                                            {1, "a"}, {1, "b"}, {2, "z"}}));
  EXPECT_EQ((*reopened)->hard_state(), (HardState{.term = 2, .vote = "n3"}));
}

TEST(DurableLogStoreTest, UnreadableRecordIsDataLoss) {
  const std::string path = TempPath("unreadable.wal");
  {
    std::vector<std::string> ignored;
    auto wal = Await(WriteAheadLog::Open(path, {}, &ignored));
    ASSERT_THAT(wal, IsOk());
    ASSERT_THAT(Await((*wal)->Append("Qnot a record")), IsOk());
  }
  auto store = Await(DurableLogStore::Open(path));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(store.status().message(), "record 0"))
      << store.status();
}

}  // namespace
}  // namespace anvil::kv
