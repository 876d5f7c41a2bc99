#include "steadyws/core/backoff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

namespace steadyws {
namespace {

using Rep = Duration::rep;

constexpr std::array<std::pair<JitterMode, std::string_view>, 4> kModeNames{{
    {JitterMode::none, "none"},
    {JitterMode::symmetric, "symmetric"},
    {JitterMode::full, "full"},
    {JitterMode::decorrelated, "decorrelated"},
}};

Rep non_negative(Duration d) {
  return std::max<Rep>(d.count(), 0);
}

// base * 2^(attempt-1), capped at `cap`, without ever computing a product that overflows:
// the shift is refused before it could lose bits (IXWebSocket's "special after 26 retries").
Rep capped_exponential(Rep base, std::uint32_t attempt, Rep cap) {
  if (base == 0) {
    return 0;
  }
  const std::uint32_t shift = attempt - 1;
  if (shift >= 62 || base > (cap >> shift)) {
    return cap;
  }
  return std::min(base << shift, cap);
}

// Rounds a non-negative double to whole milliseconds, saturating at Duration::max().
Duration to_duration(double ms) {
  if (!(ms > 0.0)) {  // also catches NaN
    return Duration{0};
  }
  // 2^63 is exactly representable; anything at or above it would overflow llround.
  constexpr double kLimit = 9223372036854775808.0;
  if (ms >= kLimit) {
    return Duration::max();
  }
  return Duration{std::llround(ms)};
}

double clamp_unit(double u) {
  if (std::isnan(u) || u < 0.0) {
    return 0.0;
  }
  return std::min(u, 1.0);
}

}  // namespace

std::string_view to_string(JitterMode m) noexcept {
  for (const auto& [mode, name] : kModeNames) {
    if (mode == m) {
      return name;
    }
  }
  return "unknown";
}

std::optional<JitterMode> jitter_mode_from_string(std::string_view s) noexcept {
  for (const auto& [mode, name] : kModeNames) {
    if (name == s) {
      return mode;
    }
  }
  return std::nullopt;
}

Duration backoff_delay(const BackoffConfig& c, std::uint32_t attempt, double u, Duration previous) {
  attempt = std::max<std::uint32_t>(attempt, 1);
  u = clamp_unit(u);
  const Rep base = non_negative(c.base);
  const Rep cap = non_negative(c.max_delay);
  const Rep core = c.exponential ? capped_exponential(base, attempt, cap) : std::min(base, cap);

  switch (c.mode) {
    case JitterMode::none:
      return Duration{core};
    case JitterMode::symmetric: {
      const double jitter = static_cast<double>(non_negative(c.jitter));
      return to_duration(static_cast<double>(core) + (2.0 * u - 1.0) * jitter);
    }
    case JitterMode::full:
      return to_duration(u * static_cast<double>(core));
    case JitterMode::decorrelated: {
      // AWS: sleep = min(cap, random_between(base, sleep * 3)). A previous delay below base
      // (never produced by this function, but the caller may pass anything) is raised to base
      // so the range never runs backwards. Without exponential growth, prev stays at base.
      const Rep prev =
          (attempt == 1 || !c.exponential) ? base : std::max(non_negative(previous), base);
      const double lo = static_cast<double>(base);
      const double hi = 3.0 * static_cast<double>(prev);
      const double d = std::min(static_cast<double>(cap), lo + u * (hi - lo));
      return to_duration(d);
    }
  }
  return Duration{core};  // unreachable for valid enumerators
}

Backoff::Backoff(BackoffConfig c) : config_(c) {}

bool Backoff::exhausted() const {
  return config_.max_attempts != 0 && attempts_ >= config_.max_attempts;
}

std::optional<Duration> Backoff::next(double u) {
  if (exhausted()) {
    return std::nullopt;
  }
  if (attempts_ < std::numeric_limits<std::uint32_t>::max()) {
    ++attempts_;
  }
  previous_ = backoff_delay(config_, attempts_, u, previous_);
  return previous_;
}

void Backoff::reset() {
  attempts_ = 0;
  previous_ = Duration{0};
}

}  // namespace steadyws
