// Forecasts connection quality: after every heartbeat sample, the probability that the
// QualityMonitor's level will be `poor` or worse within the next `horizon` ms, and a predicted
// level (issue 15, CONTRACT §10 "forecast"). Sans-I/O like the rest of src/core: the owner
// feeds it the same samples it feeds its QualityMonitor, plus the level the monitor shows
// after each, and reads the answer; it reads no clock.
//
// The model is a logistic regression over features of the last 64 samples (RTT means over 5,
// 20 and 50 samples and their differences, the RTT slope, jitter, misses over 5, 20 and 50
// samples, consecutive misses, recent reconnects, the current level, the horizon in samples),
// trained offline by scripts/forecast/train.mjs on traces recorded through `steadyws proxy`
// (docs/prediction.md). Its coefficients are generated into src/core/forecast_model.inc and
// clients/js/src/forecast-model.js from scripts/forecast/model.json; clients/js/src/forecast.js
// computes the same features in the browser.
//
// Features count samples, not milliseconds, because the level does (a 50-sample window with
// a 3-sample hold): the horizon is turned into samples with the heartbeat interval
// (horizon / interval, clamped to [1, 240]).
//
// Not thread-safe: owned by one client and used on its strand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "steadyws/core/quality_monitor.hpp"
#include "steadyws/core/time.hpp"

namespace steadyws {

struct ForecastConfig {
  Duration horizon{30000};  // issue 15: "poor or worse within the next 30 s"
  // The owner's heartbeat interval: one sample per interval, so horizon / interval samples.
  Duration heartbeat_interval{30000};
};

struct Forecast {
  double risk = 0;  // 0-1: P(level >= poor at some sample within the horizon)
  // Poor or worse expected: max(level, poor) when risk >= 0.5; else min(level, fair).
  Quality predicted_level = Quality::excellent;
  Duration horizon{30000};
  std::uint64_t samples = 0;  // samples seen (0: nothing forecast yet)
};

// The horizon in samples the model is asked about: horizon / interval, clamped to [1, 240].
double forecast_horizon_samples(const ForecastConfig& c) noexcept;

class QualityForecaster {
 public:
  static constexpr std::size_t kFeatures = 20;
  static constexpr std::size_t kRing = 64;
  using Features = std::array<double, kFeatures>;

  explicit QualityForecaster(ForecastConfig c = {});

  // One heartbeat sample: a pong in time (rtt) or a missed ping (nullopt). `level` is the
  // QualityMonitor's level after it took the same sample. Returns the new forecast.
  Forecast on_sample(std::optional<Clock::duration> rtt, Quality level);
  // A reconnection happened (QualityMonitor::record_reconnect): attached to the next sample.
  void on_reconnect();

  Forecast last() const { return last_; }
  // The feature vector the last forecast was computed from (all 0 before the first sample).
  const Features& features() const { return features_; }
  const ForecastConfig& config() const { return config_; }
  void set_config(ForecastConfig c);
  // Forget every sample (same config).
  void reset();

  // The model: risk = 1 / (1 + exp(-(w · x))), x[0] = 1.
  static double risk_of(const Features& x) noexcept;
  static Quality predicted_level(double risk, Quality level) noexcept;

 private:
  struct Sample {
    double rtt_ms = 0;  // valid when !missed
    bool missed = false;
    bool reconnect = false;  // a reconnect happened just before this sample
  };

  void compute_features(Quality level);
  const Sample& back(std::size_t i) const;  // 0 = newest; REQUIRES i < count_

  ForecastConfig config_;
  std::array<Sample, kRing> ring_{};
  std::size_t head_ = 0;   // next slot
  std::size_t count_ = 0;  // <= kRing
  std::uint64_t total_ = 0;
  std::uint32_t consecutive_missed_ = 0;
  std::uint64_t since_reconnect_ = 1000;  // samples since the last reconnect (capped)
  bool pending_reconnect_ = false;
  Features features_{};
  Forecast last_;
};

}  // namespace steadyws
