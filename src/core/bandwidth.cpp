#include "steadyws/core/bandwidth.hpp"

#include <algorithm>

namespace steadyws {

ReceiveBandwidthEstimator::ReceiveBandwidthEstimator(ReceiveBandwidthConfig config)
    : config_(config),
      width_(std::max<Clock::duration>(config.window / static_cast<int>(kBuckets),
                                       Clock::duration{1})) {}

std::int64_t ReceiveBandwidthEstimator::bucket_index(TimePoint t) const {
  return static_cast<std::int64_t>(t.time_since_epoch() / width_);
}

void ReceiveBandwidthEstimator::reset() {
  ring_ = {};
  base_rtt_.reset();
  last_rtt_[0].reset();
  last_rtt_[1].reset();
  throttled_ = false;
}

void ReceiveBandwidthEstimator::on_message(std::size_t bytes, TimePoint now) {
  const std::int64_t i = bucket_index(now);
  Bucket& b = ring_[static_cast<std::size_t>(i) % kBuckets];
  if (b.index != i) {
    b.index = i;
    b.bytes = 0;
  }
  b.bytes += bytes;
  update(now);
}

void ReceiveBandwidthEstimator::on_rtt(Duration rtt, TimePoint now) {
  if (!base_rtt_ || rtt < *base_rtt_)
    base_rtt_ = rtt;
  last_rtt_[1] = last_rtt_[0];
  last_rtt_[0] = rtt;
  last_rtt_at_ = now;
  update(now);
}

void ReceiveBandwidthEstimator::rate(TimePoint now, double& bytes_per_second,
                                     double& busy_share) const {
  const std::int64_t last = bucket_index(now);
  const std::int64_t first = last - static_cast<std::int64_t>(kBuckets) + 1;
  std::uint64_t bytes = 0;
  std::size_t busy = 0;
  std::int64_t oldest = last + 1;
  for (const auto& b : ring_) {
    if (b.index < first || b.index > last || b.bytes == 0)
      continue;
    bytes += b.bytes;
    ++busy;
    oldest = std::min(oldest, b.index);
  }
  busy_share = static_cast<double>(busy) / static_cast<double>(kBuckets);
  if (busy == 0) {
    bytes_per_second = 0;
    return;
  }
  // Over the time the arrivals span (from the start of the oldest busy bucket to now), so
  // traffic that began 2 s ago is not diluted over the whole 5 s window.
  const auto span = now - TimePoint{oldest * width_};
  const double seconds = std::max(std::chrono::duration<double>(span).count(),
                                  std::chrono::duration<double>(width_).count());
  bytes_per_second = static_cast<double>(bytes) / seconds;
}

bool ReceiveBandwidthEstimator::inflated(Duration rtt) const {
  if (!base_rtt_)
    return false;
  return rtt > *base_rtt_ + std::max(config_.min_queue_delay, *base_rtt_);
}

void ReceiveBandwidthEstimator::update(TimePoint now) {
  double bps = 0;
  double busy = 0;
  rate(now, bps, busy);
  if (busy == 0) {
    throttled_ = false;  // nothing arrived for a window: nothing is waiting
    return;
  }
  const bool both = last_rtt_[0] && last_rtt_[1];
  if (!both)
    return;
  const bool recent = now - last_rtt_at_ <= config_.window;
  if (!throttled_ && recent && busy >= 0.5 && inflated(*last_rtt_[0]) && inflated(*last_rtt_[1]))
    throttled_ = true;
  else if (throttled_ && !inflated(*last_rtt_[0]) && !inflated(*last_rtt_[1]))
    throttled_ = false;
}

BandwidthEstimate ReceiveBandwidthEstimator::estimate(TimePoint now) const {
  BandwidthEstimate e;
  double busy = 0;
  rate(now, e.bytes_per_second, busy);
  e.throttled = throttled_ && busy > 0;
  return e;
}

std::optional<BandwidthEstimate> ReceiveBandwidthEstimator::take_report(TimePoint now) {
  update(now);
  const auto e = estimate(now);
  const bool changed = e.throttled != reported_throttled_;
  const bool due = e.throttled && (!last_report_ || now - *last_report_ >= config_.report_every);
  if (!changed && !due)
    return std::nullopt;
  reported_throttled_ = e.throttled;
  last_report_ = now;
  return e;
}

}  // namespace steadyws
