// FrameReader with permessage-deflate agreed (RFC 7692 §6): compressed single-frame and
// fragmented messages, control frames between fragments, context takeover, the running
// inflate limit (a 10 MiB run of zeros in a ~10 KiB frame is 1009 as soon as the limit is
// passed), invalid deflate data (1007), and RSV1 where it may not be (1002).
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/permessage_deflate.hpp"
#include "protocol/ws_frame_reader.hpp"

namespace steadyws::protocol {
namespace {

constexpr unsigned char kKey[4] = {0x11, 0x8E, 0x42, 0xD7};
constexpr std::size_t kLimit = 1 << 20;

// A masked client frame, built here byte by byte (independent of ws_frame.hpp).
std::string frame(unsigned op, std::string_view payload, bool fin = true, bool rsv1 = false) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80U : 0U) | (rsv1 ? 0x40U : 0U) | op));
  const std::size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80U | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0x80U | 126U));
    out.push_back(static_cast<char>(n >> 8U));
    out.push_back(static_cast<char>(n & 0xFFU));
  } else {
    out.push_back(static_cast<char>(0x80U | 127U));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((std::uint64_t{n} >> shift) & 0xFFU));
  }
  out.append(reinterpret_cast<const char*>(kKey), 4);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ kKey[i % 4]));
  return out;
}

std::string deflate(std::string_view text) {
  std::string z;
  EXPECT_TRUE(shared_deflater(15).compress(text, z, false));
  return z;
}

FrameReader deflating(std::size_t limit = kLimit, bool client_nct = true) {
  FrameReader r(limit);
  r.enable_deflate(client_nct);
  return r;
}

WsEvent next(FrameReader& r, std::string& bytes) {
  return r.next(std::span<char>(bytes.data(), bytes.size()));
}

TEST(FrameReaderDeflate, CompressedTextMessage) {
  auto r = deflating();
  const std::string text(2000, 'x');
  std::string in = frame(1, deflate(text), true, true);
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::text) << ev.reason;
  EXPECT_EQ(ev.payload, text);
  EXPECT_EQ(ev.consumed, in.size());
}

TEST(FrameReaderDeflate, TheRfcHelloFrame) {
  // RFC 7692 §7.2.3.1, masked.
  auto r = deflating();
  std::string in = frame(1, std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7), true, true);
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::text);
  EXPECT_EQ(ev.payload, "Hello");
}

TEST(FrameReaderDeflate, UncompressedMessagesStillWork) {
  auto r = deflating();
  std::string in = frame(1, "plain");
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::text);
  EXPECT_EQ(ev.payload, "plain");
}

TEST(FrameReaderDeflate, FragmentedCompressedMessageWithControlFramesBetween) {
  auto r = deflating();
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += "fragment " + std::to_string(i) + "; ";
  const std::string z = deflate(text);
  const std::size_t a = z.size() / 3;
  const std::size_t b = 2 * z.size() / 3;
  std::string in = frame(1, z.substr(0, a), false, true) + frame(9, "p1") +
                   frame(0, z.substr(a, b - a), false) + frame(10, "p2") +
                   frame(0, z.substr(b), true);
  std::span<char> rest(in.data(), in.size());
  std::vector<WsEventKind> kinds;
  std::string got;
  while (!rest.empty()) {
    const auto ev = r.next(rest);
    ASSERT_NE(ev.kind, WsEventKind::error) << ev.reason;
    ASSERT_NE(ev.kind, WsEventKind::need_more);
    kinds.push_back(ev.kind);
    if (ev.kind == WsEventKind::text)
      got = std::string(ev.payload);
    rest = rest.subspan(ev.consumed);
  }
  EXPECT_EQ(kinds, (std::vector<WsEventKind>{WsEventKind::progress, WsEventKind::ping,
                                             WsEventKind::progress, WsEventKind::pong,
                                             WsEventKind::text}));
  EXPECT_EQ(got, text);
}

TEST(FrameReaderDeflate, ContextTakeoverAcrossMessages) {
  auto r = deflating(kLimit, false);
  Deflater d(15);
  const std::string msg(400, 'k');
  for (int i = 0; i < 3; ++i) {
    std::string z;
    ASSERT_TRUE(d.compress(msg, z, true));
    std::string in = frame(1, z, true, true);
    const auto ev = next(r, in);
    ASSERT_EQ(ev.kind, WsEventKind::text) << i << " " << ev.reason;
    EXPECT_EQ(ev.payload, msg);
  }
}

TEST(FrameReaderDeflate, TenMebibytesOfZerosInASmallFrameIs1009) {
  auto r = deflating(kLimit);
  const std::string z = deflate(std::string(10 << 20, '\0'));
  ASSERT_LT(z.size(), 16u * 1024);  // ~10 KiB on the wire
  std::string in = frame(2, z, true, true);
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::error);
  EXPECT_EQ(ev.close_code, kCloseTooBig);
  EXPECT_EQ(r.capacity_for_test(), 0u);  // what was inflated so far is given back
}

TEST(FrameReaderDeflate, FragmentedInflateLimitIsRunning) {
  auto r = deflating(kLimit);
  const std::string z = deflate(std::string(10 << 20, '\0'));
  const std::size_t half = z.size() / 2;
  std::string first = frame(2, z.substr(0, half), false, true);
  // The first half alone inflates past the limit: refused there, before the rest arrives.
  const auto ev = next(r, first);
  ASSERT_EQ(ev.kind, WsEventKind::error);
  EXPECT_EQ(ev.close_code, kCloseTooBig);
}

TEST(FrameReaderDeflate, InvalidDeflateDataIs1007) {
  auto r = deflating();
  std::string in = frame(1, std::string("\xff\xff\xff\xff", 4), true, true);
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::error);
  EXPECT_EQ(ev.close_code, kCloseInvalidPayload);
}

TEST(FrameReaderDeflate, InflatedTextMustBeUtf8) {
  auto r = deflating();
  std::string in = frame(1, deflate("\xc3\x28 not utf-8"), true, true);
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::error);
  EXPECT_EQ(ev.close_code, kCloseInvalidPayload);
}

TEST(FrameReaderDeflate, Rsv1OnAControlFrameIs1002) {
  for (unsigned op : {8U, 9U, 10U}) {
    auto r = deflating();
    std::string in = frame(op, "", true, true);
    const auto ev = next(r, in);
    ASSERT_EQ(ev.kind, WsEventKind::error) << op;
    EXPECT_EQ(ev.close_code, kCloseProtocolError) << op;
  }
}

TEST(FrameReaderDeflate, Rsv1OnAContinuationFrameIs1002) {
  auto r = deflating();
  const std::string z = deflate(std::string(1000, 'c'));
  std::string in = frame(1, z.substr(0, 5), false, true) + frame(0, z.substr(5), true, true);
  auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::progress) << ev.reason;
  std::string rest = in.substr(ev.consumed);
  ev = next(r, rest);
  ASSERT_EQ(ev.kind, WsEventKind::error);
  EXPECT_EQ(ev.close_code, kCloseProtocolError);
  EXPECT_EQ(ev.reason, "RSV1 set on a continuation frame");
}

TEST(FrameReaderDeflate, Rsv2OrRsv3Is1002EvenWithDeflate) {
  for (unsigned bit : {0x20U, 0x10U}) {
    auto r = deflating();
    std::string in = frame(1, "x");
    in[0] = static_cast<char>(static_cast<unsigned char>(in[0]) | bit);
    const auto ev = next(r, in);
    ASSERT_EQ(ev.kind, WsEventKind::error);
    EXPECT_EQ(ev.close_code, kCloseProtocolError);
  }
}

TEST(FrameReaderDeflate, Rsv1WithoutNegotiationIs1002) {
  FrameReader r(kLimit);
  std::string in = frame(1, deflate("hello"), true, true);
  const auto ev = next(r, in);
  ASSERT_EQ(ev.kind, WsEventKind::error);
  EXPECT_EQ(ev.close_code, kCloseProtocolError);
}

}  // namespace
}  // namespace steadyws::protocol
