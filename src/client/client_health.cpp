// Client::Impl's heartbeats and quality: pings and pongs, missed heartbeats, the forecast and
// its failover, and the switch to the fallback when quality stays critical.
#include "client/client_impl.hpp"

namespace steadyws {

// ---- heartbeats ------------------------------------------------------------------------------

void Client::Impl::arm_heartbeat() {
  heartbeat_timer_.expires_at(hb_.next_deadline());
  auto l = link_;
  heartbeat_timer_.async_wait([this, l](error_code ec) {
    if (ec || l != link_)
      return;
    on_heartbeat_timer();
  });
}

void Client::Impl::on_heartbeat_timer() {
  const TimePoint now = Clock::now();
  const HeartbeatAction a = hb_.poll(now);
  if (hb_.total_missed() > missed_seen_) {
    {
      std::lock_guard lock(mu_);
      for (; missed_seen_ < hb_.total_missed(); ++missed_seen_) {
        quality_.record_missed(now);
        link_quality_.record_missed(now);
        forecast_sample(std::nullopt);
      }
    }
    after_quality_sample(now);
    if (!link_)
      return;
  }
  switch (a) {
    case HeartbeatAction::send_ping:
    case HeartbeatAction::verify_ping: {
      // The token is the wire timestamp (Unix ms), kept strictly increasing so two pings in
      // the same millisecond still match their own pongs.
      const std::int64_t token = std::max(client::unix_ms_now(), last_ping_token_ + 1);
      last_ping_token_ = token;
      send(client::ping_frame(token));
      hb_.on_ping_sent(token, now);
      break;
    }
    case HeartbeatAction::close_dead:
      return on_link_lost(link_,
                          "heartbeat timeout: " + std::to_string(hb_.missed()) +
                              " pings unanswered (interval " +
                              std::to_string(opts_.heartbeat_interval.count()) + " ms)",
                          false);
    case HeartbeatAction::none:
      break;
  }
  arm_heartbeat();
}

void Client::Impl::forecast_sample(std::optional<Clock::duration> rtt) {
  ForecastSample s;
  if (rtt)
    s.rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  s.reconnected = forecast_reconnected_;
  forecast_reconnected_ = false;
  s.level = quality_.level();
  s.forecast = forecaster_.on_sample(rtt, s.level);
  if (opts_.on_forecast)
    forecast_pending_.push_back(s);
}

bool Client::Impl::maybe_forecast_failover(const Forecast& f, TimePoint now) {
  const double threshold = opts_.forecast_failover_risk;
  if (threshold <= 0 || f.samples == 0 || f.risk < threshold || endpoints_.size() < 2 ||
      fallback_active_ || !link_ || !link_->welcomed || sm_.state() != State::connected)
    return false;
  if (forecast_switched_at_ && now - *forecast_switched_at_ < opts_.forecast_horizon)
    return false;
  forecast_switched_at_ = now;
  drop_link(true);
  heartbeat_timer_.cancel();
  {
    std::lock_guard lock(mu_);
    queue_.on_disconnect();
    quality_.record_disconnected(now);
  }
  url_index_ = (url_index_ + 1) % endpoints_.size();
  transition(State::disconnected, "forecast: degradation risk " +
                                      std::to_string(static_cast<int>(f.risk * 100 + 0.5)) +
                                      " % within " + std::to_string(f.horizon.count()) +
                                      " ms; switching to " + endpoint().url);
  schedule_retry(Duration{0});
  return true;
}

void Client::Impl::after_quality_sample(TimePoint now) {
  std::optional<Quality> change;
  QualityMetrics m;
  std::vector<ForecastSample> forecasts;
  Forecast f;
  {
    std::lock_guard lock(mu_);
    change = quality_.take_level_change();
    m = with_forecast(quality_.metrics(now));
    forecasts.swap(forecast_pending_);
    f = forecaster_.last();
  }
  if (callbacks_on()) {
    if (opts_.on_health_update)
      opts_.on_health_update(m);
    if (change && opts_.on_quality_change)
      opts_.on_quality_change(*change);
    if (opts_.on_forecast)
      for (const auto& s : forecasts)
        opts_.on_forecast(s);
  }
  if (maybe_forecast_failover(f, now))
    return;
  // The level (window mean, with hysteresis) of this link alone: see link_quality_.
  if (link_quality_.level() != Quality::critical) {
    critical_since_.reset();
    return;
  }
  if (!critical_since_)
    critical_since_ = now;
  const auto after = opts_.critical_quality_fallback_after;
  if (opts_.enable_fallback && after.count() > 0 && now - *critical_since_ >= after && link_ &&
      link_->welcomed && sm_.state() == State::connected) {
    critical_since_.reset();
    drop_link(true);
    heartbeat_timer_.cancel();
    {
      std::lock_guard lock(mu_);
      queue_.on_disconnect();
      quality_.record_disconnected(now);
    }
    transition(State::disconnected,
               "quality critical for " + std::to_string(after.count()) + " ms");
    activate_fallback("quality stayed critical");
  }
}

}  // namespace steadyws
