#include "services/http_hello/http_hello.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/core/clock.h"
#include "runtime/io/deadline.h"
#include "services/http_hello/http_request.h"

namespace anvil::http {
namespace {

// Received bytes not yet parsed; larger than any head we accept, so a head
// that does not fit is always detected as too large first.
constexpr size_t kReadBuffer = 16 * 1024;
// Lingering close: how long and how much we read and discard.
constexpr absl::Duration kLingerTime = absl::Seconds(1);
constexpr size_t kLingerBytes = 64 * 1024;

// The Date header's value, formatted once per second per thread.
absl::string_view HttpDate() {
  thread_local int64_t formatted_second = -1;
  thread_local char text[32];
  thread_local size_t length = 0;
  const absl::Time now = Clock::Now();
  const int64_t second = absl::ToUnixSeconds(now);
  if (second != formatted_second) {
    const std::string date =
        absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now, absl::UTCTimeZone());
    length = std::min(date.size(), sizeof(text));
    std::memcpy(text, date.data(), length);
    formatted_second = second;
  }
  return absl::string_view(text, length);
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

void AppendResponse(std::string& out, int status, absl::string_view body,
                    bool send_body, bool keep_alive, int minor_version) {
  absl::StrAppend(
      &out, "HTTP/1.1 ", status, " ", ReasonPhrase(status),
      "\r\nServer: anvil\r\nDate: ", HttpDate(),
      "\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(), "\r\n");
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (minor_version == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (send_body) out.append(body.data(), body.size());
}

void AppendError(std::string& out, int status, absl::string_view why) {
  AppendResponse(out, status, absl::StrCat(why, "\n"), true,
                 /*keep_alive=*/false, 1);
}

// Shuts down our side, then reads and drops what the client still sends,
// briefly, so that closing with unread data (which sends a reset that can
// destroy our last response in flight) is unlikely.
Task<> LingeringClose(TcpStream& stream) {
  if (!stream.ShutdownWrite().ok()) co_return;
  const Deadline deadline = Deadline::After(kLingerTime);
  char sink[4096];
  size_t discarded = 0;
  while (discarded < kLingerBytes) {
    absl::StatusOr<size_t> n =
        co_await stream.Read(absl::MakeSpan(sink), deadline);
    if (!n.ok() || *n == 0) break;
    discarded += *n;
  }
}

}  // namespace

TcpServerOptions HttpHelloServerOptions(const SocketAddress& address) {
  TcpServerOptions options;
  options.name = "http_hello";
  options.address = address;
  std::string reply;
  AppendError(reply, 503, "too many connections");
  options.overload_reply = std::move(reply);
  return options;
}

Task<absl::Status> ServeHttpHello(Connection& connection,
                                  const HttpHelloOptions& options) {
  TcpStream& stream = connection.stream();
  char buffer[kReadBuffer];
  size_t begin = 0;        // first unparsed byte
  size_t end = 0;          // one past the last received byte
  uint64_t body_left = 0;  // bytes of a request body still to discard
  Deadline head_deadline;  // set by a request's first byte
  std::string out;
  out.reserve(4096);

  while (true) {
    // Answer every complete request received (pipelining).
    bool close_after = false;
    while (!close_after) {
      if (body_left > 0) {
        const size_t skip =
            static_cast<size_t>(std::min<uint64_t>(body_left, end - begin));
        begin += skip;
        body_left -= skip;
        if (body_left > 0) break;
      }
      if (begin == end) break;
      HttpRequestHead head;
      const HeadParse parse =
          ParseRequestHead(absl::string_view(buffer + begin, end - begin),
                           options.max_head_bytes, head);
      if (parse == HeadParse::kIncomplete) break;
      if (parse == HeadParse::kError) {
        AppendError(out, head.error_status, head.error);
        close_after = true;
        break;
      }
      const bool keep_alive = head.keep_alive && !connection.stopping();
      AppendResponse(out, 200, options.body, head.method != "HEAD", keep_alive,
                     head.minor_version);
      begin += head.head_bytes;
      body_left = head.content_length;
      // The body and the next request's head get a fresh header_timeout.
      head_deadline = Deadline::After(options.header_timeout);
      close_after = !keep_alive;
    }
    if (!out.empty()) {
      absl::Status written = co_await stream.Write(out, options.write_timeout);
      out.clear();
      if (!written.ok()) co_return written;
    }
    if (close_after) {
      co_await LingeringClose(stream);
      co_return absl::OkStatus();
    }
    // Keep the unparsed bytes at the front of the buffer.
    if (begin > 0) {
      std::memmove(buffer, buffer + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    // Idle while no request is in progress: a stopping server then cancels
    // the read below, unless the next request has already arrived.
    const bool idle = end == 0 && body_left == 0;
    connection.set_idle(idle);
    absl::StatusOr<size_t> n = co_await stream.Read(
        absl::MakeSpan(buffer + end, kReadBuffer - end),
        idle ? Deadline(options.idle_timeout) : head_deadline);
    connection.set_idle(false);
    if (!n.ok()) {
      if (idle && (absl::IsDeadlineExceeded(n.status()) ||
                   absl::IsCancelled(n.status()))) {
        co_return absl::OkStatus();  // idle timeout, or the server stops
      }
      if (absl::IsDeadlineExceeded(n.status())) {
        AppendError(out, 408, "request head not received in time");
        if ((co_await stream.Write(out, options.write_timeout)).ok()) {
          co_await LingeringClose(stream);
        }
      }
      co_return n.status();
    }
    if (*n == 0) co_return absl::OkStatus();  // the client closed
    if (idle) head_deadline = Deadline::After(options.header_timeout);
    end += *n;
  }
}

}  // namespace anvil::http
