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
// otherwise (production, where logs are collected). The level follows
// spdlog's global level (spdlog::set_level).
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_CORE_LOG_H_
#define ANVIL_RUNTIME_CORE_LOG_H_

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

// The runtime's own logger; created on first use and never destroyed.
spdlog::logger& Log();

// The logger of one component of one node, such as a daemon: its lines
// carry both names. Created on first use, kept for the process's life.
spdlog::logger& ComponentLog(absl::string_view node,
                             absl::string_view component);

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_LOG_H_
