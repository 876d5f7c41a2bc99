// Tells a hub completion whether it runs inline, inside the call that started it (the memory
// hub), or later on another thread (the Redis hub), so that the caller handles it at once on
// its strand or posts it there. Thread-local: a completion on another thread never sees the
// caller's mark, whatever the timing.
#pragma once

namespace steadyws::server {

class HubCall {
 public:
  // Marks the current thread as inside a hub call made by `caller` until destroyed.
  explicit HubCall(const void* caller) : prev_(current()) { current() = caller; }
  ~HubCall() { current() = prev_; }
  HubCall(const HubCall&) = delete;
  HubCall& operator=(const HubCall&) = delete;

  // True when the calling code runs inside a hub call made by `caller` (an inline completion).
  static bool is_inline(const void* caller) { return caller != nullptr && current() == caller; }

 private:
  static const void*& current() {
    thread_local const void* caller = nullptr;
    return caller;
  }
  const void* prev_;
};

}  // namespace steadyws::server
