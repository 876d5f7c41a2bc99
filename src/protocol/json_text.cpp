// to_json_text: one pass measures an upper bound, the output grows once, a second pass writes.
#include "protocol/json_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>

#include <boost/assert.hpp>
#include <boost/json/serializer.hpp>

namespace steadyws::protocol {

namespace json = boost::json;

namespace {

// 2^53: every integer up to it is a double exactly, so an integral double this size or less
// is written as that integer with nothing lost. Past it, doubles are spaced 2 or more apart
// and `9007199254740993` would read back as a different number than it looks.
constexpr double kMaxExactInteger = 9007199254740992.0;

// Magnitudes written in fixed notation, never with an exponent. Shortest fixed text at the
// ends: 1e-6 is `0.000001`, and 1e15 (integral) is sixteen digits; wider, fixed notation
// grows long (1e-300 would be 300 zeros) and the exponent form is the readable one.
constexpr double kFixedMin = 1e-6;
constexpr double kFixedMax = 1e15;

// The longest number text we write: a fixed value in [1e-6, 1e-5) with 17 significant digits
// is 25 characters with its sign (`-0.0000012345678901234567`); the shortest round-trip
// exponent form is at most 24 (`-2.2250738585072014e-308`); int64 and uint64 are at most 20.
constexpr std::size_t kMaxNumberChars = 32;

bool is_escape_candidate(unsigned char c) noexcept {
  return c < 0x20 || c == '"' || c == '\\';
}

// An estimate of the escaped size of `s`, exact for what Boost.JSON 1.81 writes (2 bytes for
// `"`, `\` and the short control escapes, 6 for `\u00XX`), and an upper bound for it: no byte
// takes more than six. The writer stays correct if a Boost version escapes more: it then grows
// the output once more instead of overrunning it.
std::size_t string_bound(std::string_view s) noexcept {
  std::size_t n = 2 + s.size();
  for (const char c : s) {
    if (is_escape_candidate(static_cast<unsigned char>(c))) {
      n += 5;
    }
  }
  return n;
}

std::size_t bound(const json::value& v) noexcept;

std::size_t bound(const json::array& a) noexcept {
  std::size_t n = 2;
  for (const json::value& x : a) {
    n += bound(x) + 1;
  }
  return n;
}

std::size_t bound(const json::object& o) noexcept {
  std::size_t n = 2;
  for (const json::key_value_pair& kv : o) {
    n += string_bound(kv.key()) + 1 + bound(kv.value()) + 1;
  }
  return n;
}

std::size_t bound(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null:
      return 4;
    case json::kind::bool_:
      return 5;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return kMaxNumberChars;
    case json::kind::string:
      return string_bound(v.get_string());
    case json::kind::array:
      return bound(v.get_array());
    case json::kind::object:
      return bound(v.get_object());
  }
  return 0;
}

// Writes into out[pos_, out.size()), which the caller sized from bound(); grows it only when
// the bound was short (never with Boost 1.81), and trims it to what was written on finish().
class Writer {
 public:
  Writer(std::string& out, std::size_t bound) : out_(out), pos_(out.size()) {
    out_.resize(pos_ + bound);  // the one allocation, when capacity is short
  }

  void finish() { out_.resize(pos_); }

  void value(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return lit("null");
      case json::kind::bool_:
        return lit(v.get_bool() ? "true" : "false");
      case json::kind::int64:
        return integer(v.get_int64());
      case json::kind::uint64:
        return integer(v.get_uint64());
      case json::kind::double_:
        return number(v.get_double());
      case json::kind::string:
        return str(v.get_string());
      case json::kind::array:
        return value(v.get_array());
      case json::kind::object:
        return value(v.get_object());
    }
  }

  void value(const json::array& a) {
    lit("[");
    bool first = true;
    for (const json::value& x : a) {
      if (!first) {
        lit(",");
      }
      first = false;
      value(x);
    }
    lit("]");
  }

  void value(const json::object& o) {
    lit("{");
    bool first = true;
    for (const json::key_value_pair& kv : o) {
      if (!first) {
        lit(",");
      }
      first = false;
      str(kv.key());
      lit(":");
      value(kv.value());
    }
    lit("}");
  }

 private:
  std::size_t room() const noexcept { return out_.size() - pos_; }
  char* cursor() noexcept { return out_.data() + pos_; }

  void ensure(std::size_t n) {
    if (room() < n) {
      out_.resize(std::max(pos_ + n, 2 * out_.size()));
    }
  }

  void lit(std::string_view s) {
    ensure(s.size());
    std::memcpy(cursor(), s.data(), s.size());
    pos_ += s.size();
  }

  // Escaped by Boost.JSON's own serializer, so strings and keys are byte for byte what
  // json::serialize writes. With room for the whole string it never suspends, and so never
  // allocates (its suspension stack is the only thing it would allocate).
  void str(std::string_view s) {
    sr_.reset(s);
    for (;;) {
      ensure(1);
      pos_ += sr_.read(cursor(), room()).size();
      if (sr_.done()) {
        return;
      }
      ensure(room() + 64);
    }
  }

  template <class Int>
  void integer(Int i) {
    ensure(kMaxNumberChars);
    const auto r = std::to_chars(cursor(), cursor() + room(), i);
    BOOST_ASSERT(r.ec == std::errc{});
    pos_ = static_cast<std::size_t>(r.ptr - out_.data());
  }

  void number(double d) {
    if (!std::isfinite(d)) {
      return lit("null");  // JSON has no NaN or infinity
    }
    if (std::fabs(d) <= kMaxExactInteger && std::trunc(d) == d) {
      // -0.0 becomes 0: numerically equal, and what a person writes.
      return integer(static_cast<std::int64_t>(d));
    }
    ensure(kMaxNumberChars);
    const double a = std::fabs(d);
    // No precision given: the shortest text that reads back as the same double, in fixed
    // notation in the range, else the shorter of fixed and exponent.
    const auto r = a >= kFixedMin && a <= kFixedMax
                       ? std::to_chars(cursor(), cursor() + room(), d, std::chars_format::fixed)
                       : std::to_chars(cursor(), cursor() + room(), d);
    BOOST_ASSERT(r.ec == std::errc{});
    pos_ = static_cast<std::size_t>(r.ptr - out_.data());
  }

  std::string& out_;
  std::size_t pos_;
  json::serializer sr_;  // reused for every string and key; allocates only if it suspends
};

template <class Json>
void append(const Json& v, std::string& out) {
  Writer w(out, bound(v));
  w.value(v);
  w.finish();
}

template <class Json>
std::string text(const Json& v) {
  std::string out;
  append(v, out);
  return out;
}

}  // namespace

std::string to_json_text(const json::value& v) {
  return text(v);
}

std::string to_json_text(const json::object& o) {
  return text(o);
}

std::string to_json_text(const json::array& a) {
  return text(a);
}

void append_json_text(const json::value& v, std::string& out) {
  append(v, out);
}

void append_json_text(const json::object& o, std::string& out) {
  append(o, out);
}

}  // namespace steadyws::protocol
