// The engine's vocabulary as words: timer names, event and action kinds, and one-line
// descriptions for logs (issue 10 point 6) and for test failure messages.
#include <array>
#include <type_traits>
#include <utility>

#include "core/client_engine_events.hpp"

namespace steadyws {
namespace {

constexpr std::array<std::string_view, kEngineTimerCount> kTimerNames{"retry", "connect",
                                                                      "heartbeat", "poll", "ack"};

std::string ms(TimePoint t) {
  return std::to_string(std::chrono::duration_cast<Duration>(t.time_since_epoch()).count()) + "ms";
}

std::string ms(Duration d) {
  return std::to_string(d.count()) + "ms";
}

template <class T>
std::string opt(const std::optional<T>& v) {
  if (!v)
    return "-";
  if constexpr (std::is_same_v<T, std::string>)
    return *v;
  else
    return std::to_string(*v);
}

std::string yes(bool b) {
  return b ? "true" : "false";
}

std::string describe_frame(const engine::OutboundFrame& f) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, engine::PingOut>)
          return "ping " + std::to_string(x.token);
        else if constexpr (std::is_same_v<T, engine::SubscribeOut>)
          return "subscribe " + x.channel + " since=" + opt(x.since) + " epoch=" + opt(x.epoch);
        else if constexpr (std::is_same_v<T, engine::UnsubscribeOut>)
          return "unsubscribe " + x.channel;
        else
          return "publish " + x.id;
      },
      f);
}

}  // namespace

std::string_view to_string(EngineTimer t) noexcept {
  const auto i = static_cast<std::size_t>(t);
  return i < kEngineTimerCount ? kTimerNames[i] : std::string_view{"unknown"};
}

std::optional<EngineTimer> engine_timer_from_string(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kEngineTimerCount; ++i) {
    if (kTimerNames[i] == s)
      return static_cast<EngineTimer>(i);
  }
  return std::nullopt;
}

namespace engine {

std::string_view name_of(const Event& e) noexcept {
  constexpr std::array<std::string_view, std::variant_size_v<Event>> kNames{
      "connect", "reconnect",      "close",       "subscribe",        "unsubscribe",
      "publish", "dial_succeeded", "dial_failed", "link_lost",        "frame",
      "timer",   "poll_answered",  "poll_failed", "publish_answered", "publish_failed"};
  return kNames[e.index()];
}

std::string_view name_of(const Action& a) noexcept {
  constexpr std::array<std::string_view, std::variant_size_v<Action>> kNames{
      "dial",         "close_link", "arm_timer",    "cancel_timer", "send",    "start_polling",
      "stop_polling", "poll",       "http_publish", "deliver",      "state",   "reconnect_attempt",
      "acked",        "recovered",  "error",        "health",       "quality", "forecast",
      "bandwidth",    "enqueued",   "give_up"};
  return kNames[a.index()];
}

std::string describe(const Action& a) {
  std::string head(name_of(a));
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Dial>)
          return head + " url=" + std::to_string(x.url_index) + " link=" + std::to_string(x.link) +
                 (x.probe ? " probe" : "");
        else if constexpr (std::is_same_v<T, CloseLink>)
          return head + " link=" + std::to_string(x.link) + (x.graceful ? " graceful" : "");
        else if constexpr (std::is_same_v<T, ArmTimer>)
          return head + " " + std::string(to_string(x.timer)) + " at=" + ms(x.at);
        else if constexpr (std::is_same_v<T, CancelTimer>)
          return head + " " + std::string(to_string(x.timer));
        else if constexpr (std::is_same_v<T, Send>)
          return head + " link=" + std::to_string(x.link) + " " + describe_frame(x.frame);
        else if constexpr (std::is_same_v<T, Poll>) {
          std::string s = head + " request=" + std::to_string(x.request) +
                          " url=" + std::to_string(x.url_index);
          for (const auto& c : x.cursors)
            s += " " + c.channel + "@" + opt(c.since) + "/" + opt(c.epoch);
          return s;
        } else if constexpr (std::is_same_v<T, HttpPublish>)
          return head + " request=" + std::to_string(x.request) +
                 " url=" + std::to_string(x.url_index) + " " + x.id;
        else if constexpr (std::is_same_v<T, Deliver>)
          return head + " " + x.channel + "#" + std::to_string(x.seq) +
                 (x.id.empty() ? "" : " " + x.id) + (x.via_fallback ? " via_fallback" : "");
        else if constexpr (std::is_same_v<T, StateChanged>)
          return head + " " + std::string(to_string(x.transition.from)) + "->" +
                 std::string(to_string(x.transition.to)) + " (" + x.transition.reason + ")";
        else if constexpr (std::is_same_v<T, ReconnectAttempt>)
          return head + " " + std::to_string(x.attempt) + " delay=" + ms(x.delay) +
                 (x.probe ? " probe" : "");
        else if constexpr (std::is_same_v<T, Acked>)
          return head + " " + x.id + " " + x.channel + "#" + std::to_string(x.seq);
        else if constexpr (std::is_same_v<T, Recovered>)
          return head + " " + x.channel + " " + yes(x.recovered);
        else if constexpr (std::is_same_v<T, ReportError>)
          return head + " " + x.where + (x.code.empty() ? "" : " " + x.code) + ": " + x.message;
        else if constexpr (std::is_same_v<T, ReportHealth>)
          return head + " latency=" + std::to_string(x.metrics.latency) +
                 " loss=" + std::to_string(x.metrics.packet_loss);
        else if constexpr (std::is_same_v<T, QualityChanged>)
          return head + " " + std::string(to_string(x.level));
        else if constexpr (std::is_same_v<T, ReportForecast>)
          return head + " risk=" + std::to_string(x.forecast.risk) +
                 " level=" + std::string(to_string(x.level));
        else if constexpr (std::is_same_v<T, ReportBandwidth>)
          return head + " throttled=" + yes(x.estimate.throttled);
        else if constexpr (std::is_same_v<T, Enqueued>) {
          constexpr std::array<std::string_view, 3> kStatus{"accepted", "duplicate", "full"};
          return head + " " + x.id + " " + std::string(kStatus[static_cast<std::size_t>(x.status)]);
        } else if constexpr (std::is_same_v<T, GiveUp>)
          return head + " after " + std::to_string(x.attempts) + " attempts";
        else
          return head;  // start_polling, stop_polling
      },
      a);
}

std::string describe(const Event& e) {
  std::string head(name_of(e));
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, SubscribeRequested> ||
                      std::is_same_v<T, UnsubscribeRequested>)
          return head + " " + x.channel;
        else if constexpr (std::is_same_v<T, PublishRequested>)
          return head + " " + x.id;
        else if constexpr (std::is_same_v<T, DialSucceeded>)
          return head + " link=" + std::to_string(x.link);
        else if constexpr (std::is_same_v<T, DialFailed>)
          return head + " link=" + std::to_string(x.link) + ": " + x.reason;
        else if constexpr (std::is_same_v<T, LinkLost>)
          return head + " link=" + std::to_string(x.link) + " code=" + opt(x.close_code) + ": " +
                 x.reason;
        else if constexpr (std::is_same_v<T, FrameReceived>)
          return head + " link=" + std::to_string(x.link) +
                 " kind=" + std::to_string(x.frame.index());
        else if constexpr (std::is_same_v<T, TimerFired>)
          return head + " " + std::string(to_string(x.timer));
        else if constexpr (std::is_same_v<T, PollAnswered>)
          return head + " request=" + std::to_string(x.request) +
                 " messages=" + std::to_string(x.messages.size());
        else if constexpr (std::is_same_v<T, PollFailed> || std::is_same_v<T, PublishFailed>)
          return head + " request=" + std::to_string(x.request) + ": " + x.reason;
        else if constexpr (std::is_same_v<T, PublishAnswered>)
          return head + " request=" + std::to_string(x.request);
        else
          return head;
      },
      e);
}

}  // namespace engine
}  // namespace steadyws
