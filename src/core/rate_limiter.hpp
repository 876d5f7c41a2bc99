// Per-connection token bucket for inbound messages, plus the rule that turns sustained abuse
// into a close. The server asks it once per inbound message: allow, reject (answer with a
// "rate_limited" error frame, keep the connection) or close (1008, CONTRACT §2).
// It is not a global or per-IP limiter, and it does not count bytes.
// Hot path: on_message() is O(1), allocation-free and branch-light. Not thread-safe: one per
// session, used on that session's strand.
// Rules and defaults: docs/core/quality-poll-queue-rate.md.
#pragma once

#include <cstdint>

#include "steadyws/core/time.hpp"

namespace steadyws {

struct RateLimitConfig {
  // Tokens per second; 0 = off (always allow). 1000: the contract's --rate-limit default.
  double rate_per_sec = 1000;
  // Bucket size, and the tokens a new connection starts with. 2000: --rate-burst; two seconds
  // of traffic, so a client replaying its offline queue on reconnect is not rejected.
  // REQUIRES: burst >= 1 when rate_per_sec > 0 (a smaller burst is raised to 1).
  double burst = 2000;
  // Abuse is judged per window of this length, aligned to the limiter's construction time.
  Duration abuse_window{1000};
  // Close after this many consecutive windows each with at least one rejected message. 5: a
  // client that backs off after its first rate_limited error is never closed; one that keeps
  // sending over its limit for five seconds straight is. 0 = never close for persistence.
  std::uint32_t abuse_strikes = 5;
  // Close at once when one window holds more than this many rejects: a flood, where every
  // reject would cost the server an error frame. 0 = burst + rate_per_sec * abuse_window, the
  // most a window can ever allow, so a flood means sending over twice the allowance (3000
  // rejects in a second at the defaults).
  std::uint64_t flood_rejects = 0;
};

enum class RateDecision { allow, reject, close };

class RateLimiter {
 public:
  // The bucket starts full at `now`.
  RateLimiter(RateLimitConfig c, TimePoint now);

  // One inbound message at `now`. allow: a token was taken. reject: the bucket is empty.
  // close: abuse (see RateLimitConfig); once returned, every later call returns close too.
  // A `now` earlier than the previous call refills nothing (steady clocks do not go back,
  // but fake ones might).
  RateDecision on_message(TimePoint now);

  std::uint64_t rejected() const { return rejected_; }
  // Tokens left as of the last on_message() (or construction); for tests and metrics.
  double tokens() const { return tokens_; }
  bool is_closed() const { return closed_; }

 private:
  RateLimitConfig config_;
  double tokens_;
  TimePoint last_;  // time of the last refill
  std::uint64_t rejected_ = 0;

  // Abuse tracking over fixed windows [window_start_, window_start_ + abuse_window).
  TimePoint window_start_;
  std::uint64_t window_rejects_ = 0;
  std::uint32_t strikes_ = 0;  // consecutive windows with a reject, this one included
  bool closed_ = false;
};

}  // namespace steadyws
