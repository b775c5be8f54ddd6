// KvStorage: the kv store's Storage daemon: opens the node's LogStore (in
// memory, or durable at <data_dir>/<node>.wal, as KvConfig says) in
// Prepare, and hands it to Raft, its only user. A durable store holds the
// lock <data_dir>/<node>.lock while the daemon lives, so that two
// processes never run one node on the same files.
//
//   root.Bind<anvil::kv::StorageDaemon, anvil::kv::KvStorage>();
//   // Raft's Prepare (StorageApi): deps.storage.store()
//
// Thread-compatible: the store is used by one Raft actor at a time.
#ifndef ANVIL_SERVICES_KV_KV_STORAGE_H_
#define ANVIL_SERVICES_KV_KV_STORAGE_H_

#include <memory>
#include <string>

#include "runtime/daemon/serves_until_stopped.h"
#include "runtime/storage/file_system.h"
#include "services/kv/kv.anvil.h"
#include "services/kv/log_store.h"

namespace anvil::kv {

class KvStorage final : public ServesUntilStopped<StorageDaemon> {
 public:
  explicit KvStorage(const StorageDeps& deps);

  // Opens and recovers the store. INVALID_ARGUMENT for a durable engine
  // with no data_dir; FAILED_PRECONDITION if another process holds the
  // node's lock there; the store's own errors (DATA_LOSS for a corrupt
  // log).
  Task<absl::Status> Prepare() override;

  // REQUIRES: Prepare() succeeded.
  LogStore& store() override { return *store_; }

 private:
  const ClusterConfigDaemon& config_;
  const std::string node_;
  std::unique_ptr<LogStore> store_;
  FileLock lock_;  // held while a durable store is open
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_KV_STORAGE_H_
