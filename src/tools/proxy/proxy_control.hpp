// The pure parts of the fault proxy: the control API's JSON (request bodies in, state out) and
// the inspection of a connection's first bytes for a WebSocket upgrade. No I/O, no clock:
// each function maps bytes to a value, so the shell in proxy.cpp stays thin.
// Thread-safe: free functions without shared state.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "tools/proxy/proxy.hpp"

namespace steadyws::tools {

// Applies one `POST /mode` body to `current` and returns the new faults, or a one-line
// message saying what is wrong (the caller answers 400 bad_message with it). Bodies:
//   {"mode":"pass"}                              every fault off
//   {"mode":"delay","ms":100,"jitter":20}        jitter optional; ms 0 turns delay off
//   {"mode":"bandwidth","bytesPerSec":10000}     0 turns the cap off
//   {"mode":"refuse"|"blackhole"|"block_upgrades","enabled":true}   enabled defaults to true
// Every other fault keeps its current value, so modes combine.
std::variant<Faults, std::string> apply_mode_request(std::string_view body, const Faults& current);

// The `GET /state` document: {"modes":[...],"faults":{...},"connections":{...},...}.
std::string state_json(const Faults& faults, const ProxyStats& stats, std::string_view listen,
                       std::string_view upstream);

// {"error":code,"message":message}
std::string error_json(std::string_view code, std::string_view message);

// The names of the active faults, in a fixed order ("delay", "bandwidth", ...), or "pass".
std::string describe_faults(const Faults& faults);

enum class FirstRequest {
  need_more,          // cannot tell yet: read more (the caller caps how much)
  websocket_upgrade,  // an HTTP request carrying `Upgrade: websocket`
  other,              // anything else, including non-HTTP bytes: pass it through
};

// Largest first request inspected; beyond it the connection passes untouched.
inline constexpr std::size_t kMaxInspectBytes = 16 * 1024;

// Classifies the first bytes a client sent on a new connection.
FirstRequest inspect_first_request(std::string_view data);

}  // namespace steadyws::tools
