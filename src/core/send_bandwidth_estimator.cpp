#include "core/send_bandwidth_estimator.hpp"

#include <algorithm>

namespace steadyws {

SendBandwidthEstimator::SendBandwidthEstimator(SendBandwidthConfig config) : config_(config) {}

bool SendBandwidthEstimator::on_written(std::uint64_t bytes_written, TimePoint now) {
  if (bytes_written < last_probe_bytes_ + config_.min_probe_bytes)
    return false;  // little or nothing went out since the last probe (or the session is idle)
  if (probes_.size() >= config_.max_outstanding)
    return false;
  return !last_probe_at_ || now - *last_probe_at_ >= config_.probe_interval;
}

std::uint64_t SendBandwidthEstimator::on_probe_sent(std::uint64_t bytes_before, TimePoint now) {
  const std::uint64_t id = next_id_++;
  probes_.push_back({id, bytes_before, now});
  last_probe_bytes_ = bytes_before;
  last_probe_at_ = now;
  return id;
}

bool SendBandwidthEstimator::waited(Duration rtt) const {
  if (!base_rtt_)
    return false;
  return rtt > *base_rtt_ + std::max(config_.min_queue_delay, *base_rtt_);
}

void SendBandwidthEstimator::on_rtt(Duration rtt) {
  if (!base_rtt_ || rtt < *base_rtt_)
    base_rtt_ = rtt;
}

void SendBandwidthEstimator::on_probe_answered(std::uint64_t id, TimePoint now) {
  auto it =
      std::find_if(probes_.begin(), probes_.end(), [id](const Probe& p) { return p.id == id; });
  if (it == probes_.end())
    return;
  const Probe p = *it;
  // Pongs come in order; a probe older than this one that is still listed was lost with a
  // dropped frame: forget it too.
  probes_.erase(probes_.begin(), it + 1);
  const auto rtt = std::chrono::duration_cast<Duration>(now - p.sent_at);
  on_rtt(rtt);
  if (waited(rtt)) {
    ++waited_in_row_;
    clear_in_row_ = 0;
  } else {
    ++clear_in_row_;
    waited_in_row_ = 0;
  }
  if (waited_in_row_ >= 2)
    throttled_ = true;
  if (clear_in_row_ >= 2)
    throttled_ = false;
  acks_.push_back({now, p.bytes_before});
  // Keep the answers of the last window, plus the one before it (the rate's starting point).
  while (acks_.size() > 2 && now - acks_[1].at > config_.window)
    acks_.pop_front();
  last_answer_at_ = now;
  last_rate_ = delivered_rate(now);
}

double SendBandwidthEstimator::delivered_rate(TimePoint now) const {
  // From the oldest answer inside the window (or the one just before it) to the newest.
  std::size_t first = 0;
  while (first + 2 < acks_.size() && now - acks_[first + 1].at > config_.window)
    ++first;
  if (acks_.size() < first + 2)
    return last_rate_;
  const Ack& a = acks_[first];
  const Ack& b = acks_.back();
  const double seconds = std::chrono::duration<double>(b.at - a.at).count();
  if (seconds < 0.2 || b.bytes < a.bytes)
    return last_rate_;
  return static_cast<double>(b.bytes - a.bytes) / seconds;
}

BandwidthEstimate SendBandwidthEstimator::estimate(TimePoint now) const {
  BandwidthEstimate e;
  e.bytes_per_second = last_rate_;
  // Nothing answered for two windows and nothing asked: idle, nothing is waiting any more.
  // (Probes that stay unanswered keep it throttled; a link that never answers is the
  // heartbeat's business.)
  const bool stale =
      probes_.empty() && (!last_answer_at_ || now - *last_answer_at_ > 2 * config_.window);
  e.throttled = throttled_ && !stale;
  return e;
}

}  // namespace steadyws
