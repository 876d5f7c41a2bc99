#include "core/poll_schedule.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace steadyws {

PollSchedule::PollSchedule(PollScheduleConfig c) : config_(c) {
  assert(config_.min <= config_.max);
  if (config_.max < config_.min) {  // release builds: a usable schedule rather than UB
    config_.max = config_.min;
  }
  reset();
}

void PollSchedule::reset() {
  interval_ = std::clamp(config_.initial, config_.min, config_.max);
  failures_ = 0;
}

void PollSchedule::scale(double factor) {
  // In double, rounded to the ms, then clamped: no integer overflow at the ceiling, and a
  // factor that rounds back to the same value simply leaves the interval where it is.
  const double next = std::round(static_cast<double>(interval_.count()) * factor);
  const double lo = static_cast<double>(config_.min.count());
  const double hi = static_cast<double>(config_.max.count());
  interval_ =
      Duration(static_cast<Duration::rep>(std::isnan(next) ? hi : std::clamp(next, lo, hi)));
}

void PollSchedule::on_success(Duration latency) {
  failures_ = 0;
  scale(latency <= config_.slow_threshold ? config_.fast_factor : config_.slow_factor);
}

void PollSchedule::on_failure() {
  ++failures_;
  scale(config_.failure_factor);
}

}  // namespace steadyws
