// permessage-deflate (RFC 7692): the server's negotiation over every §7 parameter, with and
// without values, several offers in order, malformed and unknown parameters (an offer we
// cannot honour is declined, never answered wrong); and the zlib streams: the RFC's own
// example bytes, round trips with and without context takeover, and the running inflate limit.
#include "protocol/permessage_deflate.hpp"

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace steadyws::protocol {
namespace {

const DeflatePolicy kOn{true, false};
const DeflatePolicy kTakeover{true, true};

std::optional<std::string> answer(std::string_view offers, const DeflatePolicy& p = kOn) {
  auto a = negotiate_deflate(offers, p);
  if (!a)
    return std::nullopt;
  return a->response;
}

TEST(DeflateNegotiation, DeclinedWhenCompressionIsOff) {
  EXPECT_FALSE(negotiate_deflate("permessage-deflate", DeflatePolicy{}));
}

TEST(DeflateNegotiation, PlainOfferGetsBothNoContextTakeoverByDefault) {
  EXPECT_EQ(answer("permessage-deflate"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  const auto a = negotiate_deflate("permessage-deflate", kOn);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->params.server_no_context_takeover);
  EXPECT_TRUE(a->params.client_no_context_takeover);
  EXPECT_EQ(a->params.server_max_window_bits, 15);
}

TEST(DeflateNegotiation, ChromiumAndWsOffers) {
  // Chromium: "permessage-deflate; client_max_window_bits"; npm ws the same by default.
  EXPECT_EQ(answer("permessage-deflate; client_max_window_bits"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_EQ(answer("permessage-deflate; client_max_window_bits=10"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(DeflateNegotiation, ContextTakeoverOnlyWhereTheClientAllowsIt) {
  EXPECT_EQ(answer("permessage-deflate", kTakeover), "permessage-deflate");
  const auto a = negotiate_deflate("permessage-deflate", kTakeover);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->params.server_no_context_takeover);
  EXPECT_FALSE(a->params.client_no_context_takeover);
  EXPECT_EQ(answer("permessage-deflate; server_no_context_takeover", kTakeover),
            "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(answer("permessage-deflate; client_no_context_takeover", kTakeover),
            "permessage-deflate; client_no_context_takeover");
}

TEST(DeflateNegotiation, ServerMaxWindowBitsIsEchoedAndUsed) {
  const auto a = negotiate_deflate("permessage-deflate; server_max_window_bits=10", kOn);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->params.server_max_window_bits, 10);
  EXPECT_EQ(a->response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10");
  // A quoted value is the same value (RFC 6455 §9.1).
  const auto q = negotiate_deflate("permessage-deflate; server_max_window_bits=\"12\"", kOn);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->params.server_max_window_bits, 12);
}

TEST(DeflateNegotiation, MalformedOrUnhonourableOffersAreDeclined) {
  for (const char* offer : {
           "permessage-deflate; server_max_window_bits",        // value required
           "permessage-deflate; server_max_window_bits=8",      // zlib cannot keep to 8 bits
           "permessage-deflate; server_max_window_bits=16",     // out of range
           "permessage-deflate; server_max_window_bits=7",      // out of range
           "permessage-deflate; server_max_window_bits=010",    // leading zero
           "permessage-deflate; server_max_window_bits=1a",     // not a number
           "permessage-deflate; client_max_window_bits=0",      // out of range
           "permessage-deflate; client_max_window_bits=16",     // out of range
           "permessage-deflate; server_no_context_takeover=1",  // takes no value
           "permessage-deflate; client_no_context_takeover=x",  // takes no value
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
           "permessage-deflate; unknown_parameter",
           "permessage-deflate; server_max_window_bits=\"10",  // unterminated quote
           "permessage-deflate;",                              // no parameter name
           "permessage-deflate; =10",
           "x-webkit-deflate-frame",  // another extension only
           "",
       }) {
    EXPECT_FALSE(negotiate_deflate(offer, kOn)) << offer;
  }
}

TEST(DeflateNegotiation, FirstAcceptableOfferInOrderWins) {
  // The first offer asks for a window zlib cannot honour: the second is taken.
  const auto a = negotiate_deflate(
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; "
      "server_max_window_bits=9, permessage-deflate",
      kOn);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->params.server_max_window_bits, 9);
  // Unknown extensions before and between are skipped; an unknown parameter skips that offer.
  EXPECT_EQ(answer("foo; bar=1, permessage-deflate; mystery, permessage-deflate; "
                   "client_max_window_bits"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  // The extension name is matched without regard to case; spaces and tabs around separators.
  EXPECT_TRUE(negotiate_deflate("Permessage-Deflate\t;\tclient_max_window_bits ,", kOn));
}

TEST(DeflateNegotiation, UnparsableHeaderDeclinesEverything) {
  EXPECT_FALSE(negotiate_deflate("permessage-deflate, @@@", kOn));
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; a=\"b\" c", kOn));
}

// ---- zlib streams --------------------------------------------------------------------------

TEST(DeflateStreams, InflatesTheRfcExample) {
  // RFC 7692 §7.2.3.1: "Hello", one compressed message.
  const std::string hello("\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
  std::string out;
  EXPECT_EQ(inflate_message(hello, out, 0), InflateResult::ok);
  EXPECT_EQ(out, "Hello");
  // §7.2.3.3: an uncompressed (stored) block is fine too.
  const std::string stored("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f", 10);
  out.clear();
  EXPECT_EQ(inflate_message(stored, out, 0), InflateResult::ok);
  EXPECT_EQ(out, "Hello");
}

TEST(DeflateStreams, DeflatesHelloAsTheRfcDoes) {
  std::string out;
  ASSERT_TRUE(shared_deflater(15).compress("Hello", out, false));
  EXPECT_EQ(out, std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7));
  // No context: the same bytes the second time.
  std::string again;
  ASSERT_TRUE(shared_deflater(15).compress("Hello", again, false));
  EXPECT_EQ(again, out);
}

TEST(DeflateStreams, RoundTripsEveryWindowSize) {
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += "{\"type\":\"message\",\"seq\":" + std::to_string(i) + "},";
  for (int bits = 9; bits <= 15; ++bits) {
    std::string z;
    ASSERT_TRUE(shared_deflater(bits).compress(text, z, false)) << bits;
    EXPECT_LT(z.size(), text.size() / 4) << bits;
    std::string back;
    ASSERT_EQ(inflate_message(z, back, 0), InflateResult::ok) << bits;
    EXPECT_EQ(back, text) << bits;
  }
}

TEST(DeflateStreams, ContextTakeoverNeedsTheSameInflater) {
  Deflater d(15);
  Inflater inf;
  std::string first;
  std::string second;
  const std::string msg(300, 'q');
  ASSERT_TRUE(d.compress(msg, first, true));
  ASSERT_TRUE(d.compress(msg, second, true));
  EXPECT_LT(second.size(), first.size());  // the second refers back into the first
  std::string out;
  ASSERT_EQ(inf.inflate(first, true, out, 0), InflateResult::ok);
  EXPECT_EQ(out, msg);
  out.clear();
  ASSERT_EQ(inf.inflate(second, true, out, 0), InflateResult::ok);
  EXPECT_EQ(out, msg);
}

TEST(DeflateStreams, InflateStopsTheMomentTheLimitIsPassed) {
  // 10 MiB of zeros deflate to about 10 KiB; a 1 MiB limit stops inflating just past it.
  const std::string zeros(10 << 20, '\0');
  std::string z;
  ASSERT_TRUE(shared_deflater(15).compress(zeros, z, false));
  EXPECT_LT(z.size(), 16u * 1024);
  std::string out;
  EXPECT_EQ(inflate_message(z, out, 1 << 20), InflateResult::too_big);
  EXPECT_LE(out.size(), (1u << 20) + 1);
  // Exactly at the limit is fine.
  out.clear();
  std::string small;
  ASSERT_TRUE(shared_deflater(15).compress(std::string(1000, 'a'), small, false));
  EXPECT_EQ(inflate_message(small, out, 1000), InflateResult::ok);
  out.clear();
  EXPECT_EQ(inflate_message(small, out, 999), InflateResult::too_big);
}

TEST(DeflateStreams, GarbageIsBadDataAndTheThreadInflaterRecovers) {
  std::string out;
  EXPECT_EQ(inflate_message(std::string("\xff\xff\xff\xff\xff", 5), out, 0),
            InflateResult::bad_data);
  out.clear();
  EXPECT_EQ(inflate_message(std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7), out, 0),
            InflateResult::ok);
  EXPECT_EQ(out, "Hello");
}

}  // namespace
}  // namespace steadyws::protocol
