// ClientEngine: the offline queue. Publishes wait for a transport, go out in order on the
// welcome, leave only on their ack, and are resent (never doubled) after a loss or after
// ack_timeout with no ack at all.
#include <gtest/gtest.h>

#include "unit/core/client_engine_harness.hpp"

namespace steadyws::test {
namespace {

TEST(ClientEngine, TheOfflineQueueFlushesOnTheWelcome) {
  EngineHarness h;
  EXPECT_EQ(h.publish(0, "p1"), Lines{"enqueued p1 accepted"});
  EXPECT_EQ(h.publish(1, "p2"), Lines{"enqueued p2 accepted"});
  h.subscribe(2, "news");
  h.connect(3);
  EXPECT_EQ(h.welcome(10),
            (Lines{"cancel_timer connect", "state connecting->connected (welcome from ws://a/ws)",
                   "send link=1 subscribe news since=- epoch=-", "send link=1 publish p1",
                   "send link=1 publish p2", "arm_timer ack at=10010ms",
                   "arm_timer heartbeat at=30010ms"}));
  const auto sends = h.raw_of<engine::Send>();
  ASSERT_EQ(sends.size(), 3u);
  EXPECT_EQ(std::get<engine::PublishOut>(sends[1].frame).payload,
            R"({"type":"publish","channel":"news","id":"p1","data":1})");
  EXPECT_EQ(h.ack(20, "p1", 1), Lines{"acked p1 news#1"});
  EXPECT_EQ(h.engine().queued(), 1u);
  EXPECT_EQ(h.ack(21, "unknown", 2), Lines{});  // not ours: no on_ack
  EXPECT_EQ(h.ack(22, "p1", 1), Lines{});       // a second ack for the same id: gone already
}

TEST(ClientEngine, APublishWhileConnectedGoesOutAtOnce) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(h.publish(100, "p1"),
            (Lines{"enqueued p1 accepted", "send link=1 publish p1", "arm_timer ack at=10100ms"}));
  EXPECT_EQ(h.publish(200, "p1"), Lines{"enqueued p1 duplicate"});  // same id still queued
  EXPECT_EQ(h.publish(300, "p2"), (Lines{"enqueued p2 accepted", "send link=1 publish p2"}));
}

TEST(ClientEngine, AFullQueueRefuses) {
  auto c = engine_config();
  c.queue.max_messages = 1;
  EngineHarness h(c);
  EXPECT_EQ(h.publish(0, "p1"), Lines{"enqueued p1 accepted"});
  EXPECT_EQ(h.publish(1, "p2"), Lines{"enqueued p2 full"});
}

// No ack at all for ack_timeout: everything in flight goes again, once, in order.
TEST(ClientEngine, AckTimeoutResendsWhatIsInFlightOnce) {
  EngineHarness h;
  h.connected(0);
  h.publish(100, "p1");
  h.publish(200, "p2");
  EXPECT_EQ(h.fire(10099, EngineTimer::ack), Lines{});
  EXPECT_EQ(
      h.fire(10100, EngineTimer::ack),
      (Lines{"send link=1 publish p1", "send link=1 publish p2", "arm_timer ack at=20100ms"}));
  // Progress (an ack) within the next period: nothing resent, the timer runs again.
  h.ack(10200, "p1", 1);
  EXPECT_EQ(h.fire(20100, EngineTimer::ack), Lines{"arm_timer ack at=30100ms"});
  // No progress since: p2 (only) again.
  EXPECT_EQ(h.fire(30100, EngineTimer::ack),
            (Lines{"send link=1 publish p2", "arm_timer ack at=40100ms"}));
  h.ack(30200, "p2", 2);
  EXPECT_EQ(h.fire(40100, EngineTimer::ack), Lines{});  // empty: the timer stops
  EXPECT_FALSE(h.engine().deadline(EngineTimer::ack));
}

TEST(ClientEngine, AckTimeoutZeroResendsOnlyOnReconnect) {
  auto c = engine_config();
  c.ack_timeout = 0ms;
  EngineHarness h(c);
  h.connected(0);
  EXPECT_EQ(h.publish(100, "p1"), (Lines{"enqueued p1 accepted", "send link=1 publish p1"}));
  EXPECT_FALSE(h.engine().deadline(EngineTimer::ack));
}

// A publish in flight on a link that is lost is sent once on the next link, and that link
// has an ack timeout of its own.
TEST(ClientEngine, AResendAfterAReconnectIsNotDoubled) {
  EngineHarness h;
  h.connected(0);
  h.publish(100, "p1");
  EXPECT_EQ(h.lost(200, std::nullopt, "read: reset"),
            (Lines{"close_link link=1", "cancel_timer heartbeat", "cancel_timer ack",
                   "error connection: read: reset", "state connected->error (read: reset)",
                   "state error->reconnecting (retry in 1000 ms)",
                   "reconnect_attempt 1 delay=1000ms", "arm_timer retry at=1200ms"}));
  h.fire(1200, EngineTimer::retry);
  EXPECT_EQ(h.welcome(1210),
            (Lines{"cancel_timer connect", "state reconnecting->connected (welcome from ws://a/ws)",
                   "send link=2 publish p1", "arm_timer ack at=11210ms",
                   "arm_timer heartbeat at=31210ms"}));
  EXPECT_EQ(h.fire(10100, EngineTimer::ack), Lines{});  // link 1's deadline: nothing armed then
  EXPECT_EQ(h.fire(11210, EngineTimer::ack),
            (Lines{"send link=2 publish p1", "arm_timer ack at=21210ms"}));
}

TEST(ClientEngine, ARefusedPublishIsResentAfterTheAckTimeout) {
  EngineHarness h;
  h.connected(0);
  h.publish(100, "p1");
  EXPECT_EQ(h.frame(150, engine::ErrorFrame{"rate_limited", "over 1000 msg/s"}),
            Lines{"error server rate_limited: over 1000 msg/s"});
  EXPECT_EQ(only(h.fire(10100, EngineTimer::ack), "send"), Lines{"send link=1 publish p1"});
}

}  // namespace
}  // namespace steadyws::test
