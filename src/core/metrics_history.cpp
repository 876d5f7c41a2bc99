#include "core/metrics_history.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace steadyws {

namespace {
// An empty ring entry, and "no sample yet" in newest_: no slot a clock can reach. (The
// header's -1 defaults are overwritten here: -1 is a real slot, the second before a clock's
// epoch, which the window reaches whenever the clock is under 15 minutes past it.)
constexpr std::int64_t kNoSlot = std::numeric_limits<std::int64_t>::min();
}  // namespace

MetricsHistory::MetricsHistory(Duration interval, std::size_t capacity)
    : interval_(interval), ring_(capacity) {
  assert(interval > Duration::zero() && capacity > 0);
  for (auto& e : ring_)
    e.slot = kNoSlot;
  newest_ = kNoSlot;
}

std::int64_t MetricsHistory::slot_of(TimePoint t) const {
  const auto since = std::chrono::duration_cast<Duration>(t.time_since_epoch());
  // Floor division: a steady clock's epoch is arbitrary, so times before it may occur in
  // tests; they still map to ordered slots.
  std::int64_t q = since.count() / interval_.count();
  if (since.count() % interval_.count() < 0)
    --q;
  return q;
}

void MetricsHistory::record(TimePoint now, const MetricsSample& s) {
  const std::int64_t slot = slot_of(now);
  if (newest_ != kNoSlot && slot < newest_)
    return;
  const auto n = static_cast<std::int64_t>(ring_.size());
  Entry& e = ring_[static_cast<std::size_t>(((slot % n) + n) % n)];
  e.slot = slot;
  e.sample = s;
  newest_ = slot;
}

std::vector<MetricsSample> MetricsHistory::samples(TimePoint now) const {
  std::vector<MetricsSample> out;
  if (newest_ == kNoSlot)
    return out;
  const auto n = static_cast<std::int64_t>(ring_.size());
  const std::int64_t last = slot_of(now);
  const std::int64_t first = last - n + 1;  // the oldest slot still inside the window
  out.reserve(ring_.size());
  for (std::int64_t slot = std::max(first, newest_ - n + 1); slot <= newest_; ++slot) {
    const Entry& e = ring_[static_cast<std::size_t>(((slot % n) + n) % n)];
    if (e.slot == slot)
      out.push_back(e.sample);
  }
  return out;
}

TimePoint MetricsHistory::next_due(TimePoint now) const {
  return TimePoint{} + interval_ * (slot_of(now) + 1);
}

}  // namespace steadyws
