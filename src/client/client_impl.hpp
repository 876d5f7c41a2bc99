// Client::Impl, the I/O shell behind steadyws::Client (include/steadyws/client.hpp), split by
// subject over these files:
//   client.cpp           the public facade, construction, the executor or own thread, shutdown
//   client_commands.cpp  connect/disconnect/reconnect, subscribe, the offline queue, delivery
//   client_ws_link.cpp   one WebSocket attempt and connection: dial, upgrade, frames, welcome
//   client_reconnect.cpp a link lost: failover, backoff, retryAfterMs, giving up
//   client_health.cpp    heartbeats, quality, the forecast and the critical-quality fallback
//   client_fallback.cpp  the HTTP long-polling fallback (GET /api/poll, POST /api/publish)
// Every decision is the core's (ConnectionStateMachine, Backoff, HeartbeatTracker,
// QualityMonitor, OutboundQueue, PollSchedule) or a pure helper's (ChannelCursors, url, wire);
// these files only perform them. (The shell does not run on core::ClientEngine yet: see
// docs/client.md, "Inside".)
//
// Everything below Impl's public commands runs on the client's executor, one handler at a
// time. The one exception is the data behind the getters and publish(): the queue, the
// quality monitor and a few mirrored fields, guarded by mu_. mu_ is never held while a user
// callback runs. Private to the client library.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "steadyws/client.hpp"
#include "steadyws/core/backoff.hpp"
#include "steadyws/core/forecast.hpp"
#include "steadyws/core/outbound_queue.hpp"
#include "steadyws/core/quality_monitor.hpp"

#include "auth/jwt.hpp"
#include "client/cursors.hpp"
#include "client/http_call.hpp"
#include "client/tls.hpp"
#include "client/url.hpp"
#include "client/wire.hpp"
#include "core/heartbeat_tracker.hpp"
#include "core/poll_schedule.hpp"
#include "protocol/codec.hpp"

namespace steadyws {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace client {

// One WebSocket attempt, and the connection it becomes. Owned by Impl through link_; a
// completion whose link is no longer link_ is stale and ignored.
struct WsLink {
  // `tls` null: ws://; else wss:// with that context (CONTRACT §6).
  WsLink(net::io_context& ioc, client::Endpoint e, std::shared_ptr<net::ssl::context> tls)
      : resolver(ioc),
        ws(tls ? client::MaybeTlsStream(ioc, std::move(tls)) : client::MaybeTlsStream(ioc)),
        endpoint(std::move(e)) {}
  tcp::resolver resolver;
  websocket::stream<client::MaybeTlsStream> ws;
  client::Endpoint endpoint;
  beast::flat_buffer buffer;
  std::deque<std::string> outbox;  // front is being written (one write in flight)
  bool writing = false;
  bool welcomed = false;  // the server's welcome arrived: the attempt became a connection
  bool closing = false;
};

inline std::int64_t unix_ms_now() {
  return to_unix_ms(std::chrono::system_clock::now());
}

}  // namespace client

class Client::Impl {
 public:
  using WsLink = client::WsLink;
  explicit Impl(ClientOptions options);
  ~Impl();

  // ---- commands, callable from any thread ----
  void connect() {
    post([this] { do_connect(); });
  }
  void disconnect() {
    post([this] { do_disconnect(); });
  }
  void reconnect() {
    post([this] { do_reconnect(); });
  }
  PublishResult publish(std::string channel, boost::json::value data,
                        std::optional<std::string> id);
  void subscribe(std::string channel) {
    post([this, c = std::move(channel)] { do_subscribe(c); });
  }
  void unsubscribe(std::string channel) {
    post([this, c = std::move(channel)] { do_unsubscribe(c); });
  }

  // ---- getters, any thread ----
  State state() const {
    std::lock_guard lock(mu_);
    return state_;
  }
  QualityMetrics metrics() const {
    std::lock_guard lock(mu_);
    return with_forecast(quality_.metrics(Clock::now()));
  }
  Forecast forecast() const {
    std::lock_guard lock(mu_);
    return forecaster_.last();
  }
  Quality quality() const {
    std::lock_guard lock(mu_);
    return quality_.level();
  }
  std::vector<std::string> recommendations() const;
  BandwidthEstimate bandwidth() const {
    std::lock_guard lock(mu_);
    return bandwidth_.estimate(Clock::now());
  }
  bool using_fallback() const { return fallback_mirror_.load(); }
  bool given_up() const { return given_up_.load(); }
  std::size_t queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }
  std::string current_url() const {
    std::lock_guard lock(mu_);
    return current_url_;
  }

 private:
  template <class F>
  void post(F&& f) {
    net::post(ioc_, std::forward<F>(f));
  }

  // ---- I/O-thread side ----
  void do_connect();
  void do_disconnect();
  void do_reconnect();
  void do_subscribe(const std::string& channel);
  void do_unsubscribe(const std::string& channel);
  void flush_queue();
  void shutdown();

  // WebSocket attempt and connection.
  void start_attempt();
  void on_resolve(std::shared_ptr<WsLink> l, error_code ec, tcp::resolver::results_type r);
  void on_tcp_connect(std::shared_ptr<WsLink> l, error_code ec, tcp::endpoint);
  void do_upgrade(std::shared_ptr<WsLink> l);
  void on_handshake(std::shared_ptr<WsLink> l, error_code ec);
  void do_read(std::shared_ptr<WsLink> l);
  void on_read(std::shared_ptr<WsLink> l, error_code ec, std::size_t);
  void send(std::string frame);
  void do_write(std::shared_ptr<WsLink> l);
  void on_write(std::shared_ptr<WsLink> l, error_code ec, std::size_t);
  void on_frame(const std::shared_ptr<WsLink>& l, std::string text);
  void report_bandwidth(TimePoint now);  // on_bandwidth when take_report says so
  void on_welcome(const std::shared_ptr<WsLink>& l, const protocol::Welcome& w);
  // CONTRACT §8, token_provider: ask for the token (before a connect, before exp), and
  // refresh an open connection in place.
  void ask_token();
  void arm_token_refresh();
  // The link (attempt or connection) ended. `clean`: closed by a close frame, not an error.
  void on_link_lost(const std::shared_ptr<WsLink>& l, std::string reason, bool clean,
                    std::optional<Duration> retry_after = std::nullopt);
  void drop_link(bool graceful);
  void schedule_retry(std::optional<Duration> retry_after);
  void arm_retry(Duration delay, bool probe);
  // The retry budget ran out: the fallback, or (without one) stop for good.
  void give_up();

  // Resends what is in flight when no ack came for ack_timeout (a publish the server refused,
  // e.g. rate_limited, carries no id in its error frame, so a timeout is the only signal).
  void arm_ack_timer();

  // Heartbeats and quality.
  void arm_heartbeat();
  void on_heartbeat_timer();
  void after_quality_sample(TimePoint now);
  // Under mu_, right after quality_ took a sample: the forecaster takes it too.
  void forecast_sample(std::optional<Clock::duration> rtt);
  QualityMetrics with_forecast(QualityMetrics m) const {
    const Forecast f = forecaster_.last();
    m.degradation_risk = f.risk;
    m.predicted_level = f.predicted_level;
    return m;
  }
  // The optional action: true when it dropped the link to move to the next URL.
  bool maybe_forecast_failover(const Forecast& f, TimePoint now);

  // Fallback.
  void activate_fallback(const std::string& reason);
  void deactivate_fallback();
  void start_poll();
  void on_poll(std::vector<client::PollCursor> asked, TimePoint started, error_code ec,
               unsigned status, std::string body);
  void arm_poll(Duration delay);
  void http_publish_next();

  void deliver(protocol::Message m, std::string json, bool via_fallback);
  void transition(State to, std::string reason);
  void report_error(std::string where, error_code ec, std::string message);
  double draw() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  const client::Endpoint& endpoint() const { return endpoints_[url_index_]; }
  bool callbacks_on() const { return callbacks_enabled_.load(std::memory_order_acquire); }

  ClientOptions opts_;
  std::vector<client::Endpoint> endpoints_;
  std::shared_ptr<net::ssl::context> tls_ctx_;  // made when a URL is wss://

  // Declared before everything that holds I/O objects, so it is destroyed last.
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;

  // I/O-thread state.
  ConnectionStateMachine sm_{State::disconnected};
  Backoff backoff_;
  Backoff probe_backoff_;  // unlimited: paces WebSocket probes while on the fallback
  std::mt19937_64 rng_;
  HeartbeatTracker hb_;
  PollSchedule poll_schedule_;
  client::ChannelCursors cursors_;
  std::shared_ptr<WsLink> link_;
  net::steady_timer retry_timer_;
  net::steady_timer connect_timer_;
  net::steady_timer heartbeat_timer_;
  net::steady_timer poll_timer_;
  net::steady_timer ack_timer_;
  net::steady_timer token_timer_;  // token_provider: the next refresh before exp
  std::string token_;              // token_provider's latest answer
  std::string session_id_;         // the last welcome's session, resumed on the next dial
  std::string resume_token_;       // its resumeToken (a secret: never logged or reported)
  bool ack_timer_armed_ = false;
  std::uint64_t acks_ = 0;  // acks received, for ack_timer_
  std::shared_ptr<client::HttpCall> poll_call_;
  Duration poll_wait_{0};
  bool poll_joining_ = false;  // poll_call_ carries a channel with no cursor yet (its wait is 0)
  std::shared_ptr<client::HttpCall> publish_call_;
  std::size_t url_index_ = 0;
  bool want_connected_ = false;  // between connect() and disconnect()
  bool fallback_active_ = false;
  bool ever_connected_ = false;
  bool probing_ = false;  // the current attempt is a probe made while on the fallback
  std::uint64_t attempt_gen_ = 0;
  std::uint64_t fallback_gen_ = 0;
  std::int64_t last_ping_token_ = 0;
  std::uint64_t missed_seen_ = 0;
  std::optional<TimePoint> critical_since_;
  // The current WebSocket's own quality, reset on each welcome: the critical-quality fallback
  // decides on it, never on quality_, whose window still holds the samples of earlier links
  // (after leaving a fallback taken for a slow link, those would send the client straight
  // back to polling on a healthy link).
  QualityMonitor link_quality_;

  // Shared with other threads.
  mutable std::mutex mu_;
  OutboundQueue queue_;                            // guarded by mu_
  QualityMonitor quality_;                         // guarded by mu_
  ReceiveBandwidthEstimator bandwidth_;            // guarded by mu_
  QualityForecaster forecaster_;                   // guarded by mu_; fed every sample quality_ gets
  std::vector<ForecastSample> forecast_pending_;   // guarded by mu_; for on_forecast
  bool forecast_reconnected_ = false;              // guarded by mu_
  std::optional<TimePoint> forecast_switched_at_;  // I/O thread
  State state_ = State::disconnected;              // guarded by mu_; mirrors sm_
  std::string current_url_;                        // guarded by mu_
  std::atomic<bool> fallback_mirror_{false};
  std::atomic<bool> callbacks_enabled_{true};
  std::atomic<bool> given_up_{false};
  std::atomic<std::uint64_t> id_counter_{0};
  std::string id_prefix_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace steadyws
