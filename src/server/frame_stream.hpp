// FrameStream: the NextLayer under our websocket::stream that makes every write of a
// connection one gathered write (docs/decisions/0001-write-coalescing.md).
//
// Beast still does the handshake, all reading (frame parsing, UTF-8 checks, read_message_max,
// the automatic pong and close replies) and the close handshake. Its writes (the 101 response,
// ping, pong and close frames) arrive here through async_write_some: they are copied onto the
// control lane of a SendQueue and complete once their batch is on the wire. Our data frames
// never go through Beast's write path: the session queues them here with send_data(), which
// builds the (unmasked, server) frame header itself. A batch is flushed
//   - when Beast asks for more bytes (async_read_some): everything it had buffered has been
//     handled and every reply to it is queued, so one write carries all of them;
//   - when the session calls flush() at the end of a turn that queued data (broadcast delivery,
//     timers);
//   - when a write completes and more is queued.
// One write is in flight at a time. A close frame seen on the control lane ends the data lane:
// queued data is dropped and send_data() refuses more, because nothing may follow a close.
//
// Not thread-safe: everything runs on the connection's strand (the socket's executor).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "server/send_queue.hpp"

namespace steadyws::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class FrameStream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit FrameStream(tcp::socket&& socket) : socket_(std::move(socket)) {}
  FrameStream(const FrameStream&) = delete;
  FrameStream& operator=(const FrameStream&) = delete;
  ~FrameStream() = default;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& next_layer() noexcept { return socket_; }
  const tcp::socket& next_layer() const noexcept { return socket_; }

  // The object whose lifetime the pending write must extend (the session). Set once, before
  // any write.
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  // Called after each write completes with the batch's data frame count and whether it failed.
  void set_on_written(void (*fn)(void* ctx, std::size_t frames, std::size_t bytes), void* ctx) {
    on_written_ = fn;
    on_written_ctx_ = ctx;
  }

  // Called when Beast goes back to the socket for more bytes (everything it had buffered has
  // been handled), just before the flush that sends the replies: the session wakes the
  // subscribers its buffered publishes reached (ws_session.cpp, "wakes").
  void set_on_input_drained(void (*fn)(void* ctx), void* ctx) {
    on_input_drained_ = fn;
    on_input_drained_ctx_ = ctx;
  }

  // Queues one text frame of `payload` on the data lane. Returns the data bytes queued
  // afterwards (compare with --send-queue-bytes), or 0 when the data lane is closed (a close
  // frame went out or the socket failed): the frame was dropped. Does not flush.
  std::size_t send_data(SharedPayload payload) {
    if (data_closed_)
      return 0;
    return queue_.push_data(std::move(payload));
  }

  // Queues a text frame on the control lane: it never waits behind data and is never dropped
  // for back-pressure (our app-level pongs). Does not flush.
  void send_control_text(std::string_view payload) {
    if (!data_closed_)
      queue_.push_control_text(payload);
  }

  // Queues a whole control frame (our protocol pings) on the control lane. Does not flush.
  void send_control(std::string frame) {
    if (!data_closed_)
      queue_.push_control(std::move(frame));
  }

  // Queues a close frame and drops all queued data; then flushes. For teardown without a
  // close handshake: `done` is posted once the frame is written or the write fails.
  template <class Handler>
  void send_close_now(std::uint16_t code, std::string_view reason, Handler&& done) {
    close_data_lane();
    const auto seq = queue_.push_control(make_close_frame(code, reason));
    ops_.push_back(make_op<false>(std::forward<Handler>(done), 0, seq));
    flush();
  }

  // Starts a gathered write of everything queued, unless one is in flight.
  void flush() {
    if (writing_ || queue_.empty())
      return;
    if (failed_) {
      queue_.discard_data();
      SendQueue::Batch dropped;
      queue_.take_batch(dropped);
      complete_ops(dropped.control_end, failed_ec_);
      return;
    }
    queue_.take_batch(batch_, coalesce_ ? SIZE_MAX : 1);
    writing_ = true;
    net::async_write(
        socket_, batch_.buffers,
        [this, keep = owner_.lock()](beast::error_code ec, std::size_t) { on_write(ec); });
  }

  // Teardown after a close handshake (or a failed one): shut our side, read and discard what
  // the peer still sends until it closes (at most kMaxDrainBytes), then close the socket.
  // Beast's own TCP teardown stops after one read, so a peer still sending (a 2 MiB message
  // answered with 1009) gets a reset that can destroy our close frame before it is read;
  // draining lets the close code arrive. Bounded in time by Beast's close timeout
  // (handshake_timeout), which closes the socket under this read.
  template <class Handler>
  auto async_drain_and_close(Handler&& handler) {
    return net::async_compose<Handler, void(beast::error_code)>(DrainOp{*this}, handler, socket_);
  }
  static constexpr std::size_t kMaxDrainBytes = 16 * 1024 * 1024;

  // false: one data frame per write (for measuring the gain; see
  // docs/decisions/0001-write-coalescing.md). Default true.
  void set_coalescing(bool on) noexcept { coalesce_ = on; }

  std::size_t queued_data_bytes() const noexcept { return queue_.data_bytes(); }
  bool is_data_closed() const noexcept { return data_closed_; }

  // ---- AsyncStream, for websocket::stream -----------------------------------------------

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    // Beast has handled all it had buffered: every reply to it is queued; send them in one.
    if (on_input_drained_ != nullptr)
      on_input_drained_(on_input_drained_ctx_);
    flush();
    return socket_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return net::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
        [this](auto h, const ConstBufferSequence& b) {
          std::string bytes(net::buffer_size(b), '\0');
          net::buffer_copy(net::buffer(bytes), b);
          // A close frame from Beast (its close handshake, or its reply to the peer's close,
          // or a 1007/1009 failure): nothing may follow it on the wire.
          if (!bytes.empty() && static_cast<std::uint8_t>(bytes[0]) == 0x88)
            close_data_lane();
          const std::size_t n = bytes.size();
          const auto seq = queue_.push_control(std::move(bytes));
          ops_.push_back(make_op<true>(std::move(h), n, seq));
          flush();
        },
        handler, buffers);
  }

 private:
  struct Op {
    virtual ~Op() = default;
    virtual void complete(beast::error_code ec) = 0;
    std::uint64_t seq = 0;
  };
  // A waiting handler: Beast's write handler (called with ec, bytes) or our own (ec only).
  // Completed by a post through the handler's associated executor (Beast binds its ops to the
  // stream's strand), never inline.
  template <class Handler, bool kWithSize>
  struct OpImpl final : Op {
    OpImpl(Handler&& h, std::size_t n, executor_type fallback)
        : handler(std::move(h)), size(n), ex(std::move(fallback)) {}
    void complete(beast::error_code ec) override {
      auto hex = net::get_associated_executor(handler, ex);
      if constexpr (kWithSize)
        net::post(hex, beast::bind_front_handler(std::move(handler), ec, ec ? 0 : size));
      else
        net::post(hex, beast::bind_front_handler(std::move(handler), ec));
    }
    Handler handler;
    std::size_t size;
    executor_type ex;
  };

  template <bool kWithSize, class Handler>
  std::unique_ptr<Op> make_op(Handler&& h, std::size_t n, std::uint64_t seq) {
    using H = std::decay_t<Handler>;
    auto op = std::make_unique<OpImpl<H, kWithSize>>(H(std::forward<Handler>(h)), n,
                                                     socket_.get_executor());
    op->seq = seq;
    return op;
  }

  struct DrainOp {
    FrameStream& s;
    std::unique_ptr<std::array<char, 4096>> buf{};
    std::size_t total = 0;
    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0) {
      if (!buf) {
        buf = std::make_unique<std::array<char, 4096>>();
        s.socket_.shutdown(tcp::socket::shutdown_send, ec);
        if (!ec)
          return s.socket_.async_read_some(net::buffer(*buf), std::move(self));
      }
      total += n;
      if (!ec && total < kMaxDrainBytes)
        return s.socket_.async_read_some(net::buffer(*buf), std::move(self));
      beast::error_code ignored;
      s.socket_.close(ignored);
      buf.reset();
      self.complete(ec == net::error::eof ? beast::error_code{} : ec);
    }
  };

  void close_data_lane() {
    data_closed_ = true;
    queue_.discard_data();
  }

  void complete_ops(std::uint64_t end, beast::error_code ec) {
    std::size_t i = 0;
    while (i < ops_.size() && ops_[i]->seq < end)
      ops_[i++]->complete(ec);
    ops_.erase(ops_.begin(), ops_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    const std::size_t frames = batch_.data_frames;
    const std::size_t bytes = batch_.bytes;
    const std::uint64_t end = batch_.control_end;
    batch_.reset(queue_.empty() ? 0 : SendQueue::kMaxBatchBytes);
    if (ec && !failed_) {
      failed_ = true;
      failed_ec_ = ec;
      close_data_lane();
    }
    complete_ops(end, ec);
    if (on_written_ != nullptr)
      on_written_(on_written_ctx_, ec ? 0 : frames, ec ? 0 : bytes);
    flush();
  }

  tcp::socket socket_;
  SendQueue queue_;
  SendQueue::Batch batch_;                // the batch in flight; reused
  std::vector<std::unique_ptr<Op>> ops_;  // Beast writes waiting for their batch, by seq
  std::weak_ptr<void> owner_;
  void (*on_written_)(void*, std::size_t, std::size_t) = nullptr;
  void* on_written_ctx_ = nullptr;
  void (*on_input_drained_)(void*) = nullptr;
  void* on_input_drained_ctx_ = nullptr;
  beast::error_code failed_ec_;
  bool writing_ = false;
  bool coalesce_ = true;
  bool failed_ = false;       // a write failed: the socket is gone; ops complete with the error
  bool data_closed_ = false;  // a close frame was queued: no data may follow
};

// Teardown for websocket::stream<FrameStream>: the socket's own (found by ADL). By the time
// Beast tears down, its close frame's write has completed, so nothing is left to flush.
inline void teardown(beast::role_type role, FrameStream& stream, beast::error_code& ec) {
  beast::websocket::teardown(role, stream.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(beast::role_type, FrameStream& stream, TeardownHandler&& handler) {
  stream.async_drain_and_close(std::forward<TeardownHandler>(handler));
}

}  // namespace steadyws::server
