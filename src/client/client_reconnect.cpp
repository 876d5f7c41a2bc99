// Client::Impl's reconnect policy as performed: a link lost, failover to the next URL,
// backoff (or a 1001 retryAfterMs), WebSocket probes while on the fallback, giving up.
#include "client/client_impl.hpp"

namespace steadyws {

void Client::Impl::on_link_lost(const std::shared_ptr<WsLink>& l, std::string reason, bool clean,
                                std::optional<Duration> retry_after) {
  if (l != link_)
    return;
  const bool was_connected = l->welcomed;
  drop_link(false);
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  if (was_connected) {
    std::lock_guard lock(mu_);
    queue_.on_disconnect();
    quality_.record_disconnected(Clock::now());
  } else {
    url_index_ = (url_index_ + 1) % endpoints_.size();  // failover: the next URL next time
  }
  if (!want_connected_)
    return;
  if (!clean)
    report_error(was_connected ? "connection" : "attempt", {}, reason);
  if (probing_) {
    probing_ = false;
    transition(State::disconnected, "probe failed: " + reason);
    schedule_retry(retry_after);
    return;
  }
  const State s = sm_.state();
  if (s == State::connected) {
    transition(clean ? State::disconnected : State::error, reason);
  } else if (s == State::reconnecting && backoff_.exhausted()) {
    transition(State::disconnected,
               "gave up after " + std::to_string(backoff_.attempts()) + " attempts: " + reason);
    give_up();
    return;
  } else {
    transition(State::error, reason);
  }
  schedule_retry(retry_after);
}

void Client::Impl::schedule_retry(std::optional<Duration> retry_after) {
  if (fallback_active_) {
    auto d = probe_backoff_.next(draw());
    const Duration delay = retry_after.value_or(d.value_or(opts_.max_backoff_delay));
    if (opts_.on_reconnect_attempt && callbacks_on())
      opts_.on_reconnect_attempt(probe_backoff_.attempts(), delay);
    arm_retry(delay, true);
    return;
  }
  auto d = backoff_.next(draw());
  if (!d) {
    // Exhausted right away (an attempt that failed from `error`, not `reconnecting`).
    transition(State::reconnecting, "no attempts left");
    transition(State::disconnected,
               "gave up after " + std::to_string(backoff_.attempts()) + " attempts");
    give_up();
    return;
  }
  // CONTRACT §1: a 1001 {"retryAfterMs":N} replaces this delay; the attempt still counts.
  const Duration delay = retry_after.value_or(*d);
  transition(State::reconnecting, "retry in " + std::to_string(delay.count()) + " ms");
  if (opts_.on_reconnect_attempt && callbacks_on())
    opts_.on_reconnect_attempt(backoff_.attempts(), delay);
  arm_retry(delay, false);
}

void Client::Impl::arm_retry(Duration delay, bool probe) {
  retry_timer_.expires_after(delay);
  const auto gen = ++attempt_gen_;
  retry_timer_.async_wait([this, probe, gen](error_code ec) {
    if (ec || gen != attempt_gen_ || !want_connected_)
      return;
    if (probe) {
      if (!fallback_active_)
        return;
      probing_ = true;
      transition(State::reconnecting, "probing the websocket");
    }
    start_attempt();
  });
}

void Client::Impl::give_up() {
  if (opts_.enable_fallback)
    return activate_fallback("websocket failed after max_reconnect_attempts");
  given_up_.store(true);
}

}  // namespace steadyws
