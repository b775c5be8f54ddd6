#include "codegen/service_generator.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

// Templates are raw strings delimited by `tpl`, which clang-format leaves
// as written: they look like the output (which clang-format formats).

namespace anvil::codegen {

using ::google::protobuf::io::Printer;

// --- MethodGenerator. ---

MethodGenerator::MethodGenerator(const ServiceModel& service,
                                 const MethodModel& method)
    : method_(method) {
  vars_ = {
      {"service", service.name},
      {"method", method.name},
      {"request", method.request},
      {"reply", method.reply},
      {"full_method", absl::StrCat("/", service.full_name, "/", method.name)},
      {"timeout",
       method.deadline_ms == 0
           ? "::absl::InfiniteDuration()"
           : absl::StrCat("::absl::Milliseconds(", method.deadline_ms, ")")},
      {"timeout_text", method.deadline_ms == 0
                           ? "none"
                           : absl::StrCat(method.deadline_ms, " ms")},
      {"comments", LeadingComments(*method.descriptor, "  ")},
      {"result", method.one_way
                     ? std::string()
                     : absl::StrCat("::absl::StatusOr<", method.reply, ">")},
  };
}

void MethodGenerator::PrintCallType(Printer& p) const {
  if (method_.streams()) {
    p.Print(vars_, R"tpl(struct $service$$method$Call
    : ::anvil::StreamRequest<$request$, $reply$> {};
)tpl");
  } else if (method_.one_way) {
    p.Print(vars_, R"tpl(struct $service$$method$Call {
  $request$ request;
  std::shared_ptr<::anvil::RemoteCaller> remote_caller;
};
)tpl");
  } else {
    p.Print(vars_, R"tpl(struct $service$$method$Call
    : ::anvil::Request<$request$, $reply$> {};
)tpl");
  }
}

void MethodGenerator::PrintClientFunction(Printer& p) const {
  p.Print("\n");
  p.Print(vars_, "$comments$");
  if (method_.streams()) {
    PrintStreamClientFunction(p);
  } else if (method_.one_way) {
    p.Print(vars_,
            R"tpl(  // One-way: RESOURCE_EXHAUSTED if the mailbox is full,
  // UNAVAILABLE if the actor is gone or stopping.
  ::absl::Status $method$($request$ request) const {
    return Send$method$(std::move(request));
  }
)tpl");
  } else {
    p.Print(vars_,
            R"tpl(  // Default timeout: $timeout_text$ (see anvil::CallOptions).
  ::anvil::ClientCall<$reply$> $method$(
      $request$ request, const ::anvil::CallOptions& options = {}) const {
    return Start$method$(std::move(request), options.DeadlineFor($timeout$));
  }
)tpl");
  }
}

// The helper takes the request by reference, so that the public function
// costs no extra move of it. Handlers does not use it: a served call goes
// to the actor with its remote caller, past the client interceptors.
void MethodGenerator::PrintClientHelper(Printer& p) const {
  if (method_.streams()) return;  // the public function starts it
  if (method_.one_way) {
    p.Print(vars_,
            R"tpl(  ::absl::Status Send$method$($request$&& request) const {
    return ::anvil::internal::SendCall<$service$$method$Call, $reply$>(
        actor_, remote_, "$full_method$", std::move(request));
  }
)tpl");
  } else {
    p.Print(vars_, R"tpl(  ::anvil::ClientCall<$reply$> Start$method$(
      $request$&& request, int64_t deadline) const {
    return ::anvil::internal::StartCall<$service$$method$Call>(
        actor_, remote_, "$full_method$", std::move(request), deadline);
  }
)tpl");
  }
}

void MethodGenerator::PrintVirtual(Printer& p) const {
  p.Print(vars_, "$comments$");
  if (method_.streams()) {
    PrintStreamVirtual(p);
    return;
  }
  if (method_.reentrant) {
    p.Print(
        "  // Reentrant: other calls are served while this one is "
        "suspended.\n");
  }
  p.Print(vars_, R"tpl(  virtual ::anvil::Task<$result$> $method$(
      ::anvil::CallContext& call, const $request$& request) = 0;
)tpl");
}

void MethodGenerator::PrintHandler(Printer& p) const {
  if (method_.internal) {
    p.Print(vars_, "  // $method$ is internal: never served.\n");
    return;
  }
  if (method_.streams()) {
    p.Print(vars_, R"tpl(  handlers["$full_method$"] =
      ::anvil::internal::ServeStreamLocally<$service$$method$Call>(
          "$full_method$", local.actor());
)tpl");
    return;
  }
  p.Print(vars_, R"tpl(  handlers["$full_method$"] =
      ::anvil::internal::ServeLocally<$request$, $reply$>(
          "$full_method$",
          [local]($request$ request, const ::anvil::CallContext& call) {
)tpl");
  if (method_.one_way) {
    p.Print(vars_,
            R"tpl(            return ::anvil::internal::OneWayAsCall<$reply$>(
                local.actor().TrySend($service$Message(
                    $service$$method$Call{std::move(request),
                                          call.shared_remote_caller()})));
)tpl");
  } else {
    p.Print(
        vars_,
        R"tpl(            return local.actor().CallUntil<$service$$method$Call>(
                std::move(request), call.deadline(),
                call.shared_remote_caller());
)tpl");
  }
  p.Print("          },\n          local.actor().home_worker());\n");
}

// Served in place (no coroutine frame but the method's), a reentrant call
// as a task of its own.
void MethodGenerator::PrintDispatch(Printer& p, bool last) const {
  p.Print(vars_,
          "    if (auto* call = std::get_if<$service$$method$Call>(&*message)) "
          "{\n");
  if (method_.streams()) {
    PrintStreamDispatch(p);
  } else if (method_.reentrant) {
    p.Print(vars_, R"tpl(      calls.Start(::anvil::internal::ServeCall(
          std::move(*call),
          [this](::anvil::CallContext& serving, const $request$& request) {
            return $method$(serving, request);
          }));
)tpl");
  } else if (method_.one_way) {
    p.Print(
        vars_,
        R"tpl(      ::anvil::CallContext serving = ::anvil::internal::ServingContext(*call);
      co_await $method$(serving, call->request);
)tpl");
  } else {
    p.Print(
        vars_,
        R"tpl(      if (call->reply.abandoned()) continue;  // the caller gave up
      ::anvil::CallContext serving = ::anvil::internal::ServingContext(*call);
      co_await ::anvil::internal::ReplyWith(call->reply,
                                            $method$(serving, call->request));
)tpl");
  }
  if (!last) p.Print("      continue;\n");
  p.Print("    }\n");
}

// The three kinds differ in what the client passes and what the server
// gets; each kind is one runtime entry point (runtime/transport/
// stream_call.h, runtime/actor/internal/concurrent_calls.h).
void MethodGenerator::PrintStreamClientFunction(Printer& p) const {
  p.Print(vars_,
          "  // A stream (runtime/actor/stream.h). Default timeout, for the "
          "whole\n  // stream: $timeout_text$ (see anvil::CallOptions).\n");
  switch (method_.kind) {
    case MethodModel::Kind::kServerStream:
      p.Print(vars_, R"tpl(  ::anvil::ClientReader<$reply$> $method$(
      $request$ request, const ::anvil::CallOptions& options = {}) const {
    return ::anvil::internal::StartServerStream<$service$$method$Call>(
        actor_, remote_, "$full_method$", std::move(request),
        options.DeadlineFor($timeout$), options.stream_window());
  }
)tpl");
      break;
    case MethodModel::Kind::kClientStream:
      p.Print(vars_, R"tpl(  ::anvil::ClientWriter<$request$, $reply$> $method$(
      const ::anvil::CallOptions& options = {}) const {
    return ::anvil::internal::StartClientStream<$service$$method$Call>(
        actor_, remote_, "$full_method$", options.DeadlineFor($timeout$),
        options.stream_window());
  }
)tpl");
      break;
    default:
      p.Print(vars_, R"tpl(  ::anvil::ClientStream<$request$, $reply$> $method$(
      const ::anvil::CallOptions& options = {}) const {
    return ::anvil::internal::StartBidiStream<$service$$method$Call>(
        actor_, remote_, "$full_method$", options.DeadlineFor($timeout$),
        options.stream_window());
  }
)tpl");
  }
}

void MethodGenerator::PrintStreamVirtual(Printer& p) const {
  p.Print(
      "  // A stream (runtime/actor/stream.h): runs beside the other calls;\n"
      "  // what it returns ends it.\n");
  switch (method_.kind) {
    case MethodModel::Kind::kServerStream:
      p.Print(vars_, R"tpl(  virtual ::anvil::Task<::absl::Status> $method$(
      ::anvil::CallContext& call, const $request$& request,
      ::anvil::ServerWriter<$reply$>& replies) = 0;
)tpl");
      break;
    case MethodModel::Kind::kClientStream:
      p.Print(vars_,
              R"tpl(  virtual ::anvil::Task<::absl::StatusOr<$reply$>> $method$(
      ::anvil::CallContext& call, ::anvil::ServerReader<$request$>& requests) = 0;
)tpl");
      break;
    default:
      p.Print(vars_, R"tpl(  virtual ::anvil::Task<::absl::Status> $method$(
      ::anvil::CallContext& call,
      ::anvil::ServerStream<$request$, $reply$>& stream) = 0;
)tpl");
  }
}

void MethodGenerator::PrintStreamDispatch(Printer& p) const {
  switch (method_.kind) {
    case MethodModel::Kind::kServerStream:
      p.Print(vars_, R"tpl(      calls.StartStream(
          call->stream,
          ::anvil::internal::ServeServerStream(
              call->stream, [this](::anvil::CallContext& serving,
                                   const $request$& request,
                                   ::anvil::ServerWriter<$reply$>& replies) {
                return $method$(serving, request, replies);
              }));
)tpl");
      break;
    case MethodModel::Kind::kClientStream:
      p.Print(vars_, R"tpl(      calls.StartStream(
          call->stream,
          ::anvil::internal::ServeClientStream(
              call->stream, [this](::anvil::CallContext& serving,
                                   ::anvil::ServerReader<$request$>& requests) {
                return $method$(serving, requests);
              }));
)tpl");
      break;
    default:
      p.Print(vars_, R"tpl(      calls.StartStream(
          call->stream,
          ::anvil::internal::ServeBidiStream(
              call->stream,
              [this](::anvil::CallContext& serving,
                     ::anvil::ServerStream<$request$, $reply$>& stream) {
                return $method$(serving, stream);
              }));
)tpl");
  }
}

// --- ServiceGenerator. ---

ServiceGenerator::ServiceGenerator(const ServiceModel& service,
                                   const std::string& source)
    : service_(service) {
  for (const MethodModel& method : service.methods) {
    methods_.emplace_back(service, method);
  }
  std::vector<std::string> depends_on;
  for (const DependencyModel& dependency : service.dependencies) {
    depends_on.push_back(
        absl::StrCat("\"", dependency.descriptor->full_name(), "\""));
  }
  vars_ = {
      {"name", service.name},
      {"full_name", service.full_name},
      {"source", source},
      {"comments", LeadingComments(*service.descriptor)},
      {"scope", service.process_scoped ? "process" : "node"},
      {"scope_enum", service.process_scoped ? "kProcess" : "kNode"},
      {"depends_on", absl::StrJoin(depends_on, ", ")},
      {"exposure", Exposure_Name(service.exposure)},
      {"cpp_exposure", service.cpp_exposure()},
      {"capacity", absl::StrCat(service.mailbox_capacity)},
      {"interface", service.cc_interface},
  };
}

void ServiceGenerator::PrintClient(Printer& p) const {
  if (methods_.empty()) return;
  p.Print(vars_, "// Calls of $full_name$, one message type per method.\n");
  std::vector<std::string> alternatives;
  for (const MethodGenerator& method : methods_) {
    method.PrintCallType(p);
    alternatives.push_back(
        absl::StrCat(service_.name, method.method().name, "Call"));
  }
  for (const std::string& message : service_.cc_messages) {
    alternatives.push_back(message);
  }
  p.Print("using $name$Message = std::variant<$alternatives$>;\n\n", "name",
          service_.name, "alternatives", absl::StrJoin(alternatives, ", "));
  p.Print(
      vars_,
      R"tpl(// Typed client of $full_name$, local or remote (docs/codegen.md).
class $name$Ref {
 public:
  $name$Ref() = default;
  // A local actor.
  explicit $name$Ref(::anvil::ActorRef<$name$Message> actor)
      : actor_(std::move(actor)) {}
  // A remote one, served by $name$Ref::Handlers on the channel's
  // server.
  explicit $name$Ref(std::shared_ptr<::anvil::Channel> remote)
      : remote_(std::move(remote)) {}
)tpl");
  for (const MethodGenerator& method : methods_) method.PrintClientFunction(p);
  p.Print(vars_, R"tpl(
  // The local actor (null for a remote ref).
  const ::anvil::ActorRef<$name$Message>& actor() const { return actor_; }

  // What a server needs to serve `local`'s methods to other nodes,
  // by full method name ("/$full_name$/<Method>").
  static ::anvil::MethodHandlers Handlers($name$Ref local);

 private:
)tpl");
  for (const MethodGenerator& method : methods_) method.PrintClientHelper(p);
  p.Print(vars_, R"tpl(
  ::anvil::ActorRef<$name$Message> actor_;
  std::shared_ptr<::anvil::Channel> remote_;
};

)tpl");
}

void ServiceGenerator::PrintBase(Printer& p) const {
  if (!service_.daemon) {
    PrintActorClass(p);
    return;
  }
  PrintDeps(p);
  PrintDaemonClass(p);
}

void ServiceGenerator::PrintActorClass(Printer& p) const {
  if (methods_.empty()) return;
  p.Print(
      vars_,
      R"tpl($comments$// Base class of actors implementing $full_name$: one virtual
// coroutine per method. Serve() takes the calls one at a time, in
// order, except that reentrant methods run alongside (see
// docs/codegen.md). An exception thrown by a method fails the actor.
class $name$Actor {
 public:
  virtual ~$name$Actor() = default;

)tpl");
  for (const MethodGenerator& method : methods_) method.PrintVirtual(p);
  p.Print(vars_, R"tpl(
  // Receives calls and dispatches them until the mailbox ends (every
  // ref gone, or the actor told to stop).
  ::anvil::Task<> Serve(::anvil::ActorContext<$name$Message>& context);

  // Spawns `impl` as an actor serving $full_name$.
  static $name$Ref Spawn(::anvil::Runtime& runtime,
                        std::shared_ptr<$name$Actor> impl,
                        ::anvil::ActorOptions options = {});
};

)tpl");
}

void ServiceGenerator::PrintDeps(Printer& p) const {
  p.Print(
      vars_,
      R"tpl(// What $name$Daemon's constructor gets: its dependencies, built (and
// prepared before it). Valid during construction; copy what you keep.
struct $name$Deps {
  explicit $name$Deps(::anvil::DaemonContext& context);

  ::anvil::DaemonContext& context;
)tpl");
  for (const DependencyModel& dependency : service_.dependencies) {
    p.Print("  $type$ $field$;\n", "type", dependency.held(), "field",
            dependency.field);
  }
  p.Print("};\n\n");
}

void ServiceGenerator::PrintDaemonClass(Printer& p) const {
  p.Print(
      vars_,
      R"tpl($comments$// Daemon $full_name$, $scope$ scope: derive from it, bind with
// Factory::Bind<$name$Daemon, Impl>() (docs/codegen.md).
)tpl");
  if (methods_.empty()) {
    if (!service_.cc_interface.empty()) {
      p.Print(vars_,
              R"tpl(// Its dependents call $interface$ (cc_interface), which the
// implementation bound to it implements.
class $name$Daemon : public ::anvil::Daemon, public $interface$ {
)tpl");
    } else {
      p.Print(vars_, "class $name$Daemon : public ::anvil::Daemon {\n");
    }
    p.Print(vars_, R"tpl( public:
  using Interface = $name$Daemon;  // for Factory::Bind<Impl>()
  using Deps = $name$Deps;
  // Name, scope and dependencies, as $source$ declares them.
  static ::anvil::DaemonInfo Info();
};

)tpl");
    return;
  }
  p.Print(
      vars_,
      R"tpl(class $name$Daemon : public ::anvil::ActorDaemon<$name$Message> {
 public:
  using Interface = $name$Daemon;  // for Factory::Bind<Impl>()
  using Deps = $name$Deps;
  // Name, scope and dependencies, as $source$ declares them.
  static ::anvil::DaemonInfo Info();

  // The daemon's client: calls queue until Run() and are served
  // until Stop().
  $name$Ref ref() const { return $name$Ref(actor()); }

)tpl");
  if (service_.exposure == anvil::CLUSTER) {
    p.Print(
        vars_,
        R"tpl(  // $exposure$: its node serves it to the cluster's other nodes
  // only (internal methods to nobody).
  ::anvil::ExposedMethods Exposed() override;

)tpl");
  } else if (service_.exposure == anvil::PUBLIC) {
    p.Print(vars_,
            R"tpl(  // $exposure$: its node serves it to any client (internal
  // methods to nobody).
  ::anvil::ExposedMethods Exposed() override;

)tpl");
  }
  for (const MethodGenerator& method : methods_) method.PrintVirtual(p);
  if (!service_.cc_messages.empty()) {
    p.Print(R"tpl(
  // Private messages (cc_messages): sent from inside the process
  // only, with actor().TrySend(message) or on a timer (Every),
  // and served in turn with the calls.
)tpl");
    for (const std::string& message : service_.cc_messages) {
      p.Print("  virtual ::anvil::Task<> Receive($message$& message) = 0;\n",
              "message", message);
    }
  }
  p.Print(vars_, R"tpl(
  // Public (the class is abstract), so that an implementation can
  // say `using $name$Daemon::$name$Daemon;`.
  explicit $name$Daemon(const $name$Deps& deps);
  explicit $name$Daemon(::anvil::DaemonContext& context)
      : $name$Daemon($name$Deps(context)) {}
)tpl");
  if (!service_.dependencies.empty()) {
    p.Print(vars_, R"tpl(
 protected:
  // Its dependencies, kept from $name$Deps.
)tpl");
    for (const DependencyModel& dependency : service_.dependencies) {
      if (dependency.has_methods) {
        p.Print("  const $ref$& $field$() const { return $field$_; }\n", "ref",
                dependency.ref, "field", dependency.field);
      } else {
        p.Print("  $daemon$& $field$() const { return $field$_; }\n", "daemon",
                dependency.daemon, "field", dependency.field);
      }
    }
  }
  p.Print(vars_, R"tpl(
 private:
  ::anvil::Task<> ServeMailbox(::anvil::ActorContext<$name$Message>& self) final;
)tpl");
  for (const DependencyModel& dependency : service_.dependencies) {
    p.Print("  $type$ $field$_;\n", "type", dependency.held(), "field",
            dependency.field);
  }
  p.Print("};\n\n");
}

void ServiceGenerator::PrintDefinitions(Printer& p) const {
  PrintHandlers(p);
  if (service_.daemon) {
    PrintDaemonDefinitions(p);
  } else {
    PrintActorDefinitions(p);
  }
}

// SRef::Handlers: each method parses, calls the local actor, serializes.
void ServiceGenerator::PrintHandlers(Printer& p) const {
  if (methods_.empty()) return;
  p.Print(vars_,
          R"tpl(::anvil::MethodHandlers $name$Ref::Handlers($name$Ref local) {
  ::anvil::MethodHandlers handlers;
)tpl");
  bool any_served = false;
  for (const MethodGenerator& method : methods_) {
    method.PrintHandler(p);
    any_served = any_served || !method.method().internal;
  }
  if (!any_served) p.Print("  (void)local;\n");
  p.Print("  return handlers;\n}\n\n");
}

void ServiceGenerator::PrintReceiveLoop(Printer& p,
                                        const std::string& context) const {
  if (service_.any_reentrant()) {
    p.Print("  ::anvil::internal::ConcurrentCalls calls;\n");
  }
  p.Print(R"tpl(  while (std::optional<$name$Message> message =
             co_await $context$.Receive()) {
)tpl",
          "name", service_.name, "context", context);
  const size_t branches = methods_.size() + service_.cc_messages.size();
  size_t printed = 0;
  for (const MethodGenerator& method : methods_) {
    method.PrintDispatch(p, ++printed == branches);
  }
  for (const std::string& message : service_.cc_messages) {
    p.Print(R"tpl(    if (auto* received = std::get_if<$message$>(&*message)) {
      co_await Receive(*received);
)tpl",
            "message", message);
    if (++printed < branches) p.Print("      continue;\n");
    p.Print("    }\n");
  }
  p.Print("  }\n");
  if (service_.any_reentrant()) p.Print("  co_await calls.Drain();\n");
}

void ServiceGenerator::PrintActorDefinitions(Printer& p) const {
  if (methods_.empty()) return;
  p.Print(vars_, R"tpl(::anvil::Task<> $name$Actor::Serve(
    ::anvil::ActorContext<$name$Message>& context) {
)tpl");
  PrintReceiveLoop(p, "context");
  p.Print(vars_, R"tpl(}

$name$Ref $name$Actor::Spawn(::anvil::Runtime& runtime,
                             std::shared_ptr<$name$Actor> impl,
                             ::anvil::ActorOptions options) {
  return $name$Ref(runtime.Spawn(
      [](::anvil::ActorContext<$name$Message>& context,
         std::shared_ptr<$name$Actor> actor) -> ::anvil::Task<> {
        co_await actor->Serve(context);
      },
      std::move(impl), std::move(options)));
}

)tpl");
}

void ServiceGenerator::PrintDaemonDefinitions(Printer& p) const {
  p.Print(vars_, R"tpl(::anvil::DaemonInfo $name$Daemon::Info() {
  return {.name = "$full_name$",
          .scope = ::anvil::DaemonScope::$scope_enum$,
          .depends_on = {$depends_on$})tpl");
  if (service_.exposure != anvil::NOT_EXPOSED) {
    p.Print(vars_, ",\n          .exposure = $cpp_exposure$");
  }
  p.Print("};\n}\n\n");
  p.Print(vars_, R"tpl($name$Deps::$name$Deps(::anvil::DaemonContext& context)
    : context(context))tpl");
  for (const DependencyModel& dependency : service_.dependencies) {
    p.Print(",\n      $field$(context.Get<$daemon$>()$ref$)", "field",
            dependency.field, "daemon", dependency.daemon, "ref",
            dependency.has_methods ? ".ref()" : "");
  }
  p.Print(" {}\n\n");
  if (methods_.empty()) return;
  p.Print(vars_, R"tpl($name$Daemon::$name$Daemon(const $name$Deps& deps)
    : ActorDaemon(deps.context,
                  ::anvil::ActorOptions{.mailbox_capacity = $capacity$}))tpl");
  for (const DependencyModel& dependency : service_.dependencies) {
    p.Print(",\n      $field$_(deps.$field$)", "field", dependency.field);
  }
  p.Print(" {}\n\n");
  if (service_.exposure != anvil::NOT_EXPOSED) {
    p.Print(vars_, R"tpl(::anvil::ExposedMethods $name$Daemon::Exposed() {
  return {.exposure = $cpp_exposure$, .methods = $name$Ref::Handlers(ref())};
}

)tpl");
  }
  p.Print(vars_, R"tpl(::anvil::Task<> $name$Daemon::ServeMailbox(
    ::anvil::ActorContext<$name$Message>& self) {
)tpl");
  PrintReceiveLoop(p, "self");
  p.Print("}\n\n");
}

}  // namespace anvil::codegen
