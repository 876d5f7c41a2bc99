// Client::Impl's WebSocket: one attempt (resolve, TCP, TLS, upgrade, the welcome), the
// connection's frames, the token refresh on an open connection, and dropping a link.
#include "client/client_impl.hpp"

namespace steadyws {

namespace {
// The subprotocol the client offers (CONTRACT §10).
constexpr const char* kProtocolVersion = "steadyws.v1";
}  // namespace

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
  const std::int64_t now = client::unix_ms_now();
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

}  // namespace steadyws
