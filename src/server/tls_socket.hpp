// TLS on a connection's own file descriptor: an OpenSSL SSL object reading and writing the
// (non-blocking) TCP socket directly, with no BIO pair and no buffers of ours in between
// (docs/decisions/0005-tls-stream.md). Asio's ssl::stream keeps two 17 KiB vectors and a
// 2 × 17 KiB BIO pair per connection for as long as the connection lives; here an idle
// connection costs only what OpenSSL's SSL object keeps (its record buffers are released
// while idle, SSL_MODE_RELEASE_BUFFERS).
//
// TlsSocket makes one non-blocking OpenSSL call at a time and says what it waits for;
// async_tls() turns such a call into an Asio operation that waits on the socket's readiness
// and tries again. The socket is passed to each call rather than kept, so the SSL object
// can move with the socket from the HTTP session to the WebSocket session.
//
// Not thread-safe: used on the connection's strand only.
#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>

namespace steadyws::server {

class TlsSocket {
 public:
  enum class Want { nothing, read, write };
  // The outcome of one call: bytes moved, an error, or what to wait for before calling again.
  struct Step {
    boost::beast::error_code ec;
    std::size_t bytes = 0;
    Want want = Want::nothing;
  };

  // A server-side SSL object on `socket`'s descriptor, which it puts in non-blocking mode.
  // `release_buffers` false keeps OpenSSL's record buffers while idle (only to measure what
  // SSL_MODE_RELEASE_BUFFERS saves).
  TlsSocket(boost::asio::ip::tcp::socket& socket, boost::asio::ssl::context& ctx,
            bool release_buffers);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  Step handshake();                                // SSL_do_handshake (server side)
  Step read(void* data, std::size_t size);         // plaintext of the records that are in
  Step write(const void* data, std::size_t size);  // whole records, or what fits before a wait

  // Reads and writes over Asio buffer sequences: into the first non-empty buffer; from a
  // gathered sequence, copied into a per-thread buffer one TLS record (16 KiB) at a time.
  template <class MutableBuffers>
  Step read_some(const MutableBuffers& b) {
    for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b);
         ++it) {
      const boost::asio::mutable_buffer m = *it;
      if (m.size() != 0)
        return read(m.data(), m.size());
    }
    return {};
  }
  template <class ConstBuffers>
  Step write_some(const ConstBuffers& b) {
    const auto begin = boost::asio::buffer_sequence_begin(b);
    const auto end = boost::asio::buffer_sequence_end(b);
    if (begin == end)
      return {};
    if (std::next(begin) == end) {
      const boost::asio::const_buffer one = *begin;
      return write(one.data(), one.size());
    }
    return write_gathered(begin, end);
  }

  // Whether OpenSSL holds received bytes (read ahead, or the rest of a record) that the
  // socket will not signal again.
  // (Or an error that came after data, which the next read returns.)
  bool has_buffered_input() const { return deferred_ || SSL_has_pending(ssl_) == 1; }

  // Sends close_notify if it fits in the socket now; never waits. Does nothing once the
  // socket is closed (its descriptor may already belong to another connection).
  void shutdown(const boost::asio::ip::tcp::socket& socket);

  SSL* native_handle() const noexcept { return ssl_; }

 private:
  template <class It>
  Step write_gathered(It begin, It end) {
    Step total;
    std::size_t skip = 0;  // bytes of the sequence already written by this call
    for (;;) {
      const std::size_t n = gather(begin, end, skip);
      if (n == 0)
        return total;
      const Step s = write(scratch(), n);
      if (s.bytes == 0) {
        if (total.bytes != 0)
          return total;  // what was written; the caller comes back for the rest
        return s;
      }
      total.bytes += s.bytes;
      skip += s.bytes;
      if (s.bytes < n || total.bytes >= kMaxWritePerCall)
        return total;
    }
  }
  // Copies up to one record of the sequence, from `skip` bytes in, into scratch().
  template <class It>
  std::size_t gather(It begin, It end, std::size_t skip) {
    char* out = scratch();
    std::size_t n = 0;
    for (auto it = begin; it != end && n < kRecordBytes; ++it) {
      const boost::asio::const_buffer c = *it;
      if (skip >= c.size()) {
        skip -= c.size();
        continue;
      }
      const std::size_t take = std::min(c.size() - skip, kRecordBytes - n);
      std::memcpy(out + n, static_cast<const char*>(c.data()) + skip, take);
      n += take;
      skip = 0;
    }
    return n;
  }
  static char* scratch();  // kRecordBytes, one per thread

  static constexpr std::size_t kRecordBytes = 16384;  // a TLS record's largest plaintext
  static constexpr std::size_t kMaxWritePerCall = 4 * kRecordBytes;

  Step outcome(int ok, std::size_t bytes);  // SSL_get_error's answer as a Step
  SSL* ssl_;
  boost::beast::error_code deferred_;  // an error read() met after data; returned next
};

// Runs `call` (returning a TlsSocket::Step) now and again after each readiness wait it
// asks for, then completes `handler(ec, bytes)` on the handler's executor. Never completes
// inside the initiating call. A cancelled or failed wait completes with its error and
// touches OpenSSL no more (the socket may be closed).
template <class Call, class Handler>
class TlsOp {
 public:
  using executor_type =
      boost::asio::associated_executor_t<Handler, boost::asio::ip::tcp::socket::executor_type>;

  TlsOp(boost::asio::ip::tcp::socket& socket, Call call, Handler handler)
      : socket_(&socket), call_(std::move(call)), handler_(std::move(handler)) {}

  executor_type get_executor() const noexcept {
    return boost::asio::get_associated_executor(handler_, socket_->get_executor());
  }

  void start() { step(true); }
  void operator()(boost::beast::error_code ec) {
    if (ec)
      return complete(ec, 0, false);
    step(false);
  }

 private:
  void step(bool first) {
    if (!socket_->is_open()) {
      // Closed under us (a teardown, a deadline): the descriptor number may already belong
      // to another connection, so OpenSSL must not touch it.
      complete(boost::asio::error::bad_descriptor, 0, first);
      return;
    }
    const TlsSocket::Step s = call_();
    if (s.want == TlsSocket::Want::read) {
      socket_->async_wait(boost::asio::ip::tcp::socket::wait_read, std::move(*this));
      return;
    }
    if (s.want == TlsSocket::Want::write) {
      socket_->async_wait(boost::asio::ip::tcp::socket::wait_write, std::move(*this));
      return;
    }
    complete(s.ec, s.bytes, first);
  }
  void complete(boost::beast::error_code ec, std::size_t bytes, bool first) {
    auto bound = boost::beast::bind_front_handler(std::move(handler_), ec, bytes);
    if (first)
      boost::asio::post(socket_->get_executor(), std::move(bound));
    else
      boost::asio::dispatch(std::move(bound));
  }

  boost::asio::ip::tcp::socket* socket_;
  Call call_;
  Handler handler_;
};

template <class Call, class Handler>
void async_tls(boost::asio::ip::tcp::socket& socket, Call&& call, Handler&& handler) {
  TlsOp<std::decay_t<Call>, std::decay_t<Handler>>(socket, std::forward<Call>(call),
                                                   std::forward<Handler>(handler))
      .start();
}

}  // namespace steadyws::server
