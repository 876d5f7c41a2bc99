// The WebSocket close codes steadyws sends and acts on (CONTRACT §2), for the server, the
// client and the core's client engine alike. Standard library only, so the sans-I/O core may
// include it; steadyws/error.hpp includes it too.
#pragma once

#include <cstdint>

namespace steadyws {

// Close codes the server and client use (CONTRACT §2).
enum class CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,        // server shutdown or restart; reason carries {"retryAfterMs":N}
  unsupported_data = 1003,  // binary frame
  invalid_payload = 1007,   // invalid UTF-8
  policy_violation = 1008,  // sustained rate abuse
  message_too_big = 1009,   // over --max-message-bytes
  internal_error = 1011,
  heartbeat_timeout = 4000,  // missed --max-missed-heartbeats in a row
  slow_consumer = 4001,      // its send queue overflowed
  token_expired = 4003,      // the JWT's exp passed without a refresh (CONTRACT §8)
};

// The code as it goes on the wire (and into logs).
constexpr std::uint16_t wire_code(CloseCode c) noexcept {
  return static_cast<std::uint16_t>(c);
}

}  // namespace steadyws
