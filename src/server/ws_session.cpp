#include "server/ws_session.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "protocol/codec.hpp"
#include "server/hub_call.hpp"
#include "server/jwt_authenticator.hpp"
#include "server/subprotocol.hpp"

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

constexpr std::string_view kChannelLimitMessage =
    "the server holds --max-channels channels; use an existing channel or retry once idle ones "
    "expire (--channel-ttl)";

// How long a close frame may take to leave before the socket is closed anyway.
constexpr Duration kTeardownDeadline{1000};
// How long a graceful close handshake may take before the socket is closed anyway.
constexpr Duration kCloseHandshakeDeadline{3000};
// While a session handles a read batch on this thread: where deliver() collects the
// subscribers to wake (see "Wakes" in ws_session.hpp). Null elsewhere: deliver() posts at once.
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

// Every read lands in this per-thread buffer first; only an unfinished frame's bytes are
// copied to the session (`pending_`), so an idle connection holds no read buffer at all.
constexpr std::size_t kScratchBytes = 64 * 1024;
char* scratch() {
  thread_local const std::unique_ptr<char[]> buf(new char[kScratchBytes]);
  return buf.get();
}
// The smallest growth of `pending_` per read, and the capacity it may keep beyond twice its
// contents before it is shrunk.
constexpr std::size_t kPendingStep = 4096;

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

WsSession::WsSession(WsStream&& stream, std::shared_ptr<ServerState> state, std::string remote)
    : state_(std::move(state)),
      out_(std::move(stream)),
      reader_(state_->config.max_message_bytes),
      timer_(out_.socket().get_executor()),
      tracker_(heartbeat_config(state_->config), Clock::now()),
      limiter_(rate_config(state_->config), Clock::now()),
      id_(state_->next_connection_id()),
      remote_(std::move(remote)) {}

WsSession::~WsSession() {
  state_->release_connection();
}

void WsSession::run(http::request<http::string_body> req, Target target, std::string early,
                    Credential credential) {
  out_.set_owner(weak_from_this(), this);
  out_.set_coalescing(state_->config.write_coalescing);
  early_ = std::move(early);
  credential_ = std::move(credential);
  claims_ = claims_of(credential_);  // JWT servers: the verified claims (jwt_authenticator.hpp)
  if (auto s = target.get("session"); s && !s->empty())
    requested_session_ = std::string(*s);
  if (auto r = target.get("resume"); r && !r->empty())
    resume_token_ = std::string(*r);

  // Beast checks the upgrade request and writes the 101 (or the 400/426 that refuses it).
  handshake_ = std::make_unique<websocket::stream<WsStream&>>(out_.stream());
  websocket::stream_base::timeout t{};
  t.handshake_timeout = state_->config.handshake_timeout;
  t.idle_timeout = websocket::stream_base::none();  // our HeartbeatTracker owns liveness
  t.keep_alive_pings = false;
  handshake_->set_option(t);
  // CONTRACT §7: permessage-deflate is ours to negotiate (Beast's own is off; our reader and
  // writer run after the upgrade). An offer we cannot honour is declined: no header.
  std::string extensions;
  if (state_->config.compression) {
    std::string offers;
    const auto range = req.equal_range(http::field::sec_websocket_extensions);
    for (auto it = range.first; it != range.second; ++it) {
      if (!offers.empty())
        offers += ", ";
      offers.append(it->value().data(), it->value().size());
    }
    const protocol::DeflatePolicy policy{true, state_->config.compression_context_takeover};
    if (auto a = protocol::negotiate_deflate(offers, policy)) {
      deflate_ = a->params;
      reader_.enable_deflate(a->params.client_no_context_takeover);
      extensions = std::move(a->response);
    }
  }
  // CONTRACT §10: the 101 selects steadyws.v1 when the client offered it (HttpSession
  // already refused offers of versions we do not speak).
  subprotocol_ = request_subprotocol(req).name;
  handshake_->set_option(websocket::stream_base::decorator(
      [ext = std::move(extensions), sp = subprotocol_](websocket::response_type& res) {
        res.set(http::field::server, "steadyws");
        if (!sp.empty())
          res.set(http::field::sec_websocket_protocol, sp);
        if (!ext.empty())
          res.set(http::field::sec_websocket_extensions, ext);
      }));
  handshake_->async_accept(req,
                           beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  // Beast's stream is done; it goes once this handler has returned (it is still on the stack).
  net::post(out_.socket().get_executor(),
            [self = shared_from_this()] { self->handshake_.reset(); });
  if (ec) {
    state_->metrics.handshake_failed();
    state_->log.info("ws handshake failed remote=" + remote_ + " error=" + quoted(ec.message()));
    return;
  }
  accepted_ = true;
  opened_at_ = Clock::now();
  turn_now_ = opened_at_;
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
  beast::error_code ignored;
  out_.socket().non_blocking(true, ignored);  // reads below never block the thread
  out_.socket().set_option(tcp::no_delay(true), ignored);

  // CONTRACT §5: a session this node holds no connection of may live in Redis, newer (its
  // node died, or the balancer sent the client elsewhere and back). Nothing is read from the
  // peer until it is settled.
  if (state_->cluster && requested_session_ && resume_token_ &&
      !state_->sessions.connected(*requested_session_)) {
    state_->cluster->load_session(
        *requested_session_,
        [self = shared_from_this()](std::optional<hub::redis::StoredSession> s) {
          net::post(self->out_.socket().get_executor(), [self, s = std::move(s)] {
            const bool newer = s && (s->node != self->state_->cluster->node_id() ||
                                     !self->state_->sessions.contains(*self->requested_session_));
            if (newer && s->token_sha256 == sha256_hex(*self->resume_token_)) {
              self->state_->sessions.import(*self->requested_session_, *self->resume_token_,
                                            s->subscriptions, Clock::now(),
                                            std::chrono::system_clock::now());
              if (s->node != self->state_->cluster->node_id())
                self->taken_from_ = s->node;
            }
            self->open_session();
          });
        });
    return;
  }
  open_session();
}

void WsSession::open_session() {
  const auto wall = std::chrono::system_clock::now();
  std::optional<std::string_view> resume;
  if (resume_token_)
    resume = *resume_token_;
  auto a = state_->sessions.attach(requested_session_, resume, weak_from_this(), opened_at_, wall);
  resume_token_.reset();
  session_id_ = a.id;
  generation_ = a.generation;
  if (claims_ && !claims_->sub.empty())
    state_->sessions.set_user(session_id_, claims_->sub);
  if (auto prev = a.previous.lock(); prev && prev.get() != this)
    prev->drop("session " + a.id + " resumed on " + id_);

  protocol::Welcome w;
  w.session_id = session_id_;
  w.resumed = a.resumed;
  w.resume_token = std::move(a.resume_token);
  w.heartbeat_interval_ms = state_->config.heartbeat_interval.count();
  w.heartbeat_timeout_ms = state_->config.heartbeat_timeout.count();
  w.server_time_ms = to_unix_ms(wall);
  send_frame(protocol::to_json(w));

  // The session's channels, live again; the client re-subscribes with `since` to recover
  // what it missed in between.
  for (const auto& ch : a.subscriptions) {
    if (claims_ && !claims_->may_subscribe(ch)) {
      // CONTRACT §8: this connection's token does not allow it; the session forgets it.
      state_->sessions.unsubscribed(session_id_, ch);
      continue;
    }
    state_->hub->async_subscribe(ch, std::static_pointer_cast<hub::Subscriber>(shared_from_this()),
                                 std::nullopt, std::nullopt, {});
    subscriptions_.insert(ch);
  }
  if (state_->cluster) {  // this node holds the session now (CONTRACT §5)
    state_->cluster->save_session(session_id_, a.token_sha256,
                                  {subscriptions_.begin(), subscriptions_.end()},
                                  stored_session_ttl(state_->config), true);
    // The node that held it may still have a connection of it (a link that died silently,
    // or a balancer that moved the client): after the write above, that node closes it.
    if (a.resumed && !taken_from_.empty())
      state_->cluster->announce_takeover(session_id_, taken_from_);
    std::string().swap(taken_from_);
  }

  // The session id is no secret (it resumes nothing without the token); the token is never
  // logged.
  state_->log.info("ws open id=" + id_ + " session=" + session_id_ + " remote=" + remote_ +
                   (a.resumed ? " resumed=true" : "") +
                   (a.refused ? " resume_refused=" + quoted(*requested_session_) : "") +
                   (subprotocol_.empty() ? "" : " protocol=" + subprotocol_));
  if (!early_.empty()) {  // frames sent before the 101 arrived
    const CollectWakes collect(&wakes_);
    const std::size_t used = consume(early_.data(), early_.size());
    keep_pending(early_.data() + used, early_.size() - used);
    std::string().swap(early_);
  }
  end_turn();
  arm_heartbeat();
  arm_token_timer();
  do_wait();
}

// ---- reading -------------------------------------------------------------------------------

void WsSession::do_wait() {
  // std::allocator, not Asio's per-thread recycling cache (see arm_heartbeat): an idle
  // connection's only pending read is this small wait op.
  out_.socket().async_wait(
      tcp::socket::wait_read,
      net::bind_allocator(std::allocator<void>(),
                          beast::bind_front_handler(&WsSession::on_readable, shared_from_this())));
}

void WsSession::on_readable(beast::error_code ec) {
  if (ec)
    return finish(ec);
  const bool fresh = pending_.size() == 0;
  char* buf = nullptr;
  std::size_t have = 0;
  if (fresh) {
    buf = scratch();
    have = out_.stream().read_some(net::buffer(buf, kScratchBytes), ec);
  } else {
    // The rest of a frame begun in an earlier read goes behind it. The buffer grows with what
    // has arrived (flat_buffer doubles, without zero-filling), not to the size the header
    // announced: a peer that announces 1 MiB and trickles it in costs at most about twice
    // what it has sent. A frame whose rest is small still gets a whole step, so the frames
    // behind it come in the same read.
    std::size_t step = std::max(kPendingStep, pending_.size());
    if (needed_ > pending_.size())
      step = std::min(step, std::max(needed_ - pending_.size(), kPendingStep));
    const std::size_t n = out_.stream().read_some(pending_.prepare(step), ec);
    pending_.commit(n);
    buf = static_cast<char*>(pending_.data().data());
    have = pending_.size();
  }
  if (ec == net::error::would_block || ec == net::error::try_again)
    return do_wait();  // readable, then not: wait again
  if (ec)
    return finish(ec);

  std::size_t used = 0;
  {
    const CollectWakes collect(&wakes_);
    turn_now_ = Clock::now();
    turn_wall_ms_ = -1;
    used = consume(buf, have);
  }
  if (fresh) {
    keep_pending(buf + used, have - used);
  } else {
    pending_.consume(used);
    if (pending_.size() == 0 || pending_.capacity() > 2 * std::max(pending_.size(), kPendingStep))
      pending_.shrink_to_fit();  // idle: no block; a small tail: no large block behind it
  }
  end_turn();
  if (out_.stream().has_buffered_input()) {
    // TLS: OpenSSL may hold more records that arrived with this read; the socket will not
    // say so again. Read them first (on a fresh turn, so a flooding peer cannot starve the
    // strand); a read that finds only part of a record gets would_block and waits above.
    net::post(out_.socket().get_executor(),
              beast::bind_front_handler(&WsSession::on_readable, shared_from_this(),
                                        beast::error_code{}));
    return;
  }
  do_wait();
}

void WsSession::keep_pending(const char* data, std::size_t size) {
  if (size == 0)
    return;
  const auto mb = pending_.prepare(size);
  std::memcpy(mb.data(), data, size);
  pending_.commit(size);
}

std::size_t WsSession::consume(char* data, std::size_t size) {
  std::size_t off = 0;
  while (!close_.discards_input()) {
    const auto ev = reader_.next(std::span<char>(data + off, size - off));
    off += ev.consumed;
    if (ev.kind == protocol::WsEventKind::need_more) {
      needed_ = ev.needed;
      return off;
    }
    // A whole frame is a sign of life; bytes of an unfinished one are not (a peer stuck in
    // the middle of a frame cannot answer pings, and must not look alive by trickling).
    tracker_.on_activity(turn_now_);
    switch (ev.kind) {
      case protocol::WsEventKind::need_more:
      case protocol::WsEventKind::progress:
        break;
      case protocol::WsEventKind::text:
      case protocol::WsEventKind::binary:
        on_message(ev.payload, ev.kind == protocol::WsEventKind::text);
        break;
      case protocol::WsEventKind::ping:
        on_peer_ping(ev.payload);
        break;
      case protocol::WsEventKind::pong:
        on_peer_pong(ev.payload);
        break;
      case protocol::WsEventKind::close:
        on_peer_close(ev.close_code, ev.payload);
        break;
      case protocol::WsEventKind::error:
        on_frame_error(ev.close_code, ev.reason);
        break;
    }
  }
  needed_ = 0;
  return size;  // closing: whatever else the peer sent is dropped
}

void WsSession::end_turn() {
  wake_subscribers();
  out_.flush();
}

void WsSession::on_message(std::string_view payload, bool text) {
  received_.fetch_add(1, std::memory_order_relaxed);
  state_->metrics.message_in(payload.size());
  // Frames the hub delivered before this message was read go out before its answer, so an
  // app-level pong is a barrier for everything published before the ping.
  drain_inbox();
  if (close_.is_closing())
    return;  // our close is on its way: data from the peer is dropped
  if (!text) {
    // CONTRACT §2: every message is a text frame; binary closes with 1003.
    close_gracefully(wire_code(CloseCode::unsupported_data),
                     "binary frames are not accepted; send JSON text frames", false);
    return;
  }
  switch (limiter_.on_message(turn_now_)) {
    case RateDecision::allow:
      handle_text(payload);
      break;
    case RateDecision::reject:
      state_->metrics.rate_limited();
      send_error(errc::rate_limited,
                 "over the per-connection rate limit; slow down and retry later");
      break;
    case RateDecision::close:
      state_->metrics.rate_limited();
      close_gracefully(wire_code(CloseCode::policy_violation),
                       "sustained rate abuse; reconnect and send fewer messages per second", true);
      break;
  }
}

void WsSession::on_peer_ping(std::string_view payload) {
  out_.send_pong(payload);  // RFC 6455 §5.5.2, on the control lane
  const std::lock_guard<std::mutex> g(health_mu_);
  health_.last_heartbeat = std::chrono::system_clock::now();
  health_.missed_heartbeats = tracker_.missed();
}

void WsSession::on_peer_pong(std::string_view payload) {
  if (!payload.empty() && payload.front() == 'b') {  // a bandwidth probe's pong
    std::uint64_t probe = 0;
    auto [p, err] = std::from_chars(payload.data() + 1, payload.data() + payload.size(), probe);
    if (err == std::errc() && p == payload.data() + payload.size()) {
      bandwidth_.on_probe_answered(probe, turn_now_);
      publish_bandwidth(turn_now_);
    }
  }
  std::int64_t token = 0;
  auto [p, err] = std::from_chars(payload.data(), payload.data() + payload.size(), token);
  const auto r = err == std::errc() && p == payload.data() + payload.size()
                     ? tracker_.on_pong(token, turn_now_)
                     : PongResult{false, false, Duration{0}};
  const std::lock_guard<std::mutex> g(health_mu_);
  health_.last_heartbeat = std::chrono::system_clock::now();
  health_.missed_heartbeats = tracker_.missed();
  if (r.matched && !r.late) {
    bandwidth_.on_rtt(std::chrono::duration_cast<Duration>(r.rtt_exact));
    const double ms = to_ms(r.rtt_exact);
    health_.record_latency(ms);
    state_->metrics.latency(ms);
  }
}

void WsSession::on_peer_close(std::uint16_t code, std::string_view reason) {
  // Nothing may follow a close frame: from here on the input is dropped (discards_input).
  switch (close_.on_peer_close()) {
    case CloseHandshake::Step::echo_close:
      // The peer closes: echo its code (RFC 6455 §5.5.1), then close TCP once that is written.
      close_code_ = code;
      close_reason_ = std::string(reason);
      timer_.cancel();
      out_.send_close(code == protocol::kCloseNoStatus ? 0 : code, {});
      arm_close_deadline(kTeardownDeadline);
      break;
    case CloseHandshake::Step::close_socket:
      shutdown_socket();  // our close was answered: the handshake is complete
      break;
    default:
      break;  // ours is still queued: the socket closes once it is written
  }
}

void WsSession::on_frame_error(std::uint16_t code, std::string_view reason) {
  // The frame reader failed: nothing after this point can be parsed, so the close frame
  // goes out and the rest of the input is drained until the peer closes (or the deadline).
  std::string why;
  if (code == wire_code(CloseCode::message_too_big))
    why = "message over --max-message-bytes";
  else if (code == wire_code(CloseCode::invalid_payload))
    why = "invalid UTF-8 in a text frame";
  else
    why = "protocol error: " + std::string(reason);
  switch (close_.on_frame_error()) {
    case CloseHandshake::Step::send_close:
      send_our_close(code, std::move(why), true, kCloseHandshakeDeadline);
      break;
    case CloseHandshake::Step::shutdown_send:
      // Our close went out before this (a drain, say): without a parsable close from the
      // peer, end our side now and drain to its EOF (see on_close_written).
      shutdown_send();
      break;
    default:
      break;  // ours is still queued: on_close_written does the rest
  }
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

std::int64_t WsSession::wall_ms() {
  if (turn_wall_ms_ < 0)
    turn_wall_ms_ = now_ms();
  return turn_wall_ms_;
}

void WsSession::handle(protocol::Ping& m) {
  // CONTRACT §2: answered at once; T echoed unchanged, whatever JSON number it is.
  protocol::Pong p;
  p.timestamp = std::move(m.timestamp);
  p.server_time_ms = wall_ms();
  send_frame(protocol::to_json(p));
}

void WsSession::handle(protocol::Subscribe& m) {
  if (claims_ && !claims_->may_subscribe(m.channel)) {
    // CONTRACT §8; the channel name is a valid one (the codec checked it), safe to echo.
    send_error(errc::forbidden,
               "the token's channels claim does not allow subscribing to '" + m.channel + "'");
    return;
  }
  const std::size_t max_subs = state_->config.max_subscriptions;
  if (max_subs != 0 && subscriptions_.size() >= max_subs && !subscriptions_.contains(m.channel))
    return send_error(errc::limit, "at most " + std::to_string(max_subs) +
                                       " subscriptions per connection (--max-subscriptions); "
                                       "unsubscribe from one first");
  std::optional<std::string_view> epoch;
  if (m.epoch)
    epoch = *m.epoch;
  auto self = shared_from_this();
  const HubCall call(this);
  state_->hub->async_subscribe(
      m.channel, std::static_pointer_cast<hub::Subscriber>(self), m.since, epoch,
      [self, channel = m.channel](hub::SubscribeResult r) mutable {
        if (r.status != hub::HubStatus::ok)
          return self->hub_failed(std::move(r.error));
        if (r.limited)  // CONTRACT §8: --max-channels
          return self->hub_refused(errc::limit, std::string(kChannelLimitMessage));
        self->on_hub_strand([self, channel] {
          if (self->close_.is_finished())
            return self->state_->hub->async_unsubscribe(channel, self.get(), {});
          if (self->subscriptions_.insert(channel).second)
            self->session_subscription(channel, true);
        });
        protocol::Subscribed s;
        s.channel = std::move(channel);
        s.seq = r.last_seq;
        s.epoch = std::move(r.epoch);
        s.recovered = r.recovered;
        std::vector<hub::Frame> frames;
        frames.reserve(1 + r.replay.size());
        frames.push_back(hub::make_frame(protocol::to_json(s)));
        for (auto& f : r.replay)
          frames.push_back(std::move(f));
        self->hub_reply(std::move(frames));
      });
}

void WsSession::handle(protocol::Unsubscribe& m) {
  auto self = shared_from_this();
  const HubCall call(this);
  state_->hub->async_unsubscribe(m.channel, this, [self, channel = m.channel]() mutable {
    self->on_hub_strand([self, channel] {
      if (auto it = self->subscriptions_.find(channel); it != self->subscriptions_.end()) {
        self->subscriptions_.erase(it);
        self->session_subscription(channel, false);
      }
    });
    protocol::Unsubscribed u;
    u.channel = std::move(channel);
    self->hub_reply({hub::make_frame(protocol::to_json(u))});
  });
}

void WsSession::handle(protocol::Publish& m) {
  if (claims_ && !claims_->may_publish(m.channel)) {
    send_error(errc::forbidden,
               "the token's channels claim does not allow publishing to '" + m.channel + "'");
    return;
  }
  std::optional<std::string_view> id;
  if (m.id)
    id = *m.id;
  auto self = shared_from_this();
  const HubCall call(this);
  state_->hub->async_publish(
      m.channel, id, m.data, wall_ms(),
      [self,
       channel = m.channel](hub::PublishResult r) mutable {  // a copy: m.channel is an argument too
        // CONTRACT §5: never an ack for a message that may be lost.
        if (r.status != hub::HubStatus::ok)
          return self->hub_failed(std::move(r.error));
        if (r.limited)  // CONTRACT §8: --max-channels
          return self->hub_refused(errc::limit, std::string(kChannelLimitMessage));
        protocol::Ack a;
        a.id = std::move(r.id);
        a.channel = std::move(channel);
        a.seq = r.seq;
        self->hub_reply({hub::make_frame(protocol::to_json(a))});
      });
}

void WsSession::hub_failed(std::string why) {
  state_->metrics.error();
  hub_refused(errc::unavailable, std::move(why));
}

void WsSession::hub_refused(errc code, std::string why) {
  protocol::Error e;
  e.code = code;
  e.message = std::move(why);
  hub_reply({hub::make_frame(protocol::to_json(e))});
}

void WsSession::hub_reply(std::vector<hub::Frame> frames) {
  if (HubCall::is_inline(this)) {
    for (const auto& f : frames)
      queue_data(f);
    return;
  }
  // Another thread: through the inbox, so the answer keeps its place before the deliveries
  // the hub makes after it (a subscribe's replay before the live messages).
  push_inbox(frames);
}

template <class F>
void WsSession::on_hub_strand(F&& f) {
  if (HubCall::is_inline(this))
    f();
  else
    net::post(out_.socket().get_executor(), std::forward<F>(f));
}

void WsSession::handle(protocol::Refresh& m) {
  // CONTRACT §8: the new token replaces the old one, or is refused and the old one stays
  // (with its own expiry).
  if (!state_->jwt) {
    send_error(errc::bad_message,
               "this server does not use JWTs (no --jwt-secret or --jwt-public-key); nothing to "
               "refresh");
    return;
  }
  // docs/jwt.md: the connection ends at exp + leeway; a refresh read after that (the
  // timer not run yet, on a loaded server) is too late to save it.
  if (claims_ && wall_ms() >= state_->jwt->deadline_ms(claims_->exp_ms))
    return on_token_timer({});
  auto v = state_->jwt->verify(m.token, wall_ms());
  if (v && claims_ && v.claims->sub != claims_->sub) {
    v.claims.reset();
    v.error = "the new token is for another sub; reconnect to change user";
  }
  if (!v) {
    state_->log.info("ws id=" + id_ + " refresh refused reason=" + quoted(v.error));
    send_error(errc::unauthorized, "refresh refused: " + v.error);
    return;
  }
  claims_ = std::move(*v.claims);
  protocol::Refreshed r;
  r.exp_ms = claims_->exp_ms;
  send_frame(protocol::to_json(r));
  drop_forbidden_subscriptions();
  arm_token_timer();
}

void WsSession::session_subscription(const std::string& channel, bool subscribed) {
  if (subscribed)
    state_->sessions.subscribed(session_id_, channel);
  else
    state_->sessions.unsubscribed(session_id_, channel);
  if (state_->cluster)
    state_->cluster->session_subscription(session_id_, channel, subscribed,
                                          stored_session_ttl(state_->config));
}

void WsSession::drop_forbidden_subscriptions() {
  for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
    if (claims_->may_subscribe(*it)) {
      ++it;
      continue;
    }
    state_->hub->async_unsubscribe(*it, this, {});
    session_subscription(*it, false);
    protocol::Unsubscribed u;
    u.channel = *it;
    send_frame(protocol::to_json(u));
    it = subscriptions_.erase(it);
  }
}

void WsSession::arm_token_timer() {
  if (!claims_ || !state_->jwt || close_.is_closing())
    return;
  if (!token_timer_)
    token_timer_ = std::make_unique<net::steady_timer>(out_.socket().get_executor());
  // The deadline is wall time (the token's exp); the timer runs on the steady clock, so it
  // is re-checked when it fires (on_token_timer).
  const std::int64_t left = state_->jwt->deadline_ms(claims_->exp_ms) - now_ms();
  token_timer_->expires_after(Duration{std::max<std::int64_t>(left, 0)});
  token_timer_->async_wait(
      beast::bind_front_handler(&WsSession::on_token_timer, shared_from_this()));
}

void WsSession::on_token_timer(beast::error_code ec) {
  if (ec == net::error::operation_aborted || close_.is_closing() || !claims_)
    return;
  if (now_ms() < state_->jwt->deadline_ms(claims_->exp_ms))
    return arm_token_timer();  // early (the wall clock moved): wait the rest
  // CONTRACT §8: exp passed without a refresh.
  close_gracefully(wire_code(CloseCode::token_expired),
                   "token expired; reconnect (or refresh) with a new token", false);
}

void WsSession::send_error(errc code, std::string_view message) {
  state_->metrics.error();
  protocol::Error e;
  e.code = code;
  e.message = std::string(message);
  send_frame(protocol::to_json(e));
}

void WsSession::send_frame(std::string&& json) {
  queue_data(hub::make_frame(std::move(json)));
}

void WsSession::queue_data(const hub::Frame& frame) {
  if (close_.is_closing())
    return;
  std::size_t queued = 0;
  if (deflate_ && frame->size() >= state_->config.compression_min_bytes) {
    queued = queue_compressed(frame);
  } else {
    queued = out_.send_data(frame);
  }
  // A due probe rides in front of this data, in the same write; with a write in flight it
  // waits for its completion (on_written), when the bytes ahead of it are known exactly.
  if (probe_due_ && !out_.writing())
    send_probe(Clock::now());
  if (queued > state_->config.send_queue_bytes) {
    // CONTRACT §2: a slow consumer is closed with 4001; the publisher never waits.
    state_->metrics.send_queue_drop();
    // The peer is alive, only slow: its close frame waits behind what the kernel already
    // holds for it, so after the frame our side is shut and its input drained (a close with
    // unread input would reset the connection and drop the frame) until it closes or the
    // deadline passes.
    teardown(wire_code(CloseCode::slow_consumer),
             "send queue over " + std::to_string(state_->config.send_queue_bytes) +
                 " bytes; read faster or subscribe to less",
             true, true);
  }
}

std::size_t WsSession::queue_compressed(const hub::Frame& frame) {
  if (deflate_->server_no_context_takeover) {
    // The shared compressor: every subscriber with these window bits sends the same bytes,
    // deflated once per publish (hub/frame.hpp). Aliasing pointer: no allocation, and the
    // bytes live as long as the frame.
    if (const std::string* d = frame->deflated(deflate_->server_max_window_bits))
      return out_.send_data(SharedPayload(frame, d), true);
    return out_.send_data(frame);
  }
  if (!deflater_)
    deflater_ = std::make_unique<protocol::Deflater>(deflate_->server_max_window_bits);
  auto bytes = std::make_shared<std::string>();
  if (!deflater_->compress(*frame, *bytes, true)) {
    // The stream was reset: the peer's window no longer matches ours. Nothing sane to send.
    teardown(wire_code(CloseCode::internal_error), "deflate failed", false, false);
    return 0;
  }
  return out_.send_data(std::move(bytes), true);
}

void WsSession::deliver(std::string_view, std::uint64_t, const hub::Frame& frame) {
  {  // push_inbox() for one frame: the fan-out path, once per subscriber per publish
    const std::lock_guard<std::mutex> g(inbox_mu_);
    inbox_.push_back(frame);
    if (inbox_scheduled_)
      return;
    inbox_scheduled_ = true;
  }
  schedule_drain();
}

void WsSession::reset(std::string_view channel, std::uint64_t last_seq, std::string_view epoch) {
  // CONTRACT §5: the channel's history is gone; recovered:false before the new epoch's messages.
  protocol::Subscribed s;
  s.channel = std::string(channel);
  s.seq = last_seq;
  s.epoch = std::string(epoch);
  s.recovered = false;
  const hub::Frame f = hub::make_frame(protocol::to_json(s));
  push_inbox(std::span<const hub::Frame>(&f, 1));
}

void WsSession::push_inbox(std::span<const hub::Frame> frames) {
  {
    const std::lock_guard<std::mutex> g(inbox_mu_);
    inbox_.insert(inbox_.end(), frames.begin(), frames.end());
    if (inbox_scheduled_)
      return;
    inbox_scheduled_ = true;
  }
  schedule_drain();
}

void WsSession::schedule_drain() {
  if (t_wakes != nullptr)
    t_wakes->push_back(shared_from_this());  // posted by wake_subscribers()
  else
    post_drain();
}

void WsSession::post_drain() {
  net::post(out_.socket().get_executor(), [self = shared_from_this()] {
    self->drain_inbox();
    self->out_.flush();
  });
}

void WsSession::wake_subscribers() {
  for (auto& s : wakes_) {
    auto ex = s->out_.socket().get_executor();  // before the move below
    net::post(ex, [self = std::move(s)] {
      self->drain_inbox();
      self->out_.flush();
    });
  }
  wakes_.clear();
  if (wakes_.capacity() > 4096)
    std::vector<std::shared_ptr<WsSession>>().swap(wakes_);
}

void WsSession::drain_inbox() {
  {
    const std::lock_guard<std::mutex> g(inbox_mu_);
    if (inbox_.empty() && !inbox_scheduled_)
      return;
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

void WsSession::on_written(std::size_t frames, std::size_t bytes) {
  sent_.fetch_add(frames, std::memory_order_relaxed);
  state_->metrics.messages_out(frames, bytes);
  bytes_written_ += bytes;
  if (close_.is_closing() || !state_->config.bandwidth_probes)
    return;
  const auto now = Clock::now();
  if (!bandwidth_.on_written(bytes_written_, now))
    return;
  // A probe is due. With data queued it goes now, in front of the batch the writer starts
  // right after this callback. Without, it waits for the next data (queue_data) rather than
  // cost a write (and a syscall) of its own: an idle link sends no probe anyway.
  if (out_.has_queued())
    send_probe(now);
  else
    probe_due_ = true;
}

void WsSession::send_probe(TimePoint now) {
  // A bandwidth probe: a protocol ping behind every byte written so far (none is in flight
  // now; the writer's next batch starts with its control lane). Its pong says the peer has
  // read them. Payload "b<id>", which the heartbeat's numeric tokens never match.
  probe_due_ = false;
  const std::string payload = "b" + std::to_string(bandwidth_.on_probe_sent(bytes_written_, now));
  std::array<std::uint8_t, 10> h{};
  const std::size_t n = encode_frame_header(protocol::Opcode::ping, payload.size(), h);
  std::string frame(reinterpret_cast<const char*>(h.data()), n);
  frame += payload;
  out_.send_control(std::move(frame));
}

void WsSession::publish_bandwidth(TimePoint now) {
  const auto e = bandwidth_.estimate(now);
  bool changed = false;
  {
    const std::lock_guard<std::mutex> g(health_mu_);
    changed = health_.bandwidth_throttled != e.throttled;
    health_.bandwidth_bytes_per_second = e.bytes_per_second;
    health_.bandwidth_throttled = e.throttled;
  }
  if (changed)
    state_->log.info(
        "ws bandwidth id=" + id_ + " throttled=" + (e.throttled ? "true" : "false") +
        " bytes_per_sec=" + std::to_string(static_cast<std::uint64_t>(e.bytes_per_second)) +
        (e.throttled ? " hint=\"the link to this client carries less than the server "
                       "sends; expect 4001 if its queue fills\""
                     : ""));
}

void WsSession::on_close_written() {
  switch (close_.on_close_written()) {
    case CloseHandshake::Step::close_socket:
      shutdown_socket();
      break;
    case CloseHandshake::Step::shutdown_send:
      // The reader failed (the peer's close cannot be recognised) or a slow consumer is torn
      // down: say we are done sending and drain until its EOF (or the deadline), so our close
      // frame is read before any reset.
      shutdown_send();
      break;
    default:
      break;  // graceful: reading on, for the peer's close
  }
}

void WsSession::on_write_failed(beast::error_code ec) {
  if (close_code_ == 0) {
    close_code_ = protocol::kCloseAbnormal;
    close_reason_ = "write failed: " + ec.message();
    failed_ = true;
  }
  if (close_.abort() == CloseHandshake::Step::close_socket)
    shutdown_socket();
}

// ---- heartbeats ----------------------------------------------------------------------------

void WsSession::arm_heartbeat() {
  if (close_.is_closing())
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
  if (ec == net::error::operation_aborted || close_.is_closing())
    return;
  const auto now = Clock::now();
  const auto missed_before = tracker_.total_missed();
  const auto action = tracker_.poll(now);
  publish_bandwidth(now);  // an idle connection's throttled ends here (no probes while idle)
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
      const std::size_t n = encode_frame_header(protocol::Opcode::ping, token.size(), h);
      std::string frame(reinterpret_cast<const char*>(h.data()), n);
      frame += token;
      tracker_.on_ping_sent(ping_token_, now);
      out_.send_control(std::move(frame));
      out_.flush();
      break;
    }
    case HeartbeatAction::close_dead: {
      state_->metrics.heartbeat_timeout();
      alive_.store(false, std::memory_order_relaxed);
      const auto& c = state_->config;
      teardown(wire_code(CloseCode::heartbeat_timeout),
               std::to_string(tracker_.missed()) + " heartbeats missed (interval " +
                   std::to_string(c.heartbeat_interval.count()) + " ms)",
               true);
      return;
    }
  }
  arm_heartbeat();
}

// ---- closing -------------------------------------------------------------------------------

void WsSession::close_gracefully(std::uint16_t code, std::string reason, bool failed) {
  if (close_.begin(CloseHandshake::Kind::graceful) == CloseHandshake::Step::send_close)
    send_our_close(code, std::move(reason), failed, kCloseHandshakeDeadline);
}

void WsSession::teardown(std::uint16_t code, std::string reason, bool failed, bool drain) {
  const auto kind = drain ? CloseHandshake::Kind::drain : CloseHandshake::Kind::hard;
  if (close_.begin(kind) == CloseHandshake::Step::send_close)
    send_our_close(code, std::move(reason), failed, kTeardownDeadline);
}

void WsSession::send_our_close(std::uint16_t code, std::string reason, bool failed,
                               Duration deadline) {
  failed_ = failed_ || failed;
  close_code_ = code;
  close_reason_ = std::move(reason);
  timer_.cancel();
  out_.send_close(code, close_reason_);
  out_.flush();
  arm_close_deadline(deadline);
}

void WsSession::arm_close_deadline(Duration d) {
  timer_.expires_after(d);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && self->close_.abort() == CloseHandshake::Step::close_socket)
      self->shutdown_socket();
  });
}

void WsSession::shutdown_send() {
  beast::error_code ignored;
  out_.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void WsSession::shutdown_socket() {
  beast::error_code ignored;
  auto& s = out_.socket();
  if (!s.is_open())
    return;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

void WsSession::close_for_drain(std::int64_t retry_after_ms) {
  net::dispatch(out_.socket().get_executor(), [self = shared_from_this(), retry_after_ms] {
    if (!self->accepted_) {
      self->shutdown_socket();
      return;
    }
    self->close_gracefully(wire_code(CloseCode::going_away),
                           "{\"retryAfterMs\":" + std::to_string(retry_after_ms) + "}", false);
  });
}

void WsSession::drop(std::string why) {
  net::post(out_.socket().get_executor(), [self = shared_from_this(), why = std::move(why)] {
    if (self->close_.is_closing() || !self->accepted_)
      return;
    self->state_->log.info("ws id=" + self->id_ + " dropped reason=" + quoted(why));
    self->close_.abort();
    self->close_code_ = protocol::kCloseAbnormal;
    self->close_reason_ = why;
    self->timer_.cancel();
    self->shutdown_socket();
  });
}

void WsSession::sweep(Duration silence) {
  net::post(out_.socket().get_executor(), [self = shared_from_this(), silence] {
    if (self->close_.is_finished())
      return;
    const auto now = Clock::now();
    if (self->tracker_.is_dead() || now - self->tracker_.last_activity() > silence) {
      self->alive_.store(false, std::memory_order_relaxed);
      self->failed_ = true;
      self->close_.abort();
      self->close_code_ = wire_code(CloseCode::heartbeat_timeout);
      self->close_reason_ = "removed by the cleanup sweep";
      self->timer_.cancel();
      self->shutdown_socket();
    }
  });
}

void WsSession::finish(beast::error_code ec) {
  wake_subscribers();  // publishes this session handled reach their subscribers regardless
  if (!close_.finish())
    return;
  alive_.store(false, std::memory_order_relaxed);
  timer_.cancel();
  if (token_timer_)
    token_timer_->cancel();
  if (!accepted_)
    return;

  for (const auto& ch : subscriptions_)
    state_->hub->async_unsubscribe(ch, this, {});
  const auto now = Clock::now();
  const bool detached =
      state_->sessions.detach(session_id_, generation_, now, std::chrono::system_clock::now());
  if (detached && state_->cluster)  // kept for the grace in Redis too, unless taken over
    state_->cluster->touch_session(session_id_, state_->config.session_grace);
  state_->connections.remove(this);

  // Who closed, and why, for the log line and the failed count.
  std::uint16_t code = close_code_;
  std::string reason = close_reason_;
  if (code == 0) {
    code = protocol::kCloseAbnormal;
    reason = ec.message();
    failed_ = failed_ || ec != net::error::eof;
  }
  state_->metrics.connection_closed(std::chrono::duration_cast<Duration>(now - opened_at_),
                                    failed_);
  const bool warn = code == wire_code(CloseCode::heartbeat_timeout) ||
                    code == wire_code(CloseCode::slow_consumer) ||
                    code == wire_code(CloseCode::policy_violation) ||
                    code == wire_code(CloseCode::internal_error);
  state_->log.write(warn ? LogLevel::warn : LogLevel::info,
                    "ws id=" + id_ + " closed code=" + std::to_string(code) +
                        " reason=" + quoted(reason) + " session=" + session_id_);
  shutdown_socket();
  // Drop what is left.
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
