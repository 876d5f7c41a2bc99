#include "client/wire.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/codec.hpp"

namespace steadyws::client {
namespace json = boost::json;

std::optional<Duration> retry_after_from_reason(std::string_view reason) {
  constexpr std::int64_t kMaxRetryAfterMs = 3600 * 1000;
  boost::system::error_code ec;
  json::value v = json::parse(reason, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  const json::value* n = v.as_object().if_contains("retryAfterMs");
  if (n == nullptr)
    return std::nullopt;
  std::int64_t ms = 0;
  if (n->is_int64()) {
    ms = n->as_int64();
  } else if (n->is_uint64()) {
    ms = kMaxRetryAfterMs;  // beyond int64: capped below anyway
  } else if (n->is_double() && n->as_double() >= 0) {
    ms = n->as_double() > static_cast<double>(kMaxRetryAfterMs)
             ? kMaxRetryAfterMs
             : static_cast<std::int64_t>(n->as_double());
  } else {
    return std::nullopt;
  }
  if (ms < 0)
    return std::nullopt;
  return Duration{std::min(ms, kMaxRetryAfterMs)};
}

Result<PollAnswer> parse_poll_answer(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec)
    return Fail{std::string("poll answer is not JSON: ") + ec.message()};
  if (!v.is_object())
    return Fail{std::string("poll answer is not a JSON object")};
  const json::object& o = v.as_object();
  PollAnswer out;
  if (const json::value* ms = o.if_contains("messages")) {
    if (!ms->is_array())
      return Fail{std::string("poll answer: messages is not an array")};
    for (const json::value& m : ms->as_array()) {
      std::string text;
      if (m.is_object() && !m.as_object().contains("type")) {
        json::object copy = m.as_object();
        copy["type"] = "message";
        text = json::serialize(copy);
      } else {
        text = json::serialize(m);
      }
      auto parsed = protocol::parse_server(text);
      if (!parsed || !std::holds_alternative<protocol::Message>(*parsed)) {
        ++out.bad_messages;
        continue;
      }
      out.messages.push_back({std::get<protocol::Message>(std::move(*parsed)), std::move(text)});
    }
  }
  if (const json::value* cs = o.if_contains("cursors"); cs && cs->is_object()) {
    for (const auto& [k, val] : cs->as_object()) {
      if (val.is_uint64())
        out.cursors[std::string(k)] = val.as_uint64();
      else if (val.is_int64() && val.as_int64() >= 0)
        out.cursors[std::string(k)] = static_cast<std::uint64_t>(val.as_int64());
    }
  }
  if (const json::value* es = o.if_contains("epochs"); es && es->is_object()) {
    for (const auto& [k, val] : es->as_object()) {
      if (val.is_string())
        out.epochs[std::string(k)] = std::string(val.as_string());
    }
  }
  if (const json::value* rs = o.if_contains("recovered"); rs && rs->is_object()) {
    for (const auto& [k, val] : rs->as_object()) {
      if (val.is_bool())
        out.recovered[std::string(k)] = val.as_bool();
    }
  }
  return out;
}

Result<protocol::Ack> parse_publish_answer(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return Fail{std::string("publish answer is not a JSON object")};
  json::object o = v.as_object();
  if (!o.contains("type"))
    o["type"] = "ack";
  auto parsed = protocol::parse_server(json::serialize(o));
  if (!parsed || !std::holds_alternative<protocol::Ack>(*parsed))
    return Fail{std::string("publish answer is not an ack")};
  return std::get<protocol::Ack>(std::move(*parsed));
}

std::string publish_frame(const std::string& channel, const boost::json::value& data,
                          const std::string& id) {
  protocol::Publish p;
  p.channel = channel;
  p.data = data;
  p.id = id;
  return protocol::to_json(p);
}

std::string ping_frame(std::int64_t timestamp) {
  protocol::Ping p;
  p.timestamp = timestamp;
  return protocol::to_json(p);
}

std::optional<std::int64_t> pong_token(const protocol::Pong& p) {
  if (p.timestamp.is_int64())
    return p.timestamp.as_int64();
  if (p.timestamp.is_uint64() && p.timestamp.as_uint64() <= INT64_MAX)
    return static_cast<std::int64_t>(p.timestamp.as_uint64());
  return std::nullopt;
}

}  // namespace steadyws::client
