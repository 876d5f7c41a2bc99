// Protocol versioning (CONTRACT §10): which WebSocket subprotocol (Sec-WebSocket-Protocol,
// RFC 6455 §1.9 and §11.3.4) a /ws upgrade gets. The server speaks `steadyws.v1`; a client
// that offers nothing gets v1 implicitly (v1 is the default), one that offers v1 among others
// gets it selected, and one that offers only versions we do not speak is refused with 400
// bad_message naming the versions we do. docs/protocol.md says how a v2 would be added.
//
// Pure and thread-safe: functions of their arguments only (the shell calls
// request_subprotocol() in the upgrade path: http_session.cpp refuses, ws_session.cpp selects).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace steadyws::server {

// The versions this server speaks, best first: the first one a client offers wins.
inline constexpr std::string_view kSubprotocols[] = {"steadyws.v1"};

struct SubprotocolChoice {
  enum class Kind {
    none,         // nothing offered: v1, and no Sec-WebSocket-Protocol in the 101
    selected,     // `name` goes back in the 101's Sec-WebSocket-Protocol
    unsupported,  // only unknown versions offered: refuse with 400 and `message`
  };
  Kind kind = Kind::none;
  std::string name;
  std::string message;
};

// `offers`: the values of every Sec-WebSocket-Protocol header of the request, each a
// comma-separated list of tokens (whitespace around tokens is ignored; empty tokens are
// skipped). Our preference order decides, not the client's (RFC 6455 lets the server pick).
SubprotocolChoice choose_subprotocol(std::span<const std::string_view> offers);

// The choice for an upgrade request: every Sec-WebSocket-Protocol header it carries.
SubprotocolChoice request_subprotocol(
    const boost::beast::http::request<boost::beast::http::string_body>& req);

// "steadyws.v1" (comma-separated when there are several): for messages and docs.
std::string supported_subprotocols();

}  // namespace steadyws::server
