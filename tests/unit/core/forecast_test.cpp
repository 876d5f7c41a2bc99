#include "steadyws/core/forecast.hpp"

#include <cmath>
#include <optional>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

TEST(QualityForecaster, HorizonInSamplesIsClamped) {
  EXPECT_DOUBLE_EQ(forecast_horizon_samples({30000ms, 500ms}), 60);
  EXPECT_DOUBLE_EQ(forecast_horizon_samples({30000ms, 30000ms}), 1);
  EXPECT_DOUBLE_EQ(forecast_horizon_samples({1000ms, 30000ms}), 1);
  EXPECT_DOUBLE_EQ(forecast_horizon_samples({600000ms, 500ms}), 240);
  EXPECT_DOUBLE_EQ(forecast_horizon_samples({30000ms, 0ms}), 240);  // interval 0 acts as 1 ms
}

TEST(QualityForecaster, PredictedLevelRule) {
  using Q = Quality;
  EXPECT_EQ(QualityForecaster::predicted_level(0.5, Q::excellent), Q::poor);
  EXPECT_EQ(QualityForecaster::predicted_level(0.49999, Q::excellent), Q::excellent);
  EXPECT_EQ(QualityForecaster::predicted_level(0.9, Q::critical), Q::critical);
  EXPECT_EQ(QualityForecaster::predicted_level(0.1, Q::critical), Q::fair);
  EXPECT_EQ(QualityForecaster::predicted_level(0.1, Q::good), Q::good);
}

TEST(QualityForecaster, FeaturesOfAKnownSequence) {
  QualityForecaster f({30000ms, 500ms});
  EXPECT_EQ(f.last().samples, 0u);
  for (int i = 0; i < 4; ++i)
    f.on_sample(100ms, Quality::good);
  f.on_reconnect();
  f.on_sample(std::nullopt, Quality::fair);
  const auto& x = f.features();
  EXPECT_EQ(x[0], 1);
  EXPECT_DOUBLE_EQ(x[1], 0.5);              // fair = 2 of 4
  EXPECT_EQ(x[2], 1);                       // >= fair
  EXPECT_EQ(x[3], 0);                       // not >= poor
  EXPECT_DOUBLE_EQ(x[4], std::log1p(1.0));  // the RTTs among the last 5: all 100 ms
  EXPECT_DOUBLE_EQ(x[7], 0);                // no trend
  EXPECT_DOUBLE_EQ(x[9], 0);                // flat slope
  EXPECT_DOUBLE_EQ(x[10], 0);               // no jitter
  EXPECT_DOUBLE_EQ(x[11], 1.0 / 5);         // one miss in the last 5
  EXPECT_DOUBLE_EQ(x[12], 1.0 / 20);        // ... of 20 (divided by the window, not count)
  EXPECT_DOUBLE_EQ(x[13], 1.0 / 50 * 10);
  EXPECT_DOUBLE_EQ(x[14], 1.0 / 5);  // one consecutive miss
  EXPECT_DOUBLE_EQ(x[15], 1.0 / 3);  // the reconnect rides on this sample
  EXPECT_DOUBLE_EQ(x[16], 1);        // 0 samples since it
  EXPECT_DOUBLE_EQ(x[17], std::log(60.0) / std::log(240.0));
  EXPECT_EQ(f.last().samples, 5u);
  f.on_sample(100ms, Quality::fair);
  EXPECT_EQ(f.features()[14], 0);  // a pong ends the run of misses
  EXPECT_DOUBLE_EQ(f.features()[16], std::exp(-1.0 / 20));
}

TEST(QualityForecaster, CleanLinkIsLowRiskSlowLinkIsHigh) {
  QualityForecaster f({30000ms, 500ms});
  Forecast fc;
  for (int i = 0; i < 100; ++i)
    fc = f.on_sample(5ms, Quality::excellent);
  EXPECT_LT(fc.risk, 0.5);
  EXPECT_EQ(fc.predicted_level, Quality::excellent);
  EXPECT_EQ(fc.horizon, 30000ms);
  // A jump to 600 ms: the window mean (and so the level) has not moved yet.
  for (int i = 0; i < 10; ++i)
    fc = f.on_sample(600ms, Quality::good);
  EXPECT_GE(fc.risk, 0.5) << "the model should call a 600 ms RTT before the level does";
  EXPECT_GE(fc.predicted_level, Quality::poor);
  f.reset();
  EXPECT_EQ(f.last().samples, 0u);
  EXPECT_EQ(f.last().risk, 0);
}

TEST(QualityForecaster, RiskIsAlwaysAProbability) {
  QualityForecaster::Features x{};
  x.fill(1e12);
  const double hi = QualityForecaster::risk_of(x);
  x.fill(-1e12);
  x[0] = 1;
  const double lo = QualityForecaster::risk_of(x);
  EXPECT_GE(hi, 0);
  EXPECT_LE(hi, 1);
  EXPECT_GE(lo, 0);
  EXPECT_LE(lo, 1);
}

}  // namespace
}  // namespace steadyws
