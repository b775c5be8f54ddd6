// ParseRequestHead: the request line and headers of an HTTP/1.x request,
// parsed from the bytes received so far. Just enough HTTP for http_hello:
// it finds where each request ends on a keep-alive connection and whether
// the connection stays open.
//
//   HttpRequestHead head;
//   switch (ParseRequestHead(buffer, kMaxHeadBytes, head)) {
//     case HeadParse::kIncomplete: ... read more ...
//     case HeadParse::kComplete:   ... head.head_bytes + head.content_length
//     case HeadParse::kError:      ... reply head.error_status, then close
//   }
//
// Strict where being lenient lets requests be smuggled or misread: lines
// end in CRLF, no whitespace before a header's colon, no folded headers,
// one Content-Length (repeated only with the same value), Host required in
// HTTP/1.1. Transfer-Encoding (chunked bodies) is not supported: 501.
// Thread-compatible; no allocation.
#ifndef ANVIL_SERVICES_HTTP_HELLO_HTTP_REQUEST_H_
#define ANVIL_SERVICES_HTTP_HELLO_HTTP_REQUEST_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace anvil::http {

enum class HeadParse {
  kIncomplete,  // no blank line yet, and still under the size limit
  kComplete,    // `head` is filled in
  kError,       // `head.error_status` and `head.error` say why
};

struct HttpRequestHead {
  // Views into the parsed buffer.
  absl::string_view method;
  absl::string_view target;
  int minor_version = 1;  // HTTP/1.<minor_version>
  // The connection stays open after the response: HTTP/1.1 unless
  // "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive = true;
  // Bytes of the request line and headers, blank line included.
  size_t head_bytes = 0;
  // Bytes of body that follow the head.
  uint64_t content_length = 0;

  // On kError: the status to reply with (400, 431, 501, 505) and why.
  int error_status = 0;
  absl::string_view error;
};

// Parses the head at the start of `buffer`. A head longer than
// `max_head_bytes` is an error (431) as soon as that many bytes arrived
// without the blank line that ends it.
HeadParse ParseRequestHead(absl::string_view buffer, size_t max_head_bytes,
                           HttpRequestHead& head);

}  // namespace anvil::http

#endif  // ANVIL_SERVICES_HTTP_HELLO_HTTP_REQUEST_H_
