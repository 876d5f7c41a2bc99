// The per-connection send queue behind FrameWriter: two lanes of whole WebSocket frames, and
// the batching that turns everything queued into one gathered write.
//
// Lanes: `control` (our pings, pongs to the peer's pings, the close frame) and `data` (everything
// else we send: acks, messages, errors). A batch always takes the control lane first, so control
// traffic never waits behind queued data and is never dropped for back-pressure; only the data lane
// counts against the byte bound
// (--send-queue-bytes) whose overflow closes the connection with 4001.
//
// Frames are whole, so reordering lanes never splits a frame. Data payloads are shared
// (hub::Frame): a broadcast is queued by every subscriber without a copy; the server frame
// header (unmasked: 2, 4 or 10 bytes) is built into the entry itself.
//
// Not thread-safe: owned by one connection and used only on its strand. No I/O here; the
// buffers it hands out stay valid while the Batch that owns them lives.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "protocol/ws_frame.hpp"

namespace steadyws::server {

using SharedPayload = std::shared_ptr<const std::string>;

// The frame header and close frame come from the one framing module (protocol/ws_frame.hpp).
using protocol::encode_frame_header;
using protocol::make_close_frame;

class SendQueue {
 public:
  struct DataEntry {
    std::array<std::uint8_t, 10> header{};
    std::uint8_t header_len = 0;
    SharedPayload payload;
  };

  // Everything one gathered write sends. Small frames (and every header and control frame) are
  // copied into `scratch`, so a burst of small messages becomes one contiguous buffer; payloads
  // over kCopyThreshold are referenced in place (kept alive by `data`). Owns its bytes until
  // reset; reuse one Batch per connection to keep its storage.
  struct Batch {
    // The copied bytes, as one allocation sized by take_batch (not zero-filled first: every
    // byte is written before it is sent).
    std::unique_ptr<char[]> scratch;
    std::size_t scratch_capacity = 0;
    std::vector<DataEntry> data;                     // the payloads referenced, not copied
    std::vector<boost::asio::const_buffer> buffers;  // what the gathered write sends
    std::size_t bytes = 0;
    std::size_t data_bytes = 0;     // of these, data-lane bytes (headers included)
    std::size_t data_frames = 0;    // data-lane frames in this batch
    std::uint64_t control_end = 0;  // control entries numbered below this are in the batch
    bool empty() const { return buffers.empty(); }
    // Drops the contents; keeps up to `keep` bytes of scratch capacity.
    void reset(std::size_t keep);
  };

  // Batch bounds: at most kMaxBatchBuffers buffers (Asio gathers up to 64 per writev, so one
  // batch is one system call when the socket takes it) and no data frame added past
  // kMaxBatchBytes, so a control frame queued behind a batch waits for at most ~256 KiB.
  static constexpr std::size_t kMaxBatchBuffers = 64;
  static constexpr std::size_t kMaxBatchBytes = 256 * 1024;
  // Payloads up to this size are copied into the batch: cheaper than an iovec entry each.
  static constexpr std::size_t kCopyThreshold = 2048;

  // Queues a whole control frame (header included).
  // Returns its number (0, 1, 2, ... in push order): it has been written once a completed
  // batch's control_end is above it.
  std::uint64_t push_control(std::string bytes);

  // Queues a text frame holding `payload` on the data lane. Returns the data lane's queued
  // bytes afterwards (headers included; not the batch in flight, which the kernel already
  // has or is taking): the caller compares it with its bound. A frame is queued even when
  // over the bound; the caller decides to close.
  // `compressed`: the payload is permessage-deflate data (RSV1 set in the header).
  std::size_t push_data(SharedPayload payload, bool compressed = false);

  // Moves everything that fits one batch out of the lanes into `batch` (reset first), control
  // first. The batch's data bytes leave the queued count here: a consumer that keeps up has
  // at most the message behind the write in flight queued, however its completion is
  // scheduled.
  // `max_data_frames` bounds the data frames taken (1 = one write per message, the plain-Beast
  // behaviour, kept for measuring; docs/decisions/0001-write-coalescing.md).
  void take_batch(Batch& batch, std::size_t max_data_frames = SIZE_MAX);

  // Drops every data entry not yet taken (closing: nothing may follow a close frame).
  // Returns how many frames were dropped.
  std::size_t discard_data() noexcept;

  bool empty() const noexcept { return control_.empty() && data_.empty(); }
  std::size_t data_bytes() const noexcept { return data_bytes_; }
  std::size_t queued_data_frames() const noexcept { return data_.size(); }
  std::size_t queued_control() const noexcept { return control_.size(); }

 private:
  std::vector<std::string> control_;
  std::uint64_t control_pushed_ = 0;
  std::uint64_t control_taken_ = 0;
  std::vector<DataEntry> data_;
  std::size_t data_bytes_ = 0;  // queued, not yet taken into a batch; headers included
};

}  // namespace steadyws::server
