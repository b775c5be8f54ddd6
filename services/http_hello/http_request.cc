#include "services/http_hello/http_request.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace anvil::http {
namespace {

// RFC 9110 token characters (methods, header names).
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

HeadParse Fail(HttpRequestHead& head, int status, absl::string_view why) {
  head.error_status = status;
  head.error = why;
  return HeadParse::kError;
}

// True if the comma-separated `list` holds `option` (case-insensitive).
bool ListHas(absl::string_view list, absl::string_view option) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    absl::string_view item = absl::StripAsciiWhitespace(list.substr(0, comma));
    if (absl::EqualsIgnoreCase(item, option)) return true;
    if (comma == absl::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

HeadParse ParseRequestHead(absl::string_view buffer, size_t max_head_bytes,
                           HttpRequestHead& head) {
  head = HttpRequestHead();
  const size_t end = buffer.find("\r\n\r\n");
  if (end == absl::string_view::npos || end + 4 > max_head_bytes) {
    if (buffer.size() >= max_head_bytes) {
      return Fail(head, 431, "request header fields too large");
    }
    return HeadParse::kIncomplete;
  }
  head.head_bytes = end + 4;
  absl::string_view rest = buffer.substr(0, end + 2);  // each line ends CRLF

  // Request line: method SP target SP HTTP/1.x
  size_t eol = rest.find("\r\n");
  absl::string_view line = rest.substr(0, eol);
  rest.remove_prefix(eol + 2);
  const size_t sp1 = line.find(' ');
  const size_t sp2 =
      sp1 == absl::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos) {
    return Fail(head, 400, "malformed request line");
  }
  head.method = line.substr(0, sp1);
  head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  absl::string_view version = line.substr(sp2 + 1);
  if (!IsToken(head.method)) return Fail(head, 400, "malformed method");
  if (head.target.empty()) return Fail(head, 400, "empty request target");
  for (char c : head.target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Fail(head, 400, "control character in the request target");
    }
  }
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") ||
      !absl::ascii_isdigit(version[5]) || version[6] != '.' ||
      !absl::ascii_isdigit(version[7])) {
    return Fail(head, 400, "malformed HTTP version");
  }
  if (version[5] != '1') return Fail(head, 505, "HTTP version not supported");
  head.minor_version = version[7] - '0';
  head.keep_alive = head.minor_version >= 1;

  bool has_host = false;
  bool has_length = false;
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      return Fail(head, 400, "folded header line");
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Fail(head, 400, "malformed header line");
    }
    absl::string_view name = line.substr(0, colon);
    absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f) {
        return Fail(head, 400, "control character in a header value");
      }
    }
    if (absl::EqualsIgnoreCase(name, "host")) {
      has_host = true;
    } else if (absl::EqualsIgnoreCase(name, "connection")) {
      if (ListHas(value, "close")) head.keep_alive = false;
      if (head.minor_version == 0 && ListHas(value, "keep-alive")) {
        head.keep_alive = true;
      }
    } else if (absl::EqualsIgnoreCase(name, "content-length")) {
      uint64_t length = 0;
      bool digits = !value.empty();
      for (char c : value) digits = digits && absl::ascii_isdigit(c);
      if (!digits || !absl::SimpleAtoi(value, &length)) {
        return Fail(head, 400, "malformed Content-Length");
      }
      if (has_length && length != head.content_length) {
        return Fail(head, 400, "conflicting Content-Length headers");
      }
      has_length = true;
      head.content_length = length;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      return Fail(head, 501, "Transfer-Encoding is not supported");
    }
  }
  if (head.minor_version >= 1 && !has_host) {
    return Fail(head, 400, "HTTP/1.1 request without Host");
  }
  return HeadParse::kComplete;
}

}  // namespace anvil::http
