// Early-return macros for absl::Status and absl::StatusOr, in functions and
// in coroutines. This Abseil (20220623) has none of its own.
//
//   absl::Status Save(const Config& c) {
//     ANVIL_RETURN_IF_ERROR(Validate(c));
//     ANVIL_ASSIGN_OR_RETURN(std::string bytes, Encode(c));
//     return Write(bytes);
//   }
//
//   anvil::Task<absl::StatusOr<int>> Fetch(StorageRef storage) {
//     ANVIL_CO_ASSIGN_OR_RETURN(ReadReply r, co_await storage.Read(req));
//     ANVIL_CO_RETURN_IF_ERROR(Check(r));
//     co_return r.value();
//   }
//
// The error is returned (or co_returned) unchanged. In the ASSIGN forms the
// left-hand side may declare a variable; the expression is evaluated once.
//
// Example: examples/greeter/greeter_main.cc.
#ifndef ANVIL_RUNTIME_CORE_STATUS_MACROS_H_
#define ANVIL_RUNTIME_CORE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ANVIL_RETURN_IF_ERROR(expr)                                     \
  do {                                                                  \
    ::absl::Status anvil_status_ = ::anvil::internal::AsStatus((expr)); \
    if (!anvil_status_.ok()) return anvil_status_;                      \
  } while (false)

#define ANVIL_CO_RETURN_IF_ERROR(expr)                                  \
  do {                                                                  \
    ::absl::Status anvil_status_ = ::anvil::internal::AsStatus((expr)); \
    if (!anvil_status_.ok()) co_return anvil_status_;                   \
  } while (false)

#define ANVIL_ASSIGN_OR_RETURN(lhs, expr)                                   \
  ANVIL_INTERNAL_ASSIGN_OR(ANVIL_INTERNAL_CONCAT(anvil_or_, __LINE__), lhs, \
                           expr, return )

#define ANVIL_CO_ASSIGN_OR_RETURN(lhs, expr)                                \
  ANVIL_INTERNAL_ASSIGN_OR(ANVIL_INTERNAL_CONCAT(anvil_or_, __LINE__), lhs, \
                           expr, co_return )

// Implementation details.
#define ANVIL_INTERNAL_CONCAT_IMPL(a, b) a##b
#define ANVIL_INTERNAL_CONCAT(a, b) ANVIL_INTERNAL_CONCAT_IMPL(a, b)
#define ANVIL_INTERNAL_ASSIGN_OR(tmp, lhs, expr, ret) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) ret std::move(tmp).status();         \
  lhs = std::move(tmp).value()

namespace anvil::internal {

inline const absl::Status& AsStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace anvil::internal

#endif  // ANVIL_RUNTIME_CORE_STATUS_MACROS_H_
