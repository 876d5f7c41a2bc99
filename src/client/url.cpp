#include "client/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace steadyws::client {

std::string Endpoint::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80"))
    h += ":" + port;
  return h;
}

Result<Endpoint> parse_ws_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    return Fail{std::string("not a URL (expected ws://host[:port][/path]): ") + std::string(url)};
  const auto& u = *parsed;
  const auto scheme = u.scheme();
  const bool tls = scheme == "wss" || scheme == "https";
  if (!tls && scheme != "ws" && scheme != "http")
    return Fail{std::string("scheme must be ws:// or wss://, got ") + std::string(scheme) + "://"};
  if (u.has_userinfo())
    return Fail{std::string("user info in the URL is not supported")};
  if (u.has_fragment())
    return Fail{std::string("a fragment (#...) makes no sense in a WebSocket URL")};
  Endpoint e;
  e.url = std::string(url);
  e.tls = tls;
  if (u.host_type() == boost::urls::host_type::ipv6) {
    e.host = u.encoded_host_address();  // without brackets
  } else {
    e.host = u.host();
  }
  if (e.host.empty())
    return Fail{std::string("no host in ") + std::string(url)};
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0)
      return Fail{std::string("port must be 1-65535 in ") + std::string(url)};
    e.port = u.port();
  } else {
    e.port = tls ? "443" : "80";
  }
  e.target = u.encoded_path().empty() ? "/ws" : std::string(u.encoded_path());
  if (u.has_query()) {
    e.target += "?" + std::string(u.encoded_query());
    const auto params = u.params();
    if (auto it = params.find("token"); it != params.end() && (*it).has_value)
      e.token = std::string((*it).value);
  }
  return e;
}

std::string poll_target(const std::vector<PollCursor>& cursors, Duration timeout) {
  boost::urls::url u("/api/poll");
  auto params = u.params();
  for (const auto& c : cursors) {
    params.append({"channel", c.channel});
    if (c.since)
      params.append({"since", std::to_string(*c.since)});
    if (c.epoch)
      params.append({"epoch", *c.epoch});
  }
  params.append({"timeout", std::to_string(timeout.count())});
  return std::string(u.buffer());
}

}  // namespace steadyws::client
