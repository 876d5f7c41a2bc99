// FrameWriter: the only writer on a WebSocket connection's socket once the handshake is done,
// making every write of the connection one gathered write
// (docs/decisions/0001-write-coalescing.md, docs/decisions/0002-own-frame-reader.md).
//
// The session queues whole server frames (unmasked, final) on two lanes of a SendQueue:
// data (acks, messages, errors; bounded by --send-queue-bytes) and control (pings, pongs to
// the peer's pings, the close frame), which never waits behind data and is never dropped for
// back-pressure. Nothing is written until flush(); the session flushes once per turn (after
// a read batch, a hub delivery, a timer action), so everything queued in one turn leaves in
// one `writev`. One write is in flight at a time; when it completes with more queued, the
// next batch starts at once.
//
// A close frame ends the data lane: queued data is dropped and send_data() refuses more,
// because nothing may follow a close. When the batch carrying the close frame has been
// written, the listener hears on_close_written(); a failed write is reported once with
// on_write_failed() and every later flush is a no-op.
//
// Not thread-safe: everything runs on the connection's strand (the socket's executor).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include "server/send_queue.hpp"
#include "server/stream.hpp"

namespace steadyws::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class FrameWriter {
 public:
  // What the writer tells its session. Called on the strand, from a write's completion.
  class Listener {
   public:
    virtual void on_written(std::size_t data_frames, std::size_t bytes) = 0;
    virtual void on_close_written() = 0;
    virtual void on_write_failed(beast::error_code ec) = 0;

   protected:
    ~Listener() = default;
  };

  explicit FrameWriter(WsStream&& stream) : stream_(std::move(stream)) {}
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;
  ~FrameWriter() = default;

  tcp::socket& socket() noexcept { return stream_.next_layer(); }
  WsStream& stream() noexcept { return stream_; }  // TCP or TLS

  // `owner` is kept alive by a write in flight (the session); `listener` hears its outcome.
  // Set both once, before the first flush.
  void set_owner(std::weak_ptr<void> owner, Listener* listener) {
    owner_ = std::move(owner);
    listener_ = listener;
  }

  // Queues one text frame of `payload` on the data lane. Returns the data bytes queued
  // afterwards (compare with --send-queue-bytes), or 0 when the data lane is closed (a close
  // frame was queued or a write failed): the frame was dropped.
  // `compressed`: permessage-deflate data, sent with RSV1.
  std::size_t send_data(SharedPayload payload, bool compressed = false) {
    if (data_closed_)
      return 0;
    return queue_.push_data(std::move(payload), compressed);
  }

  // Queues a whole frame (header included) on the control lane: our pings, pongs to the
  // peer's pings. Dropped once the close frame is queued.
  void send_control(std::string frame) {
    if (!data_closed_)
      queue_.push_control(std::move(frame));
  }

  // Answers the peer's ping: a pong with `payload` on the control lane. Only the latest pong
  // waits for the next write (RFC 6455 §5.5.3 allows answering only the most recent ping), so
  // a peer that floods pings while not reading costs one pending pong, not one per ping.
  void send_pong(std::string_view payload) {
    if (data_closed_)
      return;
    std::array<std::uint8_t, 10> h{};
    const std::size_t n = encode_frame_header(protocol::Opcode::pong, payload.size(), h);
    pong_.assign(reinterpret_cast<const char*>(h.data()), n);
    pong_.append(payload);
    has_pong_ = true;
  }

  // Queues a close frame with `code` and `reason` (cut to 123 bytes), or an empty close frame
  // when `code` is 0 (the echo of a peer's close without a status), drops the queued data and
  // ends both lanes. Once only; later calls do nothing.
  void send_close(std::uint16_t code, std::string_view reason) {
    if (close_queued_)
      return;
    close_queued_ = true;
    data_closed_ = true;
    queue_.discard_data();
    close_seq_ = queue_.push_control(make_close_frame(code, reason));
  }

  // Starts a gathered write of everything queued, unless one is in flight or a write failed.
  void flush() {
    if (writing_ || failed_)
      return;
    if (has_pong_) {
      has_pong_ = false;
      if (!close_queued_)
        queue_.push_control(std::move(pong_));
      pong_.clear();
    }
    if (queue_.empty())
      return;
    queue_.take_batch(batch_, coalesce_ ? SIZE_MAX : 1);
    writing_ = true;
    net::async_write(
        stream_, batch_.buffers,
        [this, keep = owner_.lock()](beast::error_code ec, std::size_t) { on_write(ec); });
  }

  // false: one data frame per write (for measuring the gain; see
  // docs/decisions/0001-write-coalescing.md). Default true.
  void set_coalescing(bool on) noexcept { coalesce_ = on; }

  bool is_data_closed() const noexcept { return data_closed_; }
  bool writing() const noexcept { return writing_; }            // a write is in flight
  bool has_queued() const noexcept { return !queue_.empty(); }  // the next flush writes
  bool close_queued() const noexcept { return close_queued_; }

 private:
  void on_write(beast::error_code ec) {
    writing_ = false;
    const std::size_t frames = batch_.data_frames;
    const std::size_t bytes = batch_.bytes;
    const bool close_done = close_queued_ && !close_written_ && batch_.control_end > close_seq_;
    batch_.reset(queue_.empty() ? 0 : SendQueue::kMaxBatchBytes);
    if (ec) {
      failed_ = true;
      data_closed_ = true;
      queue_.discard_data();
      if (listener_ != nullptr)
        listener_->on_write_failed(ec);
      return;
    }
    if (listener_ != nullptr && (frames != 0 || bytes != 0))
      listener_->on_written(frames, bytes);
    if (close_done) {
      close_written_ = true;
      if (listener_ != nullptr)
        listener_->on_close_written();
      return;  // nothing follows a close frame
    }
    flush();
  }

  WsStream stream_;
  SendQueue queue_;
  SendQueue::Batch batch_;  // the batch in flight; reused
  std::weak_ptr<void> owner_;
  Listener* listener_ = nullptr;
  std::string pong_;  // the pong to the peer's latest ping, until the next write starts
  bool has_pong_ = false;
  std::uint64_t close_seq_ = 0;
  bool writing_ = false;
  bool coalesce_ = true;
  bool failed_ = false;       // a write failed: the socket is gone
  bool data_closed_ = false;  // a close frame was queued (or a write failed): no data may follow
  bool close_queued_ = false;
  bool close_written_ = false;
};

}  // namespace steadyws::server
