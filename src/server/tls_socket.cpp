#include "server/tls_socket.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <new>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace steadyws::server {

namespace net = boost::asio;

TlsSocket::TlsSocket(net::ip::tcp::socket& socket, net::ssl::context& ctx, bool release_buffers)
    : ssl_(SSL_new(ctx.native_handle())) {
  if (ssl_ == nullptr)
    throw std::bad_alloc();
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);  // OpenSSL's reads and writes never block the thread
  SSL_set_fd(ssl_, static_cast<int>(socket.native_handle()));
  SSL_set_accept_state(ssl_);
  // Read ahead: one recv takes in every record that has arrived, instead of two per record
  // (header, then body). What it takes in beyond one record is has_buffered_input().
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (release_buffers)
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  else
    SSL_clear_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
}

TlsSocket::~TlsSocket() {
  SSL_free(ssl_);
}

TlsSocket::Step TlsSocket::handshake() {
  ERR_clear_error();
  errno = 0;
  return outcome(SSL_do_handshake(ssl_), 0);
}

TlsSocket::Step TlsSocket::read(void* data, std::size_t size) {
  // SSL_read returns one record's plaintext at a time. Records that came in with the same
  // recv (read ahead) are read in the same call, so a peer's burst is one turn of the
  // session, not one per record; the loop stops before it would ask the socket again.
  if (deferred_) {
    Step s{deferred_, 0, Want::nothing};
    deferred_ = {};
    return s;
  }
  char* out = static_cast<char*>(data);
  std::size_t total = 0;
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    errno = 0;
    const int ok = SSL_read_ex(ssl_, out + total, size - total, &n);
    if (ok != 1) {
      const Step s = outcome(ok, 0);
      if (total == 0)
        return s;
      if (s.want == Want::nothing)
        deferred_ = s.ec;  // what was read now; the error with the next read
      return Step{{}, total, Want::nothing};
    }
    total += n;
    if (total == size || SSL_has_pending(ssl_) != 1)
      return Step{{}, total, Want::nothing};
  }
}

TlsSocket::Step TlsSocket::write(const void* data, std::size_t size) {
  if (size == 0)
    return {};
  ERR_clear_error();
  std::size_t n = 0;
  errno = 0;
  const int ok = SSL_write_ex(ssl_, data, size, &n);
  return outcome(ok, n);
}

void TlsSocket::shutdown(const net::ip::tcp::socket& socket) {
  if (!socket.is_open() || !SSL_is_init_finished(ssl_))
    return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify and tries to send it; a full socket drops it
  ERR_clear_error();
}

char* TlsSocket::scratch() {
  thread_local char buffer[kRecordBytes];
  return buffer;
}

TlsSocket::Step TlsSocket::outcome(int ok, std::size_t bytes) {
  Step s;
  if (ok == 1) {
    s.bytes = bytes;
    return s;
  }
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, ok)) {
    case SSL_ERROR_WANT_READ:
      s.want = Want::read;
      break;
    case SSL_ERROR_WANT_WRITE:
      s.want = Want::write;
      break;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      s.ec = net::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      // No OpenSSL error: the socket failed (errno), or the peer closed TCP without a
      // close_notify (errno 0), which Asio's SSL stream reports as stream_truncated.
      if (const unsigned long e = ERR_get_error(); e != 0)
        s.ec = boost::beast::error_code(static_cast<int>(e), net::error::get_ssl_category());
      else if (saved_errno != 0)
        s.ec = boost::beast::error_code(saved_errno, boost::system::system_category());
      else
        s.ec = net::ssl::error::stream_truncated;
      break;
    default: {  // SSL_ERROR_SSL: a protocol error; OpenSSL's queue says which
      const unsigned long e = ERR_get_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        s.ec = net::ssl::error::stream_truncated;  // TCP closed without a close_notify
        break;
      }
      s.ec = boost::beast::error_code(e != 0 ? static_cast<int>(e) : 1,
                                      net::error::get_ssl_category());
      break;
    }
  }
  ERR_clear_error();
  return s;
}

}  // namespace steadyws::server
