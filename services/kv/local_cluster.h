// LocalCluster: kv nodes in this process, each with its own gRPC server on
// 127.0.0.1 (a free port) and its own log, for the demo and the
// benchmark. Real servers, real sockets, real fsync; one process.
//
//   anvil::Runtime runtime(anvil::RuntimeOptions{.name = "kv"});
//   absl::StatusOr<std::unique_ptr<LocalCluster>> cluster =
//       LocalCluster::Start(runtime, {.members = {"n1", "n2", "n3"},
//                                     .data_dir = "/tmp/kv"});
//   absl::StatusOr<std::string> leader =
//       (*cluster)->WaitForLeader(absl::Seconds(10));
//   absl::StatusOr<KvStoreRef> kv = (*cluster)->Client(*leader);
//   (*cluster)->Kill(*leader);     // abrupt stop; Restart() brings it back
//
// Thread-safety: Start, Kill, Restart, WaitForLeader and the destructor
// block: call them from one thread that is not a runtime worker. Client()
// and cluster() from anywhere.
#ifndef ANVIL_SERVICES_KV_LOCAL_CLUSTER_H_
#define ANVIL_SERVICES_KV_LOCAL_CLUSTER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/actor/runtime.h"
#include "runtime/daemon/factory.h"
#include "runtime/node/cluster.h"
#include "runtime/node/node.h"
#include "runtime/transport/network.h"
#include "services/kv/kv.anvil.h"
#include "services/kv/kv_config.h"

namespace anvil::kv {

class LocalCluster {
 public:
  // Binds the kv daemons with `options` and starts every member.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(Runtime& runtime,
                                                             KvOptions options);
  // Stops every node, then the process-wide daemons.
  ~LocalCluster();

  // Stops `node` at once (no grace: calls in flight fail) and destroys its
  // daemons; its log stays. NOT_FOUND if it is not running.
  absl::Status Kill(const std::string& node);
  // Starts `node` again, from its log.
  absl::Status Restart(const std::string& node);

  // Asks every running node until one says it leads.
  absl::StatusOr<std::string> WaitForLeader(absl::Duration timeout);

  // A client of `node`'s KvStore, over gRPC; NOT_FOUND while it is down.
  absl::StatusOr<KvStoreRef> Client(const std::string& node) {
    return cluster_->peers().RefTo<KvStoreRef>(node);
  }
  // "127.0.0.1:port", or "down".
  std::string address(const std::string& node) const;
  Cluster& cluster() { return *cluster_; }
  Runtime& runtime() { return runtime_; }
  const KvOptions& options() const { return options_; }

 private:
  LocalCluster(Runtime& runtime, KvOptions options);
  absl::Status StartNode(const std::string& node);

  Runtime& runtime_;
  const KvOptions options_;
  std::shared_ptr<Network> network_;  // gRPC
  Factory root_;
  Cluster* cluster_ = nullptr;
  std::unique_ptr<Node> root_node_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // null: down
};

}  // namespace anvil::kv

#endif  // ANVIL_SERVICES_KV_LOCAL_CLUSTER_H_
