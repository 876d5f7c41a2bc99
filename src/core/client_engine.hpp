// ClientEngine: every decision of the reconnecting client, sans-I/O (issue 10). The shell
// (steadyws::Client, the load generators) turns each I/O completion and each API call into an
// engine::Event, calls handle(event, now), and performs the engine::Actions it gets back, in
// order: dial, send, arm or cancel a timer, poll, deliver, report. It owns the policy's pieces:
// Backoff (reconnects) and a second, unlimited Backoff (probes from the fallback),
// HeartbeatTracker, two QualityMonitors (the reported one, and the current link's alone, which
// decides the critical-quality fallback), QualityForecaster, ReceiveBandwidthEstimator,
// OutboundQueue, PollSchedule, ResumeCursors and the ConnectionStateMachine.
//
// It is not a transport: it never parses or serializes (that is protocol/), never reads a
// clock (time comes in as `now`), never draws a random number (jitter comes from the injected
// uniform source) and owns no timer (it asks for one with ArmTimer and is told TimerFired).
// Token refresh (CONTRACT §8) stays in the shell: it needs the JWT's exp and the wall clock.
//
// The policy is the one src/client/client.cpp implemented before it (docs/client.md); the
// rules, the event and action vocabulary and the conformance scenarios are in
// docs/core/client-engine.md.
//
// Private to src/: a client user sees steadyws::Client, not this (the public/private rule of
// docs/architecture.md: only core types that Client exposes are public).
//
// Thread-safety: not thread-safe; owned by one client and used on its strand (or under the
// client's mutex). handle() never calls back into the shell: everything comes out as actions.
//
// Invariants:
//  1. At most one link is current (link() != 0); only its events count.
//  2. While the fallback is active there is at most one poll and one HTTP publish in flight.
//  3. A timer is armed (ArmTimer) before its TimerFired counts; each armed timer has exactly
//     one deadline, and a CancelTimer is emitted only for an armed timer.
//  4. Each queued publish is in flight on at most one transport; it is sent again only after
//     the link it went on was lost, its HTTP call failed, the transport changed (fallback <->
//     WebSocket), or ack_timeout passed with no ack at all.
//  5. While a joining poll (one that carries a channel with no cursor yet, asked with wait 0)
//     is in flight no HTTP publish starts: a subscribe comes before this client's later
//     publishes on the fallback as it does on the WebSocket.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steadyws/core/backoff.hpp"
#include "steadyws/core/bandwidth.hpp"
#include "steadyws/core/connection_state.hpp"
#include "steadyws/core/forecast.hpp"
#include "steadyws/core/outbound_queue.hpp"
#include "steadyws/core/quality_monitor.hpp"
#include "steadyws/core/time.hpp"

#include "core/client_engine_cursors.hpp"
#include "core/client_engine_events.hpp"
#include "core/heartbeat_tracker.hpp"
#include "core/poll_schedule.hpp"

namespace steadyws {

// The policy options of ClientOptions (include/steadyws/client_options.hpp), same names and
// defaults, so the shell copies them field by field.
struct ClientEngineConfig {
  // Servers, tried in order; each failed attempt moves to the next (wrapping). Only used for
  // url indices and reasons. REQUIRES: not empty.
  std::vector<std::string> urls;

  std::uint32_t max_reconnect_attempts = 5;  // 0 = unlimited
  Duration reconnect_interval{1000};
  bool exponential_backoff = true;
  Duration max_backoff_delay{30000};
  Duration jitter{1000};
  JitterMode jitter_mode = JitterMode::symmetric;
  // Uniform draws in [0, 1) for the jitter, one per scheduled attempt. The shell passes its
  // seeded std::mt19937_64; empty: always 0.5 (symmetric jitter then adds nothing).
  std::function<double()> uniform;
  Duration connect_timeout{10000};

  Duration heartbeat_interval{30000};
  Duration heartbeat_timeout{10000};
  std::uint32_t max_missed_heartbeats = 3;

  bool enable_fallback = true;
  Duration fallback_poll_interval{5000};
  Duration long_poll_timeout{25000};
  Duration critical_quality_fallback_after{60000};  // 0 = never

  Duration forecast_horizon{30000};
  double forecast_failover_risk = 0;  // 0 = off

  OutboundQueueConfig queue;
  Duration ack_timeout{10000};  // 0 = resend only on reconnect
};

class ClientEngine {
 public:
  // State disconnected, nothing armed. REQUIRES: !config.urls.empty().
  ClientEngine(ClientEngineConfig config, TimePoint now);

  // Takes one event at `now` and returns what to do, in order. `now` must not go backwards.
  engine::Actions handle(const engine::Event& e, TimePoint now);

  // ---- the state the Client's getters show ----
  State state() const { return sm_.state(); }
  bool is_using_fallback() const { return fallback_active_; }
  bool has_given_up() const { return given_up_; }
  // The current link (0 when none) and whether its welcome arrived.
  LinkId link() const { return link_; }
  bool is_welcomed() const { return link_ != 0 && welcomed_; }
  // The URL of the current or most recent attempt (and of the fallback's HTTP calls).
  std::size_t url_index() const { return url_index_; }
  // The poll and HTTP publish in flight (0 when none).
  RequestId poll_request() const { return poll_request_; }
  RequestId publish_request() const { return publish_request_; }
  // The deadline of an armed timer, nullopt when it is not armed.
  std::optional<TimePoint> deadline(EngineTimer t) const;

  QualityMetrics quality_metrics(TimePoint now) const;  // with the forecast's two fields
  Quality quality() const { return quality_.level(); }
  std::vector<Alert> alerts(TimePoint now) const { return quality_.alerts(now); }
  // QualityMonitor's sentences plus the forecast's and the bandwidth's (as Client's getter).
  std::vector<std::string> recommendations(TimePoint now) const;
  Forecast forecast() const { return forecaster_.last(); }
  BandwidthEstimate bandwidth(TimePoint now) const { return bandwidth_.estimate(now); }
  std::size_t queued() const { return queue_.size(); }
  const OutboundQueue& queue() const { return queue_; }
  const ResumeCursors& cursors() const { return cursors_; }
  const HeartbeatTracker& heartbeat() const { return hb_; }
  // The last welcome's session (for diagnostics; the client does not resume sessions yet).
  const std::string& session_id() const { return session_id_; }
  const std::string& resume_token() const { return resume_token_; }
  const ClientEngineConfig& config() const { return config_; }
  // Transitions the state machine refused (a bug in the engine; tests expect 0).
  std::uint64_t illegal_transitions() const { return illegal_transitions_; }

 private:
  // One handler per event (client_engine.cpp, _link.cpp, _heartbeat.cpp, _fallback.cpp).
  void on(const engine::ConnectRequested&);
  void on(const engine::ReconnectRequested&);
  void on(const engine::CloseRequested&);
  void on(const engine::SubscribeRequested& e);
  void on(const engine::UnsubscribeRequested& e);
  void on(const engine::PublishRequested& e);
  void on(const engine::DialSucceeded& e);
  void on(const engine::DialFailed& e);
  void on(const engine::LinkLost& e);
  void on(const engine::FrameReceived& e);
  void on(const engine::TimerFired& e);
  void on(const engine::PollAnswered& e);
  void on(const engine::PollFailed& e);
  void on(const engine::PublishAnswered& e);
  void on(const engine::PublishFailed& e);

  // Output and bookkeeping.
  void emit(engine::Action a) { out_.push_back(std::move(a)); }
  void transition(State to, std::string reason);
  void report_error(std::string where, std::string code, std::string message);
  void arm(EngineTimer t, TimePoint at);
  void cancel(EngineTimer t);
  void send(engine::OutboundFrame f);
  double draw();
  const std::string& url() const { return config_.urls[url_index_]; }

  // The WebSocket (client_engine_link.cpp).
  void start_attempt();
  void drop_link(bool graceful);
  void on_link_lost(std::string reason, bool clean, std::optional<Duration> retry_after);
  void schedule_retry(std::optional<Duration> retry_after);
  void arm_retry(Duration delay, bool probe);
  void on_retry_timer();
  void give_up();
  void on_welcome(const engine::WelcomeFrame& w);
  void on_frame(const engine::InboundFrame& f);
  void report_bandwidth();
  void deliver(const std::string& channel, std::uint64_t seq, const std::string& id,
               std::size_t index, bool via_fallback);
  // The link went away while connected (or we dropped it): queue and quality bookkeeping.
  void forget_connection();

  // The offline queue (client_engine_link.cpp).
  void flush_queue();
  void arm_ack_timer();
  void on_ack_timer();

  // Heartbeats and quality (client_engine_heartbeat.cpp).
  void arm_heartbeat();
  void on_heartbeat_timer(std::optional<std::int64_t> unix_ms);
  void on_pong(const engine::PongFrame& p);
  void forecast_sample(std::optional<Clock::duration> rtt);
  void after_quality_sample();
  bool maybe_forecast_failover(const Forecast& f);

  // The fallback (client_engine_fallback.cpp).
  void activate_fallback();
  void deactivate_fallback();
  void start_poll();
  void arm_poll(Duration delay);
  void http_publish_next();

  ClientEngineConfig config_;
  TimePoint now_;        // the `now` of the event being handled
  engine::Actions out_;  // the actions of the event being handled
  ConnectionStateMachine sm_{State::disconnected};
  Backoff backoff_;
  Backoff probe_backoff_;  // unlimited: paces WebSocket probes while on the fallback
  HeartbeatTracker hb_;
  PollSchedule poll_schedule_;
  ResumeCursors cursors_;
  OutboundQueue queue_;
  QualityMonitor quality_;       // what the application is shown, across links
  QualityMonitor link_quality_;  // the current WebSocket's alone, reset on each welcome
  QualityForecaster forecaster_;
  ReceiveBandwidthEstimator bandwidth_;

  std::array<std::optional<TimePoint>, kEngineTimerCount> timers_{};
  bool retry_is_probe_ = false;  // what the armed retry timer will do

  LinkId link_ = 0;  // the current attempt or connection; 0: none
  LinkId last_link_ = 0;
  bool welcomed_ = false;  // the current link's welcome arrived
  std::size_t url_index_ = 0;
  bool want_connected_ = false;  // between connect() and disconnect()
  bool given_up_ = false;
  bool fallback_active_ = false;
  bool ever_connected_ = false;
  bool probing_ = false;  // the current attempt is a probe made from the fallback

  std::uint64_t acks_ = 0;  // ack frames received, for the ack timer
  std::uint64_t ack_acks_then_ = 0;
  LinkId ack_link_ = 0;  // the link the ack timer watches

  std::int64_t last_ping_token_ = 0;
  std::uint64_t missed_seen_ = 0;  // hb_.total_missed() already fed to the monitors
  std::optional<TimePoint> critical_since_;
  std::optional<TimePoint> forecast_switched_at_;
  bool forecast_reconnected_ = false;

  RequestId last_request_ = 0;
  RequestId poll_request_ = 0;  // in flight, 0: none
  std::vector<ResumePoint> poll_asked_;
  TimePoint poll_started_{};
  Duration poll_wait_{0};
  bool poll_joining_ = false;      // the poll in flight carries a channel with no cursor yet
  RequestId publish_request_ = 0;  // in flight, 0: none
  std::string publish_id_;

  std::string session_id_;
  std::string resume_token_;
  std::uint64_t illegal_transitions_ = 0;
};

}  // namespace steadyws
