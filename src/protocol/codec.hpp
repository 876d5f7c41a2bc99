// The JSON codec of the wire protocol (CONTRACT §2, §3): bytes <-> the structs of messages.hpp.
//
// Parsing never throws on peer input: it returns a ParseResult holding either the typed
// message or a ParseError with the contract's error code (bad_json, bad_message, too_large)
// and a short human reason fit to send back in an `error` frame. Serializers append exactly
// one JSON object to a caller's string with at most one allocation (one reserve from an
// upper bound computed before writing), fields in the order CONTRACT §2 lists them.
//
// Not a transport: it neither frames, nor validates whole text frames (that is
// is_valid_utf8, which the server calls before parsing to decide on close 1007).
//
// Thread-safety: every function is pure and reentrant; parsing uses only stack buffers, so
// there is no Parser object to share or to keep per connection. Values in a returned message
// (Publish::data, Ping::timestamp, ...) own their memory on the default allocator and stay
// valid independently of any later parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include "steadyws/error.hpp"

#include "protocol/messages.hpp"

namespace steadyws::protocol {

// Why a frame was refused. `code` is what goes on the wire; `message` is a short reason,
// e.g. "field 'channel' must be a string of 1-128 [A-Za-z0-9_.:-]". The message never
// echoes more than a few bytes of the peer's input, and is always valid UTF-8.
struct ParseError {
  errc code = errc::bad_message;
  std::string message;
};

// boost::system::result with our error type. has_value()/operator*/error() never throw;
// value() on an error throws boost::system::system_error (see throw_exception_from_error).
template <class T>
using ParseResult = boost::system::result<T, ParseError>;

// Lets ParseResult<T>::value() throw: a system_error carrying make_error_code(e.code).
[[noreturn]] void throw_exception_from_error(const ParseError& e,
                                             const boost::source_location& loc);

struct Limits {
  // 1 MiB, the --max-message-bytes default: a frame over it is refused before parsing.
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  // 64 levels of [ and { (the envelope object is level 1). Boost.JSON's default is 32; 64
  // leaves room for nested application data while bounding parser work and recursion.
  std::size_t max_depth = 64;
};

// ---- parsing ------------------------------------------------------------------------------

// A client frame, as the server reads it (CONTRACT §2).
//   size over limits.max_message_bytes                  -> too_large
//   not JSON, nesting over max_depth, invalid UTF-8
//   inside a string, top level not an object            -> bad_json
//   missing, non-string or unknown "type"; missing or
//   mistyped fields; bad channel; id not 1-64 chars     -> bad_message
// Unknown fields are ignored. A field that is optional (since, epoch, id) may also be null,
// which means absent. ping.timestamp is any JSON number (int64, uint64 or double) and is
// kept as that value so the pong echoes it unchanged. subscribe.since is a non-negative
// JSON integer (no fraction, no exponent; beyond uint64 -> bad_message); epoch a string.
// refresh.token is a non-empty string (CONTRACT §8); it is never echoed in a reason.
ParseResult<ClientMessage> parse_client(std::string_view text, const Limits& limits = {});

// A server frame, as our client library reads it: every ServerMessage type. The same rules
// for channels and ids; integers (seq, serverTime, heartbeat*) must be JSON integers in
// range; error.code must be one of the contract's codes; all fields listed in CONTRACT §2
// are required.
ParseResult<ServerMessage> parse_server(std::string_view text, const Limits& limits = {});

// The HTTP API bodies (CONTRACT §3), which carry no "type" (one is ignored if present):
// POST /api/publish {"channel","data","id"} and POST /api/ping {"timestamp":T}. Same field
// rules as the WebSocket publish and ping.
ParseResult<Publish> parse_publish_body(std::string_view text, const Limits& limits = {});
ParseResult<Ping> parse_ping_body(std::string_view text, const Limits& limits = {});

// ---- serializing --------------------------------------------------------------------------
// Each appends one JSON object to `out` (never clears it) with at most one allocation.
// Strings are escaped as JSON requires; they are expected to be valid UTF-8 (bytes are
// copied through, not validated). Optional fields that are absent are omitted.

void serialize(const Welcome& m, std::string& out);
void serialize(const Pong& m, std::string& out);
void serialize(const Subscribed& m, std::string& out);
void serialize(const Unsubscribed& m, std::string& out);
void serialize(const Ack& m, std::string& out);
void serialize(const Message& m, std::string& out);
void serialize(const Error& m, std::string& out);
void serialize(const Refreshed& m, std::string& out);
void serialize(const Ping& m, std::string& out);
void serialize(const Subscribe& m, std::string& out);
void serialize(const Unsubscribe& m, std::string& out);
void serialize(const Publish& m, std::string& out);
void serialize(const Refresh& m, std::string& out);

// Either variant, dispatched to the overloads above.
void serialize(const ClientMessage& m, std::string& out);
void serialize(const ServerMessage& m, std::string& out);

// The `message` frame from its parts, without building a Message (the hub calls this once
// per publish): {"type":"message","channel":C,"seq":S,"id":ID,"data":D,"timestamp":MS}.
void serialize_message(std::string& out, std::string_view channel, std::uint64_t seq,
                       std::string_view id, const boost::json::value& data,
                       std::int64_t timestamp_ms);

// The HTTP error body {"error":CODE,"message":"..."} (CONTRACT §3).
void serialize_http_error(std::string_view code, std::string_view message, std::string& out);
inline void serialize_http_error(errc code, std::string_view message, std::string& out) {
  serialize_http_error(to_string(code), message, out);
}

// Convenience: serialize into a fresh string (one allocation).
template <class M>
std::string to_json(const M& m) {
  std::string out;
  serialize(m, out);
  return out;
}

// Appends `s` as a JSON string literal, quotes included: `"`, `\` and control characters
// below 0x20 are escaped exactly as Boost.JSON escapes them; other bytes are copied.
void append_json_string(std::string& out, std::string_view s);

// ---- validation ---------------------------------------------------------------------------

// True when `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates
// (U+D800-DFFF), nothing above U+10FFFF, no truncated sequence. The empty string is valid.
// The server closes with 1007 when a text frame fails this (CONTRACT §2).
bool is_valid_utf8(std::string_view s) noexcept;

// True when `id` is a publish id the contract accepts: 1-64 characters (Unicode code points
// of valid UTF-8; an ASCII id is 1-64 bytes).
bool is_valid_id(std::string_view id) noexcept;

}  // namespace steadyws::protocol
