// ClientEngine: attempts, the retry budget, retryAfterMs, failover across URLs, connect
// timeout, reconnect() and disconnect(). Exact action lists at exact times (fake clock, ms).
#include <gtest/gtest.h>

#include "unit/core/client_engine_harness.hpp"

namespace steadyws::test {
namespace {

TEST(ClientEngine, ConnectDialsTheFirstUrlAndArmsTheConnectTimeout) {
  EngineHarness h;
  EXPECT_EQ(h.connect(0), (Lines{"state disconnected->connecting (connect())", "dial url=0 link=1",
                                 "arm_timer connect at=10000ms"}));
  EXPECT_EQ(h.engine().state(), State::connecting);
  EXPECT_EQ(h.connect(5), Lines{});  // already connecting: nothing
  EXPECT_EQ(h.welcome(40),
            (Lines{"cancel_timer connect", "state connecting->connected (welcome from ws://a/ws)",
                   "arm_timer heartbeat at=30040ms"}));
  EXPECT_EQ(h.engine().session_id(), "s1");
  EXPECT_EQ(h.engine().resume_token(), "r1");
  EXPECT_EQ(h.connect(50), Lines{});  // connected: nothing
}

// Budget 3 without the fallback: 1 s, 2 s, 4 s, then give up (docs/client.md "Backoff").
TEST(ClientEngine, RetryBudgetThenGiveUpWithoutFallback) {
  auto c = engine_config();
  c.max_reconnect_attempts = 3;
  c.enable_fallback = false;
  EngineHarness h(c);
  h.connect(0);
  EXPECT_EQ(h.fail(5), (Lines{"close_link link=1", "cancel_timer connect", "error attempt: refused",
                              "state connecting->error (refused)",
                              "state error->reconnecting (retry in 1000 ms)",
                              "reconnect_attempt 1 delay=1000ms", "arm_timer retry at=1005ms"}));
  EXPECT_EQ(h.fire(1004, EngineTimer::retry), Lines{});  // early: ignored
  EXPECT_EQ(h.fire(1005, EngineTimer::retry),
            (Lines{"dial url=0 link=2", "arm_timer connect at=11005ms"}));
  EXPECT_EQ(h.fail(1010), (Lines{"close_link link=2", "cancel_timer connect",
                                 "error attempt: refused", "state reconnecting->error (refused)",
                                 "state error->reconnecting (retry in 2000 ms)",
                                 "reconnect_attempt 2 delay=2000ms", "arm_timer retry at=3010ms"}));
  h.fire(3010, EngineTimer::retry);
  EXPECT_EQ(only(h.fail(3020), "arm_timer"), Lines{"arm_timer retry at=7020ms"});
  EXPECT_EQ(h.fire(7020, EngineTimer::retry),
            (Lines{"dial url=0 link=4", "arm_timer connect at=17020ms"}));
  EXPECT_EQ(h.fail(7030),
            (Lines{"close_link link=4", "cancel_timer connect", "error attempt: refused",
                   "state reconnecting->disconnected (gave up after 3 attempts: refused)",
                   "give_up after 3 attempts"}));
  EXPECT_TRUE(h.engine().has_given_up());
  EXPECT_FALSE(h.engine().is_using_fallback());
  for (auto t : {EngineTimer::retry, EngineTimer::connect, EngineTimer::heartbeat,
                 EngineTimer::poll, EngineTimer::ack})
    EXPECT_FALSE(h.engine().deadline(t)) << to_string(t);
  // connect() starts afresh: attempt 1 again.
  EXPECT_EQ(h.connect(8000), (Lines{"state disconnected->connecting (connect())",
                                    "dial url=0 link=5", "arm_timer connect at=18000ms"}));
  EXPECT_FALSE(h.engine().has_given_up());
  EXPECT_EQ(only(h.fail(8001), "reconnect_attempt"), Lines{"reconnect_attempt 1 delay=1000ms"});
  EXPECT_EQ(h.engine().illegal_transitions(), 0u);
}

// CONTRACT §1: a 1001 close with {"retryAfterMs":N} waits exactly N; the attempt still counts.
TEST(ClientEngine, RetryAfterReplacesTheBackoffDelay) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(h.lost(5000, 1001, R"({"retryAfterMs":1500})", 1500ms),
            (Lines{"close_link link=1", "cancel_timer heartbeat",
                   R"(state connected->disconnected (server closed 1001 {"retryAfterMs":1500}))",
                   "state disconnected->reconnecting (retry in 1500 ms)",
                   "reconnect_attempt 1 delay=1500ms", "arm_timer retry at=6500ms"}));
  // A lost connection retries the same URL first.
  EXPECT_EQ(h.fire(6500, EngineTimer::retry),
            (Lines{"dial url=0 link=2", "arm_timer connect at=16500ms"}));
  // The hint took attempt 1: the next failure waits attempt 2's 2 s.
  EXPECT_EQ(only(h.fail(6600), "arm_timer"), Lines{"arm_timer retry at=8600ms"});
}

TEST(ClientEngine, RetryAfterZeroRetriesAtOnce) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(only(h.lost(5000, 1001, R"({"retryAfterMs":0})", 0ms), "arm_timer"),
            Lines{"arm_timer retry at=5000ms"});
  EXPECT_EQ(only(h.fire(5000, EngineTimer::retry), "dial"), Lines{"dial url=0 link=2"});
}

TEST(ClientEngine, RetryAfterCountsOnlyWithGoingAway) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(h.lost(5000, 4000, "heartbeat timeout", 1500ms),
            (Lines{"close_link link=1", "cancel_timer heartbeat",
                   "state connected->disconnected (server closed 4000 heartbeat timeout)",
                   "state disconnected->reconnecting (retry in 1000 ms)",
                   "reconnect_attempt 1 delay=1000ms", "arm_timer retry at=6000ms"}));
}

TEST(ClientEngine, AnUncleanLossIsAnErrorState) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(
      h.lost(5000, std::nullopt, "read: End of file"),
      (Lines{"close_link link=1", "cancel_timer heartbeat", "error connection: read: End of file",
             "state connected->error (read: End of file)",
             "state error->reconnecting (retry in 1000 ms)", "reconnect_attempt 1 delay=1000ms",
             "arm_timer retry at=6000ms"}));
}

// Each failed attempt moves to the next URL (wrapping); a lost connection retries its own.
TEST(ClientEngine, FailoverOrderAcrossUrls) {
  EngineHarness h(engine_config({"ws://a/ws", "ws://b/ws", "ws://c/ws"}));
  EXPECT_EQ(only(h.connect(0), "dial"), Lines{"dial url=0 link=1"});
  h.fail(1);
  EXPECT_EQ(h.engine().url_index(), 1u);
  EXPECT_EQ(only(h.fire(1001, EngineTimer::retry), "dial"), Lines{"dial url=1 link=2"});
  EXPECT_EQ(only(h.welcome(1010), "state"),
            Lines{"state reconnecting->connected (welcome from ws://b/ws)"});
  h.lost(2000, std::nullopt, "read: reset");
  EXPECT_EQ(only(h.fire(3000, EngineTimer::retry), "dial"), Lines{"dial url=1 link=3"});
  h.fail(3001);
  EXPECT_EQ(only(h.fire(5001, EngineTimer::retry), "dial"), Lines{"dial url=2 link=4"});
  h.fail(5002);
  EXPECT_EQ(only(h.fire(9002, EngineTimer::retry), "dial"), Lines{"dial url=0 link=5"});
  h.fail(9003);
  EXPECT_EQ(only(h.fire(17003, EngineTimer::retry), "dial"), Lines{"dial url=1 link=6"});
}

TEST(ClientEngine, ConnectTimeoutFailsTheAttempt) {
  EngineHarness h;
  h.connect(0);
  EXPECT_EQ(h.on(100, engine::DialSucceeded{1}), Lines{});  // upgraded; the welcome is due
  EXPECT_EQ(h.fire(9999, EngineTimer::connect), Lines{});
  EXPECT_EQ(
      h.fire(10000, EngineTimer::connect),
      (Lines{"close_link link=1", "error attempt: no welcome within 10000 ms (connect_timeout)",
             "state connecting->error (no welcome within 10000 ms (connect_timeout))",
             "state error->reconnecting (retry in 1000 ms)", "reconnect_attempt 1 delay=1000ms",
             "arm_timer retry at=11000ms"}));
}

TEST(ClientEngine, TheFirstFrameMustBeAWelcome) {
  EngineHarness h;
  h.connect(0);
  EXPECT_EQ(h.message(5, "news", 1),
            (Lines{"close_link link=1", "cancel_timer connect",
                   "error attempt: the server's first frame was not a welcome",
                   "state connecting->error (the server's first frame was not a welcome)",
                   "state error->reconnecting (retry in 1000 ms)",
                   "reconnect_attempt 1 delay=1000ms", "arm_timer retry at=1005ms"}));
  h.fire(1005, EngineTimer::retry);
  EXPECT_EQ(only(h.frame(1010, engine::UnparseableFrame{"bad_json", "not JSON"}), "error"),
            (Lines{"error read bad_json: unparseable frame from ws://a/ws: not JSON",
                   "error attempt: the server's first frame was not a welcome"}));
}

TEST(ClientEngine, GarbageAfterTheWelcomeIsReportedAndTheLinkStays) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(h.frame(100, engine::UnparseableFrame{"bad_json", "not JSON"}),
            Lines{"error read bad_json: unparseable frame from ws://a/ws: not JSON"});
  EXPECT_EQ(h.frame(110, engine::ErrorFrame{"rate_limited", "slow down"}),
            Lines{"error server rate_limited: slow down"});
  EXPECT_EQ(h.engine().state(), State::connected);
  EXPECT_EQ(h.engine().link(), 1u);
}

TEST(ClientEngine, EventsOfAStaleLinkAreIgnored) {
  EngineHarness h;
  h.connect(0);
  h.fail(5);
  h.fire(1005, EngineTimer::retry);  // link 2
  EXPECT_EQ(h.on(1006, engine::DialFailed{1, "late"}), Lines{});
  EXPECT_EQ(h.on(1007, engine::LinkLost{1, 1000, "", std::nullopt}), Lines{});
  EXPECT_EQ(h.on(1008, engine::FrameReceived{1, 10, engine::WelcomeFrame{}}), Lines{});
  EXPECT_EQ(h.engine().link(), 2u);
  EXPECT_EQ(h.engine().state(), State::reconnecting);
}

// Jitter comes from the injected uniform source, one draw per scheduled attempt.
TEST(ClientEngine, JitterComesFromTheUniformSource) {
  auto c = engine_config();
  c.jitter_mode = JitterMode::symmetric;
  std::vector<double> draws{0.0, 0.999};
  std::size_t next = 0;
  c.uniform = [&] {
    return draws[next++ % draws.size()];
  };
  EngineHarness h(c);
  h.connect(0);
  EXPECT_EQ(only(h.fail(5), "arm_timer"), Lines{"arm_timer retry at=5ms"});  // 1000 - 1000
  h.fire(5, EngineTimer::retry);
  EXPECT_EQ(only(h.fail(6), "reconnect_attempt"),
            Lines{"reconnect_attempt 2 delay=2998ms"});  // 2000 + 0.998 * 1000
  EXPECT_EQ(next, 2u);
}

TEST(ClientEngine, ReconnectDropsTheLinkAndDialsAtOnce) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(h.on(1000, engine::ReconnectRequested{}),
            (Lines{"cancel_timer heartbeat", "close_link link=1 graceful",
                   "state connected->disconnected (reconnect())",
                   "state disconnected->reconnecting (reconnect())", "dial url=0 link=2",
                   "arm_timer connect at=11000ms"}));
  EXPECT_EQ(h.engine().illegal_transitions(), 0u);
}

// disconnect(): every timer cancelled, the link closed with 1000, state closed, and nothing
// that arrives later does anything; queued publishes stay for a later connect().
TEST(ClientEngine, CloseRequestedStopsEverything) {
  EngineHarness h;
  h.connected(0);
  h.publish(100, "p1");
  EXPECT_EQ(h.close(200),
            (Lines{"cancel_timer heartbeat", "cancel_timer ack", "close_link link=1 graceful",
                   "state connected->closed (disconnect())"}));
  for (auto t : {EngineTimer::retry, EngineTimer::connect, EngineTimer::heartbeat,
                 EngineTimer::poll, EngineTimer::ack})
    EXPECT_FALSE(h.engine().deadline(t)) << to_string(t);
  EXPECT_EQ(h.fire(10100, EngineTimer::ack), Lines{});
  EXPECT_EQ(h.fire(30010, EngineTimer::heartbeat), Lines{});
  EXPECT_EQ(h.on(30020, engine::LinkLost{1, std::nullopt, "late", std::nullopt}), Lines{});
  EXPECT_EQ(h.on(30030, engine::FrameReceived{1, 10, engine::AckFrame{"p1", "news", 1}}), Lines{});
  EXPECT_EQ(h.engine().state(), State::closed);
  EXPECT_EQ(h.engine().queued(), 1u);
  EXPECT_EQ(h.connect(40000), (Lines{"state closed->connecting (connect())", "dial url=0 link=2",
                                     "arm_timer connect at=50000ms"}));
  EXPECT_EQ(only(h.welcome(40010), "send"), Lines{"send link=2 publish p1"});
}

TEST(ClientEngine, CloseWhileAttemptingCancelsTheConnectTimer) {
  EngineHarness h;
  h.connect(0);
  EXPECT_EQ(h.close(5), (Lines{"cancel_timer connect", "close_link link=1",
                               "state connecting->closed (disconnect())"}));
}

TEST(ClientEngine, CloseBetweenAttemptsCancelsTheRetry) {
  EngineHarness h;
  h.connect(0);
  h.fail(5);
  EXPECT_EQ(h.close(10),
            (Lines{"cancel_timer retry", "state reconnecting->closed (disconnect())"}));
  EXPECT_EQ(h.fire(1005, EngineTimer::retry), Lines{});
}

}  // namespace
}  // namespace steadyws::test
