// Access policy (CONTRACT §8): one decision per request, made before any handler runs.
//
// Every HTTP request and every WebSocket upgrade takes one pass in one direction:
//   parse target -> route (routes.hpp) -> decide() (here) -> handler (http_session.cpp).
// decide() looks only at the facts of the request (route, method, Origin, Content-Type, body
// size, token, client IP) and the configuration, and answers: proceed (with the CORS headers
// to add and the credential the request proved), answer a preflight (204), or refuse (status,
// error code, message, headers). It has no sockets and reads no clock: the caller passes
// `now`, so unit tests drive every row of §8 directly (tests/unit/server/policy_test.cpp).
//
// Order of the checks (the first that refuses wins):
//   1. per-IP rate limit on /api/* and /metrics  -> 429 + Retry-After
//   2. OPTIONS preflight on /api/*               -> 204 (allowed origin) / 403 / 405
//   3. method                                    -> 405 + Allow
//   4. Origin on POST, /api/admin/* and /ws      -> 403 when an --allowed-origin list exists
//                                                   and the Origin is not in it
//   5. POST Content-Type                         -> 415 unless application/json
//   6. credential                                -> 401 (client token, JWT, or admin token)
// Origin comes before the credential so that a page on a disallowed origin never learns
// whether a token it holds is valid.
//
// Credentials: a request proves one of three classes. `none` (no credential needed: pages,
// and /api/* when no client credential is configured), `client` (--auth-token, or a JWT: see
// Authenticator), `admin` (--admin-token). The admin token opens everything a client token
// opens; a client token never opens what needs admin (/api/admin/*, /api/sessions, /metrics,
// and the per-connection lists of /api/health and /api/websocket/metrics).
//
// Thread-safety: decide() and the Authenticators are safe to call from any thread (const);
// IpRateLimiter has its own mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "steadyws/core/time.hpp"

#include "server/routes.hpp"

namespace steadyws::server {

enum class CredentialKind { none, client, admin };
std::string_view to_string(CredentialKind k);

// What a credential may do on channels. Defined by the credential kind that restricts
// channels (JWT's `channels` claim); null in Credential means "everything".
struct Permissions;

struct Credential {
  CredentialKind kind = CredentialKind::none;
  std::string subject;                             // the user (JWT `sub`); empty for shared tokens
  std::int64_t expires_ms = 0;                     // Unix ms when it stops being valid; 0 = never
  std::shared_ptr<const Permissions> permissions;  // null = every channel, both ways
};

// The seam for client credentials. --auth-token is StaticTokenAuthenticator; a JWT verifier
// implements the same interface and is passed in PolicyConfig::authenticator.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  struct Result {
    std::optional<Credential> credential;  // set: the token proves a client
    std::string message;                   // unset: why not (the 401's message; no secrets)
  };
  // `token` is what the request carried (Authorization: Bearer, else ?token=); nullopt when
  // it carried none. `now_ms` is the wall clock in Unix ms (for expiry).
  virtual Result authenticate(const std::optional<std::string>& token,
                              std::int64_t now_ms) const = 0;
};

// --auth-token T: the exact token T (compared in constant time). Empty T: every request is a
// client without any token (v1's open server).
class StaticTokenAuthenticator final : public Authenticator {
 public:
  explicit StaticTokenAuthenticator(std::string token) : token_(std::move(token)) {}
  Result authenticate(const std::optional<std::string>& token, std::int64_t now_ms) const override;

 private:
  std::string token_;
};

// Per client IP token bucket for HTTP calls (--http-rate-limit, --http-rate-burst). Memory is
// bounded: at most `max_clients` IPs are tracked; past that, buckets that have refilled
// (idle) are dropped, then arbitrary ones down to 7/8 of the bound (a forgotten address starts
// again with a full bucket). Thread-safe.
class IpRateLimiter {
 public:
  struct Config {
    double rate_per_sec = 100;  // 0 = off
    double burst = 200;
    std::size_t max_clients = 65536;
  };
  explicit IpRateLimiter(Config c) : config_(c) {
    if (config_.max_clients == 0)
      config_.max_clients = 1;
  }

  struct Verdict {
    bool allowed = true;
    Duration retry_after{0};  // when refused: until one token is back
  };
  Verdict take(std::string_view ip, TimePoint now);
  std::size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
  };
  void prune(TimePoint now);

  Config config_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

struct PolicyConfig {
  // --allowed-origin: exact origins (scheme://host[:port]), compared case-insensitively.
  // Empty: any origin may upgrade and call (v1), and no CORS headers are sent.
  std::vector<std::string> allowed_origins;
  std::string admin_token;  // --admin-token; empty = the admin surface needs a client token
  // Client credentials (--auth-token or JWT). Null: open (no client credential needed).
  std::shared_ptr<const Authenticator> authenticator;
  IpRateLimiter* rate_limiter = nullptr;  // null = no per-IP limit
  // Loopback clients (127.0.0.0/8, ::1) are not rate limited unless this is set: behind a
  // reverse proxy on the same host every client would otherwise share one bucket (limit at
  // the proxy there). Tests set it (hidden flag --http-rate-limit-loopback).
  bool rate_limit_loopback = false;
};

// True for 127.0.0.0/8, ::1 and their IPv4-mapped forms.
bool is_loopback(std::string_view ip);

// The facts of one request the policy looks at; views into the request, valid for the call.
struct RequestFacts {
  Route route = Route::not_found;
  Method method = Method::get;
  std::string_view path;
  std::optional<std::string_view> origin;        // the Origin header, if present
  std::optional<std::string_view> content_type;  // the Content-Type header, if present
  std::size_t body_bytes = 0;
  std::optional<std::string> token;  // request_token(): Bearer header, else ?token=
  std::string_view client_ip;        // for the per-IP rate limit
};

enum class Outcome { proceed, preflight, refuse };

struct Decision {
  Outcome outcome = Outcome::proceed;
  // refuse: the status, the error code and message of the JSON body; preflight: 204.
  unsigned status = 200;
  std::string code;
  std::string message;
  // Headers for the answer, whatever the outcome: CORS (Access-Control-Allow-Origin, Vary,
  // and on a preflight Access-Control-Allow-Methods/-Headers/-Max-Age), Allow on a 405,
  // Retry-After on a 429, WWW-Authenticate on a 401.
  std::vector<std::pair<std::string, std::string>> headers;
  Credential credential;  // proceed: what the request proved
  // proceed: the per-connection lists (connectionHealthDetails, connectionDetails) may be
  // shown: no --admin-token is set, or the request carries it.
  bool show_connection_lists = false;
  bool is_admin() const { return credential.kind == CredentialKind::admin; }
};

// True for the routes the admin token guards when set: /api/admin/*, /api/sessions, /metrics.
bool needs_admin(Route route);

// True when `content_type` is application/json (any case, parameters such as charset allowed).
bool is_json_content_type(std::string_view content_type);

// The policy. `now` is the steady clock (rate limit), `now_ms` the wall clock (token expiry).
Decision decide(const PolicyConfig& config, const RequestFacts& request, TimePoint now,
                std::int64_t now_ms);

}  // namespace steadyws::server
