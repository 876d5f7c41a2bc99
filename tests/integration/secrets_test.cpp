// CONTRACT §8 and issue 12: no credential ever in a log line, in /api/sessions, /metrics,
// /api/health, /api/websocket/metrics or in an error sent to a client. The real binary, at
// --log-level debug (its most verbose), is given every kind of secret it knows (--auth-token
// or a JWT secret, --admin-token, resume tokens); each is used successfully and unsuccessfully
// (wrong tokens, wrong resume tokens, refused refreshes), as a query parameter and as a
// header. Then everything the server wrote (stdout and stderr) and everything it answered
// (bodies, headers, frames, close reasons; all but the `welcome` that hands a client its own
// resume token) is searched for each secret and for each token the clients presented.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/jwt_maker.hpp"

namespace steadyws::test {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// 128 random bits as hex after `prefix`: a hit in the output is this secret, not chance.
std::string random_secret(std::string_view prefix = {}) {
  std::random_device rd;
  std::string out(prefix);
  for (int i = 0; i < 4; ++i) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", static_cast<unsigned>(rd()));
    out += b;
  }
  return out;
}

Headers bearer(const std::string& t) {
  return {{"Authorization", "Bearer " + t}};
}

WsOptions at(const std::string& target, Headers headers = {}) {
  WsOptions o;
  o.target = target;
  o.headers = std::move(headers);
  return o;
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything the server showed its clients, for the search at the end.
class Shown {
 public:
  HttpResponse add(HttpResponse r) {
    text_ += r.body + "\n";
    for (const auto& [name, value] : r.headers)
      text_ += name + ": " + value + "\n";
    return r;
  }
  HandshakeResult add(HandshakeResult r) {
    text_ += r.body + "\n";
    return r;
  }
  Frame add(Frame f) {
    text_ += f.data + "\n" + f.close_reason + "\n";
    return f;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The surfaces of §8 that list sessions and connections, read with the admin token while the
// connections are open; each must answer 200.
void read_the_surfaces(std::uint16_t port, const std::string& admin, Shown& shown,
                       std::string* sessions_body) {
  for (const char* path : {"/api/sessions", "/metrics", "/api/health", "/api/websocket/metrics",
                           "/api/websocket/metrics/history"}) {
    const auto r = shown.add(http_get(port, path, bearer(admin)));
    EXPECT_EQ(r.status, 200u) << path << ": " << r.describe();
    if (std::string_view(path) == "/api/sessions")
      *sessions_body = r.body;
  }
}

// No secret in the server's output or in what it showed.
void expect_nowhere(ServerProcess& server, const Shown& shown,
                    const std::vector<std::string>& secrets) {
  ASSERT_TRUE(server.stop()) << "the server did not stop";
  const std::string logs = server.stdout_text() + server.stderr_text();
  EXPECT_NE(logs.find("ws open"), std::string::npos) << "the debug log was written:\n" << logs;
  for (const auto& s : secrets) {
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(logs.find(s), std::string::npos) << "in the server's output: " << s << "\n" << logs;
    EXPECT_EQ(shown.text().find(s), std::string::npos) << "in an answer to a client: " << s << "\n"
                                                       << shown.text();
  }
}

TEST(ServeSecrets, StaticTokensAndResumeTokensStayOutOfLogsEndpointsAndErrors) {
  const std::string client = random_secret("client-");
  const std::string admin = random_secret("admin-");
  const std::string wrong = random_secret("wrong-");
  const std::string wrong_admin = random_secret("wrongadmin-");
  const std::string wrong_resume = random_secret();  // hex, shaped like a real one
  ServerProcess server({"--log-level", "debug", "--auth-token", client, "--admin-token", admin});
  const auto port = server.port();
  std::vector<std::string> secrets{client, admin, wrong, wrong_admin, wrong_resume};
  Shown shown;
  std::string sessions;
  std::string sid;
  {
    // The client token in the query (as a browser sends it) and as a header; the admin token
    // opens /ws too.
    auto a = WsClient::connect(port, at("/ws?token=" + client));
    sid = a->session_id();
    const std::string resume = str_at(a->welcome(), "resumeToken");
    ASSERT_GE(resume.size(), 32u);
    secrets.push_back(resume);
    subscribe(*a, "s");
    auto b = WsClient::connect(port, at("/ws", bearer(client)));
    auto c = WsClient::connect(port, at("/ws?token=" + admin));
    // A resume with the right token takes the session over (the old link is closed) ...
    auto a2 = WsClient::connect(
        port, at("/ws?token=" + client + "&session=" + sid + "&resume=" + resume));
    EXPECT_EQ(a2->welcome().at("resumed"), true);
    EXPECT_TRUE(shown.add(a->wait_closed()).is_terminal());
    // ... one with a wrong token gets a new session.
    auto t = WsClient::connect(
        port, at("/ws?session=" + sid + "&resume=" + wrong_resume, bearer(client)));
    EXPECT_EQ(t->welcome().at("resumed"), false);
    secrets.push_back(str_at(t->welcome(), "resumeToken"));
    // Wrong client tokens on the upgrade, in the query and as a header.
    EXPECT_EQ(shown.add(WsClient::try_connect(port, at("/ws?token=" + wrong))).status, 401u);
    EXPECT_EQ(shown.add(WsClient::try_connect(port, at("/ws", bearer(wrong)))).status, 401u);
    // HTTP, right and wrong: publish, poll (with the session's resume token), the admin
    // surface with the client token and with a wrong admin token.
    EXPECT_EQ(
        shown.add(http_post(port, "/api/publish", R"({"channel":"s","data":1})", bearer(client)))
            .status,
        200u);
    EXPECT_EQ(
        shown.add(http_post(port, "/api/publish", R"({"channel":"s","data":1})", bearer(wrong)))
            .status,
        401u);
    EXPECT_EQ(shown
                  .add(http_get(port, "/api/poll?channel=s&timeout=0&token=" + client +
                                          "&session=" + sid + "&resume=" + resume))
                  .status,
              200u);
    EXPECT_EQ(shown
                  .add(http_get(port, "/api/poll?channel=s&timeout=0&session=" + sid +
                                          "&resume=" + wrong_resume + "&token=" + client))
                  .status,
              200u);
    EXPECT_EQ(shown.add(http_get(port, "/api/poll?channel=s&timeout=0&token=" + wrong)).status,
              401u);
    EXPECT_EQ(shown.add(http_get(port, "/api/sessions", bearer(client))).status, 401u);
    EXPECT_EQ(shown.add(http_get(port, "/metrics?token=" + wrong_admin)).status, 401u);
    EXPECT_EQ(
        shown.add(http_post(port, "/api/admin/disconnect?session=" + sid, "", bearer(wrong_admin)))
            .status,
        401u);
    read_the_surfaces(port, admin, shown, &sessions);
  }
  EXPECT_NE(sessions.find(sid), std::string::npos) << "the sessions were listed: " << sessions;
  expect_nowhere(server, shown, secrets);
}

TEST(ServeSecrets, JwtsAndTheJwtSecretStayOutOfLogsEndpointsAndErrors) {
  const std::string key = random_secret("jwtsecret-");
  const std::string admin = random_secret("admin-");
  ServerProcess server(
      {"--log-level", "debug", "--jwt-secret", key, "--admin-token", admin, "--jwt-leeway", "0"});
  const auto port = server.port();
  const std::string good = make_jwt("HS256", key, claims("alice", now_s() + 3600));
  const std::string renewed = make_jwt("HS256", key, claims("alice", now_s() + 7200));
  const std::string forged =
      make_jwt("HS256", random_secret("other-secret-"), claims("alice", now_s() + 3600));
  const std::string expired = make_jwt("HS256", key, claims("alice", now_s() - 60));
  const std::string other_sub = make_jwt("HS256", key, claims("mallory", now_s() + 3600));
  std::vector<std::string> secrets{key, admin};
  // Each token whole, and its signature alone (the header segment is the same in all).
  for (const auto* t : {&good, &renewed, &forged, &expired, &other_sub}) {
    secrets.push_back(*t);
    secrets.push_back(t->substr(t->rfind('.') + 1));
  }
  Shown shown;
  std::string sessions;
  std::string sid;
  {
    auto a = WsClient::connect(port, at("/ws?token=" + good));
    sid = a->session_id();
    const std::string resume = str_at(a->welcome(), "resumeToken");
    ASSERT_GE(resume.size(), 32u);
    secrets.push_back(resume);
    subscribe(*a, "j");
    auto b = WsClient::connect(port, at("/ws", bearer(good)));
    // Refreshes: taken, then refused three ways (each refusal is an error frame to the client).
    ASSERT_TRUE(a->send_json(json::object{{"type", "refresh"}, {"token", renewed}}));
    EXPECT_EQ(shown.add(a->next_of_type("refreshed")).type(), "refreshed");
    for (const auto* t : {&forged, &expired, &other_sub}) {
      ASSERT_TRUE(a->send_json(json::object{{"type", "refresh"}, {"token", *t}}));
      const Frame e = shown.add(a->next_of_type("error"));
      EXPECT_EQ(str_at(e.json(), "code"), "unauthorized") << e.describe();
    }
    // Resume with the token (the JWT in the query), and with a wrong resume token.
    auto a2 = WsClient::connect(
        port, at("/ws?session=" + sid + "&resume=" + resume + "&token=" + renewed));
    EXPECT_EQ(a2->welcome().at("resumed"), true);
    EXPECT_TRUE(shown.add(a->wait_closed()).is_terminal());
    auto t = WsClient::connect(
        port, at("/ws?session=" + sid + "&resume=" + random_secret(), bearer(good)));
    EXPECT_EQ(t->welcome().at("resumed"), false);
    secrets.push_back(str_at(t->welcome(), "resumeToken"));
    // Refused upgrades.
    EXPECT_EQ(shown.add(WsClient::try_connect(port, at("/ws?token=" + forged))).status, 401u);
    EXPECT_EQ(shown.add(WsClient::try_connect(port, at("/ws", bearer(expired)))).status, 401u);
    // HTTP, right and wrong, and the admin surface with a client JWT.
    EXPECT_EQ(
        shown.add(http_post(port, "/api/publish", R"({"channel":"j","data":1})", bearer(good)))
            .status,
        200u);
    EXPECT_EQ(
        shown.add(http_post(port, "/api/publish", R"({"channel":"j","data":1})", bearer(forged)))
            .status,
        401u);
    EXPECT_EQ(shown
                  .add(http_get(port, "/api/poll?channel=j&timeout=0&token=" + good +
                                          "&session=" + sid + "&resume=" + resume))
                  .status,
              200u);
    EXPECT_EQ(shown.add(http_get(port, "/api/poll?channel=j&timeout=0&token=" + expired)).status,
              401u);
    EXPECT_EQ(shown.add(http_get(port, "/api/sessions", bearer(good))).status, 401u);
    read_the_surfaces(port, admin, shown, &sessions);
  }
  EXPECT_NE(sessions.find(sid), std::string::npos) << "the sessions were listed: " << sessions;
  EXPECT_NE(sessions.find("alice"), std::string::npos) << sessions;
  expect_nowhere(server, shown, secrets);
}

}  // namespace
}  // namespace steadyws::test
