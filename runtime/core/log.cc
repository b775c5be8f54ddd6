#include "runtime/core/log.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/core/mutex.h"
#include "spdlog/formatter.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace anvil {
namespace {

// Logger names are "node component" (or "anvil" for the runtime's own):
// readable as they are in text lines, split at the first space for JSON.
// Node paths are factory names joined by '/', which hold no spaces.
constexpr char kSeparator = ' ';

void AppendJsonString(std::string_view text, spdlog::memory_buf_t& out) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out.append(std::string_view(escaped));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// One JSON object per line: time (UTC), level, node, daemon, msg.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
        since_epoch - seconds);
    const std::time_t t = seconds.count();
    std::tm tm;
    gmtime_r(&t, &tm);
    char time[40];
    const size_t n =
        std::strftime(time, sizeof(time), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(time + n, sizeof(time) - n, ".%06ldZ",
                  static_cast<long>(micros.count()));

    const std::string_view name(msg.logger_name.data(), msg.logger_name.size());
    const size_t split = name.find(kSeparator);
    dest.append(std::string_view("{\"time\":\""));
    dest.append(std::string_view(time));
    dest.append(std::string_view("\",\"level\":\""));
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(std::string_view(level.data(), level.size()));
    dest.push_back('"');
    if (split != std::string_view::npos) {
      dest.append(std::string_view(",\"node\":"));
      AppendJsonString(name.substr(0, split), dest);
      dest.append(std::string_view(",\"daemon\":"));
      AppendJsonString(name.substr(split + 1), dest);
    }
    dest.append(std::string_view(",\"msg\":"));
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()),
                     dest);
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Text: "[time] [level] [node daemon] message"; the runtime's own lines
// have no names.
std::unique_ptr<spdlog::formatter> TextFormatter(bool named) {
  return std::make_unique<spdlog::pattern_formatter>(
      named ? "[%Y-%m-%d %H:%M:%S.%e] [%l] [%n] %v"
            : "[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
}

bool WantsJson(LogFormat format) {
  if (format == LogFormat::kJson) return true;
  if (format == LogFormat::kText) return false;
  // Auto: people read terminals and test logs; machines read the rest.
  if (isatty(STDERR_FILENO)) return false;
  if (std::getenv("TEST_TMPDIR") != nullptr) return false;
  return true;
}

struct Registry {
  Mutex mu;
  LogFormat format ABSL_GUARDED_BY(mu) = LogFormat::kAuto;
  // Loggers by name; never destroyed (actors may log late).
  std::map<std::string, spdlog::logger*> loggers ABSL_GUARDED_BY(mu);

  void Apply(spdlog::logger& logger, bool named)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (WantsJson(format)) {
      logger.set_formatter(std::make_unique<JsonFormatter>());
    } else {
      logger.set_formatter(TextFormatter(named));
    }
  }

  spdlog::logger& Get(const std::string& name, bool named) {
    MutexLock lock(mu);
    auto it = loggers.find(name);
    if (it != loggers.end()) return *it->second;
    // A sink of its own: a formatter belongs to a sink, and loggers differ
    // in theirs. Lines of different loggers do not interleave (stdio locks
    // each write).
    auto* logger = new spdlog::logger(
        name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_level(spdlog::get_level());
    Apply(*logger, named);
    loggers.emplace(name, logger);
    return *logger;
  }
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry;
  return *registry;
}

}  // namespace

void SetLogFormat(LogFormat format) {
  Registry& registry = TheRegistry();
  MutexLock lock(registry.mu);
  registry.format = format;
  for (auto& [name, logger] : registry.loggers) {
    registry.Apply(*logger, name.find(kSeparator) != std::string::npos);
  }
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "auto") return LogFormat::kAuto;
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("the log format is auto, text or json, not \"", name, "\""));
}

void SetLogLevel(spdlog::level::level_enum level) {
  Registry& registry = TheRegistry();
  MutexLock lock(registry.mu);
  spdlog::set_level(level);  // future loggers take it from here
  for (auto& [name, logger] : registry.loggers) logger->set_level(level);
}

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(
    absl::string_view name) {
  static constexpr std::pair<absl::string_view, spdlog::level::level_enum>
      kLevels[] = {{"trace", spdlog::level::trace},
                   {"debug", spdlog::level::debug},
                   {"info", spdlog::level::info},
                   {"warn", spdlog::level::warn},
                   {"error", spdlog::level::err},
                   {"critical", spdlog::level::critical},
                   {"off", spdlog::level::off}};
  for (const auto& [text, level] : kLevels) {
    if (name == text) return level;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the log level is trace, debug, info, warn, error, "
                   "critical or off, not \"",
                   name, "\""));
}

spdlog::logger& Log() {
  static spdlog::logger* const logger = &TheRegistry().Get("anvil", false);
  return *logger;
}

spdlog::logger& ComponentLog(absl::string_view node,
                             absl::string_view component) {
  return TheRegistry().Get(
      absl::StrCat(node, std::string(1, kSeparator), component), true);
}

}  // namespace anvil
