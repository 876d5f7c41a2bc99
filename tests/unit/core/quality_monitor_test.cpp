#include "steadyws/core/quality_monitor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

struct ClassifyCase {
  double latency;
  double loss;
  Quality expected;
};

TEST(Quality, ClassifyEveryLatencyBoundary) {
  const ClassifyCase cases[] = {
      {0.0, 0, Quality::excellent}, {49.99, 0, Quality::excellent}, {50.0, 0, Quality::good},
      {100.0, 0, Quality::good},    {100.01, 0, Quality::fair},     {200.0, 0, Quality::fair},
      {200.01, 0, Quality::poor},   {500.0, 0, Quality::poor},      {500.01, 0, Quality::critical},
      {1e9, 0, Quality::critical},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify(c.latency, c.loss), c.expected) << "latency " << c.latency;
  }
}

TEST(Quality, ClassifyEveryLossBoundary) {
  const ClassifyCase cases[] = {
      {0, 0.0, Quality::excellent},  {0, 0.49, Quality::excellent}, {0, 0.5, Quality::good},
      {0, 2.0, Quality::good},       {0, 2.01, Quality::fair},      {0, 5.0, Quality::fair},
      {0, 5.01, Quality::poor},      {0, 10.0, Quality::poor},      {0, 10.01, Quality::critical},
      {0, 100.0, Quality::critical},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify(c.latency, c.loss), c.expected) << "loss " << c.loss;
  }
}

TEST(Quality, ClassifyTakesTheWorseOfLatencyAndLoss) {
  EXPECT_EQ(classify(10, 6), Quality::poor);
  EXPECT_EQ(classify(150, 0.1), Quality::fair);
  EXPECT_EQ(classify(600, 1), Quality::critical);
  EXPECT_EQ(classify(60, 1), Quality::good);
}

TEST(Quality, ClassifyNanIsCritical) {
  EXPECT_EQ(classify(std::numeric_limits<double>::quiet_NaN(), 0), Quality::critical);
  EXPECT_EQ(classify(0, std::numeric_limits<double>::quiet_NaN()), Quality::critical);
}

TEST(Quality, ToStringSpellsTheWireWords) {
  EXPECT_EQ(to_string(Quality::excellent), "excellent");
  EXPECT_EQ(to_string(Quality::good), "good");
  EXPECT_EQ(to_string(Quality::fair), "fair");
  EXPECT_EQ(to_string(Quality::poor), "poor");
  EXPECT_EQ(to_string(Quality::critical), "critical");
  EXPECT_EQ(to_string(AlertLevel::warning), "warning");
  EXPECT_EQ(to_string(AlertLevel::error), "error");
  EXPECT_EQ(to_string(AlertLevel::critical), "critical");
}

TEST(QualityMonitor, StartsExcellentWithNeutralMetrics) {
  const TimePoint t0{};
  QualityMonitor qm;
  EXPECT_EQ(qm.level(), Quality::excellent);
  EXPECT_FALSE(qm.take_level_change());
  const QualityMetrics m = qm.metrics(t0);
  EXPECT_EQ(m.latency, 0);
  EXPECT_EQ(m.jitter, 0);
  EXPECT_EQ(m.packet_loss, 0);
  EXPECT_EQ(m.reliability, 100);
  EXPECT_EQ(m.uptime_ms, 0);
  EXPECT_EQ(m.reconnect_count, 0u);
  EXPECT_TRUE(qm.alerts(t0).empty());
  EXPECT_TRUE(qm.recommendations(t0).empty());
}

TEST(QualityMonitor, LatencyIsMeanAndJitterMeanAbsoluteDifference) {
  const TimePoint t0{};
  QualityMonitor qm;
  qm.record_rtt(10ms, t0);
  qm.record_rtt(30ms, t0);
  qm.record_rtt(20ms, t0);
  const QualityMetrics m = qm.metrics(t0);
  EXPECT_DOUBLE_EQ(m.latency, 20.0);
  EXPECT_DOUBLE_EQ(m.jitter, 15.0);  // (|30-10| + |20-30|) / 2
}

TEST(QualityMonitor, KeepsSubMillisecondPrecision) {
  const TimePoint t0{};
  QualityMonitor qm;
  qm.record_rtt(250us, t0);
  qm.record_rtt(350us, t0);
  const QualityMetrics m = qm.metrics(t0);
  EXPECT_DOUBLE_EQ(m.latency, 0.3);
  EXPECT_DOUBLE_EQ(m.jitter, 0.1);
}

TEST(QualityMonitor, MissedSamplesCountAsLossAndAreSkippedByJitter) {
  const TimePoint t0{};
  QualityMonitor qm;
  qm.record_rtt(10ms, t0);
  qm.record_missed(t0);
  qm.record_rtt(40ms, t0);
  qm.record_missed(t0);
  const QualityMetrics m = qm.metrics(t0);
  EXPECT_DOUBLE_EQ(m.packet_loss, 50.0);
  EXPECT_DOUBLE_EQ(m.latency, 25.0);
  EXPECT_DOUBLE_EQ(m.jitter, 30.0);
}

TEST(QualityMonitor, WindowKeepsOnlyTheLastSamples) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 4});
  qm.record_missed(t0);
  qm.record_rtt(1000ms, t0);
  for (int i = 0; i < 4; ++i) {
    qm.record_rtt(10ms, t0);
  }
  const QualityMetrics m = qm.metrics(t0);
  EXPECT_EQ(qm.samples(), 4u);
  EXPECT_DOUBLE_EQ(m.latency, 10.0);
  EXPECT_DOUBLE_EQ(m.packet_loss, 0.0);
  EXPECT_DOUBLE_EQ(m.jitter, 0.0);
}

TEST(QualityMonitor, DefaultWindowIsFifty) {
  const TimePoint t0{};
  QualityMonitor qm;
  qm.record_missed(t0);
  for (int i = 0; i < 49; ++i) {
    qm.record_rtt(1ms, t0);
  }
  EXPECT_DOUBLE_EQ(qm.metrics(t0).packet_loss, 2.0);
  qm.record_rtt(1ms, t0);
  EXPECT_DOUBLE_EQ(qm.metrics(t0).packet_loss, 0.0);
}

TEST(QualityMonitor, SingleSampleOnABoundaryDoesNotFlap) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 3});
  for (int i = 0; i < 10; ++i) {
    qm.record_rtt(51ms, t0);  // one good sample among excellent ones
    ASSERT_EQ(qm.level(), Quality::excellent) << i;
    qm.record_rtt(49ms, t0);
    ASSERT_EQ(qm.level(), Quality::excellent) << i;
    ASSERT_FALSE(qm.take_level_change()) << i;
  }
  qm.record_rtt(51ms, t0);
  qm.record_rtt(51ms, t0);  // two in a row: still held
  EXPECT_EQ(qm.level(), Quality::excellent);
}

TEST(QualityMonitor, SustainedChangeMovesTheLevelOnce) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 3});
  qm.record_rtt(300ms, t0);
  qm.record_rtt(300ms, t0);
  EXPECT_EQ(qm.level(), Quality::excellent);
  qm.record_rtt(300ms, t0);
  EXPECT_EQ(qm.level(), Quality::poor);
  EXPECT_EQ(qm.take_level_change(), Quality::poor);
  EXPECT_FALSE(qm.take_level_change());
  qm.record_rtt(300ms, t0);
  EXPECT_FALSE(qm.take_level_change());
}

TEST(QualityMonitor, StreakMovesToTheMildestLevelItHeld) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 3});
  qm.record_rtt(600ms, t0);  // critical
  qm.record_rtt(150ms, t0);  // fair
  qm.record_rtt(300ms, t0);  // poor
  EXPECT_EQ(qm.level(), Quality::fair);
}

TEST(QualityMonitor, SamplesOnBothSidesNeverMoveTheLevel) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 2});
  qm.record_rtt(150ms, t0);
  qm.record_rtt(150ms, t0);
  ASSERT_EQ(qm.level(), Quality::fair);
  for (int i = 0; i < 10; ++i) {
    qm.record_rtt(600ms, t0);  // worse
    qm.record_rtt(10ms, t0);   // better: the streak starts over
  }
  EXPECT_EQ(qm.level(), Quality::fair);
}

TEST(QualityMonitor, ImprovingStreakMovesUp) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 2});
  qm.record_rtt(600ms, t0);
  qm.record_rtt(600ms, t0);
  ASSERT_EQ(qm.level(), Quality::critical);
  qm.record_rtt(10ms, t0);
  qm.record_rtt(60ms, t0);
  EXPECT_EQ(qm.level(), Quality::good);
}

TEST(QualityMonitor, ChangeAndUndoBetweenTakesReportsNothing) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 1});
  qm.record_rtt(300ms, t0);
  qm.record_rtt(10ms, t0);
  EXPECT_EQ(qm.level(), Quality::excellent);
  EXPECT_FALSE(qm.take_level_change());
}

TEST(QualityMonitor, HoldOfOneFollowsEverySample) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 1});
  qm.record_rtt(60ms, t0);
  EXPECT_EQ(qm.take_level_change(), Quality::good);
  qm.record_rtt(10ms, t0);
  EXPECT_EQ(qm.take_level_change(), Quality::excellent);
}

TEST(QualityMonitor, AlertsAtEachThreshold) {
  const TimePoint t0{};
  const auto alerts_for = [&](Clock::duration rtt) {
    QualityMonitor qm({.window = 1, .hold_samples = 1});
    qm.record_rtt(rtt, t0);
    return qm.alerts(t0);
  };
  EXPECT_TRUE(alerts_for(200ms).empty());
  auto a = alerts_for(201ms);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].level, AlertLevel::warning);
  a = alerts_for(500ms);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].level, AlertLevel::warning);
  a = alerts_for(501ms);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].level, AlertLevel::error);
  EXPECT_EQ(a[1].level, AlertLevel::critical);
}

TEST(QualityMonitor, LossAlertsAtEachThreshold) {
  const TimePoint t0{};
  const auto alerts_for = [&](int missed, int of) {
    QualityMonitor qm({.window = static_cast<std::size_t>(of), .hold_samples = 1000});
    for (int i = 0; i < of - missed; ++i) {
      qm.record_rtt(1ms, t0);
    }
    for (int i = 0; i < missed; ++i) {
      qm.record_missed(t0);
    }
    return qm.alerts(t0);
  };
  EXPECT_TRUE(alerts_for(1, 20).empty());  // 5 %
  auto a = alerts_for(3, 50);              // 6 %
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].level, AlertLevel::warning);
  a = alerts_for(1, 10);  // 10 %
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].level, AlertLevel::warning);
  a = alerts_for(6, 50);  // 12 %, level held at excellent by the long hold: no critical alert
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].level, AlertLevel::error);
}

TEST(QualityMonitor, CriticalAlertFollowsTheHeldLevel) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 2});
  qm.record_rtt(600ms, t0);
  auto a = qm.alerts(t0);
  ASSERT_EQ(a.size(), 1u);  // error only: the level is still held at excellent
  EXPECT_EQ(a[0].level, AlertLevel::error);
  qm.record_rtt(600ms, t0);
  a = qm.alerts(t0);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1].level, AlertLevel::critical);
}

TEST(QualityMonitor, UptimeAndAvailability) {
  const TimePoint t0{};
  QualityMonitor qm;
  qm.record_connected(t0);
  EXPECT_EQ(qm.metrics(t0 + 30s).uptime_ms, 30000);
  EXPECT_DOUBLE_EQ(qm.metrics(t0 + 30s).reliability, 100.0);
  qm.record_disconnected(t0 + 30s);
  EXPECT_EQ(qm.metrics(t0 + 40s).uptime_ms, 0);
  // Connected 30 s of 40 s observed: 75.
  EXPECT_DOUBLE_EQ(qm.metrics(t0 + 40s).reliability, 75.0);
  qm.record_connected(t0 + 40s);
  qm.record_connected(t0 + 45s);  // ignored: already connected
  EXPECT_EQ(qm.metrics(t0 + 50s).uptime_ms, 10000);
  EXPECT_DOUBLE_EQ(qm.metrics(t0 + 50s).reliability, 80.0);  // 40 of 50 s
}

TEST(QualityMonitor, ReliabilityFormula) {
  EXPECT_DOUBLE_EQ(reliability_score(1.0, 0, 0, 0), 100.0);
  EXPECT_DOUBLE_EQ(reliability_score(1.0, 4, 0, 0), 96.0);
  EXPECT_DOUBLE_EQ(reliability_score(1.0, 0, 2, 0), 80.0);
  EXPECT_DOUBLE_EQ(reliability_score(1.0, 0, 0, 2), 90.0);
  EXPECT_DOUBLE_EQ(reliability_score(1.0, 0, 0, 100), 75.0);  // reconnect penalty capped at 25
  EXPECT_DOUBLE_EQ(reliability_score(0.5, 60, 0, 0), 0.0);    // clamped at 0
}

TEST(QualityMonitor, ReliabilityFromMissedAndReconnects) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 10});
  qm.record_connected(t0);
  for (int i = 0; i < 8; ++i) {
    qm.record_rtt(10ms, t0);
  }
  qm.record_missed(t0);
  qm.record_missed(t0);
  qm.record_reconnect(t0);
  // loss 20 %, 2 consecutive missed (-20), 1 reconnect in under an hour (-5).
  EXPECT_DOUBLE_EQ(qm.metrics(t0 + 1s).reliability, 55.0);
  EXPECT_EQ(qm.metrics(t0 + 1s).reconnect_count, 1u);
  // The streak of misses ends (the sample evicts an RTT: loss stays 20 %); after 2 h the
  // reconnect rate is 0.5 per hour.
  qm.record_rtt(10ms, t0);
  EXPECT_DOUBLE_EQ(qm.metrics(t0 + 2h).reliability, 100.0 - 20.0 - 2.5);
}

TEST(QualityMonitor, RecommendationsFollowTheMetrics) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 10, .hold_samples = 1});
  for (int i = 0; i < 5; ++i) {
    qm.record_rtt(100ms, t0);
    qm.record_rtt(400ms, t0);
  }
  const auto recs = qm.recommendations(t0);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(recs[0].find("Latency is high (250 ms)"), std::string::npos);
  EXPECT_NE(recs[1].find("jitter 300 ms"), std::string::npos);

  QualityMonitor lossy({.window = 10, .hold_samples = 1});
  for (int i = 0; i < 7; ++i) {
    lossy.record_rtt(10ms, t0);
  }
  for (int i = 0; i < 3; ++i) {
    lossy.record_missed(t0);
    lossy.record_reconnect(t0);
  }
  const auto more = lossy.recommendations(t0);
  ASSERT_EQ(more.size(), 4u);
  EXPECT_NE(more[0].find("30.0 % of heartbeats were lost"), std::string::npos);
  EXPECT_NE(more[1].find("3 heartbeats in a row"), std::string::npos);
  EXPECT_NE(more[2].find("3 reconnections"), std::string::npos);
  EXPECT_NE(more[3].find("HTTP polling fallback"), std::string::npos);
}

TEST(QualityMonitor, ResetForgetsEverything) {
  const TimePoint t0{};
  QualityMonitor qm({.window = 1, .hold_samples = 1});
  qm.record_connected(t0);
  qm.record_rtt(600ms, t0);
  qm.record_reconnect(t0);
  qm.reset();
  EXPECT_EQ(qm.level(), Quality::excellent);
  EXPECT_FALSE(qm.take_level_change());
  EXPECT_EQ(qm.samples(), 0u);
  const QualityMetrics m = qm.metrics(t0 + 1s);
  EXPECT_EQ(m.latency, 0);
  EXPECT_EQ(m.uptime_ms, 0);
  EXPECT_EQ(m.reconnect_count, 0u);
}

TEST(QualityMonitor, NegativeRttCountsAsZero) {
  const TimePoint t0{};
  QualityMonitor qm;
  qm.record_rtt(-5ms, t0);
  EXPECT_EQ(qm.metrics(t0).latency, 0.0);
}

}  // namespace
}  // namespace steadyws
