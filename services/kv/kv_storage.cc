#include "services/kv/kv_storage.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/actor/blocking.h"

namespace anvil::kv {

KvStorage::KvStorage(const StorageDeps& deps)
    : config_daemon_(deps.cluster_config),
      node_(deps.context.factory().name()) {}

absl::StatusOr<KvStorage*> KvStorage::From(StorageDaemon& daemon) {
  auto* storage = dynamic_cast<KvStorage*>(&daemon);
  if (storage == nullptr) {
    return absl::InternalError(
        "anvil.kv.Storage is bound to something other than KvStorage");
  }
  return storage;
}

Task<absl::Status> KvStorage::Prepare() {
  absl::StatusOr<KvConfig*> config = KvConfig::From(config_daemon_);
  if (!config.ok()) co_return config.status();
  const KvOptions& options = (*config)->options();
  if (options.engine == KvOptions::Engine::kMemory) {
    store_ = std::make_unique<MemoryLogStore>();
    co_return absl::OkStatus();
  }
  if (options.data_dir.empty()) {
    co_return absl::InvalidArgumentError(
        "the durable storage engine needs a data directory "
        "(KvOptions::data_dir)");
  }
  const std::string path = absl::StrCat(options.data_dir, "/", node_, ".wal");
  WriteAheadLog::Options wal;
  wal.sync_each_append = options.fsync;
  absl::StatusOr<std::unique_ptr<DurableLogStore>> opened =
      co_await RunBlocking([&] { return DurableLogStore::Open(path, wal); });
  if (!opened.ok()) co_return opened.status();
  store_ = *std::move(opened);
  durable_ = true;
  co_return absl::OkStatus();
}

}  // namespace anvil::kv
