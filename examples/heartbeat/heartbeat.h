// The C++ heartbeat.proto names beside it: Settings' interface and Heart's
// private message. Included by heartbeat.anvil.h.
#ifndef ANVIL_EXAMPLES_HEARTBEAT_HEARTBEAT_H_
#define ANVIL_EXAMPLES_HEARTBEAT_HEARTBEAT_H_

#include "absl/time/time.h"

namespace anvil::examples::heartbeat {

class SettingsApi {
 public:
  virtual ~SettingsApi() = default;
  virtual absl::Duration period() const = 0;
};

// One beat, sent by Heart's timer to Heart's actor.
struct Beat {};

}  // namespace anvil::examples::heartbeat

#endif  // ANVIL_EXAMPLES_HEARTBEAT_HEARTBEAT_H_
