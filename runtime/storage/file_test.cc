#include "runtime/storage/file.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/storage/file_system.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"
#include "testing/temp_path.h"

namespace anvil {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// EXPECT_THAT(status, IsOk()) that also says whether it held, for
// coroutines (where ASSERT_* cannot return).
template <typename T>
bool ExpectOk(const T& status) {
  EXPECT_THAT(status, IsOk());
  return ::anvil::testing::internal::GetStatus(status).ok();
}

class FileTest : public ::testing::Test {
 protected:
  // A fresh, empty directory for the test.
  std::string Directory(const std::string& name) {
    const std::string dir = ::anvil::testing::TempPath(name);
    std::string command = "rm -rf '" + dir + "'";
    EXPECT_EQ(system(command.c_str()), 0);
    EXPECT_EQ(mkdir(dir.c_str(), 0755), 0);
    return dir;
  }

  Runtime runtime_{::anvil::testing::TestRuntimeOptions()};
};

TEST_F(FileTest, WritesReadBackAndSurviveReopening) {
  const std::string path = ::anvil::testing::TempPath("round_trip");
  absl::Status status = BlockOn(runtime_, [&]() -> Task<absl::Status> {
    absl::StatusOr<File> file = co_await File::Open(path, {.create = true});
    if (!file.ok()) co_return file.status();
    EXPECT_EQ(file->size(), 0u);
    EXPECT_THAT(co_await file->Append("hello "), IsOk());
    EXPECT_THAT(co_await file->Append("world"), IsOk());
    EXPECT_EQ(file->size(), 11u);
    EXPECT_THAT(co_await file->Sync(), IsOk());
    EXPECT_THAT(co_await file->Read(6, 100), IsOkAndHolds("world"));
    EXPECT_THAT(co_await file->Read(11, 5), IsOkAndHolds(""));
    EXPECT_THAT(co_await file->Write(0, "J"), IsOk());

    absl::StatusOr<File> again = co_await File::Open(path);
    if (!again.ok()) co_return again.status();
    EXPECT_EQ(again->size(), 11u);
    EXPECT_THAT(co_await again->ReadAll(), IsOkAndHolds("Jello world"));
    co_return absl::OkStatus();
  }());
  EXPECT_THAT(status, IsOk());
}

TEST_F(FileTest, WritePastTheEndLeavesAHoleOfZeros) {
  const std::string path = ::anvil::testing::TempPath("hole");
  absl::StatusOr<std::string> contents =
      BlockOn(runtime_, [&]() -> Task<absl::StatusOr<std::string>> {
        absl::StatusOr<File> file = co_await File::Open(path, {.create = true});
        if (!file.ok()) co_return file.status();
        EXPECT_THAT(co_await file->Write(3, "x"), IsOk());
        co_return co_await file->ReadAll();
      }());
  EXPECT_THAT(contents, IsOkAndHolds(std::string("\0\0\0x", 4)));
}

TEST_F(FileTest, OpenOptionsAreHonoured) {
  const std::string path = ::anvil::testing::TempPath("options");
  BlockOn(runtime_, [&]() -> Task<void> {
    absl::StatusOr<File> missing = co_await File::Open(path);
    EXPECT_THAT(missing,
                StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
    absl::StatusOr<File> created =
        co_await File::Open(path, {.create = true, .exclusive = true});
    if (!ExpectOk(created)) co_return;
    EXPECT_THAT(co_await created->Append("data"), IsOk());
    EXPECT_THAT(co_await File::Open(path, {.create = true, .exclusive = true}),
                StatusIs(absl::StatusCode::kAlreadyExists));
    absl::StatusOr<File> emptied =
        co_await File::Open(path, {.truncate = true});
    if (!ExpectOk(emptied)) co_return;
    EXPECT_EQ(emptied->size(), 0u);
  }());
}

TEST_F(FileTest, TruncateCutsTheFile) {
  const std::string path = ::anvil::testing::TempPath("truncate");
  BlockOn(runtime_, [&]() -> Task<void> {
    absl::StatusOr<File> file = co_await File::Open(path, {.create = true});
    if (!ExpectOk(file)) co_return;
    EXPECT_THAT(co_await file->Append("0123456789"), IsOk());
    EXPECT_THAT(co_await file->Truncate(4), IsOk());
    EXPECT_EQ(file->size(), 4u);
    EXPECT_THAT(co_await file->Append("x"), IsOk());
    EXPECT_THAT(co_await file->ReadAll(), IsOkAndHolds("0123x"));
  }());
}

TEST_F(FileTest, RenameListRemoveAndSyncDirectory) {
  const std::string dir = Directory("names");
  BlockOn(runtime_, [&]() -> Task<void> {
    if (!ExpectOk(co_await File::Open(dir + "/a.tmp", {.create = true})))
      co_return;
    if (!ExpectOk(co_await File::Open(dir + "/b", {.create = true}))) co_return;
    EXPECT_THAT(co_await RenameFile(dir + "/a.tmp", dir + "/a"), IsOk());
    EXPECT_THAT(co_await SyncDirectory(dir), IsOk());
    EXPECT_THAT(co_await ListDirectory(dir),
                IsOkAndHolds(ElementsAre("a", "b")));
    EXPECT_THAT(co_await RemoveFile(dir + "/b"), IsOk());
    EXPECT_THAT(co_await ListDirectory(dir), IsOkAndHolds(ElementsAre("a")));
    EXPECT_THAT(co_await RemoveFile(dir + "/b"),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("unlink")));
    EXPECT_THAT(co_await RenameFile(dir + "/nope", dir + "/x"),
                StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(co_await ListDirectory(dir + "/missing"),
                StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(co_await SyncDirectory(dir + "/missing"),
                StatusIs(absl::StatusCode::kNotFound));
  }());
}

TEST_F(FileTest, CreateDirectoriesMakesParentsAndRefusesAFile) {
  const std::string dir = Directory("tree");
  BlockOn(runtime_, [&]() -> Task<void> {
    EXPECT_THAT(co_await CreateDirectories(dir + "/x/y/z"), IsOk());
    EXPECT_THAT(co_await CreateDirectories(dir + "/x/y/z"), IsOk());
    EXPECT_THAT(co_await ListDirectory(dir + "/x/y"),
                IsOkAndHolds(ElementsAre("z")));
    if (!ExpectOk(co_await File::Open(dir + "/file", {.create = true})))
      co_return;
    EXPECT_THAT(co_await CreateDirectories(dir + "/file"),
                StatusIs(absl::StatusCode::kFailedPrecondition));
  }());
}

TEST_F(FileTest, LockIsExclusiveUntilReleased) {
  const std::string dir = Directory("lock");
  const std::string path = dir + "/LOCK";
  BlockOn(runtime_, [&]() -> Task<void> {
    absl::StatusOr<FileLock> first = co_await LockFile(path);
    if (!ExpectOk(first)) co_return;
    EXPECT_TRUE(first->held());
    EXPECT_THAT(co_await LockFile(path),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("held by another process")));
    FileLock moved = std::move(*first);
    EXPECT_TRUE(moved.held());
    EXPECT_THAT(co_await LockFile(path),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    moved = FileLock();
    EXPECT_THAT(co_await LockFile(path), IsOk());
  }());
}

TEST_F(FileTest, LockOfAPathInAMissingDirectoryFails) {
  const std::string dir = Directory("lock_missing");
  absl::StatusOr<FileLock> lock =
      BlockOn(runtime_, LockFile(dir + "/no/such/LOCK"));
  EXPECT_THAT(lock, StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace anvil
