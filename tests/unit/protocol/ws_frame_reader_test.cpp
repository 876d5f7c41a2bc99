// FrameReader against RFC 6455 §5 as a server reads it: length encodings at their boundaries,
// byte-at-a-time input, many frames per buffer, fragmentation with interleaved control
// frames, the size limit, UTF-8, close frames, every protocol error with its close code, the
// zero-copy and no-allocation promises and the fragment buffer's release rule.
#include "protocol/ws_frame_reader.hpp"

#include <malloc.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws::protocol {
namespace {

using Key = std::array<unsigned char, 4>;

// Random-looking fixed masks; kKeyZero makes masking a no-op, which the reader must still
// accept (the MASK bit is what counts).
constexpr Key kKeyA{0x37, 0xFA, 0x21, 0x3D};
constexpr Key kKeyB{0x9C, 0x05, 0xE8, 0x71};
constexpr Key kKeyZero{0, 0, 0, 0};

constexpr unsigned kCont = 0x0;
constexpr unsigned kText = 0x1;
constexpr unsigned kBinary = 0x2;
constexpr unsigned kClose = 0x8;
constexpr unsigned kPing = 0x9;
constexpr unsigned kPong = 0xA;

constexpr std::size_t kLimit = 1 << 20;

// A client frame: minimal length encoding, masked with `key`.
std::string frame(unsigned op, std::string_view payload, bool fin = true, Key key = kKeyA) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80U : 0U) | op));
  const std::size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80U | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0x80U | 126U));
    out.push_back(static_cast<char>(n >> 8U));
    out.push_back(static_cast<char>(n & 0xFFU));
  } else {
    out.push_back(static_cast<char>(0x80U | 127U));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((std::uint64_t{n} >> shift) & 0xFFU));
    }
  }
  out.append(key.begin(), key.end());
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]));
  }
  return out;
}

// Raw bytes, for headers no conforming client would send.
std::string bytes(std::initializer_list<unsigned> list) {
  std::string out;
  for (const unsigned b : list) {
    out.push_back(static_cast<char>(b));
  }
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8U));
  out.push_back(static_cast<char>(code & 0xFFU));
  out.append(reason);
  return out;
}

std::span<char> span_of(std::string& s) {
  return {s.data(), s.size()};
}

bool points_into(std::string_view view, const std::string& buffer) {
  return view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

// Feeds one buffer to a fresh reader and returns the first event, with its payload cleared:
// it viewed `wire`, which is gone by then. Tests that check payloads keep their own buffer.
WsEvent first_event(std::string wire, std::size_t limit = kLimit) {
  FrameReader reader(limit);
  WsEvent ev = reader.next(span_of(wire));
  ev.payload = {};
  return ev;
}

void expect_error(const WsEvent& ev, std::uint16_t code, const std::string& what) {
  EXPECT_EQ(ev.kind, WsEventKind::error) << what << ": got " << to_string(ev.kind);
  EXPECT_EQ(ev.close_code, code) << what;
  EXPECT_EQ(ev.consumed, 0u) << what;
  EXPECT_FALSE(ev.reason.empty()) << what;
}

TEST(FrameReader, EveryLengthEncodingAtItsBoundaries) {
  struct Row {
    std::size_t n;
    std::size_t header;
  };
  for (const Row row : {Row{0, 6}, Row{1, 6}, Row{125, 6}, Row{126, 8}, Row{127, 8}, Row{65535, 8},
                        Row{65536, 14}, Row{70001, 14}}) {
    std::string payload(row.n, '\0');
    for (std::size_t i = 0; i < row.n; ++i) {
      payload[i] = static_cast<char>('a' + i % 26);
    }
    std::string wire = frame(kBinary, payload, true, kKeyB);
    ASSERT_EQ(wire.size(), row.header + row.n);
    FrameReader reader(kLimit);
    const WsEvent ev = reader.next(span_of(wire));
    ASSERT_EQ(ev.kind, WsEventKind::binary) << row.n;
    EXPECT_EQ(ev.consumed, wire.size()) << row.n;
    EXPECT_EQ(ev.payload, payload) << row.n;
    EXPECT_EQ(ev.payload.data(), wire.data() + row.header) << row.n;
  }
}

TEST(FrameReader, ByteAtATimeReportsNeededOnceTheHeaderIsIn) {
  for (const std::size_t n :
       {std::size_t{0}, std::size_t{45}, std::size_t{300}, std::size_t{65536}}) {
    const std::string payload(n, 'x');
    const std::string wire = frame(kText, payload, true, kKeyA);
    const std::size_t header = wire.size() - n;
    std::string input;  // grows one byte per call, like a trickling socket
    FrameReader reader(kLimit);
    for (std::size_t k = 0; k < wire.size(); ++k) {
      const WsEvent ev = reader.next(span_of(input));
      ASSERT_EQ(ev.kind, WsEventKind::need_more) << "n=" << n << " k=" << k;
      ASSERT_EQ(ev.consumed, 0u);
      ASSERT_EQ(ev.needed, k < header ? 0u : wire.size()) << "n=" << n << " k=" << k;
      input.push_back(wire[k]);
    }
    const WsEvent ev = reader.next(span_of(input));
    ASSERT_EQ(ev.kind, WsEventKind::text) << n;
    EXPECT_EQ(ev.consumed, wire.size());
    EXPECT_EQ(ev.payload, payload);
  }
}

TEST(FrameReader, ManyFramesInOneBuffer) {
  std::string wire;
  wire += frame(kText, R"({"type":"ping","timestamp":1})", true, kKeyA);
  wire += frame(kBinary, std::string("\x00\x01\xFF", 3), true, kKeyB);
  wire += frame(kPing, "hb", true, kKeyZero);
  wire += frame(kPong, "", true, kKeyA);
  wire += frame(kText, "h\xC3\xA9llo", true, kKeyB);
  wire += frame(kClose, close_payload(1000, "bye"), true, kKeyA);
  wire += frame(kText, "tail", true, kKeyA).substr(0, 4);  // a partial frame at the end

  FrameReader reader(kLimit);
  std::span<char> rest = span_of(wire);
  std::vector<std::pair<WsEventKind, std::string>> got;
  for (;;) {
    const WsEvent ev = reader.next(rest);
    if (ev.kind == WsEventKind::need_more) {
      break;
    }
    ASSERT_NE(ev.kind, WsEventKind::error) << ev.reason;
    ASSERT_GT(ev.consumed, 0u);
    EXPECT_TRUE(points_into(ev.payload, wire) || ev.payload.empty());
    got.emplace_back(ev.kind, std::string(ev.payload));
    if (ev.kind == WsEventKind::close) {
      EXPECT_EQ(ev.close_code, 1000);
    }
    rest = rest.subspan(ev.consumed);
  }
  const std::vector<std::pair<WsEventKind, std::string>> want = {
      {WsEventKind::text, R"({"type":"ping","timestamp":1})"},
      {WsEventKind::binary, std::string("\x00\x01\xFF", 3)},
      {WsEventKind::ping, "hb"},
      {WsEventKind::pong, ""},
      {WsEventKind::text, "h\xC3\xA9llo"},
      {WsEventKind::close, "bye"},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(rest.size(), 4u);
}

TEST(FrameReader, UnmasksAtEveryAlignmentAndLength) {
  // The 8-byte path and the tail both run, starting at every offset modulo 8.
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t n = 0; n <= 40; ++n) {
      std::string payload(n, '\0');
      for (std::size_t i = 0; i < n; ++i) {
        payload[i] = static_cast<char>(i * 37 + 11);
      }
      std::string storage(offset, '#');
      storage += frame(kBinary, payload, true, kKeyB);
      FrameReader reader(kLimit);
      const WsEvent ev = reader.next(span_of(storage).subspan(offset));
      ASSERT_EQ(ev.kind, WsEventKind::binary);
      ASSERT_EQ(ev.payload, payload) << "offset=" << offset << " n=" << n;
    }
  }
}

TEST(FrameReader, SingleFrameMessagesAreViewsIntoTheInput) {
  std::string wire = frame(kText, "zero copy", true, kKeyA);
  FrameReader reader(kLimit);
  const WsEvent ev = reader.next(span_of(wire));
  ASSERT_EQ(ev.kind, WsEventKind::text);
  EXPECT_EQ(ev.payload.data(), wire.data() + 6);
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.capacity_for_test(), 0u);
}

TEST(FrameReader, SingleFrameMessagesAllocateNothing) {
  // protocol_tests' operator new is codec_alloc_test's counter, private to that file, so
  // this counts heap bytes in use instead: an allocation the reader kept would show here,
  // and capacity_for_test() and the view check rule out a copy it freed again.
  std::string wire;
  for (int i = 0; i < 64; ++i) {
    wire += frame(kText, std::string(200, 'q'), true, i % 2 == 0 ? kKeyA : kKeyB);
    wire += frame(kPing, "p", true, kKeyB);
  }
  FrameReader reader(kLimit);
  const std::size_t before = mallinfo2().uordblks;
  std::span<char> rest = span_of(wire);
  std::size_t events = 0;
  while (!rest.empty()) {
    const WsEvent ev = reader.next(rest);
    ASSERT_TRUE(ev.kind == WsEventKind::text || ev.kind == WsEventKind::ping);
    ASSERT_TRUE(points_into(ev.payload, wire));
    rest = rest.subspan(ev.consumed);
    ++events;
  }
  EXPECT_EQ(mallinfo2().uordblks, before);
  EXPECT_EQ(events, 128u);
  EXPECT_EQ(reader.capacity_for_test(), 0u);
}

TEST(FrameReader, FragmentsAreAssembledWithControlFramesInBetween) {
  std::string wire;
  wire += frame(kText, "Hello, ", false, kKeyA);
  wire += frame(kPing, "p1", true, kKeyB);
  wire += frame(kCont, "", false, kKeyB);  // empty non-final fragments are legal
  wire += frame(kCont, "wor", false, kKeyB);
  wire += frame(kPong, "p2", true, kKeyA);
  wire += frame(kCont, "ld", true, kKeyA);
  wire += frame(kText, "after", true, kKeyA);

  FrameReader reader(kLimit);
  std::span<char> rest = span_of(wire);
  auto step = [&](WsEventKind kind, std::string_view payload, std::size_t buffered) {
    const WsEvent ev = reader.next(rest);
    ASSERT_EQ(ev.kind, kind) << to_string(ev.kind) << " " << ev.reason;
    EXPECT_EQ(ev.payload, payload);
    EXPECT_EQ(reader.buffered(), buffered);
    rest = rest.subspan(ev.consumed);
  };
  step(WsEventKind::progress, "", 7);
  step(WsEventKind::ping, "p1", 7);
  step(WsEventKind::progress, "", 7);
  step(WsEventKind::progress, "", 10);
  step(WsEventKind::pong, "p2", 10);
  step(WsEventKind::text, "Hello, world", 0);
  step(WsEventKind::text, "after", 0);
  EXPECT_TRUE(rest.empty());
}

TEST(FrameReader, FragmentedMessageIsACopyNotAView) {
  std::string wire = frame(kBinary, "ab", false, kKeyA) + frame(kCont, "cd", true, kKeyB);
  FrameReader reader(kLimit);
  const WsEvent first = reader.next(span_of(wire));
  ASSERT_EQ(first.kind, WsEventKind::progress);
  const WsEvent last = reader.next(span_of(wire).subspan(first.consumed));
  ASSERT_EQ(last.kind, WsEventKind::binary);
  EXPECT_EQ(last.payload, "abcd");
  EXPECT_FALSE(points_into(last.payload, wire));
}

TEST(FrameReader, LargeFragmentBufferIsFreedOnTheNextCallSmallOneIsKept) {
  for (const std::size_t half : {std::size_t{5000}, std::size_t{1000}}) {
    std::string wire = frame(kBinary, std::string(half, 'a'), false, kKeyA) +
                       frame(kCont, std::string(half, 'b'), true, kKeyB);
    FrameReader reader(kLimit);
    std::span<char> rest = span_of(wire);
    WsEvent ev = reader.next(rest);
    ASSERT_EQ(ev.kind, WsEventKind::progress);
    rest = rest.subspan(ev.consumed);
    ev = reader.next(rest);
    ASSERT_EQ(ev.kind, WsEventKind::binary);
    EXPECT_EQ(ev.payload.size(), 2 * half);
    EXPECT_GE(reader.capacity_for_test(), 2 * half);  // the payload still lives in it
    rest = rest.subspan(ev.consumed);
    ev = reader.next(rest);
    EXPECT_EQ(ev.kind, WsEventKind::need_more);
    if (half == 5000) {
      EXPECT_EQ(reader.capacity_for_test(), 0u) << "over 4 KiB: freed";
    } else {
      EXPECT_GE(reader.capacity_for_test(), 2 * half) << "4 KiB or less: kept for reuse";
    }
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(FrameReader, MessageExactlyAtTheLimitIsAccepted) {
  constexpr std::size_t kSmall = 300;
  EXPECT_EQ(first_event(frame(kText, std::string(kSmall, 'x')), kSmall).kind, WsEventKind::text);

  std::string wire = frame(kText, std::string(100, 'x'), false) +
                     frame(kCont, std::string(150, 'y'), false) +
                     frame(kCont, std::string(50, 'z'), true);
  FrameReader reader(kSmall);
  std::span<char> rest = span_of(wire);
  WsEvent ev;
  do {
    ev = reader.next(rest);
    rest = rest.subspan(ev.consumed);
  } while (ev.kind == WsEventKind::progress);
  ASSERT_EQ(ev.kind, WsEventKind::text) << ev.reason;
  EXPECT_EQ(ev.payload.size(), kSmall);
}

TEST(FrameReader, OversizedFrameFailsWith1009AsSoonAsTheHeaderIsIn) {
  constexpr std::size_t kSmall = 300;
  // Only the header of a 301-byte frame: the payload never needs to arrive.
  const std::string whole = frame(kBinary, std::string(kSmall + 1, 'x'));
  expect_error(first_event(whole.substr(0, 8), kSmall), 1009, "one byte over");
  // A 2 MiB declared length with the 1 MiB default, 64-bit encoding.
  expect_error(first_event(bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0x20, 0, 0, 1, 2, 3, 4})), 1009,
               "2 MiB");
  // The largest legal 64-bit length.
  expect_error(
      first_event(bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4})),
      1009, "2^63-1");
}

TEST(FrameReader, FragmentsOverTheLimitFailWith1009) {
  constexpr std::size_t kSmall = 300;
  std::string wire = frame(kText, std::string(200, 'x'), false) +
                     frame(kCont, std::string(100, 'y'), false) + frame(kCont, "z", true);
  FrameReader reader(kSmall);
  std::span<char> rest = span_of(wire);
  WsEvent ev = reader.next(rest);
  ASSERT_EQ(ev.kind, WsEventKind::progress);
  rest = rest.subspan(ev.consumed);
  ev = reader.next(rest);
  ASSERT_EQ(ev.kind, WsEventKind::progress);
  EXPECT_EQ(reader.buffered(), 300u);
  rest = rest.subspan(ev.consumed);
  ev = reader.next(rest.subspan(0, 6));  // the last fragment's header is enough
  expect_error(ev, 1009, "running total 301");
  EXPECT_TRUE(reader.failed());
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.capacity_for_test(), 0u);
}

TEST(FrameReader, ZeroLimitMeansNoLimitAsInBeast) {
  EXPECT_EQ(first_event(frame(kBinary, std::string(70000, 'x')), 0).kind, WsEventKind::binary);
}

TEST(FrameReader, Utf8SplitAcrossFragmentsIsValidAsAWhole) {
  // U+1F600 (F0 9F 98 80) and U+00E9 (C3 A9) cut mid-character at every fragment boundary.
  std::string wire = frame(kText, "a\xF0\x9F", false, kKeyA) +
                     frame(kCont, "\x98\x80\xC3", false, kKeyB) + frame(kCont, "\xA9z", true);
  FrameReader reader(kLimit);
  std::span<char> rest = span_of(wire);
  WsEvent ev;
  do {
    ev = reader.next(rest);
    rest = rest.subspan(ev.consumed);
  } while (ev.kind == WsEventKind::progress);
  ASSERT_EQ(ev.kind, WsEventKind::text) << ev.reason;
  EXPECT_EQ(ev.payload, "a\xF0\x9F\x98\x80\xC3\xA9z");
}

TEST(FrameReader, InvalidUtf8TextFailsWith1007) {
  expect_error(first_event(frame(kText, "ab\xC0\xAF")), 1007, "overlong, single frame");
  expect_error(first_event(frame(kText, "\xED\xA0\x80")), 1007, "surrogate, single frame");

  // A message truncated mid-character: each fragment alone could be a prefix.
  std::string wire = frame(kText, "ok\xE2\x82", false) + frame(kCont, "", true);
  FrameReader reader(kLimit);
  const WsEvent first = reader.next(span_of(wire));
  ASSERT_EQ(first.kind, WsEventKind::progress);
  expect_error(reader.next(span_of(wire).subspan(first.consumed)), 1007, "truncated fragments");
}

TEST(FrameReader, BinaryIsNotCheckedForUtf8) {
  EXPECT_EQ(first_event(frame(kBinary, "\xC0\xAF\xFF")).kind, WsEventKind::binary);
}

TEST(FrameReader, ProtocolViolationsFailWith1002) {
  struct Row {
    const char* what;
    std::string wire;
  };
  const Row rows[] = {
      {"unmasked text", bytes({0x81, 0x02, 'h', 'i'})},
      {"unmasked ping", bytes({0x89, 0x00})},
      {"RSV1", bytes({0xC1, 0x80, 1, 2, 3, 4})},
      {"RSV2", bytes({0xA1, 0x80, 1, 2, 3, 4})},
      {"RSV3", bytes({0x91, 0x80, 1, 2, 3, 4})},
      {"RSV1 on a ping", bytes({0xC9, 0x80, 1, 2, 3, 4})},
      {"ping without FIN", bytes({0x09, 0x80, 1, 2, 3, 4})},
      {"close without FIN", bytes({0x08, 0x80, 1, 2, 3, 4})},
      {"pong of 126 bytes, 16-bit form", bytes({0x8A, 0xFE, 0x00, 0x7E})},
      {"ping of 126 bytes (header only)", bytes({0x89, 0xFE})},
      {"ping with a 64-bit length", bytes({0x89, 0xFF})},
      {"16-bit length 125", bytes({0x82, 0xFE, 0x00, 0x7D, 1, 2, 3, 4})},
      {"16-bit length 0", bytes({0x82, 0xFE, 0x00, 0x00, 1, 2, 3, 4})},
      {"64-bit length 65535", bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4})},
      {"64-bit length 0", bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})},
      {"64-bit length, top bit", bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})},
      {"continuation first", frame(kCont, "x", true)},
      {"non-final continuation first", frame(kCont, "x", false)},
  };
  for (const Row& row : rows) {
    expect_error(first_event(row.wire), 1002, row.what);
  }
  for (const unsigned op : {3U, 4U, 5U, 6U, 7U, 11U, 12U, 13U, 14U, 15U}) {
    expect_error(first_event(frame(op, "", true)), 1002, "opcode " + std::to_string(op));
  }
}

TEST(FrameReader, NewDataFrameInsideAFragmentedMessageFailsWith1002) {
  for (const unsigned op : {kText, kBinary}) {
    for (const bool fin : {true, false}) {
      std::string wire = frame(kText, "a", false) + frame(op, "b", fin);
      FrameReader reader(kLimit);
      const WsEvent first = reader.next(span_of(wire));
      ASSERT_EQ(first.kind, WsEventKind::progress);
      expect_error(reader.next(span_of(wire).subspan(first.consumed)), 1002,
                   "op " + std::to_string(op) + (fin ? " fin" : " non-fin"));
    }
  }
}

TEST(FrameReader, ContinuationAfterACompletedMessageFailsWith1002) {
  std::string wire = frame(kText, "a", false) + frame(kCont, "b", true) + frame(kCont, "c", true);
  FrameReader reader(kLimit);
  std::span<char> rest = span_of(wire);
  for (const WsEventKind want : {WsEventKind::progress, WsEventKind::text}) {
    const WsEvent ev = reader.next(rest);
    ASSERT_EQ(ev.kind, want);
    rest = rest.subspan(ev.consumed);
  }
  expect_error(reader.next(rest), 1002, "continuation with no message");
}

TEST(FrameReader, CloseFrames) {
  std::string empty = frame(kClose, "");
  FrameReader reader(kLimit);
  WsEvent ev = reader.next(span_of(empty));
  EXPECT_EQ(ev.kind, WsEventKind::close);
  EXPECT_EQ(ev.close_code, 1005);
  EXPECT_TRUE(ev.payload.empty());
  EXPECT_EQ(ev.consumed, 6u);

  std::string with_reason = frame(kClose, close_payload(4001, "slow consumer \xE2\x9C\x93"));
  ev = FrameReader(kLimit).next(span_of(with_reason));
  EXPECT_EQ(ev.kind, WsEventKind::close);
  EXPECT_EQ(ev.consumed, with_reason.size());
  EXPECT_EQ(ev.close_code, 4001);
  EXPECT_EQ(ev.payload, "slow consumer \xE2\x9C\x93");

  // 03 then E8, the first byte after the frame, would read as code 1000 (valid).
  expect_error(first_event(frame(kClose, "\x03") + "\xE8"), 1002, "1-byte close payload");
  expect_error(first_event(frame(kClose, close_payload(1000, "\xFF"))), 1007, "bad reason");
}

TEST(FrameReader, CloseCodesValidOnTheWireAsInBeast) {
  for (const std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                                   3000, 3999, 4000, 4999, 5000, 65535}) {
    const WsEvent ev = first_event(frame(kClose, close_payload(code)));
    EXPECT_EQ(ev.kind, WsEventKind::close) << code;
    EXPECT_EQ(ev.close_code, code);
    EXPECT_TRUE(is_valid_wire_close_code(code)) << code;
  }
  for (const std::uint16_t code :
       {0, 1, 999, 1004, 1005, 1006, 1014, 1015, 1016, 1100, 2000, 2999}) {
    expect_error(first_event(frame(kClose, close_payload(code))), 1002,
                 "close code " + std::to_string(code));
    EXPECT_FALSE(is_valid_wire_close_code(code)) << code;
  }
}

TEST(FrameReader, FailedReaderStaysFailed) {
  std::string bad = bytes({0x81, 0x05, 'h', 'e', 'l', 'l', 'o'});  // unmasked
  std::string good = frame(kText, "hello");
  FrameReader reader(kLimit);
  EXPECT_FALSE(reader.failed());
  const WsEvent first = reader.next(span_of(bad));
  expect_error(first, 1002, "unmasked");
  EXPECT_TRUE(reader.failed());
  for (int i = 0; i < 3; ++i) {
    const WsEvent again = reader.next(span_of(good));
    expect_error(again, 1002, "after failure");
    EXPECT_EQ(again.reason, first.reason);
    EXPECT_TRUE(reader.failed());
  }
  EXPECT_EQ(good, frame(kText, "hello")) << "a failed reader must not touch the input";
}

TEST(FrameReader, EmptyInputAndShortHeadersNeedMore) {
  FrameReader reader(kLimit);
  std::string empty;
  EXPECT_EQ(reader.next(span_of(empty)).kind, WsEventKind::need_more);
  // A 64-bit length header is 14 bytes; with 13 there is nothing to report yet.
  std::string wire = frame(kBinary, std::string(65536, 'x'));
  const WsEvent ev = reader.next(span_of(wire).subspan(0, 13));
  EXPECT_EQ(ev.kind, WsEventKind::need_more);
  EXPECT_EQ(ev.needed, 0u);
  EXPECT_EQ(reader.next(span_of(wire).subspan(0, 14)).needed, wire.size());
}

TEST(FrameReader, IsSmallEnoughForEveryConnection) {
  EXPECT_LE(sizeof(FrameReader), 64u);
}

TEST(FrameReader, ArbitraryBytesNeverOverrunTheInput) {
  // A fixed LCG: deterministic, and enough to walk every header branch many times. Run under
  // ASan this also checks no read or write leaves the given span.
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next_byte = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<char>(state >> 56U);
  };
  for (int round = 0; round < 2000; ++round) {
    std::vector<char> input(static_cast<std::size_t>(round % 40));
    for (char& c : input) {
      c = next_byte();
    }
    if (!input.empty() && round % 2 == 0) {
      input[0] = static_cast<char>((static_cast<unsigned char>(input[0]) & 0x8FU));  // no RSV
    }
    if (input.size() > 1 && round % 3 != 0) {
      input[1] = static_cast<char>(static_cast<unsigned char>(input[1]) | 0x80U);  // masked
    }
    FrameReader reader(64);
    std::span<char> rest(input.data(), input.size());
    for (int step = 0; step < 50; ++step) {
      const WsEvent ev = reader.next(rest);
      ASSERT_LE(ev.consumed, rest.size());
      if (!ev.payload.empty() && ev.kind != WsEventKind::text && ev.kind != WsEventKind::binary) {
        ASSERT_GE(ev.payload.data(), rest.data());
        ASSERT_LE(ev.payload.data() + ev.payload.size(), rest.data() + rest.size());
      }
      if (ev.kind == WsEventKind::need_more || ev.kind == WsEventKind::error) {
        ASSERT_TRUE(ev.kind == WsEventKind::need_more || reader.failed());
        break;
      }
      rest = rest.subspan(ev.consumed);
    }
  }
}

}  // namespace
}  // namespace steadyws::protocol
