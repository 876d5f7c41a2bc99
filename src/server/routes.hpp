// The HTTP surface of CONTRACT §3 as pure functions: routing, query parsing, auth and origin
// checks, error bodies. No I/O: http_session.cpp calls these and performs the answers.
// Thread-safe: everything is a pure function of its arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace steadyws::server {

enum class Route {
  ws,                // GET /ws (upgrade)
  health,            // GET /api/health
  metrics_json,      // GET /api/websocket/metrics
  metrics_history,   // GET /api/websocket/metrics/history (CONTRACT §10)
  sessions,          // GET /api/sessions
  poll,              // GET /api/poll
  publish,           // POST /api/publish
  ping,              // POST /api/ping
  admin_disconnect,  // POST /api/admin/disconnect?session=ID
  prometheus,        // GET /metrics
  cluster,           // GET /api/cluster (CONTRACT §5)
  dashboard,         // GET /
  reliability_page,  // GET /reliability-test
  not_found,
  asset,  // an embedded web/ file (http_session.cpp sets it when find_web_asset() has the path)
};

enum class Method { get, head, post, options, other };

// The route of `path` (no query). Unknown paths are not_found.
Route route_of(std::string_view path);

// The one method `route` answers ("GET" or "POST"), for the 405 Allow header. GET routes
// also answer HEAD.
std::string_view allowed_methods(Route route);
bool method_allowed(Route route, Method method);

// True for every route under /api/ and /ws: the ones --auth-token protects.
bool needs_token(Route route);

// A request target split into its decoded path and query parameters, in order.
struct Target {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
};

// Parses an origin-form target ("/api/poll?channel=a&since=3"). nullopt when malformed.
std::optional<Target> parse_target(std::string_view target);

// The token a request carries: `Authorization: Bearer <t>` first, else `?token=`.
std::optional<std::string> request_token(std::string_view authorization_header,
                                         const Target& target);

// True when no token is configured, or `given` equals it (compared in constant time).
bool token_ok(std::string_view configured, const std::optional<std::string>& given);

// True when `allowed` is empty (any origin), or `origin` is absent (not a browser), or it is
// one of `allowed` (exact, case-insensitive).
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin);

// One channel of a long poll (CONTRACT §3 /api/poll).
struct PollChannel {
  std::string channel;
  std::optional<std::uint64_t> since;
  std::optional<std::string> epoch;
};

struct PollRequest {
  std::vector<PollChannel> channels;
  std::chrono::milliseconds timeout{kDefaultPollTimeout};
  std::optional<std::string> session;  // ?session=: shows the poller in /api/sessions
  std::optional<std::string> resume;   // ?resume=: the session's token (CONTRACT §8)

  static constexpr std::chrono::milliseconds kDefaultPollTimeout{25000};
  static constexpr std::chrono::milliseconds kMaxPollTimeout{60000};
  static constexpr std::size_t kMaxChannels = 64;
};

// Parses the query of /api/poll: `channel=C[&since=N][&epoch=E]` repeated (a since or
// epoch belongs to the channel before it), optional `timeout=MS` (capped at 60000),
// `session=ID` and `resume=TOKEN`. On error returns the message to send with 400 bad_message.
struct PollParse {
  std::optional<PollRequest> request;
  std::string error;
};
PollParse parse_poll(const Target& target);

// The reconnect hint for client `i` of `n` when draining over `spread`:
// round(i * spread / n) ms (CONTRACT §1). 0 when n == 0.
std::int64_t retry_after_ms(std::size_t i, std::size_t n, std::chrono::milliseconds spread);

// {"error":CODE,"message":MESSAGE}
std::string error_body(std::string_view code, std::string_view message);

}  // namespace steadyws::server
