#include "services/kv/kv_storage.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/status_macros.h"
#include "runtime/storage/file_system.h"

namespace anvil::kv {

KvStorage::KvStorage(const StorageDeps& deps)
    : config_(deps.cluster_config), node_(deps.context.factory().name()) {}

Task<absl::Status> KvStorage::Prepare() {
  const KvOptions& options = config_.options();
  if (options.engine == KvOptions::Engine::kMemory) {
    store_ = std::make_unique<MemoryLogStore>();
    co_return absl::OkStatus();
  }
  if (options.data_dir.empty()) {
    co_return absl::InvalidArgumentError(
        "the durable storage engine needs a data directory "
        "(KvOptions::data_dir)");
  }
  // One process per node's files: a second kvd with the same data
  // directory and node name must not write the same log.
  const std::string prefix = absl::StrCat(options.data_dir, "/", node_);
  absl::StatusOr<FileLock> lock = co_await LockFile(prefix + ".lock");
  if (absl::IsFailedPrecondition(lock.status())) {
    co_return absl::FailedPreconditionError(absl::StrCat(
        "node ", node_, " cannot use data directory ", options.data_dir,
        ": another process runs this node on it (", lock.status().message(),
        ")"));
  }
  ANVIL_CO_RETURN_IF_ERROR(lock.status());  // e.g. NOT_FOUND: no directory
  WriteAheadLog::Options wal;
  wal.sync_each_append = options.fsync;
  ANVIL_CO_ASSIGN_OR_RETURN(
      store_, co_await DurableLogStore::Open(prefix + ".wal", wal));
  lock_ = *std::move(lock);
  co_return absl::OkStatus();
}

}  // namespace anvil::kv
