// TLS for the client side (CONTRACT §6): the SSL context that verifies servers, and the
// stream the WebSocket runs over (TCP, or TLS over TCP), so WsLink is one type for ws:// and
// wss://. Used by steadyws::Client and the tools (bench, check, soak).
//
// Not thread-safe: a stream is used on its io_context's thread; a context is immutable once
// made and may be shared.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/system/result.hpp>

namespace steadyws::client {

// A client context: TLS 1.2 and 1.3, ALPN http/1.1, the chain verified against `ca_file`
// (PEM) or, when empty, the system store. `insecure`: no verification at all. Fails (one
// line naming the file and OpenSSL's reason) when `ca_file` cannot be read or parsed.
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, std::string>
make_tls_client_context(const std::string& ca_file, bool insecure);

// TCP, or TLS over TCP. Models Beast's layered AsyncStream: next_layer() is the
// beast::tcp_stream in both cases, so beast::get_lowest_layer() reaches the socket.
class MaybeTlsStream {
 public:
  using Tls = boost::asio::ssl::stream<boost::beast::tcp_stream>;
  using executor_type = boost::beast::tcp_stream::executor_type;

  explicit MaybeTlsStream(boost::asio::io_context& ioc) : tcp_(std::in_place, ioc) {}
  MaybeTlsStream(boost::asio::io_context& ioc, std::shared_ptr<boost::asio::ssl::context> ctx)
      : tls_(std::make_unique<Tls>(ioc, *ctx)), ctx_(std::move(ctx)) {}
  MaybeTlsStream(MaybeTlsStream&&) = default;
  MaybeTlsStream& operator=(MaybeTlsStream&&) = default;

  executor_type get_executor() { return next_layer().get_executor(); }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  boost::beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *tcp_; }

  // Sets SNI (for a name, not an IP address) and, unless `verify` is false, the name or
  // address the certificate must be for (OpenSSL's own RFC 6125 check), then runs the TLS
  // client handshake. REQUIRES: is_tls(), TCP connected.
  template <class Handler>
  void async_tls_handshake(const std::string& host, bool verify, Handler&& h) {
    prepare(host, verify);
    tls_->async_handshake(boost::asio::ssl::stream_base::client, std::forward<Handler>(h));
  }

  // Why a TLS handshake failed, in words: the certificate check's own reason
  // ("certificate has expired", "hostname mismatch", "unable to get local issuer
  // certificate", ...) when that is what failed, else the error's message.
  std::string tls_failure(const boost::beast::error_code& ec);

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& b, Handler&& h) {
    if (tls_)
      return tls_->async_read_some(b, std::forward<Handler>(h));
    return tcp_->async_read_some(b, std::forward<Handler>(h));
  }
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& b, Handler&& h) {
    if (tls_)
      return tls_->async_write_some(b, std::forward<Handler>(h));
    return tcp_->async_write_some(b, std::forward<Handler>(h));
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& b, boost::beast::error_code& ec) {
    if (tls_)
      return tls_->read_some(b, ec);
    return tcp_->socket().read_some(b, ec);
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& b, boost::beast::error_code& ec) {
    if (tls_)
      return tls_->write_some(b, ec);
    return tcp_->socket().write_some(b, ec);
  }

  // Beast's websocket::stream closes through these (TLS: close_notify, then TCP).
  friend void teardown(boost::beast::role_type role, MaybeTlsStream& s,
                       boost::beast::error_code& ec) {
    if (s.tls_)
      boost::beast::teardown(role, *s.tls_, ec);
    else
      boost::beast::teardown(role, *s.tcp_, ec);
  }
  template <class Handler>
  friend void async_teardown(boost::beast::role_type role, MaybeTlsStream& s, Handler&& h) {
    if (s.tls_)
      boost::beast::async_teardown(role, *s.tls_, std::forward<Handler>(h));
    else
      boost::beast::async_teardown(role, *s.tcp_, std::forward<Handler>(h));
  }

 private:
  void prepare(const std::string& host, bool verify);

  std::optional<boost::beast::tcp_stream> tcp_;
  std::unique_ptr<Tls> tls_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

}  // namespace steadyws::client
