// CONTRACT §8 row by row, allowed and refused, without a socket: decide() on request facts.
#include "server/policy.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

using namespace std::chrono_literals;

const TimePoint t0{};
constexpr std::int64_t kNowMs = 1'700'000'000'000;
constexpr std::string_view kApp = "https://app.example";
constexpr std::string_view kEvil = "https://evil.example";

std::optional<std::string> header(const Decision& d, std::string_view name) {
  for (const auto& [k, v] : d.headers) {
    if (k == name)
      return v;
  }
  return std::nullopt;
}

RequestFacts facts(std::string_view path, Method m = Method::get) {
  RequestFacts r;
  r.path = path;
  r.route = route_of(path);
  r.method = m;
  r.client_ip = "192.0.2.1";
  return r;
}

RequestFacts post(std::string_view path, std::string_view body = "{}") {
  RequestFacts r = facts(path, Method::post);
  r.content_type = "application/json";
  r.body_bytes = body.size();
  return r;
}

PolicyConfig with_origins() {
  PolicyConfig c;
  c.allowed_origins = {std::string(kApp)};
  return c;
}

Decision run(const PolicyConfig& c, const RequestFacts& r) {
  return decide(c, r, t0, kNowMs);
}

// ---- origins and CORS ----------------------------------------------------------------------

TEST(Policy, AllowedOriginGetsCorsHeaders) {
  auto r = facts("/api/health");
  r.origin = kApp;
  const auto d = run(with_origins(), r);
  EXPECT_EQ(d.outcome, Outcome::proceed);
  EXPECT_EQ(header(d, "Access-Control-Allow-Origin"), std::string(kApp));
  EXPECT_EQ(header(d, "Vary"), "Origin");
}

TEST(Policy, OriginMatchIsCaseInsensitive) {
  auto r = post("/api/publish");
  r.origin = "HTTPS://APP.example";
  EXPECT_EQ(run(with_origins(), r).outcome, Outcome::proceed);
}

TEST(Policy, DisallowedOriginGetsNoCorsHeadersOnGet) {
  auto r = facts("/api/health");
  r.origin = kEvil;
  const auto d = run(with_origins(), r);
  EXPECT_EQ(d.outcome, Outcome::proceed) << "a GET is answered; the browser hides it";
  EXPECT_FALSE(header(d, "Access-Control-Allow-Origin"));
  EXPECT_FALSE(header(d, "Vary"));
}

TEST(Policy, NoListMeansNoCorsHeadersButV1Behaviour) {
  PolicyConfig c;
  auto get = facts("/api/health");
  get.origin = kEvil;
  auto d = run(c, get);
  EXPECT_EQ(d.outcome, Outcome::proceed);
  EXPECT_TRUE(d.headers.empty());
  auto p = post("/api/publish");
  p.origin = kEvil;
  EXPECT_EQ(run(c, p).outcome, Outcome::proceed) << "v1: no list, any origin";
  auto ws = facts("/ws");
  ws.origin = kEvil;
  EXPECT_EQ(run(c, ws).outcome, Outcome::proceed);
}

TEST(Policy, DisallowedOriginRefusedOnEveryPost) {
  for (const auto* path : {"/api/publish", "/api/ping", "/api/admin/disconnect"}) {
    auto r = post(path);
    r.origin = kEvil;
    const auto d = run(with_origins(), r);
    EXPECT_EQ(d.outcome, Outcome::refuse) << path;
    EXPECT_EQ(d.status, 403u) << path;
    EXPECT_EQ(d.code, "forbidden") << path;
  }
}

TEST(Policy, AllowedOriginMayPost) {
  auto r = post("/api/publish");
  r.origin = kApp;
  const auto d = run(with_origins(), r);
  EXPECT_EQ(d.outcome, Outcome::proceed);
  EXPECT_EQ(header(d, "Access-Control-Allow-Origin"), std::string(kApp));
}

TEST(Policy, PostWithoutOriginIsNotABrowserAndPasses) {
  EXPECT_EQ(run(with_origins(), post("/api/publish")).outcome, Outcome::proceed);
}

TEST(Policy, NullOriginIsRefusedWhenAListExists) {
  auto r = post("/api/publish");
  r.origin = "null";  // sandboxed iframes, file:// pages
  EXPECT_EQ(run(with_origins(), r).status, 403u);
}

TEST(Policy, DisallowedOriginRefusedOnWebSocketUpgrade) {
  auto r = facts("/ws");
  r.origin = kEvil;
  EXPECT_EQ(run(with_origins(), r).status, 403u);
  r.origin = kApp;
  EXPECT_EQ(run(with_origins(), r).outcome, Outcome::proceed);
}

TEST(Policy, PreflightFromAllowedOriginIs204WithMethodsAndHeaders) {
  auto r = facts("/api/publish", Method::options);
  r.origin = kApp;
  const auto d = run(with_origins(), r);
  EXPECT_EQ(d.outcome, Outcome::preflight);
  EXPECT_EQ(d.status, 204u);
  EXPECT_EQ(header(d, "Access-Control-Allow-Origin"), std::string(kApp));
  EXPECT_EQ(header(d, "Vary"), "Origin");
  EXPECT_EQ(header(d, "Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(header(d, "Access-Control-Allow-Headers"), "Authorization, Content-Type");
  auto g = facts("/api/poll", Method::options);
  g.origin = kApp;
  EXPECT_EQ(header(run(with_origins(), g), "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
}

TEST(Policy, PreflightNeedsNoToken) {
  PolicyConfig c = with_origins();
  c.authenticator = std::make_shared<StaticTokenAuthenticator>("s3cret");
  c.admin_token = "adm1n";
  auto r = facts("/api/admin/disconnect", Method::options);
  r.origin = kApp;
  EXPECT_EQ(run(c, r).status, 204u) << "browsers never send credentials on a preflight";
}

TEST(Policy, PreflightFromDisallowedOriginIs403) {
  auto r = facts("/api/publish", Method::options);
  r.origin = kEvil;
  const auto d = run(with_origins(), r);
  EXPECT_EQ(d.status, 403u);
  EXPECT_FALSE(header(d, "Access-Control-Allow-Origin"));
}

TEST(Policy, PreflightWithoutAListIs405AsInV1) {
  auto r = facts("/api/publish", Method::options);
  r.origin = kApp;
  const auto d = run(PolicyConfig{}, r);
  EXPECT_EQ(d.status, 405u);
  EXPECT_EQ(header(d, "Allow"), "POST");
  EXPECT_FALSE(header(d, "Access-Control-Allow-Origin"));
}

TEST(Policy, OptionsOutsideTheApiIs405) {
  auto r = facts("/metrics", Method::options);
  r.origin = kApp;
  EXPECT_EQ(run(with_origins(), r).status, 405u);
}

TEST(Policy, DisallowedOriginRefusedOnAdmin) {
  PolicyConfig c = with_origins();
  auto r = facts("/api/admin/disconnect", Method::post);
  r.origin = kEvil;
  EXPECT_EQ(run(c, r).status, 403u);
}

// ---- content type --------------------------------------------------------------------------

TEST(Policy, PostBodyMustBeJson) {
  struct Case {
    std::optional<std::string_view> type;
    std::size_t body;
    bool ok;
  };
  const Case cases[] = {
      {"application/json", 2, true},
      {"application/json; charset=utf-8", 2, true},
      {"Application/JSON", 2, true},
      {" application/json ", 2, true},
      {"text/plain", 2, false},
      {"text/plain;charset=UTF-8", 2, false},
      {"application/x-www-form-urlencoded", 2, false},
      {"multipart/form-data; boundary=x", 2, false},
      {"application/jsonp", 2, false},
      {"", 2, false},
      {std::nullopt, 2, false},
      {std::nullopt, 0, true},  // an empty POST (admin disconnect) may come untyped
      {"text/plain", 0, false},
  };
  for (const auto& c : cases) {
    auto r = facts("/api/publish", Method::post);
    r.content_type = c.type;
    r.body_bytes = c.body;
    const auto d = run(PolicyConfig{}, r);
    EXPECT_EQ(d.outcome == Outcome::proceed, c.ok) << (c.type ? *c.type : "(none)");
    if (!c.ok) {
      EXPECT_EQ(d.status, 415u);
      EXPECT_EQ(d.code, "unsupported_media_type");
    }
  }
}

TEST(Policy, DisallowedOriginWinsOverContentType) {
  auto r = post("/api/publish");
  r.content_type = "text/plain";
  r.origin = kEvil;
  EXPECT_EQ(run(with_origins(), r).status, 403u);
}

// ---- methods and routes --------------------------------------------------------------------

TEST(Policy, WrongMethodIs405WithAllow) {
  const auto d = run(PolicyConfig{}, facts("/api/publish", Method::get));
  EXPECT_EQ(d.status, 405u);
  EXPECT_EQ(header(d, "Allow"), "POST");
  EXPECT_EQ(run(PolicyConfig{}, facts("/api/health", Method::post)).status, 405u);
  EXPECT_EQ(run(PolicyConfig{}, facts("/ws", Method::head)).status, 405u);
}

TEST(Policy, UnknownPathIs404EvenForOddMethods) {
  EXPECT_EQ(run(PolicyConfig{}, facts("/api/nope", Method::other)).status, 404u);
  EXPECT_EQ(run(PolicyConfig{}, facts("/api/nope", Method::options)).status, 404u);
}

TEST(Policy, AssetsAreGetOnlyAndNeedNoToken) {
  PolicyConfig c;
  c.authenticator = std::make_shared<StaticTokenAuthenticator>("s3cret");
  c.admin_token = "adm1n";
  auto r = facts("/steadyws.js");
  r.route = Route::asset;
  const auto d = run(c, r);
  EXPECT_EQ(d.outcome, Outcome::proceed);
  EXPECT_EQ(d.credential.kind, CredentialKind::none);
  r.method = Method::post;
  EXPECT_EQ(run(c, r).status, 405u);
}

// ---- credentials ---------------------------------------------------------------------------

PolicyConfig with_tokens() {
  PolicyConfig c;
  c.authenticator = std::make_shared<StaticTokenAuthenticator>("client-t");
  c.admin_token = "Zq9secret";
  return c;
}

TEST(Policy, OpenServerMakesEveryApiCallerAClient) {
  const auto d = run(PolicyConfig{}, facts("/api/sessions"));
  EXPECT_EQ(d.outcome, Outcome::proceed);
  EXPECT_EQ(d.credential.kind, CredentialKind::client);
  EXPECT_TRUE(d.show_connection_lists);
}

TEST(Policy, ClientTokenOpensTheClientSurface) {
  const auto c = with_tokens();
  for (const auto* path : {"/ws", "/api/health", "/api/websocket/metrics", "/api/poll"}) {
    auto r = facts(path);
    r.token = "client-t";
    const auto d = run(c, r);
    EXPECT_EQ(d.outcome, Outcome::proceed) << path;
    EXPECT_EQ(d.credential.kind, CredentialKind::client) << path;
    EXPECT_FALSE(d.show_connection_lists) << path << ": the lists need the admin token";
  }
  auto p = post("/api/publish");
  p.token = "client-t";
  EXPECT_EQ(run(c, p).outcome, Outcome::proceed);
}

TEST(Policy, MissingOrWrongClientTokenIs401) {
  const auto c = with_tokens();
  for (const std::optional<std::string>& t :
       {std::optional<std::string>{}, std::optional<std::string>{"client-x"},
        std::optional<std::string>{"client-"}, std::optional<std::string>{""}}) {
    auto r = facts("/ws");
    r.token = t;
    const auto d = run(c, r);
    EXPECT_EQ(d.status, 401u);
    EXPECT_EQ(d.code, "unauthorized");
    EXPECT_TRUE(header(d, "WWW-Authenticate"));
    EXPECT_EQ(d.message.find("client-t"), std::string::npos) << "never echo a secret";
  }
}

TEST(Policy, ClientTokenDoesNotOpenTheAdminSurface) {
  const auto c = with_tokens();
  for (const auto& [path, m] :
       {std::pair{"/api/sessions", Method::get}, std::pair{"/metrics", Method::get},
        std::pair{"/api/admin/disconnect", Method::post}}) {
    auto r = facts(path, m);
    r.token = "client-t";
    const auto d = run(c, r);
    EXPECT_EQ(d.status, 401u) << path;
    EXPECT_EQ(d.message.find("Zq9secret"), std::string::npos);
  }
  auto none = facts("/metrics");
  EXPECT_EQ(run(c, none).status, 401u) << "/metrics is no longer public with --admin-token";
}

TEST(Policy, AdminTokenOpensEverything) {
  const auto c = with_tokens();
  for (const auto& [path, m] :
       {std::pair{"/api/sessions", Method::get}, std::pair{"/metrics", Method::get},
        std::pair{"/api/admin/disconnect", Method::post}, std::pair{"/ws", Method::get},
        std::pair{"/api/health", Method::get}, std::pair{"/api/poll", Method::get},
        std::pair{"/api/publish", Method::post}}) {
    auto r = facts(path, m);
    r.token = "Zq9secret";
    const auto d = run(c, r);
    EXPECT_EQ(d.outcome, Outcome::proceed) << path;
    EXPECT_TRUE(d.is_admin()) << path;
    EXPECT_TRUE(d.show_connection_lists) << path;
  }
}

TEST(Policy, AdminTokenAloneWithoutClientToken) {
  PolicyConfig c;
  c.admin_token = "Zq9secret";
  auto r = facts("/api/health");
  auto d = run(c, r);
  EXPECT_EQ(d.outcome, Outcome::proceed) << "no client credential configured: open";
  EXPECT_FALSE(d.show_connection_lists);
  EXPECT_EQ(run(c, facts("/api/sessions")).status, 401u);
  r.token = "Zq9secret";
  EXPECT_TRUE(run(c, r).show_connection_lists);
}

TEST(Policy, WithoutAdminTokenTheAdminSurfaceIsAsInV1) {
  PolicyConfig c;
  c.authenticator = std::make_shared<StaticTokenAuthenticator>("client-t");
  EXPECT_EQ(run(c, facts("/metrics")).outcome, Outcome::proceed) << "v1: /metrics is public";
  EXPECT_EQ(run(c, facts("/api/sessions")).status, 401u) << "v1: needs the client token";
  auto r = facts("/api/sessions");
  r.token = "client-t";
  const auto d = run(c, r);
  EXPECT_EQ(d.outcome, Outcome::proceed);
  EXPECT_TRUE(d.show_connection_lists);
}

// A credential kind plugged in through the seam (the JWT verifier does this).
class FakeJwt final : public Authenticator {
 public:
  Result authenticate(const std::optional<std::string>& token, std::int64_t now_ms) const override {
    Result r;
    if (token && *token == "jwt-alice" && now_ms < kNowMs + 1000) {
      r.credential = Credential{CredentialKind::client, "alice", kNowMs + 1000, nullptr};
    } else {
      r.message = "token expired";
    }
    return r;
  }
};

TEST(Policy, AuthenticatorSeamCarriesSubjectAndExpiry) {
  PolicyConfig c;
  c.authenticator = std::make_shared<FakeJwt>();
  auto r = facts("/ws");
  r.token = "jwt-alice";
  const auto d = decide(c, r, t0, kNowMs);
  ASSERT_EQ(d.outcome, Outcome::proceed);
  EXPECT_EQ(d.credential.subject, "alice");
  EXPECT_EQ(d.credential.expires_ms, kNowMs + 1000);
  const auto late = decide(c, r, t0, kNowMs + 1000);
  EXPECT_EQ(late.status, 401u);
  EXPECT_EQ(late.message, "token expired");
}

TEST(Policy, DisallowedOriginNeverReachesTheCredentialCheck) {
  PolicyConfig c = with_tokens();
  c.allowed_origins = {std::string(kApp)};
  auto r = facts("/ws");
  r.origin = kEvil;
  EXPECT_EQ(run(c, r).status, 403u) << "not 401: the page learns nothing about its token";
}

// ---- per-IP rate limit ---------------------------------------------------------------------

TEST(Policy, LoopbackIsNotRateLimitedUnlessAsked) {
  IpRateLimiter limiter({1, 1, 100});
  PolicyConfig c;
  c.rate_limiter = &limiter;
  for (const char* ip : {"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"}) {
    auto r = facts("/api/health");
    r.client_ip = ip;
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(decide(c, r, t0, kNowMs).outcome, Outcome::proceed) << ip;
  }
  c.rate_limit_loopback = true;
  auto r = facts("/api/health");
  r.client_ip = "127.0.0.1";
  EXPECT_EQ(decide(c, r, t0, kNowMs).outcome, Outcome::proceed);
  EXPECT_EQ(decide(c, r, t0, kNowMs).status, 429u);
  EXPECT_FALSE(is_loopback("128.0.0.1"));
  EXPECT_FALSE(is_loopback("10.127.0.1"));
}

TEST(Policy, RateLimitIs429WithRetryAfter) {
  IpRateLimiter limiter({10, 2, 100});
  PolicyConfig c;
  c.rate_limiter = &limiter;
  auto r = facts("/api/health");
  EXPECT_EQ(decide(c, r, t0, kNowMs).outcome, Outcome::proceed);
  EXPECT_EQ(decide(c, r, t0, kNowMs).outcome, Outcome::proceed);
  const auto d = decide(c, r, t0, kNowMs);
  EXPECT_EQ(d.status, 429u);
  EXPECT_EQ(d.code, "rate_limited");
  EXPECT_EQ(header(d, "Retry-After"), "1");
  EXPECT_EQ(decide(c, r, t0 + 150ms, kNowMs).outcome, Outcome::proceed) << "one token back";
  auto other = r;
  other.client_ip = "192.0.2.2";
  EXPECT_EQ(decide(c, other, t0, kNowMs).outcome, Outcome::proceed) << "per IP";
}

TEST(Policy, RateLimitSkipsPagesAndUpgrades) {
  IpRateLimiter limiter({1, 1, 100});
  PolicyConfig c;
  c.rate_limiter = &limiter;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(decide(c, facts("/ws"), t0, kNowMs).outcome, Outcome::proceed);
    auto a = facts("/");
    EXPECT_EQ(decide(c, a, t0, kNowMs).outcome, Outcome::proceed);
  }
  EXPECT_EQ(decide(c, facts("/metrics"), t0, kNowMs).outcome, Outcome::proceed);
  EXPECT_EQ(decide(c, facts("/metrics"), t0, kNowMs).status, 429u);
}

TEST(Policy, RateLimitComesBeforeTheTokenCheck) {
  IpRateLimiter limiter({1, 1, 100});
  PolicyConfig c = with_tokens();
  c.rate_limiter = &limiter;
  auto r = facts("/api/health");
  r.token = "guess-1";
  EXPECT_EQ(decide(c, r, t0, kNowMs).status, 401u);
  r.token = "guess-2";
  EXPECT_EQ(decide(c, r, t0, kNowMs).status, 429u) << "a token guesser is slowed down";
}

TEST(IpRateLimiter, OffMeansAlwaysAllowed) {
  IpRateLimiter limiter({0, 0, 1});
  for (int i = 0; i < 1000; ++i)
    EXPECT_TRUE(limiter.take("a", t0).allowed);
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(IpRateLimiter, RetryAfterIsUntilOneTokenIsBack) {
  IpRateLimiter limiter({0.5, 1, 10});
  EXPECT_TRUE(limiter.take("a", t0).allowed);
  const auto v = limiter.take("a", t0);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.retry_after, 2000ms);
  EXPECT_FALSE(limiter.take("a", t0 + 1999ms).allowed);
  EXPECT_TRUE(limiter.take("a", t0 + 4000ms).allowed);
}

TEST(IpRateLimiter, MemoryIsBoundedByMaxClients) {
  IpRateLimiter limiter({1, 1, 100});
  for (int i = 0; i < 10000; ++i)
    limiter.take("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                 t0 + std::chrono::milliseconds(i));
  EXPECT_LE(limiter.tracked(), 100u);
}

TEST(IpRateLimiter, PruningKeepsBusyClientsLimited) {
  IpRateLimiter limiter({1, 1, 2});
  EXPECT_TRUE(limiter.take("busy", t0).allowed);
  EXPECT_TRUE(limiter.take("idle", t0).allowed);
  // A third IP: neither bucket has refilled, so arbitrary ones are forgotten; the bound holds.
  EXPECT_TRUE(limiter.take("third", t0 + 10ms).allowed);
  EXPECT_LE(limiter.tracked(), 2u);
  // Refilled buckets are the first to go.
  IpRateLimiter l2({1, 1, 2});
  EXPECT_TRUE(l2.take("old", t0).allowed);
  EXPECT_TRUE(l2.take("busy", t0 + 5s).allowed);
  EXPECT_TRUE(l2.take("new", t0 + 5s).allowed);  // "old" refilled: dropped, "busy" kept
  EXPECT_FALSE(l2.take("busy", t0 + 5s).allowed) << "the busy address is still limited";
}

// ---- helpers -------------------------------------------------------------------------------

TEST(Policy, JsonContentTypeParsing) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("application/json;charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("application/json-seq"));
  EXPECT_FALSE(is_json_content_type("text/json"));
  EXPECT_FALSE(is_json_content_type(""));
}

TEST(Policy, AdminRoutes) {
  EXPECT_TRUE(needs_admin(Route::sessions));
  EXPECT_TRUE(needs_admin(Route::prometheus));
  EXPECT_TRUE(needs_admin(Route::admin_disconnect));
  EXPECT_FALSE(needs_admin(Route::health));
  EXPECT_FALSE(needs_admin(Route::ws));
}

}  // namespace
}  // namespace steadyws::server
