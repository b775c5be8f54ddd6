#include "services/kv/write_ahead_log.h"

#include <fstream>
#include <iterator>
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
using ::anvil::testing::StatusIs;
using ::anvil::testing::TempPath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr size_t kMagic = WriteAheadLog::kMagic.size();
constexpr size_t kHeader = WriteAheadLog::kHeaderBytes;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

absl::StatusOr<std::unique_ptr<WriteAheadLog>> Open(
    const std::string& path, std::vector<std::string>* recovered,
    WriteAheadLog::Options options = {}) {
  return Await(WriteAheadLog::Open(path, options, recovered));
}

std::vector<std::string> Reopen(const std::string& path) {
  std::vector<std::string> records;
  EXPECT_THAT(Open(path, &records), IsOk());
  return records;
}

// A log at `path` holding `records`, synced.
void WriteLog(const std::string& path,
              const std::vector<std::string>& records) {
  std::vector<std::string> ignored;
  auto log = Open(path, &ignored);
  ASSERT_THAT(log, IsOk());
  for (const std::string& r : records) {
    ASSERT_THAT(Await((*log)->Append(r)), IsOk());
  }
}

TEST(WriteAheadLogTest, RecordsSurviveReopening) {
  const std::string path = TempPath("survive.wal");
  {
    std::vector<std::string> recovered;
    auto log = Open(path, &recovered);
    ASSERT_THAT(log, IsOk());
    EXPECT_THAT(recovered, IsEmpty());
    ASSERT_THAT(Await((*log)->Append("first")), IsOk());
    ASSERT_THAT(Await((*log)->Append("")), IsOk());
    ASSERT_THAT(Await((*log)->Append(std::string("\0\xff\n", 3))), IsOk());
    EXPECT_EQ((*log)->size_bytes(), kMagic + 3 * kHeader + 5 + 0 + 3);
  }
  EXPECT_TRUE(ReadFile(path).starts_with("ANVWAL02"));
  EXPECT_THAT(Reopen(path),
              ElementsAre("first", "", std::string("\0\xff\n", 3)));
}

TEST(WriteAheadLogTest, TornTailIsCutOffAndAppendingGoesOn) {
  const std::string path = TempPath("torn.wal");
  WriteLog(path, {"kept"});
  const size_t good = ReadFile(path).size();
  // A crash in the middle of the next record: a header and half a payload.
  WriteFile(path, ReadFile(path) +
                      WriteAheadLog::Frame("a longer record").substr(0, 18));
  std::vector<std::string> recovered;
  auto log = Open(path, &recovered);
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(recovered, ElementsAre("kept"));
  EXPECT_EQ(ReadFile(path).size(), good);
  ASSERT_THAT(Await((*log)->Append("after")), IsOk());
  log->reset();
  EXPECT_THAT(Reopen(path), ElementsAre("kept", "after"));
}

TEST(WriteAheadLogTest, APartialHeaderAtTheEndIsTorn) {
  const std::string path = TempPath("torn_header.wal");
  WriteLog(path, {"one"});
  WriteFile(path, ReadFile(path) + WriteAheadLog::Frame("two").substr(0, 5));
  EXPECT_THAT(Reopen(path), ElementsAre("one"));
}

TEST(WriteAheadLogTest, ABadLastSectorIsTorn) {
  const std::string path = TempPath("torn_crc.wal");
  WriteLog(path, {"one", "two"});
  std::string bytes = ReadFile(path);
  bytes.back() ^= 0x01;  // its last sector never made it to disk whole
  WriteFile(path, bytes);
  EXPECT_THAT(Reopen(path), ElementsAre("one"));
}

TEST(WriteAheadLogTest, AFlippedBitInALengthIsDataLossNotATornTail) {
  // 300 records; one bit of the length of the 151st flipped. Read as a
  // torn tail (the length runs past the end), it cost 150 acknowledged
  // writes; the header checksum sees it for what it is.
  const std::string path = TempPath("flipped_length.wal");
  std::vector<std::string> records;
  for (int i = 0; i < 300; ++i) records.push_back(absl::StrCat("put k", i));
  WriteLog(path, records);
  std::string bytes = ReadFile(path);
  size_t offset = kMagic;
  for (int i = 0; i < 150; ++i) offset += kHeader + records[i].size();
  bytes[offset + 3] ^= 0x40;  // the length's high byte
  WriteFile(path, bytes);
  std::vector<std::string> recovered;
  EXPECT_THAT(Open(path, &recovered),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("offset ", offset))));
  EXPECT_THAT(recovered, IsEmpty());
  EXPECT_EQ(ReadFile(path), bytes) << "recovery changed a corrupt log";
}

TEST(WriteAheadLogTest, ABadHeaderBeforeTheFinalSectorIsDataLoss) {
  // The last record is 2 KiB: its header lies sectors before the end, where
  // a crash cannot tear.
  const std::string path = TempPath("bad_last_header.wal");
  WriteLog(path, {"one", std::string(2048, 'x')});
  std::string bytes = ReadFile(path);
  bytes[kMagic + kHeader + 3] ^= 0x01;  // the second record's length
  WriteFile(path, bytes);
  std::vector<std::string> recovered;
  EXPECT_THAT(Open(path, &recovered),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("header")));
}

TEST(WriteAheadLogTest, CorruptionBeforeTheEndIsDataLossAndChangesNothing) {
  const std::string path = TempPath("corrupt.wal");
  WriteLog(path, {"alpha", "beta", "gamma"});
  std::string bytes = ReadFile(path);
  const size_t beta = kMagic + kHeader + 5;
  bytes[beta + kHeader] ^= 0x20;  // the first payload byte of "beta"
  WriteFile(path, bytes);
  std::vector<std::string> recovered;
  auto log = Open(path, &recovered);
  EXPECT_THAT(log, StatusIs(absl::StatusCode::kDataLoss,
                            HasSubstr(absl::StrCat("offset ", beta))));
  EXPECT_THAT(log, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
  EXPECT_THAT(recovered, IsEmpty());
  EXPECT_EQ(ReadFile(path), bytes);
}

TEST(WriteAheadLogTest, AnotherFormatIsRefusedAndATornCreationIsNew) {
  const std::string path = TempPath("format.wal");
  WriteFile(path, "{\"not\": \"a log\"}");
  std::vector<std::string> recovered;
  EXPECT_THAT(Open(path, &recovered),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a write-ahead log of this format")));
  EXPECT_EQ(ReadFile(path), "{\"not\": \"a log\"}");

  WriteFile(path, "ANVW");  // the creation was cut short
  EXPECT_THAT(Reopen(path), IsEmpty());
  EXPECT_EQ(ReadFile(path), "ANVWAL02");
}

TEST(WriteAheadLogTest, OversizedRecordIsRefusedAndTheLogGoesOn) {
  const std::string path = TempPath("oversized.wal");
  std::vector<std::string> ignored;
  auto log = Open(path, &ignored, {.max_record_bytes = 10});
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(Await((*log)->Append("eleven byte")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(Await((*log)->Append("ten bytes!")), IsOk());
  log->reset();
  EXPECT_THAT(Reopen(path), ElementsAre("ten bytes!"));
}

TEST(WriteAheadLogTest, BatchesSyncOnceAndResetEmpties) {
  const std::string path = TempPath("batch.wal");
  std::vector<std::string> ignored;
  auto log = Open(path, &ignored, {.sync_each_append = false});
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT(Await((*log)->AppendBatch({"a", "b", "c"})), IsOk());
  ASSERT_THAT(Await((*log)->Sync()), IsOk());
  EXPECT_THAT(Reopen(path), ElementsAre("a", "b", "c"));
  ASSERT_THAT(Await((*log)->Reset()), IsOk());
  EXPECT_EQ((*log)->size_bytes(), kMagic);
  ASSERT_THAT(Await((*log)->Append("fresh")), IsOk());
  ASSERT_THAT(Await((*log)->Sync()), IsOk());
  EXPECT_THAT(Reopen(path), ElementsAre("fresh"));
}

TEST(WriteAheadLogTest, MissingDirectoryIsNotFoundNamingThePath) {
  std::vector<std::string> ignored;
  EXPECT_THAT(Open("/nonexistent-anvil-dir/x.wal", &ignored),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("/nonexistent-anvil-dir/x.wal")));
}

TEST(WriteAheadLogTest, ChecksumIsCrc32c) {
  // The standard check value of CRC-32C.
  EXPECT_EQ(WriteAheadLog::Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(WriteAheadLog::Crc32c(""), 0u);
}

}  // namespace
}  // namespace anvil::kv
