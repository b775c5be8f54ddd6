// The C++ that codegen/testdata/kv.proto names beside it: Config's
// interface (cc_interface) and Storage's private message (cc_messages).
#ifndef ANVIL_CODEGEN_TESTDATA_KV_CC_H_
#define ANVIL_CODEGEN_TESTDATA_KV_CC_H_

#include <string>

namespace anvil::codegen::testdata {

// What Config's dependents call. Thread-safe.
class ConfigApi {
 public:
  virtual ~ConfigApi() = default;
  virtual std::string greeting() const = 0;
};

// Tells Storage to drop a key; never on the wire.
struct Forget {
  std::string key;
};

}  // namespace anvil::codegen::testdata

#endif  // ANVIL_CODEGEN_TESTDATA_KV_CC_H_
