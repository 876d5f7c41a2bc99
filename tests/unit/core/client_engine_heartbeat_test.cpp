// ClientEngine: heartbeats on the fake clock. A ping every interval; after a miss a probe at
// once and then every timeout; dead after max_missed misses, at interval + 3 x timeout in the
// worst case (docs/client.md "Heartbeats"); the samples that feed quality.
#include <gtest/gtest.h>

#include "unit/core/client_engine_harness.hpp"

namespace steadyws::test {
namespace {

// Connected on link 1 with the welcome at t0: the first ping is due at 30 s.
EngineHarness connected_at_zero(ClientEngineConfig c = engine_config()) {
  EngineHarness h(std::move(c));
  h.connect(0);
  h.welcome(0);
  return h;
}

TEST(ClientEngine, PingsEveryInterval) {
  auto h = connected_at_zero();
  EXPECT_EQ(h.engine().deadline(EngineTimer::heartbeat), EngineHarness::at(30000));
  EXPECT_EQ(h.fire(29999, EngineTimer::heartbeat), Lines{});
  EXPECT_EQ(h.fire(30000, EngineTimer::heartbeat),
            (Lines{"send link=1 ping 30000", "arm_timer heartbeat at=40000ms"}));
  EXPECT_EQ(h.pong(30040, 30000), Lines{});
  // The pong is one RTT sample: 40 ms, to the monitor, the forecaster and on_health_update.
  const auto health = h.raw_of<engine::ReportHealth>();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_DOUBLE_EQ(health[0].metrics.latency, 40.0);
  const auto forecasts = h.raw_of<engine::ReportForecast>();
  ASSERT_EQ(forecasts.size(), 1u);
  EXPECT_EQ(forecasts[0].rtt_ms, 40.0);
  // The timer armed at the ping's deadline finds nothing to do and moves to the next ping.
  EXPECT_EQ(h.fire(40000, EngineTimer::heartbeat), Lines{"arm_timer heartbeat at=60000ms"});
  EXPECT_EQ(h.fire(60000, EngineTimer::heartbeat),
            (Lines{"send link=1 ping 60000", "arm_timer heartbeat at=70000ms"}));
}

TEST(ClientEngine, DeadAfterThreeMissesAtIntervalPlusThreeTimeouts) {
  auto h = connected_at_zero();
  h.fire(30000, EngineTimer::heartbeat);
  // Miss 1 at 40 s: counted, and probed again at once.
  EXPECT_EQ(h.fire(40000, EngineTimer::heartbeat),
            (Lines{"send link=1 ping 40000", "arm_timer heartbeat at=50000ms"}));
  EXPECT_EQ(h.raw_of<engine::ReportForecast>().size(), 1u);  // a missed sample
  EXPECT_FALSE(h.raw_of<engine::ReportForecast>()[0].rtt_ms);
  EXPECT_EQ(h.engine().heartbeat().missed(), 1u);
  EXPECT_EQ(h.fire(50000, EngineTimer::heartbeat),
            (Lines{"send link=1 ping 50000", "arm_timer heartbeat at=60000ms"}));
  // Miss 3 at 60 s = 30 + 3 x 10: dead. Three lost samples also make the quality critical.
  EXPECT_EQ(h.fire(60000, EngineTimer::heartbeat),
            (Lines{"quality critical", "close_link link=1",
                   "error connection: heartbeat timeout: 3 pings unanswered (interval 30000 ms)",
                   "state connected->error (heartbeat timeout: 3 pings unanswered (interval "
                   "30000 ms))",
                   "state error->reconnecting (retry in 1000 ms)",
                   "reconnect_attempt 1 delay=1000ms", "arm_timer retry at=61000ms"}));
}

// The bound in general: interval + max_missed x timeout when timeout < interval.
TEST(ClientEngine, DeadLinkDetectedAtTheWorstCaseBound) {
  auto c = engine_config();
  c.heartbeat_interval = 5000ms;
  c.heartbeat_timeout = 2000ms;
  c.max_missed_heartbeats = 3;
  auto h = connected_at_zero(c);
  std::optional<TimePoint> dead_at;
  for (int i = 0; i < 10 && !dead_at; ++i) {
    const auto when = h.engine().deadline(EngineTimer::heartbeat);
    ASSERT_TRUE(when);
    const auto ms = std::chrono::duration_cast<Duration>(when->time_since_epoch()).count();
    if (!only(h.fire(ms, EngineTimer::heartbeat), "close_link").empty())
      dead_at = *when;
  }
  EXPECT_EQ(dead_at, EngineHarness::at(5000 + 3 * 2000));
}

TEST(ClientEngine, APongAfterAMissRestoresTheInterval) {
  auto h = connected_at_zero();
  h.fire(30000, EngineTimer::heartbeat);
  h.fire(40000, EngineTimer::heartbeat);  // miss 1, probe 40000
  EXPECT_EQ(h.pong(40100, 40000), Lines{});
  EXPECT_EQ(h.engine().heartbeat().missed(), 0u);
  EXPECT_EQ(h.fire(50000, EngineTimer::heartbeat), Lines{"arm_timer heartbeat at=70000ms"});
}

// Any inbound frame proves liveness: a lost pong with traffic around it is a loss sample, not
// a step towards dead, and no probe.
TEST(ClientEngine, ALostPongWithTrafficIsNotFatal) {
  auto h = connected_at_zero();
  h.fire(30000, EngineTimer::heartbeat);
  h.message(35000, "other", 1);
  EXPECT_EQ(h.fire(40000, EngineTimer::heartbeat), Lines{"arm_timer heartbeat at=60000ms"});
  EXPECT_EQ(h.engine().heartbeat().missed(), 0u);
  EXPECT_EQ(h.engine().heartbeat().total_missed(), 1u);
  EXPECT_EQ(h.raw_of<engine::ReportForecast>().size(), 1u);
}

// A timer far too late (a suspended process): a verification ping, no miss counted.
TEST(ClientEngine, ALateTimerSendsAVerificationPing) {
  auto h = connected_at_zero();
  EXPECT_EQ(h.fire(45000, EngineTimer::heartbeat),
            (Lines{"send link=1 ping 45000", "arm_timer heartbeat at=55000ms"}));
  EXPECT_EQ(h.engine().heartbeat().sleeps_detected(), 1u);
  EXPECT_EQ(h.engine().heartbeat().total_missed(), 0u);
}

// The ping token is the wall clock when the shell gives it, kept strictly increasing.
TEST(ClientEngine, PingTokensAreTheWallClockAndIncrease) {
  auto h = connected_at_zero();
  EXPECT_EQ(only(h.on(30000, engine::TimerFired{EngineTimer::heartbeat, 1700000000000}), "send"),
            Lines{"send link=1 ping 1700000000000"});
  h.pong(30010, 1700000000000);
  h.fire(40000, EngineTimer::heartbeat);
  // The wall clock stepped back: the token still grows.
  EXPECT_EQ(only(h.on(60000, engine::TimerFired{EngineTimer::heartbeat, 1600000000000}), "send"),
            Lines{"send link=1 ping 1700000000001"});
  // A pong that is not ours (no integer token, or unknown) is activity only.
  EXPECT_EQ(h.frame(60010, engine::PongFrame{std::nullopt}), Lines{});
  EXPECT_TRUE(h.raw_of<engine::ReportHealth>().empty());
  EXPECT_EQ(h.pong(60020, 42), Lines{});
  EXPECT_TRUE(h.raw_of<engine::ReportHealth>().empty());
}

// A pong at or after its deadline proves liveness but is not an RTT sample.
TEST(ClientEngine, ALatePongIsNoSample) {
  auto h = connected_at_zero();
  h.fire(30000, EngineTimer::heartbeat);
  EXPECT_EQ(h.pong(40000, 30000), Lines{});
  EXPECT_TRUE(h.raw_of<engine::ReportHealth>().empty());
  EXPECT_EQ(h.engine().heartbeat().late_pongs(), 1u);
}

TEST(ClientEngine, NoHeartbeatBeforeTheWelcomeNorAfterTheLoss) {
  EngineHarness h;
  h.connect(0);
  EXPECT_FALSE(h.engine().deadline(EngineTimer::heartbeat));
  h.welcome(10);
  h.lost(100, 1000, "");
  EXPECT_FALSE(h.engine().deadline(EngineTimer::heartbeat));
  EXPECT_EQ(h.fire(30010, EngineTimer::heartbeat), Lines{});
}

}  // namespace
}  // namespace steadyws::test
