#include "runtime/storage/sim_disk.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/runtime_test_util.h"
#include "testing/status_matchers.h"

namespace anvil::internal {
namespace {

using ::anvil::testing::BlockOn;
using ::anvil::testing::IsOk;
using ::anvil::testing::IsOkAndHolds;
using ::anvil::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SimDiskTest : public ::testing::Test {
 protected:
  std::shared_ptr<SimDisk> NewDisk(uint64_t seed, SimDiskOptions options = {}) {
    random_.seed(seed);
    return std::make_shared<SimDisk>("n1", options, &random_);
  }

  template <typename T>
  T Run(Task<T> task) {
    return BlockOn(runtime_, std::move(task));
  }

  SimDisk::Handle Create(SimDisk& disk, const std::string& path) {
    absl::StatusOr<SimDisk::Handle> file =
        Run(disk.Open(path, {.create = true}));
    EXPECT_THAT(file, IsOk());
    return file.value_or(SimDisk::Handle{});
  }

  std::mt19937_64 random_;
  Runtime runtime_{::anvil::testing::TestRuntimeOptions()};
};

TEST_F(SimDiskTest, ReadsSeeWritesAtOnce) {
  auto disk = NewDisk(1);
  SimDisk::Handle file = Create(*disk, "/d/log");
  EXPECT_THAT(Run(disk->Write(file, 0, "abc")), IsOk());
  EXPECT_THAT(Run(disk->Write(file, 5, "z")), IsOk());
  EXPECT_THAT(Run(disk->Read(file, 0, 100)),
              IsOkAndHolds(std::string("abc\0\0z", 6)));
  EXPECT_THAT(disk->Size(file), IsOkAndHolds(6u));
  EXPECT_EQ(disk->Contents("//d//log/"), std::string("abc\0\0z", 6));
  EXPECT_EQ(disk->SyncedContents("/d/log"), std::nullopt);
}

TEST_F(SimDiskTest, CrashKeepsSyncedBytesAndAPrefixOfTheRest) {
  const std::string synced(1000, 'A');
  bool saw_all_lost = false, saw_all_kept = false, saw_torn = false;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto disk = NewDisk(seed);
    SimDisk::Handle file = Create(*disk, "/d/log");
    ASSERT_THAT(Run(disk->SyncDirectory("/d")), IsOk());
    ASSERT_THAT(Run(disk->Write(file, 0, synced)), IsOk());
    ASSERT_THAT(Run(disk->Sync(file)), IsOk());
    ASSERT_THAT(Run(disk->Write(file, 1000, std::string(1000, 'B'))), IsOk());
    ASSERT_THAT(Run(disk->Write(file, 2000, std::string(1000, 'C'))), IsOk());
    disk->Crash();

    std::optional<std::string> after = disk->Contents("/d/log");
    ASSERT_TRUE(after.has_value()) << "seed " << seed;
    ASSERT_GE(after->size(), 1000u) << "seed " << seed;
    ASSERT_LE(after->size(), 3000u) << "seed " << seed;
    EXPECT_EQ(after->substr(0, 1000), synced) << "seed " << seed;
    // The kept writes are whole, in order, except perhaps the last sector.
    const std::string expected =
        synced + std::string(1000, 'B') + std::string(1000, 'C');
    // (The last sector a kept write touched may be torn.)
    const size_t whole =
        std::max<size_t>(1000, (after->size() - 1) / SimDisk::kSectorBytes *
                                   SimDisk::kSectorBytes);
    EXPECT_EQ(after->substr(0, whole), expected.substr(0, whole))
        << "seed " << seed;
    saw_all_lost |= after->size() == 1000;
    saw_all_kept |= *after == expected;
    saw_torn |= disk->stats().torn_writes > 0;
    // What survived is on the disk now.
    EXPECT_EQ(disk->SyncedContents("/d/log"), after);
  }
  EXPECT_TRUE(saw_all_lost);
  EXPECT_TRUE(saw_all_kept);
  EXPECT_TRUE(saw_torn);
}

TEST_F(SimDiskTest, WithoutTornWritesEveryKeptWriteIsWhole) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto disk = NewDisk(seed, {.torn_writes = false});
    SimDisk::Handle file = Create(*disk, "/log");
    ASSERT_THAT(Run(disk->SyncDirectory("/")), IsOk());
    ASSERT_THAT(Run(disk->Write(file, 0, std::string(700, 'B'))), IsOk());
    disk->Crash();
    const std::optional<std::string> after = disk->Contents("/log");
    ASSERT_TRUE(after.has_value());
    EXPECT_TRUE(after->empty() || *after == std::string(700, 'B'))
        << "seed " << seed;
  }
}

TEST_F(SimDiskTest, ANewNameNeedsItsDirectorySynced) {
  bool saw_vanished = false;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto disk = NewDisk(seed);
    SimDisk::Handle unsynced = Create(*disk, "/d/new");
    ASSERT_THAT(Run(disk->Write(unsynced, 0, "x")), IsOk());
    ASSERT_THAT(Run(disk->Sync(unsynced)), IsOk());
    SimDisk::Handle synced = Create(*disk, "/e/new");
    ASSERT_THAT(Run(disk->SyncDirectory("/e")), IsOk());
    disk->Crash();
    saw_vanished |= !disk->Contents("/d/new").has_value();
    EXPECT_TRUE(disk->Contents("/e/new").has_value()) << "seed " << seed;
    (void)synced;
  }
  EXPECT_TRUE(saw_vanished);
}

TEST_F(SimDiskTest, RenameInOneDirectoryIsAtomicAcrossACrash) {
  bool saw_old = false, saw_new = false;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto disk = NewDisk(seed);
    SimDisk::Handle old_file = Create(*disk, "/d/state");
    ASSERT_THAT(Run(disk->Write(old_file, 0, "old")), IsOk());
    ASSERT_THAT(Run(disk->Sync(old_file)), IsOk());
    ASSERT_THAT(Run(disk->SyncDirectory("/d")), IsOk());
    SimDisk::Handle new_file = Create(*disk, "/d/state.tmp");
    ASSERT_THAT(Run(disk->Write(new_file, 0, "new")), IsOk());
    ASSERT_THAT(Run(disk->Sync(new_file)), IsOk());
    ASSERT_THAT(Run(disk->Rename("/d/state.tmp", "/d/state")), IsOk());
    EXPECT_EQ(disk->Contents("/d/state"), "new");
    disk->Crash();
    const std::optional<std::string> state = disk->Contents("/d/state");
    ASSERT_TRUE(state.has_value()) << "seed " << seed;
    if (*state == "new") {
      saw_new = true;
      EXPECT_FALSE(disk->Contents("/d/state.tmp").has_value());
    } else {
      saw_old = true;
      EXPECT_EQ(*state, "old") << "seed " << seed;
    }
  }
  EXPECT_TRUE(saw_old);
  EXPECT_TRUE(saw_new);
}

TEST_F(SimDiskTest, RemoveAndListAndMissingNames) {
  auto disk = NewDisk(1);
  Create(*disk, "/d/a");
  Create(*disk, "/d/sub/b");
  EXPECT_THAT(Run(disk->List("/d")), IsOkAndHolds(ElementsAre("a", "sub")));
  EXPECT_THAT(Run(disk->Remove("/d/a")), IsOk());
  EXPECT_THAT(Run(disk->List("/d")), IsOkAndHolds(ElementsAre("sub")));
  EXPECT_THAT(Run(disk->Remove("/d/a")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/d/a")));
  EXPECT_THAT(Run(disk->Open("/d/a", {})),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Run(disk->Open("/d/sub/b", {.create = true, .exclusive = true})),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Run(disk->Rename("/d/none", "/d/x")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SimDiskTest, AFailedSyncLosesTheUnsyncedWrites) {
  auto disk = NewDisk(1);
  SimDisk::Handle file = Create(*disk, "/log");
  ASSERT_THAT(Run(disk->Write(file, 0, "kept")), IsOk());
  ASSERT_THAT(Run(disk->Sync(file)), IsOk());
  ASSERT_THAT(Run(disk->Write(file, 4, "lost")), IsOk());
  disk->set_options({.sync_error = 1});
  EXPECT_THAT(Run(disk->Sync(file)), StatusIs(absl::StatusCode::kUnknown,
                                              HasSubstr("Input/output error")));
  EXPECT_THAT(Run(disk->Read(file, 0, 100)), IsOkAndHolds("kept"));
  EXPECT_EQ(disk->stats().sync_errors, 1u);
  EXPECT_EQ(disk->stats().lost_writes, 1u);
}

TEST_F(SimDiskTest, AFailedWriteWritesNothing) {
  auto disk = NewDisk(1, {.write_error = 1});
  SimDisk::Handle file = Create(*disk, "/log");
  EXPECT_THAT(Run(disk->Write(file, 0, "data")),
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("write inode 1")));
  EXPECT_THAT(disk->Size(file), IsOkAndHolds(0u));
}

TEST_F(SimDiskTest, AFullDiskRefusesToGrow) {
  auto disk = NewDisk(1, {.capacity_bytes = 10});
  SimDisk::Handle file = Create(*disk, "/log");
  EXPECT_THAT(Run(disk->Write(file, 0, "12345678")), IsOk());
  EXPECT_THAT(Run(disk->Write(file, 8, "abc")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(Run(disk->Write(file, 0, "overwrite")), IsOk());
  EXPECT_EQ(disk->stats().no_space, 1u);
}

TEST_F(SimDiskTest, ACorruptedReadStaysCorrupted) {
  auto disk = NewDisk(3);
  SimDisk::Handle file = Create(*disk, "/log");
  const std::string data(64, 'x');
  ASSERT_THAT(Run(disk->Write(file, 0, data)), IsOk());
  ASSERT_THAT(Run(disk->Sync(file)), IsOk());
  disk->set_options({.read_corruption = 1});
  absl::StatusOr<std::string> first = Run(disk->Read(file, 0, 64));
  ASSERT_THAT(first, IsOk());
  int flipped_bits = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    flipped_bits +=
        __builtin_popcount(static_cast<uint8_t>((*first)[i] ^ data[i]));
  }
  EXPECT_EQ(flipped_bits, 1);
  disk->set_options({});
  EXPECT_THAT(Run(disk->Read(file, 0, 64)), IsOkAndHolds(*first));
  disk->Crash();
  EXPECT_EQ(disk->Contents("/log"), *first);
}

TEST_F(SimDiskTest, AMisdirectedWriteLandsOneSectorAway) {
  auto disk = NewDisk(5);
  SimDisk::Handle file = Create(*disk, "/log");
  ASSERT_THAT(Run(disk->Write(file, 0, std::string(2048, '.'))), IsOk());
  disk->set_options({.misdirected_write = 1});
  ASSERT_THAT(Run(disk->Write(file, 512, std::string(512, 'M'))), IsOk());
  const std::string contents = *disk->Contents("/log");
  EXPECT_EQ(contents.substr(512, 512), std::string(512, '.'));
  EXPECT_TRUE(contents.substr(0, 512) == std::string(512, 'M') ||
              contents.substr(1024, 512) == std::string(512, 'M'));
  EXPECT_EQ(disk->stats().misdirected_writes, 1u);
}

TEST_F(SimDiskTest, HandlesAndLocksDieWithTheMachine) {
  auto disk = NewDisk(1);
  SimDisk::Handle file = Create(*disk, "/log");
  ASSERT_THAT(Run(disk->SyncDirectory("/")), IsOk());
  absl::StatusOr<SimDisk::Handle> lock = Run(disk->Lock("/LOCK"));
  ASSERT_THAT(lock, IsOk());
  EXPECT_THAT(Run(disk->Lock("/LOCK")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("held by another process")));
  disk->Crash();
  EXPECT_EQ(disk->generation(), 2u);
  // Until it is powered on again nothing reaches it.
  EXPECT_FALSE(disk->powered());
  EXPECT_THAT(Run(disk->Open("/log", {})),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("the machine is down")));
  EXPECT_THAT(Run(disk->Lock("/LOCK")),
              StatusIs(absl::StatusCode::kUnavailable));
  disk->PowerOn();
  EXPECT_THAT(Run(disk->Open("/log", {})), IsOk());
  EXPECT_THAT(Run(disk->Write(file, 0, "x")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("crashed")));
  EXPECT_THAT(Run(disk->Read(file, 0, 1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Run(disk->Sync(file)), StatusIs(absl::StatusCode::kUnavailable));
  // The dead holder's lock is free; its late Unlock frees nothing new.
  absl::StatusOr<SimDisk::Handle> relock = Run(disk->Lock("/LOCK"));
  ASSERT_THAT(relock, IsOk());
  disk->Unlock("/LOCK", *lock);
  EXPECT_THAT(Run(disk->Lock("/LOCK")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  disk->Unlock("/LOCK", *relock);
  EXPECT_THAT(Run(disk->Lock("/LOCK")), IsOk());
}

TEST_F(SimDiskTest, ASeedReplaysTheSameOperations) {
  auto trace_of = [&](uint64_t seed) {
    std::vector<std::string> trace;
    random_.seed(seed);
    auto disk = std::make_shared<SimDisk>(
        "n1", SimDiskOptions{.read_corruption = 0.3, .misdirected_write = 0.3},
        &random_, [&](const char* what, uint64_t a, uint64_t b) {
          trace.push_back(absl::StrCat(what, ":", a, ":", b));
        });
    SimDisk::Handle file = Create(*disk, "/log");
    for (int i = 0; i < 20; ++i) {
      EXPECT_THAT(Run(disk->Write(file, i * 600, std::string(600, 'a' + i))),
                  IsOk());
      EXPECT_THAT(Run(disk->Read(file, i * 300, 600)), IsOk());
    }
    disk->Crash();
    return trace;
  };
  EXPECT_EQ(trace_of(7), trace_of(7));
  EXPECT_NE(trace_of(7), trace_of(8));
}

}  // namespace
}  // namespace anvil::internal
