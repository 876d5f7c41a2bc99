// libFuzzer target for protocol::FrameReader, fed the way WsSession::consume feeds it: the
// unconsumed tail of the input, one next() after another, until need_more; then the rest of
// the bytes arrive and the tail is given again. Untrusted client bytes go straight in here,
// so every event is checked against the reader's contract (ws_frame_reader.hpp) and against
// an independent decode of the frame it consumed; a violation is __builtin_trap().
//
// Input layout: byte 0 picks max_message_bytes (1 << (b % 22), or 0 = no limit when
// b % 22 == 21, so tiny limits are exercised); byte 1 picks where the stream is split into
// two reads; the rest is the byte stream from the client. Before the second read the
// unconsumed tail is copied into a fresh heap buffer and the first one is freed, as the
// server does with its pending buffer, so ASan catches a reader that keeps a pointer into
// an earlier input (invariant 3).
//
// Not a test of the server shell: no sockets, no sessions. Run it with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/codec.hpp"
#include "protocol/ws_frame_reader.hpp"

namespace {

using steadyws::protocol::FrameReader;
using steadyws::protocol::WsEvent;
using steadyws::protocol::WsEventKind;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool is_inside(std::string_view v, const char* begin, std::size_t size) {
  if (v.empty()) {
    return true;  // an empty view may point anywhere (or nowhere)
  }
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  const auto p = reinterpret_cast<std::uintptr_t>(v.data());
  return p >= b && p + v.size() <= b + size;
}

// Header length of the frame starting at `f` (already known to be complete).
std::size_t header_length(const unsigned char* f) {
  const unsigned len7 = f[1] & 0x7FU;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

// State of one fuzz run: the pristine stream (to decode frames independently of the
// reader) and the fragments of the message being assembled, as this harness sees them.
struct Harness {
  const unsigned char* orig = nullptr;  // the stream as sent (masked)
  std::size_t orig_size = 0;
  std::size_t max_message_bytes = 0;
  std::string shadow;  // unmasked payloads of the current fragmented message
  bool in_message = false;
  bool message_is_text = false;

  // The unmasked payload of the frame at stream offset `pos`, `total` bytes long.
  std::string expected_payload(std::size_t pos, std::size_t total) const {
    const unsigned char* f = orig + pos;
    const std::size_t header = header_length(f);
    check(header <= total);
    const unsigned char* key = f + header - 4;
    std::string out(total - header, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<char>(f[header + i] ^ key[i & 3U]);
    }
    return out;
  }

  // Feeds input[0, size) (stream offset `base`) until need_more or the reader fails.
  // Returns the bytes consumed; sets `failed` when an error event came.
  std::size_t feed(FrameReader& reader, char* input, std::size_t size, std::size_t base,
                   bool& failed) {
    std::size_t off = 0;
    // Each event but need_more and error consumes at least one byte, so this bounds a loop.
    const std::size_t max_iterations = size + 4;
    for (std::size_t iter = 0;; ++iter) {
      check(iter <= max_iterations);
      const std::size_t remaining = size - off;
      const WsEvent ev = reader.next(std::span<char>(input + off, remaining));
      check(ev.consumed <= remaining);
      const std::size_t pos = base + off;  // stream offset of this event's frame
      switch (ev.kind) {
        case WsEventKind::need_more:
          check(ev.consumed == 0);
          check(ev.needed == 0 || ev.needed > remaining);
          check(!reader.failed());
          return off;
        case WsEventKind::error: {
          check(ev.consumed == 0);
          check(reader.failed());
          check(ev.close_code == steadyws::protocol::kCloseProtocolError ||
                ev.close_code == steadyws::protocol::kCloseInvalidPayload ||
                ev.close_code == steadyws::protocol::kCloseTooBig);
          check(!ev.reason.empty());
          check(reader.buffered() == 0);
          // Failed for good: the same error, nothing consumed, whatever comes next.
          for (int again = 0; again < 2; ++again) {
            const WsEvent e2 = reader.next(std::span<char>(input + off, remaining));
            check(e2.kind == WsEventKind::error && e2.consumed == 0 &&
                  e2.close_code == ev.close_code);
            check(reader.failed());
          }
          failed = true;
          return off;
        }
        case WsEventKind::progress: {
          check(ev.consumed > 0);
          check(!reader.failed());
          const unsigned op = orig[pos] & 0x0FU;
          check((orig[pos] & 0x80U) == 0);  // not FIN
          check(op <= 2);
          if (op != 0) {  // the first fragment
            check(!in_message);
            in_message = true;
            message_is_text = op == 1;
            shadow.clear();
          } else {
            check(in_message);
          }
          shadow += expected_payload(pos, ev.consumed);
          check(reader.buffered() == shadow.size());
          check(max_message_bytes == 0 || shadow.size() <= max_message_bytes);
          break;
        }
        case WsEventKind::text:
        case WsEventKind::binary: {
          check(ev.consumed > 0);
          check(!reader.failed());
          check((orig[pos] & 0x80U) != 0);  // FIN
          const unsigned op = orig[pos] & 0x0FU;
          std::string expected = expected_payload(pos, ev.consumed);
          if (op == 0) {
            // The last fragment: the payload is the reader's own string, all fragments.
            check(in_message);
            check((ev.kind == WsEventKind::text) == message_is_text);
            expected = shadow + expected;
            in_message = false;
            shadow.clear();
          } else {
            check(!in_message);
            check(op == (ev.kind == WsEventKind::text ? 1U : 2U));
            // A single-frame message is a view of the frame it was read from.
            check(is_inside(ev.payload, input + off, ev.consumed));
          }
          check(ev.payload == expected);
          check(max_message_bytes == 0 || ev.payload.size() <= max_message_bytes);
          if (ev.kind == WsEventKind::text) {
            check(steadyws::protocol::is_valid_utf8(ev.payload));
          }
          check(reader.buffered() == 0);
          break;
        }
        case WsEventKind::ping:
        case WsEventKind::pong:
        case WsEventKind::close: {
          check(ev.consumed > 0);
          check(!reader.failed());
          check(is_inside(ev.payload, input + off, ev.consumed));
          const unsigned op = orig[pos] & 0x0FU;
          check(op == (ev.kind == WsEventKind::ping   ? 0x9U
                       : ev.kind == WsEventKind::pong ? 0xAU
                                                      : 0x8U));
          const std::string expected = expected_payload(pos, ev.consumed);
          check(expected.size() <= 125);
          if (ev.kind == WsEventKind::close) {
            if (ev.close_code == steadyws::protocol::kCloseNoStatus) {
              check(expected.empty() && ev.payload.empty());
            } else {
              check(steadyws::protocol::is_valid_wire_close_code(ev.close_code));
              check(expected.size() >= 2);
              const auto code =
                  static_cast<std::uint16_t>((static_cast<unsigned char>(expected[0]) << 8U) |
                                             static_cast<unsigned char>(expected[1]));
              check(code == ev.close_code);
              check(ev.payload == std::string_view(expected).substr(2));
              check(steadyws::protocol::is_valid_utf8(ev.payload));
            }
          } else {
            check(ev.payload == expected);
          }
          // A control frame may sit between fragments; the message goes on.
          check(reader.buffered() == (in_message ? shadow.size() : 0));
          break;
        }
      }
      off += ev.consumed;
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const unsigned limit_pick = data[0] % 22U;
  const std::size_t max_message_bytes = limit_pick == 21 ? 0 : std::size_t{1} << limit_pick;
  const std::size_t n = size - 2;
  const std::size_t split = n * data[1] / 255;  // 0..n: bytes in the first read
  Harness h;
  h.orig = data + 2;
  h.orig_size = n;
  h.max_message_bytes = max_message_bytes;

  FrameReader reader(max_message_bytes);
  check(reader.max_message_bytes() == max_message_bytes);

  // First read: `split` bytes, in a buffer of exactly that size.
  auto first = std::make_unique<char[]>(split + 1);
  if (split > 0) {
    std::memcpy(first.get(), h.orig, split);
  }
  bool failed = false;
  const std::size_t used = h.feed(reader, first.get(), split, 0, failed);
  check(used <= split);

  // Second read: the unconsumed tail moves to a fresh buffer (the old one is freed), the
  // rest of the stream is appended, and the reader sees the tail again.
  const std::size_t rest = n - used;
  auto second = std::make_unique<char[]>(rest + 1);
  std::memcpy(second.get(), first.get() + used, split - used);
  first.reset();
  if (n > split) {
    std::memcpy(second.get() + (split - used), h.orig + split, n - split);
  }
  if (failed) {
    const WsEvent ev = reader.next(std::span<char>(second.get(), rest));
    check(ev.kind == WsEventKind::error && ev.consumed == 0);
    return 0;
  }
  const std::size_t used2 = h.feed(reader, second.get(), rest, used, failed);
  check(used2 <= rest);
  // Whatever is left is an unfinished frame (or the reader failed on it).
  return 0;
}
