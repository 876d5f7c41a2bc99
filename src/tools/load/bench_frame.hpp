// Minimal RFC 6455 client framing for `steadyws bench`: masked client frames written straight
// into a reusable byte buffer, unmasked server frames parsed in place, and the upgrade request
// and response. Just what a load generator needs, at the cost of a few branches per frame.
//
// Not a general WebSocket implementation: no extensions, no Sec-WebSocket-Accept check, no
// UTF-8 validation. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ws_frame.hpp"

namespace steadyws::tools::bench {

using protocol::Opcode;  // one opcode enum for server, reader and bench (protocol/ws_frame.hpp)

// Appends one FIN frame with `op`, `payload` masked with `mask` (RFC 6455 §5.3), to `out`.
// Grows `out` only when its capacity is short, so a reused buffer allocates nothing.
void append_frame(std::vector<char>& out, Opcode op, std::string_view payload, std::uint32_t mask);

// One server frame, viewing the parse buffer (valid until the buffer changes).
struct FrameView {
  Opcode op = Opcode::text;
  bool fin = true;
  std::string_view payload;
};

enum class ParseStatus {
  ok,         // `frame` is set and `consumed` bytes belong to it
  need_more,  // incomplete; `consumed` is the total size needed when the header is known, or 0
  bad,        // masked server frame, reserved bits, bad control frame or 64-bit length overflow
};

// Parses the frame at the start of [data, data+n).
ParseStatus parse_frame(const char* data, std::size_t n, FrameView& frame, std::size_t& consumed);

// The HTTP/1.1 upgrade request for `path` on `host_port` with a fixed key (the response's
// accept header is not checked: the bench trusts the server it measures).
std::string upgrade_request(std::string_view host_port, std::string_view path);

// Looks for the end of the upgrade response in [data, data+n). Returns nullopt while the
// header is incomplete, 0 when it is complete but not "101", else the header length.
std::optional<std::size_t> parse_upgrade_response(const char* data, std::size_t n);

// The unsigned integer after `"key":` in a JSON text (optional spaces after the colon),
// or nullopt. `key` includes its quotes and colon, e.g. "\"seq\":". Only the first match.
std::optional<std::uint64_t> find_u64(std::string_view json, std::string_view key);

// The string value of `"type"` (without quotes), or empty when there is none.
std::string_view find_type(std::string_view json);

}  // namespace steadyws::tools::bench
