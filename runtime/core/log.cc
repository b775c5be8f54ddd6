#include "runtime/core/log.h"

#include <memory>

#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace anvil {

spdlog::logger& Log() {
  // Leaked on purpose: actors may log while static destructors run.
  static spdlog::logger* const logger = [] {
    auto* l = new spdlog::logger(
        "anvil", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    l->set_level(spdlog::get_level());
    return l;
  }();
  return *logger;
}

}  // namespace anvil
