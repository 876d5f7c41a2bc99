// Reconnect backoff: the delay before each reconnect attempt, as a pure function of the
// configuration, the attempt number and a random draw the caller supplies. It is not a timer
// and it does not sleep: the shell arms its own timer with the returned delay. Randomness is an
// argument (STYLE 3.6), so tests pass u = 0.0, 0.5, 0.999 and assert exact durations; production
// draws u from a per-client seeded std::mt19937_64.
//
// Formulas (k = attempt, k >= 1; core(k) = min(base * 2^(k-1), max_delay), or min(base, max_delay)
// when exponential is off). Every result is rounded to the nearest millisecond, never negative,
// and computed with saturation (attempt = 1000000 gives max_delay, not an overflow):
//   none:         core(k)
//   symmetric:    core(k) + (2u - 1) * jitter, clamped at 0   (ORIGIN "±1000 ms"; the default)
//   full:         u * core(k)                                  (AWS "full jitter")
//   decorrelated: min(max_delay, base + u * (3 * prev - base)),  prev = the previous delay,
//                 or base on the first attempt                 (AWS "decorrelated jitter")
// Symmetric jitter may exceed max_delay by up to `jitter` (ORIGIN adds jitter after the cap).
//
// Thread-safety: backoff_delay() is a pure function. A Backoff object is not thread-safe: it is
// owned by one client and used on that client's strand.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "steadyws/core/time.hpp"

namespace steadyws {

enum class JitterMode {
  none,       // no randomness: core(k) exactly
  symmetric,  // core(k) ± jitter, uniform: the ORIGIN default
  full,       // uniform in [0, core(k)]: spreads a thundering herd best
  decorrelated,
};

// The wire/CLI spelling of a mode ("none", "symmetric", "full", "decorrelated").
std::string_view to_string(JitterMode m) noexcept;
// The mode spelled `s`, or nullopt for anything else (exact, case-sensitive match).
std::optional<JitterMode> jitter_mode_from_string(std::string_view s) noexcept;

struct BackoffConfig {
  Duration base{1000};        // 1 s: ORIGIN reconnectInterval; the first delay
  Duration max_delay{30000};  // 30 s: ORIGIN maxBackoffDelay; caps core(k) in every mode
  Duration jitter{1000};      // ±1 s: ORIGIN; only used by JitterMode::symmetric
  JitterMode mode = JitterMode::symmetric;
  bool exponential = true;         // false: core(k) = base for every k (decorrelated: prev = base)
  std::uint32_t max_attempts = 5;  // ORIGIN default 5; 0 = unlimited
};

// Returns the delay before attempt `attempt` (1-based; 0 is treated as 1).
// `u` is a uniform draw in [0, 1) supplied by the caller; values outside are clamped into
// [0, 1] and NaN is treated as 0. `previous` is the delay returned for the previous attempt,
// used only by JitterMode::decorrelated (on attempt 1, or when previous < base, base is used).
// Negative base, max_delay or jitter are treated as 0. Never negative, never overflows.
Duration backoff_delay(const BackoffConfig& c, std::uint32_t attempt, double u,
                       Duration previous = Duration{0});

// Stateful wrapper: counts attempts and remembers the previous delay for decorrelated jitter.
// Invariants:
//   1. attempts() is the number of delays handed out since construction or reset().
//   2. When config().max_attempts != 0, attempts() <= config().max_attempts.
class Backoff {
 public:
  explicit Backoff(BackoffConfig c);

  // Returns the delay before the next attempt and counts it, or nullopt (and counts nothing)
  // once max_attempts delays have been handed out. `u` as for backoff_delay().
  std::optional<Duration> next(double u);

  // Back to attempt 1 (call on a successful connection or a manual connect()).
  void reset();

  // Delays handed out since construction or reset() (saturates at UINT32_MAX when unlimited).
  std::uint32_t attempts() const { return attempts_; }
  // True when next() would return nullopt.
  bool exhausted() const;
  // The last delay handed out, 0 before the first.
  Duration previous() const { return previous_; }
  const BackoffConfig& config() const { return config_; }

 private:
  BackoffConfig config_;
  std::uint32_t attempts_ = 0;
  Duration previous_{0};
};

}  // namespace steadyws
