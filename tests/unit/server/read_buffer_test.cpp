#include "server/read_buffer.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

static_assert(boost::asio::is_dynamic_buffer_v1<ReadBuffer>::value);

// Writes `s` the way Beast does: prepare, copy, commit (possibly fewer bytes than prepared).
void put(ReadBuffer& b, const std::string& s, std::size_t prepared) {
  auto mb = b.prepare(prepared);
  ASSERT_GE(mb.size(), s.size());
  std::memcpy(mb.data(), s.data(), s.size());
  b.commit(s.size());
}

std::string contents(const ReadBuffer& b) {
  return boost::beast::buffers_to_string(b.cdata());
}

TEST(ReadBuffer, EmptyBufferAsksBeastForAtMostTheInlineSize) {
  ReadBuffer b(1 << 20);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.max_size(), ReadBuffer::kInline);
  put(b, "ping", ReadBuffer::kInline);
  EXPECT_FALSE(b.on_heap());
  EXPECT_EQ(contents(b), "ping");
}

TEST(ReadBuffer, SmallMessageStaysInline) {
  ReadBuffer b(1 << 20);
  const std::string msg(100, 'a');
  put(b, msg.substr(0, 60), ReadBuffer::kInline);
  put(b, msg.substr(60), 40);
  EXPECT_FALSE(b.on_heap());
  EXPECT_EQ(contents(b), msg);
}

TEST(ReadBuffer, FullInlinePartReportsTheRealLimitAndMovesToTheHeap) {
  ReadBuffer b(1 << 20);
  const std::string first(ReadBuffer::kInline, 'x');
  put(b, first, ReadBuffer::kInline);
  EXPECT_EQ(b.max_size(), std::size_t{1} << 20);
  put(b, "tail", 1536);
  EXPECT_TRUE(b.on_heap());
  EXPECT_EQ(contents(b), first + "tail");
}

TEST(ReadBuffer, PrepareOverTheLimitThrowsLengthError) {
  ReadBuffer b(1000);
  put(b, std::string(ReadBuffer::kInline, 'x'), ReadBuffer::kInline);
  EXPECT_THROW(b.prepare(1000), std::length_error);
}

TEST(ReadBuffer, ReleaseFreesTheHeapBlockAndEmpties) {
  ReadBuffer b(1 << 20);
  put(b, std::string(3000, 'y'), 3000);
  EXPECT_TRUE(b.on_heap());
  b.release();
  EXPECT_FALSE(b.on_heap());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.max_size(), ReadBuffer::kInline);
}

TEST(ReadBuffer, ConsumeDropsTheFront) {
  ReadBuffer b(1 << 20);
  put(b, "abcdef", ReadBuffer::kInline);
  b.consume(2);
  EXPECT_EQ(contents(b), "cdef");
  b.consume(100);
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace steadyws::server
