#include "server/policy.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace steadyws::server {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Constant time over the configured length: no early exit on the first differing byte.
bool same_secret(std::string_view configured, std::string_view given) {
  if (given.size() != configured.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < configured.size(); ++i)
    diff |= static_cast<unsigned char>(configured[i] ^ given[i]);
  return diff == 0;
}

bool is_api(std::string_view path) {
  return starts_with(path, "/api/");
}

// The routes whose answer the per-IP limit counts: the API and /metrics. Pages and the
// WebSocket upgrade are not counted (upgrades are bounded by --max-connections and a
// reconnecting herd behind one NAT must not be refused for coming back at once).
bool rate_limited_route(Route route, std::string_view path) {
  return is_api(path) || route == Route::prometheus;
}

Decision refuse(unsigned status, std::string code, std::string message) {
  Decision d;
  d.outcome = Outcome::refuse;
  d.status = status;
  d.code = std::move(code);
  d.message = std::move(message);
  return d;
}

}  // namespace

std::string_view to_string(CredentialKind k) {
  switch (k) {
    case CredentialKind::none:
      return "none";
    case CredentialKind::client:
      return "client";
    case CredentialKind::admin:
      return "admin";
  }
  return "none";
}

Authenticator::Result StaticTokenAuthenticator::authenticate(
    const std::optional<std::string>& token, std::int64_t /*now_ms*/) const {
  Result r;
  if (token_.empty()) {
    r.credential = Credential{CredentialKind::client, {}, 0, nullptr};
    return r;
  }
  if (token && same_secret(token_, *token)) {
    r.credential = Credential{CredentialKind::client, {}, 0, nullptr};
    return r;
  }
  r.message = "missing or wrong token; pass ?token=T or Authorization: Bearer T";
  return r;
}

// ---- IpRateLimiter -------------------------------------------------------------------------

IpRateLimiter::Verdict IpRateLimiter::take(std::string_view ip, TimePoint now) {
  Verdict v;
  if (config_.rate_per_sec <= 0)
    return v;
  const double burst = std::max(1.0, config_.burst);
  const std::lock_guard<std::mutex> g(mu_);
  auto it = buckets_.find(std::string(ip));
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.max_clients)
      prune(now);
    it = buckets_.emplace(std::string(ip), Bucket{burst, now}).first;
  }
  Bucket& b = it->second;
  if (now > b.last) {
    const double secs = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + secs * config_.rate_per_sec);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return v;
  }
  v.allowed = false;
  const double wait_s = (1.0 - b.tokens) / config_.rate_per_sec;
  v.retry_after = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s));
  if (v.retry_after < Duration{1})
    v.retry_after = Duration{1};
  return v;
}

void IpRateLimiter::prune(TimePoint now) {
  // Full buckets carry no information: a new bucket starts full anyway.
  const double burst = std::max(1.0, config_.burst);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double secs = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + secs * config_.rate_per_sec >= burst)
      it = buckets_.erase(it);
    else
      ++it;
  }
  // Still 7/8 full (many addresses busy at once): forget arbitrary ones down to 7/8, so the
  // next walk is max_clients/8 new addresses away (amortized O(1) per request, never a walk
  // per request under an attack from many addresses).
  const std::size_t keep = config_.max_clients - std::max<std::size_t>(1, config_.max_clients / 8);
  for (auto it = buckets_.begin(); it != buckets_.end() && buckets_.size() > keep;)
    it = buckets_.erase(it);
}

std::size_t IpRateLimiter::tracked() const {
  const std::lock_guard<std::mutex> g(mu_);
  return buckets_.size();
}

// ---- the policy ----------------------------------------------------------------------------

bool is_loopback(std::string_view ip) {
  if (starts_with(ip, "::ffff:"))
    ip.remove_prefix(7);
  return starts_with(ip, "127.") || ip == "::1";
}

bool needs_admin(Route route) {
  switch (route) {
    case Route::sessions:
    case Route::admin_disconnect:
    case Route::prometheus:
      return true;
    default:
      return false;
  }
}

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view type = ct.substr(0, semi);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
    type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  return type.size() == kJson.size() &&
         std::equal(type.begin(), type.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

Decision decide(const PolicyConfig& config, const RequestFacts& r, TimePoint now,
                std::int64_t now_ms) {
  const bool has_list = !config.allowed_origins.empty();
  const bool origin_listed = has_list && r.origin && !r.origin->empty() &&
                             origin_allowed(config.allowed_origins, *r.origin);
  // Browsers send Origin on every cross-origin request, and on same-origin POSTs: a request
  // with an Origin that a list does not hold comes from a page we did not allow.
  const bool origin_refused = has_list && r.origin && !origin_listed;

  // CORS headers only for a listed origin; none at all without a list (same-origin only).
  std::vector<std::pair<std::string, std::string>> cors;
  if (origin_listed) {
    cors.emplace_back("Access-Control-Allow-Origin", std::string(*r.origin));
    cors.emplace_back("Vary", "Origin");
    cors.emplace_back("Access-Control-Expose-Headers", "Retry-After");
  }
  auto with_cors = [&](Decision d) {
    d.headers.insert(d.headers.begin(), cors.begin(), cors.end());
    return d;
  };

  // 1. Per-IP rate limit.
  if (config.rate_limiter != nullptr && rate_limited_route(r.route, r.path) &&
      (config.rate_limit_loopback || !is_loopback(r.client_ip))) {
    const auto v = config.rate_limiter->take(r.client_ip, now);
    if (!v.allowed) {
      const auto secs = (v.retry_after.count() + 999) / 1000;
      Decision d = refuse(429, "rate_limited",
                          "too many HTTP requests from this address (--http-rate-limit); retry "
                          "after " +
                              std::to_string(secs) + " s");
      d.headers.emplace_back("Retry-After", std::to_string(secs));
      return with_cors(std::move(d));
    }
  }

  // 2. CORS preflight.
  if (r.method == Method::options && r.route != Route::not_found && is_api(r.path)) {
    if (origin_listed) {
      Decision d;
      d.outcome = Outcome::preflight;
      d.status = 204;
      d.headers = cors;
      d.headers.emplace_back("Access-Control-Allow-Methods",
                             std::string(allowed_methods(r.route)) + ", OPTIONS");
      d.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
      d.headers.emplace_back("Access-Control-Max-Age", "600");
      return d;
    }
    if (origin_refused)
      return refuse(403, "forbidden",
                    "origin " + std::string(*r.origin) +
                        " is not allowed; add it with "
                        "--allowed-origin");
    // No list (same-origin only) or no Origin: not a preflight we answer (v1: 405).
  }

  // 3. Method.
  if (r.route != Route::not_found && !method_allowed(r.route, r.method)) {
    Decision d =
        refuse(405, "method_not_allowed",
               "use " + std::string(allowed_methods(r.route)) + " for " + std::string(r.path));
    d.headers.emplace_back("Allow", std::string(allowed_methods(r.route)));
    return with_cors(std::move(d));
  }
  if (r.route == Route::not_found)
    return with_cors(
        refuse(404, "not_found", "no such endpoint; see docs/protocol.md for the API"));

  // 4. Origin: CSRF and cross-site WebSocket hijacking.
  const bool origin_guarded =
      r.method == Method::post || r.route == Route::ws || starts_with(r.path, "/api/admin/");
  if (origin_guarded && origin_refused)
    return refuse(
        403, "forbidden",
        "origin " + std::string(*r.origin) + " is not allowed; add it with --allowed-origin");

  // 5. Content type: a cross-site form can POST text/plain or form data without a
  // preflight; only a JSON body is accepted (an empty body may come without a type).
  if (r.method == Method::post) {
    const bool typed = r.content_type && !r.content_type->empty();
    if (typed ? !is_json_content_type(*r.content_type) : r.body_bytes > 0)
      return with_cors(refuse(415, "unsupported_media_type",
                              "POST bodies must be Content-Type: application/json"));
  }

  // 6. Credential.
  Decision d;
  const bool admin_set = !config.admin_token.empty();
  if (admin_set && r.token && same_secret(config.admin_token, *r.token)) {
    d.credential.kind = CredentialKind::admin;
  } else if (needs_admin(r.route) && admin_set) {
    Decision no = refuse(401, "unauthorized",
                         "this endpoint needs the admin token (--admin-token); pass "
                         "Authorization: Bearer T");
    no.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"steadyws-admin\"");
    return with_cors(std::move(no));
  } else if (needs_token(r.route) && config.authenticator) {
    auto a = config.authenticator->authenticate(r.token, now_ms);
    if (!a.credential) {
      Decision no = refuse(401, "unauthorized", std::move(a.message));
      no.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"steadyws\"");
      return with_cors(std::move(no));
    }
    d.credential = std::move(*a.credential);
  } else if (needs_token(r.route)) {
    d.credential.kind = CredentialKind::client;  // open server: every caller is a client
  }
  d.show_connection_lists = !admin_set || d.credential.kind == CredentialKind::admin;
  return with_cors(std::move(d));
}

}  // namespace steadyws::server
