// RFC 6455 §5 framing, written once: opcodes and close codes as named constants, frame header
// encode and decode, masking, close payloads. The server's reader (ws_frame_reader.hpp) and
// writer (server/send_queue.hpp) and the bench clients (tools/bench_frame.hpp) all build and
// parse frames with these; only the tests' raw client (tests/support/ws_test_client.hpp)
// frames by hand on purpose, so that a bug here cannot hide behind itself.
//
// Not a reader or a writer: no buffering, no validation policy (which violations close with
// which code is the reader's business), no extensions beyond carrying the RSV bits.
// Pure functions, no allocation except where a std::string is returned; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace steadyws::protocol {

// RFC 6455 §5.2 opcodes. The values are the wire's; other values are reserved.
enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// True for close, ping, pong (and the reserved 0xB-0xF): the opcode's high bit.
constexpr bool is_control(unsigned opcode) noexcept {
  return (opcode & 0x8U) != 0;
}

// Close codes (RFC 6455 §7.4.1) the framing layer itself uses; the application's own
// (4000 heartbeat_timeout, 4001 slow_consumer, ...) are steadyws::CloseCode.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kCloseProtocolError = 1002;  // any framing violation
inline constexpr std::uint16_t kCloseUnsupportedData = 1003;
inline constexpr std::uint16_t kCloseNoStatus = 1005;  // a close frame without payload
inline constexpr std::uint16_t kCloseAbnormal = 1006;  // never sent: the link ended without a close
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;  // text or close reason not UTF-8
inline constexpr std::uint16_t kClosePolicyViolation = 1008;
inline constexpr std::uint16_t kCloseTooBig = 1009;  // over max_message_bytes

inline constexpr std::size_t kMaxControlPayload = 125;  // RFC 6455 §5.5
inline constexpr std::size_t kMaxCloseReason = 123;     // 125 minus the 2-byte code
inline constexpr std::size_t kMaxFrameHeader = 14;      // 2 + 8 (64-bit length) + 4 (mask)

// Header bits of byte 0.
inline constexpr unsigned kFinBit = 0x80;
inline constexpr unsigned kRsv1Bit = 0x40;  // "compressed" under permessage-deflate (RFC 7692)
inline constexpr unsigned kRsvBits = 0x70;  // RSV1 | RSV2 | RSV3

// True when `code` may appear in a close frame on the wire, exactly as Beast 1.81's
// is_valid_close_code: 1000-1003, 1007-1013 and 3000-65535. 1004-1006, 1014, 1015,
// 1016-2999 and 0-999 are reserved or not to be sent.
bool is_valid_wire_close_code(std::uint16_t code) noexcept;

// ---- encode --------------------------------------------------------------------------------

// Writes the header of one frame with `opcode` for a payload of `size` bytes into `out`
// (room for kMaxFrameHeader bytes): FIN when `fin`, RSV1 when `rsv1`, and the 4-byte masking
// key when `mask` is not null (client frames; the caller masks the payload with the same key).
// Returns the header length: 2, 4 or 10 bytes, plus 4 with a mask.
inline std::size_t encode_frame_header(unsigned char* out, unsigned opcode, std::uint64_t size,
                                       bool rsv1 = false, const unsigned char* mask = nullptr,
                                       bool fin = true) noexcept {
  out[0] =
      static_cast<unsigned char>((fin ? kFinBit : 0U) | (rsv1 ? kRsv1Bit : 0U) | (opcode & 0x0FU));
  const unsigned mask_bit = mask != nullptr ? 0x80U : 0U;
  std::size_t n = 2;
  if (size <= 125) {
    out[1] = static_cast<unsigned char>(mask_bit | size);
  } else if (size <= 0xFFFF) {
    out[1] = static_cast<unsigned char>(mask_bit | 126U);
    out[2] = static_cast<unsigned char>(size >> 8U);
    out[3] = static_cast<unsigned char>(size & 0xFFU);
    n = 4;
  } else {
    out[1] = static_cast<unsigned char>(mask_bit | 127U);
    for (std::size_t i = 0; i < 8; ++i)
      out[2 + i] = static_cast<unsigned char>(size >> (56 - 8 * i));
    n = 10;
  }
  if (mask != nullptr) {
    std::memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

// The server's form (unmasked, final): `opcode` 1 text, 2 binary, 8 close, 9 ping, 10 pong.
// Returns 2 (size <= 125), 4 (size <= 65535) or 10.
inline std::size_t encode_frame_header(std::uint8_t opcode, std::uint64_t size,
                                       std::array<std::uint8_t, 10>& out,
                                       bool rsv1 = false) noexcept {
  return encode_frame_header(out.data(), opcode, size, rsv1);
}
inline std::size_t encode_frame_header(Opcode opcode, std::uint64_t size,
                                       std::array<std::uint8_t, 10>& out,
                                       bool rsv1 = false) noexcept {
  return encode_frame_header(out.data(), static_cast<unsigned>(opcode), size, rsv1);
}

// The payload of a close frame: `code` (big-endian) and `reason` cut to kMaxCloseReason
// bytes; empty when `code` is 0 (no status).
std::string close_payload(std::uint16_t code, std::string_view reason);

// A whole unmasked close frame (the server's) with `code` and `reason` (cut to 123 bytes).
// `code` 0: an empty close frame (no status, no reason), the echo of a peer's close that
// carried none.
std::string make_close_frame(std::uint16_t code, std::string_view reason);

// ---- decode --------------------------------------------------------------------------------

// What the first two bytes of a frame say. Everything a reader may refuse before the rest of
// the header is in.
struct FrameStart {
  bool fin = false;
  unsigned rsv = 0;     // byte 0 & kRsvBits
  unsigned opcode = 0;  // the raw 4 bits (reserved values included)
  bool masked = false;
  unsigned len7 = 0;       // the 7-bit length field: 0-125, or 126/127 for an extended length
  std::size_t header = 0;  // the whole header's length: 2 + 0/2/8 + 4 when masked
};

inline FrameStart decode_frame_start(unsigned b0, unsigned b1) noexcept {
  FrameStart s;
  s.fin = (b0 & kFinBit) != 0;
  s.rsv = b0 & kRsvBits;
  s.opcode = b0 & 0x0FU;
  s.masked = (b1 & 0x80U) != 0;
  s.len7 = b1 & 0x7FU;
  s.header = 2 + (s.len7 == 126 ? 2 : s.len7 == 127 ? 8 : 0) + (s.masked ? 4 : 0);
  return s;
}

// The payload length, given the header's bytes `p` (at least `s.header` of them). Not checked
// for minimal encoding or the 64-bit top bit: the reader decides what it refuses.
inline std::uint64_t decode_payload_length(const unsigned char* p, const FrameStart& s) noexcept {
  if (s.len7 == 126)
    return (std::uint64_t{p[2]} << 8U) | p[3];
  if (s.len7 == 127) {
    std::uint64_t len = 0;
    for (std::size_t i = 0; i < 8; ++i)
      len = (len << 8U) | p[2 + i];
    return len;
  }
  return s.len7;
}

// The masking key of a masked frame, given its header bytes.
inline const unsigned char* masking_key(const unsigned char* p, const FrameStart& s) noexcept {
  return p + s.header - 4;
}

// ---- masking -------------------------------------------------------------------------------

// XORs `n` bytes at `p` with the 4-byte masking key (RFC 6455 §5.3), the key's byte 0
// applying to p[0]. Eight bytes per step through memcpy, so any alignment is fine and the
// compiler turns each memcpy into one unaligned load or store. Masking twice unmasks.
inline void apply_mask(char* p, std::size_t n, const unsigned char key[4]) noexcept {
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
  for (; i < n; ++i)
    p[i] = static_cast<char>(static_cast<unsigned char>(p[i]) ^ key[i & 3U]);
}

}  // namespace steadyws::protocol
