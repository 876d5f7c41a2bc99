// RFC 6455 §5 frame decoding for the server side. See ws_frame_reader.hpp.
#include "protocol/ws_frame_reader.hpp"

#include <limits>

#include "protocol/codec.hpp"
#include "protocol/permessage_deflate.hpp"

namespace steadyws::protocol {
namespace {

// A fragment buffer up to this capacity is kept after a fragmented message for the next
// one; a larger one is freed, so a connection that once received a 1 MiB fragmented
// message does not hold 1 MiB for the rest of its life. 4 KiB: a few chat-sized messages.
constexpr std::size_t kKeptCapacity = 4096;

constexpr unsigned op_value(Opcode op) noexcept {
  return static_cast<unsigned>(op);
}
constexpr unsigned kContinuation = op_value(Opcode::continuation);
constexpr unsigned kText = op_value(Opcode::text);
constexpr unsigned kBinary = op_value(Opcode::binary);
constexpr unsigned kClose = op_value(Opcode::close);
constexpr unsigned kPing = op_value(Opcode::ping);
constexpr unsigned kPong = op_value(Opcode::pong);

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

FrameReader::FrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}
FrameReader::~FrameReader() = default;
FrameReader::FrameReader(FrameReader&&) noexcept = default;
FrameReader& FrameReader::operator=(FrameReader&&) noexcept = default;

void FrameReader::enable_deflate(bool client_no_context_takeover) {
  deflate_ = true;
  client_no_context_takeover_ = client_no_context_takeover;
}

WsEvent FrameReader::inflate(std::string_view payload, bool first, bool last) {
  InflateResult r = InflateResult::ok;
  if (first && last && client_no_context_takeover_) {
    // The common case: a whole compressed message in one frame, from a peer that keeps no
    // context: the thread's inflater, no zlib state on this connection.
    r = inflate_message(payload, message_, max_message_bytes_);
  } else {
    if (!inflater_)
      inflater_ = std::make_unique<Inflater>();
    r = inflater_->inflate(payload, last, message_, max_message_bytes_);
    if (last && client_no_context_takeover_)
      inflater_.reset();  // nothing to carry to the next message
  }
  if (r == InflateResult::too_big) {
    return fail(kCloseTooBig, "inflated message over max_message_bytes");
  }
  if (r == InflateResult::bad_data) {
    return fail(kCloseInvalidPayload, "invalid permessage-deflate data");
  }
  return WsEvent{};
}

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
  inflater_.reset();
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
  const FrameStart start = decode_frame_start(bytes[0], bytes[1]);
  const bool fin = start.fin;
  const unsigned op = start.opcode;
  const unsigned len7 = start.len7;

  // Everything the first two bytes decide is checked before waiting for the rest of the
  // header. Beast checks the same things in this order (reserved bits come before the
  // mask), only later; every one of them is 1002, so the order shows only in `reason`.
  if (start.rsv != 0) {
    if (!deflate_) {
      return fail(kCloseProtocolError, "reserved bits set (no extension negotiated)");
    }
    if (start.rsv != kRsv1Bit) {
      return fail(kCloseProtocolError, "RSV2 or RSV3 set");
    }
    if (is_control(op)) {
      return fail(kCloseProtocolError, "RSV1 set on a control frame");
    }
    if (op == kContinuation) {
      return fail(kCloseProtocolError, "RSV1 set on a continuation frame");
    }
  }
  const bool compressed = start.rsv != 0;
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
  if (!start.masked) {
    return fail(kCloseProtocolError, "unmasked client frame");
  }

  const std::size_t header = start.header;  // masked: 2 + 0/2/8 + 4
  if (size < header) {
    return ev;
  }
  const std::uint64_t len = decode_payload_length(bytes, start);
  if (len7 == 126 && len < 126) {
    return fail(kCloseProtocolError, "non-minimal 16-bit payload length");
  }
  if (len7 == 127) {
    if ((len >> 63U) != 0) {
      return fail(kCloseProtocolError, "64-bit payload length with the top bit set");
    }
    if (len < 65536) {
      return fail(kCloseProtocolError, "non-minimal 64-bit payload length");
    }
  }

  if (is_data) {
    // The message's size so far: fragments already held, plus this frame.
    // (Compressed: the bytes on the wire, counted by the message's inflate stream.)
    std::uint64_t held = 0;
    if (op == kContinuation) {
      held = message_compressed_ && inflater_ ? inflater_->message_input_bytes() : message_.size();
    }
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
  apply_mask(payload_ptr, payload_len, masking_key(bytes, start));
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
      if (compressed) {
        message_compressed_ = true;
        message_is_text_ = op == kText;
        message_.clear();
        if (WsEvent bad = inflate(payload, true, fin); bad.kind == WsEventKind::error) {
          return bad;
        }
        if (!fin) {
          in_message_ = true;
          ev.kind = WsEventKind::progress;
          return ev;
        }
        return finish_message(ev);
      }
      message_compressed_ = false;
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

  if (message_compressed_) {
    if (WsEvent bad = inflate(payload, false, fin); bad.kind == WsEventKind::error) {
      return bad;
    }
  } else {
    message_.append(payload);
  }
  if (!fin) {
    ev.kind = WsEventKind::progress;
    return ev;
  }
  return finish_message(ev);
}

WsEvent FrameReader::finish_message(WsEvent ev) {
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
