// Error codes and close codes of the wire protocol (CONTRACT §2, §3).
//
// steadyws::errc is registered with Boost.System the way Beast registers websocket::error:
// a category, make_error_code and an is_error_code_enum specialization, so an errc compares
// equal to the boost::system::error_code that carries it. Enumerators are spelled like the
// wire, so to_string(errc::bad_json) == "bad_json".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include <boost/system/error_code.hpp>

#include "steadyws/core/close_code.hpp"  // CloseCode, wire_code: part of this header

namespace steadyws {

enum class errc {
  bad_json = 1,  // the frame is not JSON, or not a JSON object
  bad_message,   // unknown type, missing or wrong field, name or id outside the contract
  too_large,     // over the configured maximum message size
  rate_limited,  // over the per-connection rate limit
  unauthorized,  // missing or wrong token
  internal,      // our bug; the connection stays open
  limit,         // over --max-channels or --max-subscriptions (CONTRACT §8)
  forbidden,     // the credential does not allow this channel or action (CONTRACT §8)
  unavailable,   // a backing store (Redis) cannot take it now; retry (CONTRACT §5)
};

// The wire spelling of an error code ("bad_json", ...). Never empty.
std::string_view to_string(errc e) noexcept;

// The errc spelled `s` on the wire ("bad_json" -> errc::bad_json), or nullopt for any other
// string. The inverse of to_string; used when parsing a server's `error` frame.
std::optional<errc> errc_from_string(std::string_view s) noexcept;

// The HTTP status that carries this error on the HTTP API (400, 413, 429, 401, 500, 403, 503).
unsigned http_status(errc e) noexcept;

const boost::system::error_category& steadyws_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), steadyws_category()};
}

}  // namespace steadyws

namespace boost::system {
template <>
struct is_error_code_enum<steadyws::errc> : std::true_type {};
}  // namespace boost::system
