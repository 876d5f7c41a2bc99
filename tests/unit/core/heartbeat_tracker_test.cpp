#include "core/heartbeat_tracker.hpp"

#include <cstdint>
#include <optional>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;
using A = HeartbeatAction;

// Tokens are the ping's send time in ms, as the client puts the wire timestamp in them.
std::int64_t token_at(TimePoint t) {
  return std::chrono::duration_cast<Duration>(t.time_since_epoch()).count();
}

// Polls at `now`; on a ping request, reports the ping as sent at once. Returns the action.
A step(HeartbeatTracker& hb, TimePoint now) {
  const A a = hb.poll(now);
  if (a == A::send_ping || a == A::verify_ping) {
    hb.on_ping_sent(token_at(now), now);
  }
  return a;
}

TEST(HeartbeatTracker, DefaultsMatchOrigin) {
  const HeartbeatConfig c;
  EXPECT_EQ(c.interval, 30000ms);
  EXPECT_EQ(c.timeout, 10000ms);
  EXPECT_EQ(c.max_missed, 3u);
  EXPECT_FALSE(c.close_on_first_timeout);
  EXPECT_EQ(effective_late_wakeup(c), 10000ms);  // max(timeout, 5 s)
  EXPECT_EQ(effective_late_wakeup({.interval = 1s, .timeout = 500ms}), 5000ms);
  EXPECT_EQ(effective_late_wakeup({.timeout = 20s}), 20000ms);
  EXPECT_EQ(effective_late_wakeup({.late_wakeup = 1500ms}), 1500ms);
}

TEST(HeartbeatTracker, ActionNames) {
  EXPECT_EQ(to_string(A::none), "none");
  EXPECT_EQ(to_string(A::send_ping), "send_ping");
  EXPECT_EQ(to_string(A::verify_ping), "verify_ping");
  EXPECT_EQ(to_string(A::close_dead), "close_dead");
}

// The STYLE 3.7 example, with our semantics (issue 15): the ping at 30 s is missed at 40 s
// and re-probed at once; the probes at 40 and 50 s are missed at 50 and 60 s: dead at
// interval + 3 x timeout = 60 s (it was 100 s with pings every interval: 30, 60, 90 s).
TEST(HeartbeatTracker, ClosesAfterMaxMissed) {
  const TimePoint t0{};
  HeartbeatTracker hb({.interval = 30s, .timeout = 10s, .max_missed = 3}, t0);
  EXPECT_EQ(hb.poll(t0 + 30s), HeartbeatAction::send_ping);
  hb.on_ping_sent(1, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s - 1ms), HeartbeatAction::none);
  EXPECT_EQ(hb.poll(t0 + 40s), HeartbeatAction::send_ping);  // miss 1, re-probed at once
  EXPECT_EQ(hb.missed(), 1u);
  hb.on_ping_sent(2, t0 + 40s);
  EXPECT_EQ(hb.next_deadline(), t0 + 50s);
  EXPECT_EQ(hb.poll(t0 + 50s - 1ms), HeartbeatAction::none);
  EXPECT_EQ(hb.poll(t0 + 50s), HeartbeatAction::send_ping);  // miss 2, probe again
  EXPECT_EQ(hb.missed(), 2u);
  hb.on_ping_sent(3, t0 + 50s);
  EXPECT_EQ(hb.poll(t0 + 60s - 1ms), HeartbeatAction::none);
  EXPECT_EQ(hb.poll(t0 + 60s), HeartbeatAction::close_dead);
  EXPECT_EQ(hb.poll(t0 + 120s), HeartbeatAction::close_dead);  // sticky until reset()
  EXPECT_EQ(hb.missed(), 3u);
  EXPECT_EQ(hb.total_missed(), 3u);
  EXPECT_TRUE(hb.is_dead());
}

TEST(HeartbeatTracker, FirstPingAtIntervalExactly) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  EXPECT_EQ(hb.next_deadline(), t0 + 30s);
  EXPECT_EQ(hb.poll(t0), A::none);
  EXPECT_EQ(hb.poll(t0 + 30s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 30s), A::send_ping);
  // Returned once: polling again at the same instant does not ask for a second ping.
  EXPECT_EQ(hb.poll(t0 + 30s), A::none);
  EXPECT_EQ(hb.next_deadline(), t0 + 60s);
}

TEST(HeartbeatTracker, EarlyPollsChangeNothing) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  const TimePoint deadline = hb.next_deadline();
  EXPECT_EQ(deadline, t0 + 40s);
  for (auto t = t0 + 30s; t < deadline; t += 500ms) {
    EXPECT_EQ(hb.poll(t), A::none);
  }
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.outstanding(), 1u);
  EXPECT_EQ(hb.next_deadline(), deadline);
}

TEST(HeartbeatTracker, PingMissedExactlyAtTimeout) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s - 1ms), A::none);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.poll(t0 + 40s), A::send_ping);  // counted, and re-probed at once
  EXPECT_EQ(hb.missed(), 1u);
  EXPECT_EQ(hb.total_missed(), 1u);
  EXPECT_EQ(hb.outstanding(), 0u);
}

TEST(HeartbeatTracker, PingMissedOneMsAfterTimeout) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s + 1ms), A::send_ping);
  EXPECT_EQ(hb.missed(), 1u);
  EXPECT_EQ(hb.total_missed(), 1u);
}

TEST(HeartbeatTracker, PongOneMsBeforeTimeoutIsInTime) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  const auto r = hb.on_pong(token_at(t0 + 30s), t0 + 40s - 1ms);
  EXPECT_TRUE(r.matched);
  EXPECT_FALSE(r.late);
  EXPECT_EQ(r.rtt, 9999ms);
  EXPECT_EQ(hb.last_rtt(), 9999ms);
  EXPECT_EQ(hb.poll(t0 + 40s), A::none);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.total_missed(), 0u);
  EXPECT_EQ(hb.late_pongs(), 0u);
}

TEST(HeartbeatTracker, PongExactlyAtTimeoutIsLate) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  const auto r = hb.on_pong(token_at(t0 + 30s), t0 + 40s);
  EXPECT_TRUE(r.matched);
  EXPECT_TRUE(r.late);
  EXPECT_EQ(r.rtt, 10000ms);
  EXPECT_FALSE(hb.last_rtt().has_value());  // not a fresh sample
  EXPECT_EQ(hb.late_pongs(), 1u);
  EXPECT_EQ(hb.total_missed(), 1u);  // the ping was not answered in time
  EXPECT_EQ(hb.missed(), 0u);        // but the peer is alive
  EXPECT_EQ(hb.poll(t0 + 40s), A::none);
  EXPECT_EQ(hb.total_missed(), 1u);  // not counted twice
}

// Whether poll() or on_pong() runs first at the deadline, the counts come out the same.
TEST(HeartbeatTracker, LatePongAfterPollCountsTheSame) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s), A::send_ping);
  EXPECT_EQ(hb.missed(), 1u);
  const auto r = hb.on_pong(token_at(t0 + 30s), t0 + 45s);
  EXPECT_TRUE(r.matched);
  EXPECT_TRUE(r.late);
  EXPECT_EQ(r.rtt, 15000ms);
  EXPECT_EQ(hb.late_pongs(), 1u);
  EXPECT_EQ(hb.total_missed(), 1u);
  EXPECT_EQ(hb.missed(), 0u);  // a late pong still proves liveness
  EXPECT_FALSE(hb.last_rtt().has_value());
  // A duplicate of the same pong no longer matches.
  EXPECT_FALSE(hb.on_pong(token_at(t0 + 30s), t0 + 46s).matched);
}

TEST(HeartbeatTracker, UnknownTokenDoesNotMatch) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  const auto r = hb.on_pong(12345, t0 + 31s);
  EXPECT_FALSE(r.matched);
  EXPECT_FALSE(r.late);
  EXPECT_EQ(r.rtt, 0ms);
  EXPECT_EQ(hb.outstanding(), 1u);  // the real ping is still waiting
  EXPECT_EQ(hb.late_pongs(), 0u);
}

TEST(HeartbeatTracker, RecordsRoundTrip) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  const auto r = hb.on_pong(token_at(t0 + 30s), t0 + 30s + 42ms + 700us);
  EXPECT_TRUE(r.matched);
  EXPECT_FALSE(r.late);
  EXPECT_EQ(r.rtt, 42ms);  // truncated to whole ms
  EXPECT_EQ(r.rtt_exact, 42700us);
  EXPECT_EQ(hb.last_rtt(), 42ms);
  EXPECT_EQ(hb.outstanding(), 0u);
  EXPECT_EQ(hb.next_deadline(), t0 + 60s);
}

TEST(HeartbeatTracker, AnsweredPingsNeverClose) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  for (int i = 1; i <= 100; ++i) {
    const TimePoint sent = t0 + i * 30s;
    ASSERT_EQ(step(hb, sent), A::send_ping) << i;
    ASSERT_FALSE(hb.on_pong(token_at(sent), sent + 20ms).late);
    ASSERT_EQ(hb.poll(sent + 10s), A::none);
  }
  EXPECT_EQ(hb.total_missed(), 0u);
  EXPECT_FALSE(hb.is_dead());
}

TEST(HeartbeatTracker, ClosesAfterFirstTimeoutWhenConfigured) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 40s), A::close_dead);
  EXPECT_EQ(hb.next_deadline(), t0 + 40s);
}

TEST(HeartbeatTracker, MaxMissedZeroActsAsOne) {
  const TimePoint t0{};
  HeartbeatTracker hb({.max_missed = 0}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s), A::close_dead);
}

TEST(HeartbeatTracker, PongBetweenMissesResetsTheCount) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(step(hb, t0 + 40s), A::send_ping);  // miss 1, probe
  EXPECT_EQ(step(hb, t0 + 50s), A::send_ping);  // miss 2, probe
  ASSERT_EQ(hb.missed(), 2u);
  hb.on_pong(token_at(t0 + 50s), t0 + 50s + 5ms);
  EXPECT_EQ(hb.missed(), 0u);
  // Back to the interval: the next ping 30 s after the answered probe, not 10 s.
  EXPECT_EQ(hb.next_deadline(), t0 + 80s);
  EXPECT_EQ(step(hb, t0 + 60s), A::none);
  EXPECT_EQ(step(hb, t0 + 80s), A::send_ping);
  EXPECT_EQ(step(hb, t0 + 90s), A::send_ping);  // miss 1 again, not 3
  EXPECT_EQ(hb.missed(), 1u);
  EXPECT_EQ(hb.total_missed(), 3u);
}

TEST(HeartbeatTracker, ActivityResetsMissed) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  step(hb, t0 + 40s);
  step(hb, t0 + 50s);  // misses at 40 and 50 s; the probe sent at 50 s is outstanding
  ASSERT_EQ(hb.missed(), 2u);
  hb.on_activity(t0 + 55s);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.total_missed(), 2u);  // totals are history, not reset
  EXPECT_EQ(hb.last_activity(), t0 + 55s);
  EXPECT_EQ(hb.outstanding(), 1u);          // outstanding pings are untouched
  EXPECT_EQ(hb.next_deadline(), t0 + 60s);  // the probe's deadline
  EXPECT_EQ(hb.poll(t0 + 60s), A::none);    // its miss is excused (activity after it)
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.next_deadline(), t0 + 80s);  // and the cadence is the interval again
}

// Rule 3: a frame after the ping proves liveness, so the lost pong is loss, not death.
TEST(HeartbeatTracker, ActivityAfterPingExcusesItsMiss) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  step(hb, t0 + 30s);
  hb.on_activity(t0 + 35s);
  EXPECT_EQ(hb.poll(t0 + 40s), A::none);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.total_missed(), 1u);
  // Activity before the next ping does not excuse that one.
  step(hb, t0 + 60s);
  EXPECT_EQ(hb.poll(t0 + 70s), A::close_dead);
}

TEST(HeartbeatTracker, ActivityAtTheSendInstantDoesNotExcuse) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  hb.on_activity(t0 + 30s);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s), A::close_dead);
}

TEST(HeartbeatTracker, UnmatchedPongStillProvesLiveness) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  step(hb, t0 + 40s);
  ASSERT_EQ(hb.missed(), 1u);
  EXPECT_FALSE(hb.on_pong(999, t0 + 45s).matched);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.poll(t0 + 50s), A::none);  // the probe's miss is excused by that pong
  EXPECT_EQ(hb.next_deadline(), t0 + 70s);
}

TEST(HeartbeatTracker, TimeoutLongerThanIntervalTracksSeveralPings) {
  const TimePoint t0{};
  HeartbeatTracker hb({.interval = 1s, .timeout = 2500ms, .max_missed = 2}, t0);
  EXPECT_EQ(step(hb, t0 + 1s), A::send_ping);
  EXPECT_EQ(step(hb, t0 + 2s), A::send_ping);
  EXPECT_EQ(step(hb, t0 + 3s), A::send_ping);
  EXPECT_EQ(hb.outstanding(), 3u);
  EXPECT_EQ(hb.next_deadline(), t0 + 3500ms);
  // The second ping's pong arrives; the first is still missed at 3.5 s.
  EXPECT_FALSE(hb.on_pong(token_at(t0 + 2s), t0 + 3200ms).late);
  EXPECT_EQ(hb.poll(t0 + 3500ms), A::none);
  EXPECT_EQ(hb.missed(), 0u);  // excused: the pong at 3.2 s came after it was sent
  EXPECT_EQ(hb.total_missed(), 1u);
  EXPECT_EQ(hb.next_deadline(), t0 + 4s);
}

TEST(HeartbeatTracker, CoincidentMissAndPingDue) {
  const TimePoint t0{};
  HeartbeatTracker hb({.interval = 10s, .timeout = 10s}, t0);
  step(hb, t0 + 10s);
  EXPECT_EQ(hb.poll(t0 + 20s), A::send_ping);  // the miss is counted, the ping still goes out
  EXPECT_EQ(hb.missed(), 1u);
}

TEST(HeartbeatTracker, PingSentByShellReschedules) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  hb.on_ping_sent(7, t0 + 12s);  // e.g. a user-triggered ping
  EXPECT_EQ(hb.next_deadline(), t0 + 22s);
  EXPECT_FALSE(hb.on_pong(7, t0 + 12s + 3ms).late);
  EXPECT_EQ(hb.next_deadline(), t0 + 42s);
  EXPECT_EQ(hb.poll(t0 + 30s), A::none);  // the old 30 s slot was moved
  EXPECT_EQ(hb.poll(t0 + 42s), A::send_ping);
}

TEST(HeartbeatTracker, ShellPingMissedIsReprobedAtOnce) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  hb.on_ping_sent(7, t0 + 12s);
  EXPECT_EQ(hb.poll(t0 + 22s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 22s), A::send_ping);  // its miss, and the probe
  EXPECT_EQ(hb.missed(), 1u);
}

// ---- issue 15 part 3: after a counted miss, probe at once and then every timeout ----------

// The probe is due at the missed ping's deadline itself, not a millisecond later, and the
// poll() that counts the miss is the one that asks for it.
TEST(HeartbeatTracker, ReprobeAtTheMissInstant) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.next_deadline(), t0 + 40s);
  EXPECT_EQ(hb.poll(t0 + 40s - 1ms), A::none);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.poll(t0 + 40s), A::send_ping);
  EXPECT_EQ(hb.missed(), 1u);
  EXPECT_EQ(hb.poll(t0 + 40s), A::none);  // asked once
  hb.on_ping_sent(2, t0 + 40s);
  EXPECT_EQ(hb.outstanding(), 1u);
  EXPECT_EQ(hb.next_deadline(), t0 + 50s);
}

// While misses accumulate, pings go out every timeout (10 s), not every interval (30 s).
TEST(HeartbeatTracker, ProbesEveryTimeoutWhileMissing) {
  const TimePoint t0{};
  HeartbeatTracker hb({.max_missed = 5}, t0);
  step(hb, t0 + 30s);
  for (int k = 1; k <= 4; ++k) {
    const TimePoint miss = t0 + 30s + k * 10s;
    ASSERT_EQ(hb.poll(miss - 1ms), A::none) << k;
    ASSERT_EQ(step(hb, miss), A::send_ping) << k;
    ASSERT_EQ(hb.missed(), static_cast<std::uint32_t>(k));
    ASSERT_EQ(hb.next_deadline(), miss + 10s) << k;
  }
  EXPECT_EQ(hb.poll(t0 + 80s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 80s), A::close_dead);  // 30 + 5 x 10 s
}

// A single lost pong costs one extra ping and nothing else: the probe's answer resets the
// count and the next ping is an interval after the probe, exactly.
TEST(HeartbeatTracker, SingleLostPongCostsNothing) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);                           // its pong is lost
  EXPECT_EQ(step(hb, t0 + 40s), A::send_ping);  // miss 1 -> probe
  const auto r = hb.on_pong(token_at(t0 + 40s), t0 + 40s + 7ms);
  EXPECT_TRUE(r.matched);
  EXPECT_FALSE(r.late);
  EXPECT_EQ(hb.last_rtt(), 7ms);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.total_missed(), 1u);  // still counted as loss
  EXPECT_EQ(hb.next_deadline(), t0 + 70s);
  EXPECT_EQ(hb.poll(t0 + 70s - 1ms), A::none);
  EXPECT_EQ(step(hb, t0 + 70s), A::send_ping);
  EXPECT_FALSE(hb.is_dead());
}

// A late pong for the missed ping, arriving while the probe is out, also resets: the probe's
// own miss is then excused (the late pong came after it was sent), and the cadence returns to
// the interval counted from the probe.
TEST(HeartbeatTracker, LatePongThenGoodOneResets) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  step(hb, t0 + 40s);  // miss 1, probe at 40 s
  const auto late = hb.on_pong(token_at(t0 + 30s), t0 + 44s);
  EXPECT_TRUE(late.matched);
  EXPECT_TRUE(late.late);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.next_deadline(), t0 + 50s);  // the probe's deadline
  const auto good = hb.on_pong(token_at(t0 + 40s), t0 + 45s);
  EXPECT_FALSE(good.late);
  EXPECT_EQ(hb.next_deadline(), t0 + 70s);
  EXPECT_EQ(hb.poll(t0 + 70s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 70s), A::send_ping);
  EXPECT_EQ(hb.total_missed(), 1u);
  EXPECT_EQ(hb.late_pongs(), 1u);
}

// Two misses, then an answered probe: back to interval, and a later outage needs three
// fresh misses again.
TEST(HeartbeatTracker, TwoMissesThenAnswerStartsOver) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  step(hb, t0 + 40s);
  step(hb, t0 + 50s);
  ASSERT_EQ(hb.missed(), 2u);
  hb.on_pong(token_at(t0 + 50s), t0 + 59s);  // 1 ms before the probe's deadline: in time
  EXPECT_EQ(hb.poll(t0 + 60s), A::none);
  EXPECT_EQ(hb.next_deadline(), t0 + 80s);
  step(hb, t0 + 80s);
  EXPECT_EQ(step(hb, t0 + 90s), A::send_ping);
  EXPECT_EQ(step(hb, t0 + 100s), A::send_ping);
  EXPECT_EQ(hb.poll(t0 + 110s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 110s), A::close_dead);
}

// A miss excused by other traffic (rule 3) is loss, not a step toward death: no probing.
TEST(HeartbeatTracker, ExcusedMissKeepsTheInterval) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  hb.on_activity(t0 + 31s);
  EXPECT_EQ(hb.poll(t0 + 40s), A::none);
  EXPECT_EQ(hb.total_missed(), 1u);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.next_deadline(), t0 + 60s);
}

// The bound, for every moment of death across two ping cycles (1 ms steps over the edges,
// 250 ms elsewhere): a peer that answers every ping in 5 ms until it freezes at d is
// declared dead at most interval + 3 x timeout after its last frame, and at least 3 timeouts
// after it (three misses).
TEST(HeartbeatTracker, DeadWithinIntervalPlusThreeTimeouts) {
  constexpr auto kRtt = 5ms;
  for (auto d = Duration{0}; d <= 60s; d += (d % 30s < 10ms || d % 30s > 29990ms) ? 1ms : 250ms) {
    const TimePoint t0{};
    HeartbeatTracker hb({}, t0);
    TimePoint last_frame = t0;
    TimePoint now = t0;
    std::optional<TimePoint> died;
    for (int guard = 0; guard < 100 && !died; ++guard) {
      now = hb.next_deadline();
      const A a = hb.poll(now);
      if (a == A::close_dead) {
        died = now;
      } else if (a == A::send_ping) {
        hb.on_ping_sent(token_at(now), now);
        if (now + kRtt <= t0 + d) {  // the peer still answers
          hb.on_pong(token_at(now), now + kRtt);
          last_frame = now + kRtt;
        }
      }
    }
    ASSERT_TRUE(died) << d.count();
    EXPECT_LE(*died - last_frame, 30s + 3 * 10s) << "death at " << d.count() << " ms";
    EXPECT_GE(*died - last_frame, 3 * 10s - kRtt) << "death at " << d.count() << " ms";
  }
}

// At the old worst case (frozen just after answering a ping) the new bound is met exactly.
TEST(HeartbeatTracker, WorstCaseIsExactlyIntervalPlusThreeTimeouts) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  hb.on_pong(token_at(t0 + 30s), t0 + 30s);  // last frame, at the send instant (0 ms RTT)
  step(hb, t0 + 60s);
  step(hb, t0 + 70s);
  step(hb, t0 + 80s);
  EXPECT_EQ(hb.poll(t0 + 90s - 1ms), A::none);
  EXPECT_EQ(hb.poll(t0 + 90s), A::close_dead);  // 30 s + 60 s after the last frame
}

// timeout >= interval: the probe cadence is never slower than the interval.
TEST(HeartbeatTracker, ProbePeriodNeverExceedsInterval) {
  const TimePoint t0{};
  HeartbeatTracker hb({.interval = 1s, .timeout = 3s, .max_missed = 3}, t0);
  step(hb, t0 + 1s);
  step(hb, t0 + 2s);
  step(hb, t0 + 3s);
  EXPECT_EQ(step(hb, t0 + 4s), A::send_ping);  // the first ping's miss, and the 4 s ping
  EXPECT_EQ(hb.missed(), 1u);
  EXPECT_EQ(hb.next_deadline(), t0 + 5s);
}

// A close_on_first_timeout tracker still dies at the first miss; nothing is probed.
TEST(HeartbeatTracker, FirstTimeoutModeDoesNotProbe) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 40s), A::close_dead);
}

// Rule 5 edges: exactly next_deadline() + late_wakeup is ordinary lateness; 1 ms more is sleep.
TEST(HeartbeatTracker, PollExactlyAtLateWakeupIsNotSleep) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  step(hb, t0 + 30s);
  ASSERT_EQ(hb.next_deadline(), t0 + 40s);
  EXPECT_EQ(hb.poll(t0 + 50s), A::close_dead);  // 40 s + 10 s late_wakeup, exactly
  EXPECT_EQ(hb.sleeps_detected(), 0u);
}

TEST(HeartbeatTracker, PollOneMsPastLateWakeupVerifiesInsteadOfClosing) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  step(hb, t0 + 30s);
  EXPECT_EQ(hb.poll(t0 + 50s + 1ms), A::verify_ping);
  EXPECT_EQ(hb.sleeps_detected(), 1u);
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.total_missed(), 0u);  // the stale ping is discarded, not missed
  EXPECT_EQ(hb.outstanding(), 0u);
  EXPECT_FALSE(hb.is_dead());
  EXPECT_EQ(hb.poll(t0 + 50s + 1ms), A::none);  // asked once
}

TEST(HeartbeatTracker, LaptopSleepThenHealthyPeer) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  step(hb, t0 + 40s);  // miss 1, probe sent at 40 s
  // Lid closed at 41 s, opened at 3 h: the timer for 50 s fires at 3 h.
  const TimePoint wake = t0 + 3h;
  EXPECT_EQ(step(hb, wake), A::verify_ping);
  EXPECT_EQ(hb.missed(), 1u);  // unchanged across the sleep
  EXPECT_EQ(hb.total_missed(), 1u);
  // The stale probe's pong, queued in the socket, still matches, as late.
  const auto stale = hb.on_pong(token_at(t0 + 40s), wake + 1ms);
  EXPECT_TRUE(stale.matched);
  EXPECT_TRUE(stale.late);
  EXPECT_EQ(hb.late_pongs(), 1u);
  // The verification ping is answered: a fresh sample, back to normal.
  const auto fresh = hb.on_pong(token_at(wake), wake + 30ms);
  EXPECT_TRUE(fresh.matched);
  EXPECT_FALSE(fresh.late);
  EXPECT_EQ(hb.last_rtt(), 30ms);
  EXPECT_EQ(hb.next_deadline(), wake + 30s);
}

TEST(HeartbeatTracker, MissedVerificationPingCountsNormally) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  step(hb, t0 + 40s);  // miss 1, probe
  step(hb, t0 + 50s);  // miss 2, probe outstanding, then the process sleeps
  const TimePoint wake = t0 + 10min;
  EXPECT_EQ(step(hb, wake), A::verify_ping);
  EXPECT_EQ(hb.missed(), 2u);
  EXPECT_EQ(hb.next_deadline(), wake + 10s);
  EXPECT_EQ(hb.poll(wake + 10s - 1ms), A::none);
  EXPECT_EQ(hb.poll(wake + 10s), A::close_dead);
  EXPECT_EQ(hb.total_missed(), 3u);
}

TEST(HeartbeatTracker, SleepWithNothingOutstandingAlsoVerifies) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  EXPECT_EQ(hb.poll(t0 + 40s), A::send_ping);  // 10 s late: ordinary
  hb.on_ping_sent(1, t0 + 40s);
  hb.on_pong(1, t0 + 40s + 10ms);
  EXPECT_EQ(hb.poll(t0 + 80s + 1ms), A::verify_ping);  // due at 70 s, 10 s + 1 ms late
}

TEST(HeartbeatTracker, ExplicitLateWakeupIsHonoured) {
  const TimePoint t0{};
  HeartbeatTracker hb({.late_wakeup = 2s}, t0);
  EXPECT_EQ(hb.poll(t0 + 32s), A::send_ping);
  HeartbeatTracker hb2({.late_wakeup = 2s}, t0);
  EXPECT_EQ(hb2.poll(t0 + 32s + 1ms), A::verify_ping);
}

TEST(HeartbeatTracker, DeadStaysDeadUntilReset) {
  const TimePoint t0{};
  HeartbeatTracker hb({.close_on_first_timeout = true}, t0);
  step(hb, t0 + 30s);
  ASSERT_EQ(hb.poll(t0 + 40s), A::close_dead);
  hb.on_activity(t0 + 41s);
  EXPECT_EQ(hb.poll(t0 + 1h), A::close_dead);  // no sleep detection once dead

  hb.reset(t0 + 2h);
  EXPECT_FALSE(hb.is_dead());
  EXPECT_EQ(hb.missed(), 0u);
  EXPECT_EQ(hb.outstanding(), 0u);
  EXPECT_EQ(hb.total_missed(), 1u);  // lifetime totals survive reconnects
  EXPECT_EQ(hb.next_deadline(), t0 + 2h + 30s);
  EXPECT_EQ(hb.poll(t0 + 2h + 30s), A::send_ping);
}

TEST(HeartbeatTracker, ResetForgetsOldPings) {
  const TimePoint t0{};
  HeartbeatTracker hb({}, t0);
  step(hb, t0 + 30s);
  hb.reset(t0 + 35s);
  EXPECT_FALSE(hb.on_pong(token_at(t0 + 30s), t0 + 36s).matched);
  EXPECT_EQ(hb.poll(t0 + 45s), A::none);
  EXPECT_EQ(hb.total_missed(), 0u);
}

TEST(HeartbeatTracker, RemembersOnlyRecentExpiredPings) {
  const TimePoint t0{};
  HeartbeatTracker hb({.max_missed = 1000}, t0);
  const std::size_t n = HeartbeatTracker::kRememberedPings + 1;
  // Ping at 30 s, then (every one missed) a probe every 10 s: ping i is sent at 20 + 10 i s.
  ASSERT_EQ(step(hb, t0 + 30s), A::send_ping);
  for (std::size_t i = 2; i <= n; ++i) {
    ASSERT_EQ(step(hb, t0 + 20s + static_cast<int>(i) * 10s), A::send_ping) << i;
  }
  const TimePoint last_deadline = t0 + 30s + static_cast<int>(n) * 10s;
  ASSERT_EQ(hb.poll(last_deadline), A::send_ping);  // the n-th miss; this probe is not sent
  EXPECT_EQ(hb.total_missed(), n);
  const TimePoint later = last_deadline + 5s;
  EXPECT_FALSE(hb.on_pong(token_at(t0 + 30s), later).matched);  // the oldest was forgotten
  EXPECT_TRUE(hb.on_pong(token_at(t0 + 40s), later).matched);
}

TEST(HeartbeatTracker, ZeroIntervalIsClampedNotASpin) {
  const TimePoint t0{};
  HeartbeatTracker hb({.interval = 0ms, .timeout = 0ms}, t0);
  EXPECT_EQ(hb.next_deadline(), t0 + 1ms);
  EXPECT_EQ(hb.poll(t0), A::none);
  EXPECT_EQ(hb.poll(t0 + 1ms), A::send_ping);
}

}  // namespace
}  // namespace steadyws
