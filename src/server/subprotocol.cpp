#include "server/subprotocol.hpp"

#include <vector>

namespace steadyws::server {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

}  // namespace

SubprotocolChoice request_subprotocol(
    const boost::beast::http::request<boost::beast::http::string_body>& req) {
  std::vector<std::string_view> offers;
  const auto range = req.equal_range(boost::beast::http::field::sec_websocket_protocol);
  for (auto it = range.first; it != range.second; ++it)
    offers.emplace_back(it->value().data(), it->value().size());
  return choose_subprotocol(offers);
}

std::string supported_subprotocols() {
  std::string out;
  for (const auto p : kSubprotocols) {
    if (!out.empty())
      out += ", ";
    out += p;
  }
  return out;
}

SubprotocolChoice choose_subprotocol(std::span<const std::string_view> offers) {
  std::vector<std::string_view> tokens;
  for (auto v : offers) {
    while (!v.empty()) {
      const auto comma = v.find(',');
      const auto tok = trim(v.substr(0, comma));
      if (!tok.empty())
        tokens.push_back(tok);
      if (comma == std::string_view::npos)
        break;
      v.remove_prefix(comma + 1);
    }
  }
  SubprotocolChoice c;
  if (tokens.empty())
    return c;  // CONTRACT §10: a client that offers none works as before (v1)
  for (const auto ours : kSubprotocols) {
    for (const auto t : tokens) {
      // Subprotocol names are tokens compared exactly (RFC 6455 §4.1: case-sensitive).
      if (t == ours) {
        c.kind = SubprotocolChoice::Kind::selected;
        c.name = std::string(ours);
        return c;
      }
    }
  }
  std::string offered;
  for (const auto t : tokens) {
    if (!offered.empty())
      offered += ", ";
    offered += std::string(t.substr(0, 64));
    if (offered.size() > 256) {
      offered += ", ...";
      break;
    }
  }
  c.kind = SubprotocolChoice::Kind::unsupported;
  c.message = "unsupported subprotocol (offered: " + offered +
              "); this server speaks Sec-WebSocket-Protocol: " + supported_subprotocols() +
              " (or offer none for steadyws.v1)";
  return c;
}

}  // namespace steadyws::server
