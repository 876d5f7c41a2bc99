// Both bandwidth estimators on a fake clock: a link capped at C bytes/s is simulated by
// delivering what was sent at C (a queue in front of the bottleneck), and the estimators
// must find C within a few percent, say throttled only when data waits, and stay quiet idle.
#include "steadyws/core/bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include <gtest/gtest.h>

#include "core/send_bandwidth_estimator.hpp"

namespace steadyws {
namespace {

using namespace std::chrono_literals;

// ---- the sending side ------------------------------------------------------------------

// A server sending `offered` bytes/s in 10 ms writes over a link of `cap` bytes/s (0: no
// cap) with `base` round trip; the peer answers a probe when every byte before it arrived.
struct SendSim {
  SendBandwidthEstimator est;
  double offered;
  double cap;
  Duration base;
  TimePoint t0{};
  TimePoint now{};
  std::uint64_t written = 0;
  double delivered_until = 0;  // seconds since t0 when the bytes written so far are delivered
  struct Pending {
    std::uint64_t id;
    TimePoint answer_at;
  };
  std::deque<Pending> pending;

  SendSim(double offered_bps, double cap_bps, Duration base_rtt)
      : offered(offered_bps), cap(cap_bps), base(base_rtt) {
    est.on_rtt(base);  // an idle heartbeat RTT, as the session feeds it
  }

  double secs(TimePoint t) const { return std::chrono::duration<double>(t - t0).count(); }

  void run(Duration d, bool sending = true) {
    const TimePoint end = now + d;
    while (now < end) {
      now += 10ms;
      while (!pending.empty() && pending.front().answer_at <= now) {
        est.on_probe_answered(pending.front().id, pending.front().answer_at);
        pending.pop_front();
      }
      if (!sending)
        continue;
      const auto bytes = static_cast<std::uint64_t>(offered * 0.01);
      written += bytes;
      const double t = secs(now);
      const double start = std::max(t, delivered_until);
      delivered_until = cap > 0 ? start + static_cast<double>(bytes) / cap : t;
      if (est.on_written(written, now)) {
        // The probe leaves behind everything written: answered once that is delivered, plus
        // the base round trip.
        const auto id = est.on_probe_sent(written, now);
        const double at =
            std::max(delivered_until, t) + std::chrono::duration<double>(base).count();
        pending.push_back({id, t0 + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(at))});
      }
    }
  }
};

TEST(SendBandwidthEstimator, FindsTheCapOfASaturatedLink) {
  for (double cap : {64.0 * 1024, 256.0 * 1024, 1024.0 * 1024}) {
    SendSim sim(cap * 1.5, cap, 2ms);
    sim.run(8s);
    const auto e = sim.est.estimate(sim.now);
    EXPECT_TRUE(e.throttled) << cap;
    EXPECT_NEAR(e.bytes_per_second, cap, cap * 0.05) << cap;
  }
}

TEST(SendBandwidthEstimator, UncappedLinkUnderTheSameTrafficIsNotThrottled) {
  SendSim sim(1.5 * 1024 * 1024, 0, 2ms);
  sim.run(8s);
  const auto e = sim.est.estimate(sim.now);
  EXPECT_FALSE(e.throttled);
  EXPECT_NEAR(e.bytes_per_second, 1.5 * 1024 * 1024, 0.1 * 1024 * 1024) << "what was carried";
}

TEST(SendBandwidthEstimator, ALongPathIsNotThrottling) {
  SendSim sim(100 * 1024, 0, 400ms);
  sim.run(8s);
  EXPECT_FALSE(sim.est.estimate(sim.now).throttled);
}

TEST(SendBandwidthEstimator, TrafficUnderTheCapIsNotThrottled) {
  SendSim sim(32 * 1024, 64 * 1024, 2ms);
  sim.run(8s);
  const auto e = sim.est.estimate(sim.now);
  EXPECT_FALSE(e.throttled);
  EXPECT_NEAR(e.bytes_per_second, 32 * 1024, 3 * 1024);
}

TEST(SendBandwidthEstimator, IdleSendsNoProbesAndClearsThrottled) {
  SendSim sim(128 * 1024, 64 * 1024, 2ms);
  sim.run(6s);
  ASSERT_TRUE(sim.est.estimate(sim.now).throttled);
  const auto rate = sim.est.estimate(sim.now).bytes_per_second;
  // Stop sending: the backlog drains, probes already out are answered, none are added.
  sim.run(60s, false);
  EXPECT_EQ(sim.est.outstanding(), 0u);
  const auto e = sim.est.estimate(sim.now);
  EXPECT_FALSE(e.throttled);
  EXPECT_NEAR(e.bytes_per_second, rate, rate * 0.05) << "the last estimate is held";
  EXPECT_GT(e.bytes_per_second, 0);
  // The bytes written after the last probe may earn one more; after that, none.
  if (sim.est.on_written(sim.written, sim.now))
    sim.est.on_probe_sent(sim.written, sim.now);
  EXPECT_FALSE(sim.est.on_written(sim.written, sim.now + 10s)) << "no new bytes, no probe";
}

TEST(SendBandwidthEstimator, ProbesAtMostOncePerIntervalAndBoundsOutstanding) {
  const TimePoint t0{};
  constexpr std::uint64_t k = 16 * 1024;
  SendBandwidthEstimator e;
  EXPECT_FALSE(e.on_written(k - 1, t0)) << "a trickle (a welcome, acks) is not probed";
  EXPECT_TRUE(e.on_written(k, t0));
  e.on_probe_sent(k, t0);
  EXPECT_FALSE(e.on_written(3 * k, t0 + 999ms)) << "once a second at most";
  EXPECT_FALSE(e.on_written(k + 100, t0 + 5s)) << "16 KiB since the last probe at least";
  EXPECT_TRUE(e.on_written(3 * k, t0 + 1s));
  for (int i = 1; i < 8; ++i)
    e.on_probe_sent(static_cast<std::uint64_t>(i + 1) * 2 * k, t0 + i * 1s);
  EXPECT_EQ(e.outstanding(), 8u);
  EXPECT_FALSE(e.on_written(100 * k, t0 + 100s)) << "8 unanswered: no more";
  e.on_probe_answered(8, t0 + 100s);  // answers in order: the older ones were lost
  EXPECT_EQ(e.outstanding(), 0u);
  e.on_probe_answered(3, t0 + 100s);  // unknown now: ignored
  EXPECT_TRUE(e.on_written(100 * k, t0 + 101s));
}

TEST(SendBandwidthEstimator, NothingMeasuredYetIsZero) {
  const TimePoint t0{};
  const SendBandwidthEstimator e;
  EXPECT_EQ(e.estimate(t0).bytes_per_second, 0);
  EXPECT_FALSE(e.estimate(t0).throttled);
}

// ---- the receiving side ----------------------------------------------------------------

// A client receiving over a link of `cap` (0: none) what a server sends at `offered`, with a
// heartbeat every `ping_every` whose pong waits behind the queued data.
struct RecvSim {
  ReceiveBandwidthEstimator est;
  double offered;
  double cap;
  Duration base;
  Duration ping_every;
  TimePoint now{};
  double backlog = 0;  // bytes queued at the bottleneck
  Duration since_ping{0};
  std::vector<BandwidthEstimate> reports;

  RecvSim(double offered_bps, double cap_bps, Duration base_rtt, Duration ping = 500ms)
      : offered(offered_bps), cap(cap_bps), base(base_rtt), ping_every(ping) {
    est.on_rtt(base, now);
  }

  void run(Duration d, bool sending = true) {
    const TimePoint end = now + d;
    while (now < end) {
      now += 10ms;
      if (sending)
        backlog += offered * 0.01;
      const double out = cap > 0 ? std::min(backlog, cap * 0.01) : backlog;
      backlog -= out;
      if (out > 0)
        est.on_message(static_cast<std::size_t>(out), now);
      since_ping += 10ms;
      if (since_ping >= ping_every) {
        since_ping = Duration{0};
        const double wait = cap > 0 ? backlog / cap : 0;
        est.on_rtt(base + Duration{static_cast<std::int64_t>(wait * 1000)}, now);
      }
      if (auto r = est.take_report(now))
        reports.push_back(*r);
    }
  }
};

TEST(ReceiveBandwidthEstimator, FindsTheCapOfASaturatedLink) {
  for (double cap : {64.0 * 1024, 256.0 * 1024, 1024.0 * 1024}) {
    RecvSim sim(cap * 1.5, cap, 2ms);
    sim.run(8s);
    const auto e = sim.est.estimate(sim.now);
    EXPECT_TRUE(e.throttled) << cap;
    EXPECT_NEAR(e.bytes_per_second, cap, cap * 0.05) << cap;
  }
}

TEST(ReceiveBandwidthEstimator, UncappedAndLongPathsAreNotThrottled) {
  RecvSim fast(1.5 * 1024 * 1024, 0, 2ms);
  fast.run(8s);
  EXPECT_FALSE(fast.est.estimate(fast.now).throttled);
  EXPECT_NEAR(fast.est.estimate(fast.now).bytes_per_second, 1.5 * 1024 * 1024, 0.1 * 1024 * 1024);
  RecvSim far(100 * 1024, 0, 400ms);
  far.run(8s);
  EXPECT_FALSE(far.est.estimate(far.now).throttled);
  EXPECT_TRUE(fast.reports.empty() && far.reports.empty()) << "never throttled, never reported";
}

TEST(ReceiveBandwidthEstimator, ReportsOnChangeAndEveryFiveSecondsWhileThrottled) {
  RecvSim sim(96 * 1024, 64 * 1024, 2ms);
  sim.run(3s);
  ASSERT_EQ(sim.reports.size(), 1u);
  EXPECT_TRUE(sim.reports[0].throttled);
  sim.run(11s);
  EXPECT_EQ(sim.reports.size(), 3u) << "one every 5 s while it holds";
  // Stop: the backlog drains, the RTT falls back, throttled ends and is reported once.
  sim.run(60s, false);
  ASSERT_GE(sim.reports.size(), 4u);
  EXPECT_FALSE(sim.reports.back().throttled);
  const auto n = sim.reports.size();
  sim.run(20s, false);
  EXPECT_EQ(sim.reports.size(), n) << "idle: nothing more";
}

TEST(ReceiveBandwidthEstimator, OneSlowPongIsNotThrottling) {
  const TimePoint t0{};
  ReceiveBandwidthEstimator e;
  e.on_rtt(5ms, t0);
  TimePoint t = t0;
  for (int i = 0; i < 300; ++i) {
    t += 10ms;
    e.on_message(1000, t);
    if (i == 150)
      e.on_rtt(900ms, t);
    else if (i % 50 == 0)
      e.on_rtt(5ms, t);
  }
  EXPECT_FALSE(e.estimate(t).throttled);
}

TEST(ReceiveBandwidthEstimator, ResetForgetsTheLink) {
  RecvSim sim(128 * 1024, 64 * 1024, 2ms);
  sim.run(4s);
  ASSERT_TRUE(sim.est.estimate(sim.now).throttled);
  sim.est.reset();
  const auto e = sim.est.estimate(sim.now);
  EXPECT_FALSE(e.throttled);
  EXPECT_EQ(e.bytes_per_second, 0);
}

}  // namespace
}  // namespace steadyws
