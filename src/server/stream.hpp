// The byte streams under the server's sessions: plain TCP, or TLS over it (CONTRACT §6),
// chosen per listener at run time so the sessions stay plain classes, not templates
// (docs/decisions/0005-tls-stream.md).
//
// HttpStream is what HttpSession reads requests from: a beast::tcp_stream (for its
// per-operation deadlines), or Asio's ssl::stream over one. WsStream is what a WebSocket
// session reads frames from and writes frames to after the upgrade: the bare tcp::socket
// (plain, as before: no timers, nothing per connection but the socket), or the same
// ssl::stream handed over by the HTTP session. Both model Asio's AsyncReadStream and
// AsyncWriteStream (by forwarding) and Beast's layered-stream protocol (`next_layer()` leads
// to the socket, so Beast's timeouts and teardown close the right thing).
//
// Not thread-safe: used on the connection's strand only.
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace steadyws::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

using TlsStream = net::ssl::stream<beast::tcp_stream>;

// After the upgrade: frames over a bare socket, or over TLS.
class WsStream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit WsStream(tcp::socket&& socket) : socket_(std::move(socket)) {}
  WsStream(std::unique_ptr<TlsStream> tls, std::shared_ptr<net::ssl::context> ctx)
      : socket_(tls->get_executor()), tls_(std::move(tls)), ctx_(std::move(ctx)) {}

  executor_type get_executor() { return socket_of().get_executor(); }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  // The TCP socket under everything (Beast's lowest layer).
  tcp::socket& next_layer() { return socket_of(); }
  TlsStream& tls() { return *tls_; }

  // A non-blocking read (the socket is in non-blocking mode): what is there, or would_block.
  // Over TLS one record's plaintext at most; more may then wait inside OpenSSL
  // (has_buffered_input()).
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& b, beast::error_code& ec) {
    if (tls_)
      return tls_->read_some(b, ec);
    return socket_.read_some(b, ec);
  }

  // Over TLS: whether OpenSSL holds received bytes (a decrypted record, or ciphertext not
  // yet parsed) that the socket will not signal again. Then a read must come before the
  // next readability wait, or the connection stalls with a message inside OpenSSL.
  bool has_buffered_input() {
    if (!tls_)
      return false;
    SSL* ssl = tls_->native_handle();
    return SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
  }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& b, Handler&& h) {
    if (tls_)
      return tls_->async_read_some(b, std::forward<Handler>(h));
    return socket_.async_read_some(b, std::forward<Handler>(h));
  }

  // Over TLS, Asio linearises a gathered write of several buffers into one SSL_write of up
  // to 8 KiB (buffer_sequence_adapter::linearise), so a batch of small frames is one TLS
  // record and one send, not one per frame; a larger batch is one SSL_write per 8 KiB.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& b, Handler&& h) {
    if (tls_)
      return tls_->async_write_some(b, std::forward<Handler>(h));
    return socket_.async_write_some(b, std::forward<Handler>(h));
  }

  // Beast's websocket::stream (the upgrade) tears the connection down through these.
  friend void teardown(beast::role_type role, WsStream& s, beast::error_code& ec) {
    if (s.tls_)
      beast::teardown(role, *s.tls_, ec);
    else
      beast::websocket::teardown(role, s.socket_, ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type role, WsStream& s, Handler&& h) {
    if (s.tls_)
      beast::async_teardown(role, *s.tls_, std::forward<Handler>(h));
    else
      beast::websocket::async_teardown(role, s.socket_, std::forward<Handler>(h));
  }

 private:
  tcp::socket& socket_of() { return tls_ ? tls_->next_layer().socket() : socket_; }

  tcp::socket socket_;  // plain; unused (never opened) over TLS
  std::unique_ptr<TlsStream> tls_;
  std::shared_ptr<net::ssl::context> ctx_;  // the context tls_ was made with, kept alive
};

// Before the upgrade: HTTP requests over TCP, or over TLS once handshake() completed.
class HttpStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  // `ctx` null: plain TCP. `release_buffers` false keeps OpenSSL's record buffers allocated
  // while idle (only to measure what SSL_MODE_RELEASE_BUFFERS saves).
  HttpStream(tcp::socket&& socket, std::shared_ptr<net::ssl::context> ctx,
             bool release_buffers = true)
      : ctx_(std::move(ctx)) {
    if (ctx_) {
      tls_ = std::make_unique<TlsStream>(beast::tcp_stream(std::move(socket)), *ctx_);
      if (!release_buffers)
        SSL_clear_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    } else {
      tcp_.emplace(std::move(socket));
    }
  }

  executor_type get_executor() { return next_layer().get_executor(); }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *tcp_; }
  tcp::socket& socket() { return next_layer().socket(); }
  void expires_after(std::chrono::steady_clock::duration d) { next_layer().expires_after(d); }
  void expires_never() { next_layer().expires_never(); }
  void close() { next_layer().close(); }

  // The TLS server handshake. REQUIRES: is_tls().
  template <class Handler>
  void async_handshake(Handler&& h) {
    tls_->async_handshake(net::ssl::stream_base::server, std::forward<Handler>(h));
  }

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

  // Hands the connection to a WebSocket session. The stream is empty afterwards.
  WsStream release() {
    if (tls_)
      return WsStream(std::move(tls_), std::move(ctx_));
    return WsStream(tcp_->release_socket());
  }

 private:
  std::optional<beast::tcp_stream> tcp_;
  std::unique_ptr<TlsStream> tls_;
  std::shared_ptr<net::ssl::context> ctx_;
};

}  // namespace steadyws::server
