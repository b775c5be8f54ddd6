#include "testing/test_certificates.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace anvil::testing {
namespace {

absl::Status Run(const std::string& command) {
  if (std::system((command + " 2>/dev/null").c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed: ", command));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TestDirectory() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

absl::Status MakeCertificates(const std::string& dir, const std::string& ca,
                              const std::vector<std::string>& names) {
  auto path = [&](const std::string& name) {
    return absl::StrCat(dir, "/", name);
  };
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
  absl::Status made = Run(absl::StrCat(
      "openssl req -x509 ", ec, " -nodes -days 1 -subj '/CN=", ca, "' -keyout ",
      path(ca + ".key"), " -out ", path(ca + ".pem")));
  if (!made.ok()) return made;
  std::ofstream(path("ext.cnf"))
      << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
      << "extendedKeyUsage=serverAuth,clientAuth\n";
  for (const std::string& name : names) {
    made = Run(absl::StrCat("openssl req ", ec, " -nodes -subj '/CN=", name,
                            "' -keyout ", path(name + ".key"), " -out ",
                            path(name + ".csr")));
    if (!made.ok()) return made;
    made =
        Run(absl::StrCat("openssl x509 -req -days 1 -in ", path(name + ".csr"),
                         " -CA ", path(ca + ".pem"), " -CAkey ",
                         path(ca + ".key"), " -CAcreateserial -extfile ",
                         path("ext.cnf"), " -out ", path(name + ".pem")));
    if (!made.ok()) return made;
  }
  return absl::OkStatus();
}

}  // namespace anvil::testing
