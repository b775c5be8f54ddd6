#include "services/http_hello/http_request.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace anvil::http {
namespace {

HeadParse Parse(absl::string_view text, HttpRequestHead& head,
                size_t max_head_bytes = 8192) {
  return ParseRequestHead(text, max_head_bytes, head);
}

TEST(ParseRequestHead, ParsesAGetWithHeaders) {
  HttpRequestHead head;
  const std::string text =
      "GET /index.html?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: wrk\r\n\r\nNEXT";
  ASSERT_EQ(Parse(text, head), HeadParse::kComplete);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/index.html?q=1");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.head_bytes, text.size() - 4);
  EXPECT_EQ(head.content_length, 0u);
}

TEST(ParseRequestHead, IsIncompleteUntilTheBlankLine) {
  HttpRequestHead head;
  const std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_EQ(Parse(text.substr(0, n), head), HeadParse::kIncomplete) << n;
  }
  EXPECT_EQ(Parse(text, head), HeadParse::kComplete);
}

TEST(ParseRequestHead, KeepAliveFollowsTheVersionAndConnectionHeader) {
  HttpRequestHead head;
  ASSERT_EQ(
      Parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", head),
      HeadParse::kComplete);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", head), HeadParse::kComplete);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(
      Parse("GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n", head),
      HeadParse::kComplete);
  EXPECT_TRUE(head.keep_alive);
}

TEST(ParseRequestHead, ReadsContentLength) {
  HttpRequestHead head;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
                  "content-length: 12\r\n\r\n",
                  head),
            HeadParse::kComplete);
  EXPECT_EQ(head.content_length, 12u);
}

struct BadCase {
  const char* text;
  int status;
  const char* error;
};

TEST(ParseRequestHead, RejectsMalformedRequestsWithTheirStatus) {
  const BadCase cases[] = {
      {"GARBAGE\r\n\r\n", 400, "malformed request line"},
      {"GET /\r\n\r\n", 400, "malformed request line"},
      {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed method"},
      {"GET  HTTP/1.1\r\nHost: x\r\n\r\n", 400, "empty request target"},
      {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "malformed HTTP version"},
      {"GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400, "malformed HTTP version"},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP version not supported"},
      {"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 request without Host"},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header line"},
      {"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400,
       "malformed header line"},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400,
       "folded header line"},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
       "malformed Content-Length"},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999"
       "\r\n\r\n",
       400, "malformed Content-Length"},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2"
       "\r\n\r\n",
       400, "conflicting Content-Length headers"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
       "Transfer-Encoding is not supported"},
      {"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n", 400,
       "control character in a header value"},
  };
  for (const BadCase& c : cases) {
    HttpRequestHead head;
    EXPECT_EQ(Parse(c.text, head), HeadParse::kError) << c.text;
    EXPECT_EQ(head.error_status, c.status) << c.text;
    EXPECT_EQ(head.error, c.error) << c.text;
  }
}

TEST(ParseRequestHead, AHeadOverTheLimitIs431AsSoonAsTheLimitIsReached) {
  HttpRequestHead head;
  std::string text = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ";
  text.append(100, 'a');
  EXPECT_EQ(Parse(text, head, 100), HeadParse::kError);
  EXPECT_EQ(head.error_status, 431);
  // A complete head over the limit too.
  EXPECT_EQ(Parse(text + "\r\n\r\n", head, 100), HeadParse::kError);
  EXPECT_EQ(head.error_status, 431);
  EXPECT_EQ(Parse(text + "\r\n\r\n", head, 200), HeadParse::kComplete);
}

}  // namespace
}  // namespace anvil::http
