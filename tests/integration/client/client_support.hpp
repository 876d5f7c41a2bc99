// Shared pieces of the client_*_test.cpp suites: a recorder that collects what a
// steadyws::Client reports (on its own I/O thread) for the test thread to wait on, and
// options with test-sized intervals. Deterministic: jitter off, fixed seeds.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "steadyws/client.hpp"

#include "support/server_process.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {

inline std::string ws_url(const ServerProcess& s) {
  return "ws://127.0.0.1:" + std::to_string(s.port()) + "/ws";
}

// Fast, deterministic defaults for tests: 100 ms first delay, 400 ms cap, no jitter,
// unlimited attempts, no fallback unless a test turns it on.
inline ClientOptions test_options(std::vector<std::string> urls) {
  ClientOptions o;
  o.urls = std::move(urls);
  o.max_reconnect_attempts = 0;
  o.reconnect_interval = std::chrono::milliseconds(100);
  o.max_backoff_delay = std::chrono::milliseconds(400);
  o.jitter = std::chrono::milliseconds(0);
  o.jitter_mode = JitterMode::none;
  o.seed = 42;
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.heartbeat_interval = std::chrono::milliseconds(500);
  o.heartbeat_timeout = std::chrono::milliseconds(500);
  o.enable_fallback = false;
  return o;
}

// Thread-safe log of one client's callbacks. attach() installs the callbacks on options.
class Recorder {
 public:
  void attach(ClientOptions& o) {
    o.on_message = [this](const ReceivedMessage& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
    };
    o.on_state_change = [this](const Transition& t) {
      std::lock_guard lock(mu_);
      states_.push_back(t);
      if (t.to == State::connected)
        ++connects_;
    };
    o.on_reconnect_attempt = [this](std::uint32_t attempt, Duration delay) {
      std::lock_guard lock(mu_);
      attempts_.emplace_back(attempt, delay);
    };
    o.on_recovered = [this](const std::string& channel, bool recovered) {
      std::lock_guard lock(mu_);
      recovered_.emplace_back(channel, recovered);
    };
    o.on_error = [this](const ClientError& e) {
      std::lock_guard lock(mu_);
      errors_.push_back(e.where + ": " + e.message);
    };
    o.on_fallback_activated = [this](bool active) {
      std::lock_guard lock(mu_);
      fallback_.push_back(active);
    };
  }

  std::vector<ReceivedMessage> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::size_t message_count() const {
    std::lock_guard lock(mu_);
    return messages_.size();
  }
  // The "n" field of every message's data, in delivery order.
  std::vector<std::int64_t> numbers() const {
    std::lock_guard lock(mu_);
    std::vector<std::int64_t> out;
    for (const auto& m : messages_)
      out.push_back(m.data.as_object().at("n").to_number<std::int64_t>());
    return out;
  }
  // numbers() without the probes (n = 0) that tests publish until a subscription is live.
  std::vector<std::int64_t> payload_numbers() const {
    auto out = numbers();
    std::erase(out, 0);
    return out;
  }
  std::size_t payload_count() const { return payload_numbers().size(); }
  int connects() const {
    std::lock_guard lock(mu_);
    return connects_;
  }
  std::vector<std::pair<std::uint32_t, Duration>> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::vector<std::pair<std::string, bool>> recovered() const {
    std::lock_guard lock(mu_);
    return recovered_;
  }
  std::vector<bool> fallback() const {
    std::lock_guard lock(mu_);
    return fallback_;
  }
  std::vector<std::string> errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }
  std::vector<Transition> states() const {
    std::lock_guard lock(mu_);
    return states_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ReceivedMessage> messages_;
  std::vector<Transition> states_;
  std::vector<std::pair<std::uint32_t, Duration>> attempts_;
  std::vector<std::pair<std::string, bool>> recovered_;
  std::vector<bool> fallback_;
  std::vector<std::string> errors_;
  int connects_ = 0;
};

// 1..n in order.
inline std::vector<std::int64_t> iota_numbers(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = from; i <= to; ++i)
    v.push_back(i);
  return v;
}

// "missing [a, b], [c, c]; duplicated x; out of order at i" for failure messages.
inline std::string describe_gaps(const std::vector<std::int64_t>& got, std::int64_t from,
                                 std::int64_t to) {
  std::vector<int> seen(static_cast<std::size_t>(to - from + 1), 0);
  std::string dups;
  std::string order;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto n = got[i];
    if (n >= from && n <= to && seen[static_cast<std::size_t>(n - from)]++ > 0)
      dups += " " + std::to_string(n);
    if (i > 0 && got[i] <= got[i - 1] && order.empty())
      order = " at index " + std::to_string(i);
  }
  std::string missing;
  for (std::int64_t n = from; n <= to; ++n) {
    if (seen[static_cast<std::size_t>(n - from)] != 0)
      continue;
    std::int64_t m = n;
    while (m + 1 <= to && seen[static_cast<std::size_t>(m + 1 - from)] == 0)
      ++m;
    missing += " [" + std::to_string(n) + "," + std::to_string(m) + "]";
    n = m;
  }
  return "missing:" + missing + "; duplicated:" + dups + "; out of order:" + order;
}

inline boost::json::value numbered(std::int64_t n) {
  return boost::json::object{{"n", n}};
}

// Publishes probes (n = 0, each with a new id: a repeated id would be deduplicated and never
// delivered again) through `pub` until `rec` (a subscriber of `channel`) got one, i.e. its
// subscription is live. A probe may arrive late, so count payloads without the zeros.
inline bool wait_subscribed(Client& pub, const std::string& channel, const Recorder& rec) {
  static std::atomic<int> probe{0};
  return wait_until([&] {
    pub.publish(channel, numbered(0), "probe-" + std::to_string(++probe));
    return wait_until([&] { return rec.message_count() > 0; }, std::chrono::milliseconds(200));
  });
}

}  // namespace steadyws::test
