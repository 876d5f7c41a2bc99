// Test driver for ClientEngine: a fake clock in ms since t0 and events addressed to the
// current link or request, so a test reads as a timeline. Actions come back as describe()
// lines (core/client_engine_events.hpp), without the per-sample reports (health, forecast,
// bandwidth) unless a test asks for the raw list.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/client_engine.hpp"

namespace steadyws::test {

using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

// One URL, no jitter, ORIGIN's other defaults: delays are exactly 1000, 2000, 4000 ms.
inline ClientEngineConfig engine_config(std::vector<std::string> urls = {"ws://a/ws"}) {
  ClientEngineConfig c;
  c.urls = std::move(urls);
  c.jitter_mode = JitterMode::none;
  return c;
}

class EngineHarness {
 public:
  explicit EngineHarness(ClientEngineConfig c = engine_config()) : engine_(std::move(c), t0()) {}

  static TimePoint t0() { return TimePoint{}; }
  static TimePoint at(std::int64_t ms) { return t0() + Duration{ms}; }

  // Handles `e` at t0 + ms; returns the actions as lines, per-sample reports left out.
  Lines on(std::int64_t ms, const engine::Event& e) {
    raw_ = engine_.handle(e, at(ms));
    Lines out;
    for (const auto& a : raw_) {
      const auto name = engine::name_of(a);
      if (name != "health" && name != "forecast" && name != "bandwidth")
        out.push_back(engine::describe(a));
    }
    return out;
  }

  // ---- events addressed to the current link / request ----
  Lines connect(std::int64_t ms) { return on(ms, engine::ConnectRequested{}); }
  Lines close(std::int64_t ms) { return on(ms, engine::CloseRequested{}); }
  Lines subscribe(std::int64_t ms, std::string channel) {
    return on(ms, engine::SubscribeRequested{std::move(channel)});
  }
  Lines publish(std::int64_t ms, std::string id) {
    return on(ms, engine::PublishRequested{
                      id, R"({"type":"publish","channel":"news","id":")" + id + R"(","data":1})"});
  }
  Lines fire(std::int64_t ms, EngineTimer t) { return on(ms, engine::TimerFired{t, {}}); }
  Lines fail(std::int64_t ms, std::string reason = "refused") {
    return on(ms, engine::DialFailed{engine_.link(), std::move(reason)});
  }
  Lines lost(std::int64_t ms, std::optional<std::uint16_t> code, std::string reason,
             std::optional<Duration> retry_after = std::nullopt) {
    return on(ms, engine::LinkLost{engine_.link(), code, std::move(reason), retry_after});
  }
  Lines frame(std::int64_t ms, engine::InboundFrame f, std::size_t bytes = 64) {
    return on(ms, engine::FrameReceived{engine_.link(), bytes, std::move(f)});
  }
  Lines welcome(std::int64_t ms) { return frame(ms, engine::WelcomeFrame{"s1", "r1", false}); }
  Lines pong(std::int64_t ms, std::int64_t token) { return frame(ms, engine::PongFrame{token}); }
  Lines message(std::int64_t ms, std::string channel, std::uint64_t seq, std::string id = "") {
    return frame(ms, engine::MessageFrame{std::move(channel), seq, std::move(id)});
  }
  Lines subscribed(std::int64_t ms, std::string channel, std::uint64_t seq, std::string epoch,
                   bool recovered) {
    return frame(ms, engine::SubscribedFrame{std::move(channel), seq, std::move(epoch), recovered});
  }
  Lines ack(std::int64_t ms, std::string id, std::uint64_t seq) {
    return frame(ms, engine::AckFrame{std::move(id), "news", seq});
  }
  Lines poll_answered(std::int64_t ms, engine::PollAnswered a) {
    a.request = engine_.poll_request();
    return on(ms, a);
  }
  Lines poll_failed(std::int64_t ms, std::string reason, bool bad_body = false) {
    return on(ms, engine::PollFailed{engine_.poll_request(), std::move(reason), bad_body});
  }

  // connect at `ms`, welcome 10 ms later: connected on link 1 with the heartbeat armed.
  void connected(std::int64_t ms = 0) {
    connect(ms);
    welcome(ms + 10);
  }

  ClientEngine& engine() { return engine_; }
  const engine::Actions& raw() const { return raw_; }

  // The raw actions of kind T from the last event.
  template <class T>
  std::vector<T> raw_of() const {
    std::vector<T> out;
    for (const auto& a : raw_) {
      if (const auto* x = std::get_if<T>(&a))
        out.push_back(*x);
    }
    return out;
  }

 private:
  ClientEngine engine_;
  engine::Actions raw_;
};

// The lines of `all` that start with `prefix` ("send", "state", ...).
inline Lines only(const Lines& all, std::string_view prefix) {
  Lines out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  return out;
}

}  // namespace steadyws::test
