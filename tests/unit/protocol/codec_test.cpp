// The codec on valid input: exact bytes of every serializer, round trips of every message in
// both directions, the ping timestamp echoed by value, and the contract's edge values.
#include "protocol/codec.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace steadyws::protocol {
namespace {

namespace json = boost::json;

template <class T>
T client_as(std::string_view text, const Limits& limits = {}) {
  auto r = parse_client(text, limits);
  EXPECT_TRUE(r.has_value()) << text << " -> " << (r ? "" : r.error().message);
  if (!r || !std::holds_alternative<T>(*r)) {
    ADD_FAILURE() << "wrong message type for " << text;
    return T{};
  }
  return std::get<T>(std::move(*r));
}

template <class T>
T server_as(std::string_view text) {
  auto r = parse_server(text);
  EXPECT_TRUE(r.has_value()) << text << " -> " << (r ? "" : r.error().message);
  if (!r || !std::holds_alternative<T>(*r)) {
    ADD_FAILURE() << "wrong message type for " << text;
    return T{};
  }
  return std::get<T>(std::move(*r));
}

// ---- exact bytes, in CONTRACT §2 field order --------------------------------------------

TEST(Codec, WelcomeCarriesTheResumeTokenWhenSet) {
  EXPECT_EQ(to_json(Welcome{"s-1", false, 1, 2, 3, "a1b2"}),
            R"({"type":"welcome","sessionId":"s-1","resumed":false,"resumeToken":"a1b2",)"
            R"("heartbeatInterval":1,"heartbeatTimeout":2,"serverTime":3})");
  auto back = parse_server(to_json(Welcome{"s-1", false, 1, 2, 3, "a1b2"}));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<Welcome>(*back).resume_token, "a1b2");
  auto v1 = parse_server(to_json(Welcome{"s-1", false, 1, 2, 3, ""}));
  ASSERT_TRUE(v1.has_value()) << "a v1 welcome has no token";
  EXPECT_EQ(std::get<Welcome>(*v1).resume_token, "");
}

TEST(Codec, SerializesServerMessagesInContractOrder) {
  EXPECT_EQ(to_json(Welcome{"s-1", true, 30000, 10000, 1712345678901, ""}),
            R"({"type":"welcome","sessionId":"s-1","resumed":true,"heartbeatInterval":30000,)"
            R"("heartbeatTimeout":10000,"serverTime":1712345678901})");
  EXPECT_EQ(to_json(Pong{json::value(std::int64_t{42}), 7}),
            R"({"type":"pong","timestamp":42,"serverTime":7})");
  EXPECT_EQ(to_json(Subscribed{"room.1", 17, "e9", false}),
            R"({"type":"subscribed","channel":"room.1","seq":17,"epoch":"e9","recovered":false})");
  EXPECT_EQ(to_json(Unsubscribed{"a:b"}), R"({"type":"unsubscribed","channel":"a:b"})");
  EXPECT_EQ(to_json(Ack{"id-1", "c", 3}), R"({"type":"ack","id":"id-1","channel":"c","seq":3})");
  EXPECT_EQ(
      to_json(Message{"c", 18446744073709551615ULL, "x", json::parse(R"({"k":[1,"two"]})"), -1}),
      R"({"type":"message","channel":"c","seq":18446744073709551615,"id":"x",)"
      R"("data":{"k":[1,"two"]},"timestamp":-1})");
  EXPECT_EQ(to_json(Error{errc::too_large, "over 1 MiB"}),
            R"({"type":"error","code":"too_large","message":"over 1 MiB"})");
}

TEST(Codec, SerializesClientMessagesInContractOrder) {
  EXPECT_EQ(to_json(Ping{json::value(1.5)}), R"({"type":"ping","timestamp":1.5E0})");
  EXPECT_EQ(to_json(Subscribe{"c", std::nullopt, std::nullopt}),
            R"({"type":"subscribe","channel":"c"})");
  EXPECT_EQ(to_json(Subscribe{"c", 0, "ep"}),
            R"({"type":"subscribe","channel":"c","since":0,"epoch":"ep"})");
  EXPECT_EQ(to_json(Unsubscribe{"c"}), R"({"type":"unsubscribe","channel":"c"})");
  EXPECT_EQ(to_json(Publish{"c", json::value(nullptr), std::nullopt}),
            R"({"type":"publish","channel":"c","data":null})");
  EXPECT_EQ(to_json(Publish{"c", json::value("hi"), std::string("m1")}),
            R"({"type":"publish","channel":"c","data":"hi","id":"m1"})");
}

TEST(Codec, SerializeAppendsAndNeverClears) {
  std::string out = "[";
  serialize(Unsubscribed{"a"}, out);
  out += ',';
  serialize(Unsubscribed{"b"}, out);
  out += ']';
  EXPECT_EQ(out,
            R"([{"type":"unsubscribed","channel":"a"},{"type":"unsubscribed","channel":"b"}])");
}

TEST(Codec, SerializeMessageFromPartsEqualsSerializeMessage) {
  const json::value data = json::parse(R"({"price":1.25,"tags":["a","b"],"n":null})");
  std::string parts;
  serialize_message(parts, "ticker:EURUSD", 9, "abc", data, 1712345678901);
  EXPECT_EQ(parts, to_json(Message{"ticker:EURUSD", 9, "abc", data, 1712345678901}));
}

TEST(Codec, SerializesExtremeIntegers) {
  EXPECT_EQ(to_json(Welcome{"", false, std::numeric_limits<std::int64_t>::min(),
                            std::numeric_limits<std::int64_t>::max(), 0, ""}),
            R"({"type":"welcome","sessionId":"","resumed":false,)"
            R"("heartbeatInterval":-9223372036854775808,)"
            R"("heartbeatTimeout":9223372036854775807,"serverTime":0})");
}

TEST(Codec, EscapesStringsExactlyAsBoostJson) {
  std::string every_byte;
  for (int c = 1; c < 0x80; ++c) {
    every_byte += static_cast<char>(c);
  }
  every_byte += std::string("\0", 1);
  every_byte += "\xC3\xA9\xF0\x9F\x98\x80";  // é 😀 copied through
  for (const std::string& s : {every_byte, std::string("\"\\/\b\f\n\r\t"), std::string()}) {
    std::string mine;
    append_json_string(mine, s);
    EXPECT_EQ(mine, json::serialize(json::string_view(s)));
    EXPECT_EQ(json::parse(mine).as_string(), s);
  }
}

TEST(Codec, ErrorMessageWithQuotesAndControlsStaysValidJson) {
  const Error e{errc::bad_message, "field \"x\"\nline\x01"};
  const auto back = server_as<Error>(to_json(e));
  EXPECT_EQ(back.code, errc::bad_message);
  EXPECT_EQ(back.message, e.message);
}

TEST(Codec, SerializesHttpErrorBody) {
  std::string out;
  serialize_http_error(errc::rate_limited, "slow down", out);
  EXPECT_EQ(out, R"({"error":"rate_limited","message":"slow down"})");
  out.clear();
  serialize_http_error("not_found", "no route \"/x\"", out);
  EXPECT_EQ(out, R"({"error":"not_found","message":"no route \"/x\""})");
}

TEST(Codec, SerializesNestedDataOfEveryKind) {
  const char* text = R"({"a":[true,false,null,-1,18446744073709551615,0.5,-1E308,"\u0001\"\\"],)"
                     R"("b":{},"c":[],"d":{"e":{"f":[[[]]]}},"\u00e9":"\u00e9"})";
  const json::value data = json::parse(text);
  const auto back = server_as<Message>(to_json(Message{"c", 1, "i", data, 0}));
  EXPECT_EQ(back.data, data);
}

TEST(Codec, InfinitiesFromHugeNumbersSerializeAsValidJson) {
  // Boost.JSON reads 1e400 as an infinity and its own serializer would write `Infinity`,
  // which is not JSON; every frame we write must parse.
  const auto p = client_as<Publish>(R"({"type":"publish","channel":"c","data":[1e400,-1e400]})");
  ASSERT_TRUE(p.data.is_array());
  const std::string frame = to_json(Message{"c", 1, "i", p.data, 0});
  EXPECT_NE(frame.find(R"("data":[1e99999,-1e99999])"), std::string::npos) << frame;
  EXPECT_EQ(server_as<Message>(frame).data, p.data);
  EXPECT_EQ(to_json(Pong{json::value(std::numeric_limits<double>::infinity()), 0}),
            R"({"type":"pong","timestamp":1e99999,"serverTime":0})");
}

TEST(Codec, ZeroWithAHugeExponentIsEchoedAsZero) {
  // Found by tests/fuzz/codec_fuzz.cpp (corpus: regression-zero-exponent-nan): Boost.JSON 1.81
  // parses 0e890 as NaN, which would echo as null (not a number, and no longer a valid ping).
  const auto ping = client_as<Ping>(R"({"type":"ping","timestamp":0e890})");
  const std::string pong = to_json(Pong{ping.timestamp, 7});
  EXPECT_EQ(pong, R"({"type":"pong","timestamp":0,"serverTime":7})");
  const auto neg = client_as<Ping>(R"({"type":"ping","timestamp":-0.0e999})");
  EXPECT_EQ(to_json(neg), R"({"type":"ping","timestamp":0})");
  EXPECT_EQ(client_as<Ping>(to_json(neg)).timestamp.to_number<double>(), 0.0);
}

// ---- round trips ------------------------------------------------------------------------

TEST(Codec, RoundTripsEveryServerMessage) {
  const Welcome w{"0f3a-77", true, 25000, 5000, 1712345678901, ""};
  const auto w2 = server_as<Welcome>(to_json(w));
  EXPECT_EQ(w2.session_id, w.session_id);
  EXPECT_EQ(w2.resumed, w.resumed);
  EXPECT_EQ(w2.heartbeat_interval_ms, w.heartbeat_interval_ms);
  EXPECT_EQ(w2.heartbeat_timeout_ms, w.heartbeat_timeout_ms);
  EXPECT_EQ(w2.server_time_ms, w.server_time_ms);

  const Pong p{json::value(-3.25), 99};
  const auto p2 = server_as<Pong>(to_json(p));
  EXPECT_EQ(p2.timestamp, p.timestamp);
  EXPECT_EQ(p2.server_time_ms, 99);

  const Subscribed s{"c-1", 18446744073709551615ULL, "epoch/7", true};
  const auto s2 = server_as<Subscribed>(to_json(s));
  EXPECT_EQ(s2.channel, s.channel);
  EXPECT_EQ(s2.seq, s.seq);
  EXPECT_EQ(s2.epoch, s.epoch);
  EXPECT_EQ(s2.recovered, s.recovered);

  EXPECT_EQ(server_as<Unsubscribed>(to_json(Unsubscribed{"u"})).channel, "u");

  const Ack a{std::string(64, 'i'), "c", 5};
  const auto a2 = server_as<Ack>(to_json(a));
  EXPECT_EQ(a2.id, a.id);
  EXPECT_EQ(a2.channel, a.channel);
  EXPECT_EQ(a2.seq, a.seq);

  const Message m{"c", 2, "id", json::parse(R"([1,{"x":"y"}])"), 1712345678901};
  const auto m2 = server_as<Message>(to_json(m));
  EXPECT_EQ(m2.channel, m.channel);
  EXPECT_EQ(m2.seq, m.seq);
  EXPECT_EQ(m2.id, m.id);
  EXPECT_EQ(m2.data, m.data);
  EXPECT_EQ(m2.timestamp_ms, m.timestamp_ms);

  for (const errc code : {errc::bad_json, errc::bad_message, errc::too_large, errc::rate_limited,
                          errc::unauthorized, errc::internal, errc::forbidden}) {
    const auto e2 = server_as<Error>(to_json(Error{code, "why"}));
    EXPECT_EQ(e2.code, code);
    EXPECT_EQ(e2.message, "why");
  }
}

TEST(Codec, RoundTripsEveryClientMessage) {
  EXPECT_EQ(client_as<Ping>(to_json(Ping{json::value(std::int64_t{5})})).timestamp,
            json::value(std::int64_t{5}));

  const auto s1 = client_as<Subscribe>(to_json(Subscribe{"c", std::nullopt, std::nullopt}));
  EXPECT_EQ(s1.channel, "c");
  EXPECT_FALSE(s1.since.has_value());
  EXPECT_FALSE(s1.epoch.has_value());
  const auto s2 = client_as<Subscribe>(to_json(Subscribe{"c", 18446744073709551615ULL, "e"}));
  EXPECT_EQ(s2.since, 18446744073709551615ULL);
  EXPECT_EQ(s2.epoch, "e");

  EXPECT_EQ(client_as<Unsubscribe>(to_json(Unsubscribe{"x.y"})).channel, "x.y");

  const Publish p{"c", json::parse(R"({"text":"hello","n":[1,2,3]})"), std::string("m-1")};
  const auto p2 = client_as<Publish>(to_json(p));
  EXPECT_EQ(p2.channel, p.channel);
  EXPECT_EQ(p2.data, p.data);
  EXPECT_EQ(p2.id, p.id);
  const auto p3 = client_as<Publish>(to_json(Publish{"c", json::value(nullptr), std::nullopt}));
  EXPECT_TRUE(p3.data.is_null());
  EXPECT_FALSE(p3.id.has_value());
}

TEST(Codec, RefreshAndRefreshedRoundTripWithExactBytes) {
  // CONTRACT §8: {"type":"refresh","token":T} and {"type":"refreshed","exp":MS}.
  EXPECT_EQ(to_json(Refresh{"h.p.s"}), R"({"type":"refresh","token":"h.p.s"})");
  EXPECT_EQ(to_json(Refreshed{1800000060000}), R"({"type":"refreshed","exp":1800000060000})");
  EXPECT_EQ(client_as<Refresh>(R"({"type":"refresh","token":"a.b.c","extra":1})").token, "a.b.c");
  EXPECT_EQ(server_as<Refreshed>(to_json(Refreshed{42})).exp_ms, 42);
  EXPECT_EQ(server_as<Error>(to_json(Error{errc::forbidden, "no"})).code, errc::forbidden);
}

TEST(Codec, VariantSerializeDispatchesToTheHeldType) {
  const ClientMessage c = Unsubscribe{"c"};
  const ServerMessage s = Unsubscribed{"c"};
  EXPECT_EQ(to_json(c), to_json(Unsubscribe{"c"}));
  EXPECT_EQ(to_json(s), to_json(Unsubscribed{"c"}));
}

// ---- CONTRACT §2: T is echoed unchanged, whatever JSON number it is ----------------------

TEST(Codec, PingTimestampIsEchoedByValue) {
  struct Case {
    const char* timestamp;
    json::kind kind;
  };
  const Case cases[] = {
      {"1712345678901", json::kind::int64},
      {"0", json::kind::int64},
      {"-42", json::kind::int64},
      {"-9223372036854775808", json::kind::int64},
      {"18446744073709551615", json::kind::uint64},
      {"18446744073709551616", json::kind::double_},  // past uint64: a double, still a number
      {"1712345678901.25", json::kind::double_},
      {"-0.5", json::kind::double_},
      {"1e308", json::kind::double_},
      {"1.7976931348623157e308", json::kind::double_},
      {"4.9e-324", json::kind::double_},
      {"123456789012345678901234567890", json::kind::double_},
  };
  for (const Case& c : cases) {
    const std::string ping = std::string(R"({"type":"ping","timestamp":)") + c.timestamp + "}";
    const auto p = client_as<Ping>(ping);
    EXPECT_EQ(p.timestamp.kind(), c.kind) << c.timestamp;
    const json::value sent = json::parse(c.timestamp);
    EXPECT_EQ(p.timestamp, sent) << c.timestamp;

    const std::string pong = to_json(Pong{p.timestamp, 1});
    const auto echoed = server_as<Pong>(pong);
    EXPECT_EQ(echoed.timestamp, sent) << c.timestamp << " -> " << pong;
    EXPECT_EQ(echoed.timestamp.kind(), c.kind) << c.timestamp << " -> " << pong;
  }
}

TEST(Codec, IntegerPingTimestampIsEchoedByteForByte) {
  const auto p = client_as<Ping>(R"({"type":"ping","timestamp":-1712345678901})");
  EXPECT_EQ(to_json(Pong{p.timestamp, 5}),
            R"({"type":"pong","timestamp":-1712345678901,"serverTime":5})");
}

// ---- field rules on valid input -----------------------------------------------------------

TEST(Codec, ChannelLengthEdges) {
  EXPECT_EQ(client_as<Unsubscribe>(R"({"type":"unsubscribe","channel":"a"})").channel, "a");
  const std::string c128(128, 'c');
  EXPECT_EQ(client_as<Unsubscribe>(R"({"type":"unsubscribe","channel":")" + c128 + "\"}").channel,
            c128);
  const std::string every = "AZaz09_.:-";
  EXPECT_EQ(client_as<Subscribe>(R"({"type":"subscribe","channel":")" + every + "\"}").channel,
            every);
}

TEST(Codec, IsValidChannelTable) {
  EXPECT_FALSE(is_valid_channel(""));
  EXPECT_TRUE(is_valid_channel("a"));
  EXPECT_TRUE(is_valid_channel(std::string(128, 'x')));
  EXPECT_FALSE(is_valid_channel(std::string(129, 'x')));
  for (const char* bad : {"a b", "a/b", "a#", "a\"", "\xC3\xA9", "a,b", "a*", "tab\t", "a+b"}) {
    EXPECT_FALSE(is_valid_channel(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_channel(std::string_view("a\0b", 3)));
}

TEST(Codec, IdLengthEdges) {
  const std::string id64(64, 'i');
  const auto p =
      client_as<Publish>(R"({"type":"publish","channel":"c","data":1,"id":")" + id64 + "\"}");
  EXPECT_EQ(p.id, id64);
  // 64 characters of 4 bytes each: the limit counts characters, not bytes.
  std::string emoji64;
  for (int i = 0; i < 64; ++i) {
    emoji64 += "\xF0\x9F\x98\x80";
  }
  EXPECT_EQ(
      client_as<Publish>(R"({"type":"publish","channel":"c","data":1,"id":")" + emoji64 + "\"}").id,
      emoji64);
  EXPECT_TRUE(is_valid_id("x"));
  EXPECT_TRUE(is_valid_id(id64));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(65, 'i')));
  EXPECT_FALSE(is_valid_id(emoji64 + "\xC3\xA9"));
}

TEST(Codec, NullOptionalFieldsMeanAbsent) {
  const auto s = client_as<Subscribe>(R"({"type":"subscribe","channel":"c","since":null,)"
                                      R"("epoch":null})");
  EXPECT_FALSE(s.since.has_value());
  EXPECT_FALSE(s.epoch.has_value());
  const auto p = client_as<Publish>(R"({"type":"publish","channel":"c","data":null,"id":null})");
  EXPECT_TRUE(p.data.is_null());
  EXPECT_FALSE(p.id.has_value());
}

TEST(Codec, UnknownFieldsAreIgnored) {
  const auto p = client_as<Ping>(
      R"({"extra":{"deep":[1,2,{"x":null}]},"type":"ping","zzz":"q","timestamp":3,"more":[]})");
  EXPECT_EQ(p.timestamp, json::value(std::int64_t{3}));
  const auto w = server_as<Welcome>(
      R"({"type":"welcome","sessionId":"s","resumed":false,"heartbeatInterval":1,)"
      R"("heartbeatTimeout":2,"serverTime":3,"region":"eu","features":["x"]})");
  EXPECT_EQ(w.session_id, "s");
}

TEST(Codec, SubscribeSinceAcceptsTheWholeUint64Range) {
  EXPECT_EQ(client_as<Subscribe>(R"({"type":"subscribe","channel":"c","since":0})").since, 0u);
  EXPECT_EQ(
      client_as<Subscribe>(R"({"type":"subscribe","channel":"c","since":18446744073709551615})")
          .since,
      18446744073709551615ULL);
}

TEST(Codec, WhitespaceAroundTheObjectIsAllowed) {
  EXPECT_EQ(client_as<Unsubscribe>(" \r\n\t{ \"type\" : \"unsubscribe\" , \"channel\" : \"c\" }\n ")
                .channel,
            "c");
}

TEST(Codec, SizeExactlyAtTheLimitIsAccepted) {
  const std::string text = R"({"type":"ping","timestamp":1})";
  Limits limits;
  limits.max_message_bytes = text.size();
  EXPECT_TRUE(parse_client(text, limits).has_value());
}

TEST(Codec, NestingUpToMaxDepthIsAccepted) {
  // The envelope is level 1, so data may nest max_depth - 1 levels.
  const std::size_t levels = Limits{}.max_depth - 1;
  const std::string text = R"({"type":"publish","channel":"c","data":)" + std::string(levels, '[') +
                           std::string(levels, ']') + "}";
  EXPECT_TRUE(parse_client(text).has_value());
}

TEST(Codec, LargeFramesParseOffTheArenaAndOwnTheirData) {
  // Over the 1 KiB arena threshold: parsed on the heap and moved out, not copied.
  const std::string big(100000, 'x');
  const std::string text = R"({"type":"publish","channel":"c","data":{"big":")" + big + "\"}}";
  auto p = client_as<Publish>(text);
  EXPECT_EQ(p.data.at("big").as_string(), big);
  EXPECT_EQ(*p.data.storage(), *json::storage_ptr());
}

TEST(Codec, ParsedValuesOutliveTheNextParse) {
  auto first = client_as<Publish>(R"({"type":"publish","channel":"c","data":{"a":"first"}})");
  auto second = client_as<Publish>(R"({"type":"publish","channel":"c","data":{"a":"second"}})");
  EXPECT_EQ(first.data.at("a").as_string(), "first");
  EXPECT_EQ(second.data.at("a").as_string(), "second");
  EXPECT_EQ(*first.data.storage(), *json::storage_ptr());  // the default allocator, not the arena
}

TEST(Codec, HttpBodiesNeedNoType) {
  auto p = parse_publish_body(R"({"channel":"c","data":[1],"id":"k"})");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->channel, "c");
  EXPECT_EQ(p->id, "k");
  auto ping = parse_ping_body(R"({"timestamp":12.5})");
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ(ping->timestamp, json::value(12.5));
  EXPECT_EQ(parse_ping_body(R"({"timestamp":"x"})").error().code, errc::bad_message);
  EXPECT_EQ(parse_publish_body(R"({"data":1})").error().code, errc::bad_message);
  EXPECT_EQ(parse_publish_body("[").error().code, errc::bad_json);
}

TEST(Codec, ValueOnAnErrorThrowsSystemErrorWithTheCode) {
  const auto r = parse_client("nope");
  ASSERT_FALSE(r.has_value());
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::bad_json);
  }
}

}  // namespace
}  // namespace steadyws::protocol
