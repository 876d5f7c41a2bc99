#include "core/rate_limiter.hpp"

#include <algorithm>

namespace steadyws {

RateLimiter::RateLimiter(RateLimitConfig c, TimePoint now)
    : config_(c), tokens_(0), last_(now), window_start_(now) {
  if (config_.rate_per_sec > 0) {
    config_.burst = std::max(config_.burst, 1.0);
  }
  if (config_.abuse_window <= Duration::zero()) {
    config_.abuse_window = Duration(1000);
  }
  if (config_.flood_rejects == 0) {
    const double window_s = std::chrono::duration<double>(config_.abuse_window).count();
    config_.flood_rejects = static_cast<std::uint64_t>(
        std::max(1.0, config_.burst + std::max(config_.rate_per_sec, 0.0) * window_s));
  }
  tokens_ = config_.burst;
}

RateDecision RateLimiter::on_message(TimePoint now) {
  if (!(config_.rate_per_sec > 0)) {
    return RateDecision::allow;
  }
  if (closed_) {
    return RateDecision::close;
  }
  if (now > last_) {
    const double elapsed_s = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(config_.burst, tokens_ + elapsed_s * config_.rate_per_sec);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return RateDecision::allow;
  }
  ++rejected_;

  // Only rejects move the abuse windows, so allowed traffic pays nothing for them.
  const Clock::duration window = config_.abuse_window;
  if (now >= window_start_ + window) {
    const auto steps = (now - window_start_) / window;  // >= 1 whole windows elapsed
    // The streak survives only if the window just closed had a reject and this one directly
    // follows it.
    if (steps != 1 || window_rejects_ == 0) {
      strikes_ = 0;
    }
    window_start_ += steps * window;
    window_rejects_ = 0;
  }
  if (window_rejects_++ == 0) {
    ++strikes_;
  }
  if ((config_.abuse_strikes > 0 && strikes_ >= config_.abuse_strikes) ||
      window_rejects_ > config_.flood_rejects) {
    closed_ = true;
    return RateDecision::close;
  }
  return RateDecision::reject;
}

}  // namespace steadyws
