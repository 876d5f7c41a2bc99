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
// It is not a writer (it builds no frames, not even the close reply), not the HTTP upgrade
// handshake, and not a per-message-deflate decoder (no extension is negotiated, so any RSV
// bit is an error). It does no I/O and never reads a clock.
//
// Thread-safety: none. One FrameReader per connection, used from that connection's strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace steadyws::protocol {

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

// Close codes the reader reports (RFC 6455 §7.4.1).
inline constexpr std::uint16_t kCloseNoStatus = 1005;        // a close frame without payload
inline constexpr std::uint16_t kCloseProtocolError = 1002;   // any framing violation
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;  // text or close reason not UTF-8
inline constexpr std::uint16_t kCloseTooBig = 1009;          // over max_message_bytes

// True when `code` may appear in a close frame on the wire, exactly as Beast 1.81's
// is_valid_close_code: 1000-1003, 1007-1013 and 3000-65535. 1004-1006, 1014, 1015,
// 1016-2999 and 0-999 are reserved or not to be sent.
bool is_valid_wire_close_code(std::uint16_t code) noexcept;

// Invariants:
//  1. failed() <=> error_code_ != 0; once failed, next() returns that error with consumed 0
//     and does nothing else.
//  2. in_message_ <=> a text/binary frame without FIN was read and no FIN-ending
//     continuation yet; message_ then holds the unmasked fragments so far and
//     message_.size() <= max_message_bytes_ (when the limit is not 0).
//  3. The reader never keeps a pointer into the caller's input between calls.
class FrameReader {
 public:
  // `max_message_bytes`: the largest message (one frame, or the sum of a fragmented
  // message's frames) accepted; one byte more is error 1009. 0 means no limit, as
  // Beast's read_message_max(0). Control frames are capped at 125 bytes by the RFC instead.
  explicit FrameReader(std::size_t max_message_bytes);

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

  // Fragments of the message being assembled, unmasked. After the final fragment it still
  // holds the whole message (the event's payload views it) until the next call, which
  // clears it and frees it when its capacity is over kKeptCapacity.
  std::string message_;
  std::size_t max_message_bytes_;
  const char* error_reason_ = nullptr;  // static text of the error, when failed
  std::uint16_t error_code_ = 0;        // 0 while healthy
  bool in_message_ = false;
  bool message_is_text_ = false;  // opcode of the message being assembled
  bool message_done_ = false;     // message_ holds a delivered message: clear on next call
};

}  // namespace steadyws::protocol
