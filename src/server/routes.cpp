#include "server/routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <boost/url/parse.hpp>

#include "protocol/codec.hpp"
#include "protocol/messages.hpp"

namespace steadyws::server {

Route route_of(std::string_view path) {
  struct Entry {
    std::string_view path;
    Route route;
  };
  static constexpr Entry kRoutes[] = {
      {"/ws", Route::ws},
      {"/api/health", Route::health},
      {"/api/websocket/metrics", Route::metrics_json},
      {"/api/websocket/metrics/history", Route::metrics_history},
      {"/api/sessions", Route::sessions},
      {"/api/poll", Route::poll},
      {"/api/publish", Route::publish},
      {"/api/ping", Route::ping},
      {"/api/admin/disconnect", Route::admin_disconnect},
      {"/metrics", Route::prometheus},
      {"/api/cluster", Route::cluster},
      {"/", Route::dashboard},
      {"/index.html", Route::dashboard},
      {"/reliability-test", Route::reliability_page},
  };
  for (const auto& e : kRoutes) {
    if (e.path == path)
      return e.route;
  }
  return Route::not_found;
}

std::string_view allowed_methods(Route route) {
  switch (route) {
    case Route::publish:
    case Route::ping:
    case Route::admin_disconnect:
      return "POST";
    default:
      return "GET, HEAD";
  }
}

bool method_allowed(Route route, Method method) {
  if (route == Route::not_found)
    return true;  // 404 wins over 405
  if (allowed_methods(route) == "POST")
    return method == Method::post;
  if (route == Route::ws)
    return method == Method::get;
  return method == Method::get || method == Method::head;
}

bool needs_token(Route route) {
  switch (route) {
    case Route::ws:
    case Route::health:
    case Route::metrics_json:
    case Route::metrics_history:
    case Route::sessions:
    case Route::poll:
    case Route::publish:
    case Route::ping:
    case Route::admin_disconnect:
    case Route::cluster:
      return true;
    default:
      return false;
  }
}

std::optional<std::string_view> Target::get(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name)
      return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<Target> parse_target(std::string_view target) {
  auto r = boost::urls::parse_origin_form(target);
  if (!r)
    return std::nullopt;
  Target t;
  t.path = std::string(r->path());
  for (const auto& p : r->params()) {
    t.params.emplace_back(std::string(p.key), p.has_value ? std::string(p.value) : std::string());
  }
  return t;
}

std::optional<std::string> request_token(std::string_view authorization, const Target& target) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size()) {
    std::string prefix(authorization.substr(0, kBearer.size()));
    std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (prefix == "bearer ")
      return std::string(authorization.substr(kBearer.size()));
  }
  if (auto t = target.get("token"))
    return std::string(*t);
  return std::nullopt;
}

bool token_ok(std::string_view configured, const std::optional<std::string>& given) {
  if (configured.empty())
    return true;
  if (!given || given->size() != configured.size())
    return false;
  unsigned char diff = 0;  // constant time over the length: no early exit on a mismatch
  for (std::size_t i = 0; i < configured.size(); ++i)
    diff |= static_cast<unsigned char>(configured[i] ^ (*given)[i]);
  return diff == 0;
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) {
  if (allowed.empty() || origin.empty())
    return true;
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
    return a.size() == origin.size() &&
           std::equal(a.begin(), a.end(), origin.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  });
}

namespace {
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty())
    return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}
}  // namespace

PollParse parse_poll(const Target& target) {
  PollParse out;
  PollRequest req;
  for (const auto& [k, v] : target.params) {
    if (k == "channel") {
      if (!protocol::is_valid_channel(v)) {
        out.error =
            "channel '" + v.substr(0, 40) + "' must be 1-128 characters of A-Z a-z 0-9 _ . : -";
        return out;
      }
      if (req.channels.size() == PollRequest::kMaxChannels) {
        out.error = "at most 64 channels per poll; split the poll";
        return out;
      }
      req.channels.push_back({v, std::nullopt, std::nullopt});
    } else if (k == "since") {
      if (req.channels.empty()) {
        out.error = "since must follow the channel it belongs to: ?channel=C&since=N";
        return out;
      }
      auto n = parse_u64(v);
      if (!n) {
        out.error = "since must be a non-negative integer (the last seq you have)";
        return out;
      }
      req.channels.back().since = *n;
    } else if (k == "epoch") {
      if (req.channels.empty()) {
        out.error = "epoch must follow the channel it belongs to: ?channel=C&since=N&epoch=E";
        return out;
      }
      req.channels.back().epoch = v;
    } else if (k == "timeout") {
      auto n = parse_u64(v);
      if (!n) {
        out.error = "timeout must be a non-negative integer of milliseconds (max 60000)";
        return out;
      }
      req.timeout = std::chrono::milliseconds(
          std::min<std::uint64_t>(*n, PollRequest::kMaxPollTimeout.count()));
    } else if (k == "session") {
      req.session = v;
    } else if (k == "resume") {
      req.resume = v;
    }
    // Unknown parameters (token, cache busters) are ignored.
  }
  if (req.channels.empty()) {
    out.error = "give at least one channel: /api/poll?channel=C&since=N";
    return out;
  }
  out.request = std::move(req);
  return out;
}

std::int64_t retry_after_ms(std::size_t i, std::size_t n, std::chrono::milliseconds spread) {
  if (n == 0)
    return 0;
  return static_cast<std::int64_t>(std::llround(
      static_cast<double>(i) * static_cast<double>(spread.count()) / static_cast<double>(n)));
}

std::string error_body(std::string_view code, std::string_view message) {
  std::string out;
  protocol::serialize_http_error(code, message, out);
  return out;
}

}  // namespace steadyws::server
