#include "core/metrics_history.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

MetricsSample sample(std::int64_t time_ms, std::uint64_t active = 0) {
  MetricsSample s;
  s.time_ms = time_ms;
  s.active_connections = active;
  return s;
}

std::vector<std::int64_t> times(const std::vector<MetricsSample>& v) {
  std::vector<std::int64_t> out;
  for (const auto& s : v)
    out.push_back(s.time_ms);
  return out;
}

TEST(MetricsHistory, EmptyHasNoSamples) {
  const TimePoint t0{};
  const MetricsHistory h;
  EXPECT_TRUE(h.samples(t0).empty());
  EXPECT_TRUE(h.samples(t0 + 1h).empty());
}

TEST(MetricsHistory, OneSamplePerSecondOldestFirst) {
  const TimePoint t0{};
  MetricsHistory h;
  for (int i = 0; i < 5; ++i)
    h.record(t0 + i * 1s, sample(1000 * i, static_cast<std::uint64_t>(i)));
  const auto s = h.samples(t0 + 4s + 500ms);
  EXPECT_EQ(times(s), (std::vector<std::int64_t>{0, 1000, 2000, 3000, 4000}));
  EXPECT_EQ(s.back().active_connections, 4u);
}

TEST(MetricsHistory, KeepsAtMost900AndDropsTheOldest) {
  const TimePoint t0{};
  MetricsHistory h;
  for (int i = 0; i < 1000; ++i)
    h.record(t0 + i * 1s, sample(i));
  const auto s = h.samples(t0 + 999s);
  ASSERT_EQ(s.size(), 900u);
  EXPECT_EQ(s.front().time_ms, 100);
  EXPECT_EQ(s.back().time_ms, 999);
  for (std::size_t i = 1; i < s.size(); ++i)
    EXPECT_EQ(s[i].time_ms, s[i - 1].time_ms + 1);
}

TEST(MetricsHistory, TwoRecordsInOneSlotKeepTheLater) {
  const TimePoint t0{};
  MetricsHistory h;
  h.record(t0 + 1s, sample(1));
  h.record(t0 + 1s + 900ms, sample(2));  // a timer that fired early
  h.record(t0 + 2s + 10ms, sample(3));
  EXPECT_EQ(times(h.samples(t0 + 2s + 10ms)), (std::vector<std::int64_t>{2, 3}));
}

TEST(MetricsHistory, GapsStayGaps) {
  const TimePoint t0{};
  MetricsHistory h;
  h.record(t0, sample(0));
  h.record(t0 + 1s, sample(1));
  h.record(t0 + 5s, sample(5));  // the timer stalled for 4 s: nothing is invented
  h.record(t0 + 6s, sample(6));
  EXPECT_EQ(times(h.samples(t0 + 6s)), (std::vector<std::int64_t>{0, 1, 5, 6}));
}

TEST(MetricsHistory, SamplesOlderThanTheWindowAreForgottenAfterALongGap) {
  const TimePoint t0{};
  MetricsHistory h;
  for (int i = 0; i < 10; ++i)
    h.record(t0 + i * 1s, sample(i));
  // 899 s after the last sample: only it is still inside the 15 minutes.
  EXPECT_EQ(times(h.samples(t0 + 9s + 899s)), (std::vector<std::int64_t>{9}));
  EXPECT_TRUE(h.samples(t0 + 9s + 900s).empty());
  // A sample after a gap longer than the ring does not resurrect stale slots.
  h.record(t0 + 9s + 905s, sample(914));
  EXPECT_EQ(times(h.samples(t0 + 9s + 905s)), (std::vector<std::int64_t>{914}));
}

TEST(MetricsHistory, ARecordFromThePastIsIgnored) {
  const TimePoint t0{};
  MetricsHistory h;
  h.record(t0 + 5s, sample(5));
  h.record(t0 + 3s, sample(3));
  EXPECT_EQ(times(h.samples(t0 + 5s)), (std::vector<std::int64_t>{5}));
}

TEST(MetricsHistory, NextDueIsTheNextSlot) {
  const TimePoint t0{};
  const MetricsHistory h;
  EXPECT_EQ(h.next_due(t0), t0 + 1s);
  EXPECT_EQ(h.next_due(t0 + 1s + 300ms), t0 + 2s);
  EXPECT_EQ(h.interval(), 1000ms);
  EXPECT_EQ(h.capacity(), 900u);
}

TEST(MetricsHistory, SmallRingAndOtherIntervals) {
  const TimePoint t0{};
  MetricsHistory h(250ms, 3);
  for (int i = 0; i < 6; ++i)
    h.record(t0 + i * 250ms, sample(i));
  EXPECT_EQ(times(h.samples(t0 + 1250ms)), (std::vector<std::int64_t>{3, 4, 5}));
}

}  // namespace
}  // namespace steadyws
