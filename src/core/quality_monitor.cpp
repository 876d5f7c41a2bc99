#include "steadyws/core/quality_monitor.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace steadyws {
namespace {

// Upper bounds, inclusive, of excellent..poor; above the last is critical. Excellent's bound is
// exclusive (the spec says "< 50 ms", "< 0.5 %"), the others inclusive so that the alert
// thresholds "> 200 ms" / "> 5 %" and "> 500 ms" / "> 10 %" coincide with poor and critical.
constexpr double kLatencyBounds[] = {50.0, 100.0, 200.0, 500.0};
constexpr double kLossBounds[] = {0.5, 2.0, 5.0, 10.0};

constexpr double kWarnLatencyMs = 200.0;
constexpr double kErrorLatencyMs = 500.0;
constexpr double kWarnLossPct = 5.0;
constexpr double kErrorLossPct = 10.0;

constexpr double kMissedPenalty = 10.0;    // points per consecutive missed heartbeat
constexpr double kReconnectPenalty = 5.0;  // points per reconnect per hour
constexpr double kReconnectPenaltyCap = 25.0;
constexpr auto kReconnectRateFloor = std::chrono::hours(1);

Quality level_of(double v, const double (&bounds)[4]) noexcept {
  if (std::isnan(v)) {
    return Quality::critical;
  }
  if (v < bounds[0]) {
    return Quality::excellent;
  }
  for (int i = 1; i < 4; ++i) {
    if (v <= bounds[i]) {
      return static_cast<Quality>(i);
    }
  }
  return Quality::critical;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::string_view to_string(Quality q) noexcept {
  switch (q) {
    case Quality::excellent:
      return "excellent";
    case Quality::good:
      return "good";
    case Quality::fair:
      return "fair";
    case Quality::poor:
      return "poor";
    case Quality::critical:
      return "critical";
  }
  return "unknown";
}

std::string_view to_string(AlertLevel a) noexcept {
  switch (a) {
    case AlertLevel::warning:
      return "warning";
    case AlertLevel::error:
      return "error";
    case AlertLevel::critical:
      return "critical";
  }
  return "unknown";
}

Quality classify(double latency_ms, double loss_pct) noexcept {
  return std::max(level_of(latency_ms, kLatencyBounds), level_of(loss_pct, kLossBounds));
}

double reliability_score(double availability, double loss_pct, std::uint32_t consecutive_missed,
                         double reconnects_per_hour) noexcept {
  const double score =
      100.0 * std::clamp(availability, 0.0, 1.0) - std::max(loss_pct, 0.0) -
      kMissedPenalty * consecutive_missed -
      std::min(kReconnectPenaltyCap, kReconnectPenalty * std::max(reconnects_per_hour, 0.0));
  return std::clamp(score, 0.0, 100.0);
}

QualityMonitor::QualityMonitor(QualityConfig c) : config_(c) {
  if (config_.window == 0) {
    config_.window = 1;
  }
  ring_.assign(config_.window, 0);
}

void QualityMonitor::record_rtt(Clock::duration rtt, TimePoint /*now*/) {
  consecutive_missed_ = 0;
  push(std::max<std::int64_t>(0, rtt.count()));
}

void QualityMonitor::record_missed(TimePoint /*now*/) {
  ++consecutive_missed_;
  push(kMissed);
}

void QualityMonitor::push(std::int64_t sample_ns) {
  const std::size_t window = ring_.size();
  if (count_ == window) {  // evict the oldest, which sits where we are about to write
    const std::int64_t old = ring_[head_];
    if (old == kMissed) {
      --missed_count_;
    } else {
      rtt_sum_ns_ -= old;
      --rtt_count_;
    }
  } else {
    ++count_;
  }
  ring_[head_] = sample_ns;
  head_ = (head_ + 1) % window;
  if (sample_ns == kMissed) {
    ++missed_count_;
  } else {
    rtt_sum_ns_ += sample_ns;
    ++rtt_count_;
  }
  update_level();
}

double QualityMonitor::latency_ms() const {
  if (rtt_count_ == 0) {
    return 0.0;
  }
  return static_cast<double>(rtt_sum_ns_) / static_cast<double>(rtt_count_) / 1e6;
}

double QualityMonitor::loss_pct() const {
  if (count_ == 0) {
    return 0.0;
  }
  return 100.0 * static_cast<double>(missed_count_) / static_cast<double>(count_);
}

void QualityMonitor::update_level() {
  const Quality q = classify(latency_ms(), loss_pct());
  if (q == level_) {
    streak_ = 0;
    return;
  }
  const bool worse = q > level_;
  if (streak_ > 0 && worse == streak_worse_) {
    ++streak_;
    // The mildest level is the one every sample of the streak reached: for a worsening streak
    // the least bad, for an improving one the least good.
    streak_mildest_ = worse ? std::min(streak_mildest_, q) : std::max(streak_mildest_, q);
  } else {
    streak_ = 1;
    streak_worse_ = worse;
    streak_mildest_ = q;
  }
  if (streak_ >= std::max<std::uint32_t>(1, config_.hold_samples)) {
    level_ = streak_mildest_;
    streak_ = 0;
  }
}

std::optional<Quality> QualityMonitor::take_level_change() {
  if (level_ == reported_) {
    return std::nullopt;
  }
  reported_ = level_;
  return level_;
}

void QualityMonitor::record_connected(TimePoint now) {
  if (connected_) {
    return;
  }
  if (!observed_) {
    observed_ = true;
    first_connected_ = now;
  }
  connected_ = true;
  connected_since_ = now;
}

void QualityMonitor::record_disconnected(TimePoint now) {
  if (!connected_) {
    return;
  }
  connected_ = false;
  connected_total_ += std::max(Clock::duration::zero(), now - connected_since_);
}

void QualityMonitor::record_reconnect(TimePoint /*now*/) {
  ++reconnects_;
}

QualityMetrics QualityMonitor::metrics(TimePoint now) const {
  QualityMetrics m;
  m.latency = latency_ms();
  m.packet_loss = loss_pct();
  m.reconnect_count = reconnects_;

  // Jitter walks the ring (at most `window` steps); it is not needed per sample, so record_*
  // stays O(1). A missed sample is skipped: the RTTs on either side of it count as consecutive.
  if (rtt_count_ >= 2) {
    const std::size_t window = ring_.size();
    std::size_t i = (head_ + window - count_) % window;
    std::int64_t prev = kMissed;
    double sum = 0.0;
    std::size_t pairs = 0;
    for (std::size_t n = 0; n < count_; ++n, i = (i + 1) % window) {
      const std::int64_t s = ring_[i];
      if (s == kMissed) {
        continue;
      }
      if (prev != kMissed) {
        sum += static_cast<double>(std::llabs(s - prev));
        ++pairs;
      }
      prev = s;
    }
    m.jitter = pairs == 0 ? 0.0 : sum / static_cast<double>(pairs) / 1e6;
  }

  Clock::duration connected_time = connected_total_;
  if (connected_) {
    const auto current = std::max(Clock::duration::zero(), now - connected_since_);
    connected_time += current;
    m.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(current).count();
  }
  double availability = 1.0;
  double reconnects_per_hour = 0.0;
  if (observed_) {
    const auto observed = std::max(Clock::duration::zero(), now - first_connected_);
    if (observed > Clock::duration::zero()) {
      availability =
          std::chrono::duration<double>(connected_time) / std::chrono::duration<double>(observed);
    }
    const auto rate_span = std::max<Clock::duration>(observed, kReconnectRateFloor);
    reconnects_per_hour =
        reconnects_ / std::chrono::duration<double, std::ratio<3600>>(rate_span).count();
  } else if (reconnects_ > 0) {
    reconnects_per_hour = static_cast<double>(reconnects_);  // over the 1 h floor
  }
  m.reliability =
      reliability_score(availability, m.packet_loss, consecutive_missed_, reconnects_per_hour);
  return m;
}

std::vector<Alert> QualityMonitor::alerts(TimePoint now) const {
  std::vector<Alert> out;
  if (count_ == 0) {
    return out;
  }
  const QualityMetrics m = metrics(now);
  if (m.latency > kErrorLatencyMs) {
    out.push_back({AlertLevel::error, "latency " + fixed(m.latency, 1) + " ms is over 500 ms"});
  } else if (m.latency > kWarnLatencyMs) {
    out.push_back({AlertLevel::warning, "latency " + fixed(m.latency, 1) + " ms is over 200 ms"});
  }
  if (m.packet_loss > kErrorLossPct) {
    out.push_back(
        {AlertLevel::error, "packet loss " + fixed(m.packet_loss, 1) + " % is over 10 %"});
  } else if (m.packet_loss > kWarnLossPct) {
    out.push_back(
        {AlertLevel::warning, "packet loss " + fixed(m.packet_loss, 1) + " % is over 5 %"});
  }
  if (level_ == Quality::critical) {
    out.push_back({AlertLevel::critical, "connection quality is critical"});
  }
  return out;
}

std::vector<std::string> QualityMonitor::recommendations(TimePoint now) const {
  std::vector<std::string> out;
  const QualityMetrics m = metrics(now);
  if (count_ > 0 && m.latency > kWarnLatencyMs) {
    out.push_back("Latency is high (" + fixed(m.latency, 0) +
                  " ms): check the network path or use a server closer to you.");
  }
  if (m.jitter > 50.0) {
    out.push_back("Latency is unstable (jitter " + fixed(m.jitter, 0) +
                  " ms): look for a congested Wi-Fi link or competing traffic.");
  }
  if (m.packet_loss > 2.0) {
    out.push_back(fixed(m.packet_loss, 1) +
                  " % of heartbeats were lost: check signal strength and firewall or proxy "
                  "settings.");
  }
  if (consecutive_missed_ >= 2) {
    out.push_back(std::to_string(consecutive_missed_) +
                  " heartbeats in a row went unanswered: the link may be dead; reconnect.");
  }
  if (reconnects_ >= 3) {
    out.push_back(std::to_string(reconnects_) +
                  " reconnections: investigate network stability and proxy idle timeouts "
                  "(keep the heartbeat interval below them).");
  }
  if (level_ == Quality::critical) {
    out.push_back("Quality is critical: switch to the HTTP polling fallback until it recovers.");
  }
  return out;
}

void QualityMonitor::reset() {
  *this = QualityMonitor(config_);
}

}  // namespace steadyws
