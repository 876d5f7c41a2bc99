// The byte streams under the server's sessions: plain TCP, or TLS over it (CONTRACT §6),
// chosen per listener at run time so the sessions stay plain classes, not templates
// (docs/decisions/0005-tls-stream.md).
//
// HttpStream is what HttpSession reads requests from: a beast::tcp_stream (plain, for its
// per-operation deadlines), or a TlsSocket on the same socket with a deadline timer of its
// own. WsStream is what a WebSocket session reads frames from and writes frames to after the
// upgrade: the bare tcp::socket, plus the TlsSocket handed over by the HTTP session over
// TLS. Nothing else per connection: no timers, no buffers. Both model Asio's
// AsyncReadStream and AsyncWriteStream and Beast's layered-stream protocol (`next_layer()`
// leads to the socket, so Beast's timeouts and teardown close the right thing).
//
// Not thread-safe: used on the connection's strand only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "server/tls_socket.hpp"

namespace steadyws::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// After the upgrade: frames over a bare socket, or over TLS on it.
class WsStream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit WsStream(tcp::socket&& socket) : socket_(std::move(socket)) {}
  WsStream(tcp::socket&& socket, std::unique_ptr<TlsSocket> tls,
           std::shared_ptr<net::ssl::context> ctx)
      : socket_(std::move(socket)), tls_(std::move(tls)), ctx_(std::move(ctx)) {}

  executor_type get_executor() { return socket_.get_executor(); }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  // The TCP socket under everything (Beast's lowest layer).
  tcp::socket& next_layer() { return socket_; }

  // A non-blocking read (the socket is in non-blocking mode): what is there, or would_block.
  // Over TLS the plaintext of the records OpenSSL has; more may then wait inside OpenSSL
  // (has_buffered_input()).
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& b, beast::error_code& ec) {
    if (!tls_)
      return socket_.read_some(b, ec);
    if (!socket_.is_open()) {  // OpenSSL must not touch a descriptor that may be reused
      ec = net::error::bad_descriptor;
      return 0;
    }
    const TlsSocket::Step s = tls_->read_some(b);
    ec = s.want != TlsSocket::Want::nothing ? beast::error_code(net::error::would_block) : s.ec;
    return s.bytes;
  }

  // Over TLS: whether OpenSSL holds received bytes (read ahead, or a record not yet
  // returned) that the socket will not signal again. Then a read must come before the next
  // readability wait, or the connection stalls with a message inside OpenSSL.
  bool has_buffered_input() const { return tls_ && tls_->has_buffered_input(); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& b, Handler&& h) {
    if (!tls_)
      return socket_.async_read_some(b, std::forward<Handler>(h));
    async_tls(
        socket_, [t = tls_.get(), b] { return t->read_some(b); }, std::forward<Handler>(h));
  }

  // Over TLS a gathered write of several frames becomes one SSL_write per 16 KiB (one TLS
  // record, one send), not one per frame.
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& b, Handler&& h) {
    if (!tls_)
      return socket_.async_write_some(b, std::forward<Handler>(h));
    async_tls(
        socket_, [t = tls_.get(), b] { return t->write_some(b); }, std::forward<Handler>(h));
  }

  // Beast's websocket::stream (the upgrade) tears the connection down through these: a
  // close_notify if it fits, then TCP's own teardown.
  friend void teardown(beast::role_type role, WsStream& s, beast::error_code& ec) {
    if (s.tls_)
      s.tls_->shutdown(s.socket_);
    beast::websocket::teardown(role, s.socket_, ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type role, WsStream& s, Handler&& h) {
    if (s.tls_)
      s.tls_->shutdown(s.socket_);
    beast::websocket::async_teardown(role, s.socket_, std::forward<Handler>(h));
  }

 private:
  tcp::socket socket_;
  std::unique_ptr<TlsSocket> tls_;          // wss:// only
  std::shared_ptr<net::ssl::context> ctx_;  // the context tls_ was made with, kept alive
};

// Before the upgrade: HTTP requests over TCP, or over TLS once async_handshake() completed.
class HttpStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  // `ctx` null: plain TCP. `release_buffers` false keeps OpenSSL's record buffers allocated
  // while idle (only to measure what SSL_MODE_RELEASE_BUFFERS saves).
  HttpStream(tcp::socket&& socket, std::shared_ptr<net::ssl::context> ctx,
             bool release_buffers = true)
      : tcp_(std::move(socket)), ctx_(std::move(ctx)) {
    if (ctx_) {
      tls_ = std::make_unique<TlsSocket>(tcp_.socket(), *ctx_, release_buffers);
      deadline_ = std::make_shared<Deadline>(tcp_.get_executor(), &tcp_.socket());
    }
  }
  ~HttpStream() {
    if (deadline_) {
      deadline_->socket = nullptr;
      deadline_->timer.cancel();  // its handler holds the Deadline: let it go now
    }
  }
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  executor_type get_executor() { return tcp_.get_executor(); }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  beast::tcp_stream& next_layer() { return tcp_; }
  tcp::socket& socket() { return tcp_.socket(); }

  // The deadline of every operation from now on. Over TLS a timer of the stream's own
  // cancels the socket's waits when it passes (the operation ends with operation_aborted;
  // the handshake with beast::error::timeout).
  void expires_after(std::chrono::steady_clock::duration d) {
    if (!deadline_)
      return tcp_.expires_after(d);
    deadline_->arm(deadline_, d);
  }
  void expires_never() {
    if (!deadline_)
      return tcp_.expires_never();
    deadline_->disarm();
  }
  // Over TLS, a close_notify first if it fits in the socket.
  void close() {
    if (tls_)
      tls_->shutdown(tcp_.socket());
    tcp_.close();
  }

  // The TLS server handshake. REQUIRES: is_tls().
  template <class Handler>
  void async_handshake(Handler&& h) {
    async_tls(
        tcp_.socket(), [t = tls_.get()] { return t->handshake(); },
        [h = std::forward<Handler>(h), d = deadline_](beast::error_code ec, std::size_t) mutable {
          if (ec == net::error::operation_aborted && d->expired)
            ec = beast::error::timeout;
          h(ec);
        });
  }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& b, Handler&& h) {
    if (!tls_)
      return tcp_.async_read_some(b, std::forward<Handler>(h));
    async_tls(
        tcp_.socket(), [t = tls_.get(), b] { return t->read_some(b); }, std::forward<Handler>(h));
  }
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& b, Handler&& h) {
    if (!tls_)
      return tcp_.async_write_some(b, std::forward<Handler>(h));
    async_tls(
        tcp_.socket(), [t = tls_.get(), b] { return t->write_some(b); }, std::forward<Handler>(h));
  }

  // Hands the connection to a WebSocket session. The stream is empty afterwards.
  WsStream release() {
    if (!tls_)
      return WsStream(tcp_.release_socket());
    expires_never();
    deadline_->socket = nullptr;
    return WsStream(tcp_.release_socket(), std::move(tls_), std::move(ctx_));
  }

 private:
  // The TLS deadline. Shared with its timer's handler, which may run after the stream is
  // gone; `socket` is null then.
  struct Deadline {
    Deadline(const executor_type& ex, tcp::socket* s) : timer(ex), socket(s) {}
    void arm(const std::shared_ptr<Deadline>& self, std::chrono::steady_clock::duration d) {
      expired = false;
      const unsigned g = ++generation;
      timer.expires_after(d);
      timer.async_wait([self, g](beast::error_code ec) {
        if (ec || g != self->generation || self->socket == nullptr)
          return;
        self->expired = true;
        beast::error_code ignored;
        self->socket->cancel(ignored);
      });
    }
    void disarm() {
      ++generation;
      expired = false;
      timer.cancel();
    }
    net::steady_timer timer;
    tcp::socket* socket;
    unsigned generation = 0;
    bool expired = false;
  };

  beast::tcp_stream tcp_;  // plain: its own deadlines; TLS: only the socket
  std::unique_ptr<TlsSocket> tls_;
  std::shared_ptr<Deadline> deadline_;  // TLS only
  std::shared_ptr<net::ssl::context> ctx_;
};

}  // namespace steadyws::server
