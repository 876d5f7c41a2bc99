#include "core/health.hpp"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

const TimePoint t0{};
const WallTime w0{std::chrono::sys_days{std::chrono::year{2024} / 5 / 1}};

ConnectionHealth make_conn(std::string id, WallTime connected_at,
                           std::vector<double> latency = {}) {
  ConnectionHealth c;
  c.id = std::move(id);
  c.connected_at = connected_at;
  c.last_heartbeat = connected_at;
  c.latency = std::move(latency);
  return c;
}

TEST(ConnectionHealth, RecordLatencyKeepsTheLastTenOldestFirst) {
  ConnectionHealth c;
  for (int i = 1; i <= 13; ++i) {
    c.record_latency(i);
  }
  ASSERT_EQ(c.latency.size(), kHealthLatencySamples);
  EXPECT_EQ(c.latency.front(), 4.0);
  EXPECT_EQ(c.latency.back(), 13.0);
  EXPECT_DOUBLE_EQ(c.average_latency(), 8.5);
}

TEST(ConnectionHealth, AverageLatencyIsZeroWithoutSamples) {
  EXPECT_EQ(ConnectionHealth{}.average_latency(), 0.0);
}

TEST(ConnectionHealth, HealthyOnlyWhenAliveWithNoMissedHeartbeat) {
  ConnectionHealth c;
  EXPECT_TRUE(c.is_healthy());
  c.missed_heartbeats = 1;
  EXPECT_FALSE(c.is_healthy());
  c.missed_heartbeats = 0;
  c.is_alive = false;
  EXPECT_FALSE(c.is_healthy());
}

TEST(HealthStatus, SpelledLikeTheWire) {
  EXPECT_EQ(to_string(HealthStatus::healthy), "healthy");
  EXPECT_EQ(to_string(HealthStatus::degraded), "degraded");
  EXPECT_EQ(to_string(HealthStatus::unhealthy), "unhealthy");
}

TEST(ServerMetrics, EmptyServerIsHealthyWithFullReliability) {
  const ServerMetrics m;
  const ServerAggregate a = m.aggregate({}, t0, w0);
  EXPECT_EQ(a.total_connections, 0u);
  EXPECT_EQ(a.active_connections, 0u);
  EXPECT_EQ(a.connection_reliability, 100.0);
  EXPECT_EQ(a.error_rate, 0.0);
  EXPECT_EQ(a.messages_throughput, 0.0);
  EXPECT_EQ(a.average_connection_uptime_ms, 0.0);
  EXPECT_EQ(a.average_latency, 0.0);
  EXPECT_EQ(a.status, HealthStatus::healthy);
}

TEST(ServerMetrics, CountsConnectionsAndReliability) {
  ServerMetrics m;
  for (int i = 0; i < 200; ++i) {
    m.on_connection_opened(t0);
  }
  m.on_connection_closed(1000ms, /*failed=*/false, t0 + 1s);
  m.on_connection_closed(3000ms, /*failed=*/true, t0 + 3s);
  m.on_handshake_failed(t0 + 3s);
  const ServerAggregate a = m.aggregate({}, t0 + 3s, w0);
  EXPECT_EQ(a.total_connections, 201u);
  EXPECT_EQ(a.active_connections, 198u);
  EXPECT_EQ(a.failed_connections, 2u);
  EXPECT_DOUBLE_EQ(a.connection_reliability, 199.0 * 100.0 / 201.0);
  EXPECT_EQ(a.handshake_failures_total, 1u);
  EXPECT_EQ(a.status, HealthStatus::healthy);  // 99.005 % is not below 99
}

TEST(ServerMetrics, AverageUptimeCoversClosedAndLiveConnections) {
  ServerMetrics m;
  m.on_connection_opened(t0);
  m.on_connection_opened(t0);
  m.on_connection_opened(t0);
  m.on_connection_closed(1000ms, false, t0);
  const std::vector<ConnectionHealth> live{make_conn("a", w0), make_conn("b", w0 - 4s)};
  const ServerAggregate a = m.aggregate(live, t0, w0 + 1s);
  // closed: 1000; live: 1000 and 5000.
  EXPECT_DOUBLE_EQ(a.average_connection_uptime_ms, 7000.0 / 3.0);
}

TEST(ServerMetrics, LiveUptimeNeverNegativeWhenTheWallClockStepsBack) {
  ServerMetrics m;
  m.on_connection_opened(t0);
  const std::vector<ConnectionHealth> live{make_conn("a", w0)};
  EXPECT_EQ(m.aggregate(live, t0, w0 - 10s).average_connection_uptime_ms, 0.0);
}

TEST(ServerMetrics, ThroughputIsMessagesPerSecondOverTheWindow) {
  // A steady 100 msgs/s (one every 10 ms, alternating in and out) reads exactly 100, at a
  // bucket boundary and halfway into a bucket.
  ServerMetrics m;  // 10 s window, 1 s buckets
  for (int k = 0; k < 1950; ++k) {
    const TimePoint at = t0 + std::chrono::milliseconds{10 * k};
    if (k % 2 == 0) {
      m.on_message_in(at);
    } else {
      m.on_message_out(1, at);
    }
  }
  // 19.5 s: buckets 9..18 hold 1000, bucket 19 holds 50, over 10.5 s.
  EXPECT_DOUBLE_EQ(m.aggregate({}, t0 + 19500ms, w0).messages_throughput, 100.0);
  for (int k = 1950; k < 2000; ++k) {
    m.on_message_in(t0 + std::chrono::milliseconds{10 * k});
  }
  // 20 s: buckets 10..19 hold 1000 and the current one nothing yet, over 10 s.
  EXPECT_DOUBLE_EQ(m.aggregate({}, t0 + 20s, w0).messages_throughput, 100.0);
  EXPECT_EQ(m.aggregate({}, t0 + 20s, w0).messages_in_total, 1025u);
  EXPECT_EQ(m.aggregate({}, t0 + 20s, w0).messages_out_total, 975u);
}

TEST(ServerMetrics, ThroughputFallsToZeroOnceTheWindowHasPassed) {
  ServerMetrics m;
  m.on_message_in(t0 + 1s);
  EXPECT_GT(m.aggregate({}, t0 + 11s, w0).messages_throughput, 0.0);
  EXPECT_EQ(m.aggregate({}, t0 + 12s, w0).messages_throughput, 0.0);
  EXPECT_EQ(m.aggregate({}, t0 + 1h, w0).messages_throughput, 0.0);
}

TEST(ServerMetrics, StaleBucketIsResetWhenItsSlotComesRoundAgain) {
  ServerMetrics m;
  m.on_message_in(t0 + 1s);
  m.on_message_in(t0 + 12s);  // same slot as 1 s (11 slots)
  EXPECT_DOUBLE_EQ(m.aggregate({}, t0 + 12s, w0).messages_throughput, 1.0 / 10.0);
}

TEST(ServerMetrics, EventOlderThanTheRingCountsOnlyInTotals) {
  ServerMetrics m;
  m.on_message_in(t0 + 30s);
  m.on_message_in(t0 + 8s);  // slot of 30 s holds a newer slice
  const ServerAggregate a = m.aggregate({}, t0 + 30s, w0);
  EXPECT_EQ(a.messages_in_total, 2u);
  EXPECT_DOUBLE_EQ(a.messages_throughput, 1.0 / 10.0);
}

TEST(ServerMetrics, ErrorRateIsErrorsPerMessageInTheWindow) {
  ServerMetrics m;
  for (int i = 0; i < 150; ++i) {
    m.on_message_in(t0 + 1s);
  }
  m.on_message_out(50, t0 + 1s);
  m.on_error(t0 + 1s);
  EXPECT_DOUBLE_EQ(m.aggregate({}, t0 + 2s, w0).error_rate, 0.5);
  // Once the window has passed, the old error no longer counts.
  EXPECT_EQ(m.aggregate({}, t0 + 20s, w0).error_rate, 0.0);
  EXPECT_EQ(m.aggregate({}, t0 + 20s, w0).errors_total, 1u);
}

TEST(ServerMetrics, ErrorRateWithoutMessagesIsOneHundred) {
  ServerMetrics m;
  m.on_error(t0);
  EXPECT_EQ(m.aggregate({}, t0, w0).error_rate, 100.0);
}

TEST(ServerMetrics, ErrorRateIsCappedAtOneHundred) {
  ServerMetrics m;
  m.on_message_in(t0);
  m.on_error(t0);
  m.on_error(t0);
  EXPECT_EQ(m.aggregate({}, t0, w0).error_rate, 100.0);
}

TEST(ServerMetrics, LatencyIsTheMeanOfEverySampleAndCountsHealth) {
  ServerMetrics m;
  std::vector<ConnectionHealth> live{make_conn("a", w0, {10, 20, 30}), make_conn("b", w0, {60}),
                                     make_conn("c", w0)};
  live[2].missed_heartbeats = 1;
  const ServerAggregate a = m.aggregate(live, t0, w0);
  EXPECT_DOUBLE_EQ(a.average_latency, 30.0);  // (10+20+30+60)/4, not the mean of means (35)
  EXPECT_EQ(a.healthy_connections, 2u);
  EXPECT_EQ(a.unhealthy_connections, 1u);
}

TEST(ServerMetrics, HighLatencyIsDegraded) {
  ServerMetrics m;
  const std::vector<ConnectionHealth> at_limit{make_conn("a", w0, {200})};
  EXPECT_EQ(m.aggregate(at_limit, t0, w0).status, HealthStatus::healthy);
  const std::vector<ConnectionHealth> over{make_conn("a", w0, {200, 201})};
  EXPECT_EQ(m.aggregate(over, t0, w0).status, HealthStatus::degraded);
}

TEST(ServerMetrics, FailedConnectionsMakeItDegradedThenUnhealthy) {
  ServerMetrics m;
  for (int i = 0; i < 100; ++i) {
    m.on_connection_opened(t0);
  }
  m.on_connection_closed(1s, /*failed=*/true, t0);  // 99 %: on the limit, healthy
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::healthy);
  m.on_handshake_failed(t0);  // 99/101 = 98.02 %
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::degraded);
  for (int i = 0; i < 9; ++i) {
    m.on_handshake_failed(t0);  // 99/110 = 90 %: on the limit, still degraded
  }
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::degraded);
  m.on_handshake_failed(t0);  // 99/111 = 89.2 %
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::unhealthy);
}

TEST(ServerMetrics, ErrorsMakeItDegradedThenUnhealthy) {
  ServerMetrics m;
  for (int i = 0; i < 100; ++i) {
    m.on_message_in(t0);
  }
  m.on_error(t0);  // 1 %: on the limit
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::healthy);
  m.on_error(t0);  // 2 %
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::degraded);
  for (int i = 0; i < 9; ++i) {
    m.on_error(t0);  // 11 %
  }
  EXPECT_EQ(m.aggregate({}, t0, w0).status, HealthStatus::unhealthy);
  // The window forgets: 20 s later the errors are gone and it is healthy again.
  EXPECT_EQ(m.aggregate({}, t0 + 20s, w0).status, HealthStatus::healthy);
}

TEST(ServerMetrics, ThresholdsAreConfigurable) {
  HealthThresholds strict;
  strict.degraded_latency_ms = 10;
  ServerMetrics m(Duration{10000}, strict);
  const std::vector<ConnectionHealth> live{make_conn("a", w0, {11})};
  EXPECT_EQ(m.aggregate(live, t0, w0).status, HealthStatus::degraded);
}

TEST(ServerMetrics, ShortWindowUsesShortBuckets) {
  ServerMetrics m(Duration{1000});  // 100 ms buckets
  for (int i = 0; i < 10; ++i) {
    m.on_message_in(t0 + std::chrono::milliseconds{100 * i});
  }
  EXPECT_DOUBLE_EQ(m.aggregate({}, t0 + 900ms, w0).messages_throughput, 10.0);
  EXPECT_EQ(m.aggregate({}, t0 + 3s, w0).messages_throughput, 0.0);
}

TEST(ServerMetrics, MergeAddsCountersAndAlignsWindows) {
  ServerMetrics a;
  ServerMetrics b;
  a.on_connection_opened(t0);
  b.on_connection_opened(t0);
  b.on_connection_closed(2s, true, t0 + 2s);
  a.on_message_in(t0 + 1s);   // slot 1; b holds the newer 12 s slice there: dropped
  a.on_message_in(t0 + 11s);  // slot 0, the same slice as b's: added
  b.on_message_in(t0 + 11s);
  b.on_message_in(t0 + 12s);
  b.on_message_out(3, t0 + 12s);
  b.on_error(t0 + 12s);
  ServerMetrics merged = a;
  merged.merge(b);
  const ServerAggregate r = merged.aggregate({}, t0 + 12s, w0);
  EXPECT_EQ(r.total_connections, 2u);
  EXPECT_EQ(r.active_connections, 1u);
  EXPECT_EQ(r.failed_connections, 1u);
  EXPECT_EQ(r.messages_in_total, 4u);
  EXPECT_EQ(r.messages_out_total, 3u);
  EXPECT_DOUBLE_EQ(r.messages_throughput, 6.0 / 10.0);  // 2 at 11 s, 1 + 3 at 12 s
  EXPECT_DOUBLE_EQ(r.error_rate, 100.0 / 6.0);
}

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(to_iso8601(w0 + 12h + 3min + 4s + 56ms), "2024-05-01T12:03:04.056Z");
  EXPECT_EQ(to_iso8601(WallTime{}), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace steadyws
