#include "server/http_session.hpp"

#include <algorithm>
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
#include "server/pages.hpp"
#include "server/poll_waiter.hpp"
#include "server/subprotocol.hpp"
#include "server/web_assets.hpp"
#include "server/ws_session.hpp"

namespace steadyws::server {

namespace json = boost::json;

namespace {

// 64 KiB of headers, and a body up to the message limit plus room for the envelope.
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

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
    default:
      return Method::other;
  }
}

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<ServerState> state)
    : state_(std::move(state)), stream_(std::move(socket)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec)
    remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
}

HttpSession::~HttpSession() {
  if (waiter_)
    state_->pending_polls.fetch_sub(1, std::memory_order_relaxed);
}

void HttpSession::run() {
  state_->http.add(shared_from_this());
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
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
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
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

  auto target = parse_target(std::string_view(req.target().data(), req.target().size()));
  if (!target)
    return send_error(http::status::bad_request, "bad_message",
                      "malformed request target; use /path?key=value");
  const Route route = route_of(target->path);
  if (route == Route::not_found || route == Route::dashboard || route == Route::reliability_page) {
    // The embedded web/ files (dashboard, reliability page, browser client, uPlot).
    if (const WebAsset* asset = find_web_asset(target->path)) {
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        Response res{http::status::method_not_allowed, version_};
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "application/json");
        res.body() = error_body("method_not_allowed", "use GET for " + target->path);
        return send(std::move(res));
      }
      Response res{http::status::ok, version_};
      res.set(http::field::content_type,
              std::string(asset->content_type.data(), asset->content_type.size()));
      res.body() = std::string(asset->body);
      return send(std::move(res));
    }
  }
  if (route == Route::not_found)
    return send_error(http::status::not_found, "not_found",
                      "no such endpoint; see docs/protocol.md for the API");
  if (!method_allowed(route, method_of(req.method()))) {
    Response res{http::status::method_not_allowed, version_};
    res.set(http::field::allow, std::string(allowed_methods(route)));
    res.set(http::field::content_type, "application/json");
    res.body() = error_body("method_not_allowed",
                            "use " + std::string(allowed_methods(route)) + " for " + target->path);
    return send(std::move(res));
  }
  if (needs_token(route)) {
    const auto auth = req[http::field::authorization];
    const auto token = request_token(std::string_view(auth.data(), auth.size()), *target);
    if (!token_ok(state_->config.auth_token, token)) {
      if (route == Route::ws)
        state_->metrics.handshake_failed();
      return send_error(http::status::unauthorized, "unauthorized",
                        "missing or wrong token; pass ?token=T or Authorization: Bearer T");
    }
  }

  switch (route) {
    case Route::ws:
      return upgrade(std::move(req), std::move(*target));
    case Route::health:
      return answer_health();
    case Route::metrics_json:
      return answer_metrics_json();
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
      return start_poll(std::move(*p.request));
    }
    case Route::not_found:
      break;
  }
  send_error(http::status::not_found, "not_found", "no such endpoint");
}

void HttpSession::upgrade(Request&& req, Target&& target) {
  if (!beast::websocket::is_upgrade(req)) {
    return send_error(http::status::upgrade_required, "upgrade_required",
                      "this is the WebSocket endpoint; connect with a WebSocket client "
                      "(Upgrade: websocket)");
  }
  const auto origin = req[http::field::origin];
  if (!origin_allowed(state_->config.allowed_origins,
                      std::string_view(origin.data(), origin.size()))) {
    state_->metrics.handshake_failed();
    return send_error(http::status::forbidden, "forbidden",
                      "origin not allowed; add it with --allowed-origin");
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
  auto ws = std::make_shared<WsSession>(stream_.release_socket(), state_, remote_);
  ws->run(std::move(req), std::move(target), std::move(early));
}

void HttpSession::send(Response&& res) {
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

void HttpSession::answer_health() {
  const auto live = live_health(*state_);
  const auto a = state_->metrics.aggregate(live);
  json::array details;
  for (const auto& h : live)
    details.push_back(health_json(h));
  json::object ws{{"clients", live.size()},
                  {"connectionReliability", a.connection_reliability},
                  {"averageLatency", a.average_latency},
                  {"errorRate", a.error_rate},
                  {"connectionHealthDetails", std::move(details)}};
  json::object o{{"status", to_string(a.status)}, {"websocket", std::move(ws)}};
  send_json(http::status::ok, protocol::to_json_text(o));
}

void HttpSession::answer_metrics_json() {
  const auto live = live_health(*state_);
  const auto a = state_->metrics.aggregate(live);
  json::array details;
  for (const auto& h : live) {
    auto d = health_json(h);
    // CONTRACT §10: what the server estimates it can send that client.
    d["bandwidth"] =
        json::object{{"bytesPerSecond", static_cast<std::uint64_t>(h.bandwidth_bytes_per_second)},
                     {"throttled", h.bandwidth_throttled}};
    details.push_back(std::move(d));
  }
  json::object o{{"serverMetrics",
                  {{"totalConnections", a.total_connections},
                   {"activeConnections", a.active_connections},
                   {"failedConnections", a.failed_connections},
                   {"averageConnectionUptime", a.average_connection_uptime_ms},
                   {"messagesThroughput", a.messages_throughput},
                   {"errorRate", a.error_rate}}},
                 {"connectionDetails", std::move(details)},
                 {"summary",
                  {{"healthyConnections", a.healthy_connections},
                   {"unhealthyConnections", a.unhealthy_connections},
                   {"overallLatency", a.average_latency}}}};
  send_json(http::status::ok, protocol::to_json_text(o));
}

void HttpSession::answer_sessions() {
  json::array arr;
  for (const auto& s : state_->sessions.list()) {
    json::array subs;
    for (const auto& c : s.subscriptions)
      subs.emplace_back(c);
    arr.push_back(json::object{{"sessionId", s.id},
                               {"connected", s.connected},
                               {"transport", to_string(s.transport)},
                               {"subscriptions", std::move(subs)},
                               {"createdAt", to_iso8601(s.created_at)},
                               {"lastSeenAt", to_iso8601(s.last_seen_at)}});
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
  std::optional<std::string_view> id;
  if (p->id)
    id = *p->id;
  state_->metrics.message_in(req.body().size());
  auto r = state_->hub->publish(p->channel, id, p->data, now_ms());
  protocol::Ack a;
  a.id = std::move(r.id);
  a.channel = std::move(p->channel);
  a.seq = r.seq;
  send_json(http::status::ok, protocol::to_json(a));
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
  state_->pending_polls.fetch_add(1, std::memory_order_relaxed);
  std::weak_ptr<HttpSession> weak = weak_from_this();
  waiter_ = std::make_shared<PollWaiter>([weak] {
    if (auto self = weak.lock())
      self->poll_ready();
  });
  bool answer_now = stopping_;
  std::vector<std::string> names;
  for (auto& c : poll.channels) {
    std::optional<std::string_view> epoch;
    if (c.epoch)
      epoch = *c.epoch;
    // Subscribe first, then look at history (the hub does both atomically): a publish can
    // neither be missed between the two nor arrive twice.
    auto r = state_->hub->subscribe(c.channel, waiter_, c.since, epoch);
    PollChannelState s;
    s.channel = c.channel;
    s.cursor = r.last_seq;
    s.epoch = r.epoch;
    s.recovered = r.recovered;
    if (c.since && !r.recovered)
      answer_now = true;  // the gap is news: say recovered:false at once
    std::uint64_t seq = c.since.value_or(0);
    for (auto& f : r.replay)
      waiter_->add(c.channel, ++seq, std::move(f));
    poll_channels_.push_back(std::move(s));
    names.push_back(c.channel);
  }
  if (poll.session)
    state_->sessions.polled(*poll.session, names, Clock::now(), std::chrono::system_clock::now());
  if (answer_now || waiter_->has_items())
    return finish_poll();
  poll_timer_.emplace(stream_.get_executor());
  poll_timer_->expires_after(poll.timeout);
  poll_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->finish_poll();
  });
}

void HttpSession::poll_ready() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->finish_poll(); });
}

void HttpSession::finish_poll() {
  if (!waiter_)
    return;  // already answered
  auto items = waiter_->take();
  for (const auto& c : poll_channels_)
    state_->hub->unsubscribe(c.channel, waiter_.get());
  waiter_.reset();
  state_->pending_polls.fetch_sub(1, std::memory_order_relaxed);
  if (poll_timer_)
    poll_timer_->cancel();

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
