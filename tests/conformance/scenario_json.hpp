// The JSON side of the conformance scenarios (docs/core/client-engine.md §5): options to a
// ClientEngineConfig, scenario events to engine::Event, engine::Action to the JSON an expect
// step is matched against. Header-only, for tests/conformance/conformance_test.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/client_engine.hpp"

namespace steadyws::conformance {

namespace json = boost::json;

// A JSON object whose keys must all be read: a misspelt key in a scenario fails the test
// instead of being silently ignored.
class Fields {
 public:
  Fields(const json::object& o, std::string where) : o_(o), where_(std::move(where)) {}
  ~Fields() {
    for (const auto& kv : o_) {
      if (!used_.contains(std::string(kv.key())))
        ADD_FAILURE() << where_ << ": unknown key \"" << kv.key() << "\"";
    }
  }
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

  const json::value* find(std::string_view k) {
    used_.insert(std::string(k));
    return o_.if_contains(k);
  }
  bool has(std::string_view k) { return find(k) != nullptr; }
  std::string str(std::string_view k, std::string fallback = "") {
    const auto* v = find(k);
    return v ? std::string(v->as_string()) : fallback;
  }
  std::int64_t num(std::string_view k, std::int64_t fallback = 0) {
    const auto* v = find(k);
    return v ? v->to_number<std::int64_t>() : fallback;
  }
  std::uint64_t unum(std::string_view k, std::uint64_t fallback = 0) {
    const auto* v = find(k);
    return v ? v->to_number<std::uint64_t>() : fallback;
  }
  double real(std::string_view k, double fallback = 0) {
    const auto* v = find(k);
    return v ? v->to_number<double>() : fallback;
  }
  bool flag(std::string_view k, bool fallback = false) {
    const auto* v = find(k);
    return v ? v->as_bool() : fallback;
  }
  Duration ms(std::string_view k, Duration fallback) {
    const auto* v = find(k);
    return v ? Duration{v->to_number<std::int64_t>()} : fallback;
  }

 private:
  const json::object& o_;
  std::string where_;
  std::set<std::string> used_;
};

// ---- options -----------------------------------------------------------------------------

inline ClientEngineConfig config_from(const json::object& o, std::vector<double>& draws) {
  Fields f(o, "options");
  ClientEngineConfig c;
  if (const auto* u = f.find("urls")) {
    for (const auto& s : u->as_array())
      c.urls.emplace_back(s.as_string());
  } else {
    c.urls = {"ws://a/ws"};
  }
  c.max_reconnect_attempts =
      static_cast<std::uint32_t>(f.unum("maxReconnectAttempts", c.max_reconnect_attempts));
  c.reconnect_interval = f.ms("reconnectInterval", c.reconnect_interval);
  c.exponential_backoff = f.flag("exponentialBackoff", c.exponential_backoff);
  c.max_backoff_delay = f.ms("maxBackoffDelay", c.max_backoff_delay);
  c.jitter = f.ms("jitter", c.jitter);
  if (f.has("jitterMode")) {
    const auto m = jitter_mode_from_string(f.str("jitterMode"));
    EXPECT_TRUE(m) << "jitterMode";
    c.jitter_mode = m.value_or(JitterMode::symmetric);
  }
  c.connect_timeout = f.ms("connectTimeout", c.connect_timeout);
  c.heartbeat_interval = f.ms("heartbeatInterval", c.heartbeat_interval);
  c.heartbeat_timeout = f.ms("heartbeatTimeout", c.heartbeat_timeout);
  c.max_missed_heartbeats =
      static_cast<std::uint32_t>(f.unum("maxMissedHeartbeats", c.max_missed_heartbeats));
  c.enable_fallback = f.flag("enableFallback", c.enable_fallback);
  c.fallback_poll_interval = f.ms("fallbackPollInterval", c.fallback_poll_interval);
  c.long_poll_timeout = f.ms("longPollTimeout", c.long_poll_timeout);
  c.critical_quality_fallback_after =
      f.ms("criticalQualityFallbackAfter", c.critical_quality_fallback_after);
  c.forecast_horizon = f.ms("forecastHorizon", c.forecast_horizon);
  c.forecast_failover_risk = f.real("forecastFailoverRisk", c.forecast_failover_risk);
  c.queue.max_messages = static_cast<std::size_t>(f.unum("queueMaxMessages", c.queue.max_messages));
  c.queue.max_bytes = static_cast<std::size_t>(f.unum("queueMaxBytes", c.queue.max_bytes));
  c.ack_timeout = f.ms("ackTimeout", c.ack_timeout);
  draws = {0.5};
  if (const auto* d = f.find("draws")) {
    draws.clear();
    for (const auto& x : d->as_array())
      draws.push_back(x.to_number<double>());
  }
  return c;
}

// ---- events ------------------------------------------------------------------------------

// The shell's reading of a 1001 reason (src/client/wire.cpp retry_after_from_reason).
inline std::optional<Duration> retry_after_from(const std::string& reason) {
  boost::system::error_code ec;
  const json::value v = json::parse(reason, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  const json::value* n = v.as_object().if_contains("retryAfterMs");
  if (n == nullptr || !(n->is_int64() || n->is_uint64()) || n->to_number<double>() < 0)
    return std::nullopt;
  return Duration{std::min<std::int64_t>(n->to_number<std::int64_t>(), 3600 * 1000)};
}

inline engine::InboundFrame frame_from(const json::object& o) {
  const auto type = o.contains("type") && o.at("type").is_string()
                        ? std::string(o.at("type").as_string())
                        : std::string();
  const auto s = [&](const char* k) {
    return o.contains(k) ? std::string(o.at(k).as_string()) : std::string();
  };
  const auto u = [&](const char* k) {
    return o.contains(k) ? o.at(k).to_number<std::uint64_t>() : std::uint64_t{0};
  };
  const auto b = [&](const char* k) {
    return o.contains(k) && o.at(k).as_bool();
  };
  if (type == "welcome")
    return engine::WelcomeFrame{s("sessionId"), s("resumeToken"), b("resumed")};
  if (type == "pong") {
    engine::PongFrame p;
    if (o.contains("timestamp") && o.at("timestamp").is_int64())
      p.token = o.at("timestamp").as_int64();
    return p;
  }
  if (type == "subscribed")
    return engine::SubscribedFrame{s("channel"), u("seq"), s("epoch"), b("recovered")};
  if (type == "unsubscribed")
    return engine::UnsubscribedFrame{s("channel")};
  if (type == "ack")
    return engine::AckFrame{s("id"), s("channel"), u("seq")};
  if (type == "message")
    return engine::MessageFrame{s("channel"), u("seq"), s("id")};
  if (type == "error")
    return engine::ErrorFrame{s("code"), s("message")};
  if (type == "refreshed")
    return engine::RefreshedFrame{};
  return engine::UnparseableFrame{"bad_message", "unknown type \"" + type + "\""};
}

template <class Map, class F>
inline Map map_from(const json::value* v, F&& each) {
  Map m;
  if (v != nullptr) {
    for (const auto& kv : v->as_object())
      m.emplace(std::string(kv.key()), each(kv.value()));
  }
  return m;
}

inline engine::Event event_from(const json::object& o, const ClientEngine& e,
                                const std::string& where) {
  Fields f(o, where);
  const std::string type = f.str("type");
  const LinkId link = f.has("link") ? f.unum("link") : e.link();
  if (type == "connect")
    return engine::ConnectRequested{};
  if (type == "reconnect")
    return engine::ReconnectRequested{};
  if (type == "close")
    return engine::CloseRequested{};
  if (type == "subscribe")
    return engine::SubscribeRequested{f.str("channel")};
  if (type == "unsubscribe")
    return engine::UnsubscribeRequested{f.str("channel")};
  if (type == "publish") {
    json::object frame{{"type", "publish"}, {"channel", f.str("channel", "news")}};
    const auto* data = f.find("data");
    frame["data"] = data ? *data : json::value(nullptr);
    const std::string id = f.str("id");
    frame["id"] = id;
    return engine::PublishRequested{id, json::serialize(frame)};
  }
  if (type == "dial_succeeded")
    return engine::DialSucceeded{link};
  if (type == "dial_failed")
    return engine::DialFailed{link, f.str("reason", "refused")};
  if (type == "link_lost") {
    engine::LinkLost l{link, std::nullopt, f.str("reason"), std::nullopt};
    if (f.has("code")) {
      // Handed over whatever the code: honouring it only on 1001 is the engine's rule.
      l.close_code = static_cast<std::uint16_t>(f.unum("code"));
      l.retry_after = retry_after_from(l.reason);
    }
    return l;
  }
  if (type == "frame") {
    if (f.has("raw")) {
      const std::string raw = f.str("raw");
      return engine::FrameReceived{link, raw.size(),
                                   engine::UnparseableFrame{"bad_json", "not JSON"}};
    }
    const auto& fr = f.find("frame")->as_object();
    return engine::FrameReceived{link, json::serialize(fr).size(), frame_from(fr)};
  }
  if (type == "timer") {
    engine::TimerFired t;
    const auto name = engine_timer_from_string(f.str("timer"));
    EXPECT_TRUE(name) << where << ": timer";
    t.timer = name.value_or(EngineTimer::retry);
    if (f.has("unixMs"))
      t.unix_ms = f.num("unixMs");
    return t;
  }
  const RequestId poll = f.has("request") ? f.unum("request") : e.poll_request();
  const RequestId publish = f.has("request") ? f.unum("request") : e.publish_request();
  if (type == "poll_answered") {
    engine::PollAnswered a;
    a.request = poll;
    if (const auto* ms = f.find("messages")) {
      for (const auto& m : ms->as_array()) {
        const auto& mo = m.as_object();
        a.messages.push_back({std::string(mo.at("channel").as_string()),
                              mo.at("seq").to_number<std::uint64_t>(),
                              mo.contains("id") ? std::string(mo.at("id").as_string()) : ""});
      }
    }
    a.cursors = map_from<decltype(a.cursors)>(
        f.find("cursors"), [](const json::value& v) { return v.to_number<std::uint64_t>(); });
    a.epochs = map_from<decltype(a.epochs)>(
        f.find("epochs"), [](const json::value& v) { return std::string(v.as_string()); });
    a.recovered = map_from<decltype(a.recovered)>(f.find("recovered"),
                                                  [](const json::value& v) { return v.as_bool(); });
    return a;
  }
  if (type == "poll_failed")
    return engine::PollFailed{poll, f.str("reason", "failed"), f.flag("badBody")};
  if (type == "publish_answered") {
    engine::PublishAnswered a{publish, std::nullopt};
    if (const auto* ack = f.find("ack")) {
      const auto& ao = ack->as_object();
      a.ack = engine::AckFrame{std::string(ao.at("id").as_string()),
                               std::string(ao.at("channel").as_string()),
                               ao.at("seq").to_number<std::uint64_t>()};
    }
    return a;
  }
  if (type == "publish_failed")
    return engine::PublishFailed{publish, f.str("reason", "failed")};
  ADD_FAILURE() << where << ": unknown event type \"" << type << "\"";
  return engine::CloseRequested{};
}

// ---- actions as JSON ---------------------------------------------------------------------

inline std::int64_t ms_of(TimePoint t) {
  return std::chrono::duration_cast<Duration>(t.time_since_epoch()).count();
}

inline json::value opt(const std::optional<std::uint64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

inline json::object frame_json(const engine::OutboundFrame& f) {
  return std::visit(
      [](const auto& x) -> json::object {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, engine::PingOut>) {
          return {{"type", "ping"}, {"timestamp", x.token}};
        } else if constexpr (std::is_same_v<T, engine::SubscribeOut>) {
          json::object o{{"type", "subscribe"}, {"channel", x.channel}};
          if (x.since)
            o["since"] = *x.since;
          if (x.epoch)
            o["epoch"] = *x.epoch;
          return o;
        } else if constexpr (std::is_same_v<T, engine::UnsubscribeOut>) {
          return {{"type", "unsubscribe"}, {"channel", x.channel}};
        } else {
          return {{"type", "publish"}, {"id", x.id}};
        }
      },
      f);
}

inline json::object action_json(const engine::Action& a) {
  json::object o{{"type", engine::name_of(a)}};
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        using namespace engine;
        if constexpr (std::is_same_v<T, Dial>) {
          o["link"] = x.link;
          o["url"] = x.url_index;
          o["probe"] = x.probe;
        } else if constexpr (std::is_same_v<T, CloseLink>) {
          o["link"] = x.link;
          o["graceful"] = x.graceful;
        } else if constexpr (std::is_same_v<T, ArmTimer>) {
          o["timer"] = to_string(x.timer);
          o["at"] = ms_of(x.at);
        } else if constexpr (std::is_same_v<T, CancelTimer>) {
          o["timer"] = to_string(x.timer);
        } else if constexpr (std::is_same_v<T, Send>) {
          o["link"] = x.link;
          o["frame"] = frame_json(x.frame);
        } else if constexpr (std::is_same_v<T, Poll>) {
          o["request"] = x.request;
          o["url"] = x.url_index;
          json::array cs;
          for (const auto& c : x.cursors) {
            json::object co{{"channel", c.channel}, {"since", opt(c.since)}};
            co["epoch"] = c.epoch ? json::value(*c.epoch) : json::value(nullptr);
            cs.push_back(std::move(co));
          }
          o["cursors"] = std::move(cs);
          o["wait"] = x.wait.count();
        } else if constexpr (std::is_same_v<T, HttpPublish>) {
          o["request"] = x.request;
          o["url"] = x.url_index;
          o["id"] = x.id;
        } else if constexpr (std::is_same_v<T, Deliver>) {
          o["channel"] = x.channel;
          o["seq"] = x.seq;
          o["id"] = x.id;
          o["index"] = x.index;
          o["viaFallback"] = x.via_fallback;
        } else if constexpr (std::is_same_v<T, StateChanged>) {
          o["from"] = to_string(x.transition.from);
          o["to"] = to_string(x.transition.to);
          o["reason"] = x.transition.reason;
        } else if constexpr (std::is_same_v<T, ReconnectAttempt>) {
          o["attempt"] = x.attempt;
          o["delay"] = x.delay.count();
          o["probe"] = x.probe;
        } else if constexpr (std::is_same_v<T, Acked>) {
          o["id"] = x.id;
          o["channel"] = x.channel;
          o["seq"] = x.seq;
        } else if constexpr (std::is_same_v<T, Recovered>) {
          o["channel"] = x.channel;
          o["recovered"] = x.recovered;
        } else if constexpr (std::is_same_v<T, ReportError>) {
          o["where"] = x.where;
          o["code"] = x.code;
          o["message"] = x.message;
        } else if constexpr (std::is_same_v<T, ReportHealth>) {
          o["latency"] = x.metrics.latency;
          o["packetLoss"] = x.metrics.packet_loss;
          o["reliability"] = x.metrics.reliability;
        } else if constexpr (std::is_same_v<T, QualityChanged>) {
          o["level"] = to_string(x.level);
        } else if constexpr (std::is_same_v<T, ReportForecast>) {
          o["rttMs"] = x.rtt_ms ? json::value(*x.rtt_ms) : json::value(nullptr);
          o["level"] = to_string(x.level);
          o["risk"] = x.forecast.risk;
        } else if constexpr (std::is_same_v<T, ReportBandwidth>) {
          o["bytesPerSecond"] = x.estimate.bytes_per_second;
          o["throttled"] = x.estimate.throttled;
        } else if constexpr (std::is_same_v<T, Enqueued>) {
          constexpr const char* kStatus[] = {"accepted", "duplicate", "full"};
          o["id"] = x.id;
          o["status"] = kStatus[static_cast<int>(x.status)];
        } else if constexpr (std::is_same_v<T, GiveUp>) {
          o["attempts"] = x.attempts;
        }
      },
      a);
  return o;
}

}  // namespace steadyws::conformance
