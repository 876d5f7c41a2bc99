#include "server/http_session.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "protocol/codec.hpp"
#include "protocol/json_text.hpp"
#include "server/hub_call.hpp"
#include "server/jwt_authenticator.hpp"
#include "server/pages.hpp"
#include "server/poll_waiter.hpp"
#include "server/subprotocol.hpp"
#include "server/web_assets.hpp"
#include "server/ws_session.hpp"

namespace steadyws::server {

namespace json = boost::json;

namespace {

// Request limits (docs/security.md, beside Beast's, nginx's and Node's defaults): the request
// line plus headers at most 16 KiB (Node's default; Beast's parser defaults to 8 KiB, nginx
// to 1 KiB growing to 4 x 8 KiB), at most 100 header fields (Apache's LimitRequestFields),
// a request target of at most 8 KiB (nginx's and Apache's line limit). Beyond: 431 (414 for
// the target) and the connection closes. The body: up to the message limit plus room for the
// envelope (413).
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kMaxHeaderFields = 100;
constexpr std::size_t kMaxTargetBytes = 8 * 1024;

std::int64_t now_ms() {
  return to_unix_ms(std::chrono::system_clock::now());
}

json::object health_json(const ConnectionHealth& h) {
  json::array lat;
  for (double v : h.latency)
    lat.emplace_back(v);
  return {{"id", h.id},
          {"connectedAt", to_iso8601(h.connected_at)},
          {"lastHeartbeat", to_iso8601(h.last_heartbeat)},
          {"missedHeartbeats", h.missed_heartbeats},
          {"latency", std::move(lat)},
          {"messagesSent", h.messages_sent},
          {"messagesReceived", h.messages_received},
          {"isAlive", h.is_alive}};
}

std::vector<ConnectionHealth> live_health(ServerState& state) {
  std::vector<ConnectionHealth> out;
  for (const auto& c : state.connections.snapshot())
    out.push_back(c->health());
  return out;
}

Method method_of(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::get;
    case http::verb::head:
      return Method::head;
    case http::verb::post:
      return Method::post;
    case http::verb::options:
      return Method::options;
    default:
      return Method::other;
  }
}

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<ServerState> state)
    : state_(std::move(state)),
      stream_(std::move(socket), state_->tls ? state_->tls->current() : nullptr,
              state_->config.tls_release_buffers) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    client_ip_ = ep.address().to_string();
    remote_ = client_ip_ + ":" + std::to_string(ep.port());
  }
}

HttpSession::~HttpSession() {
  if (waiter_)
    state_->pending_polls.fetch_sub(1, std::memory_order_relaxed);
  if (poll_reserved_)
    state_->release_connection();
}

void HttpSession::run() {
  state_->http.add(shared_from_this());
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(
                    stream_.is_tls() ? &HttpSession::do_tls_handshake : &HttpSession::do_read,
                    shared_from_this()));
}

void HttpSession::do_tls_handshake() {
  // The handshake deadline covers TLS too: a client that opens TCP and never sends a
  // ClientHello (or stalls in the middle) is closed.
  stream_.expires_after(state_->config.handshake_timeout);
  stream_.async_handshake(
      beast::bind_front_handler(&HttpSession::on_tls_handshake, shared_from_this()));
}

void HttpSession::on_tls_handshake(beast::error_code ec) {
  if (ec) {
    // Plain HTTP on the TLS port ("http request"), a client that does not trust us, a
    // scanner: this connection only, at debug level (every port scan would log otherwise).
    std::string why =
        ec == beast::error::timeout ? "no TLS handshake within --handshake-timeout" : ec.message();
    state_->log.debug("tls handshake failed remote=" + remote_ + " error=" + quoted(why));
    return do_close();
  }
  do_read();
}

void HttpSession::do_read() {
  if (stopping_)
    return do_close();
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  // The body limit: a publish may carry a message of --max-message-bytes plus its envelope.
  parser_->body_limit(state_->config.max_message_bytes + 1024);
  // A keep-alive connection idle this long, or a request this slow, is closed.
  stream_.expires_after(state_->config.http_idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted)
    return do_close();
  if (ec == http::error::header_limit) {
    keep_alive_ = false;
    version_ = 11;
    return send_error(http::status::request_header_fields_too_large, "too_large",
                      "request header block over " + std::to_string(kHeaderLimit) +
                          " bytes; send fewer or smaller headers");
  }
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    version_ = 11;
    return send_error(http::status::payload_too_large, "too_large",
                      "request body over the limit (--max-message-bytes); send less");
  }
  if (ec) {
    state_->log.debug("http read failed remote=" + remote_ + " error=" + quoted(ec.message()));
    if (ec.category() == beast::error_code(http::error::bad_target).category()) {
      keep_alive_ = false;
      return send_error(http::status::bad_request, "bad_message",
                        "malformed HTTP request; send HTTP/1.1");
    }
    return do_close();
  }
  handle(parser_->release());
}

void HttpSession::handle(Request&& req) {
  version_ = req.version();
  keep_alive_ = req.keep_alive() && !stopping_;
  head_ = req.method() == http::verb::head;
  extra_headers_.clear();

  // Request limits (docs/security.md): the header block's bytes are bounded by the parser
  // (kHeaderLimit, 431); the request line and the number of fields here.
  if (req.target().size() > kMaxTargetBytes) {
    keep_alive_ = false;
    return send_error(http::status::uri_too_long, "too_large",
                      "request target over " + std::to_string(kMaxTargetBytes) + " bytes");
  }
  if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) > kMaxHeaderFields) {
    keep_alive_ = false;
    return send_error(http::status::request_header_fields_too_large, "too_large",
                      "more than " + std::to_string(kMaxHeaderFields) + " header fields");
  }

  // One pass: route -> policy -> handler.
  auto target = parse_target(std::string_view(req.target().data(), req.target().size()));
  if (!target)
    return send_error(http::status::bad_request, "bad_message",
                      "malformed request target; use /path?key=value");
  Route route = route_of(target->path);
  const WebAsset* asset = nullptr;
  if (route == Route::not_found || route == Route::dashboard || route == Route::reliability_page) {
    // The embedded web/ files (dashboard, reliability page, browser client, uPlot).
    asset = find_web_asset(target->path);
    if (asset != nullptr)
      route = Route::asset;
  }

  const auto header = [&req](http::field f) -> std::optional<std::string_view> {
    const auto it = req.find(f);
    if (it == req.end())
      return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  };
  RequestFacts facts;
  facts.route = route;
  facts.method = method_of(req.method());
  facts.path = target->path;
  facts.origin = header(http::field::origin);
  facts.content_type = header(http::field::content_type);
  facts.body_bytes = req.body().size();
  facts.token = request_token(header(http::field::authorization).value_or(""), *target);
  facts.client_ip = client_ip_;
  Decision decision = decide(state_->policy, facts, Clock::now(), now_ms());
  extra_headers_ = std::move(decision.headers);
  if (decision.outcome == Outcome::preflight) {
    Response res{http::status::no_content, version_};
    return send(std::move(res));
  }
  if (decision.outcome == Outcome::refuse) {
    if (route == Route::ws)
      state_->metrics.handshake_failed();
    if (decision.status == 429)
      state_->metrics.rate_limited();
    return send_error(static_cast<http::status>(decision.status), decision.code, decision.message);
  }

  credential_ = decision.credential;
  claims_ = claims_of(credential_);  // JWT servers: the channels claim and `sub`
  switch (route) {
    case Route::ws:
      return upgrade(std::move(req), std::move(*target), std::move(decision.credential));
    case Route::asset: {
      Response res{http::status::ok, version_};
      res.set(http::field::content_type,
              std::string(asset->content_type.data(), asset->content_type.size()));
      res.body() = std::string(asset->body);
      return send(std::move(res));
    }
    case Route::health:
      return answer_health(decision.show_connection_lists);
    case Route::metrics_json:
      return answer_metrics_json(decision.show_connection_lists);
    case Route::metrics_history: {
      auto body =
          history_answer(state_->history, Clock::now(), target->get("since"));  // CONTRACT §10
      if (!body)
        return send_error(http::status::bad_request, "bad_message",
                          "since must be a time in ms since the Unix epoch");
      return send_json(http::status::ok, std::move(*body));
    }
    case Route::sessions:
      return answer_sessions();
    case Route::prometheus:
      return answer_prometheus();
    case Route::cluster:
      return answer_cluster();
    case Route::publish:
      return answer_publish(req);
    case Route::ping:
      return answer_ping(req);
    case Route::admin_disconnect:
      return answer_disconnect(*target);
    case Route::dashboard:
    case Route::reliability_page:
      return answer_page(route);
    case Route::poll: {
      auto p = parse_poll(*target);
      if (!p.request)
        return send_error(http::status::bad_request, "bad_message", p.error);
      for (const auto& c : p.request->channels) {
        if (claims_ && !claims_->may_subscribe(c.channel))
          return send_error(
              http::status::forbidden, "forbidden",
              "the token's channels claim does not allow polling '" + c.channel + "'");
      }
      return start_poll(std::move(*p.request));
    }
    case Route::not_found:
      break;
  }
  send_error(http::status::not_found, "not_found", "no such endpoint");
}

void HttpSession::upgrade(Request&& req, Target&& target, Credential&& credential) {
  if (!beast::websocket::is_upgrade(req)) {
    return send_error(http::status::upgrade_required, "upgrade_required",
                      "this is the WebSocket endpoint; connect with a WebSocket client "
                      "(Upgrade: websocket)");
  }
  // CONTRACT §10: offering only versions we do not speak is refused here, readably; the 101
  // selects ours in WsSession::run.
  if (const auto sp = request_subprotocol(req); sp.kind == SubprotocolChoice::Kind::unsupported) {
    state_->metrics.handshake_failed();
    return send_error(http::status::bad_request, "bad_message", sp.message);
  }
  if (state_->draining.load() || !state_->try_reserve_connection()) {
    state_->metrics.handshake_failed();
    keep_alive_ = false;
    return send_error(http::status::service_unavailable, "unavailable",
                      state_->draining.load()
                          ? "server is shutting down; reconnect in a few seconds"
                          : "server is at --max-connections; retry later or raise the limit");
  }
  // Hand the socket over; this HTTP session ends here. Bytes read past the request (frames a
  // client sent before the 101 arrived) go with it.
  state_->http.remove(this);
  stream_.expires_never();
  std::string early(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  auto ws = std::make_shared<WsSession>(stream_.release(), state_, remote_);
  ws->run(std::move(req), std::move(target), std::move(early), std::move(credential));
}

void HttpSession::send(Response&& res) {
  for (auto& [name, value] : extra_headers_)
    res.set(name, value);  // the policy's CORS, Allow, Retry-After, WWW-Authenticate
  extra_headers_.clear();
  res.version(version_);
  res.keep_alive(keep_alive_);
  res.set(http::field::server, "steadyws");
  res.set(http::field::cache_control, "no-store");
  res.prepare_payload();
  if (head_)
    res.body().clear();  // Content-Length stays that of the GET answer
  response_ = std::make_shared<Response>(std::move(res));
  stream_.expires_after(state_->config.http_idle_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&HttpSession::on_write, shared_from_this(),
                                              response_->keep_alive()));
}

void HttpSession::send_json(http::status status, std::string body) {
  Response res{status, version_};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  send(std::move(res));
}

void HttpSession::send_error(http::status status, std::string_view code, std::string_view message) {
  send_json(status, error_body(code, message));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec)
    return do_close();
  if (!keep_alive)
    return do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
  state_->http.remove(this);
}

void HttpSession::stop() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    self->keep_alive_ = false;
    if (self->waiter_)
      return self->finish_poll();
    if (!self->response_)
      self->do_close();  // idle between requests (a read is pending): close it
  });
}

// ---- endpoints -----------------------------------------------------------------------------

// `lists`: the per-connection list may be shown (CONTRACT §8: it needs the admin token when
// one is set; without it the answer has everything else and no list).
void HttpSession::answer_health(bool lists) {
  const auto live = live_health(*state_);
  const auto a = state_->metrics.aggregate(live);
  json::object ws{{"clients", live.size()},
                  {"connectionReliability", a.connection_reliability},
                  {"averageLatency", a.average_latency},
                  {"errorRate", a.error_rate}};
  if (lists) {
    json::array details;
    for (const auto& h : live)
      details.push_back(health_json(h));
    ws["connectionHealthDetails"] = std::move(details);
  }
  HealthStatus status = a.status;
  if (state_->cluster && !state_->cluster->is_up() && status == HealthStatus::healthy)
    status = HealthStatus::degraded;  // CONTRACT §5: Redis down is degraded
  json::object o{{"status", to_string(status)}, {"websocket", std::move(ws)}};
  if (state_->cluster) {
    const auto cs = state_->cluster->cluster_stats();
    json::object c{{"nodeId", state_->cluster->node_id()},
                   {"redis", cs.redis_up ? "up" : "down"},
                   {"nodes", cs.nodes}};
    if (cs.commands > 0)
      c["rttMs"] = cs.rtt_ms_last;  // the last reply's round trip (the dashboard shows it)
    o["cluster"] = std::move(c);
  }
  send_json(http::status::ok, protocol::to_json_text(o));
}

void HttpSession::answer_cluster() {
  // CONTRACT §5: the nodes of the last heartbeat round; one node (this) without --redis.
  json::array nodes;
  auto to_wall = [](std::int64_t ms) {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
  };
  if (state_->cluster) {
    for (const auto& n : state_->cluster->nodes())
      nodes.push_back(json::object{
          {"nodeId", n.node_id},
          {"connections", n.connections},
          {"startedAt", to_iso8601(to_wall(n.started_at_ms))},
          {"lastSeenAt", to_iso8601(to_wall(n.last_seen_at_ms))},
          {"address", n.address.empty() ? json::value(nullptr) : json::value(n.address)}});
  }
  send_json(http::status::ok, protocol::to_json_text(json::object{{"nodes", std::move(nodes)}}));
}

void HttpSession::answer_metrics_json(bool lists) {
  const auto live = live_health(*state_);
  const auto a = state_->metrics.aggregate(live);
  json::object o{{"serverMetrics",
                  {{"totalConnections", a.total_connections},
                   {"activeConnections", a.active_connections},
                   {"failedConnections", a.failed_connections},
                   {"averageConnectionUptime", a.average_connection_uptime_ms},
                   {"messagesThroughput", a.messages_throughput},
                   {"errorRate", a.error_rate}}},
                 {"summary",
                  {{"healthyConnections", a.healthy_connections},
                   {"unhealthyConnections", a.unhealthy_connections},
                   {"overallLatency", a.average_latency}}}};
  if (lists) {
    json::array details;
    for (const auto& h : live) {
      auto d = health_json(h);
      // CONTRACT §10: what the server estimates it can send that client.
      d["bandwidth"] =
          json::object{{"bytesPerSecond", static_cast<std::uint64_t>(h.bandwidth_bytes_per_second)},
                       {"throttled", h.bandwidth_throttled}};
      details.push_back(std::move(d));
    }
    o["connectionDetails"] = std::move(details);
  }
  send_json(http::status::ok, protocol::to_json_text(o));
}

void HttpSession::answer_sessions() {
  json::array arr;
  for (const auto& s : state_->sessions.list()) {
    json::array subs;
    for (const auto& c : s.subscriptions)
      subs.emplace_back(c);
    json::object o{{"sessionId", s.id},
                   {"connected", s.connected},
                   {"transport", to_string(s.transport)},
                   {"subscriptions", std::move(subs)},
                   {"createdAt", to_iso8601(s.created_at)},
                   {"lastSeenAt", to_iso8601(s.last_seen_at)}};
    if (!s.user.empty())
      o["user"] = s.user;  // CONTRACT §8: the JWT's sub
    arr.push_back(std::move(o));
  }
  send_json(http::status::ok, protocol::to_json_text(json::object{{"sessions", std::move(arr)}}));
}

void HttpSession::answer_prometheus() {
  const auto live = live_health(*state_);
  const auto a = state_->metrics.aggregate(live);
  Response res{http::status::ok, version_};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.body() = render_prometheus(a, state_->metrics.extra(), state_->sessions.size(),
                                 state_->pending_polls.load(std::memory_order_relaxed),
                                 state_->hub->counts());
  if (state_->cluster) {
    // CONTRACT §5: Redis round-trip time, errors and reconnects.
    const auto cs = state_->cluster->cluster_stats();
    std::string& b = res.body();
    b += "# HELP steadyws_redis_up Whether this node's Redis answers (1) or not (0).\n";
    b += "# TYPE steadyws_redis_up gauge\nsteadyws_redis_up " +
         std::string(cs.redis_up ? "1" : "0") + "\n";
    b += "# HELP steadyws_redis_rtt_seconds Round trip of the commands sent to Redis.\n";
    b += "# TYPE steadyws_redis_rtt_seconds summary\n";
    b += "steadyws_redis_rtt_seconds_sum " + std::to_string(cs.rtt_ms_sum / 1000.0) + "\n";
    b += "steadyws_redis_rtt_seconds_count " + std::to_string(cs.commands) + "\n";
    b += "# HELP steadyws_redis_errors_total Redis timeouts, refusals and lost connections.\n";
    b += "# TYPE steadyws_redis_errors_total counter\nsteadyws_redis_errors_total " +
         std::to_string(cs.errors) + "\n";
    b += "# HELP steadyws_redis_reconnects_total Connections to Redis re-established.\n";
    b += "# TYPE steadyws_redis_reconnects_total counter\nsteadyws_redis_reconnects_total " +
         std::to_string(cs.reconnects) + "\n";
    b += "# HELP steadyws_cluster_nodes Nodes alive in the last 15 s.\n";
    b += "# TYPE steadyws_cluster_nodes gauge\nsteadyws_cluster_nodes " + std::to_string(cs.nodes) +
         "\n";
  }
  send(std::move(res));
}

void HttpSession::answer_publish(const Request& req) {
  protocol::Limits limits;
  limits.max_message_bytes = state_->config.max_message_bytes;
  auto p = protocol::parse_publish_body(req.body(), limits);
  if (!p) {
    const auto code = p.error().code;
    state_->metrics.error();
    return send_error(
        code == errc::too_large ? http::status::payload_too_large : http::status::bad_request,
        to_string(code), p.error().message);
  }
  if (claims_ && !claims_->may_publish(p->channel)) {
    state_->metrics.error();
    return send_error(
        http::status::forbidden, "forbidden",
        "the token's channels claim does not allow publishing to '" + p->channel + "'");
  }
  std::optional<std::string_view> id;
  if (p->id)
    id = *p->id;
  state_->metrics.message_in(req.body().size());
  auto self = shared_from_this();
  const HubCall call(this);
  state_->hub->async_publish(
      p->channel, id, p->data, now_ms(), [self, channel = p->channel](hub::PublishResult r) {
        self->on_hub_strand([self, channel, r = std::move(r)]() mutable {
          // CONTRACT §5: never an ack for a message that may be lost; 503 instead.
          if (r.status != hub::HubStatus::ok) {
            self->state_->metrics.error();
            return self->send_error(http::status::service_unavailable, "unavailable", r.error);
          }
          if (r.limited)  // CONTRACT §8: --max-channels
            return self->send_error(
                http::status::too_many_requests, "limit",
                "the server holds --max-channels channels; use an existing channel");
          protocol::Ack a;
          a.id = std::move(r.id);
          a.channel = std::move(channel);
          a.seq = r.seq;
          self->send_json(http::status::ok, protocol::to_json(a));
        });
      });
}

template <class F>
void HttpSession::on_hub_strand(F&& f) {
  if (HubCall::is_inline(this))
    f();
  else
    net::post(stream_.get_executor(), std::forward<F>(f));
}

void HttpSession::answer_ping(const Request& req) {
  auto p = protocol::parse_ping_body(req.body());
  if (!p) {
    state_->metrics.error();
    return send_error(http::status::bad_request, to_string(p.error().code), p.error().message);
  }
  protocol::Pong pong;
  pong.timestamp = std::move(p->timestamp);
  pong.server_time_ms = now_ms();
  send_json(http::status::ok, protocol::to_json(pong));
}

void HttpSession::answer_disconnect(const Target& target) {
  const auto id = target.get("session");
  if (!id || id->empty())
    return send_error(http::status::bad_request, "bad_message",
                      "give the session: /api/admin/disconnect?session=ID");
  if (!state_->sessions.contains(*id))
    return send_error(http::status::not_found, "not_found",
                      "no such session; list them with GET /api/sessions");
  bool dropped = false;
  if (auto c = state_->sessions.connection_of(*id).lock()) {
    c->drop("admin disconnect");
    dropped = true;
  }
  send_json(http::status::ok,
            protocol::to_json_text(json::object{{"sessionId", *id}, {"disconnected", dropped}}));
}

// Only when the build has no web/ page for the route (find_web_asset came first).
void HttpSession::answer_page(Route route) {
  Response res{http::status::ok, version_};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.body() =
      std::string(route == Route::reliability_page ? reliability_page_html() : dashboard_html());
  send(std::move(res));
}

// ---- long poll -----------------------------------------------------------------------------

void HttpSession::start_poll(PollRequest&& poll) {
  const std::size_t max_subs = state_->config.max_subscriptions;
  if (max_subs != 0 && poll.channels.size() > max_subs)
    return send_error(
        http::status::too_many_requests, "limit",
        "at most " + std::to_string(max_subs) + " channels per poll (--max-subscriptions)");
  // CONTRACT §8: a pending poll holds a connection slot like a WebSocket.
  if (!state_->try_reserve_connection()) {
    state_->metrics.handshake_failed();
    keep_alive_ = false;
    return send_error(http::status::service_unavailable, "unavailable",
                      "server is at --max-connections (WebSockets and pending polls); retry "
                      "later or raise the limit");
  }
  poll_reserved_ = true;
  state_->pending_polls.fetch_add(1, std::memory_order_relaxed);
  std::weak_ptr<HttpSession> weak = weak_from_this();
  waiter_ = std::make_shared<PollWaiter>([weak] {
    if (auto self = weak.lock())
      self->poll_ready();
  });
  poll_answer_now_ = stopping_;
  poll_unavailable_.clear();
  poll_limited_ = false;
  poll_timeout_ = poll.timeout;
  // One more than the channels, released after the loop: inline completions (the memory
  // hub) never reach zero inside it, so continue_poll() runs once, after sessions.polled().
  poll_subscribing_ = poll.channels.size() + 1;
  std::vector<std::string> names;
  poll_channels_.resize(poll.channels.size());
  auto self = shared_from_this();
  for (std::size_t i = 0; i < poll.channels.size(); ++i) {
    auto& c = poll.channels[i];
    poll_channels_[i].channel = c.channel;
    names.push_back(c.channel);
    std::optional<std::string_view> epoch;
    if (c.epoch)
      epoch = *c.epoch;
    // Subscribe first, then look at history (the hub does both atomically): a publish can
    // neither be missed between the two nor arrive twice.
    const HubCall call(this);
    state_->hub->async_subscribe(
        c.channel, waiter_, c.since, epoch,
        [self, i, since = c.since, waiter = waiter_, channel = c.channel](hub::SubscribeResult r) {
          // The replay goes into the waiter here (any thread), before any live delivery.
          if (r.status == hub::HubStatus::ok) {
            std::uint64_t seq = since.value_or(0);
            for (auto& f : r.replay)
              waiter->add(channel, ++seq, std::move(f));
          }
          self->on_hub_strand([self, i, since, waiter, r = std::move(r)]() mutable {
            if (waiter != self->waiter_)
              return;  // that poll was answered already
            self->on_poll_subscribed(i, since, std::move(r));
          });
        });
  }
  if (poll.session) {
    std::optional<std::string_view> resume;
    if (poll.resume)
      resume = *poll.resume;
    state_->sessions.polled(*poll.session, resume, names, Clock::now(),
                            std::chrono::system_clock::now());
    if (claims_ && !claims_->sub.empty())
      state_->sessions.set_user(*poll.session, claims_->sub);
  }
  if (--poll_subscribing_ == 0)
    continue_poll();
}

void HttpSession::on_poll_subscribed(std::size_t i, std::optional<std::uint64_t> since,
                                     hub::SubscribeResult r) {
  auto& s = poll_channels_[i];
  if (r.status != hub::HubStatus::ok) {
    poll_unavailable_ = std::move(r.error);
  } else if (r.limited) {
    poll_limited_ = true;  // CONTRACT §8: --max-channels
  } else {
    s.cursor = r.last_seq;
    s.epoch = std::move(r.epoch);
    s.recovered = r.recovered;
    if (since && !r.recovered)
      poll_answer_now_ = true;  // the gap is news: say recovered:false at once
  }
  if (--poll_subscribing_ == 0)
    continue_poll();
}

void HttpSession::continue_poll() {
  if (!poll_unavailable_.empty()) {
    // CONTRACT §5: a poll that needs Redis when it is down gets 503.
    end_poll();
    poll_channels_.clear();
    state_->metrics.error();
    return send_error(http::status::service_unavailable, "unavailable", poll_unavailable_);
  }
  if (poll_limited_) {
    end_poll();
    poll_channels_.clear();
    return send_error(http::status::too_many_requests, "limit",
                      "the server holds --max-channels channels; poll existing channels");
  }
  if (poll_answer_now_ || stopping_ || waiter_->has_items())
    return finish_poll();
  poll_timer_.emplace(stream_.get_executor());
  poll_timer_->expires_after(poll_timeout_);
  poll_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->finish_poll();
  });
}

void HttpSession::poll_ready() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->finish_poll(); });
}

// Unsubscribes the waiter, gives its slot back; returns what it collected.
std::vector<PollWaiter::Item> HttpSession::end_poll() {
  auto items = waiter_->take();
  for (const auto& c : poll_channels_)
    state_->hub->async_unsubscribe(c.channel, waiter_.get(), {});
  waiter_.reset();
  state_->pending_polls.fetch_sub(1, std::memory_order_relaxed);
  if (poll_reserved_) {
    poll_reserved_ = false;
    state_->release_connection();
  }
  if (poll_timer_)
    poll_timer_->cancel();
  return items;
}

void HttpSession::finish_poll() {
  if (!waiter_ || poll_subscribing_ > 0)
    return;  // already answered, or continue_poll() answers once the subscribes are done
  auto items = end_poll();

  // {"messages":[...],"cursors":{C:LAST},"epochs":{C:E},"recovered":{C:B}}: the frames are
  // the hub's serialized `message` objects, spliced in without reparsing.
  std::string body = "{\"messages\":[";
  bool first = true;
  for (const auto& it : items) {
    if (!first)
      body += ',';
    first = false;
    body += *it.frame;
    for (auto& c : poll_channels_) {
      if (c.channel == it.channel)
        c.cursor = std::max(c.cursor, it.seq);
    }
  }
  json::object cursors;
  json::object epochs;
  json::object recovered;
  for (const auto& c : poll_channels_) {
    cursors[c.channel] = c.cursor;
    epochs[c.channel] = c.epoch;
    recovered[c.channel] = c.recovered;
  }
  body += "],\"cursors\":";
  protocol::append_json_text(cursors, body);
  body += ",\"epochs\":";
  protocol::append_json_text(epochs, body);
  body += ",\"recovered\":";
  protocol::append_json_text(recovered, body);
  body += '}';
  poll_channels_.clear();
  send_json(http::status::ok, std::move(body));
}

}  // namespace steadyws::server
