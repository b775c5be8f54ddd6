// Fnv1a: the 64-bit FNV-1a hash, for digests that must be the same in
// every run and on every machine (simulation traces), not for tables or
// security.
//
//   uint64_t digest = anvil::Fnv1a(request);
//   digest = anvil::Fnv1a(method, digest);   // continues a digest
//
// Thread-safe: a pure function.
#ifndef ANVIL_RUNTIME_CORE_FNV1A_H_
#define ANVIL_RUNTIME_CORE_FNV1A_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace anvil {

inline constexpr uint64_t kFnv1aOffsetBasis = 14695981039346656037u;

// FNV-1a over `bytes`, continuing from `hash`.
inline uint64_t Fnv1a(absl::string_view bytes,
                      uint64_t hash = kFnv1aOffsetBasis) {
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211u;
  }
  return hash;
}

}  // namespace anvil

#endif  // ANVIL_RUNTIME_CORE_FNV1A_H_
