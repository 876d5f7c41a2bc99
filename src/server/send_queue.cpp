#include "server/send_queue.hpp"

#include <algorithm>
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
  if (scratch.capacity() > keep)
    std::string().swap(scratch);
  else
    scratch.clear();
  data.clear();
  buffers.clear();
  bytes = data_bytes = data_frames = 0;
}

void SendQueue::take_batch(Batch& b, std::size_t max_data_frames) {
  b.reset(kMaxBatchBytes);
  // Segments first (scratch may reallocate while it grows), buffers at the end. At most
  // kMaxBatchBuffers of them (control is one scratch range), so they live on the stack.
  struct Segment {
    const char* external;  // nullptr: a range of scratch
    std::size_t offset;
    std::size_t size;
  };
  std::array<Segment, kMaxBatchBuffers + 1> segs;
  std::size_t nsegs = 0;
  // One allocation for the copies: at most the control frames plus one batch of data.
  std::size_t control_bytes = 0;
  for (const auto& c : control_)
    control_bytes += c.size();
  b.scratch.reserve(control_bytes + std::min(data_bytes_, kMaxBatchBytes + kCopyThreshold + 14));
  auto copy_in = [&](const void* p, std::size_t n) {
    if (nsegs > 0 && segs[nsegs - 1].external == nullptr)
      segs[nsegs - 1].size += n;
    else
      segs[nsegs++] = {nullptr, b.scratch.size(), n};
    b.scratch.append(static_cast<const char*>(p), n);
  };

  // Control first, all of it (it is small and rare).
  for (const auto& c : control_)
    copy_in(c.data(), c.size());
  control_taken_ += control_.size();
  b.control_end = control_taken_;
  control_.clear();
  if (control_.capacity() > 8)
    std::vector<std::string>().swap(control_);

  // Then data while under both bounds; at least one frame, so a frame larger than
  // kMaxBatchBytes still goes out.
  std::size_t nd = 0;
  for (; nd < data_.size(); ++nd) {
    auto& d = data_[nd];
    const std::size_t size = d.header_len + d.payload->size();
    if (nd > 0 &&
        (nd >= max_data_frames || b.bytes + size > kMaxBatchBytes || nsegs + 2 > kMaxBatchBuffers))
      break;
    copy_in(d.header.data(), d.header_len);
    if (d.payload->size() <= kCopyThreshold) {
      copy_in(d.payload->data(), d.payload->size());
    } else {
      segs[nsegs++] = {d.payload->data(), 0, d.payload->size()};
      b.data.push_back(std::move(d));
    }
    b.bytes += size;
    b.data_bytes += size;
  }
  b.data_frames = nd;
  data_bytes_ -= b.data_bytes;
  data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(nd));
  if (data_.empty() && data_.capacity() > 64)
    std::vector<DataEntry>().swap(data_);  // keep idle connections small after a burst

  b.bytes = 0;
  b.buffers.reserve(nsegs);
  for (std::size_t i = 0; i < nsegs; ++i) {
    const Segment& s = segs[i];
    const char* p = s.external != nullptr ? s.external : b.scratch.data() + s.offset;
    b.buffers.emplace_back(p, s.size);
    b.bytes += s.size;
  }
}

std::size_t SendQueue::discard_data() noexcept {
  const std::size_t n = data_.size();
  for (const auto& d : data_)
    data_bytes_ -= d.header_len + d.payload->size();
  data_.clear();
  return n;
}

}  // namespace steadyws::server
