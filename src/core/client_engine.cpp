// ClientEngine: construction, dispatch, the user's commands and the shared helpers. The
// WebSocket lives in client_engine_link.cpp, heartbeats and quality in
// client_engine_heartbeat.cpp, the HTTP fallback in client_engine_fallback.cpp.
#include "core/client_engine.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace steadyws {
namespace {

BackoffConfig backoff_config(const ClientEngineConfig& o, bool unlimited) {
  BackoffConfig c;
  c.base = o.reconnect_interval;
  c.max_delay = o.max_backoff_delay;
  c.jitter = o.jitter;
  c.mode = o.jitter_mode;
  c.exponential = o.exponential_backoff;
  c.max_attempts = unlimited ? 0 : o.max_reconnect_attempts;
  return c;
}

HeartbeatConfig heartbeat_config(const ClientEngineConfig& o) {
  HeartbeatConfig c;
  c.interval = o.heartbeat_interval;
  c.timeout = o.heartbeat_timeout;
  c.max_missed = o.max_missed_heartbeats;
  return c;
}

PollScheduleConfig poll_config(const ClientEngineConfig& o) {
  PollScheduleConfig c;
  c.initial = o.fallback_poll_interval;
  c.min = std::min(c.min, o.fallback_poll_interval);
  c.max = std::max(c.max, o.fallback_poll_interval);
  return c;
}

// CONTRACT §2 channel names: 1-128 of A-Z a-z 0-9 _ . : - (protocol::is_valid_channel, which
// the core cannot include).
bool is_valid_channel(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == ':' || ch == '-';
  });
}

std::size_t index(EngineTimer t) {
  return static_cast<std::size_t>(t);
}

}  // namespace

ClientEngine::ClientEngine(ClientEngineConfig config, TimePoint now)
    : config_(std::move(config)),
      now_(now),
      backoff_(backoff_config(config_, false)),
      probe_backoff_(backoff_config(config_, true)),
      hb_(heartbeat_config(config_), now),
      poll_schedule_(poll_config(config_)),
      queue_(config_.queue),
      forecaster_(ForecastConfig{config_.forecast_horizon, config_.heartbeat_interval}) {
  assert(!config_.urls.empty());
  if (config_.urls.empty())
    config_.urls.emplace_back();  // release builds: index 0 stays valid
}

engine::Actions ClientEngine::handle(const engine::Event& e, TimePoint now) {
  now_ = std::max(now_, now);
  out_.clear();
  std::visit([this](const auto& ev) { on(ev); }, e);
  return std::exchange(out_, {});
}

// ---- the user's commands -------------------------------------------------------------------

void ClientEngine::on(const engine::ConnectRequested&) {
  const State s = sm_.state();
  if (want_connected_ &&
      (s == State::connecting || s == State::connected || s == State::reconnecting))
    return;
  if (want_connected_ && fallback_active_)
    return;
  want_connected_ = true;
  given_up_ = false;
  backoff_.reset();
  cancel(EngineTimer::retry);
  transition(State::connecting, "connect()");
  start_attempt();
}

void ClientEngine::on(const engine::CloseRequested&) {
  // Everything stops: no timer stays armed, no call stays in flight. Queued publishes stay
  // queued for a later connect().
  want_connected_ = false;
  for (std::size_t i = 0; i < kEngineTimerCount; ++i)
    cancel(static_cast<EngineTimer>(i));
  if (fallback_active_)
    deactivate_fallback();
  drop_link(true);
  forget_connection();
  transition(State::closed, "disconnect()");
}

void ClientEngine::on(const engine::ReconnectRequested&) {
  want_connected_ = true;
  given_up_ = false;
  backoff_.reset();
  cancel(EngineTimer::retry);
  cancel(EngineTimer::connect);
  cancel(EngineTimer::heartbeat);
  drop_link(true);
  forget_connection();
  switch (sm_.state()) {
    case State::connected:
      transition(State::disconnected, "reconnect()");
      transition(State::reconnecting, "reconnect()");
      break;
    case State::disconnected:
    case State::error:
      transition(State::reconnecting, "reconnect()");
      break;
    case State::closed:
      transition(State::connecting, "reconnect()");
      break;
    case State::connecting:
    case State::reconnecting:
      break;  // an attempt was in progress: it is replaced by the one below
  }
  probing_ = false;
  start_attempt();
}

void ClientEngine::on(const engine::SubscribeRequested& e) {
  if (!is_valid_channel(e.channel)) {
    report_error("subscribe", "bad_message",
                 "channel must be 1-128 of A-Z a-z 0-9 _ . : -: " + e.channel);
    return;
  }
  if (!cursors_.add(e.channel))
    return;
  if (is_welcomed()) {
    auto p = cursors_.subscribe_point_for_send(e.channel);
    send(engine::SubscribeOut{std::move(p.channel), p.since, std::move(p.epoch)});
  }
  // On the fallback the next poll carries the new channel.
}

void ClientEngine::on(const engine::UnsubscribeRequested& e) {
  if (!cursors_.remove(e.channel))
    return;
  if (is_welcomed())
    send(engine::UnsubscribeOut{e.channel});
}

void ClientEngine::on(const engine::PublishRequested& e) {
  const Enqueue status = queue_.enqueue(e.id, e.payload, now_);
  emit(engine::Enqueued{e.id, status});
  if (status == Enqueue::accepted)
    flush_queue();
}

// ---- getters ---------------------------------------------------------------------------------

std::optional<TimePoint> ClientEngine::deadline(EngineTimer t) const {
  return timers_[index(t)];
}

QualityMetrics ClientEngine::quality_metrics(TimePoint now) const {
  QualityMetrics m = quality_.metrics(now);
  const Forecast f = forecaster_.last();
  m.degradation_risk = f.risk;
  m.predicted_level = f.predicted_level;
  return m;
}

std::vector<std::string> ClientEngine::recommendations(TimePoint now) const {
  auto out = quality_.recommendations(now);
  const Forecast f = forecaster_.last();
  if (f.samples > 0 && f.risk >= 0.5) {
    out.push_back("Quality is likely to degrade to poor within " +
                  std::to_string(f.horizon.count() / 1000) + " s (risk " +
                  std::to_string(static_cast<int>(f.risk * 100 + 0.5)) +
                  " %): defer large transfers, or move to another server before it does.");
  }
  if (const auto b = bandwidth_.estimate(now); b.throttled)
    out.push_back("The link looks throttled (about " +
                  std::to_string(static_cast<std::uint64_t>(b.bytes_per_second / 1024)) +
                  " KB/s while messages wait): subscribe to fewer channels, send smaller or "
                  "fewer messages, turn on compression, or move to a faster network");
  return out;
}

// ---- shared helpers --------------------------------------------------------------------------

void ClientEngine::transition(State to, std::string reason) {
  if (sm_.state() == to)
    return;
  auto r = sm_.transition(to, std::move(reason), now_);
  if (const auto* t = std::get_if<Transition>(&r))
    emit(engine::StateChanged{*t});
  else
    ++illegal_transitions_;  // a bug: client.cpp logged these; tests require none
}

void ClientEngine::report_error(std::string where, std::string code, std::string message) {
  emit(engine::ReportError{std::move(where), std::move(code), std::move(message)});
}

void ClientEngine::arm(EngineTimer t, TimePoint at) {
  timers_[index(t)] = at;
  emit(engine::ArmTimer{t, at});
}

void ClientEngine::cancel(EngineTimer t) {
  if (!timers_[index(t)])
    return;
  timers_[index(t)].reset();
  emit(engine::CancelTimer{t});
}

void ClientEngine::send(engine::OutboundFrame f) {
  if (link_ == 0)
    return;
  emit(engine::Send{link_, std::move(f)});
}

double ClientEngine::draw() {
  return config_.uniform ? config_.uniform() : 0.5;
}

void ClientEngine::on(const engine::TimerFired& e) {
  auto& slot = timers_[index(e.timer)];
  if (!slot || now_ < *slot)
    return;  // cancelled, re-armed for later, or early: a stale completion
  slot.reset();
  switch (e.timer) {
    case EngineTimer::retry:
      return on_retry_timer();
    case EngineTimer::connect:
      return on_link_lost("no welcome within " + std::to_string(config_.connect_timeout.count()) +
                              " ms (connect_timeout)",
                          false, std::nullopt);
    case EngineTimer::heartbeat:
      return on_heartbeat_timer(e.unix_ms);
    case EngineTimer::poll:
      start_poll();
      http_publish_next();  // a failed publish is retried at the poll pace
      return;
    case EngineTimer::ack:
      return on_ack_timer();
  }
}

}  // namespace steadyws
