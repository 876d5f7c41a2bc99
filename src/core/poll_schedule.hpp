// Pacing of the HTTP long-poll fallback: how long to pause between two polls. Fast successes
// shorten the pause towards `min`, slow successes and failures lengthen it towards `max`. Pure
// arithmetic on what the owner reports; it never reads a clock or sleeps.
// It is not the reconnect backoff (core/backoff.hpp), which paces WebSocket reconnects.
// Not thread-safe: owned by one client transport.
// Rule and defaults: docs/core/quality-poll-queue-rate.md.
#pragma once

#include <cstdint>

#include "steadyws/core/time.hpp"

namespace steadyws {

struct PollScheduleConfig {
  Duration initial{5000};  // 5 s: ORIGIN.md's fallbackPollInterval
  Duration min{1000};      // 1 s: ORIGIN.md's floor for excellent links
  Duration max{60000};     // 60 s: ORIGIN.md's ceiling for poor links
  // A success that took longer than this is slow. 1 s: twice the 500 ms "critical" latency
  // boundary, and no point polling every second when each poll itself takes longer.
  Duration slow_threshold{1000};
  double fast_factor = 0.5;     // fast success: halve (5 s -> 1 s in three fast polls)
  double slow_factor = 1.5;     // slow success: back off gently, the server did answer
  double failure_factor = 2.0;  // failure: double (5 s -> 60 s in four failures)
};

class PollSchedule {
 public:
  // REQUIRES: min <= max; factors > 0. initial is clamped into [min, max].
  explicit PollSchedule(PollScheduleConfig c = {});

  // A poll answered. latency: its round trip, excluding any time the server deliberately held
  // a long poll open waiting for messages. latency <= slow_threshold is fast:
  // interval = max(min, interval * fast_factor); else slow: min(max, interval * slow_factor).
  void on_success(Duration latency);
  // A poll failed (network error, timeout, 5xx): interval = min(max, interval * failure_factor).
  void on_failure();
  // The current pause before the next poll; always within [min, max].
  Duration interval() const { return interval_; }
  // Failures since the last success.
  std::uint32_t consecutive_failures() const { return failures_; }
  // Back to `initial`, no failures.
  void reset();

 private:
  void scale(double factor);

  PollScheduleConfig config_;
  Duration interval_;
  std::uint32_t failures_ = 0;
};

}  // namespace steadyws
