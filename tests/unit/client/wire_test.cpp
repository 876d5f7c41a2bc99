#include "client/wire.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace steadyws::client {
namespace {

TEST(RetryAfter, ReadsTheShutdownHint) {
  EXPECT_EQ(retry_after_from_reason(R"({"retryAfterMs":1500})"), Duration{1500});
  EXPECT_EQ(retry_after_from_reason(R"({"retryAfterMs":0})"), Duration{0});
  EXPECT_EQ(retry_after_from_reason(R"({"retryAfterMs":250.7})"), Duration{250});
  EXPECT_EQ(retry_after_from_reason(R"({"retryAfterMs":99999999999})"), Duration{3600000});
}

TEST(RetryAfter, IgnoresAnythingElse) {
  EXPECT_FALSE(retry_after_from_reason(""));
  EXPECT_FALSE(retry_after_from_reason("going away"));
  EXPECT_FALSE(retry_after_from_reason(R"({"retryAfterMs":-5})"));
  EXPECT_FALSE(retry_after_from_reason(R"({"retryAfterMs":"5"})"));
  EXPECT_FALSE(retry_after_from_reason(R"({"other":5})"));
  EXPECT_FALSE(retry_after_from_reason("[1]"));
}

TEST(PollAnswer, ParsesMessagesCursorsEpochsRecovered) {
  const char* body = R"({"messages":[
      {"type":"message","channel":"a","seq":4,"id":"x1","data":{"k":1},"timestamp":17},
      {"channel":"a","seq":5,"id":"x2","data":"s","timestamp":18},
      {"type":"message","channel":"a"}],
    "cursors":{"a":5,"b":0},"epochs":{"a":"E1"},"recovered":{"a":true,"b":false}})";
  auto a = parse_poll_answer(body);
  ASSERT_TRUE(a.has_value()) << a.error();
  ASSERT_EQ(a->messages.size(), 2u);
  EXPECT_EQ(a->bad_messages, 1u);
  EXPECT_EQ(a->messages[0].message.seq, 4u);
  EXPECT_EQ(a->messages[0].message.id, "x1");
  EXPECT_EQ(a->messages[1].message.data, boost::json::value("s"));
  // The JSON handed to the application is a complete message frame.
  EXPECT_EQ(boost::json::parse(a->messages[1].json).at("type"), "message");
  EXPECT_EQ(a->cursors.at("a"), 5u);
  EXPECT_EQ(a->cursors.at("b"), 0u);
  EXPECT_EQ(a->epochs.at("a"), "E1");
  EXPECT_TRUE(a->recovered.at("a"));
  EXPECT_FALSE(a->recovered.at("b"));
}

TEST(PollAnswer, RefusesNonObjects) {
  EXPECT_FALSE(parse_poll_answer("nope").has_value());
  EXPECT_FALSE(parse_poll_answer("[]").has_value());
  EXPECT_FALSE(parse_poll_answer(R"({"messages":{}})").has_value());
  auto empty = parse_poll_answer("{}");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->messages.empty());
}

TEST(PublishAnswer, ParsesAckWithOrWithoutType) {
  auto a = parse_publish_answer(R"({"id":"i1","channel":"c","seq":3})");
  ASSERT_TRUE(a.has_value()) << a.error();
  EXPECT_EQ(a->id, "i1");
  EXPECT_EQ(a->seq, 3u);
  EXPECT_TRUE(parse_publish_answer(R"({"type":"ack","id":"i1","channel":"c","seq":3})"));
  EXPECT_FALSE(parse_publish_answer(R"({"error":"bad_message","message":"x"})"));
}

TEST(Frames, PublishAndPingAreContractShaped) {
  auto p = boost::json::parse(publish_frame("c", boost::json::value{{"a", 1}}, "id-1"));
  EXPECT_EQ(p.at("type"), "publish");
  EXPECT_EQ(p.at("channel"), "c");
  EXPECT_EQ(p.at("id"), "id-1");
  EXPECT_EQ(p.at("data").at("a"), 1);
  auto g = boost::json::parse(ping_frame(1700000000123));
  EXPECT_EQ(g.at("type"), "ping");
  EXPECT_EQ(g.at("timestamp").as_int64(), 1700000000123);
}

TEST(Frames, PongTokenIsTheIntegerTimestamp) {
  protocol::Pong p;
  p.timestamp = std::int64_t{42};
  EXPECT_EQ(pong_token(p), 42);
  p.timestamp = std::uint64_t{43};
  EXPECT_EQ(pong_token(p), 43);
  p.timestamp = 1.5;
  EXPECT_FALSE(pong_token(p).has_value());
}

}  // namespace
}  // namespace steadyws::client
