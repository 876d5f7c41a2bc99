// "Serialize never allocates more than once per message" (issue 2, item 8), counted: this
// file replaces the global operator new of protocol_tests with a counting one.
#include <cstdlib>
#include <new>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "protocol/codec.hpp"

namespace {
std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace steadyws::protocol {
namespace {

namespace json = boost::json;

// Allocations made by serialize(m, out) into an empty string.
template <class M>
std::size_t allocations_of(const M& m) {
  std::string out;
  const std::size_t before = g_allocations;
  serialize(m, out);
  return g_allocations - before;
}

TEST(CodecAlloc, EverySerializeAllocatesAtMostOnce) {
  const json::value data = json::parse(
      R"({"price":1.2345678901234567,"tags":["a","b\n\u0001"],"n":null,"deep":[[[{"x":-1E-300}]]],)"
      R"("big":18446744073709551615,"neg":-9223372036854775808,"t":true,"f":false})");
  const std::string long_text(5000, 'q');
  EXPECT_LE(allocations_of(Welcome{long_text, true, 1, 2, 3, ""}), 1u);
  EXPECT_LE(allocations_of(Pong{json::value(1.7976931348623157e308), -1}), 1u);
  EXPECT_LE(allocations_of(Pong{json::value(-4.9e-324), -1}), 1u);
  EXPECT_LE(allocations_of(Subscribed{"c", 1, long_text, true}), 1u);
  EXPECT_LE(allocations_of(Unsubscribed{"c"}), 1u);
  EXPECT_LE(allocations_of(Ack{"i", "c", 1}), 1u);
  EXPECT_LE(allocations_of(Message{"c", 1, "i", data, 2}), 1u);
  EXPECT_LE(allocations_of(Message{"c", 1, "i", json::value(long_text), 2}), 1u);
  EXPECT_LE(allocations_of(Error{errc::internal, std::string(300, '\x01')}), 1u);
  EXPECT_LE(allocations_of(Ping{json::value(-0.0)}), 1u);
  EXPECT_LE(allocations_of(Subscribe{"c", 7, "e"}), 1u);
  EXPECT_LE(allocations_of(Unsubscribe{"c"}), 1u);
  EXPECT_LE(allocations_of(Publish{"c", data, std::string("i")}), 1u);
}

TEST(CodecAlloc, TheOneAllocationIsExactForIntegerOnlyFrames) {
  // Everything but doubles is measured exactly, so history frames carry no slack.
  std::string out;
  serialize(Ack{"id-1", "chan", 123456789}, out);
  EXPECT_EQ(out.size(),
            std::string(R"({"type":"ack","id":"id-1","channel":"chan","seq":123456789})").size());
  std::string frame;
  frame.reserve(0);
  serialize_message(frame, "c", 1, "i", json::parse(R"({"a":[1,"x"]})"), 5);
  EXPECT_EQ(
      frame,
      R"({"type":"message","channel":"c","seq":1,"id":"i","data":{"a":[1,"x"]},"timestamp":5})");
}

TEST(CodecAlloc, SerializeIntoReservedStringAllocatesNothing) {
  std::string out;
  out.reserve(4096);
  const std::size_t before = g_allocations;
  serialize(Message{"c", 1, "i", json::value(42), 2}, out);
  serialize(Pong{json::value(1.5), 2}, out);
  EXPECT_EQ(g_allocations - before, 0u);
}

TEST(CodecAlloc, ParsingASmallPingAllocatesNothing) {
  const std::size_t before = g_allocations;
  const auto r = parse_client(R"({"type":"ping","timestamp":1712345678901})");
  EXPECT_EQ(g_allocations - before, 0u);
  EXPECT_TRUE(r.has_value());
}

}  // namespace
}  // namespace steadyws::protocol
