// TestCertificates: a certificate authority and certificates it signs,
// made with the openssl command in a directory of the test's (or a
// benchmark's), for TLS over 127.0.0.1.
//
//   absl::StatusOr<std::string> dir = anvil::testing::MakeCertificates(
//       anvil::testing::TestDirectory(), "ca", {"server", "n2"});
//   // dir/ca.pem, dir/server.pem + dir/server.key (CN=server), ...
#ifndef ANVIL_TESTING_TEST_CERTIFICATES_H_
#define ANVIL_TESTING_TEST_CERTIFICATES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace anvil::testing {

// $TEST_TMPDIR, or /tmp outside a test.
std::string TestDirectory();

// In `dir`: `ca`.pem/.key, a self-signed authority with CN=`ca`, and for
// each of `names` name.pem/.key, a certificate with CN=name and the
// subject alternative names IP:127.0.0.1 and DNS:localhost, good for a
// server and a client (mutual TLS). INTERNAL naming the openssl command
// that failed.
absl::Status MakeCertificates(const std::string& dir, const std::string& ca,
                              const std::vector<std::string>& names);

}  // namespace anvil::testing

#endif  // ANVIL_TESTING_TEST_CERTIFICATES_H_
