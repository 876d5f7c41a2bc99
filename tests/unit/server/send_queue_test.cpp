#include "server/send_queue.hpp"

#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

std::string flatten(const SendQueue::Batch& b) {
  std::string out;
  for (const auto& buf : b.buffers)
    out.append(static_cast<const char*>(buf.data()), buf.size());
  return out;
}

SharedPayload payload(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

TEST(FrameHeader, UsesTheShortestLengthForm) {
  struct Case {
    std::uint64_t size;
    std::size_t header_len;
    std::uint8_t second;
  };
  const Case cases[] = {{0, 2, 0},       {125, 2, 125},    {126, 4, 126},
                        {65535, 4, 126}, {65536, 10, 127}, {1ull << 40, 10, 127}};
  for (const auto& c : cases) {
    std::array<std::uint8_t, 10> h{};
    EXPECT_EQ(encode_frame_header(1, c.size, h), c.header_len) << c.size;
    EXPECT_EQ(h[0], 0x81) << "FIN + text, unmasked";
    EXPECT_EQ(h[1], c.second) << c.size;
  }
}

TEST(FrameHeader, WritesLengthsBigEndian) {
  std::array<std::uint8_t, 10> h{};
  encode_frame_header(1, 0x1234, h);
  EXPECT_EQ(h[2], 0x12);
  EXPECT_EQ(h[3], 0x34);
  encode_frame_header(2, 0x0102030405060708ull, h);
  EXPECT_EQ(h[0], 0x82);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(h[2 + static_cast<std::size_t>(i)], i + 1);
}

TEST(FrameHeader, CloseFrameCarriesCodeAndCutReason) {
  const auto f = make_close_frame(4001, "slow");
  ASSERT_EQ(f.size(), 2u + 2u + 4u);
  EXPECT_EQ(static_cast<std::uint8_t>(f[0]), 0x88);
  EXPECT_EQ(static_cast<std::uint8_t>(f[1]), 6);
  EXPECT_EQ(static_cast<std::uint8_t>(f[2]), 0x0f);
  EXPECT_EQ(static_cast<std::uint8_t>(f[3]), 0xa1);
  EXPECT_EQ(f.substr(4), "slow");
  EXPECT_EQ(make_close_frame(1001, std::string(300, 'r')).size(), 2u + 125u);
}

TEST(SendQueue, BatchesEveryQueuedFrameInOrder) {
  SendQueue q;
  q.push_data(payload("one"));
  q.push_data(payload("two"));
  q.push_data(payload("three"));
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_EQ(flatten(b), std::string("\x81\x03one\x81\x03two\x81\x05three"));
  EXPECT_EQ(b.data_frames, 3u);
  EXPECT_EQ(b.buffers.size(), 1u) << "small frames are copied into one contiguous buffer";
  EXPECT_TRUE(q.empty());
}

TEST(SendQueue, ControlGoesBeforeQueuedData) {
  SendQueue q;
  q.push_data(payload("data"));
  q.push_control(std::string("\x89\x01p", 3));
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_EQ(flatten(b), std::string("\x89\x01p\x81\x04") + "data");
}

TEST(SendQueue, CountsQueuedDataBytesUntilTakenIntoABatch) {
  SendQueue q;
  EXPECT_EQ(q.push_data(payload("abc")), 5u);
  EXPECT_EQ(q.push_data(payload(std::string(200, 'x'))), 5u + 4u + 200u);
  q.push_control(std::string("\x89\x00", 2));  // control never counts against the bound
  EXPECT_EQ(q.data_bytes(), 209u);
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_EQ(q.data_bytes(), 0u) << "the batch in flight no longer counts";
  q.push_data(payload("d"));
  EXPECT_EQ(q.data_bytes(), 3u);
}

TEST(SendQueue, LargePayloadsAreReferencedNotCopied) {
  SendQueue q;
  auto big = payload(std::string(SendQueue::kCopyThreshold + 1, 'b'));
  q.push_data(big);
  SendQueue::Batch b;
  q.take_batch(b);
  ASSERT_EQ(b.buffers.size(), 2u);
  EXPECT_EQ(b.buffers[1].data(), big->data());
  EXPECT_EQ(big.use_count(), 2) << "the batch keeps the shared payload alive";
}

TEST(SendQueue, BatchStopsAtTheByteBound) {
  SendQueue q;
  const std::size_t size = 100 * 1024;
  for (int i = 0; i < 5; ++i)
    q.push_data(payload(std::string(size, 'z')));
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_EQ(b.data_frames, 2u) << "a third 100 KiB frame would take the batch past 256 KiB";
  EXPECT_EQ(q.queued_data_frames(), 3u);
}

TEST(SendQueue, BatchStopsAtTheBufferBound) {
  SendQueue q;
  for (std::size_t i = 0; i < SendQueue::kMaxBatchBuffers; ++i)
    q.push_data(payload(std::string(SendQueue::kCopyThreshold + 1, 'q')));
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_LE(b.buffers.size(), SendQueue::kMaxBatchBuffers);
  EXPECT_GT(q.queued_data_frames(), 0u);
}

TEST(SendQueue, DiscardDataKeepsControl) {
  SendQueue q;
  q.push_data(payload("a"));
  q.push_data(payload("b"));
  q.push_control(make_close_frame(1001, ""));
  EXPECT_EQ(q.discard_data(), 2u);
  EXPECT_EQ(q.data_bytes(), 0u);
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_EQ(flatten(b), make_close_frame(1001, ""));
}

TEST(SendQueue, ControlNumbersTellWhichBatchCarriedThem) {
  SendQueue q;
  EXPECT_EQ(q.push_control("x"), 0u);
  EXPECT_EQ(q.push_control("y"), 1u);
  SendQueue::Batch b;
  q.take_batch(b);
  EXPECT_EQ(b.control_end, 2u);
  EXPECT_EQ(q.push_control("z"), 2u);
  q.take_batch(b);
  EXPECT_EQ(b.control_end, 3u);
}

}  // namespace
}  // namespace steadyws::server
