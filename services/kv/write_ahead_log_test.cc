#include "services/kv/write_ahead_log.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_path.h"

namespace anvil::kv {
namespace {

using ::anvil::testing::IsOk;
using ::anvil::testing::TempPath;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::vector<std::string> Reopen(const std::string& path) {
  std::vector<std::string> records;
  absl::StatusOr<std::unique_ptr<WriteAheadLog>> log =
      WriteAheadLog::Open(path, {}, &records);
  EXPECT_THAT(log, IsOk());
  return records;
}

TEST(WriteAheadLogTest, RecordsSurviveReopening) {
  const std::string path = TempPath("survive.wal");
  {
    std::vector<std::string> recovered;
    auto log = WriteAheadLog::Open(path, {}, &recovered);
    ASSERT_THAT(log, IsOk());
    EXPECT_THAT(recovered, IsEmpty());
    ASSERT_THAT((*log)->Append("first"), IsOk());
    ASSERT_THAT((*log)->Append(""), IsOk());
    ASSERT_THAT((*log)->Append(std::string("\0\xff\n", 3)), IsOk());
    EXPECT_EQ((*log)->size_bytes(), 3 * 8 + 5 + 0 + 3);
  }
  EXPECT_THAT(Reopen(path),
              ElementsAre("first", "", std::string("\0\xff\n", 3)));
}

TEST(WriteAheadLogTest, TornTailIsCutOffAndAppendingGoesOn) {
  const std::string path = TempPath("torn.wal");
  {
    std::vector<std::string> ignored;
    auto log = WriteAheadLog::Open(path, {}, &ignored);
    ASSERT_THAT(log, IsOk());
    ASSERT_THAT((*log)->Append("kept"), IsOk());
  }
  const size_t good = ReadFile(path).size();
  // A crash in the middle of the next record: a header and half a payload.
  WriteFile(path, ReadFile(path) +
                      std::string("\x0a\x00\x00\x00\x01\x02\x03\x04half", 12));
  std::vector<std::string> recovered;
  auto log = WriteAheadLog::Open(path, {}, &recovered);
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(recovered, ElementsAre("kept"));
  EXPECT_EQ(ReadFile(path).size(), good);
  ASSERT_THAT((*log)->Append("after"), IsOk());
  log->reset();
  EXPECT_THAT(Reopen(path), ElementsAre("kept", "after"));
}

TEST(WriteAheadLogTest, LastRecordWithBadChecksumIsTorn) {
  const std::string path = TempPath("torn_crc.wal");
  {
    std::vector<std::string> ignored;
    auto log = WriteAheadLog::Open(path, {}, &ignored);
    ASSERT_THAT(log, IsOk());
    ASSERT_THAT((*log)->Append("one"), IsOk());
    ASSERT_THAT((*log)->Append("two"), IsOk());
  }
  std::string bytes = ReadFile(path);
  bytes.back() ^= 0x01;  // its last page never made it to disk
  WriteFile(path, bytes);
  EXPECT_THAT(Reopen(path), ElementsAre("one"));
}

TEST(WriteAheadLogTest, CorruptionBeforeTheEndIsDataLossAndChangesNothing) {
  const std::string path = TempPath("corrupt.wal");
  {
    std::vector<std::string> ignored;
    auto log = WriteAheadLog::Open(path, {}, &ignored);
    ASSERT_THAT(log, IsOk());
    for (const char* r : {"alpha", "beta", "gamma"}) {
      ASSERT_THAT((*log)->Append(r), IsOk());
    }
  }
  std::string bytes = ReadFile(path);
  bytes[8 + 5 + 8] ^= 0x20;  // the first payload byte of "beta"
  WriteFile(path, bytes);
  std::vector<std::string> recovered;
  auto log = WriteAheadLog::Open(path, {}, &recovered);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(log.status().message(), "offset 13"))
      << log.status();
  EXPECT_TRUE(absl::StrContains(log.status().message(), path)) << log.status();
  EXPECT_THAT(recovered, IsEmpty());
  EXPECT_EQ(ReadFile(path), bytes);
}

TEST(WriteAheadLogTest, OversizedRecordIsRefusedAndTheLogGoesOn) {
  const std::string path = TempPath("oversized.wal");
  std::vector<std::string> ignored;
  auto log = WriteAheadLog::Open(path, {.max_record_bytes = 10}, &ignored);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ((*log)->Append("eleven byte").code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_THAT((*log)->Append("ten bytes!"), IsOk());
  log->reset();
  EXPECT_THAT(Reopen(path), ElementsAre("ten bytes!"));
}

TEST(WriteAheadLogTest, BatchesSyncOnceAndResetEmpties) {
  const std::string path = TempPath("batch.wal");
  std::vector<std::string> ignored;
  auto log = WriteAheadLog::Open(path, {.sync_each_append = false}, &ignored);
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT((*log)->AppendBatch({"a", "b", "c"}), IsOk());
  ASSERT_THAT((*log)->Sync(), IsOk());
  EXPECT_THAT(Reopen(path), ElementsAre("a", "b", "c"));
  ASSERT_THAT((*log)->Reset(), IsOk());
  EXPECT_EQ((*log)->size_bytes(), 0u);
  ASSERT_THAT((*log)->Append("fresh"), IsOk());
  ASSERT_THAT((*log)->Sync(), IsOk());
  EXPECT_THAT(Reopen(path), ElementsAre("fresh"));
}

TEST(WriteAheadLogTest, MissingDirectoryIsNotFoundNamingThePath) {
  std::vector<std::string> ignored;
  auto log = WriteAheadLog::Open("/nonexistent-anvil-dir/x.wal", {}, &ignored);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      absl::StrContains(log.status().message(), "/nonexistent-anvil-dir/x.wal"))
      << log.status();
}

TEST(WriteAheadLogTest, ChecksumIsCrc32c) {
  // The standard check value of CRC-32C.
  EXPECT_EQ(WriteAheadLog::Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(WriteAheadLog::Crc32c(""), 0u);
}

}  // namespace
}  // namespace anvil::kv
