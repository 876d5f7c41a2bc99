// CONTRACT §3 over a real socket: every HTTP endpoint's shape, the long poll, publish and
// ping over HTTP, and the gates on /ws and /api (--auth-token, --allowed-origin,
// --max-connections).
#include <chrono>
#include <future>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

using Clock = std::chrono::steady_clock;

bool is_number(const json::value* v) {
  return v && (v->is_number());
}

bool is_iso8601(const json::value* v) {
  static const std::regex re(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$)");
  return v && v->is_string() && std::regex_match(std::string(v->as_string()), re);
}

// HEALTH of CONTRACT §3.
::testing::AssertionResult is_health(const json::value& h) {
  if (!h.is_object())
    return ::testing::AssertionFailure() << "not an object: " << dump(h);
  const auto& o = h.as_object();
  if (!o.contains("id") || !(o.at("id").is_string() || o.at("id").is_number()))
    return ::testing::AssertionFailure() << "id: " << dump(h);
  if (!is_iso8601(o.if_contains("connectedAt")))
    return ::testing::AssertionFailure() << "connectedAt not ISO 8601: " << dump(h);
  const auto* lh = o.if_contains("lastHeartbeat");
  if (!lh || !(lh->is_null() || is_iso8601(lh)))
    return ::testing::AssertionFailure() << "lastHeartbeat not ISO 8601 (or null): " << dump(h);
  for (const char* k : {"missedHeartbeats", "messagesSent", "messagesReceived"})
    if (!is_number(o.if_contains(k)))
      return ::testing::AssertionFailure() << k << " not a number: " << dump(h);
  const auto* lat = o.if_contains("latency");
  if (!lat || !lat->is_array())
    return ::testing::AssertionFailure() << "latency not an array: " << dump(h);
  for (const auto& x : lat->as_array())
    if (!x.is_number())
      return ::testing::AssertionFailure() << "latency holds a non-number: " << dump(h);
  const auto* alive = o.if_contains("isAlive");
  if (!alive || !alive->is_bool())
    return ::testing::AssertionFailure() << "isAlive not a bool: " << dump(h);
  return ::testing::AssertionSuccess();
}

// The body is `{"error":CODE,"message":"…"}` (CONTRACT §3).
::testing::AssertionResult is_http_error(const HttpResponse& r, unsigned status,
                                         const std::string& code = {}) {
  if (r.status != status)
    return ::testing::AssertionFailure() << "expected " << status << ", got " << r.describe();
  const auto o = r.object();
  if (str_at(o, "error").empty() || !o.contains("message") || !o.at("message").is_string())
    return ::testing::AssertionFailure() << "not {error, message}: " << r.describe();
  if (!code.empty() && str_at(o, "error") != code)
    return ::testing::AssertionFailure() << "expected error " << code << ": " << r.describe();
  return ::testing::AssertionSuccess();
}

std::int64_t clients_in_health(std::uint16_t port) {
  const auto o = http_get(port, "/api/health").object();
  const auto* ws = o.if_contains("websocket");
  if (!ws || !ws->is_object())
    return -1;
  return int_at(ws->as_object(), "clients").value_or(-1);
}

TEST(ServeHttp, HealthHasTheContractShape) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  ASSERT_TRUE(c->alive());
  const auto r = http_get(server.port(), "/api/health");
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos)
      << r.header("content-type");
  const auto o = r.object();
  EXPECT_EQ(str_at(o, "status"), "healthy") << r.body;
  ASSERT_TRUE(o.contains("websocket") && o.at("websocket").is_object()) << r.body;
  const auto& ws = o.at("websocket").as_object();
  EXPECT_EQ(int_at(ws, "clients"), 1) << r.body;
  for (const char* k : {"connectionReliability", "averageLatency", "errorRate"})
    EXPECT_TRUE(is_number(ws.if_contains(k))) << k << ": " << r.body;
  ASSERT_TRUE(ws.contains("connectionHealthDetails") && ws.at("connectionHealthDetails").is_array())
      << r.body;
  const auto& details = ws.at("connectionHealthDetails").as_array();
  ASSERT_EQ(details.size(), 1u) << r.body;
  EXPECT_TRUE(is_health(details[0]));
}

TEST(ServeHttp, HealthCountsClientsAsTheyComeAndGo) {
  ServerProcess server;
  EXPECT_EQ(clients_in_health(server.port()), 0);
  auto a = WsClient::connect(server.port());
  auto b = WsClient::connect(server.port());
  EXPECT_TRUE(wait_until([&] { return clients_in_health(server.port()) == 2; }, kDeadline));
  a->close();
  EXPECT_TRUE(a->wait_closed().is_terminal());
  EXPECT_TRUE(wait_until([&] { return clients_in_health(server.port()) == 1; }, kDeadline))
      << clients_in_health(server.port());
}

TEST(ServeHttp, WebsocketMetricsHaveTheContractShape) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  publish(*c, "m", 1);
  const auto r = http_get(server.port(), "/api/websocket/metrics");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  ASSERT_TRUE(o.contains("serverMetrics") && o.at("serverMetrics").is_object()) << r.body;
  const auto& sm = o.at("serverMetrics").as_object();
  for (const char* k : {"totalConnections", "activeConnections", "failedConnections",
                        "averageConnectionUptime", "messagesThroughput", "errorRate"})
    EXPECT_TRUE(is_number(sm.if_contains(k))) << k << ": " << r.body;
  EXPECT_EQ(int_at(sm, "activeConnections"), 1) << r.body;
  EXPECT_GE(int_at(sm, "totalConnections").value_or(0), 1) << r.body;
  ASSERT_TRUE(o.contains("connectionDetails") && o.at("connectionDetails").is_array()) << r.body;
  ASSERT_EQ(o.at("connectionDetails").as_array().size(), 1u) << r.body;
  EXPECT_TRUE(is_health(o.at("connectionDetails").as_array()[0]));
  ASSERT_TRUE(o.contains("summary") && o.at("summary").is_object()) << r.body;
  const auto& s = o.at("summary").as_object();
  for (const char* k : {"healthyConnections", "unhealthyConnections", "overallLatency"})
    EXPECT_TRUE(is_number(s.if_contains(k))) << k << ": " << r.body;
}

TEST(ServeHttp, SessionsListTheConnectedSessionWithItsSubscriptions) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  subscribe(*c, "alpha");
  subscribe(*c, "beta");
  const auto r = http_get(server.port(), "/api/sessions");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  ASSERT_TRUE(o.contains("sessions") && o.at("sessions").is_array()) << r.body;
  const json::object* mine = nullptr;
  for (const auto& s : o.at("sessions").as_array())
    if (s.is_object() && str_at(s.as_object(), "sessionId") == c->session_id())
      mine = &s.as_object();
  ASSERT_NE(mine, nullptr) << "session " << c->session_id() << " not listed: " << r.body;
  EXPECT_EQ(mine->at("connected"), true) << r.body;
  EXPECT_EQ(str_at(*mine, "transport"), "websocket") << r.body;
  ASSERT_TRUE(mine->contains("subscriptions") && mine->at("subscriptions").is_array()) << r.body;
  std::vector<std::string> subs;
  for (const auto& x : mine->at("subscriptions").as_array())
    if (x.is_string())
      subs.emplace_back(x.as_string());
  std::sort(subs.begin(), subs.end());
  EXPECT_EQ(subs, (std::vector<std::string>{"alpha", "beta"})) << r.body;
  EXPECT_TRUE(mine->contains("createdAt")) << r.body;
  EXPECT_TRUE(mine->contains("lastSeenAt")) << r.body;
}

TEST(ServeHttp, SessionOfAClosedConnectionIsKeptAsDisconnected) {
  ServerProcess server;
  std::string sid;
  {
    auto c = WsClient::connect(server.port());
    sid = c->session_id();
    c->close();
    c->wait_closed();
  }
  bool seen_disconnected = wait_until(
      [&] {
        const auto o = http_get(server.port(), "/api/sessions").object();
        const auto* ss = o.if_contains("sessions");
        if (!ss || !ss->is_array())
          return false;
        for (const auto& s : ss->as_array())
          if (s.is_object() && str_at(s.as_object(), "sessionId") == sid)
            return s.as_object().if_contains("connected") && s.as_object().at("connected") == false;
        return false;
      },
      kDeadline);
  EXPECT_TRUE(seen_disconnected) << http_get(server.port(), "/api/sessions").body;
}

TEST(ServeHttp, SessionIsDroppedAfterItsGrace) {
  ServerProcess server({"--session-grace", "5000", "--cleanup-interval", "100"});
  std::string sid;
  std::string token;
  {
    auto c = WsClient::connect(server.port());
    sid = c->session_id();
    token = str_at(c->welcome(), "resumeToken");
    subscribe(*c, "g");
    c->close();
    c->wait_closed();
  }
  const auto listed = [&] {
    return http_get(server.port(), "/api/sessions").body.find(sid) != std::string::npos;
  };
  EXPECT_TRUE(listed()) << "dropped at once, not kept for the grace period";
  EXPECT_TRUE(wait_until([&] { return !listed(); }, kDeadline))
      << "still listed: " << http_get(server.port(), "/api/sessions").body;
  WsOptions o;
  o.target = "/ws?session=" + sid + "&resume=" + token;
  auto again = WsClient::connect(server.port(), o);
  EXPECT_EQ(again->welcome().at("resumed"), false) << dump(again->welcome());
}

TEST(ServeHttp, PublishOverHttpAcksAndDeduplicates) {
  ServerProcess server;
  auto sub = WsClient::connect(server.port());
  subscribe(*sub, "hp");
  const std::string body = R"({"channel":"hp","data":{"k":"v"},"id":"h-1"})";
  const auto r1 = http_post(server.port(), "/api/publish", body);
  ASSERT_EQ(r1.status, 200u) << r1.describe();
  const auto ack = r1.object();
  EXPECT_EQ(str_at(ack, "type"), "ack") << r1.body;
  EXPECT_EQ(str_at(ack, "id"), "h-1") << r1.body;
  EXPECT_EQ(str_at(ack, "channel"), "hp") << r1.body;
  EXPECT_EQ(int_at(ack, "seq"), 1) << r1.body;
  const auto r2 = http_post(server.port(), "/api/publish", body);
  EXPECT_EQ(r2.status, 200u);
  EXPECT_EQ(r2.object(), ack) << "dedup: the first ack again";
  // A WebSocket publish with the same id is deduplicated against the HTTP one.
  EXPECT_EQ(int_at(publish(*sub, "hp", "again", "h-1"), "seq"), 1);
  const auto msgs = drain_messages(*sub);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].at("data"), (json::object{{"k", "v"}}));
}

TEST(ServeHttp, PingOverHttpEchoesTheTimestamp) {
  ServerProcess server;
  for (const std::string ts : {"1700000000000", "-3", "2.5", "18446744073709551615"}) {
    const auto r = http_post(server.port(), "/api/ping", R"({"timestamp":)" + ts + "}");
    ASSERT_EQ(r.status, 200u) << r.describe();
    const auto o = r.object();
    EXPECT_EQ(str_at(o, "type"), "pong") << r.body;
    ASSERT_TRUE(o.contains("timestamp")) << r.body;
    EXPECT_EQ(o.at("timestamp"), json::parse(ts)) << r.body;
    EXPECT_EQ(o.at("timestamp").kind(), json::parse(ts).kind()) << r.body;
    EXPECT_TRUE(int_at(o, "serverTime")) << r.body;
  }
}

TEST(ServeHttp, PollAnswersAtOnceWhenMessagesAreThere) {
  ServerProcess server;
  for (int i = 1; i <= 2; ++i)
    ASSERT_EQ(http_post(server.port(), "/api/publish",
                        R"({"channel":"p","data":)" + std::to_string(i) + "}")
                  .status,
              200u);
  const auto start = Clock::now();
  const auto r = http_get(server.port(), "/api/poll?channel=p&since=0&timeout=30000");
  EXPECT_LT(Clock::now() - start, 10s) << "answered only at the timeout";
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  ASSERT_TRUE(o.contains("messages") && o.at("messages").is_array()) << r.body;
  const auto& msgs = o.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 2u) << r.body;
  EXPECT_EQ(str_at(msgs[0].as_object(), "type"), "message") << r.body;
  EXPECT_EQ(int_at(msgs[0].as_object(), "seq"), 1) << r.body;
  EXPECT_EQ(int_at(msgs[1].as_object(), "seq"), 2) << r.body;
  EXPECT_EQ(msgs[1].as_object().at("data"), 2) << r.body;
  ASSERT_TRUE(o.contains("cursors") && o.at("cursors").is_object()) << r.body;
  EXPECT_EQ(int_at(o.at("cursors").as_object(), "p"), 2) << r.body;
  ASSERT_TRUE(o.contains("epochs") && o.at("epochs").is_object()) << r.body;
  EXPECT_FALSE(str_at(o.at("epochs").as_object(), "p").empty()) << r.body;
  ASSERT_TRUE(o.contains("recovered") && o.at("recovered").is_object()) << r.body;
  EXPECT_EQ(o.at("recovered").as_object().at("p"), true) << r.body;
}

TEST(ServeHttp, PollIsAnsweredTheMomentAMessageIsPublished) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  const auto start = Clock::now();
  auto poll = std::async(std::launch::async, [&] {
    return http_get(server.port(), "/api/poll?channel=lp&since=0&timeout=30000", {}, 40s);
  });
  // since=0 keeps this correct whichever arrives first; the pause only makes it likely that
  // the poll is parked when the publish comes, which is the path under test.
  EXPECT_EQ(poll.wait_for(300ms), std::future_status::timeout) << "poll answered with nothing";
  publish(*pub, "lp", "wake");
  ASSERT_EQ(poll.wait_for(10s), std::future_status::ready) << "parked poll not woken";
  EXPECT_LT(Clock::now() - start, 10s);
  const auto r = poll.get();
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  ASSERT_TRUE(o.contains("messages")) << r.body;
  ASSERT_EQ(o.at("messages").as_array().size(), 1u) << r.body;
  EXPECT_EQ(o.at("messages").as_array()[0].as_object().at("data"), "wake") << r.body;
  EXPECT_EQ(int_at(o.at("cursors").as_object(), "lp"), 1) << r.body;
}

TEST(ServeHttp, PollWithNothingNewAnswersEmptyAtItsTimeout) {
  ServerProcess server;
  const auto start = Clock::now();
  const auto r = http_get(server.port(), "/api/poll?channel=quiet&since=0&timeout=300");
  const auto took = Clock::now() - start;
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_GE(took, 250ms) << "did not wait for the timeout";
  EXPECT_LT(took, 10s);
  const auto o = r.object();
  ASSERT_TRUE(o.contains("messages")) << r.body;
  EXPECT_TRUE(o.at("messages").as_array().empty()) << r.body;
  EXPECT_EQ(int_at(o.at("cursors").as_object(), "quiet"), 0) << r.body;
}

TEST(ServeHttp, PollWithoutSinceStartsAtTheLastSeq) {
  ServerProcess server;
  for (int i = 0; i < 3; ++i)
    http_post(server.port(), "/api/publish", R"({"channel":"ns","data":0})");
  const auto r = http_get(server.port(), "/api/poll?channel=ns&timeout=200");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  EXPECT_TRUE(o.at("messages").as_array().empty()) << r.body;
  EXPECT_EQ(int_at(o.at("cursors").as_object(), "ns"), 3) << r.body;
}

TEST(ServeHttp, PollSeveralChannelsWithTheirOwnCursors) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  for (int i = 0; i < 3; ++i)
    publish(*pub, "x1", i);
  publish(*pub, "x2", "only");
  const auto r =
      http_get(server.port(), "/api/poll?channel=x1&since=2&channel=x2&since=0&timeout=5000");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  const auto& msgs = o.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 2u) << r.body;
  EXPECT_EQ(int_at(o.at("cursors").as_object(), "x1"), 3) << r.body;
  EXPECT_EQ(int_at(o.at("cursors").as_object(), "x2"), 1) << r.body;
}

TEST(ServeHttp, PollWithAWrongEpochIsNotRecovered) {
  ServerProcess server;
  http_post(server.port(), "/api/publish", R"({"channel":"we","data":1})");
  http_post(server.port(), "/api/publish", R"({"channel":"we","data":2})");
  const auto r =
      http_get(server.port(), "/api/poll?channel=we&since=1&epoch=bogus-epoch&timeout=200");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto o = r.object();
  EXPECT_EQ(o.at("recovered").as_object().at("we"), false) << r.body;
  EXPECT_TRUE(o.at("messages").as_array().empty()) << r.body;
}

TEST(ServeHttp, PrometheusMetricsAreTextExposition) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  publish(*c, "pm", 1);
  const auto r = http_get(server.port(), "/metrics");
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_EQ(r.header("content-type").rfind("text/plain", 0), 0u) << r.header("content-type");
  EXPECT_NE(r.body.find("# TYPE "), std::string::npos) << r.body;
  // Every sample line is `name{labels} value`.
  static const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+]?([0-9.eE+-]+|NaN|Inf|\+Inf|-Inf)( [0-9]+)?$)");
  std::size_t samples = 0;
  std::size_t pos = 0;
  while (pos < r.body.size()) {
    auto eol = r.body.find('\n', pos);
    if (eol == std::string::npos)
      eol = r.body.size();
    const std::string line = r.body.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#')
      continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << "bad sample line: " << line;
    ++samples;
  }
  EXPECT_GE(samples, 5u) << r.body;
}

TEST(ServeHttp, DashboardAndReliabilityPageAreHtml) {
  ServerProcess server;
  for (const char* path : {"/", "/reliability-test"}) {
    const auto r = http_get(server.port(), path);
    ASSERT_EQ(r.status, 200u) << path << ": " << r.describe();
    EXPECT_EQ(r.header("content-type").rfind("text/html", 0), 0u)
        << path << ": " << r.header("content-type");
    std::string lower = r.body;
    for (auto& ch : lower)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_NE(lower.find("<html"), std::string::npos) << path;
  }
}

// ---- gates --------------------------------------------------------------------------------

TEST(ServeAuth, WebSocketNeedsTheTokenInTheQueryOrAsBearer) {
  ServerProcess server({"--auth-token", "s3cret"});
  const auto none = WsClient::try_connect(server.port());
  EXPECT_FALSE(none.upgraded);
  EXPECT_EQ(none.status, 401u) << none.error << " " << none.body;
  WsOptions wrong;
  wrong.target = "/ws?token=nope";
  EXPECT_EQ(WsClient::try_connect(server.port(), wrong).status, 401u);

  WsOptions query;
  query.target = "/ws?token=s3cret";
  auto a = WsClient::connect(server.port(), query);
  EXPECT_TRUE(a->alive());
  WsOptions bearer;
  bearer.headers = {{"Authorization", "Bearer s3cret"}};
  auto b = WsClient::connect(server.port(), bearer);
  EXPECT_TRUE(b->alive());
}

TEST(ServeAuth, ApiNeedsTheToken) {
  ServerProcess server({"--auth-token", "s3cret"});
  const auto port = server.port();
  EXPECT_TRUE(is_http_error(http_get(port, "/api/health"), 401, "unauthorized"));
  EXPECT_TRUE(is_http_error(http_get(port, "/api/health", {{"Authorization", "Bearer wrong"}}), 401,
                            "unauthorized"));
  EXPECT_TRUE(is_http_error(http_post(port, "/api/publish", R"({"channel":"a","data":1})"), 401));
  EXPECT_TRUE(is_http_error(http_post(port, "/api/ping", R"({"timestamp":1})"), 401));
  EXPECT_TRUE(is_http_error(http_get(port, "/api/sessions"), 401));
  EXPECT_TRUE(is_http_error(http_get(port, "/api/websocket/metrics"), 401));
  EXPECT_TRUE(is_http_error(http_get(port, "/api/poll?channel=a&timeout=10"), 401));

  EXPECT_EQ(http_get(port, "/api/health", {{"Authorization", "Bearer s3cret"}}).status, 200u);
  EXPECT_EQ(http_get(port, "/api/health?token=s3cret").status, 200u);
  EXPECT_EQ(http_post(port, "/api/publish?token=s3cret", R"({"channel":"a","data":1})").status,
            200u);
}

TEST(ServeAuth, DisallowedOriginIsRefusedWith403) {
  ServerProcess server(
      {"--allowed-origin", "http://good.example", "--allowed-origin", "http://also.example"});
  WsOptions evil;
  evil.headers = {{"Origin", "http://evil.example"}};
  const auto r = WsClient::try_connect(server.port(), evil);
  EXPECT_FALSE(r.upgraded);
  EXPECT_EQ(r.status, 403u) << r.error << " " << r.body;
  for (const char* origin : {"http://good.example", "http://also.example"}) {
    WsOptions good;
    good.headers = {{"Origin", origin}};
    auto c = WsClient::connect(server.port(), good);
    EXPECT_TRUE(c->alive()) << origin;
  }
}

TEST(ServeLimits, UpgradesOverMaxConnectionsGet503) {
  ServerProcess server({"--max-connections", "2"});
  auto a = WsClient::connect(server.port());
  auto b = WsClient::connect(server.port());
  const auto r = WsClient::try_connect(server.port());
  EXPECT_FALSE(r.upgraded);
  EXPECT_EQ(r.status, 503u) << r.error << " " << r.body;
  // HTTP keeps working at the limit, and the existing clients too.
  EXPECT_EQ(http_get(server.port(), "/api/health").status, 200u);
  EXPECT_TRUE(a->alive());
  // Once one leaves, a new one gets in.
  a->close();
  a->wait_closed();
  EXPECT_TRUE(wait_until([&] { return WsClient::try_connect(server.port()).upgraded; }, kDeadline));
  EXPECT_TRUE(b->alive());
}

}  // namespace
}  // namespace steadyws::test
