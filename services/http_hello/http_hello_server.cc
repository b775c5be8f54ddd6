#include "services/http_hello/http_hello_server.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace anvil::http {

HttpHelloServer::HttpHelloServer(DaemonContext& context,
                                 TcpServerOptions server_options,
                                 HttpHelloOptions options)
    : runtime_(context.runtime()),
      log_(context.log()),
      server_options_(std::move(server_options)),
      options_(std::move(options)) {}

Task<absl::Status> HttpHelloServer::Prepare() {
  absl::StatusOr<std::unique_ptr<TcpServer>> server = TcpServer::Start(
      runtime_, server_options_,
      [this](Connection& c) { return ServeHttpHello(c, options_); });
  if (!server.ok()) {
    co_return absl::Status(server.status().code(),
                           absl::StrCat("cannot serve HTTP at ",
                                        server_options_.address.ToString(),
                                        ": ", server.status().message()));
  }
  server_ = *std::move(server);
  log_.info("serving HTTP at {} on {} workers", server_->address().ToString(),
            runtime_.workers());
  co_return absl::OkStatus();
}

Task<absl::Status> HttpHelloServer::Run() {
  co_await server_->Stopped();
  const TcpServer::Stats served = server_->stats();
  log_.info("HTTP stopped: {} connections served, {} refused", served.accepted,
            served.rejected);
  co_return absl::OkStatus();
}

Task<> HttpHelloServer::Stop() {
  if (server_ != nullptr) server_->RequestStop();
  co_return;
}

}  // namespace anvil::http
