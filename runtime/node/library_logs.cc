#include "runtime/node/library_logs.h"

#include <string>
#include <string_view>

#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"
#include "runtime/core/log.h"
#include "spdlog/spdlog.h"

namespace anvil {
namespace {

// "chttp2_transport.cc" of ".../chttp2_transport.cc".
std::string_view Basename(const char* path) {
  if (path == nullptr) return "?";
  const std::string_view full(path);
  return full.substr(full.find_last_of('/') + 1);
}

// gRPC's INFO lines are chatter for anyone but gRPC's developers (epoll
// fds, poller counts): debug here; its DEBUG lines trace.
void FromGrpc(gpr_log_func_args* args) {
  spdlog::level::level_enum level = spdlog::level::debug;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = spdlog::level::trace;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = spdlog::level::err;
  Log().log(level, "grpc: {}:{}: {}", Basename(args->file), args->line,
            args->message != nullptr ? args->message : "");
}

void FromProtobuf(google::protobuf::LogLevel severity, const char* filename,
                  int line, const std::string& message) {
  spdlog::level::level_enum level = spdlog::level::info;
  if (severity == google::protobuf::LOGLEVEL_WARNING) {
    level = spdlog::level::warn;
  } else if (severity >= google::protobuf::LOGLEVEL_ERROR) {
    level = spdlog::level::err;
  }
  Log().log(level, "protobuf: {}:{}: {}", Basename(filename), line, message);
}

}  // namespace

void RouteLibraryLogs() {
  static const bool routed = [] {
    // gRPC formats only what its own verbosity lets through: as much as
    // anvil's level will show.
    const spdlog::level::level_enum level = spdlog::get_level();
    gpr_set_log_verbosity(level <= spdlog::level::trace ? GPR_LOG_SEVERITY_DEBUG
                          : level <= spdlog::level::debug
                              ? GPR_LOG_SEVERITY_INFO
                              : GPR_LOG_SEVERITY_ERROR);
    gpr_set_log_function(FromGrpc);
    google::protobuf::SetLogHandler(FromProtobuf);
    return true;
  }();
  (void)routed;
}

}  // namespace anvil
