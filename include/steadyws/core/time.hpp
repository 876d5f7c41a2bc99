// Time as the sans-I/O core sees it: the core names clocks but never calls now(). Every
// function that needs the time takes a TimePoint argument; I/O shells read the clock and pass
// it in, tests pass t0 + 30s.
#pragma once

#include <chrono>
#include <cstdint>

namespace steadyws {

using Clock = std::chrono::steady_clock;                 // intervals and deadlines
using TimePoint = Clock::time_point;                     // converts to steady_timer::expires_at
using Duration = std::chrono::milliseconds;              // every configured interval
using WallTime = std::chrono::system_clock::time_point;  // only for wire timestamps

// Milliseconds since the Unix epoch, the unit of every time on the wire (CONTRACT §2).
inline std::int64_t to_unix_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Milliseconds as a double, for metrics that report fractional means.
inline double to_ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace steadyws
