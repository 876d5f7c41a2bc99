// A sans-I/O decoder of the WebSocket frames a SERVER reads (RFC 6455 §5): client frames,
// which must be masked. The server shell reads bytes from the socket into its own buffer and
// calls next() with the unread part; each call parses at most one event from the front,
// unmasks that frame's payload in place, and says how many bytes it used. Single-frame
// messages, pings, pongs and closes are returned as views into the caller's bytes (zero
// copy, no allocation); only fragmented messages are copied, into one internal string.
//
// Every violation fails the reader with the close code to send (1002 protocol error, 1007
// invalid UTF-8, 1009 too big) and a short reason; where RFC 6455 leaves a choice it does
// what Beast 1.81's websocket::stream does for a server, with two differences: a close
// reason that is not UTF-8 gets 1007 (RFC 6455 §8.1; Beast answers 1002), and UTF-8 is
// checked once a text message is complete, not fragment by fragment (so invalid text is
// refused when its last fragment arrives; the message size limit still bounds what is held).
//
// permessage-deflate (RFC 7692), once enable_deflate() was called: a text or binary frame
// with RSV1 starts a compressed message, inflated with a running limit (over
// max_message_bytes inflated is 1009 the moment it is passed, never after inflating it
// whole); invalid deflate data is 1007; RSV1 on a control or continuation frame, and RSV2 or
// RSV3 on any, are 1002. Without it, any RSV bit is 1002. A compressed single-frame message is
// inflated by the thread's inflater; only a fragmented one (or a peer with context takeover)
// has an inflate stream of its own, freed after the message when the peer has none.
//
// It is not a writer (it builds no frames, not even the close reply) and not the HTTP upgrade
// handshake (nor the extension's negotiation: permessage_deflate.hpp). It does no I/O and
// never reads a clock.
//
// Thread-safety: none. One FrameReader per connection, used from that connection's strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/ws_frame.hpp"

namespace steadyws::protocol {

class Inflater;

enum class WsEventKind : std::uint8_t {
  need_more,  // no complete event in the input: call again with more bytes (see `needed`)
  progress,   // consumed a non-final fragment of a data message (kept inside the reader): call
              // again
  text,       // a complete text message, valid UTF-8: `payload`
  binary,     // a complete binary message: `payload`
  ping,       // a ping frame: `payload` (<= 125 bytes)
  pong,       // a pong frame: `payload`
  close,      // the peer's close frame: `close_code` (1005 when it had no payload), `payload` = its
              // reason (valid UTF-8)
  error,      // a violation: `close_code` (1002 protocol error, 1007 invalid UTF-8, 1009 too big)
              // and `reason` (short human text, static storage); the reader is failed from now on
};

// The wire spelling of a kind ("need_more", "text", ...), for logs and test messages.
std::string_view to_string(WsEventKind kind) noexcept;

struct WsEvent {
  WsEventKind kind = WsEventKind::need_more;
  std::size_t consumed = 0;      // bytes of the input this event used: drop them before the next
                                 // call (0 for need_more and error)
  std::size_t needed = 0;        // need_more only: total bytes the current frame needs, counted
                                 // from the start of the input given (header + payload), or 0 when
                                 // the header itself is incomplete
  std::string_view payload;      // valid until the next call to next() and while the input bytes
                                 // live
  std::uint16_t close_code = 0;  // close, error
  std::string_view reason;       // error only
};

// Invariants:
//  1. failed() <=> error_code_ != 0; once failed, next() returns that error with consumed 0
//     and does nothing else.
//  2. in_message_ <=> a text/binary frame without FIN was read and no FIN-ending
//     continuation yet; message_ then holds the unmasked (and inflated, when
//     message_compressed_) fragments so far; message_.size() and, when compressed, the
//     compressed bytes so far (inflater_->message_input_bytes()) are <= max_message_bytes_
//     (when the limit is not 0).
//  3. The reader never keeps a pointer into the caller's input between calls.
class FrameReader {
 public:
  // `max_message_bytes`: the largest message (one frame, or the sum of a fragmented
  // message's frames) accepted; one byte more is error 1009. 0 means no limit, as
  // Beast's read_message_max(0). Control frames are capped at 125 bytes by the RFC instead.
  explicit FrameReader(std::size_t max_message_bytes);
  ~FrameReader();
  FrameReader(FrameReader&&) noexcept;
  FrameReader& operator=(FrameReader&&) noexcept;

  // Accepts RSV1 (compressed) messages from now on: permessage-deflate was agreed.
  // `client_no_context_takeover`: the peer resets its compressor after each message (we then
  // keep no inflate stream between messages).
  void enable_deflate(bool client_no_context_takeover);
  bool deflate_enabled() const noexcept { return deflate_; }

  // Parses at most one event from the front of `input`, unmasking that frame's payload IN
  // PLACE (so the same bytes must not be given again once consumed). Waits for the whole
  // frame (header + payload) before returning anything but need_more or error; header
  // violations, including a declared length over the limit, are reported as soon as the
  // header is in, without waiting for the payload. An empty input returns need_more.
  // The returned payload views either `input` (single-frame message, control frame) or the
  // reader's own string (last fragment of a fragmented message); both stay valid until the
  // next call. A close event leaves the reader usable; the caller stops reading anyway.
  WsEvent next(std::span<char> input);

  // True after an error event; the connection must be closed with that event's code.
  bool failed() const noexcept { return error_code_ != 0; }

  // Bytes of an unfinished fragmented message held inside (0 when none).
  std::size_t buffered() const noexcept { return in_message_ ? message_.size() : 0; }

  std::size_t max_message_bytes() const noexcept { return max_message_bytes_; }

  // Heap bytes held by the fragment buffer (0 when it uses no heap block), for tests of the
  // release rule.
  std::size_t capacity_for_test() const noexcept;

 private:
  WsEvent fail(std::uint16_t code, const char* reason) noexcept;
  WsEvent error_event() const noexcept;
  WsEvent read_close(std::string_view payload, std::size_t consumed) noexcept;
  // Inflates `payload` (a fragment; `first`/`last` of its message) onto message_: an error
  // event when that fails, else a need_more event (ignored).
  WsEvent inflate(std::string_view payload, bool first, bool last);
  // Delivers message_ (whole) as the message event `ev`, after the UTF-8 check of text.
  WsEvent finish_message(WsEvent ev);

  // Fragments of the message being assembled, unmasked. After the final fragment it still
  // holds the whole message (the event's payload views it) until the next call, which
  // clears it and frees it when its capacity is over kKeptCapacity.
  std::string message_;
  std::unique_ptr<Inflater> inflater_;  // a fragmented compressed message, or context takeover
  std::size_t max_message_bytes_;
  const char* error_reason_ = nullptr;  // static text of the error, when failed
  std::uint16_t error_code_ = 0;        // 0 while healthy
  bool in_message_ = false;
  bool message_is_text_ = false;     // opcode of the message being assembled
  bool message_done_ = false;        // message_ holds a delivered message: clear on next call
  bool message_compressed_ = false;  // the message being assembled had RSV1
  bool deflate_ = false;
  bool client_no_context_takeover_ = true;
};

}  // namespace steadyws::protocol
