// ClientEngine, heartbeats and quality: pings and pongs, the samples fed to the quality
// monitors and the forecaster, and the two ways quality moves the client: the forecast
// failover to the next URL and the critical-quality fallback.
#include <algorithm>

#include "core/client_engine.hpp"

namespace steadyws {

void ClientEngine::arm_heartbeat() {
  arm(EngineTimer::heartbeat, hb_.next_deadline());
}

void ClientEngine::on_heartbeat_timer(std::optional<std::int64_t> unix_ms) {
  if (!is_welcomed())
    return;
  const HeartbeatAction a = hb_.poll(now_);
  if (hb_.total_missed() > missed_seen_) {
    for (; missed_seen_ < hb_.total_missed(); ++missed_seen_) {
      quality_.record_missed(now_);
      link_quality_.record_missed(now_);
      forecast_sample(std::nullopt);
    }
    after_quality_sample();
    if (link_ == 0)
      return;  // the samples moved us off this link (forecast failover or fallback)
  }
  switch (a) {
    case HeartbeatAction::send_ping:
    case HeartbeatAction::verify_ping: {
      // The token is the wire timestamp (Unix ms), kept strictly increasing so two pings in
      // the same millisecond still match their own pongs.
      const std::int64_t wall =
          unix_ms ? *unix_ms
                  : std::chrono::duration_cast<Duration>(now_.time_since_epoch()).count();
      const std::int64_t token = std::max(wall, last_ping_token_ + 1);
      last_ping_token_ = token;
      send(engine::PingOut{token});
      hb_.on_ping_sent(token, now_);
      break;
    }
    case HeartbeatAction::close_dead:
      return on_link_lost("heartbeat timeout: " + std::to_string(hb_.missed()) +
                              " pings unanswered (interval " +
                              std::to_string(config_.heartbeat_interval.count()) + " ms)",
                          false, std::nullopt);
    case HeartbeatAction::none:
      break;
  }
  arm_heartbeat();
}

void ClientEngine::on_pong(const engine::PongFrame& p) {
  if (!p.token)
    return;  // not a timestamp we sent
  const PongResult r = hb_.on_pong(*p.token, now_);
  if (!r.matched || r.late)
    return;
  quality_.record_rtt(r.rtt_exact, now_);
  link_quality_.record_rtt(r.rtt_exact, now_);
  forecast_sample(r.rtt_exact);
  bandwidth_.on_rtt(std::chrono::duration_cast<Duration>(r.rtt_exact), now_);
  report_bandwidth();
  after_quality_sample();
}

// Right after quality_ took a sample: the forecaster takes it too, and on_forecast hears it.
void ClientEngine::forecast_sample(std::optional<Clock::duration> rtt) {
  engine::ReportForecast s;
  if (rtt)
    s.rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  s.reconnected = forecast_reconnected_;
  forecast_reconnected_ = false;
  s.level = quality_.level();
  s.forecast = forecaster_.on_sample(rtt, s.level);
  emit(std::move(s));
}

void ClientEngine::after_quality_sample() {
  const auto change = quality_.take_level_change();
  emit(engine::ReportHealth{quality_metrics(now_), quality_.alerts(now_)});
  if (change)
    emit(engine::QualityChanged{*change});
  if (maybe_forecast_failover(forecaster_.last()))
    return;
  // The level (window mean, with hysteresis) of this link alone: slow samples of an earlier
  // link, still in quality_'s window, must not push a healthy new link back to polling.
  if (link_quality_.level() != Quality::critical) {
    critical_since_.reset();
    return;
  }
  if (!critical_since_)
    critical_since_ = now_;
  const auto after = config_.critical_quality_fallback_after;
  if (config_.enable_fallback && after.count() > 0 && now_ - *critical_since_ >= after &&
      is_welcomed() && sm_.state() == State::connected) {
    critical_since_.reset();
    drop_link(true);
    forget_connection();
    transition(State::disconnected,
               "quality critical for " + std::to_string(after.count()) + " ms");
    activate_fallback();
  }
}

// With two or more URLs and forecast_failover_risk set: leave the current server before it
// degrades, at most once per forecast_horizon. True when it dropped the link.
bool ClientEngine::maybe_forecast_failover(const Forecast& f) {
  const double threshold = config_.forecast_failover_risk;
  if (threshold <= 0 || f.samples == 0 || f.risk < threshold || config_.urls.size() < 2 ||
      fallback_active_ || !is_welcomed() || sm_.state() != State::connected)
    return false;
  if (forecast_switched_at_ && now_ - *forecast_switched_at_ < config_.forecast_horizon)
    return false;
  forecast_switched_at_ = now_;
  drop_link(true);
  forget_connection();
  url_index_ = (url_index_ + 1) % config_.urls.size();
  transition(State::disconnected,
             "forecast: degradation risk " + std::to_string(static_cast<int>(f.risk * 100 + 0.5)) +
                 " % within " + std::to_string(f.horizon.count()) + " ms; switching to " + url());
  schedule_retry(Duration{0});
  return true;
}

}  // namespace steadyws
