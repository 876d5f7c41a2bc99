// A clock object for shell-level tests that need one (SimulatedClock shape): now() and
// advance(d). Core tests do not need it: they pass t0 + 30s directly.
#pragma once

#include "steadyws/core/time.hpp"

namespace steadyws::test {

class FakeClock {
 public:
  TimePoint now() const { return now_; }
  void advance(Clock::duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_{};
};

}  // namespace steadyws::test
