// URL handling for the client: parsing the ws:// URLs the user gives, and building the
// /api/poll and /api/publish targets of the HTTP fallback (CONTRACT §3). Pure functions over
// strings (Boost.URL); no I/O. Private to src/client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "steadyws/core/time.hpp"

namespace steadyws::client {

// A value or a one-line reason, for the pure helpers of this folder.
template <class T>
using Result = boost::system::result<T, std::string>;

// `return Fail{"why"};` from a function returning Result<T> (result<T, std::string> has no
// implicit conversion from a string, because T might be constructible from one).
struct Fail {
  std::string why;
  template <class T>
  operator Result<T>() && {  // NOLINT(google-explicit-constructor): the point of the type
    return Result<T>(boost::system::in_place_error, std::move(why));
  }
};

// Where one server lives: what the resolver, the WebSocket upgrade and the HTTP fallback need.
struct Endpoint {
  std::string url;     // as given, for logs and current_url()
  std::string host;    // "127.0.0.1", "example.com", "::1" (IPv6 without brackets)
  std::string port;    // "6011"; 80 (443 for wss) when the URL has none
  bool tls = false;    // wss:// (or https://): TLS, the server's certificate verified
  std::string target;  // the upgrade request target: path (default "/ws") plus any query
  // The `token` query parameter of the URL (CONTRACT §2), or empty. The HTTP fallback sends
  // it as `Authorization: Bearer` on /api/poll and /api/publish, so a server started with
  // --auth-token accepts the fallback too.
  std::string token;
  // The Host header value: host[:port], IPv6 in brackets.
  std::string host_header() const;
};

// Parses ws[s]://host[:port][/path][?query] (http:// and https:// are taken as ws:// and
// wss:// of the same server). Errors (as a one-line reason): not a URI, another scheme, no
// host, a port out of range, userinfo or a fragment.
Result<Endpoint> parse_ws_url(std::string_view url);

// One channel's position for /api/poll: since and epoch are sent only when known.
struct PollCursor {
  std::string channel;
  std::optional<std::uint64_t> since;
  std::optional<std::string> epoch;
};

// GET /api/poll?channel=C&since=N&epoch=E[&channel=C2...]&timeout=MS, each value
// percent-encoded as a query value, channels in the given order (CONTRACT §3).
std::string poll_target(const std::vector<PollCursor>& cursors, Duration timeout);

inline constexpr std::string_view kPublishTarget = "/api/publish";

}  // namespace steadyws::client
