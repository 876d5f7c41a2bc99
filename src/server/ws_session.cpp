#include "server/ws_session.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/error.hpp>

#include "protocol/codec.hpp"

namespace steadyws::server {

namespace {

std::int64_t now_ms() {
  return to_unix_ms(std::chrono::system_clock::now());
}

HeartbeatConfig heartbeat_config(const ServerConfig& c) {
  HeartbeatConfig h;
  h.interval = c.heartbeat_interval;
  h.timeout = c.heartbeat_timeout;
  h.max_missed = c.max_missed_heartbeats;
  return h;
}

RateLimitConfig rate_config(const ServerConfig& c) {
  RateLimitConfig r;
  r.rate_per_sec = c.rate_limit;  // 0 = off
  r.burst = c.rate_burst;
  return r;
}

// How long a close frame may take to leave before the socket is closed anyway.
constexpr Duration kTeardownDeadline{1000};
// How long a graceful close handshake may take (Beast's close timeout, and our backstop).
constexpr Duration kCloseHandshakeDeadline{3000};
// While a session handles its input on this thread: where deliver() collects the subscribers
// to wake (see "Wakes" in ws_session.hpp). Null elsewhere: deliver() posts at once.
thread_local std::vector<std::shared_ptr<WsSession>>* t_wakes = nullptr;

class CollectWakes {
 public:
  explicit CollectWakes(std::vector<std::shared_ptr<WsSession>>* to) : prev_(t_wakes) {
    t_wakes = to;
  }
  ~CollectWakes() { t_wakes = prev_; }
  CollectWakes(const CollectWakes&) = delete;
  CollectWakes& operator=(const CollectWakes&) = delete;

 private:
  std::vector<std::shared_ptr<WsSession>>* prev_;
};

// The read buffer's limit: Beast's read_message_max (1009) must trip first.
constexpr std::size_t kReadBufferSlack = 4096;

// Heartbeat timers fire on a grid of this many parts of the interval (at most 100 ms), so the
// timers of many connections expire together: one wakeup of the event loop serves all of
// them instead of one wakeup (and one timerfd update) per connection. A ping goes out at most
// one grid step late; the tracker's deadlines are unchanged (issue 3: 19,000 idle connections
// under 5 % of a core).
constexpr int kHeartbeatGridParts = 50;
constexpr Duration kMaxHeartbeatGrid{100};

TimePoint align_up(TimePoint t, Clock::duration grid) {
  const auto since = t.time_since_epoch();
  const auto steps = (since + grid - Clock::duration{1}) / grid;
  return TimePoint{steps * grid};
}

}  // namespace

WsSession::WsSession(tcp::socket&& socket, std::shared_ptr<ServerState> state, std::string remote)
    : state_(std::move(state)),
      ws_(std::move(socket)),
      buffer_(state_->config.max_message_bytes + kReadBufferSlack),
      timer_(ws_.get_executor()),
      tracker_(heartbeat_config(state_->config), Clock::now()),
      limiter_(rate_config(state_->config), Clock::now()),
      id_(state_->next_connection_id()),
      remote_(std::move(remote)) {}

WsSession::~WsSession() {
  state_->release_connection();
}

void WsSession::run(http::request<http::string_body> req, Target target) {
  ws_.next_layer().set_owner(weak_from_this());
  ws_.next_layer().set_on_written(&WsSession::on_written, this);
  ws_.next_layer().set_on_input_drained(&WsSession::on_input_drained, this);
  ws_.next_layer().set_coalescing(state_->config.write_coalescing);
  if (auto s = target.get("session"); s && !s->empty())
    requested_session_ = std::string(*s);

  websocket::stream_base::timeout t{};
  t.handshake_timeout = state_->config.handshake_timeout;
  t.idle_timeout = websocket::stream_base::none();  // our HeartbeatTracker owns liveness
  t.keep_alive_pings = false;
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "steadyws"); }));
  // Beast fails the read with message_too_big and closes with 1009 by itself.
  ws_.read_message_max(state_->config.max_message_bytes);
  ws_.auto_fragment(false);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
    on_control(kind, std::string_view(payload.data(), payload.size()));
  });
  ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) {
    state_->metrics.handshake_failed();
    state_->log.info("ws handshake failed remote=" + remote_ + " error=" + quoted(ec.message()));
    return;
  }
  accepted_ = true;
  opened_at_ = Clock::now();
  const auto wall = std::chrono::system_clock::now();
  {
    const std::lock_guard<std::mutex> g(health_mu_);
    health_.id = id_;
    health_.connected_at = wall;
    health_.last_heartbeat = wall;
  }
  tracker_.reset(opened_at_);
  state_->metrics.connection_opened();
  state_->connections.add(shared_from_this());

  auto a = state_->sessions.attach(requested_session_, weak_from_this(), opened_at_, wall);
  session_id_ = a.id;
  generation_ = a.generation;
  if (auto prev = a.previous.lock(); prev && prev.get() != this)
    prev->drop("session " + a.id + " resumed on " + id_);

  protocol::Welcome w;
  w.session_id = session_id_;
  w.resumed = a.resumed;
  w.heartbeat_interval_ms = state_->config.heartbeat_interval.count();
  w.heartbeat_timeout_ms = state_->config.heartbeat_timeout.count();
  w.server_time_ms = now_ms();
  send_frame(protocol::to_json(w));

  // The session's channels, live again; the client re-subscribes with `since` to recover
  // what it missed in between.
  for (const auto& ch : a.subscriptions) {
    state_->hub->subscribe(ch, std::static_pointer_cast<hub::Subscriber>(shared_from_this()),
                           std::nullopt, std::nullopt);
    subscriptions_.insert(ch);
  }

  state_->log.info("ws open id=" + id_ + " session=" + session_id_ + " remote=" + remote_ +
                   (a.resumed ? " resumed=true" : ""));
  ws_.next_layer().flush();
  arm_heartbeat();
  do_read();
}

void WsSession::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec)
    return finish(ec);
  const auto now = Clock::now();
  received_.fetch_add(1, std::memory_order_relaxed);
  state_->metrics.message_in(bytes);
  tracker_.on_activity(now);
  // Frames the hub delivered before this message was read go out before its answer, so an
  // app-level pong is a barrier for everything published before the ping.
  drain_inbox();

  if (!closing_) {
    if (!ws_.got_text()) {
      // CONTRACT §2: every message is a text frame; binary closes with 1003.
      close_gracefully(CloseCode::unsupported_data,
                       "binary frames are not accepted; send JSON text frames");
    } else {
      switch (limiter_.on_message(now)) {
        case RateDecision::allow: {
          const auto data = buffer_.cdata();
          const CollectWakes collect(&wakes_);
          handle_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
          break;
        }
        case RateDecision::reject:
          state_->metrics.rate_limited();
          send_error(errc::rate_limited,
                     "over the per-connection rate limit; slow down and retry later");
          break;
        case RateDecision::close:
          state_->metrics.rate_limited();
          failed_ = true;
          close_gracefully(CloseCode::policy_violation,
                           "sustained rate abuse; reconnect and send fewer messages per second");
          break;
      }
    }
  }
  buffer_.release();  // frees a large message's block: an idle connection keeps none
  // Keep reading while closing: Beast's close handshake completes through the read.
  do_read();
}

void WsSession::handle_text(std::string_view text) {
  protocol::Limits limits;
  limits.max_message_bytes = state_->config.max_message_bytes;
  auto parsed = protocol::parse_client(text, limits);
  if (!parsed) {
    send_error(parsed.error().code, parsed.error().message);
    return;
  }
  std::visit([this](auto& m) { handle(m); }, *parsed);
}

void WsSession::handle(protocol::Ping& m) {
  // CONTRACT §2: answered at once; T echoed unchanged, whatever JSON number it is.
  protocol::Pong p;
  p.timestamp = std::move(m.timestamp);
  p.server_time_ms = now_ms();
  send_frame(protocol::to_json(p));
}

void WsSession::handle(protocol::Subscribe& m) {
  std::optional<std::string_view> epoch;
  if (m.epoch)
    epoch = *m.epoch;
  auto r = state_->hub->subscribe(
      m.channel, std::static_pointer_cast<hub::Subscriber>(shared_from_this()), m.since, epoch);
  if (subscriptions_.insert(m.channel).second)
    state_->sessions.subscribed(session_id_, m.channel);
  protocol::Subscribed s;
  s.channel = m.channel;
  s.seq = r.last_seq;
  s.epoch = std::move(r.epoch);
  s.recovered = r.recovered;
  send_frame(protocol::to_json(s));
  for (const auto& f : r.replay)
    queue_data(f);
}

void WsSession::handle(protocol::Unsubscribe& m) {
  state_->hub->unsubscribe(m.channel, this);
  if (auto it = subscriptions_.find(m.channel); it != subscriptions_.end()) {
    subscriptions_.erase(it);
    state_->sessions.unsubscribed(session_id_, m.channel);
  }
  protocol::Unsubscribed u;
  u.channel = std::move(m.channel);
  send_frame(protocol::to_json(u));
}

void WsSession::handle(protocol::Publish& m) {
  std::optional<std::string_view> id;
  if (m.id)
    id = *m.id;
  auto r = state_->hub->publish(m.channel, id, m.data, now_ms());
  protocol::Ack a;
  a.id = std::move(r.id);
  a.channel = std::move(m.channel);
  a.seq = r.seq;
  send_frame(protocol::to_json(a));
}

void WsSession::send_error(errc code, std::string_view message) {
  state_->metrics.error();
  protocol::Error e;
  e.code = code;
  e.message = std::string(message);
  send_frame(protocol::to_json(e));
}

void WsSession::send_frame(std::string&& json) {
  queue_data(std::make_shared<const std::string>(std::move(json)));
}

void WsSession::queue_data(const hub::Frame& frame) {
  if (closing_)
    return;
  const std::size_t queued = ws_.next_layer().send_data(frame);
  if (queued > state_->config.send_queue_bytes) {
    // CONTRACT §2: a slow consumer is closed with 4001; the publisher never waits.
    state_->metrics.send_queue_drop();
    teardown(static_cast<std::uint16_t>(CloseCode::slow_consumer),
             "send queue over " + std::to_string(state_->config.send_queue_bytes) +
                 " bytes; read faster or subscribe to less",
             true);
  }
}

void WsSession::deliver(std::string_view, std::uint64_t, const hub::Frame& frame) {
  {
    const std::lock_guard<std::mutex> g(inbox_mu_);
    inbox_.push_back(frame);
    if (inbox_scheduled_)
      return;
    inbox_scheduled_ = true;
  }
  if (t_wakes != nullptr)
    t_wakes->push_back(shared_from_this());  // posted by wake_subscribers()
  else
    post_drain();
}

void WsSession::post_drain() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->drain_inbox();
    self->ws_.next_layer().flush();
  });
}

void WsSession::on_input_drained(void* self) {
  static_cast<WsSession*>(self)->wake_subscribers();
}

void WsSession::wake_subscribers() {
  for (auto& s : wakes_) {
    auto ex = s->ws_.get_executor();  // before the move below
    net::post(ex, [self = std::move(s)] {
      self->drain_inbox();
      self->ws_.next_layer().flush();
    });
  }
  wakes_.clear();
  if (wakes_.capacity() > 4096)
    std::vector<std::shared_ptr<WsSession>>().swap(wakes_);
}

void WsSession::drain_inbox() {
  {
    const std::lock_guard<std::mutex> g(inbox_mu_);
    draining_.swap(inbox_);
    inbox_scheduled_ = false;
  }
  for (const auto& f : draining_)
    queue_data(f);
  draining_.clear();
  // Keep a burst's capacity for the next one, but not a huge one on an idle connection.
  if (draining_.capacity() > 256)
    std::vector<hub::Frame>().swap(draining_);
}

void WsSession::on_written(void* ctx, std::size_t frames, std::size_t bytes) {
  auto* self = static_cast<WsSession*>(ctx);
  if (frames == 0 && bytes == 0)
    return;
  self->sent_.fetch_add(frames, std::memory_order_relaxed);
  self->state_->metrics.messages_out(frames, bytes);
}

// ---- heartbeats ----------------------------------------------------------------------------

void WsSession::arm_heartbeat() {
  if (closing_)
    return;
  const Clock::duration grid = std::clamp<Duration>(
      state_->config.heartbeat_interval / kHeartbeatGridParts, Duration{1}, kMaxHeartbeatGrid);
  timer_.expires_at(align_up(tracker_.next_deadline(), grid));
  // std::allocator, not Asio's per-thread recycling cache: the cache hands this small wait op
  // whatever larger block a completed op left (~600 B seen), held for the whole interval by
  // every idle connection; an exact allocation is ~200 B.
  timer_.async_wait(
      net::bind_allocator(std::allocator<void>(),
                          beast::bind_front_handler(&WsSession::on_heartbeat, shared_from_this())));
}

void WsSession::on_heartbeat(beast::error_code ec) {
  if (ec == net::error::operation_aborted || closing_)
    return;
  const auto now = Clock::now();
  const auto missed_before = tracker_.total_missed();
  const auto action = tracker_.poll(now);
  for (auto i = missed_before; i < tracker_.total_missed(); ++i)
    state_->metrics.heartbeat_missed();
  {
    const std::lock_guard<std::mutex> g(health_mu_);
    health_.missed_heartbeats = tracker_.missed();
  }
  switch (action) {
    case HeartbeatAction::none:
      break;
    case HeartbeatAction::send_ping:
    case HeartbeatAction::verify_ping: {
      // Our own ping frame on the control lane: it never waits behind queued data.
      const std::string token = std::to_string(++ping_token_);
      std::array<std::uint8_t, 10> h{};
      const std::size_t n = encode_frame_header(9, token.size(), h);
      std::string frame(reinterpret_cast<const char*>(h.data()), n);
      frame += token;
      tracker_.on_ping_sent(ping_token_, now);
      ws_.next_layer().send_control(std::move(frame));
      ws_.next_layer().flush();
      break;
    }
    case HeartbeatAction::close_dead: {
      state_->metrics.heartbeat_timeout();
      alive_.store(false, std::memory_order_relaxed);
      const auto& c = state_->config;
      teardown(static_cast<std::uint16_t>(CloseCode::heartbeat_timeout),
               std::to_string(tracker_.missed()) + " heartbeats missed (interval " +
                   std::to_string(c.heartbeat_interval.count()) + " ms)",
               true);
      return;
    }
  }
  arm_heartbeat();
}

void WsSession::on_control(websocket::frame_type kind, std::string_view payload) {
  const auto now = Clock::now();
  if (kind == websocket::frame_type::pong) {
    std::int64_t token = 0;
    auto [p, err] = std::from_chars(payload.data(), payload.data() + payload.size(), token);
    const auto r = err == std::errc() && p == payload.data() + payload.size()
                       ? tracker_.on_pong(token, now)
                       : PongResult{false, false, Duration{0}};
    if (!r.matched)
      tracker_.on_activity(now);
    const std::lock_guard<std::mutex> g(health_mu_);
    health_.last_heartbeat = std::chrono::system_clock::now();
    health_.missed_heartbeats = tracker_.missed();
    if (r.matched && !r.late) {
      const double ms = to_ms(r.rtt_exact);
      health_.record_latency(ms);
      state_->metrics.latency(ms);
    }
  } else {
    tracker_.on_activity(now);  // a ping or close from the peer is activity too
    if (kind == websocket::frame_type::ping) {
      const std::lock_guard<std::mutex> g(health_mu_);
      health_.last_heartbeat = std::chrono::system_clock::now();
      health_.missed_heartbeats = tracker_.missed();
    }
  }
}

// ---- closing -------------------------------------------------------------------------------

void WsSession::close_gracefully(CloseCode code, std::string reason) {
  if (closing_)
    return;
  closing_ = true;
  close_code_ = static_cast<std::uint16_t>(code);
  close_reason_ = reason;
  timer_.cancel();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = kCloseHandshakeDeadline;
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_.set_option(t);
  websocket::close_reason cr;
  cr.code = static_cast<std::uint16_t>(code);
  cr.reason.assign(reason.data(), std::min<std::size_t>(reason.size(), 123));
  ws_.async_close(cr, [self = shared_from_this()](beast::error_code) {
    // The pending read completes too (closed, or an error); finish() runs from there. If it
    // does not (a stuck peer), the deadline below tears the socket down.
  });
  timer_.expires_after(kCloseHandshakeDeadline + Duration{500});
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->shutdown_socket();
  });
}

void WsSession::teardown(std::uint16_t code, std::string reason, bool failed) {
  if (closing_)
    return;
  closing_ = true;
  failed_ = failed_ || failed;
  close_code_ = code;
  close_reason_ = reason;
  timer_.cancel();
  ws_.next_layer().send_close_now(
      code, reason, [self = shared_from_this()](beast::error_code) { self->shutdown_socket(); });
  timer_.expires_after(kTeardownDeadline);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->shutdown_socket();
  });
}

void WsSession::shutdown_socket() {
  beast::error_code ignored;
  auto& s = ws_.next_layer().next_layer();
  if (!s.is_open())
    return;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

void WsSession::close_for_drain(std::int64_t retry_after_ms) {
  net::dispatch(ws_.get_executor(), [self = shared_from_this(), retry_after_ms] {
    if (!self->accepted_) {
      self->shutdown_socket();
      return;
    }
    self->close_gracefully(CloseCode::going_away,
                           "{\"retryAfterMs\":" + std::to_string(retry_after_ms) + "}");
  });
}

void WsSession::drop(std::string why) {
  net::post(ws_.get_executor(), [self = shared_from_this(), why = std::move(why)] {
    if (self->closing_ || !self->accepted_)
      return;
    self->state_->log.info("ws id=" + self->id_ + " dropped reason=" + quoted(why));
    self->closing_ = true;
    self->close_code_ = 1006;
    self->close_reason_ = why;
    self->timer_.cancel();
    self->shutdown_socket();
  });
}

void WsSession::sweep(Duration silence) {
  net::post(ws_.get_executor(), [self = shared_from_this(), silence] {
    if (self->finished_)
      return;
    const auto now = Clock::now();
    if (self->tracker_.is_dead() || now - self->tracker_.last_activity() > silence) {
      self->alive_.store(false, std::memory_order_relaxed);
      self->failed_ = true;
      self->closing_ = true;
      self->close_code_ = static_cast<std::uint16_t>(CloseCode::heartbeat_timeout);
      self->close_reason_ = "removed by the cleanup sweep";
      self->timer_.cancel();
      self->shutdown_socket();
    }
  });
}

void WsSession::finish(beast::error_code ec) {
  wake_subscribers();  // publishes this session handled reach their subscribers regardless
  if (finished_)
    return;
  finished_ = true;
  closing_ = true;
  alive_.store(false, std::memory_order_relaxed);
  timer_.cancel();
  if (!accepted_)
    return;

  for (const auto& ch : subscriptions_)
    state_->hub->unsubscribe(ch, this);
  const auto now = Clock::now();
  state_->sessions.detach(session_id_, generation_, now, std::chrono::system_clock::now());
  state_->connections.remove(this);

  // Who closed, and why, for the log line and the failed count.
  std::uint16_t code = close_code_;
  std::string reason = close_reason_;
  if (code == 0) {
    if (ec == websocket::error::closed) {
      code = ws_.reason().code;
      reason = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
    } else if (ec == websocket::error::message_too_big) {
      code = static_cast<std::uint16_t>(CloseCode::message_too_big);
      reason = "message over --max-message-bytes";
      failed_ = true;
    } else if (ec == websocket::error::bad_frame_payload) {
      code = static_cast<std::uint16_t>(CloseCode::invalid_payload);
      reason = "invalid UTF-8 in a text frame";
      failed_ = true;
    } else {
      code = 1006;
      reason = ec.message();
      failed_ = failed_ || ec != net::error::eof;
    }
  }
  state_->metrics.connection_closed(std::chrono::duration_cast<Duration>(now - opened_at_),
                                    failed_);
  const bool warn = code == 4000 || code == 4001 || code == 1008 || code == 1011;
  state_->log.write(warn ? LogLevel::warn : LogLevel::info,
                    "ws id=" + id_ + " closed code=" + std::to_string(code) +
                        " reason=" + quoted(reason) + " session=" + session_id_);
  // Drop what is left; the socket may still be open (Beast tears it down after its close).
  const std::lock_guard<std::mutex> g(inbox_mu_);
  std::vector<hub::Frame>().swap(inbox_);
}

ConnectionHealth WsSession::health() const {
  ConnectionHealth h;
  {
    const std::lock_guard<std::mutex> g(health_mu_);
    h = health_;
  }
  h.messages_sent = sent_.load(std::memory_order_relaxed);
  h.messages_received = received_.load(std::memory_order_relaxed);
  h.is_alive = alive_.load(std::memory_order_relaxed);
  return h;
}

}  // namespace steadyws::server
