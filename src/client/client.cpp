// The I/O shell behind steadyws::Client: one io_context on one thread, a Beast WebSocket for
// the main transport and one-shot HTTP calls for the long-polling fallback. Every decision is
// the core's (ConnectionStateMachine, Backoff, HeartbeatTracker, QualityMonitor,
// OutboundQueue, PollSchedule) or a pure helper's (ChannelCursors, url, wire); this file only
// performs them.
//
// Everything below Impl's public commands runs on the I/O thread. The one exception is the
// data behind the getters and publish(): the queue, the quality monitor and a few mirrored
// fields, guarded by mu_. mu_ is never held while a user callback runs.
#include "steadyws/client.hpp"

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

namespace {

// The subprotocol the client offers (CONTRACT §10).
constexpr const char* kProtocolVersion = "steadyws.v1";

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

BackoffConfig backoff_config(const ClientOptions& o, bool unlimited) {
  BackoffConfig c;
  c.base = o.reconnect_interval;
  c.max_delay = o.max_backoff_delay;
  c.jitter = o.jitter;
  c.mode = o.jitter_mode;
  c.exponential = o.exponential_backoff;
  c.max_attempts = unlimited ? 0 : o.max_reconnect_attempts;
  return c;
}

HeartbeatConfig heartbeat_config(const ClientOptions& o) {
  HeartbeatConfig c;
  c.interval = o.heartbeat_interval;
  c.timeout = o.heartbeat_timeout;
  c.max_missed = o.max_missed_heartbeats;
  return c;
}

PollScheduleConfig poll_config(const ClientOptions& o) {
  PollScheduleConfig c;
  c.initial = o.fallback_poll_interval;
  c.min = std::min(c.min, o.fallback_poll_interval);
  c.max = std::max(c.max, o.fallback_poll_interval);
  return c;
}

std::int64_t unix_ms_now() {
  return to_unix_ms(std::chrono::system_clock::now());
}

}  // namespace

class Client::Impl {
 public:
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
  std::vector<std::string> recommendations() const {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
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

Client::Impl::Impl(ClientOptions options)
    : opts_(std::move(options)),
      work_(net::make_work_guard(ioc_)),
      backoff_(backoff_config(opts_, false)),
      probe_backoff_(backoff_config(opts_, true)),
      rng_(opts_.seed ? *opts_.seed : std::random_device{}()),
      hb_(heartbeat_config(opts_), Clock::now()),
      poll_schedule_(poll_config(opts_)),
      retry_timer_(ioc_),
      connect_timer_(ioc_),
      heartbeat_timer_(ioc_),
      poll_timer_(ioc_),
      ack_timer_(ioc_),
      token_timer_(ioc_),
      queue_(opts_.queue),
      forecaster_(ForecastConfig{opts_.forecast_horizon, opts_.heartbeat_interval}) {
  if (opts_.urls.empty())
    throw std::invalid_argument("steadyws::Client needs at least one URL (ws://host:port/ws)");
  for (const auto& u : opts_.urls) {
    auto e = client::parse_ws_url(u);
    if (!e)
      throw std::invalid_argument(e.error());
    endpoints_.push_back(*e);
  }
  if (std::any_of(endpoints_.begin(), endpoints_.end(), [](const auto& e) { return e.tls; })) {
    auto ctx = client::make_tls_client_context(opts_.ca_file, opts_.insecure);
    if (!ctx)
      throw std::invalid_argument(ctx.error());
    tls_ctx_ = std::move(*ctx);
  }
  current_url_ = endpoints_.front().url;
  // Ids must be unique across clients even when tests give every client the same seed, so
  // the prefix comes from random_device, not from rng_.
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "c%08x%08x-", rd(), rd());
  id_prefix_ = buf;
  sm_.on_transition([this](const Transition& t) {
    {
      std::lock_guard lock(mu_);
      state_ = t.to;
    }
    if (opts_.on_state_change && callbacks_on())
      opts_.on_state_change(t);
  });
  thread_ = std::thread([this] {
    // No exception may escape a handler (STYLE 3.4.5); one that does is a bug: log it and
    // keep the loop alive so the destructor can still join.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error client: exception escaped a handler: %s (bug)\n", e.what());
      }
    }
  });
}

Client::Impl::~Impl() {
  callbacks_enabled_.store(false, std::memory_order_release);
  post([this] {
    shutdown();
    ioc_.stop();
  });
  work_.reset();
  if (thread_.joinable())
    thread_.join();
}

void Client::Impl::shutdown() {
  want_connected_ = false;
  error_code ignored;
  retry_timer_.cancel();
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  poll_timer_.cancel();
  ack_timer_.cancel();
  token_timer_.cancel();
  if (poll_call_)
    poll_call_->cancel();
  if (publish_call_)
    publish_call_->cancel();
  if (link_) {
    link_->resolver.cancel();
    beast::get_lowest_layer(link_->ws).socket().close(ignored);
    link_.reset();
  }
}

// ---- commands ------------------------------------------------------------------------------

PublishResult Client::Impl::publish(std::string channel, boost::json::value data,
                                    std::optional<std::string> id) {
  if (!protocol::is_valid_channel(channel))
    throw std::invalid_argument("publish: channel must be 1-128 of A-Z a-z 0-9 _ . : -");
  if (id && !protocol::is_valid_id(*id))
    throw std::invalid_argument("publish: id must be 1-64 characters");
  PublishResult r;
  r.id = id ? std::move(*id) : id_prefix_ + std::to_string(++id_counter_);
  std::string frame = client::publish_frame(channel, data, r.id);
  {
    std::lock_guard lock(mu_);
    r.status = queue_.enqueue(r.id, std::move(frame), Clock::now());
  }
  if (r.status == Enqueue::accepted)
    post([this] { flush_queue(); });
  return r;
}

void Client::Impl::do_connect() {
  const State s = sm_.state();
  if (want_connected_ &&
      (s == State::connecting || s == State::connected || s == State::reconnecting))
    return;
  if (want_connected_ && fallback_active_)
    return;
  want_connected_ = true;
  given_up_.store(false);
  backoff_.reset();
  retry_timer_.cancel();
  transition(State::connecting, "connect()");
  start_attempt();
}

void Client::Impl::do_disconnect() {
  want_connected_ = false;
  retry_timer_.cancel();
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  token_timer_.cancel();
  if (fallback_active_)
    deactivate_fallback();
  drop_link(true);
  {
    std::lock_guard lock(mu_);
    queue_.on_disconnect();
    quality_.record_disconnected(Clock::now());
  }
  transition(State::closed, "disconnect()");
}

void Client::Impl::do_reconnect() {
  want_connected_ = true;
  given_up_.store(false);
  backoff_.reset();
  retry_timer_.cancel();
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  drop_link(true);
  {
    std::lock_guard lock(mu_);
    queue_.on_disconnect();
    quality_.record_disconnected(Clock::now());
  }
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

void Client::Impl::do_subscribe(const std::string& channel) {
  if (!protocol::is_valid_channel(channel)) {
    report_error("subscribe", make_error_code(errc::bad_message),
                 "channel must be 1-128 of A-Z a-z 0-9 _ . : -: " + channel);
    return;
  }
  if (!cursors_.add(channel))
    return;
  if (link_ && link_->welcomed)
    send(protocol::to_json(cursors_.subscribe_for_send(channel)));
  // On the fallback the next poll carries the new channel.
}

void Client::Impl::do_unsubscribe(const std::string& channel) {
  if (!cursors_.remove(channel))
    return;
  if (link_ && link_->welcomed)
    send(protocol::to_json(protocol::Unsubscribe{channel}));
}

// Sends what is pending on whichever transport is up; in order, each once per connection.
void Client::Impl::flush_queue() {
  if (link_ && link_->welcomed) {
    std::vector<std::string> frames;
    {
      std::lock_guard lock(mu_);
      const TimePoint now = Clock::now();
      for (const QueuedMessage* m : queue_.pending()) {
        frames.push_back(m->payload);
        queue_.mark_sent(m->id, now);
      }
    }
    const bool sent = !frames.empty();
    for (auto& f : frames)
      send(std::move(f));
    if (sent)
      arm_ack_timer();
  } else if (fallback_active_) {
    http_publish_next();
  }
}

void Client::Impl::arm_ack_timer() {
  if (ack_timer_armed_ || opts_.ack_timeout.count() <= 0)
    return;
  ack_timer_armed_ = true;
  ack_timer_.expires_after(opts_.ack_timeout);
  const auto acks_then = acks_;
  auto l = link_;
  ack_timer_.async_wait([this, acks_then, l](error_code ec) {
    ack_timer_armed_ = false;
    if (ec || l != link_ || !link_ || !link_->welcomed)
      return;
    bool waiting = false;
    {
      std::lock_guard lock(mu_);
      waiting = !queue_.empty();
      if (waiting && acks_ == acks_then)
        queue_.on_disconnect();  // no progress at all: everything in flight goes again
    }
    if (waiting) {
      flush_queue();
      arm_ack_timer();
    }
  });
}

// ---- the WebSocket -------------------------------------------------------------------------

void Client::Impl::start_attempt() {
  drop_link(false);
  ++attempt_gen_;
  if (opts_.token_provider)
    ask_token();  // before the link copies the endpoint
  // CONTRACT §8: resume our session (its subscriptions come back at once) with its token. A
  // server that no longer has it, or another node, answers with a new session; the cursors
  // re-subscribe every channel either way.
  client::Endpoint ep = endpoint();
  if (!session_id_.empty() && !resume_token_.empty())
    ep.target += (ep.target.find('?') == std::string::npos ? "?" : "&") +
                 ("session=" + session_id_ + "&resume=" + resume_token_);
  link_ = std::make_shared<WsLink>(ioc_, std::move(ep), endpoint().tls ? tls_ctx_ : nullptr);
  {
    std::lock_guard lock(mu_);
    current_url_ = link_->endpoint.url;
  }
  auto l = link_;
  connect_timer_.expires_after(opts_.connect_timeout);
  connect_timer_.async_wait([this, l](error_code ec) {
    if (ec || l != link_)
      return;
    on_link_lost(l,
                 "no welcome within " + std::to_string(opts_.connect_timeout.count()) +
                     " ms (connect_timeout)",
                 false);
  });
  l->resolver.async_resolve(
      l->endpoint.host, l->endpoint.port,
      [this, l](error_code ec, tcp::resolver::results_type r) { on_resolve(l, ec, r); });
}

void Client::Impl::on_resolve(std::shared_ptr<WsLink> l, error_code ec,
                              tcp::resolver::results_type r) {
  if (l != link_)
    return;
  if (ec)
    return on_link_lost(l, "resolve " + l->endpoint.host + ": " + ec.message(), false);
  beast::get_lowest_layer(l->ws).async_connect(
      r, [this, l](error_code e, tcp::endpoint ep) { on_tcp_connect(l, e, ep); });
}

void Client::Impl::on_tcp_connect(std::shared_ptr<WsLink> l, error_code ec, tcp::endpoint) {
  if (l != link_)
    return;
  if (ec)
    return on_link_lost(
        l, "connect " + l->endpoint.host + ":" + l->endpoint.port + ": " + ec.message(), false);
  beast::error_code ignored;
  beast::get_lowest_layer(l->ws).socket().set_option(tcp::no_delay(true), ignored);
  if (!l->endpoint.tls)
    return do_upgrade(l);
  l->ws.next_layer().async_tls_handshake(
      l->endpoint.host, !opts_.insecure, [this, l](error_code e) {
        if (l != link_)
          return;
        if (e)
          return on_link_lost(l,
                              "tls " + l->endpoint.host + ":" + l->endpoint.port + ": " +
                                  l->ws.next_layer().tls_failure(e),
                              false);
        do_upgrade(l);
      });
}

void Client::Impl::do_upgrade(std::shared_ptr<WsLink> l) {
  // Our HeartbeatTracker owns liveness and connect_timer_ bounds the handshake, so Beast's
  // own timeouts stay off (STYLE 3.5: don't run two liveness mechanisms).
  websocket::stream_base::timeout t{};
  t.handshake_timeout = websocket::stream_base::none();
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  l->ws.set_option(t);
  l->ws.read_message_max(64u << 20);
  if (opts_.compression) {
    // CONTRACT §7: Beast's permessage-deflate on our client (its deflater and inflater);
    // no context takeover on our side, so the server keeps no inflate window for us.
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    pmd.client_no_context_takeover = true;
    pmd.msg_size_threshold = 256;  // as the server's --compression-min-bytes default
    l->ws.set_option(pmd);
  }
  l->ws.text(true);
  // CONTRACT §10: ask for the protocol version we speak (a server that ignores it still
  // speaks v1 to us); with a token provider, its token as a Bearer header.
  l->ws.set_option(websocket::stream_base::decorator(
      [token =
           opts_.token_provider ? l->endpoint.token : std::string()](websocket::request_type& req) {
        req.set(http::field::sec_websocket_protocol, kProtocolVersion);
        if (!token.empty())
          req.set(beast::http::field::authorization, "Bearer " + token);
      }));
  l->ws.async_handshake(l->endpoint.host_header(), l->endpoint.target,
                        [this, l](error_code e) { on_handshake(l, e); });
}

void Client::Impl::on_handshake(std::shared_ptr<WsLink> l, error_code ec) {
  if (l != link_)
    return;
  if (ec)
    return on_link_lost(l, "upgrade " + l->endpoint.url + ": " + ec.message(), false);
  do_read(l);
}

void Client::Impl::do_read(std::shared_ptr<WsLink> l) {
  l->ws.async_read(l->buffer, [this, l](error_code ec, std::size_t n) { on_read(l, ec, n); });
}

void Client::Impl::on_read(std::shared_ptr<WsLink> l, error_code ec, std::size_t) {
  if (l != link_)
    return;
  if (ec == websocket::error::closed) {
    const auto& cr = l->ws.reason();
    const std::string why(cr.reason.data(), cr.reason.size());
    std::optional<Duration> hint;
    if (cr.code == wire_code(CloseCode::going_away))
      hint = client::retry_after_from_reason(why);
    return on_link_lost(
        l, "server closed " + std::to_string(cr.code) + (why.empty() ? "" : " " + why), true, hint);
  }
  if (ec)
    return on_link_lost(l, "read: " + ec.message(), false);
  std::string text = beast::buffers_to_string(l->buffer.data());
  l->buffer.consume(l->buffer.size());
  const bool binary = l->ws.got_binary();
  if (!binary)
    on_frame(l, std::move(text));
  if (l == link_)
    do_read(l);
}

void Client::Impl::send(std::string frame) {
  if (!link_)
    return;

  link_->outbox.push_back(std::move(frame));
  if (!link_->writing)
    do_write(link_);
}

void Client::Impl::do_write(std::shared_ptr<WsLink> l) {
  l->writing = true;
  l->ws.async_write(net::buffer(l->outbox.front()),
                    [this, l](error_code ec, std::size_t n) { on_write(l, ec, n); });
}

void Client::Impl::on_write(std::shared_ptr<WsLink> l, error_code ec, std::size_t) {
  l->writing = false;
  if (l != link_)
    return;
  if (ec)
    return on_link_lost(l, "write: " + ec.message(), false);
  l->outbox.pop_front();
  if (!l->outbox.empty() && !l->closing)
    do_write(l);
}

void Client::Impl::on_frame(const std::shared_ptr<WsLink>& l, std::string text) {
  const TimePoint now = Clock::now();
  hb_.on_activity(now);
  {
    std::lock_guard lock(mu_);
    bandwidth_.on_message(text.size(), now);
  }
  report_bandwidth(now);
  auto parsed = protocol::parse_server(text);
  if (!parsed) {
    report_error("read", make_error_code(parsed.error().code),
                 "unparseable frame from " + l->endpoint.url + ": " + parsed.error().message);
    if (!l->welcomed)
      on_link_lost(l, "the server's first frame was not a welcome", false);
    return;
  }
  if (!l->welcomed) {
    if (!std::holds_alternative<protocol::Welcome>(*parsed))
      return on_link_lost(l, "the server's first frame was not a welcome", false);
    return on_welcome(l, std::get<protocol::Welcome>(*parsed));
  }
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::Pong>) {
          auto token = client::pong_token(m);
          if (!token)
            return;
          const PongResult r = hb_.on_pong(*token, now);
          if (r.matched && !r.late) {
            {
              std::lock_guard lock(mu_);
              quality_.record_rtt(r.rtt_exact, now);
              link_quality_.record_rtt(r.rtt_exact, now);
              forecast_sample(r.rtt_exact);
              bandwidth_.on_rtt(std::chrono::duration_cast<Duration>(r.rtt_exact), now);
            }
            report_bandwidth(now);
            after_quality_sample(now);
          }
        } else if constexpr (std::is_same_v<T, protocol::Subscribed>) {
          const auto out = cursors_.on_subscribed(m);
          if (out.catch_up)
            send(protocol::to_json(cursors_.subscribe_for_send(m.channel)));
          if (out.known && out.recovered && opts_.on_recovered && callbacks_on())
            opts_.on_recovered(m.channel, *out.recovered);
        } else if constexpr (std::is_same_v<T, protocol::Ack>) {
          bool known = false;
          ++acks_;
          {
            std::lock_guard lock(mu_);
            known = queue_.ack(m.id);
          }
          if (known && opts_.on_ack && callbacks_on())
            opts_.on_ack(m.id, m.channel, m.seq);
        } else if constexpr (std::is_same_v<T, protocol::Message>) {
          deliver(std::move(m), std::move(text), false);
        } else if constexpr (std::is_same_v<T, protocol::Error>) {
          report_error("server", make_error_code(m.code), m.message);
        }
        // welcome (again) and unsubscribed need nothing.
      },
      *parsed);
}

void Client::Impl::report_bandwidth(TimePoint now) {
  std::optional<BandwidthEstimate> r;
  {
    std::lock_guard lock(mu_);
    r = bandwidth_.take_report(now);
  }
  if (r && opts_.on_bandwidth && callbacks_on())
    opts_.on_bandwidth(*r);
}

void Client::Impl::on_welcome(const std::shared_ptr<WsLink>& l, const protocol::Welcome& w) {
  const TimePoint now = Clock::now();
  connect_timer_.cancel();
  l->welcomed = true;
  if (w.session_id != session_id_)
    resume_token_.clear();  // a new session (not resumed): the old token is void
  session_id_ = w.session_id;
  if (!w.resume_token.empty())
    resume_token_ = w.resume_token;
  const bool was_fallback = fallback_active_;
  if (was_fallback)
    deactivate_fallback();
  probing_ = false;
  backoff_.reset();
  probe_backoff_.reset();
  hb_.reset(now);
  missed_seen_ = hb_.total_missed();
  critical_since_.reset();
  link_quality_.reset();
  {
    std::lock_guard lock(mu_);
    bandwidth_.reset();  // a new link, maybe another path: its own base RTT and rate
    if (ever_connected_) {
      quality_.record_reconnect(now);
      forecaster_.on_reconnect();
      forecast_reconnected_ = true;
    }
    quality_.record_connected(now);
    queue_.on_disconnect();  // anything in flight on the fallback is resent here (dedup)
  }
  ever_connected_ = true;
  transition(State::connected, was_fallback ? "websocket probe held; leaving the fallback"
                                            : "welcome from " + l->endpoint.url);
  if (link_ != l)
    return;  // a callback changed course (disconnect() or reconnect() are posted, but be safe)
  // Resume: every channel again, with since/epoch where a position is known (CONTRACT §2).
  for (const auto& c : cursors_.channels())
    send(protocol::to_json(cursors_.subscribe_for_send(c)));
  flush_queue();
  arm_heartbeat();
  arm_token_refresh();
}

void Client::Impl::ask_token() {
  try {
    token_ = opts_.token_provider();
  } catch (const std::exception& e) {
    report_error("token", make_error_code(errc::unauthorized),
                 std::string("token_provider threw; keeping the previous token: ") + e.what());
    return;
  }
  // The same client token for every server and for the HTTP fallback.
  for (auto& e : endpoints_)
    e.token = token_;
}

void Client::Impl::arm_token_refresh() {
  if (!opts_.token_provider)
    return;
  const auto exp = auth::peek_exp_ms(token_);
  if (!exp)
    return;  // not a JWT with exp: nothing expires
  const std::int64_t now = unix_ms_now();
  const std::int64_t left = *exp - now;
  const std::int64_t margin = std::min<std::int64_t>(opts_.token_refresh_margin.count(), left / 2);
  const std::int64_t wait = std::max<std::int64_t>(left - margin, 1000);
  if (wait >= left)
    return;  // too close to exp to refresh: the server closes (4003) and we reconnect
  auto l = link_;
  token_timer_.expires_after(Duration{wait});
  token_timer_.async_wait([this, l](error_code ec) {
    if (ec || l != link_ || !l->welcomed)
      return;
    ask_token();
    protocol::Refresh r;
    r.token = token_;
    send(protocol::to_json(r));  // answered by `refreshed`, or an `unauthorized` error
    arm_token_refresh();
  });
}

void Client::Impl::drop_link(bool graceful) {
  if (!link_)
    return;
  auto l = std::move(link_);
  link_.reset();
  l->resolver.cancel();
  if (graceful && l->welcomed && !l->closing) {
    l->closing = true;
    // Best effort: a close frame, then the socket goes when the handshake completes or fails.
    l->ws.async_close(websocket::close_code::normal, [l](error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(l->ws).socket().close(ignored);
    });
    // Bound the wait: a peer that never answers must not keep the socket open.
    auto t = std::make_shared<net::steady_timer>(ioc_, std::chrono::seconds(2));
    t->async_wait([l, t](error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(l->ws).socket().close(ignored);
    });
    return;
  }
  beast::error_code ignored;
  beast::get_lowest_layer(l->ws).socket().close(ignored);
}

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
      const std::int64_t token = std::max(unix_ms_now(), last_ping_token_ + 1);
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

// ---- the HTTP long-polling fallback --------------------------------------------------------

void Client::Impl::activate_fallback(const std::string& reason) {
  if (fallback_active_)
    return;
  fallback_active_ = true;
  fallback_mirror_.store(true);
  ++fallback_gen_;
  poll_schedule_.reset();
  probe_backoff_.reset();
  if (opts_.on_fallback_activated && callbacks_on())
    opts_.on_fallback_activated(true);
  (void)reason;  // carried by the state transition that preceded this call
  // The first poll goes out now: the switch must complete within 2 s of the decision.
  start_poll();
  http_publish_next();
  schedule_retry(std::nullopt);  // the first WebSocket probe
}

void Client::Impl::deactivate_fallback() {
  if (!fallback_active_)
    return;
  fallback_active_ = false;
  fallback_mirror_.store(false);
  ++fallback_gen_;
  poll_timer_.cancel();
  // An answer in flight is dropped unread: its messages were not delivered, so the cursors
  // did not move and the re-subscribe with since replays them. Nothing is lost.
  if (poll_call_)
    poll_call_->cancel();
  poll_call_.reset();
  poll_joining_ = false;
  if (publish_call_)
    publish_call_->cancel();
  publish_call_.reset();
  if (opts_.on_fallback_activated && callbacks_on())
    opts_.on_fallback_activated(false);
}

void Client::Impl::arm_poll(Duration delay) {
  poll_timer_.expires_after(delay);
  const auto gen = fallback_gen_;
  poll_timer_.async_wait([this, gen](error_code ec) {
    if (ec || gen != fallback_gen_)
      return;
    start_poll();
    http_publish_next();  // a failed publish is retried at the poll pace
  });
}

void Client::Impl::start_poll() {
  if (!fallback_active_ || poll_call_)
    return;
  if (cursors_.empty())
    return arm_poll(poll_schedule_.interval());
  auto asked = cursors_.poll_cursors();
  // A channel with no cursor yet joins with wait 0 and publishes wait for the answer, so our
  // own publish after a subscribe is not missed by a poll that reached the server later
  // (ClientEngine's invariant 5).
  poll_joining_ =
      std::any_of(asked.begin(), asked.end(), [](const client::PollCursor& p) { return !p.since; });
  poll_wait_ = poll_joining_ ? Duration{0} : opts_.long_poll_timeout;
  const auto gen = fallback_gen_;
  const TimePoint started = Clock::now();
  poll_call_ = std::make_shared<client::HttpCall>(
      ioc_, endpoint(), http::verb::get, client::poll_target(asked, poll_wait_), "",
      poll_wait_ + Duration{5000},
      [this, gen, asked, started](error_code ec, unsigned status, std::string body) mutable {
        if (gen != fallback_gen_)
          return;
        poll_call_.reset();
        const bool joined = std::exchange(poll_joining_, false);
        on_poll(std::move(asked), started, ec, status, std::move(body));
        if (joined)
          http_publish_next();
      },
      endpoint().tls ? tls_ctx_ : nullptr);
  poll_call_->start();
}

void Client::Impl::on_poll(std::vector<client::PollCursor> asked, TimePoint started, error_code ec,
                           unsigned status, std::string body) {
  const TimePoint now = Clock::now();
  if (ec || status != 200) {
    poll_schedule_.on_failure();
    report_error("poll", ec,
                 ec ? "poll " + endpoint().url + ": " + ec.message()
                    : "poll answered HTTP " + std::to_string(status) + ": " + body.substr(0, 200));
    if (endpoints_.size() > 1)
      url_index_ = (url_index_ + 1) % endpoints_.size();
    return arm_poll(poll_schedule_.interval());
  }
  auto answer = client::parse_poll_answer(body);
  if (!answer) {
    poll_schedule_.on_failure();
    report_error("poll", make_error_code(errc::bad_json), answer.error());
    return arm_poll(poll_schedule_.interval());
  }
  // A poll that came back empty waited server-side for the whole timeout: that is not
  // latency. One that came back with messages answered as soon as it could.
  const Duration elapsed = std::chrono::duration_cast<Duration>(now - started);
  poll_schedule_.on_success(answer->messages.empty() ? std::max(Duration{0}, elapsed - poll_wait_)
                                                     : Duration{0});
  std::vector<std::string> catching_up;
  for (const auto& a : asked) {
    std::optional<std::uint64_t> first;
    for (const auto& pm : answer->messages) {
      if (pm.message.channel == a.channel && (!first || pm.message.seq < *first))
        first = pm.message.seq;
    }
    auto cur = answer->cursors.find(a.channel);
    auto ep = answer->epochs.find(a.channel);
    auto rec = answer->recovered.find(a.channel);
    const auto out = cursors_.on_poll_channel(
        a.channel, cur == answer->cursors.end() ? std::nullopt : std::optional(cur->second),
        ep == answer->epochs.end() ? std::nullopt : std::optional(ep->second),
        rec == answer->recovered.end() ? std::nullopt : std::optional(rec->second), first,
        a.since.has_value());
    if (out.catch_up)
      catching_up.push_back(a.channel);
    if (out.known && out.recovered && opts_.on_recovered && callbacks_on())
      opts_.on_recovered(a.channel, *out.recovered);
  }
  std::erase_if(answer->messages, [&](const client::PolledMessage& pm) {
    return std::find(catching_up.begin(), catching_up.end(), pm.message.channel) !=
           catching_up.end();
  });
  // Deliver in seq order per channel even if the server listed channels interleaved.
  std::stable_sort(answer->messages.begin(), answer->messages.end(),
                   [](const auto& x, const auto& y) {
                     return std::tie(x.message.channel, x.message.seq) <
                            std::tie(y.message.channel, y.message.seq);
                   });
  for (auto& pm : answer->messages) {
    if (!fallback_active_)
      return;  // a callback disconnected us
    deliver(std::move(pm.message), std::move(pm.json), true);
  }
  for (const auto& [channel, cursor] : answer->cursors) {
    if (std::find(catching_up.begin(), catching_up.end(), channel) == catching_up.end())
      cursors_.on_poll_cursor(channel, cursor);
  }
  arm_poll(poll_schedule_.interval());
}

void Client::Impl::http_publish_next() {
  if (!fallback_active_ || publish_call_ || (poll_call_ && poll_joining_))
    return;
  std::string id;
  std::string payload;
  {
    std::lock_guard lock(mu_);
    const QueuedMessage* m = queue_.next_pending();
    if (m == nullptr)
      return;
    id = m->id;
    payload = m->payload;
    queue_.mark_sent(id, Clock::now());
  }
  const auto gen = fallback_gen_;
  publish_call_ = std::make_shared<client::HttpCall>(
      ioc_, endpoint(), http::verb::post, std::string(client::kPublishTarget), std::move(payload),
      opts_.connect_timeout,
      [this, gen, id](error_code ec, unsigned status, std::string body) {
        if (gen != fallback_gen_)
          return;
        publish_call_.reset();
        if (ec || status != 200) {
          // Back to pending (order kept); the next poll tick retries. The id makes it safe.
          {
            std::lock_guard lock(mu_);
            queue_.on_disconnect();
          }
          report_error("publish", ec,
                       ec ? "POST /api/publish: " + ec.message()
                          : "POST /api/publish answered HTTP " + std::to_string(status) + ": " +
                                body.substr(0, 200));
          return;
        }
        auto ack = client::parse_publish_answer(body);
        bool known = false;
        {
          std::lock_guard lock(mu_);
          known = queue_.ack(ack ? ack->id : id);
        }
        if (ack && known && opts_.on_ack && callbacks_on())
          opts_.on_ack(ack->id, ack->channel, ack->seq);
        http_publish_next();
      },
      endpoint().tls ? tls_ctx_ : nullptr);
  publish_call_->start();
}

// ---- shared helpers --------------------------------------------------------------------------

void Client::Impl::deliver(protocol::Message m, std::string json, bool via_fallback) {
  if (cursors_.on_message(m.channel, m.seq, m.id) != client::Verdict::deliver)
    return;
  if (!opts_.on_message || !callbacks_on())
    return;
  ReceivedMessage r;
  r.channel = std::move(m.channel);
  r.seq = m.seq;
  r.id = std::move(m.id);
  r.data = std::move(m.data);
  r.timestamp_ms = m.timestamp_ms;
  r.json = std::move(json);
  r.via_fallback = via_fallback;
  opts_.on_message(r);
}

void Client::Impl::transition(State to, std::string reason) {
  if (sm_.state() == to)
    return;
  auto r = sm_.transition(to, std::move(reason), Clock::now());
  if (!ok(r))
    std::fprintf(stderr, "warn client: illegal transition %s -> %s ignored (bug)\n",
                 std::string(to_string(sm_.state())).c_str(), std::string(to_string(to)).c_str());
}

void Client::Impl::report_error(std::string where, error_code ec, std::string message) {
  if (opts_.on_error && callbacks_on())
    opts_.on_error(ClientError{std::move(where), ec, std::move(message)});
}

// ---- Client ----------------------------------------------------------------------------------

namespace {
ClientOptions with_url(std::string url, ClientOptions o) {
  o.urls.insert(o.urls.begin(), std::move(url));
  return o;
}
}  // namespace

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::Client(std::string url, ClientOptions options)
    : impl_(std::make_unique<Impl>(with_url(std::move(url), std::move(options)))) {}
Client::~Client() = default;

void Client::connect() {
  impl_->connect();
}
void Client::disconnect() {
  impl_->disconnect();
}
void Client::reconnect() {
  impl_->reconnect();
}
PublishResult Client::publish(std::string channel, boost::json::value data,
                              std::optional<std::string> id) {
  return impl_->publish(std::move(channel), std::move(data), std::move(id));
}
void Client::subscribe(std::string channel) {
  impl_->subscribe(std::move(channel));
}
void Client::unsubscribe(std::string channel) {
  impl_->unsubscribe(std::move(channel));
}
bool Client::is_connected() const {
  return impl_->state() == State::connected;
}
bool Client::is_reconnecting() const {
  return impl_->state() == State::reconnecting;
}
State Client::connection_status() const {
  return impl_->state();
}
double Client::connection_reliability() const {
  return impl_->metrics().reliability;
}
Forecast Client::forecast() const {
  return impl_->forecast();
}
QualityMetrics Client::quality_metrics() const {
  return impl_->metrics();
}
Quality Client::quality() const {
  return impl_->quality();
}
bool Client::is_using_fallback() const {
  return impl_->using_fallback();
}
bool Client::has_given_up() const {
  return impl_->given_up();
}
std::vector<std::string> Client::recommendations() const {
  return impl_->recommendations();
}
BandwidthEstimate Client::bandwidth() const {
  return impl_->bandwidth();
}
std::size_t Client::queued() const {
  return impl_->queued();
}
std::string Client::current_url() const {
  return impl_->current_url();
}

}  // namespace steadyws
