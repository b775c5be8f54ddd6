// Logging: the spdlog loggers the runtime and its daemons write to.
//
//   anvil::Log().warn("actor '{}' failed: {}", name, status.ToString());
//   spdlog::logger& log = anvil::ComponentLog("root/n1", "demo.kv.Storage");
//   log.info("recovered {} entries", n);
//
// Lines go to stderr (stdout belongs to the program), in one of two formats:
//   text: [2026-11-26 10:00:00.123] [info] [root/n1 demo.kv.Storage] recovered
//   3 entries json:
//   {"time":"2026-11-26T10:00:00.123456Z","level":"info","node":"root/n1",
//          "daemon":"demo.kv.Storage","msg":"recovered 3 entries"}
// (one JSON object per line). The default, LogFormat::kAuto, is text for
// people (stderr is a terminal, or under `bazel test`) and JSON lines
// otherwise (production, where logs are collected). SetLogLevel sets the
// level of every logger (node programs: --anvil_log_level, --anvil_log_format).
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_CORE_LOG_H_
#define ANVIL_RUNTIME_CORE_LOG_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "spdlog/logger.h"

namespace anvil {

enum class LogFormat {
  kAuto,  // text on a terminal or in tests, JSON lines otherwise
  kText,
  kJson,
};

// Sets the format of every anvil logger, existing and future.
void SetLogFormat(LogFormat format);
// "auto", "text" or "json"; INVALID_ARGUMENT naming the choices otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);

// Sets the level of every anvil logger, existing and future (and spdlog's
// default logger's).
void SetLogLevel(spdlog::level::level_enum level);
// "trace", "debug", "info", "warn", "error", "critical" or "off";
// INVALID_ARGUMENT naming the choices otherwise.
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view name);

// The runtime's own logger; created on first use and never destroyed.
spdlog::logger& Log();

// The logger of one component of one node, such as a daemon: its lines
// carry both names. Created on first use, kept for the process's life.
spdlog::logger& ComponentLog(absl::string_view node,
                             absl::string_view component);

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_LOG_H_
