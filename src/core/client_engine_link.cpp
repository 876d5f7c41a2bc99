// ClientEngine, the WebSocket: attempts, failover, the retry budget and retryAfterMs, the
// welcome and resume, inbound frames, and the offline queue on the link.
#include <algorithm>
#include <utility>

#include "steadyws/core/close_code.hpp"

#include "core/client_engine.hpp"

namespace steadyws {

void ClientEngine::start_attempt() {
  drop_link(false);
  cancel(EngineTimer::retry);  // an attempt made now replaces any pending one
  link_ = ++last_link_;
  welcomed_ = false;
  emit(engine::Dial{link_, url_index_, probing_});
  arm(EngineTimer::connect, now_ + config_.connect_timeout);
}

void ClientEngine::drop_link(bool graceful) {
  if (link_ == 0)
    return;
  emit(engine::CloseLink{link_, graceful && welcomed_});
  link_ = 0;
  welcomed_ = false;
  // Every timer that belongs to a link goes with it. (client.cpp left the ack timer running
  // and ignored it on expiry; then a resend on the next link found it "armed" and got no ack
  // timeout of its own. Cancelling here is that fix.)
  cancel(EngineTimer::connect);
  cancel(EngineTimer::heartbeat);
  cancel(EngineTimer::ack);
}

void ClientEngine::forget_connection() {
  queue_.on_disconnect();  // in flight -> pending: resent, in order, on the next transport
  quality_.record_disconnected(now_);
}

void ClientEngine::on(const engine::DialSucceeded&) {
  // The upgrade is done; nothing to decide until the welcome (connect_timeout still runs).
}

void ClientEngine::on(const engine::DialFailed& e) {
  if (e.link != link_ || link_ == 0)
    return;
  on_link_lost(e.reason, false, std::nullopt);
}

void ClientEngine::on(const engine::LinkLost& e) {
  if (e.link != link_ || link_ == 0)
    return;
  if (!e.close_code)
    return on_link_lost(e.reason, false, std::nullopt);
  std::optional<Duration> hint;
  if (*e.close_code ==
      wire_code(CloseCode::going_away))  // CONTRACT §1: only a going-away close carries the hint
    hint = e.retry_after;
  on_link_lost(
      "server closed " + std::to_string(*e.close_code) + (e.reason.empty() ? "" : " " + e.reason),
      true, hint);
}

// The current link (attempt or connection) ended. clean: by a close frame, not an error.
void ClientEngine::on_link_lost(std::string reason, bool clean,
                                std::optional<Duration> retry_after) {
  if (link_ == 0)
    return;
  const bool was_connected = welcomed_;
  drop_link(false);
  if (was_connected)
    forget_connection();
  else
    url_index_ = (url_index_ + 1) % config_.urls.size();  // failover: the next URL next time
  if (!want_connected_)
    return;
  if (!clean)
    report_error(was_connected ? "connection" : "attempt", "", reason);
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

void ClientEngine::schedule_retry(std::optional<Duration> retry_after) {
  if (fallback_active_) {
    const auto d = probe_backoff_.next(draw());
    const Duration delay = retry_after.value_or(d.value_or(config_.max_backoff_delay));
    emit(engine::ReconnectAttempt{probe_backoff_.attempts(), delay, true});
    arm_retry(delay, true);
    return;
  }
  const auto d = backoff_.next(draw());
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
  emit(engine::ReconnectAttempt{backoff_.attempts(), delay, false});
  arm_retry(delay, false);
}

void ClientEngine::arm_retry(Duration delay, bool probe) {
  retry_is_probe_ = probe;
  arm(EngineTimer::retry, now_ + delay);
}

void ClientEngine::on_retry_timer() {
  if (!want_connected_)
    return;
  if (retry_is_probe_) {
    if (!fallback_active_)
      return;
    probing_ = true;
    transition(State::reconnecting, "probing the websocket");
  }
  start_attempt();
}

void ClientEngine::give_up() {
  if (config_.enable_fallback)
    return activate_fallback();
  given_up_ = true;
  emit(engine::GiveUp{backoff_.attempts()});
}

// ---- frames ----------------------------------------------------------------------------------

void ClientEngine::on(const engine::FrameReceived& e) {
  if (e.link != link_ || link_ == 0)
    return;
  hb_.on_activity(now_);
  bandwidth_.on_message(e.bytes, now_);
  report_bandwidth();
  if (const auto* bad = std::get_if<engine::UnparseableFrame>(&e.frame)) {
    report_error("read", bad->code, "unparseable frame from " + url() + ": " + bad->message);
    if (!welcomed_)
      on_link_lost("the server's first frame was not a welcome", false, std::nullopt);
    return;
  }
  if (!welcomed_) {
    if (const auto* w = std::get_if<engine::WelcomeFrame>(&e.frame))
      return on_welcome(*w);
    return on_link_lost("the server's first frame was not a welcome", false, std::nullopt);
  }
  on_frame(e.frame);
}

void ClientEngine::on_frame(const engine::InboundFrame& f) {
  if (const auto* p = std::get_if<engine::PongFrame>(&f)) {
    on_pong(*p);
  } else if (const auto* s = std::get_if<engine::SubscribedFrame>(&f)) {
    const auto r = cursors_.on_subscribed(s->channel, s->seq, s->epoch, s->recovered);
    if (r.catch_up) {
      auto pt = cursors_.subscribe_point_for_send(s->channel);
      send(engine::SubscribeOut{std::move(pt.channel), pt.since, std::move(pt.epoch)});
    }
    if (r.known && r.recovered)
      emit(engine::Recovered{s->channel, *r.recovered});
  } else if (const auto* a = std::get_if<engine::AckFrame>(&f)) {
    ++acks_;
    if (queue_.ack(a->id))
      emit(engine::Acked{a->id, a->channel, a->seq});
  } else if (const auto* m = std::get_if<engine::MessageFrame>(&f)) {
    deliver(m->channel, m->seq, m->id, 0, false);
  } else if (const auto* err = std::get_if<engine::ErrorFrame>(&f)) {
    report_error("server", err->code, err->message);
  }
  // welcome (again), unsubscribed and refreshed need nothing.
}

void ClientEngine::report_bandwidth() {
  if (auto r = bandwidth_.take_report(now_))
    emit(engine::ReportBandwidth{*r});
}

void ClientEngine::deliver(const std::string& channel, std::uint64_t seq, const std::string& id,
                           std::size_t index, bool via_fallback) {
  if (cursors_.on_message(channel, seq, id) != ResumeVerdict::deliver)
    return;
  emit(engine::Deliver{channel, seq, id, index, via_fallback});
}

void ClientEngine::on_welcome(const engine::WelcomeFrame& w) {
  cancel(EngineTimer::connect);
  welcomed_ = true;
  session_id_ = w.session_id;
  resume_token_ = w.resume_token;
  const bool was_fallback = fallback_active_;
  if (was_fallback)
    deactivate_fallback();
  probing_ = false;
  backoff_.reset();
  probe_backoff_.reset();
  hb_.reset(now_);
  missed_seen_ = hb_.total_missed();
  critical_since_.reset();
  link_quality_.reset();
  bandwidth_.reset();  // a new link, maybe another path: its own base RTT and rate
  if (ever_connected_) {
    quality_.record_reconnect(now_);
    forecaster_.on_reconnect();
    forecast_reconnected_ = true;
  }
  quality_.record_connected(now_);
  queue_.on_disconnect();  // anything in flight on the fallback is resent here (dedup)
  ever_connected_ = true;
  transition(State::connected,
             was_fallback ? "websocket probe held; leaving the fallback" : "welcome from " + url());
  // Resume: every channel again, with since/epoch where a position is known (CONTRACT §2).
  for (const auto& c : cursors_.channels()) {
    auto p = cursors_.subscribe_point_for_send(c);
    send(engine::SubscribeOut{std::move(p.channel), p.since, std::move(p.epoch)});
  }
  flush_queue();
  arm_heartbeat();
}

// ---- the offline queue -------------------------------------------------------------------

// Sends what is pending on whichever transport is up; in order, each once per connection.
void ClientEngine::flush_queue() {
  if (is_welcomed()) {
    bool sent = false;
    for (const QueuedMessage* m : queue_.pending()) {
      send(engine::PublishOut{m->id, m->payload});
      queue_.mark_sent(m->id, now_);
      sent = true;
    }
    if (sent)
      arm_ack_timer();
  } else if (fallback_active_) {
    http_publish_next();
  }
}

void ClientEngine::arm_ack_timer() {
  if (deadline(EngineTimer::ack) || config_.ack_timeout.count() <= 0)
    return;
  ack_acks_then_ = acks_;
  ack_link_ = link_;
  arm(EngineTimer::ack, now_ + config_.ack_timeout);
}

// Resends what is in flight when no ack came for ack_timeout (a publish the server refused,
// e.g. rate_limited, carries no id in its error frame, so a timeout is the only signal).
void ClientEngine::on_ack_timer() {
  if (ack_link_ != link_ || !is_welcomed())
    return;
  if (queue_.empty())
    return;
  if (acks_ == ack_acks_then_)
    queue_.on_disconnect();  // no progress at all: everything in flight goes again
  flush_queue();
  arm_ack_timer();
}

}  // namespace steadyws
