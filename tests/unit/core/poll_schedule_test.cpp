#include "core/poll_schedule.hpp"

#include <chrono>
#include <cstdint>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

TEST(PollSchedule, StartsAtFiveSeconds) {
  PollSchedule p;
  EXPECT_EQ(p.interval(), 5000ms);
}

TEST(PollSchedule, FastSuccessHalvesDownToMin) {
  PollSchedule p;
  p.on_success(100ms);
  EXPECT_EQ(p.interval(), 2500ms);
  p.on_success(100ms);
  EXPECT_EQ(p.interval(), 1250ms);
  p.on_success(100ms);
  EXPECT_EQ(p.interval(), 1000ms);
  p.on_success(100ms);
  EXPECT_EQ(p.interval(), 1000ms);
}

TEST(PollSchedule, SlowThresholdIsFast) {
  PollSchedule p;
  p.on_success(1000ms);  // exactly at the threshold: fast
  EXPECT_EQ(p.interval(), 2500ms);
  p.on_success(1001ms);  // 1 ms over: slow
  EXPECT_EQ(p.interval(), 3750ms);
}

TEST(PollSchedule, SlowSuccessBacksOffByHalfUpToMax) {
  PollSchedule p;
  p.on_success(5s);
  EXPECT_EQ(p.interval(), 7500ms);
  for (int i = 0; i < 20; ++i) {
    p.on_success(5s);
  }
  EXPECT_EQ(p.interval(), 60000ms);
}

TEST(PollSchedule, FailureDoublesUpToMax) {
  PollSchedule p;
  p.on_failure();
  EXPECT_EQ(p.interval(), 10000ms);
  p.on_failure();
  EXPECT_EQ(p.interval(), 20000ms);
  p.on_failure();
  EXPECT_EQ(p.interval(), 40000ms);
  p.on_failure();
  EXPECT_EQ(p.interval(), 60000ms);
  p.on_failure();
  EXPECT_EQ(p.interval(), 60000ms);
  EXPECT_EQ(p.consecutive_failures(), 5u);
  p.on_success(10ms);
  EXPECT_EQ(p.consecutive_failures(), 0u);
  EXPECT_EQ(p.interval(), 30000ms);
}

TEST(PollSchedule, ResetReturnsToInitial) {
  PollSchedule p;
  p.on_failure();
  p.reset();
  EXPECT_EQ(p.interval(), 5000ms);
  EXPECT_EQ(p.consecutive_failures(), 0u);
}

TEST(PollSchedule, InitialIsClampedIntoBounds) {
  PollSchedule high({.initial = 90000ms});
  EXPECT_EQ(high.interval(), 60000ms);
  PollSchedule low({.initial = 10ms});
  EXPECT_EQ(low.interval(), 1000ms);
}

TEST(PollSchedule, BoundsHoldOverLongSeededSequences) {
  // A small LCG: the core takes no <random>, and the sequence must be the same on every run.
  std::uint64_t state = 42;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  const PollScheduleConfig configs[] = {
      {},
      {.initial = 3ms, .min = 2ms, .max = 7ms},
      {.initial = 1000ms, .min = 1000ms, .max = 1000ms},
      {.fast_factor = 0.01, .slow_factor = 100, .failure_factor = 1e9},
  };
  for (const auto& config : configs) {
    PollSchedule p(config);
    bool saw_min = false;
    bool saw_max = false;
    for (int i = 0; i < 100000; ++i) {
      switch (next() % 3) {
        case 0:
          p.on_failure();
          break;
        case 1:
          p.on_success(Duration(static_cast<Duration::rep>(next() % 3000)));
          break;
        default:
          p.on_success(0ms);
          break;
      }
      ASSERT_GE(p.interval(), config.min);
      ASSERT_LE(p.interval(), config.max);
      saw_min = saw_min || p.interval() == config.min;
      saw_max = saw_max || p.interval() == config.max;
    }
    EXPECT_TRUE(saw_min);
    EXPECT_TRUE(saw_max);
  }
}

}  // namespace
}  // namespace steadyws
