// ReadBuffer: the DynamicBuffer (v1) a WsSession reads each message into, so that an idle
// connection holds no heap block for its pending read.
//
// Beast's async_read prepares the buffer before any byte arrives: with a beast::flat_buffer
// that is a 1536-byte allocation (its tcp_frame_size read hint) kept by every idle
// connection, ~1.5 KB of the issue 3 budget of 4 KB. Here messages up to kInline bytes (pings,
// subscribes, most publishes) live in storage inside the object; a larger message moves to a
// heap flat_buffer, which release() frees once the message has been handled.
//
// How Beast is kept to the inline storage: it sizes the first prepare() of a message by
// min(1536, max_size() - size()); while the contents are inline and not full, max_size()
// reports kInline, so that prepare fits. Once the inline part is full, max_size() reports the
// real limit and the contents move to the heap buffer. Beast's message limit
// (read_message_max, 1009) is checked on frame sizes, independently of max_size().
//
// Not thread-safe (one session's strand). Not movable: prepared buffers point into it.
#pragma once

#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace steadyws::server {

class ReadBuffer {
 public:
  using const_buffers_type = boost::asio::const_buffer;
  using mutable_buffers_type = boost::asio::mutable_buffer;

  // 128 bytes: an app-level ping (~45 bytes), a subscribe with since and epoch (~90), a small
  // publish. Bigger messages cost one allocation each.
  static constexpr std::size_t kInline = 128;

  // `limit`: the most this buffer may hold (the server's max message size plus slack).
  explicit ReadBuffer(std::size_t limit) : limit_(limit < kInline ? kInline : limit) {}
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  ~ReadBuffer() = default;

  std::size_t size() const noexcept { return heap_ ? heap_->size() : size_; }
  std::size_t max_size() const noexcept {
    return !heap_ && size_ + reserved_ < kInline ? kInline : limit_;
  }
  std::size_t capacity() const noexcept { return heap_ ? heap_->capacity() : kInline; }

  const_buffers_type data() const noexcept { return cdata(); }
  const_buffers_type cdata() const noexcept {
    if (heap_)
      return heap_->cdata();
    return {inline_, size_};
  }
  mutable_buffers_type data() noexcept {
    if (heap_)
      return heap_->data();
    return {inline_, size_};
  }

  // Throws std::length_error past the limit (Beast turns that into buffer_overflow).
  mutable_buffers_type prepare(std::size_t n) {
    if (!heap_ && size_ + n <= kInline) {
      reserved_ = n;
      return {inline_ + size_, n};
    }
    if (size() + n > limit_)
      throw std::length_error("ReadBuffer: message over the limit");
    if (!heap_) {
      heap_.emplace(limit_);
      if (size_ > 0) {  // prepare(0) of an empty flat_buffer is a null buffer: no memcpy
        auto mb = heap_->prepare(size_);
        std::memcpy(mb.data(), inline_, size_);
        heap_->commit(size_);
      }
      size_ = 0;
      reserved_ = 0;
    }
    return heap_->prepare(n);
  }

  void commit(std::size_t n) noexcept {
    if (heap_) {
      heap_->commit(n);
      return;
    }
    size_ += n < reserved_ ? n : reserved_;
    reserved_ = 0;
  }

  void consume(std::size_t n) noexcept {
    if (heap_) {
      heap_->consume(n);
      return;
    }
    if (n >= size_) {
      size_ = 0;
    } else {
      std::memmove(inline_, inline_ + n, size_ - n);
      size_ -= n;
    }
  }

  // Empties the buffer and frees the heap block of a large message, if any.
  void release() noexcept {
    heap_.reset();
    size_ = 0;
    reserved_ = 0;
  }

  bool on_heap() const noexcept { return heap_.has_value(); }

 private:
  std::size_t limit_;
  std::size_t size_ = 0;      // inline bytes committed
  std::size_t reserved_ = 0;  // inline bytes handed out by the last prepare()
  std::optional<boost::beast::flat_buffer> heap_;
  char inline_[kInline];
};

}  // namespace steadyws::server
