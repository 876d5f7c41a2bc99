// The hub subscriber behind one long poll (/api/poll): collects the frames published on the
// polled channels and wakes its HTTP session once, at the first one.
//
// Thread-safe: deliver() runs on any thread with a channel lock held (it only appends and
// posts once); take() runs on the HTTP session's strand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/hub.hpp"

namespace steadyws::server {

class PollWaiter final : public hub::Subscriber {
 public:
  struct Item {
    std::string channel;
    std::uint64_t seq;
    hub::Frame frame;
  };

  // `wake` is called once, from deliver(), when the first frame arrives; it must only post.
  explicit PollWaiter(std::function<void()> wake) : wake_(std::move(wake)) {}

  void deliver(std::string_view channel, std::uint64_t seq, const hub::Frame& frame) override {
    bool first = false;
    {
      const std::lock_guard<std::mutex> g(mu_);
      if (closed_)
        return;
      items_.push_back({std::string(channel), seq, frame});
      first = !woken_;
      woken_ = true;
    }
    if (first)
      wake_();
  }

  // Adds replayed frames (from subscribe with since) without waking.
  void add(std::string_view channel, std::uint64_t seq, hub::Frame frame) {
    const std::lock_guard<std::mutex> g(mu_);
    items_.push_back({std::string(channel), seq, std::move(frame)});
  }

  // Everything collected so far; later deliveries are ignored.
  std::vector<Item> take() {
    const std::lock_guard<std::mutex> g(mu_);
    closed_ = true;
    return std::move(items_);
  }

  bool has_items() const {
    const std::lock_guard<std::mutex> g(mu_);
    return !items_.empty();
  }

 private:
  std::function<void()> wake_;
  mutable std::mutex mu_;
  std::vector<Item> items_;
  bool woken_ = false;
  bool closed_ = false;
};

}  // namespace steadyws::server
