// BlockingSocket: a plain blocking TCP client for tests of servers, used
// from the test's own thread (not a runtime worker), so that the server
// under test and its client share no event loop.
//
//   anvil::testing::BlockingSocket client;
//   ASSERT_THAT(client.Connect(server->address()), IsOk());
//   ASSERT_THAT(client.Send("GET / HTTP/1.1\r\n\r\n"), IsOk());
//   absl::StatusOr<std::string> reply = client.ReceiveUntil("\r\n\r\n");
//
// Every receive waits at most `timeout` (SO_RCVTIMEO) so a broken server
// fails the test instead of hanging it. Thread-compatible.
#ifndef ANVIL_RUNTIME_IO_BLOCKING_SOCKET_H_
#define ANVIL_RUNTIME_IO_BLOCKING_SOCKET_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/io/socket_address.h"

namespace anvil::testing {

class BlockingSocket {
 public:
  explicit BlockingSocket(absl::Duration timeout = absl::Seconds(30))
      : timeout_(timeout) {}
  BlockingSocket(const BlockingSocket&) = delete;
  BlockingSocket& operator=(const BlockingSocket&) = delete;
  ~BlockingSocket() { Close(); }

  absl::Status Connect(const SocketAddress& address);
  absl::Status Send(absl::string_view data);
  // Bytes until `delimiter` (included) arrived; what came after it is kept
  // for the next call. OUT_OF_RANGE at end of stream, with what was read.
  absl::StatusOr<std::string> ReceiveUntil(absl::string_view delimiter);
  // Exactly `size` bytes (OUT_OF_RANGE if the stream ends first).
  absl::StatusOr<std::string> ReceiveExactly(size_t size);
  // Everything until the peer closes; an error if it resets.
  absl::StatusOr<std::string> ReceiveAll();
  // True if the peer closed (or reset) the connection: a read returns 0 or
  // ECONNRESET. Blocks up to the timeout for that.
  bool PeerClosed();
  // Sends RST instead of FIN on Close().
  void SetResetOnClose();
  void ShutdownWrite();
  void Close();

  int fd() const { return fd_; }

 private:
  // One recv into buffered_; 0 at end of stream.
  absl::StatusOr<size_t> Fill();

  absl::Duration timeout_;
  int fd_ = -1;
  std::string buffered_;
};

}  // namespace anvil::testing

#endif  // ANVIL_RUNTIME_IO_BLOCKING_SOCKET_H_
