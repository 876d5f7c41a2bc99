#include "core/rate_limiter.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AllowsTheBurstThenRejects) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 10, .burst = 5}, t0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rl.on_message(t0), RateDecision::allow) << i;
  }
  EXPECT_EQ(rl.on_message(t0), RateDecision::reject);
  EXPECT_EQ(rl.rejected(), 1u);
}

TEST(RateLimiter, RefillsAtTheRate) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 2}, t0);  // binary fractions: exact arithmetic
  rl.on_message(t0);
  rl.on_message(t0);
  EXPECT_EQ(rl.on_message(t0 + 125ms), RateDecision::reject);  // half a token
  EXPECT_EQ(rl.on_message(t0 + 250ms), RateDecision::allow);   // one token per 250 ms
  EXPECT_EQ(rl.on_message(t0 + 250ms), RateDecision::reject);
  EXPECT_EQ(rl.tokens(), 0.0);
}

TEST(RateLimiter, RefillIsCappedAtBurst) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 10, .burst = 3}, t0);
  rl.on_message(t0);
  const TimePoint later = t0 + 1h;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rl.on_message(later), RateDecision::allow);
  }
  EXPECT_EQ(rl.on_message(later), RateDecision::reject);
}

TEST(RateLimiter, SustainedRateIsAllowed) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 1000, .burst = 2}, t0);  // 2: room for rounding
  for (int i = 1; i <= 100000; ++i) {
    ASSERT_EQ(rl.on_message(t0 + std::chrono::milliseconds(i)), RateDecision::allow) << i;
  }
  EXPECT_EQ(rl.rejected(), 0u);
}

TEST(RateLimiter, ZeroRateIsOff) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 0, .burst = 0}, t0);
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(rl.on_message(t0), RateDecision::allow);
  }
  EXPECT_EQ(rl.rejected(), 0u);
}

TEST(RateLimiter, BurstBelowOneIsRaisedToOne) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 1, .burst = 0}, t0);
  EXPECT_EQ(rl.on_message(t0), RateDecision::allow);
  EXPECT_EQ(rl.on_message(t0), RateDecision::reject);
}

TEST(RateLimiter, TimeGoingBackRefillsNothing) {
  const TimePoint t0 = TimePoint{} + 10s;
  RateLimiter rl({.rate_per_sec = 4, .burst = 1, .flood_rejects = 100}, t0);
  EXPECT_EQ(rl.on_message(t0), RateDecision::allow);
  EXPECT_EQ(rl.on_message(t0 - 5s), RateDecision::reject);
  EXPECT_EQ(rl.on_message(t0 + 125ms), RateDecision::reject);  // measured from t0, not t0 - 5s
  EXPECT_EQ(rl.on_message(t0 + 250ms), RateDecision::allow);
}

// The abuse tests use rate 4/s and burst 1, times in multiples of 125 ms (exact in binary):
// a message at the start of a window is allowed (the bucket refilled), one 125 ms later is
// rejected (half a token).
TEST(RateLimiter, ClosesAfterConsecutiveStrikeWindows) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 1, .abuse_strikes = 3, .flood_rejects = 100}, t0);
  EXPECT_EQ(rl.on_message(t0), RateDecision::allow);
  EXPECT_EQ(rl.on_message(t0 + 125ms), RateDecision::reject);  // window 0: strike 1
  EXPECT_EQ(rl.on_message(t0 + 1s), RateDecision::allow);
  EXPECT_EQ(rl.on_message(t0 + 1125ms), RateDecision::reject);  // window 1: strike 2
  EXPECT_EQ(rl.on_message(t0 + 2s), RateDecision::allow);
  EXPECT_FALSE(rl.is_closed());
  EXPECT_EQ(rl.on_message(t0 + 2125ms), RateDecision::close);  // window 2: strike 3
  EXPECT_TRUE(rl.is_closed());
  EXPECT_EQ(rl.on_message(t0 + 1h), RateDecision::close);  // latched
  EXPECT_EQ(rl.rejected(), 3u);
}

TEST(RateLimiter, QuietWindowResetsTheStrikes) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 1, .abuse_strikes = 3, .flood_rejects = 100}, t0);
  rl.on_message(t0);
  EXPECT_EQ(rl.on_message(t0 + 125ms), RateDecision::reject);  // window 0: strike 1
  rl.on_message(t0 + 1s);
  EXPECT_EQ(rl.on_message(t0 + 1125ms), RateDecision::reject);  // window 1: strike 2
  EXPECT_EQ(rl.on_message(t0 + 2500ms), RateDecision::allow);   // window 2: no reject
  EXPECT_EQ(rl.on_message(t0 + 3500ms), RateDecision::allow);
  EXPECT_EQ(rl.on_message(t0 + 3625ms), RateDecision::reject);  // window 3: strike 1 again
  rl.on_message(t0 + 4500ms);
  EXPECT_EQ(rl.on_message(t0 + 4625ms), RateDecision::reject);  // window 4: strike 2
  EXPECT_FALSE(rl.is_closed());
}

TEST(RateLimiter, SkippedWindowResetsTheStrikes) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 1, .abuse_strikes = 2, .flood_rejects = 100}, t0);
  rl.on_message(t0);
  EXPECT_EQ(rl.on_message(t0 + 125ms), RateDecision::reject);   // window 0: strike 1
  rl.on_message(t0 + 2s);                                       // window 1 had no message
  EXPECT_EQ(rl.on_message(t0 + 2125ms), RateDecision::reject);  // window 2: strike 1
}

TEST(RateLimiter, DefaultStrikesAreFive) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 1}, t0);
  for (int s = 0; s < 4; ++s) {
    const TimePoint w = t0 + std::chrono::seconds(s);
    ASSERT_EQ(rl.on_message(w), RateDecision::allow) << s;
    ASSERT_EQ(rl.on_message(w + 125ms), RateDecision::reject) << s;
  }
  rl.on_message(t0 + 4s);
  EXPECT_EQ(rl.on_message(t0 + 4125ms), RateDecision::close);
}

TEST(RateLimiter, ZeroStrikesNeverClosesForPersistence) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 1, .abuse_strikes = 0, .flood_rejects = 100}, t0);
  for (int s = 0; s < 100; ++s) {
    const TimePoint w = t0 + std::chrono::seconds(s);
    ASSERT_EQ(rl.on_message(w), RateDecision::allow) << s;
    ASSERT_EQ(rl.on_message(w + 125ms), RateDecision::reject) << s;
  }
}

TEST(RateLimiter, FloodClosesWithinOneWindow) {
  const TimePoint t0{};
  // flood_rejects defaults to burst + rate * window = 20 + 10 = 30.
  RateLimiter rl({.rate_per_sec = 10, .burst = 20}, t0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(rl.on_message(t0), RateDecision::allow);
  }
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(rl.on_message(t0), RateDecision::reject) << i;
  }
  EXPECT_EQ(rl.on_message(t0), RateDecision::close);  // the 31st reject in the window
  EXPECT_EQ(rl.rejected(), 31u);
}

TEST(RateLimiter, FloodCountRestartsEachWindow) {
  const TimePoint t0{};
  RateLimiter rl({.rate_per_sec = 4, .burst = 1, .abuse_strikes = 0, .flood_rejects = 3}, t0);
  rl.on_message(t0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(rl.on_message(t0 + 125ms), RateDecision::reject);
  }
  rl.on_message(t0 + 1s);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(rl.on_message(t0 + 1125ms), RateDecision::reject);
  }
  EXPECT_EQ(rl.on_message(t0 + 1125ms), RateDecision::close);
}

TEST(RateLimiter, DefaultsMatchTheContract) {
  const RateLimitConfig c;
  EXPECT_EQ(c.rate_per_sec, 1000);
  EXPECT_EQ(c.burst, 2000);
  const TimePoint t0{};
  RateLimiter rl(c, t0);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(rl.on_message(t0), RateDecision::allow);
  }
  EXPECT_EQ(rl.on_message(t0), RateDecision::reject);
}

}  // namespace
}  // namespace steadyws
