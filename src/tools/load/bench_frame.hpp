// Minimal RFC 6455 client framing for `steadyws bench`: masked client frames written straight
// into a reusable byte buffer, unmasked server frames parsed in place, and the upgrade request
// and response. Just what a load generator needs, at the cost of a few branches per frame.
//
// Not a general WebSocket implementation: no Sec-WebSocket-Accept check, no UTF-8 validation;
// of the extensions only the offer and answer of permessage-deflate (RFC 7692), and RSV1 on a
// data frame when the caller allows it (the inflating is the caller's, bench.cpp). Pure
// functions; thread-safe.
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
  bool rsv1 = false;  // compressed (permessage-deflate): only when parse_frame allowed it
  std::string_view payload;
};

enum class ParseStatus {
  ok,         // `frame` is set and `consumed` bytes belong to it
  need_more,  // incomplete; `consumed` is the total size needed when the header is known, or 0
  bad,        // masked server frame, reserved bits, bad control frame or 64-bit length overflow
};

// Parses the frame at the start of [data, data+n). `allow_rsv1` (permessage-deflate was
// agreed): RSV1 is accepted on the first frame of a text or binary message (RFC 7692 §6.1),
// still refused on a continuation or control frame; RSV2 and RSV3 are always refused.
ParseStatus parse_frame(const char* data, std::size_t n, FrameView& frame, std::size_t& consumed,
                        bool allow_rsv1 = false);

// The Sec-WebSocket-Extensions value `bench --compression` offers: no context takeover both
// ways, so that every compressed message inflates on its own (and the server may deflate a
// publish once for every subscriber).
inline constexpr std::string_view kDeflateOffer =
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover";

// The HTTP/1.1 upgrade request for `path` on `host_port` with a fixed key (the response's
// accept header is not checked: the bench trusts the server it measures), and a
// Sec-WebSocket-Extensions header with `extensions` when not empty.
std::string upgrade_request(std::string_view host_port, std::string_view path,
                            std::string_view extensions = {});

// What an upgrade response's Sec-WebSocket-Extensions header agreed about permessage-deflate.
struct DeflateAnswer {
  bool accepted = false;                    // the header names permessage-deflate
  bool server_no_context_takeover = false;  // ... with server_no_context_takeover
};

// Reads the Sec-WebSocket-Extensions header (name case-insensitive) of the upgrade response
// head `head` (up to and including the blank line). No header: not accepted.
DeflateAnswer parse_deflate_answer(std::string_view head);

// Looks for the end of the upgrade response in [data, data+n). Returns nullopt while the
// header is incomplete, 0 when it is complete but not "101", else the header length.
std::optional<std::size_t> parse_upgrade_response(const char* data, std::size_t n);

// The unsigned integer after `"key":` in a JSON text (optional spaces after the colon),
// or nullopt. `key` includes its quotes and colon, e.g. "\"seq\":". Only the first match.
std::optional<std::uint64_t> find_u64(std::string_view json, std::string_view key);

// The string value of `"type"` (without quotes), or empty when there is none.
std::string_view find_type(std::string_view json);

}  // namespace steadyws::tools::bench
