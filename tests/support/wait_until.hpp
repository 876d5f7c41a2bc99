// Waits on a condition, never on time: the deadline only bounds a failure, a passing run
// takes as long as the event takes.
#pragma once

#include <chrono>
#include <thread>

namespace steadyws::test {

// The default deadline is generous on purpose: it only bounds a failure, and the sanitizer
// pass of `make test` runs 2-3x slower on a 2-core machine with ctest -j2.
template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end)
      return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace steadyws::test
