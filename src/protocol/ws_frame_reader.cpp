// RFC 6455 §5 frame decoding for the server side. See ws_frame_reader.hpp.
#include "protocol/ws_frame_reader.hpp"

#include <cstring>
#include <limits>

#include "protocol/codec.hpp"

namespace steadyws::protocol {
namespace {

// A fragment buffer up to this capacity is kept after a fragmented message for the next
// one; a larger one is freed, so a connection that once received a 1 MiB fragmented
// message does not hold 1 MiB for the rest of its life. 4 KiB: a few chat-sized messages.
constexpr std::size_t kKeptCapacity = 4096;

constexpr std::size_t kMaxControlPayload = 125;  // RFC 6455 §5.5

enum Opcode : unsigned {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// XORs `n` bytes at `p` with the 4-byte masking key (RFC 6455 §5.3), the key's byte 0
// applying to p[0]. Eight bytes per step through memcpy, so any alignment is fine and the
// compiler turns each memcpy into one unaligned load or store.
void unmask(char* p, std::size_t n, const unsigned char key[4]) noexcept {
  const unsigned char key8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::uint64_t k = 0;
  std::memcpy(&k, key8, sizeof(k));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, sizeof(w));
    w ^= k;
    std::memcpy(p + i, &w, sizeof(w));
  }
  for (; i < n; ++i) {
    p[i] = static_cast<char>(static_cast<unsigned char>(p[i]) ^ key[i & 3U]);
  }
}

bool is_data_opcode(unsigned op) noexcept {
  return op == kContinuation || op == kText || op == kBinary;
}

}  // namespace

std::string_view to_string(WsEventKind kind) noexcept {
  switch (kind) {
    case WsEventKind::need_more:
      return "need_more";
    case WsEventKind::progress:
      return "progress";
    case WsEventKind::text:
      return "text";
    case WsEventKind::binary:
      return "binary";
    case WsEventKind::ping:
      return "ping";
    case WsEventKind::pong:
      return "pong";
    case WsEventKind::close:
      return "close";
    case WsEventKind::error:
      return "error";
  }
  return "unknown";
}

bool is_valid_wire_close_code(std::uint16_t code) noexcept {
  // Beast 1.81 detail::is_valid_close_code: RFC 6455 §7.4 plus the IANA codes 1012 and 1013;
  // everything from 3000 up is accepted (the RFC defines none above 4999 but forbids none).
  if (code >= 1000 && code <= 1003) {
    return true;
  }
  if (code >= 1007 && code <= 1013) {
    return true;
  }
  return code >= 3000;
}

FrameReader::FrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

std::size_t FrameReader::capacity_for_test() const noexcept {
  // libstdc++ keeps up to 15 bytes inline (SSO) in an empty string's capacity.
  return message_.capacity() > std::string().capacity() ? message_.capacity() : 0;
}

WsEvent FrameReader::error_event() const noexcept {
  WsEvent ev;
  ev.kind = WsEventKind::error;
  ev.close_code = error_code_;
  ev.reason = error_reason_;
  return ev;
}

WsEvent FrameReader::fail(std::uint16_t code, const char* reason) noexcept {
  error_code_ = code;
  error_reason_ = reason;
  in_message_ = false;
  message_done_ = false;
  // The connection is going away: give the fragment buffer back now rather than with it.
  std::string().swap(message_);
  return error_event();
}

WsEvent FrameReader::read_close(std::string_view payload, std::size_t consumed) noexcept {
  WsEvent ev;
  ev.kind = WsEventKind::close;
  ev.consumed = consumed;
  if (payload.empty()) {
    ev.close_code = kCloseNoStatus;
    return ev;
  }
  if (payload.size() == 1) {
    return fail(kCloseProtocolError, "close frame with a 1-byte payload");
  }
  const auto hi = static_cast<unsigned char>(payload[0]);
  const auto lo = static_cast<unsigned char>(payload[1]);
  const auto code = static_cast<std::uint16_t>((hi << 8U) | lo);
  if (!is_valid_wire_close_code(code)) {
    return fail(kCloseProtocolError, "close frame with an invalid close code");
  }
  const std::string_view reason = payload.substr(2);
  // Beast answers 1002 here; RFC 6455 §8.1 treats the reason like text, and 1007 says so.
  if (!is_valid_utf8(reason)) {
    return fail(kCloseInvalidPayload, "close reason is not valid UTF-8");
  }
  ev.close_code = code;
  ev.payload = reason;
  return ev;
}

WsEvent FrameReader::next(std::span<char> input) {
  if (error_code_ != 0) {
    return error_event();
  }
  if (message_done_) {
    // The previous event's payload viewed message_; that view has now expired.
    message_done_ = false;
    message_.clear();
    if (message_.capacity() > kKeptCapacity) {
      std::string().swap(message_);
    }
  }

  WsEvent ev;  // need_more, needed 0
  const std::size_t size = input.size();
  if (size < 2) {
    return ev;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
  const unsigned b0 = bytes[0];
  const unsigned b1 = bytes[1];
  const bool fin = (b0 & 0x80U) != 0;
  const unsigned op = b0 & 0x0FU;
  const unsigned len7 = b1 & 0x7FU;

  // Everything the first two bytes decide is checked before waiting for the rest of the
  // header. Beast checks the same things in this order (reserved bits come before the
  // mask), only later; every one of them is 1002, so the order shows only in `reason`.
  if ((b0 & 0x70U) != 0) {
    return fail(kCloseProtocolError, "reserved bits set (no extension negotiated)");
  }
  const bool is_data = is_data_opcode(op);
  if (!is_data && op != kClose && op != kPing && op != kPong) {
    return fail(kCloseProtocolError, "reserved opcode");
  }
  if (!is_data) {
    if (!fin) {
      return fail(kCloseProtocolError, "fragmented control frame");
    }
    if (len7 > kMaxControlPayload) {
      return fail(kCloseProtocolError, "control frame payload over 125 bytes");
    }
  } else if (op == kContinuation) {
    if (!in_message_) {
      return fail(kCloseProtocolError, "continuation frame without a message in progress");
    }
  } else if (in_message_) {
    return fail(kCloseProtocolError, "new data frame inside a fragmented message");
  }
  if ((b1 & 0x80U) == 0) {
    return fail(kCloseProtocolError, "unmasked client frame");
  }

  const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const std::size_t header = 2 + ext + 4;
  if (size < header) {
    return ev;
  }
  std::uint64_t len = len7;
  if (ext == 2) {
    len = (std::uint64_t{bytes[2]} << 8U) | bytes[3];
    if (len < 126) {
      return fail(kCloseProtocolError, "non-minimal 16-bit payload length");
    }
  } else if (ext == 8) {
    len = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      len = (len << 8U) | bytes[2 + i];
    }
    if ((len >> 63U) != 0) {
      return fail(kCloseProtocolError, "64-bit payload length with the top bit set");
    }
    if (len < 65536) {
      return fail(kCloseProtocolError, "non-minimal 64-bit payload length");
    }
  }

  if (is_data) {
    // The message's size so far: fragments already held, plus this frame.
    const std::uint64_t held = op == kContinuation ? message_.size() : 0;
    const std::uint64_t limit = max_message_bytes_ != 0
                                    ? std::uint64_t{max_message_bytes_}
                                    : std::uint64_t{std::numeric_limits<std::size_t>::max()};
    if (len > limit - held || len > std::numeric_limits<std::size_t>::max() - header) {
      return fail(kCloseTooBig, "message over max_message_bytes");
    }
  }

  const std::size_t total = header + static_cast<std::size_t>(len);
  if (size < total) {
    ev.needed = total;
    return ev;
  }

  char* payload_ptr = input.data() + header;
  const auto payload_len = static_cast<std::size_t>(len);
  unmask(payload_ptr, payload_len, bytes + 2 + ext);
  const std::string_view payload(payload_ptr, payload_len);

  ev.consumed = total;
  switch (op) {
    case kPing:
      ev.kind = WsEventKind::ping;
      ev.payload = payload;
      return ev;
    case kPong:
      ev.kind = WsEventKind::pong;
      ev.payload = payload;
      return ev;
    case kClose:
      return read_close(payload, total);
    case kText:
    case kBinary:
      if (fin) {
        // The common case: a whole message in one frame, handed back where it lies.
        if (op == kText && !is_valid_utf8(payload)) {
          return fail(kCloseInvalidPayload, "text message is not valid UTF-8");
        }
        ev.kind = op == kText ? WsEventKind::text : WsEventKind::binary;
        ev.payload = payload;
        return ev;
      }
      in_message_ = true;
      message_is_text_ = op == kText;
      message_.assign(payload);
      ev.kind = WsEventKind::progress;
      return ev;
    default:  // kContinuation: the only opcode left after the checks above
      break;
  }

  message_.append(payload);
  if (!fin) {
    ev.kind = WsEventKind::progress;
    return ev;
  }
  // UTF-8 is checked once over the whole message rather than per fragment: a character may
  // be split across fragments, and Beast, which checks as bytes arrive, reaches the same
  // verdict (only sooner, for a message that is invalid early on).
  if (message_is_text_ && !is_valid_utf8(message_)) {
    return fail(kCloseInvalidPayload, "text message is not valid UTF-8");
  }
  in_message_ = false;
  message_done_ = true;
  ev.kind = message_is_text_ ? WsEventKind::text : WsEventKind::binary;
  ev.payload = message_;
  return ev;
}

}  // namespace steadyws::protocol
