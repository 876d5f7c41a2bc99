// ClientEngine: the HTTP long-polling fallback. Activation after the retry budget and on a
// quality that stays critical, probes back to the WebSocket on the unlimited backoff, the
// switch back, poll pacing and failover, and publishes over HTTP.
#include <gtest/gtest.h>

#include "unit/core/client_engine_harness.hpp"

namespace steadyws::test {
namespace {

// Budget 1 (one retry), subscribed to news: on the fallback since t = 1020 with poll 1 out.
EngineHarness on_fallback(std::vector<std::string> urls = {"ws://a/ws"}) {
  auto c = engine_config(std::move(urls));
  c.max_reconnect_attempts = 1;
  EngineHarness h(c);
  h.subscribe(0, "news");
  h.connect(0);
  h.fail(10);
  h.fire(1010, EngineTimer::retry);
  h.fail(1020);
  return h;
}

// The answer to a joining poll: news is at seq 0 of epoch e1.
engine::PollAnswered joined() {
  engine::PollAnswered a;
  a.cursors = {{"news", 0}};
  a.epochs = {{"news", "e1"}};
  return a;
}

TEST(ClientEngine, FallbackAfterTheRetryBudget) {
  auto c = engine_config();
  c.max_reconnect_attempts = 2;
  EngineHarness h(c);
  EXPECT_EQ(h.subscribe(0, "news"), Lines{});
  h.connect(0);
  h.fail(10);
  h.fire(1010, EngineTimer::retry);
  h.fail(1020);
  h.fire(3020, EngineTimer::retry);
  EXPECT_EQ(h.fail(3030),
            (Lines{"close_link link=3", "cancel_timer connect", "error attempt: refused",
                   "state reconnecting->disconnected (gave up after 2 attempts: refused)",
                   "start_polling", "poll request=1 url=0 news@-/-",
                   "reconnect_attempt 1 delay=1000ms probe", "arm_timer retry at=4030ms"}));
  EXPECT_TRUE(h.engine().is_using_fallback());
  EXPECT_FALSE(h.engine().has_given_up());
  EXPECT_EQ(h.engine().state(), State::disconnected);
  EXPECT_EQ(h.raw_of<engine::Poll>().at(0).wait, 0ms);  // no cursor yet: a joining poll
}

// A poll that carries a channel with no cursor joins (wait 0) and holds HTTP publishes until
// it is answered: the subscribe comes before our own publish, as on the WebSocket. The polls
// after it carry since and wait the long-poll timeout.
TEST(ClientEngine, AJoiningPollHoldsPublishesUntilItIsAnswered) {
  auto h = on_fallback();
  EXPECT_EQ(h.publish(1025, "p1"), Lines{"enqueued p1 accepted"});
  EXPECT_EQ(h.poll_answered(1030, joined()),
            (Lines{"arm_timer poll at=3530ms", "http_publish request=2 url=0 p1"}));
  EXPECT_EQ(h.fire(3530, EngineTimer::poll), Lines{"poll request=3 url=0 news@0/e1"});
  EXPECT_EQ(h.raw_of<engine::Poll>().back().wait, 25000ms);
  // Not joining: a publish goes out while the long poll is held.
  h.on(3540, engine::PublishAnswered{2, engine::AckFrame{"p1", "news", 1}});
  EXPECT_EQ(h.publish(3550, "p2"),
            (Lines{"enqueued p2 accepted", "http_publish request=4 url=0 p2"}));
}

// A joining poll that fails holds publishes no longer: they go, with their own retry.
TEST(ClientEngine, AFailedJoiningPollReleasesThePublishes) {
  auto h = on_fallback();
  h.publish(1025, "p1");
  EXPECT_EQ(h.poll_failed(1030, "poll ws://a/ws: Connection refused"),
            (Lines{"error poll: poll ws://a/ws: Connection refused", "arm_timer poll at=11030ms",
                   "http_publish request=2 url=0 p1"}));
}

// While polling, the WebSocket is probed on an unlimited backoff (reconnecting during a probe,
// disconnected between); the probe whose welcome arrives ends the fallback.
TEST(ClientEngine, ProbesTheWebSocketAndSwitchesBack) {
  auto h = on_fallback();
  EXPECT_EQ(h.fire(2020, EngineTimer::retry),
            (Lines{"state disconnected->reconnecting (probing the websocket)",
                   "dial url=0 link=3 probe", "arm_timer connect at=12020ms"}));
  EXPECT_EQ(h.fail(2030),
            (Lines{"close_link link=3", "cancel_timer connect", "error attempt: refused",
                   "state reconnecting->disconnected (probe failed: refused)",
                   "reconnect_attempt 2 delay=2000ms probe", "arm_timer retry at=4030ms"}));
  engine::PollAnswered a;
  a.messages = {{"news", 1, "m1"}, {"news", 2, "m2"}};
  a.cursors = {{"news", 2}};
  a.epochs = {{"news", "e1"}};
  EXPECT_EQ(h.poll_answered(3000, a),
            (Lines{"deliver news#1 m1 via_fallback", "deliver news#2 m2 via_fallback",
                   "arm_timer poll at=5500ms"}));  // a fast answer halves the 5 s pause
  h.fire(4030, EngineTimer::retry);
  EXPECT_EQ(
      h.welcome(4040),
      (Lines{"cancel_timer connect", "cancel_timer poll", "stop_polling",
             "state reconnecting->connected (websocket probe held; leaving the fallback)",
             "send link=4 subscribe news since=2 epoch=e1", "arm_timer heartbeat at=34040ms"}));
  EXPECT_FALSE(h.engine().is_using_fallback());
  EXPECT_EQ(h.engine().illegal_transitions(), 0u);
  // The probe backoff was reset: the next fallback probes from 1 s again (checked below).
}

TEST(ClientEngine, ProbeDelaysGrowToTheCapAndNeverRunOut) {
  auto h = on_fallback();
  std::vector<std::int64_t> delays;
  std::int64_t t = 1020;
  for (int i = 0; i < 8; ++i) {
    const auto when = h.engine().deadline(EngineTimer::retry);
    ASSERT_TRUE(when);
    const auto at = std::chrono::duration_cast<Duration>(when->time_since_epoch()).count();
    delays.push_back(at - t);
    h.fire(at, EngineTimer::retry);
    t = at + 1;
    h.fail(t);
  }
  EXPECT_EQ(delays,
            (std::vector<std::int64_t>{1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000}));
  EXPECT_TRUE(h.engine().is_using_fallback());
}

// A probe that fails with a 1001 hint waits the hint, as any attempt does.
TEST(ClientEngine, ARetryAfterHintPacesTheProbeToo) {
  auto h = on_fallback();
  h.fire(2020, EngineTimer::retry);
  h.on(2030, engine::DialSucceeded{h.engine().link()});
  EXPECT_EQ(only(h.lost(2040, 1001, R"({"retryAfterMs":700})", 700ms), "arm_timer"),
            Lines{"arm_timer retry at=2740ms"});
}

TEST(ClientEngine, PollFailuresBackOffAndMoveToTheNextUrl) {
  auto h = on_fallback({"ws://a/ws", "ws://b/ws"});
  EXPECT_EQ(h.engine().url_index(), 0u);  // two failed attempts: a, b, back to a
  EXPECT_EQ(h.poll_failed(2000, "poll ws://a/ws: Connection refused"),
            (Lines{"error poll: poll ws://a/ws: Connection refused",
                   "arm_timer poll at=12000ms"}));  // 5 s doubled
  EXPECT_EQ(h.engine().url_index(), 1u);
  EXPECT_EQ(h.fire(12000, EngineTimer::poll), Lines{"poll request=2 url=1 news@-/-"});
  // A 200 whose body does not parse: same URL, the pause doubles again.
  EXPECT_EQ(h.poll_failed(12100, "bad body", true),
            (Lines{"error poll bad_json: bad body", "arm_timer poll at=32100ms"}));
  EXPECT_EQ(h.engine().url_index(), 1u);
}

TEST(ClientEngine, AnEmptyLongPollIsNotLatency) {
  auto h = on_fallback();
  // The joining poll (wait 0) answered in 1.2 s: all of it latency, slow: x1.5 (7.5 s).
  EXPECT_EQ(only(h.poll_answered(1020 + 1200, joined()), "arm_timer"),
            Lines{"arm_timer poll at=9720ms"});
  h.fire(9720, EngineTimer::poll);
  // Held 25 s by the server and answered empty at 26 s: 1 s of latency, fast: halved.
  EXPECT_EQ(only(h.poll_answered(9720 + 26000, {}), "arm_timer"),
            Lines{"arm_timer poll at=39470ms"});
  h.fire(39470, EngineTimer::poll);
  // Held the whole 25 s and 1.5 s more: slow, x1.5 (3.75 s -> 5.625 s).
  EXPECT_EQ(only(h.poll_answered(39470 + 26500, {}), "arm_timer"),
            Lines{"arm_timer poll at=71595ms"});
}

TEST(ClientEngine, WithoutChannelsTheFallbackOnlyWaits) {
  auto c = engine_config();
  c.max_reconnect_attempts = 1;
  EngineHarness h(c);
  h.connect(0);
  h.fail(10);
  h.fire(1010, EngineTimer::retry);
  EXPECT_EQ(only(h.fail(1020), "poll"), Lines{});
  EXPECT_EQ(h.engine().deadline(EngineTimer::poll), EngineHarness::at(6020));
  EXPECT_EQ(h.subscribe(2000, "news"), Lines{});  // the next poll carries it
  EXPECT_EQ(h.fire(6020, EngineTimer::poll), Lines{"poll request=1 url=0 news@-/-"});
}

TEST(ClientEngine, PublishesGoOneAtATimeOverHttp) {
  auto h = on_fallback();
  h.poll_answered(1030, joined());  // poll at 3530
  EXPECT_EQ(h.publish(2000, "p1"),
            (Lines{"enqueued p1 accepted", "http_publish request=2 url=0 p1"}));
  EXPECT_EQ(h.publish(2001, "p2"), Lines{"enqueued p2 accepted"});
  EXPECT_EQ(h.on(2100, engine::PublishAnswered{2, engine::AckFrame{"p1", "news", 7}}),
            (Lines{"acked p1 news#7", "http_publish request=3 url=0 p2"}));
  EXPECT_EQ(h.on(2200, engine::PublishFailed{3, "POST /api/publish answered HTTP 503"}),
            Lines{"error publish: POST /api/publish answered HTTP 503"});
  EXPECT_EQ(h.engine().queued(), 1u);
  // Retried at the poll pace.
  EXPECT_EQ(h.fire(3530, EngineTimer::poll),
            (Lines{"poll request=4 url=0 news@0/e1", "http_publish request=5 url=0 p2"}));
  // An answer without a parseable ack still removes the entry (by the id sent), silently.
  EXPECT_EQ(h.on(5600, engine::PublishAnswered{5, std::nullopt}), Lines{});
  EXPECT_EQ(h.engine().queued(), 0u);
}

// The publish in flight over HTTP when the WebSocket comes back is dropped unread and sent
// once on the WebSocket; the late HTTP answer does nothing.
TEST(ClientEngine, APublishInFlightOnTheFallbackIsSentOnceOnTheWebSocket) {
  auto h = on_fallback();
  h.poll_answered(1030, joined());
  h.publish(1500, "p1");  // http_publish request=2
  h.fire(2020, EngineTimer::retry);
  EXPECT_EQ(only(h.welcome(2030), "send"),
            (Lines{"send link=3 subscribe news since=0 epoch=e1", "send link=3 publish p1"}));
  EXPECT_EQ(h.on(2040, engine::PublishAnswered{2, engine::AckFrame{"p1", "news", 1}}), Lines{});
  EXPECT_EQ(h.on(2050, engine::PollAnswered{1, {{"news", 1, "m1"}}, {}, {}, {}}), Lines{});
  EXPECT_EQ(h.ack(2060, "p1", 1), Lines{"acked p1 news#1"});
}

TEST(ClientEngine, WithoutTheFallbackTheBudgetGivesUp) {
  auto c = engine_config();
  c.max_reconnect_attempts = 1;
  c.enable_fallback = false;
  EngineHarness h(c);
  h.connect(0);
  h.fail(10);
  h.fire(1010, EngineTimer::retry);
  EXPECT_EQ(only(h.fail(1020), "give_up"), Lines{"give_up after 1 attempts"});
  EXPECT_FALSE(h.engine().is_using_fallback());
}

TEST(ClientEngine, CloseOnTheFallbackStopsPollingAndProbing) {
  auto h = on_fallback();
  EXPECT_EQ(h.close(1500), (Lines{"cancel_timer retry", "stop_polling",
                                  "state disconnected->closed (disconnect())"}));
  EXPECT_EQ(h.on(1600, engine::PollAnswered{1, {{"news", 1, ""}}, {}, {}, {}}), Lines{});
  EXPECT_EQ(h.fire(2020, EngineTimer::retry), Lines{});
  EXPECT_FALSE(h.engine().is_using_fallback());
}

// ---- the critical-quality fallback -------------------------------------------------------

// 1 s heartbeats answered after 600 ms (critical: > 500 ms), fallback after 2 s of critical.
ClientEngineConfig slow_link_config() {
  auto c = engine_config();
  c.heartbeat_interval = 1000ms;
  c.heartbeat_timeout = 900ms;
  c.critical_quality_fallback_after = 2000ms;
  return c;
}

// A ping at `ms` answered `rtt` ms later; returns the lines of the pong.
Lines beat(EngineHarness& h, std::int64_t ms, std::int64_t rtt) {
  EXPECT_EQ(
      only(h.fire(ms, EngineTimer::heartbeat), "send"),
      Lines{"send link=" + std::to_string(h.engine().link()) + " ping " + std::to_string(ms)});
  return h.pong(ms + rtt, ms);
}

TEST(ClientEngine, FallbackWhenQualityStaysCritical) {
  EngineHarness h(slow_link_config());
  h.connect(0);
  h.welcome(0);
  EXPECT_EQ(beat(h, 1000, 600), Lines{});
  EXPECT_EQ(beat(h, 2000, 600), Lines{});
  // The third critical sample moves the level (hysteresis: 3 samples): critical since 3.6 s.
  EXPECT_EQ(beat(h, 3000, 600), Lines{"quality critical"});
  const auto health = h.raw_of<engine::ReportHealth>();
  ASSERT_EQ(health.size(), 1u);
  ASSERT_FALSE(health[0].alerts.empty());
  EXPECT_EQ(health[0].alerts.back().level, AlertLevel::critical);
  EXPECT_EQ(beat(h, 4000, 600), Lines{});  // critical for 1 s: not yet
  EXPECT_EQ(beat(h, 5000, 600),
            (Lines{"close_link link=1 graceful", "cancel_timer heartbeat",
                   "state connected->disconnected (quality critical for 2000 ms)", "start_polling",
                   "arm_timer poll at=10600ms", "reconnect_attempt 1 delay=1000ms probe",
                   "arm_timer retry at=6600ms"}));
  EXPECT_TRUE(h.engine().is_using_fallback());
  // Back on a new WebSocket: its own quality starts fresh, so the next slow sample does not
  // send it straight back although the reported quality is still critical.
  h.fire(6600, EngineTimer::retry);
  h.welcome(6610);
  EXPECT_EQ(beat(h, 7610, 600), Lines{});
  EXPECT_EQ(beat(h, 8610, 600), Lines{});
  EXPECT_EQ(h.engine().quality(), Quality::critical);
  EXPECT_FALSE(h.engine().is_using_fallback());
}

TEST(ClientEngine, ACriticalLinkThatRecoversStaysOnTheWebSocket) {
  EngineHarness h(slow_link_config());
  h.connect(0);
  h.welcome(0);
  beat(h, 1000, 600);
  beat(h, 2000, 600);
  beat(h, 3000, 600);  // critical at 3.6 s
  // Fast samples: after three of them (at 6.001 s, the sample that would have made it two
  // seconds of critical) the level is poor, so there is no fallback.
  for (std::int64_t t = 4000; t < 12000; t += 1000)
    EXPECT_EQ(only(beat(h, t, 1), "state"), Lines{}) << t;
  EXPECT_FALSE(h.engine().is_using_fallback());
  EXPECT_NE(h.engine().quality(), Quality::critical);
}

TEST(ClientEngine, TheCriticalFallbackCanBeTurnedOff) {
  auto c = slow_link_config();
  c.critical_quality_fallback_after = 0ms;
  EngineHarness h(c);
  h.connect(0);
  h.welcome(0);
  for (std::int64_t t = 1000; t < 10000; t += 1000)
    EXPECT_EQ(only(beat(h, t, 600), "start_polling"), Lines{});
  EXPECT_EQ(h.engine().state(), State::connected);
}

}  // namespace
}  // namespace steadyws::test
