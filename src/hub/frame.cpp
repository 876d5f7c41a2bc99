// See frame.hpp.
#include "hub/frame.hpp"

#include <algorithm>

#include "protocol/permessage_deflate.hpp"

namespace steadyws::hub {

FrameText::~FrameText() {
  for (auto& slot : deflated_)
    delete slot.load(std::memory_order_relaxed);
}

const std::string* FrameText::deflated(int window_bits) const {
  auto& slot = deflated_[static_cast<std::size_t>(std::clamp(window_bits, 9, 15) - 9)];
  if (const std::string* done = slot.load(std::memory_order_acquire))
    return done;
  auto mine = std::make_unique<std::string>();
  if (!protocol::shared_deflater(window_bits).compress(*this, *mine, false))
    return nullptr;
  mine->shrink_to_fit();  // kept as long as the frame (history): no slack
  const std::string* expected = nullptr;
  if (slot.compare_exchange_strong(expected, mine.get(), std::memory_order_acq_rel,
                                   std::memory_order_acquire))
    return mine.release();
  return expected;  // another thread was first: use its bytes, drop ours
}

Frame make_frame(std::string&& text) {
  return std::make_shared<const FrameText>(std::move(text));
}

}  // namespace steadyws::hub
