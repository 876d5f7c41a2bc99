// TLS for the tools that open their own connections (bench herd, soak, check; CONTRACT §6):
// the client context for a wss:// URL and one trial handshake that names why a server is
// refused before a run starts. Both reuse the client library's TLS code (src/client/tls.hpp:
// its context, its SNI and host-name check, its failure words), so every tool verifies the
// same way steadyws::Client and `steadyws connect` do.
//
// Header-only; blocking calls for the thread that prepares a run (not for an event loop).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "client/tls.hpp"

namespace steadyws::tools {

// The client context for a wss:// URL (`tls`), or null for ws://: TLS 1.2/1.3, the chain
// verified against `ca_file` (PEM) or the system store, unless `insecure`. Throws
// std::invalid_argument naming the file and OpenSSL's reason.
inline std::shared_ptr<boost::asio::ssl::context> tls_context_for(bool tls,
                                                                  const std::string& ca_file,
                                                                  bool insecure) {
  if (!tls)
    return nullptr;
  auto ctx = client::make_tls_client_context(ca_file, insecure);
  if (!ctx)
    throw std::invalid_argument(ctx.error());
  return std::move(*ctx);
}

// Connects to the first of `at` that accepts (in order, as the client library does) and runs
// the TLS client handshake for `host` (SNI, and the name or address the certificate must be
// for) with `ctx`. Returns nullopt when it succeeds, else one line: "tls HOST (ADDR:PORT):
// certificate verify failed: hostname mismatch", "tls HOST: connect: Connection refused".
inline std::optional<std::string> tls_handshake_error(
    const std::vector<boost::asio::ip::tcp::endpoint>& at, const std::string& host,
    std::shared_ptr<boost::asio::ssl::context> ctx,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  boost::asio::io_context ioc;
  client::MaybeTlsStream s(ioc, std::move(ctx));
  std::optional<std::string> error =
      "tls " + host + ": no answer within " + std::to_string(timeout.count()) + " ms";
  s.next_layer().expires_after(timeout);
  s.next_layer().async_connect(
      at, [&](const boost::system::error_code& ec, const boost::asio::ip::tcp::endpoint& ep) {
        if (ec) {
          error = "tls " + host + ": connect: " + ec.message();
          return;
        }
        s.async_tls_handshake(host, true, [&, ep](const boost::system::error_code& e) {
          if (e)
            error = "tls " + host + " (" + ep.address().to_string() + ":" +
                    std::to_string(ep.port()) + "): " + s.tls_failure(e);
          else
            error.reset();
        });
      });
  ioc.run();
  return error;
}

}  // namespace steadyws::tools
