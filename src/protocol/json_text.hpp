// JSON text for people and scrapers: boost::json::serialize, with numbers as people write them.
//
// Boost.JSON 1.81 writes every double in exponent form (100.0 -> `1E2`, 12.5 -> `1.25E1`).
// to_json_text writes exactly what boost::json::serialize writes (no whitespace, keys in their
// stored order, strings and keys escaped by Boost.JSON's own serializer), except doubles:
//   - integral and within +-2^53 (exactly representable): an integer, `100`, `0` (also -0.0);
//   - other finite values in [1e-6, 1e15] by magnitude: shortest round-trip fixed notation,
//     `12.5`, `0.001`, never an exponent;
//   - other finite values: std::to_chars's shortest round-trip form (`1e+20`, `1e-07`);
//   - NaN and infinities, which JSON cannot carry: `null`.
// Every number reads back as the same double (or integer), so parse(to_json_text(v)) equals v
// numerically. Not for the wire protocol (protocol/codec.hpp has its own serializers, which
// echo application numbers as Boost.JSON formats them).
//
// Thread-safety: pure and reentrant. Allocates only the output string: one growth from an
// upper bound measured before writing.
#pragma once

#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace steadyws::protocol {

// The JSON text of `v` (see the header comment for how doubles are written). The object and
// array overloads spare callers the deep copy that converting to a json::value would make.
std::string to_json_text(const boost::json::value& v);
std::string to_json_text(const boost::json::object& o);
std::string to_json_text(const boost::json::array& a);

// Appends the JSON text of `v` to `out`; grows `out` at most once.
void append_json_text(const boost::json::value& v, std::string& out);
void append_json_text(const boost::json::object& o, std::string& out);

}  // namespace steadyws::protocol
