// Waits on a condition, never on time: the deadline only bounds a failure, a passing run
// takes as long as the event takes.
#pragma once

#include <chrono>
#include <thread>

namespace steadyws::test {

template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end)
      return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace steadyws::test
