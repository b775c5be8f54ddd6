#include "runtime/node/node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/log.h"
#include "runtime/core/thread_event.h"
#include "runtime/node/cluster.h"

namespace anvil {

struct Node::State {
  std::string path;
  NodeOptions options;
  std::unique_ptr<Server> server;    // if a daemon is exposed
  std::vector<std::string> exposed;  // their service names
  std::string address;               // written before `started`
  std::string name;                  // the factory's: the node's name
  Cluster* cluster = nullptr;        // where it records its address
  std::vector<std::pair<std::string, Daemon*>> daemons;  // dependencies first
  ThreadEvent started;
  absl::Status start_status;  // written before `started` is notified
  ThreadEvent stopped;
  absl::Status final_status;  // written before `stopped` is notified
};

Node::Node(Factory& factory, NodeOptions options)
    : factory_(factory),
      path_(factory.path()),
      state_(std::make_shared<State>()) {
  state_->path = path_;
  state_->name = factory.name();
  state_->options = std::move(options);
}

const std::string& Node::address() const { return state_->address; }

Node::~Node() {
  if (started_ && !waited_) {
    RequestStop();
    Wait().IgnoreError();
  }
}

void Node::StartAsync() {
  started_ = true;
  if (factory_.runtime().stopping()) {
    // No actor would be started; say so instead of waiting for one.
    state_->final_status = absl::UnavailableError(
        absl::StrCat("node ", path_, ": the runtime is shutting down"));
    state_->start_status = state_->final_status;
    state_->started.Notify();
    state_->stopped.Notify();
    return;
  }
  state_->daemons = factory_.Built();
  state_->cluster = Cluster::Find(factory_);
  supervisor_ =
      factory_.runtime().Spawn(Supervise, state_, ActorOptions{.name = path_});
}

absl::Status Node::Start() {
  StartAsync();
  state_->started.Wait();
  return state_->start_status;
}

bool Node::start_done() const { return state_->started.HasBeenNotified(); }

absl::Status Node::start_status() const {
  return start_done() ? state_->start_status
                      : absl::FailedPreconditionError("node not started yet");
}

bool Node::stopped() const { return state_->stopped.HasBeenNotified(); }

absl::Status Node::final_status() const {
  return stopped() ? state_->final_status
                   : absl::FailedPreconditionError("node not stopped yet");
}

void Node::RequestStop() {
  if (supervisor_) supervisor_.TrySend(StopRequest{}).IgnoreError();
}

absl::Status Node::Wait() {
  waited_ = true;
  if (!started_) return absl::FailedPreconditionError("node not started");
  state_->stopped.Wait();
  return state_->final_status;
}

bool Node::WaitFor(absl::Duration timeout) {
  if (!started_) return false;
  return state_->stopped.WaitFor(timeout);
}

Task<> Node::RunDaemon(ActorContext<int>&, Daemon* daemon, size_t index,
                       ActorRef<Message> supervisor) {
  supervisor.TrySend(Started{index}).IgnoreError();
  absl::Status status = co_await daemon->Run();
  supervisor.TrySend(Exited{index, std::move(status)}).IgnoreError();
}

namespace {

// Decides who may call a node's CLUSTER daemons: the nodes its Cluster
// knows, by a name the caller proved, or (on a network that cannot prove
// names) by the name it claims. Thread-safe.
class ClusterCallers {
 public:
  ClusterCallers(std::string path, Cluster* cluster, bool verifies)
      : path_(std::move(path)), cluster_(cluster), verifies_(verifies) {}

  // OK if `caller` may call `method`; else PERMISSION_DENIED saying why,
  // also logged (internal::LogRefusedCall).
  absl::Status Check(const std::string& method,
                     const RemoteCaller* caller) const {
    if (caller == nullptr) return absl::OkStatus();  // from this process
    for (const std::string& name : caller->verified_names) {
      if (IsMember(name)) return absl::OkStatus();
    }
    if (!verifies_ && IsMember(caller->claimed_name)) return absl::OkStatus();
    std::string why;
    if (!caller->verified_names.empty()) {
      why = absl::StrCat("it proved to be ",
                         absl::StrJoin(caller->verified_names, ", "),
                         ", not a node of the cluster");
    } else if (verifies_) {
      why = "it proved no name";
    } else if (!caller->claimed_name.empty()) {
      why = absl::StrCat("it claims to be ", caller->claimed_name,
                         ", not a node of the cluster");
    } else {
      why = "it names no node of the cluster";
    }
    internal::LogRefusedCall(ComponentLog(path_, "server"), method, caller,
                             why);
    return absl::PermissionDeniedError(absl::StrCat(
        method, " is served to the cluster's nodes only; the caller at ",
        caller->address.empty() ? "(no address)" : caller->address,
        " is not one: ", why));
  }

 private:
  bool IsMember(const std::string& name) const {
    return !name.empty() && cluster_ != nullptr &&
           cluster_->peers().AddressOf(name).ok();
  }

  const std::string path_;
  Cluster* const cluster_;  // null: no node may call
  const bool verifies_;
};

// `handler`, refusing callers `callers` does not admit before they reach
// it.
MethodHandler ClusterOnly(std::string method, MethodHandler handler,
                          std::shared_ptr<const ClusterCallers> callers) {
  internal::Worker* const home = handler.home();
  if (handler.streaming()) {
    return MethodHandler::Streaming(
        [method = std::move(method), handler = std::move(handler),
         callers = std::move(callers)](
            std::shared_ptr<internal::ByteStream> stream,
            CallContext call) -> Task<> {
          if (absl::Status admitted =
                  callers->Check(method, call.remote_caller());
              !admitted.ok()) {
            stream->Finish(std::move(admitted));
            return []() -> Task<> { co_return; }();
          }
          return handler.ServeStream(std::move(stream), call);
        },
        home);
  }
  return MethodHandler(
      [method = std::move(method), handler = std::move(handler),
       callers = std::move(callers)](std::string request, CallContext call)
          -> Task<absl::StatusOr<std::string>> {
        if (absl::Status admitted =
                callers->Check(method, call.remote_caller());
            !admitted.ok()) {
          return [](absl::Status refused) -> Task<absl::StatusOr<std::string>> {
            co_return refused;
          }(std::move(admitted));
        }
        return handler(std::move(request), std::move(call));
      },
      home);
}

}  // namespace

absl::Status Node::Expose(State& state, Runtime& runtime) {
  if (state.options.network == nullptr) {
    state.options.network = NewDefaultNetwork(runtime);
  }
  const bool verifies = state.options.network->VerifiesCallers();
  auto callers = std::make_shared<const ClusterCallers>(
      state.path, state.cluster, verifies);
  MethodHandlers handlers;
  std::vector<std::string> cluster_only;
  for (const auto& [name, daemon] : state.daemons) {
    ExposedMethods exposed = daemon->Exposed();
    if (exposed.exposure == DaemonExposure::kNotExposed ||
        exposed.methods.empty()) {
      continue;
    }
    state.exposed.push_back(name);
    const bool cluster = exposed.exposure == DaemonExposure::kCluster;
    if (cluster) cluster_only.push_back(name);
    for (auto& [method, handler] : exposed.methods) {
      handlers.emplace(
          method, cluster ? ClusterOnly(method, std::move(handler), callers)
                          : std::move(handler));
    }
  }
  if (handlers.empty()) return absl::OkStatus();
  // Outermost, so the runtime's interceptors see the cluster's refusals.
  handlers =
      WithInterceptors(std::move(handlers), runtime.server_interceptors());
  std::string& listen = state.options.listen_address;
  if (listen.empty() && state.cluster != nullptr) {
    absl::StatusOr<std::string> listed =
        state.cluster->peers().AddressOf(state.name);
    if (listed.ok()) listen = *listed;
  }
  if (listen.empty()) listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> server =
      state.options.network->Serve(listen, std::move(handlers));
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("node ", state.path, ": cannot serve ",
                                     absl::StrJoin(state.exposed, ", "), " at ",
                                     state.options.listen_address, ": ",
                                     server.status().message()));
  }
  state.server = *std::move(server);
  state.address = state.server->address();
  for (const std::string& service : state.exposed) {
    state.server->SetServing(service, true);
  }
  state.server->SetServing("", true);
  if (state.cluster != nullptr) {
    state.cluster->peers().SetAddress(state.name, state.address);
  }
  spdlog::logger& log = ComponentLog(state.path, "server");
  log.info("serving {} at {} ({})", absl::StrJoin(state.exposed, ", "),
           state.address, std::string(state.options.network->name()));
  if (!cluster_only.empty()) {
    if (state.cluster == nullptr) {
      log.warn(
          "{} are served to the cluster's nodes only, but no Cluster daemon "
          "lists any: every remote call of them will be refused",
          absl::StrJoin(cluster_only, ", "));
    } else if (!verifies) {
      log.warn(
          "UNAUTHENTICATED: the cluster services {} at {} admit any caller "
          "that names a node of the cluster in its anvil-peer header: anyone "
          "who can reach this address can call them. Use mutual TLS "
          "(--anvil_tls_cert, "
          "--anvil_tls_key, --anvil_tls_ca, --anvil_tls_mutual) outside "
          "development.",
          absl::StrJoin(cluster_only, ", "), state.address);
    }
  }
  return absl::OkStatus();
}

Task<absl::Status> Node::Supervise(ActorContext<Message>& ctx,
                                   std::shared_ptr<State> state) {
  // Prepare, dependencies first.
  for (const auto& [name, daemon] : state->daemons) {
    absl::Status prepared = co_await daemon->Prepare();
    if (!prepared.ok()) {
      state->start_status = absl::Status(
          prepared.code(),
          absl::StrCat("node ", state->path, ": daemon ", name,
                       " failed to prepare: ", prepared.message()));
      state->final_status = state->start_status;
      state->started.Notify();
      state->stopped.Notify();
      co_return absl::OkStatus();
    }
  }

  // Serve the exposed daemons.
  absl::Status served = Expose(*state, ctx.runtime());
  if (!served.ok()) {
    state->start_status = served;
    state->final_status = served;
    state->started.Notify();
    state->stopped.Notify();
    co_return absl::OkStatus();
  }

  // Run, all at once.
  std::vector<ActorWatch> runs;
  std::vector<bool> exited(state->daemons.size(), false);
  for (size_t i = 0; i < state->daemons.size(); ++i) {
    ActorRef<int> run = ctx.runtime().Spawn(
        RunDaemon, state->daemons[i].second, i, ctx.Self(),
        ActorOptions{
            .name = absl::StrCat(state->path, "/", state->daemons[i].first)});
    runs.push_back(run.Watch());
  }

  // Start() returns once every Run was entered; what else arrives meanwhile
  // (a stop request, an early exit) is handled after.
  absl::Status failure;
  std::vector<Message> early;
  for (size_t started = 0; started < state->daemons.size();) {
    std::optional<Message> msg = co_await ctx.Receive();
    if (!msg) break;  // the runtime is shutting down
    if (std::holds_alternative<Started>(*msg)) {
      ++started;
    } else {
      if (std::holds_alternative<Exited>(*msg)) ++started;  // it had started
      early.push_back(std::move(*msg));
    }
  }
  state->started.Notify();

  auto record_exit = [&](const Exited& exited_msg) {
    exited[exited_msg.index] = true;
    if (!failure.ok()) return;
    const std::string& name = state->daemons[exited_msg.index].first;
    if (!exited_msg.status.ok()) {
      failure =
          absl::Status(exited_msg.status.code(),
                       absl::StrCat("node ", state->path, ": daemon ", name,
                                    " failed: ", exited_msg.status.message()));
    } else if (!ctx.runtime().stopping()) {
      // (While the runtime shuts down, its actors end, and a daemon serving
      // one returns: that is the normal end.)
      failure = absl::AbortedError(
          absl::StrCat("node ", state->path, ": daemon ", name,
                       " returned from Run() before it was stopped"));
    }
  };
  std::optional<Message> cause;
  if (!early.empty()) {
    cause = std::move(early.front());
  } else {
    while ((cause = co_await ctx.Receive())) {
      if (!std::holds_alternative<Started>(*cause)) break;
    }
  }
  if (cause.has_value()) {
    if (auto* exited_msg = std::get_if<Exited>(&*cause)) {
      record_exit(*exited_msg);
      if (!failure.ok()) {
        ComponentLog(state->path, state->daemons[exited_msg->index].first)
            .error("{}; stopping the node", failure.ToString());
      }
    }
  }

  // The server first: no new calls, and those in flight finish (or are
  // answered UNAVAILABLE) while the daemons still run.
  if (state->server != nullptr) {
    for (const std::string& service : state->exposed) {
      state->server->SetServing(service, false);
    }
    state->server->SetServing("", false);
    if (state->cluster != nullptr) {
      state->cluster->peers().RemoveAddress(state->name);
    }
    co_await state->server->Stop(state->options.grace);
  }

  // Stop, dependents first; wait for each Run before stopping what it uses.
  for (size_t i = state->daemons.size(); i-- > 0;) {
    if (!exited[i]) co_await state->daemons[i].second->Stop();
    // Its status arrived as an Exited message.
    (co_await runs[i].Join()).IgnoreError();
  }
  // Exits reported while starting or stopping: a Run error counts even
  // during Stop; an OK return after Stop is the normal end.
  auto note_late_exit = [&](const Message& msg) {
    if (auto* exited_msg = std::get_if<Exited>(&msg)) {
      if (!exited_msg->status.ok() && failure.ok()) record_exit(*exited_msg);
    }
  };
  for (size_t k = 1; k < early.size(); ++k) note_late_exit(early[k]);
  while (std::optional<Message> msg = ctx.TryReceive()) note_late_exit(*msg);
  state->final_status = failure;
  state->stopped.Notify();
  co_return absl::OkStatus();
}

}  // namespace anvil
