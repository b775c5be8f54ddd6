#include "runtime/daemon/node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/log.h"
#include "runtime/core/thread_event.h"

namespace anvil {

struct Node::State {
  std::string path;
  std::vector<std::pair<std::string, Daemon*>> daemons;  // dependencies first
  ThreadEvent started;
  absl::Status start_status;  // written before `started` is notified
  ThreadEvent stopped;
  absl::Status final_status;  // written before `stopped` is notified
};

Node::Node(Factory& factory)
    : factory_(factory),
      path_(factory.path()),
      state_(std::make_shared<State>()) {
  state_->path = path_;
}

Node::~Node() {
  if (started_ && !waited_) {
    RequestStop();
    Wait().IgnoreError();
  }
}

absl::Status Node::Start() {
  started_ = true;
  if (factory_.runtime().stopping()) {
    // No actor would be started; say so instead of waiting for one.
    state_->final_status = absl::UnavailableError(
        absl::StrCat("node ", path_, ": the runtime is shutting down"));
    state_->stopped.Notify();
    return state_->final_status;
  }
  state_->daemons = factory_.Built();
  supervisor_ =
      factory_.runtime().Spawn(Supervise, state_, ActorOptions{.name = path_});
  state_->started.Wait();
  return state_->start_status;
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

Task<> Node::RunDaemon(Context<int>&, Daemon* daemon, size_t index,
                       ActorRef<Message> supervisor) {
  supervisor.TrySend(Started{index}).IgnoreError();
  absl::Status status = co_await daemon->Run();
  supervisor.TrySend(Exited{index, std::move(status)}).IgnoreError();
}

Task<absl::Status> Node::Supervise(Context<Message>& ctx,
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

  // Stop, dependents first; wait for each Run before stopping what it uses.
  for (size_t i = state->daemons.size(); i-- > 0;) {
    if (!exited[i]) co_await state->daemons[i].second->Stop();
    co_await runs[i].Join();
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
