// Log(): the spdlog logger the runtime writes to.
//
//   anvil::Log().warn("actor '{}' failed: {}", name, status.ToString());
//
// Lines go to stderr (stdout belongs to the program), as
// "[time] [level] message". The level follows spdlog's global level
// (spdlog::set_level). Later layers add the node and daemon to each line.
//
// Thread-safe.
#ifndef ANVIL_RUNTIME_CORE_LOG_H_
#define ANVIL_RUNTIME_CORE_LOG_H_

#include "spdlog/logger.h"

namespace anvil {

// The runtime's logger; created on first use and never destroyed.
spdlog::logger& Log();

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_LOG_H_
