#include "core/heartbeat_tracker.hpp"

#include <algorithm>

namespace steadyws {
namespace {

constexpr Duration kMinPeriod{1};
constexpr Duration kMinLateWakeup{5000};

HeartbeatConfig sanitized(HeartbeatConfig c) {
  c.interval = std::max(c.interval, kMinPeriod);
  c.timeout = std::max(c.timeout, kMinPeriod);
  return c;
}

}  // namespace

Duration effective_late_wakeup(const HeartbeatConfig& c) {
  if (c.late_wakeup > Duration{0}) {
    return c.late_wakeup;
  }
  return std::max(c.timeout, kMinLateWakeup);
}

std::string_view to_string(HeartbeatAction a) noexcept {
  switch (a) {
    case HeartbeatAction::none:
      return "none";
    case HeartbeatAction::send_ping:
      return "send_ping";
    case HeartbeatAction::verify_ping:
      return "verify_ping";
    case HeartbeatAction::close_dead:
      return "close_dead";
  }
  return "unknown";
}

HeartbeatTracker::HeartbeatTracker(HeartbeatConfig c, TimePoint now) : config_(sanitized(c)) {
  reset(now);
}

void HeartbeatTracker::reset(TimePoint now) {
  ping_base_ = now;
  last_activity_ = now;
  outstanding_.clear();
  remembered_.clear();
  missed_ = 0;
  last_rtt_.reset();
  dead_ = false;
  dead_at_ = TimePoint{};
}

std::uint32_t HeartbeatTracker::threshold() const {
  return config_.close_on_first_timeout ? 1 : std::max<std::uint32_t>(config_.max_missed, 1);
}

Duration HeartbeatTracker::ping_period() const {
  // Rule 1: a counted miss switches to probing every timeout (never slower than interval);
  // any inbound frame resets missed_ and with it the cadence.
  return missed_ > 0 ? std::min(config_.interval, config_.timeout) : config_.interval;
}

TimePoint HeartbeatTracker::next_ping_at() const {
  return ping_base_ + ping_period();
}

TimePoint HeartbeatTracker::next_deadline() const {
  if (dead_) {
    return dead_at_;
  }
  TimePoint t = next_ping_at();
  for (const auto& p : outstanding_) {
    t = std::min(t, p.sent + config_.timeout);
  }
  return t;
}

void HeartbeatTracker::remember(const Ping& p) {
  if (remembered_.size() >= kRememberedPings) {
    remembered_.erase(remembered_.begin());  // at most 16 entries of 16 bytes: a cheap shift
  }
  remembered_.push_back(p);
}

void HeartbeatTracker::expire(TimePoint now) {
  // Rule 2: a deadline reached exactly is a miss (so a timer armed at the deadline acts on
  // it; a strict "after" would need a timer one tick later or spin at the deadline).
  auto due = [&](const Ping& p) {
    return p.sent + config_.timeout <= now;
  };
  for (const auto& p : outstanding_) {
    if (!due(p)) {
      continue;
    }
    ++total_missed_;
    // Rule 3: only a ping followed by silence brings the peer closer to dead.
    if (!(last_activity_ > p.sent)) {
      ++missed_;
    }
    remember(p);
  }
  outstanding_.erase(std::remove_if(outstanding_.begin(), outstanding_.end(), due),
                     outstanding_.end());
}

HeartbeatAction HeartbeatTracker::poll(TimePoint now) {
  if (dead_) {
    return HeartbeatAction::close_dead;
  }
  const TimePoint due = next_deadline();
  if (now > due && now - due > effective_late_wakeup(config_)) {
    // Rule 5: our timers were stale, not the peer. Counting these pings as missed would kill
    // a healthy connection after every laptop sleep; ask the peer instead.
    for (const auto& p : outstanding_) {
      remember(p);
    }
    outstanding_.clear();
    ++sleeps_detected_;
    ping_base_ = now;
    return HeartbeatAction::verify_ping;
  }
  expire(now);
  if (missed_ >= threshold()) {
    dead_ = true;
    dead_at_ = now;
    return HeartbeatAction::close_dead;
  }
  // A miss counted just now (missed_ > 0) makes the probe due at its own deadline: the
  // re-probe goes out in this same poll(), "at once".
  if (now >= next_ping_at()) {
    ping_base_ = now;
    return HeartbeatAction::send_ping;
  }
  return HeartbeatAction::none;
}

void HeartbeatTracker::on_ping_sent(std::int64_t token, TimePoint now) {
  outstanding_.push_back(Ping{token, now});
  ping_base_ = now;
}

PongResult HeartbeatTracker::on_pong(std::int64_t token, TimePoint now) {
  on_activity(now);
  auto matches = [&](const Ping& p) {
    return p.token == token;
  };
  const auto rtt_of = [&](const Ping& p) {
    return std::max(now - p.sent, Clock::duration{0});
  };

  if (auto it = std::find_if(outstanding_.begin(), outstanding_.end(), matches);
      it != outstanding_.end()) {
    const Ping p = *it;
    outstanding_.erase(it);
    const Clock::duration rtt = rtt_of(p);
    const bool late = now >= p.sent + config_.timeout;
    if (late) {
      // Expired but not yet seen by poll(): count it exactly as poll() would have, so the
      // totals do not depend on which of the two the shell happened to call first.
      ++total_missed_;
      ++late_pongs_;
    } else {
      last_rtt_ = std::chrono::duration_cast<Duration>(rtt);
    }
    return PongResult{true, late, std::chrono::duration_cast<Duration>(rtt), rtt};
  }
  if (auto it = std::find_if(remembered_.begin(), remembered_.end(), matches);
      it != remembered_.end()) {
    const Ping p = *it;
    remembered_.erase(it);
    ++late_pongs_;
    const Clock::duration rtt = rtt_of(p);
    return PongResult{true, true, std::chrono::duration_cast<Duration>(rtt), rtt};
  }
  return PongResult{false, false, Duration{0}, Clock::duration{0}};
}

void HeartbeatTracker::on_activity(TimePoint now) {
  missed_ = 0;
  last_activity_ = std::max(last_activity_, now);
}

}  // namespace steadyws
