#include "steadyws/core/backoff.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

BackoffConfig no_jitter() {
  BackoffConfig c;
  c.mode = JitterMode::none;
  return c;
}

BackoffConfig with_mode(JitterMode m) {
  BackoffConfig c;
  c.mode = m;
  return c;
}

double draw(std::mt19937_64& rng) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

TEST(Backoff, DefaultsMatchOrigin) {
  const BackoffConfig c;
  EXPECT_EQ(c.base, 1000ms);
  EXPECT_EQ(c.max_delay, 30000ms);
  EXPECT_EQ(c.jitter, 1000ms);
  EXPECT_EQ(c.mode, JitterMode::symmetric);
  EXPECT_TRUE(c.exponential);
  EXPECT_EQ(c.max_attempts, 5u);
}

TEST(Backoff, DoublesUntilCap) {
  struct Case {
    std::uint32_t attempt;
    Duration expected;
  };
  const Case cases[] = {{1, 1000ms},  {2, 2000ms},  {3, 4000ms},  {4, 8000ms},
                        {5, 16000ms}, {6, 30000ms}, {7, 30000ms}, {100, 30000ms}};
  for (const auto& tc : cases) {
    EXPECT_EQ(backoff_delay(no_jitter(), tc.attempt, 0.5), tc.expected) << "attempt " << tc.attempt;
  }
}

TEST(Backoff, AttemptZeroIsTreatedAsOne) {
  EXPECT_EQ(backoff_delay(no_jitter(), 0, 0.0), 1000ms);
}

TEST(Backoff, SymmetricExactValues) {
  const auto c = with_mode(JitterMode::symmetric);
  struct Case {
    std::uint32_t attempt;
    double u;
    Duration expected;
  };
  const Case cases[] = {
      {1, 0.0, 0ms},       {1, 0.5, 1000ms},          {1, 0.999, 1998ms}, {1, 0.25, 500ms},
      {2, 0.0, 1000ms},    {2, 0.5, 2000ms},          {2, 0.999, 2998ms}, {5, 0.0, 15000ms},
      {5, 0.5, 16000ms},   {5, 0.999, 16998ms},       {6, 0.0, 29000ms},  {6, 0.5, 30000ms},
      {6, 0.999, 30998ms}, {1000000, 0.999, 30998ms},
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(backoff_delay(c, tc.attempt, tc.u), tc.expected)
        << "attempt " << tc.attempt << " u " << tc.u;
  }
}

TEST(Backoff, SymmetricNeverNegative) {
  auto c = with_mode(JitterMode::symmetric);
  c.jitter = 5000ms;  // larger than the first core delay
  EXPECT_EQ(backoff_delay(c, 1, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(c, 1, 0.3), 0ms);  // 1000 - 0.4 * 5000 < 0
  EXPECT_EQ(backoff_delay(c, 1, 0.5), 1000ms);
}

TEST(Backoff, FullJitterExactValues) {
  const auto c = with_mode(JitterMode::full);
  EXPECT_EQ(backoff_delay(c, 1, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(c, 1, 0.5), 500ms);
  EXPECT_EQ(backoff_delay(c, 1, 0.999), 999ms);
  EXPECT_EQ(backoff_delay(c, 3, 0.5), 2000ms);
  EXPECT_EQ(backoff_delay(c, 10, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(c, 10, 0.5), 15000ms);
  EXPECT_EQ(backoff_delay(c, 10, 0.999), 29970ms);
}

TEST(Backoff, DecorrelatedExactValues) {
  const auto c = with_mode(JitterMode::decorrelated);
  // First attempt: prev = base, range [base, 3 base].
  EXPECT_EQ(backoff_delay(c, 1, 0.0), 1000ms);
  EXPECT_EQ(backoff_delay(c, 1, 0.5), 2000ms);
  EXPECT_EQ(backoff_delay(c, 1, 0.999), 2998ms);
  // The previous delay is ignored on the first attempt.
  EXPECT_EQ(backoff_delay(c, 1, 0.5, 9000ms), 2000ms);
  // Later attempts: [base, 3 prev], capped.
  EXPECT_EQ(backoff_delay(c, 2, 0.0, 2000ms), 1000ms);
  EXPECT_EQ(backoff_delay(c, 2, 0.5, 2000ms), 3500ms);
  EXPECT_EQ(backoff_delay(c, 2, 0.999, 2000ms), 5995ms);
  EXPECT_EQ(backoff_delay(c, 3, 0.999, 20000ms), 30000ms);
  // A previous below base is raised to base.
  EXPECT_EQ(backoff_delay(c, 2, 0.5, 10ms), 2000ms);
  // A huge previous saturates at the cap instead of overflowing 3 * prev.
  EXPECT_EQ(backoff_delay(c, 2, 0.999, Duration::max()), 30000ms);
}

TEST(Backoff, ConstantWhenExponentialOff) {
  auto c = no_jitter();
  c.exponential = false;
  for (std::uint32_t k : {1u, 2u, 3u, 10u, 1000000u}) {
    EXPECT_EQ(backoff_delay(c, k, 0.5), 1000ms) << "attempt " << k;
  }
  c.mode = JitterMode::symmetric;
  EXPECT_EQ(backoff_delay(c, 7, 0.0), 0ms);
  EXPECT_EQ(backoff_delay(c, 7, 0.999), 1998ms);
  c.mode = JitterMode::full;
  EXPECT_EQ(backoff_delay(c, 7, 0.5), 500ms);
  c.mode = JitterMode::decorrelated;  // no growth: prev stays at base
  EXPECT_EQ(backoff_delay(c, 7, 0.5, 20000ms), 2000ms);
}

TEST(Backoff, SaturatesAtHugeAttempts) {
  for (auto mode : {JitterMode::none, JitterMode::symmetric, JitterMode::full}) {
    auto c = with_mode(mode);
    for (std::uint32_t k :
         {26u, 27u, 62u, 63u, 64u, 65u, 1000000u, std::numeric_limits<std::uint32_t>::max()}) {
      const auto d = backoff_delay(c, k, 0.5);
      EXPECT_EQ(d, mode == JitterMode::full ? 15000ms : 30000ms)
          << to_string(mode) << " attempt " << k;
    }
  }
}

TEST(Backoff, HugeConfigDoesNotOverflow) {
  BackoffConfig c;
  c.base = Duration{std::numeric_limits<Duration::rep>::max() / 2};
  c.max_delay = Duration::max();
  c.jitter = Duration::max();
  EXPECT_EQ(backoff_delay(c, 1000000, 0.999), Duration::max());
  EXPECT_GE(backoff_delay(c, 1000000, 0.0).count(), 0);
  c.mode = JitterMode::decorrelated;
  EXPECT_EQ(backoff_delay(c, 5, 0.999, Duration::max()), Duration::max());
}

TEST(Backoff, NegativeConfigTreatedAsZero) {
  BackoffConfig c;
  c.base = -5ms;
  c.jitter = -5ms;
  EXPECT_EQ(backoff_delay(c, 1, 0.999), 0ms);
  c.mode = JitterMode::decorrelated;
  EXPECT_EQ(backoff_delay(c, 3, 0.999, -7ms), 0ms);
}

TEST(Backoff, OutOfRangeDrawsAreClamped) {
  const auto c = with_mode(JitterMode::symmetric);
  EXPECT_EQ(backoff_delay(c, 1, -3.0), 0ms);
  EXPECT_EQ(backoff_delay(c, 1, 7.0), 2000ms);
  EXPECT_EQ(backoff_delay(c, 1, std::numeric_limits<double>::quiet_NaN()), 0ms);
}

// 10,000 seeded draws per attempt: every delay stays inside its documented band, and the band
// is actually used (the draws reach both ends to within 2 %).
TEST(Backoff, SymmetricBoundsOverSeededDraws) {
  std::mt19937_64 rng(42);
  const auto c = with_mode(JitterMode::symmetric);
  for (std::uint32_t k = 1; k <= 8; ++k) {
    const Duration core = backoff_delay(no_jitter(), k, 0.0);
    const Duration lo = std::max(core - c.jitter, 0ms);
    const Duration hi = core + c.jitter;
    Duration seen_min = Duration::max();
    Duration seen_max{0};
    for (int i = 0; i < 10000; ++i) {
      const Duration d = backoff_delay(c, k, draw(rng));
      ASSERT_GE(d, lo) << "attempt " << k;
      ASSERT_LE(d, hi) << "attempt " << k;
      seen_min = std::min(seen_min, d);
      seen_max = std::max(seen_max, d);
    }
    EXPECT_LE(seen_min, lo + 40ms) << "attempt " << k;
    EXPECT_GE(seen_max, hi - 40ms) << "attempt " << k;
  }
}

TEST(Backoff, FullBoundsOverSeededDraws) {
  std::mt19937_64 rng(7);
  const auto c = with_mode(JitterMode::full);
  for (std::uint32_t k = 1; k <= 8; ++k) {
    const Duration core = backoff_delay(no_jitter(), k, 0.0);
    double sum = 0;
    for (int i = 0; i < 10000; ++i) {
      const Duration d = backoff_delay(c, k, draw(rng));
      ASSERT_GE(d, 0ms);
      ASSERT_LE(d, core);
      sum += static_cast<double>(d.count());
    }
    // Uniform on [0, core]: the mean is core / 2, within 3 % of core for 10,000 draws.
    EXPECT_NEAR(sum / 10000.0, static_cast<double>(core.count()) / 2.0,
                0.03 * static_cast<double>(core.count()))
        << "attempt " << k;
  }
}

TEST(Backoff, DecorrelatedSequenceBoundsOverSeededDraws) {
  std::mt19937_64 rng(2024);
  auto c = with_mode(JitterMode::decorrelated);
  c.max_attempts = 0;
  Backoff b(c);
  Duration prev{0};
  for (int i = 0; i < 10000; ++i) {
    const auto d = b.next(draw(rng));
    ASSERT_TRUE(d.has_value());
    const Duration upper = i == 0 ? 3 * c.base : std::min(3 * prev, c.max_delay);
    ASSERT_GE(*d, c.base) << "draw " << i;
    ASSERT_LE(*d, std::min(upper, c.max_delay)) << "draw " << i;
    prev = *d;
  }
}

TEST(Backoff, SameSeedSameSequence) {
  std::mt19937_64 a(99), b(99);
  Backoff x(BackoffConfig{}), y(BackoffConfig{});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(x.next(draw(a)), y.next(draw(b)));
  }
}

TEST(Backoff, StopsAfterMaxAttempts) {
  Backoff b(no_jitter());
  std::vector<Duration> got;
  while (auto d = b.next(0.5)) {
    got.push_back(*d);
    ASSERT_LE(got.size(), 5u);
  }
  EXPECT_EQ(got, (std::vector<Duration>{1000ms, 2000ms, 4000ms, 8000ms, 16000ms}));
  EXPECT_EQ(b.attempts(), 5u);
  EXPECT_TRUE(b.exhausted());
  EXPECT_FALSE(b.next(0.5).has_value());
  EXPECT_EQ(b.attempts(), 5u);  // a refused attempt is not counted
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(no_jitter());
  for (int i = 0; i < 5; ++i) {
    b.next(0.0);
  }
  ASSERT_TRUE(b.exhausted());
  b.reset();
  EXPECT_EQ(b.attempts(), 0u);
  EXPECT_EQ(b.previous(), 0ms);
  EXPECT_FALSE(b.exhausted());
  EXPECT_EQ(b.next(0.0), 1000ms);
}

TEST(Backoff, ZeroMaxAttemptsIsUnlimited) {
  auto c = no_jitter();
  c.max_attempts = 0;
  Backoff b(c);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(b.next(0.5).has_value()) << "attempt " << i + 1;
  }
  EXPECT_EQ(b.attempts(), 1000u);
  EXPECT_EQ(b.next(0.5), 30000ms);
}

TEST(Backoff, OneMaxAttempt) {
  auto c = no_jitter();
  c.max_attempts = 1;
  Backoff b(c);
  EXPECT_EQ(b.next(0.0), 1000ms);
  EXPECT_FALSE(b.next(0.0).has_value());
}

TEST(Backoff, WrapperFeedsPreviousToDecorrelated) {
  auto c = with_mode(JitterMode::decorrelated);
  Backoff b(c);
  EXPECT_EQ(b.next(0.5), 2000ms);  // [1000, 3000]
  EXPECT_EQ(b.next(0.5), 3500ms);  // [1000, 6000]
  EXPECT_EQ(b.next(0.5), 5750ms);  // [1000, 10500]
  EXPECT_EQ(b.previous(), 5750ms);
}

TEST(Backoff, ModeNamesRoundTrip) {
  for (auto m :
       {JitterMode::none, JitterMode::symmetric, JitterMode::full, JitterMode::decorrelated}) {
    EXPECT_EQ(jitter_mode_from_string(to_string(m)), m);
  }
  EXPECT_EQ(to_string(JitterMode::symmetric), "symmetric");
  EXPECT_FALSE(jitter_mode_from_string("Full").has_value());
}

}  // namespace
}  // namespace steadyws
