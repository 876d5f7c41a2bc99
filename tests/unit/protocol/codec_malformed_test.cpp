// The malformed corpus: every frame here must be refused with the contract's code, never
// crash, never throw. Tables first (one row per input), then generated cases: every field of
// every message removed and replaced by a value of the wrong type.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "protocol/codec.hpp"

namespace steadyws::protocol {
namespace {

namespace json = boost::json;

struct Row {
  std::string name;
  std::string text;
  errc code;
};

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

std::vector<Row> client_corpus() {
  const std::string c128(128, 'c');
  return {
      // not JSON
      {"empty", "", errc::bad_json},
      {"whitespace only", " \t\r\n ", errc::bad_json},
      {"garbage", "hello", errc::bad_json},
      {"truncated open brace", "{", errc::bad_json},
      {"truncated in key", R"({"ty)", errc::bad_json},
      {"truncated in string", R"({"type":"pi)", errc::bad_json},
      {"truncated after colon", R"({"type":"ping","timestamp":)", errc::bad_json},
      {"truncated in number", R"({"type":"ping","timestamp":1)", errc::bad_json},
      {"truncated in escape", R"({"type":"ping\u00)", errc::bad_json},
      {"missing close brace", R"({"type":"ping","timestamp":1 )", errc::bad_json},
      {"trailing garbage", R"({"type":"ping","timestamp":1}x)", errc::bad_json},
      {"two objects", R"({"type":"ping","timestamp":1}{"type":"ping","timestamp":2})",
       errc::bad_json},
      {"trailing comma", R"({"type":"ping","timestamp":1,})", errc::bad_json},
      {"comment", R"({"type":"ping",/*c*/"timestamp":1})", errc::bad_json},
      {"single quotes", R"({'type':'ping','timestamp':1})", errc::bad_json},
      {"unquoted key", R"({type:"ping","timestamp":1})", errc::bad_json},
      {"NaN literal", R"({"type":"ping","timestamp":NaN})", errc::bad_json},
      {"Infinity literal", R"({"type":"ping","timestamp":Infinity})", errc::bad_json},
      {"leading zero", R"({"type":"ping","timestamp":01})", errc::bad_json},
      {"plus sign", R"({"type":"ping","timestamp":+1})", errc::bad_json},
      {"hex number", R"({"type":"ping","timestamp":0x10})", errc::bad_json},
      {"bare control char in string", "{\"type\":\"pi\x01ng\",\"timestamp\":1}", errc::bad_json},
      {"bad escape", R"({"type":"p\qing","timestamp":1})", errc::bad_json},
      {"NUL byte", std::string("{\"type\":\"ping\",\0\"timestamp\":1}", 30), errc::bad_json},
      // not an object at top level
      {"array", "[]", errc::bad_message},
      {"array of message", R"([{"type":"ping","timestamp":1}])", errc::bad_message},
      {"string", R"("ping")", errc::bad_message},
      {"number", "42", errc::bad_message},
      {"null", "null", errc::bad_message},
      {"true", "true", errc::bad_message},
      // deep nesting, at top level and inside data
      {"10k open brackets", std::string(10000, '['), errc::bad_json},
      {"10k balanced brackets", std::string(10000, '[') + std::string(10000, ']'), errc::bad_json},
      {"10k open braces", repeat(R"({"a":)", 10000), errc::bad_json},
      {"data one level too deep",
       R"({"type":"publish","channel":"c","data":)" + std::string(64, '[') + std::string(64, ']') +
           "}",
       errc::bad_json},
      // invalid UTF-8 inside strings
      {"overlong slash in data", "{\"type\":\"publish\",\"channel\":\"c\",\"data\":\"\xC0\xAF\"}",
       errc::bad_json},
      {"lone continuation in data", "{\"type\":\"publish\",\"channel\":\"c\",\"data\":\"\x80\"}",
       errc::bad_json},
      {"truncated sequence in data",
       "{\"type\":\"publish\",\"channel\":\"c\",\"data\":\"\xE2\x82\"}", errc::bad_json},
      {"UTF-8 surrogate in data",
       "{\"type\":\"publish\",\"channel\":\"c\",\"data\":\"\xED\xA0\x80\"}", errc::bad_json},
      {"byte FF in key", "{\"\xFF\":1,\"type\":\"ping\",\"timestamp\":1}", errc::bad_json},
      {"lone surrogate escape", R"({"type":"publish","channel":"c","data":"\ud800"})",
       errc::bad_json},
      // type
      {"no type", R"({"timestamp":1})", errc::bad_message},
      {"empty object", "{}", errc::bad_message},
      {"type number", R"({"type":1,"timestamp":1})", errc::bad_message},
      {"type null", R"({"type":null,"timestamp":1})", errc::bad_message},
      {"type array", R"({"type":["ping"],"timestamp":1})", errc::bad_message},
      {"type object", R"({"type":{"ping":1},"timestamp":1})", errc::bad_message},
      {"type bool", R"({"type":true})", errc::bad_message},
      {"unknown type", R"({"type":"shout","timestamp":1})", errc::bad_message},
      {"type wrong case", R"({"type":"PING","timestamp":1})", errc::bad_message},
      {"type empty", R"({"type":"","timestamp":1})", errc::bad_message},
      {"server type from client", R"({"type":"pong","timestamp":1,"serverTime":1})",
       errc::bad_message},
      {"type with NUL", R"({"type":"ping\u0000","timestamp":1})", errc::bad_message},
      // ping
      {"ping no timestamp", R"({"type":"ping"})", errc::bad_message},
      {"ping timestamp string", R"({"type":"ping","timestamp":"1"})", errc::bad_message},
      {"ping timestamp null", R"({"type":"ping","timestamp":null})", errc::bad_message},
      {"ping timestamp bool", R"({"type":"ping","timestamp":true})", errc::bad_message},
      {"ping timestamp object", R"({"type":"ping","timestamp":{}})", errc::bad_message},
      {"ping timestamp array", R"({"type":"ping","timestamp":[1]})", errc::bad_message},
      // channel
      {"channel missing", R"({"type":"subscribe"})", errc::bad_message},
      {"channel empty", R"({"type":"subscribe","channel":""})", errc::bad_message},
      {"channel 129", R"({"type":"subscribe","channel":")" + c128 + "x\"}", errc::bad_message},
      {"channel space", R"({"type":"subscribe","channel":"a b"})", errc::bad_message},
      {"channel slash", R"({"type":"subscribe","channel":"a/b"})", errc::bad_message},
      {"channel star", R"({"type":"unsubscribe","channel":"news.*"})", errc::bad_message},
      {"channel non-ascii", R"({"type":"subscribe","channel":"caf\u00e9"})", errc::bad_message},
      {"channel NUL", R"({"type":"subscribe","channel":"a\u0000"})", errc::bad_message},
      {"channel newline", R"({"type":"publish","channel":"a\n","data":1})", errc::bad_message},
      {"channel number", R"({"type":"subscribe","channel":7})", errc::bad_message},
      {"channel null", R"({"type":"unsubscribe","channel":null})", errc::bad_message},
      {"channel array", R"({"type":"publish","channel":["c"],"data":1})", errc::bad_message},
      // subscribe since / epoch
      {"since negative", R"({"type":"subscribe","channel":"c","since":-1})", errc::bad_message},
      {"since fraction", R"({"type":"subscribe","channel":"c","since":1.5})", errc::bad_message},
      {"since integral double", R"({"type":"subscribe","channel":"c","since":2.0})",
       errc::bad_message},
      {"since exponent", R"({"type":"subscribe","channel":"c","since":1e3})", errc::bad_message},
      {"since 2^64", R"({"type":"subscribe","channel":"c","since":18446744073709551616})",
       errc::bad_message},
      {"since huge", R"({"type":"subscribe","channel":"c","since":1)" + std::string(400, '0') + "}",
       errc::bad_message},
      {"since string", R"({"type":"subscribe","channel":"c","since":"5"})", errc::bad_message},
      {"since bool", R"({"type":"subscribe","channel":"c","since":true})", errc::bad_message},
      {"epoch number", R"({"type":"subscribe","channel":"c","since":1,"epoch":5})",
       errc::bad_message},
      {"epoch object", R"({"type":"subscribe","channel":"c","epoch":{}})", errc::bad_message},
      // publish
      {"publish no data", R"({"type":"publish","channel":"c"})", errc::bad_message},
      {"publish no channel", R"({"type":"publish","data":1})", errc::bad_message},
      {"id 65", R"({"type":"publish","channel":"c","data":1,"id":")" + std::string(65, 'i') + "\"}",
       errc::bad_message},
      {"id empty", R"({"type":"publish","channel":"c","data":1,"id":""})", errc::bad_message},
      {"id number", R"({"type":"publish","channel":"c","data":1,"id":5})", errc::bad_message},
      {"id object", R"({"type":"publish","channel":"c","data":1,"id":{}})", errc::bad_message},
      {"id bool", R"({"type":"publish","channel":"c","data":1,"id":false})", errc::bad_message},
      // refresh (CONTRACT §8)
      {"refresh no token", R"({"type":"refresh"})", errc::bad_message},
      {"refresh token empty", R"({"type":"refresh","token":""})", errc::bad_message},
      {"refresh token null", R"({"type":"refresh","token":null})", errc::bad_message},
      {"refresh token number", R"({"type":"refresh","token":42})", errc::bad_message},
      {"refresh token array", R"({"type":"refresh","token":["a.b.c"]})", errc::bad_message},
      {"refresh token object", R"({"type":"refresh","token":{"jwt":"a"}})", errc::bad_message},
      {"refreshed sent to the server", R"({"type":"refreshed","exp":1})", errc::bad_message},
  };
}

TEST(CodecMalformed, ClientCorpusIsRefusedWithTheContractCode) {
  for (const Row& row : client_corpus()) {
    const auto r = parse_client(row.text);
    ASSERT_FALSE(r.has_value()) << row.name;
    EXPECT_EQ(r.error().code, row.code) << row.name << ": " << r.error().message;
    EXPECT_FALSE(r.error().message.empty()) << row.name;
    EXPECT_TRUE(is_valid_utf8(r.error().message)) << row.name;
    EXPECT_LE(r.error().message.size(), 200u) << row.name;
  }
}

TEST(CodecMalformed, ServerParserRefusesTheSameJsonErrors) {
  for (const Row& row : client_corpus()) {
    if (row.code != errc::bad_json) {
      continue;
    }
    const auto r = parse_server(row.text);
    ASSERT_FALSE(r.has_value()) << row.name;
    EXPECT_EQ(r.error().code, errc::bad_json) << row.name;
  }
}

TEST(CodecMalformed, ErrorReasonsNameTheField) {
  EXPECT_EQ(parse_client(R"({"type":"subscribe","channel":"a b"})").error().message,
            "field 'channel' must be a string of 1-128 [A-Za-z0-9_.:-]");
  EXPECT_EQ(parse_client(R"({"type":"ping"})").error().message, "missing field 'timestamp'");
  EXPECT_EQ(parse_client(R"({"type":"shout"})").error().message, "unknown type 'shout'");
  EXPECT_EQ(parse_client("{}").error().message, "missing field 'type'");
  EXPECT_EQ(parse_client("[1]").error().message,
            "a message must be a JSON object with a string type");
  EXPECT_EQ(parse_client("").error().message, "empty message");
}

TEST(CodecMalformed, UnknownTypeIsNotEchoedWhenLongOrBinary) {
  const auto long_type = parse_client(R"({"type":")" + std::string(1000, 't') + "\"}");
  EXPECT_EQ(long_type.error().message, "unknown type");
  const auto binary = parse_client(R"({"type":"a\u0001b"})");
  EXPECT_EQ(binary.error().message, "unknown type");
}

TEST(CodecMalformed, OverMaxBytesIsTooLargeBeforeParsing) {
  Limits limits;
  limits.max_message_bytes = 31;
  const std::string ok = R"({"type":"ping","timestamp":1})";  // 29 bytes
  EXPECT_TRUE(parse_client(ok, limits).has_value());
  const std::string over = R"({"type":"ping","timestamp":1234})";  // 32 bytes
  EXPECT_EQ(parse_client(over, limits).error().code, errc::too_large);
  // Size is checked first: even garbage over the limit is too_large, not bad_json.
  EXPECT_EQ(parse_client(std::string(33, '{'), limits).error().code, errc::too_large);
  EXPECT_EQ(parse_server(over, limits).error().code, errc::too_large);
  EXPECT_EQ(parse_publish_body(over, limits).error().code, errc::too_large);
}

TEST(CodecMalformed, DefaultLimitIsOneMebibyte) {
  const std::string pad(kDefaultMaxMessageBytes, ' ');
  const std::string text = R"({"type":"ping","timestamp":1})";
  EXPECT_TRUE(parse_client(text + pad.substr(text.size())).has_value());
  EXPECT_EQ(parse_client(text + pad.substr(text.size() - 1)).error().code, errc::too_large);
}

TEST(CodecMalformed, SmallerMaxDepthIsHonoured) {
  Limits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(parse_client(R"({"type":"publish","channel":"c","data":[[1]]})", limits).has_value());
  EXPECT_EQ(parse_client(R"({"type":"publish","channel":"c","data":[[[1]]]})", limits).error().code,
            errc::bad_json);
}

TEST(CodecMalformed, HugeExponentsAreRefusedOrKeptAsNumbers) {
  // Boost.JSON reads 1e400 as infinity; either way the parser must not crash, and a number
  // it accepts is echoed by value.
  for (const char* t : {"1e400", "-1e400", "1e-400", "1e99999999999"}) {
    const auto r = parse_client(std::string(R"({"type":"ping","timestamp":)") + t + "}");
    if (r) {
      const auto& ping = std::get<Ping>(*r);
      const auto back = parse_server(to_json(Pong{ping.timestamp, 0}));
      ASSERT_TRUE(back.has_value()) << t;
      EXPECT_EQ(std::get<Pong>(*back).timestamp, ping.timestamp) << t;
    } else {
      EXPECT_EQ(r.error().code, errc::bad_json) << t;
    }
  }
}

// ---- generated: each field of each message, removed and mistyped ---------------------------

// A value of the wrong type for `key`: a string where a number is due, a number elsewhere.
json::value wrong_type_for(const json::value& good) {
  if (good.is_string()) {
    return json::value(std::int64_t{7});
  }
  return json::value("7");
}

template <class Parse>
void expect_every_field_required_and_typed(const std::string& valid, Parse parse,
                                           std::initializer_list<std::string_view> optional,
                                           std::initializer_list<std::string_view> any_type) {
  ASSERT_TRUE(parse(valid).has_value()) << valid;
  const json::object base = json::parse(valid).as_object();
  for (const auto& kv : base) {
    const std::string_view key = kv.key();
    const bool is_optional = std::find(optional.begin(), optional.end(), key) != optional.end();
    const bool takes_any = std::find(any_type.begin(), any_type.end(), key) != any_type.end();

    json::object removed = base;
    removed.erase(key);
    const auto r1 = parse(json::serialize(removed));
    if (is_optional) {
      EXPECT_TRUE(r1.has_value()) << valid << " without " << key;
    } else {
      ASSERT_FALSE(r1.has_value()) << valid << " without " << key;
      EXPECT_EQ(r1.error().code, errc::bad_message) << valid << " without " << key;
    }

    if (takes_any) {
      continue;
    }
    for (const json::value& bad :
         {wrong_type_for(kv.value()), json::value(json::array{}), json::value(json::object{})}) {
      json::object mistyped = base;
      mistyped[key] = bad;
      const std::string text = json::serialize(mistyped);
      const auto r2 = parse(text);
      ASSERT_FALSE(r2.has_value()) << text;
      EXPECT_EQ(r2.error().code, errc::bad_message) << text;
    }
  }
}

TEST(CodecMalformed, EveryClientFieldIsRequiredOrOptionalAndTyped) {
  const auto parse = [](const std::string& t) {
    return parse_client(t);
  };
  expect_every_field_required_and_typed(R"({"type":"ping","timestamp":1})", parse, {}, {});
  expect_every_field_required_and_typed(
      R"({"type":"subscribe","channel":"c","since":3,"epoch":"e"})", parse, {"since", "epoch"}, {});
  expect_every_field_required_and_typed(R"({"type":"unsubscribe","channel":"c"})", parse, {}, {});
  expect_every_field_required_and_typed(R"({"type":"publish","channel":"c","data":1,"id":"i"})",
                                        parse, {"id"}, {"data"});
  expect_every_field_required_and_typed(R"({"type":"refresh","token":"a.b.c"})", parse, {}, {});
}

TEST(CodecMalformed, RefreshReasonsNeverEchoTheToken) {
  const auto r = parse_client(R"({"type":"refresh","token":7,"x":"s3cr3t"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos);
  const auto e = parse_client(R"({"type":"refresh","token":""})");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "field 'token' must be a non-empty string");
}

TEST(CodecMalformed, EveryServerFieldIsRequiredAndTyped) {
  const auto parse = [](const std::string& t) {
    return parse_server(t);
  };
  expect_every_field_required_and_typed(to_json(Welcome{"s", true, 1, 2, 3, ""}), parse, {}, {});
  expect_every_field_required_and_typed(to_json(Pong{json::value(1), 2}), parse, {}, {});
  expect_every_field_required_and_typed(to_json(Subscribed{"c", 1, "e", true}), parse, {}, {});
  expect_every_field_required_and_typed(to_json(Unsubscribed{"c"}), parse, {}, {});
  expect_every_field_required_and_typed(to_json(Ack{"i", "c", 1}), parse, {}, {});
  expect_every_field_required_and_typed(to_json(Message{"c", 1, "i", json::value(1), 2}), parse, {},
                                        {"data"});
  expect_every_field_required_and_typed(to_json(Error{errc::internal, "m"}), parse, {}, {});
  expect_every_field_required_and_typed(to_json(Refreshed{1800000000000}), parse, {}, {});
}

TEST(CodecMalformed, ServerSpecificRefusals) {
  const std::vector<Row> rows = {
      {"unknown error code", R"({"type":"error","code":"teapot","message":"m"})",
       errc::bad_message},
      {"seq negative", R"({"type":"ack","id":"i","channel":"c","seq":-1})", errc::bad_message},
      {"seq beyond uint64", R"({"type":"ack","id":"i","channel":"c","seq":18446744073709551616})",
       errc::bad_message},
      {"serverTime fraction", R"({"type":"pong","timestamp":1,"serverTime":1.5})",
       errc::bad_message},
      {"serverTime beyond int64",
       R"({"type":"pong","timestamp":1,"serverTime":9223372036854775808})", errc::bad_message},
      {"message id 65",
       R"({"type":"message","channel":"c","seq":1,"id":")" + std::string(65, 'i') +
           R"(","data":1,"timestamp":1})",
       errc::bad_message},
      {"client type to client", R"({"type":"ping","timestamp":1})", errc::bad_message},
      {"refreshed exp fraction", R"({"type":"refreshed","exp":1.5})", errc::bad_message},
      {"refreshed exp string", R"({"type":"refreshed","exp":"1"})", errc::bad_message},
      {"refresh sent to the client", R"({"type":"refresh","token":"t"})", errc::bad_message},
  };
  for (const Row& row : rows) {
    const auto r = parse_server(row.text);
    ASSERT_FALSE(r.has_value()) << row.name;
    EXPECT_EQ(r.error().code, row.code) << row.name << ": " << r.error().message;
  }
}

TEST(CodecMalformed, EveryPrefixOfAValidFrameIsRefusedCleanly) {
  // Truncation at every byte: none may crash, none may parse (each prefix is incomplete).
  const std::string frames[] = {
      R"({"type":"publish","channel":"c","data":{"a":[1,2.5,"x\u00e9",null,true]},"id":"k"})",
      to_json(Welcome{"s", true, 1, 2, 3, ""}),
  };
  for (const std::string& frame : frames) {
    for (std::size_t n = 0; n < frame.size(); ++n) {
      const auto r = parse_client(frame.substr(0, n));
      ASSERT_FALSE(r.has_value()) << frame.substr(0, n);
      EXPECT_EQ(r.error().code, errc::bad_json) << frame.substr(0, n);
      EXPECT_FALSE(parse_server(frame.substr(0, n)).has_value());
    }
  }
}

}  // namespace
}  // namespace steadyws::protocol
