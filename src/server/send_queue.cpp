#include "server/send_queue.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

namespace steadyws::server {

std::uint64_t SendQueue::push_control(std::string bytes) {
  control_.push_back(std::move(bytes));
  return control_pushed_++;
}

std::size_t SendQueue::push_data(SharedPayload payload, bool compressed) {
  DataEntry e;
  e.header_len = static_cast<std::uint8_t>(
      encode_frame_header(protocol::Opcode::text, payload->size(), e.header, compressed));
  data_bytes_ += e.header_len + payload->size();
  e.payload = std::move(payload);
  data_.push_back(std::move(e));
  return data_bytes_;
}

void SendQueue::Batch::reset(std::size_t keep) {
  if (scratch_capacity > keep) {
    scratch.reset();
    scratch_capacity = 0;
  }
  data.clear();
  buffers.clear();
  bytes = data_bytes = data_frames = 0;
}

void SendQueue::take_batch(Batch& b, std::size_t max_data_frames) {
  b.reset(kMaxBatchBytes);
  // Two passes. The first decides what goes in (all control, then data frames under both
  // bounds; at least one, so a frame larger than kMaxBatchBytes still goes out) and how many
  // bytes are copied; the second copies them into scratch, sized once. So the per-frame cost
  // is two memcpy into place, with no capacity check or reallocation per piece.
  std::size_t control_bytes = 0;
  for (const auto& c : control_)
    control_bytes += c.size();
  std::size_t copied = control_bytes;
  std::size_t nsegs = copied > 0 ? 1 : 0;  // the segments the batch will have
  bool tail_is_scratch = nsegs > 0;        // the last one is a range of scratch
  std::size_t data_bytes = 0;
  std::size_t nd = 0;
  for (; nd < data_.size(); ++nd) {
    const DataEntry& d = data_[nd];
    const std::size_t payload = d.payload->size();
    const std::size_t size = d.header_len + payload;
    if (nd > 0 && (nd >= max_data_frames || data_bytes + size > kMaxBatchBytes ||
                   nsegs + 2 > kMaxBatchBuffers))
      break;
    nsegs += tail_is_scratch ? 0 : 1;  // the header joins the scratch range, or starts one
    copied += d.header_len;
    if (payload <= kCopyThreshold) {
      copied += payload;
      tail_is_scratch = true;
    } else {
      ++nsegs;  // referenced in place
      tail_is_scratch = false;
    }
    data_bytes += size;
  }

  if (copied > b.scratch_capacity) {
    b.scratch = std::make_unique_for_overwrite<char[]>(copied);
    b.scratch_capacity = copied;
  }
  char* const base = b.scratch.get();
  b.buffers.reserve(nsegs);
  std::size_t at = 0;          // bytes of scratch filled
  std::size_t range_from = 0;  // where the current scratch range began
  auto close_range = [&] {
    if (at > range_from)
      b.buffers.emplace_back(base + range_from, at - range_from);
    range_from = at;
  };
  for (const auto& c : control_) {
    std::memcpy(base + at, c.data(), c.size());
    at += c.size();
  }
  control_taken_ += control_.size();
  b.control_end = control_taken_;
  control_.clear();
  if (control_.capacity() > 8)
    std::vector<std::string>().swap(control_);

  for (std::size_t i = 0; i < nd; ++i) {
    DataEntry& d = data_[i];
    std::memcpy(base + at, d.header.data(), d.header_len);
    at += d.header_len;
    const std::size_t payload = d.payload->size();
    if (payload <= kCopyThreshold) {
      std::memcpy(base + at, d.payload->data(), payload);
      at += payload;
    } else {
      close_range();
      b.buffers.emplace_back(d.payload->data(), payload);
      b.data.push_back(std::move(d));
    }
  }
  close_range();
  b.bytes = control_bytes + data_bytes;
  b.data_bytes = data_bytes;
  b.data_frames = nd;
  data_bytes_ -= data_bytes;
  data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(nd));
  if (data_.empty() && data_.capacity() > 64)
    std::vector<DataEntry>().swap(data_);  // keep idle connections small after a burst
}

std::size_t SendQueue::discard_data() noexcept {
  const std::size_t n = data_.size();
  for (const auto& d : data_)
    data_bytes_ -= d.header_len + d.payload->size();
  data_.clear();
  return n;
}

}  // namespace steadyws::server
