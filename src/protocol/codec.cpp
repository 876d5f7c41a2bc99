// The JSON codec: Boost.JSON for parsing and for application data, hand-written fixed parts
// for the envelopes so that each serialize is one measured reserve plus straight writes.
#include "protocol/codec.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serializer.hpp>
#include <boost/system/system_error.hpp>

namespace steadyws::protocol {

namespace json = boost::json;

void throw_exception_from_error(const ParseError& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(e.code), e.message), loc);
}

// ---- channel names ------------------------------------------------------------------------

namespace {

constexpr std::array<bool, 256> make_channel_table() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) {
    t[static_cast<std::size_t>(c)] = true;
  }
  for (int c = 'A'; c <= 'Z'; ++c) {
    t[static_cast<std::size_t>(c)] = true;
  }
  for (int c = '0'; c <= '9'; ++c) {
    t[static_cast<std::size_t>(c)] = true;
  }
  for (const char c : {'_', '.', ':', '-'}) {
    t[static_cast<std::size_t>(c)] = true;
  }
  return t;
}
constexpr std::array<bool, 256> kChannelChar = make_channel_table();

}  // namespace

bool is_valid_channel(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxChannelLength) {
    return false;
  }
  for (const char c : name) {
    if (!kChannelChar[static_cast<unsigned char>(c)]) {
      return false;
    }
  }
  return true;
}

// ---- serializing --------------------------------------------------------------------------

namespace {

// The escape of each byte, as Boost.JSON's serializer writes it: 0 = copied, 'u' = \u00XX,
// any other = backslash + that character.
constexpr std::array<char, 256> make_escape_table() {
  std::array<char, 256> t{};
  for (std::size_t c = 0; c < 0x20; ++c) {
    t[c] = 'u';
  }
  t['\b'] = 'b';
  t['\t'] = 't';
  t['\n'] = 'n';
  t['\f'] = 'f';
  t['\r'] = 'r';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}
constexpr std::array<char, 256> kEscape = make_escape_table();

// Boost.JSON writes a finite double in at most detail::max_number_chars (27) characters; 32
// keeps a margin. Write::number spells infinities 1e99999 and NaN 0, both shorter.
constexpr std::size_t kDoubleBound = 32;

std::size_t escaped_size(std::string_view s) noexcept {
  std::size_t n = 2 + s.size();
  for (const char c : s) {
    const char e = kEscape[static_cast<unsigned char>(c)];
    if (e != 0) {
      n += e == 'u' ? 5 : 1;
    }
  }
  return n;
}

std::size_t digits(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

std::size_t digits(std::int64_t v) noexcept {
  // Magnitude as unsigned: well defined for INT64_MIN too.
  const auto u = static_cast<std::uint64_t>(v);
  return v < 0 ? 1 + digits(~u + 1) : digits(u);
}

// An upper bound of the serialized size of `v`, exact for everything but doubles.
std::size_t value_bound(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null:
      return 4;
    case json::kind::bool_:
      return v.get_bool() ? 4 : 5;
    case json::kind::int64:
      return digits(v.get_int64());
    case json::kind::uint64:
      return digits(v.get_uint64());
    case json::kind::double_:
      return kDoubleBound;
    case json::kind::string:
      return escaped_size(v.get_string());
    case json::kind::array: {
      const json::array& a = v.get_array();
      std::size_t n = 2 + (a.empty() ? 0 : a.size() - 1);
      for (const json::value& e : a) {
        n += value_bound(e);
      }
      return n;
    }
    case json::kind::object: {
      const json::object& o = v.get_object();
      std::size_t n = 2 + (o.empty() ? 0 : o.size() - 1);
      for (const json::key_value_pair& kv : o) {
        n += escaped_size(kv.key()) + 1 + value_bound(kv.value());
      }
      return n;
    }
  }
  return kDoubleBound;
}

// Pass 1 of every serializer: how many bytes the message can take.
struct Measure {
  std::size_t n = 0;
  template <std::size_t N>
  void lit(const char (&)[N]) {
    n += N - 1;
  }
  void str(std::string_view s) { n += escaped_size(s); }
  void u64(std::uint64_t v) { n += digits(v); }
  void i64(std::int64_t v) { n += digits(v); }
  void boolean(bool b) { n += b ? 4 : 5; }
  void value(const json::value& v) { n += value_bound(v); }
};

// Pass 2: writes into the space pass 1 reserved. REQUIRES: [p, end) holds what Measure
// counted for the same calls.
struct Write {
  char* p;
  char* end;

  template <std::size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(p, s, N - 1);
    p += N - 1;
  }
  void str(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    *p++ = '"';
    for (const char c : s) {
      const char e = kEscape[static_cast<unsigned char>(c)];
      if (e == 0) {
        *p++ = c;
      } else if (e != 'u') {
        *p++ = '\\';
        *p++ = e;
      } else {
        const auto b = static_cast<unsigned char>(c);
        std::memcpy(p, "\\u00", 4);
        p[4] = kHex[b >> 4];
        p[5] = kHex[b & 0xF];
        p += 6;
      }
    }
    *p++ = '"';
  }
  void u64(std::uint64_t v) { p = std::to_chars(p, end, v).ptr; }
  void i64(std::int64_t v) { p = std::to_chars(p, end, v).ptr; }
  void boolean(bool b) {
    if (b) {
      lit("true");
    } else {
      lit("false");
    }
  }
  // Containers are walked here rather than handed to Boost.JSON's serializer, because Boost
  // 1.81 writes infinities as `Infinity`, which is not JSON (see number()). Recursion depth
  // is the value's nesting, which parsing bounds by Limits::max_depth.
  void value(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return lit("null");
      case json::kind::bool_:
        return boolean(v.get_bool());
      case json::kind::int64:
        return i64(v.get_int64());
      case json::kind::uint64:
        return u64(v.get_uint64());
      case json::kind::double_:
        return number(v.get_double());
      case json::kind::string:
        return str(v.get_string());
      case json::kind::array: {
        *p++ = '[';
        bool first = true;
        for (const json::value& e : v.get_array()) {
          if (!first) {
            *p++ = ',';
          }
          first = false;
          value(e);
        }
        *p++ = ']';
        return;
      }
      case json::kind::object: {
        *p++ = '{';
        bool first = true;
        for (const json::key_value_pair& kv : v.get_object()) {
          if (!first) {
            *p++ = ',';
          }
          first = false;
          str(kv.key());
          *p++ = ':';
          value(kv.value());
        }
        *p++ = '}';
        return;
      }
    }
  }

  // Finite doubles are formatted by Boost.JSON (shortest round-trip form). Boost.JSON 1.81's
  // parser reads some 17-digit doubles back one ulp off (found by tests/fuzz/codec_fuzz.cpp;
  // JavaScript's JSON.parse reads them exactly): a limit of the parser, not of what we write.
  // A JSON number too big for a double (1e400) parses as an infinity, which has no JSON
  // spelling: 1e99999 is read back as the same infinity by Boost.JSON and by JavaScript's
  // JSON.parse (and is what later Boost versions write). Boost.JSON 1.81 parses a zero with
  // an exponent over 308 (0e400, -0.0e999) as NaN (found by the fuzzer); the number it
  // stands for is zero, so NaN is written as 0, which keeps "echoed as the same
  // number" (CONTRACT §2) and parses again.
  void number(double d) {
    if (std::isnan(d)) {
      return lit("0");  // the NaN's sign bit says nothing about the input's sign
    }
    if (std::isinf(d)) {
      if (d < 0) {
        return lit("-1e99999");
      }
      return lit("1e99999");
    }
    const json::value scalar(d);
    json::serializer sr;  // a scalar never suspends, so the serializer never allocates
    sr.reset(&scalar);
    const auto written = sr.read(p, static_cast<std::size_t>(end - p));
    BOOST_ASSERT(sr.done());
    p += written.size();
  }
};

// Measures, grows `out` once, writes, trims to what was written.
template <class Emit>
void emit_into(std::string& out, const Emit& emit) {
  Measure m;
  emit(m);
  const std::size_t old = out.size();
  out.resize(old + m.n);  // the one allocation, when capacity is short
  Write w{out.data() + old, out.data() + old + m.n};
  emit(w);
  BOOST_ASSERT(w.p <= w.end);
  out.resize(static_cast<std::size_t>(w.p - out.data()));
}

}  // namespace

// CONTRACT §2 field order in every envelope below.

void serialize(const Welcome& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"welcome","sessionId":)");
    s.str(m.session_id);
    s.lit(R"(,"resumed":)");
    s.boolean(m.resumed);
    if (!m.resume_token.empty()) {
      s.lit(R"(,"resumeToken":)");
      s.str(m.resume_token);
    }
    s.lit(R"(,"heartbeatInterval":)");
    s.i64(m.heartbeat_interval_ms);
    s.lit(R"(,"heartbeatTimeout":)");
    s.i64(m.heartbeat_timeout_ms);
    s.lit(R"(,"serverTime":)");
    s.i64(m.server_time_ms);
    s.lit("}");
  });
}

void serialize(const Pong& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"pong","timestamp":)");
    s.value(m.timestamp);  // CONTRACT §2: T is echoed unchanged, whatever JSON number it is
    s.lit(R"(,"serverTime":)");
    s.i64(m.server_time_ms);
    s.lit("}");
  });
}

void serialize(const Subscribed& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"subscribed","channel":)");
    s.str(m.channel);
    s.lit(R"(,"seq":)");
    s.u64(m.seq);
    s.lit(R"(,"epoch":)");
    s.str(m.epoch);
    s.lit(R"(,"recovered":)");
    s.boolean(m.recovered);
    s.lit("}");
  });
}

void serialize(const Unsubscribed& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"unsubscribed","channel":)");
    s.str(m.channel);
    s.lit("}");
  });
}

void serialize(const Ack& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"ack","id":)");
    s.str(m.id);
    s.lit(R"(,"channel":)");
    s.str(m.channel);
    s.lit(R"(,"seq":)");
    s.u64(m.seq);
    s.lit("}");
  });
}

void serialize_message(std::string& out, std::string_view channel, std::uint64_t seq,
                       std::string_view id, const json::value& data, std::int64_t timestamp_ms) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"message","channel":)");
    s.str(channel);
    s.lit(R"(,"seq":)");
    s.u64(seq);
    s.lit(R"(,"id":)");
    s.str(id);
    s.lit(R"(,"data":)");
    s.value(data);
    s.lit(R"(,"timestamp":)");
    s.i64(timestamp_ms);
    s.lit("}");
  });
}

void serialize(const Message& m, std::string& out) {
  serialize_message(out, m.channel, m.seq, m.id, m.data, m.timestamp_ms);
}

void serialize(const Error& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"error","code":)");
    s.str(to_string(m.code));
    s.lit(R"(,"message":)");
    s.str(m.message);
    s.lit("}");
  });
}

void serialize(const Refreshed& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"refreshed","exp":)");
    s.i64(m.exp_ms);
    s.lit("}");
  });
}

void serialize(const Ping& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"ping","timestamp":)");
    s.value(m.timestamp);
    s.lit("}");
  });
}

void serialize(const Subscribe& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"subscribe","channel":)");
    s.str(m.channel);
    if (m.since) {
      s.lit(R"(,"since":)");
      s.u64(*m.since);
    }
    if (m.epoch) {
      s.lit(R"(,"epoch":)");
      s.str(*m.epoch);
    }
    s.lit("}");
  });
}

void serialize(const Unsubscribe& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"unsubscribe","channel":)");
    s.str(m.channel);
    s.lit("}");
  });
}

void serialize(const Publish& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"publish","channel":)");
    s.str(m.channel);
    s.lit(R"(,"data":)");
    s.value(m.data);
    if (m.id) {
      s.lit(R"(,"id":)");
      s.str(*m.id);
    }
    s.lit("}");
  });
}

void serialize(const Refresh& m, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"type":"refresh","token":)");
    s.str(m.token);
    s.lit("}");
  });
}

void serialize(const ClientMessage& m, std::string& out) {
  std::visit([&](const auto& x) { serialize(x, out); }, m);
}

void serialize(const ServerMessage& m, std::string& out) {
  std::visit([&](const auto& x) { serialize(x, out); }, m);
}

void serialize_http_error(std::string_view code, std::string_view message, std::string& out) {
  emit_into(out, [&](auto& s) {
    s.lit(R"({"error":)");
    s.str(code);
    s.lit(R"(,"message":)");
    s.str(message);
    s.lit("}");
  });
}

void append_json_string(std::string& out, std::string_view str) {
  emit_into(out, [&](auto& s) { s.str(str); });
}

// ---- parsing ------------------------------------------------------------------------------

namespace {

// Frames up to kArenaMaxText bytes parse into an arena on the stack and the few values we
// keep are copied out; larger ones parse onto the default allocator so `data` can be moved
// out instead of copied. Sizes: a 1 KiB frame rarely needs more than 4 KiB of tree, and the
// parser's temporary stack of 2 KiB covers 64 levels of nesting with room to spare; both
// fall back to the heap, never fail, when exceeded.
constexpr std::size_t kArenaMaxText = 1024;
constexpr std::size_t kArenaBytes = 4096;
constexpr std::size_t kParserTempBytes = 2048;

ParseError make_error(errc code, std::string message) {
  return {code, std::move(message)};
}

ParseError missing(std::string_view key) {
  return make_error(errc::bad_message, "missing field '" + std::string(key) + "'");
}

ParseError mistyped(std::string_view key, std::string_view what) {
  return make_error(errc::bad_message,
                    "field '" + std::string(key) + "' must be " + std::string(what));
}

constexpr std::string_view kChannelRule = "a string of 1-128 [A-Za-z0-9_.:-]";
constexpr std::string_view kIdRule = "a string of 1-64 characters";

// Reads the fields of one envelope. Each getter returns false after recording the first
// error; callers chain them with && and return error() when the chain breaks.
class Fields {
 public:
  explicit Fields(json::object& o) : o_(o) {}

  ParseError& error() { return error_; }

  bool channel(std::string& out) {
    const json::value* v = o_.if_contains("channel");
    if (v == nullptr) {
      return fail(missing("channel"));
    }
    const json::string* s = v->if_string();
    if (s == nullptr || !is_valid_channel(*s)) {
      return fail(mistyped("channel", kChannelRule));
    }
    out.assign(s->data(), s->size());
    return true;
  }

  bool id(std::string& out) {
    const json::value* v = o_.if_contains("id");
    if (v == nullptr) {
      return fail(missing("id"));
    }
    return id_value(*v, out);
  }

  bool optional_id(std::optional<std::string>& out) {
    const json::value* v = o_.if_contains("id");
    if (v == nullptr || v->is_null()) {
      return true;
    }
    return id_value(*v, out.emplace());
  }

  bool string(std::string_view key, std::string& out) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) {
      return fail(missing(key));
    }
    const json::string* s = v->if_string();
    if (s == nullptr) {
      return fail(mistyped(key, "a string"));
    }
    out.assign(s->data(), s->size());
    return true;
  }

  bool optional_string(std::string_view key, std::optional<std::string>& out) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) {
      return true;
    }
    return string(key, out.emplace());
  }

  // A non-negative JSON integer that fits uint64 (CONTRACT §2 seq, since). Fractions,
  // exponents and anything beyond uint64 (which Boost.JSON reads as a double) are refused.
  bool u64(std::string_view key, std::uint64_t& out) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) {
      return fail(missing(key));
    }
    if (const std::uint64_t* u = v->if_uint64()) {
      out = *u;
      return true;
    }
    if (const std::int64_t* i = v->if_int64(); i != nullptr && *i >= 0) {
      out = static_cast<std::uint64_t>(*i);
      return true;
    }
    return fail(mistyped(key, "a non-negative integer"));
  }

  bool optional_u64(std::string_view key, std::optional<std::uint64_t>& out) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) {
      return true;
    }
    return u64(key, out.emplace());
  }

  // A JSON integer that fits int64 (times in ms, intervals).
  bool i64(std::string_view key, std::int64_t& out) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) {
      return fail(missing(key));
    }
    if (const std::int64_t* i = v->if_int64()) {
      out = *i;
      return true;
    }
    if (const std::uint64_t* u = v->if_uint64();
        u != nullptr && *u <= static_cast<std::uint64_t>(INT64_MAX)) {
      out = static_cast<std::int64_t>(*u);
      return true;
    }
    return fail(mistyped(key, "an integer"));
  }

  bool boolean(std::string_view key, bool& out) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) {
      return fail(missing(key));
    }
    if (const bool* b = v->if_bool()) {
      out = *b;
      return true;
    }
    return fail(mistyped(key, "a boolean"));
  }

  // Any JSON number, kept as the value it is (CONTRACT §2: the ping timestamp).
  bool number(std::string_view key, json::value& out) {
    json::value* v = o_.if_contains(key);
    if (v == nullptr) {
      return fail(missing(key));
    }
    if (!v->is_number()) {
      return fail(mistyped(key, "a number"));
    }
    out = *v;  // a scalar: copying it allocates nothing and drops the arena's storage
    return true;
  }

  // Any JSON value, null included (publish and message `data`), moved out onto the default
  // allocator: a move when the frame was parsed there, a deep copy out of the arena.
  bool any(std::string_view key, json::value& out) {
    json::value* v = o_.if_contains(key);
    if (v == nullptr) {
      return fail(missing(key));
    }
    out = json::value(std::move(*v), json::storage_ptr());
    return true;
  }

  bool code(errc& out) {
    std::string_view s;
    const json::value* v = o_.if_contains("code");
    if (v == nullptr) {
      return fail(missing("code"));
    }
    if (const json::string* str = v->if_string()) {
      s = *str;
    }
    if (const auto e = errc_from_string(s)) {
      out = *e;
      return true;
    }
    return fail(mistyped(
        "code",
        "one of bad_json, bad_message, too_large, rate_limited, unauthorized, internal, limit, "
        "forbidden, unavailable"));
  }

 private:
  bool id_value(const json::value& v, std::string& out) {
    const json::string* s = v.if_string();
    if (s == nullptr || !is_valid_id(*s)) {
      return fail(mistyped("id", kIdRule));
    }
    out.assign(s->data(), s->size());
    return true;
  }

  bool fail(ParseError e) {
    error_ = std::move(e);
    return false;
  }

  json::object& o_;
  ParseError error_;
};

// Parses `text` as one JSON object and hands it to `decode(Fields&, object&)`, which returns
// the ParseResult. All of the peer-facing checks that come before the fields live here.
template <class Decode>
auto parse_object(std::string_view text, const Limits& limits, const Decode& decode)
    -> decltype(decode(std::declval<json::object&>())) {
  if (text.size() > limits.max_message_bytes) {
    return make_error(errc::too_large, "message of " + std::to_string(text.size()) +
                                           " bytes is over the limit of " +
                                           std::to_string(limits.max_message_bytes) + " bytes");
  }
  alignas(std::max_align_t) unsigned char arena[kArenaBytes];
  alignas(std::max_align_t) unsigned char temp[kParserTempBytes];
  json::monotonic_resource mr(arena, sizeof arena);
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  json::parser p(json::storage_ptr(), opt, temp, sizeof temp);
  if (text.size() <= kArenaMaxText) {
    p.reset(&mr);
  }
  boost::system::error_code ec;
  std::size_t consumed = 0;
  try {
    consumed = p.write(text.data(), text.size(), ec);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // Boost.JSON throws only for sizes beyond its limits (object_too_large and the like),
    // which max_message_bytes keeps out of reach; still, peer input never escapes as a throw.
    return make_error(errc::bad_json, std::string("invalid JSON: ") + e.what());
  }
  if (ec) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return make_error(errc::bad_json, "empty message");
    }
    return make_error(errc::bad_json,
                      "invalid JSON at byte " + std::to_string(consumed) + ": " + ec.message());
  }
  json::value v = p.release();  // destroyed before mr: declared after it
  json::object* o = v.if_object();
  if (o == nullptr) {
    // Valid JSON, wrong shape: the contract keeps bad_json for text that does not parse.
    return make_error(errc::bad_message, "a message must be a JSON object with a string type");
  }
  return decode(*o);
}

// The `type` of an envelope, or an error.
bool read_type(json::object& o, std::string_view& type, ParseError& error) {
  const json::value* v = o.if_contains("type");
  if (v == nullptr) {
    error = missing("type");
    return false;
  }
  const json::string* s = v->if_string();
  if (s == nullptr) {
    error = mistyped("type", "a string");
    return false;
  }
  type = *s;
  return true;
}

ParseError unknown_type(std::string_view type) {
  // Echo the type only when it is short printable ASCII: the reason goes back to the peer
  // and into logs, so it must stay small and clean.
  bool printable = type.size() <= 32;
  for (const char c : type) {
    printable = printable && c >= 0x20 && c < 0x7F;
  }
  return make_error(errc::bad_message, printable ? "unknown type '" + std::string(type) + "'"
                                                 : std::string("unknown type"));
}

ParseResult<Ping> decode_ping(json::object& o) {
  Fields f(o);
  Ping m;
  if (!f.number("timestamp", m.timestamp)) {
    return std::move(f.error());
  }
  return m;
}

ParseResult<Publish> decode_publish(json::object& o) {
  Fields f(o);
  Publish m;
  if (!(f.channel(m.channel) && f.any("data", m.data) && f.optional_id(m.id))) {
    return std::move(f.error());
  }
  return m;
}

ParseResult<ClientMessage> decode_client(json::object& o) {
  std::string_view type;
  ParseError error;
  if (!read_type(o, type, error)) {
    return error;
  }
  Fields f(o);
  if (type == "ping") {
    auto r = decode_ping(o);
    if (!r) {
      return r.error();
    }
    return ClientMessage(std::move(*r));
  }
  if (type == "subscribe") {
    Subscribe m;
    if (!(f.channel(m.channel) && f.optional_u64("since", m.since) &&
          f.optional_string("epoch", m.epoch))) {
      return std::move(f.error());
    }
    return ClientMessage(std::move(m));
  }
  if (type == "unsubscribe") {
    Unsubscribe m;
    if (!f.channel(m.channel)) {
      return std::move(f.error());
    }
    return ClientMessage(std::move(m));
  }
  if (type == "publish") {
    auto r = decode_publish(o);
    if (!r) {
      return r.error();
    }
    return ClientMessage(std::move(*r));
  }
  if (type == "refresh") {
    Refresh m;
    if (!f.string("token", m.token)) {
      return std::move(f.error());
    }
    if (m.token.empty()) {
      return make_error(errc::bad_message, "field 'token' must be a non-empty string");
    }
    return ClientMessage(std::move(m));
  }
  return unknown_type(type);
}

ParseResult<ServerMessage> decode_server(json::object& o) {
  std::string_view type;
  ParseError error;
  if (!read_type(o, type, error)) {
    return error;
  }
  Fields f(o);
  if (type == "message") {
    Message m;
    if (!(f.channel(m.channel) && f.u64("seq", m.seq) && f.id(m.id) && f.any("data", m.data) &&
          f.i64("timestamp", m.timestamp_ms))) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  if (type == "pong") {
    Pong m;
    if (!(f.number("timestamp", m.timestamp) && f.i64("serverTime", m.server_time_ms))) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  if (type == "ack") {
    Ack m;
    if (!(f.id(m.id) && f.channel(m.channel) && f.u64("seq", m.seq))) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  if (type == "subscribed") {
    Subscribed m;
    if (!(f.channel(m.channel) && f.u64("seq", m.seq) && f.string("epoch", m.epoch) &&
          f.boolean("recovered", m.recovered))) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  if (type == "unsubscribed") {
    Unsubscribed m;
    if (!f.channel(m.channel)) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  if (type == "welcome") {
    Welcome m;
    std::optional<std::string> token;
    if (!(f.string("sessionId", m.session_id) && f.boolean("resumed", m.resumed) &&
          f.optional_string("resumeToken", token) &&
          f.i64("heartbeatInterval", m.heartbeat_interval_ms) &&
          f.i64("heartbeatTimeout", m.heartbeat_timeout_ms) &&
          f.i64("serverTime", m.server_time_ms))) {
      return std::move(f.error());
    }
    m.resume_token = token.value_or(std::string());
    return ServerMessage(std::move(m));
  }
  if (type == "refreshed") {
    Refreshed m;
    if (!f.i64("exp", m.exp_ms)) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  if (type == "error") {
    Error m;
    if (!(f.code(m.code) && f.string("message", m.message))) {
      return std::move(f.error());
    }
    return ServerMessage(std::move(m));
  }
  return unknown_type(type);
}

}  // namespace

ParseResult<ClientMessage> parse_client(std::string_view text, const Limits& limits) {
  return parse_object(text, limits, decode_client);
}

ParseResult<ServerMessage> parse_server(std::string_view text, const Limits& limits) {
  return parse_object(text, limits, decode_server);
}

ParseResult<Publish> parse_publish_body(std::string_view text, const Limits& limits) {
  return parse_object(text, limits, decode_publish);
}

ParseResult<Ping> parse_ping_body(std::string_view text, const Limits& limits) {
  return parse_object(text, limits, decode_ping);
}

}  // namespace steadyws::protocol
