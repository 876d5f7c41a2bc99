// hub::Frame: one serialized `message` frame (CONTRACT §2), shared by every subscriber and by
// history; serialized once per publish, never copied per subscriber. Build one with
// make_frame() (every hub does, so frames are built the same way whatever the hub).
//
// FrameText IS the serialized JSON text (it derives from std::string, so `*frame` reads as the
// text, as before), plus a lazily filled slot per LZ77 window size for its permessage-deflate
// form without context takeover (CONTRACT §7): the first subscriber session that needs it
// deflates it, every other one with the same window bits sends the same bytes. So fan-out with
// compression costs about one deflate per publish, whatever the number of subscribers.
//
// Thread-safety: immutable text; deflated() may be called from any thread. Two threads asking
// at once may both deflate (the loser's copy is dropped): one deflate per thread at worst,
// never a lock on the delivery path.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

namespace steadyws::hub {

class FrameText : public std::string {
 public:
  explicit FrameText(std::string&& text) : std::string(std::move(text)) {}
  ~FrameText();
  FrameText(const FrameText&) = delete;
  FrameText& operator=(const FrameText&) = delete;

  // The text deflated for a peer that agreed server_no_context_takeover with a window of
  // `window_bits` (9-15): a raw deflate of the whole message with its 00 00 ff ff tail
  // removed (RFC 7692 §7.2.1). Computed on first use, then shared; nullptr when zlib failed
  // (send the text uncompressed). Valid while this FrameText lives.
  const std::string* deflated(int window_bits) const;

 private:
  mutable std::array<std::atomic<const std::string*>, 7> deflated_{};  // [window_bits - 9]
};

using Frame = std::shared_ptr<const FrameText>;

// The one way to build a Frame from its serialized text.
Frame make_frame(std::string&& text);

}  // namespace steadyws::hub
