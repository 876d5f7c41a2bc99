// The vocabulary of ClientEngine (core/client_engine.hpp): the events a client shell feeds it
// and the actions it hands back. Plain values, no behaviour; the names in comments are the
// spellings used by describe() and by the conformance scenarios (docs/core/client-engine.md).
//
// The core may not include protocol/ (docs/architecture.md), so frames in and out are the
// engine's own small structs: the shell parses with protocol::parse_server and turns each
// engine::Send into bytes with protocol::to_json (a publish arrives already serialized, because
// the offline queue bounds bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "steadyws/core/bandwidth.hpp"
#include "steadyws/core/connection_state.hpp"
#include "steadyws/core/forecast.hpp"
#include "steadyws/core/outbound_queue.hpp"
#include "steadyws/core/quality_monitor.hpp"
#include "steadyws/core/time.hpp"

#include "core/client_engine_cursors.hpp"

namespace steadyws {

// The engine's timers; the shell keeps one steady_timer per kind. Arming one replaces its
// previous deadline. Spelled "retry", "connect", "heartbeat", "poll", "ack".
enum class EngineTimer {
  retry,      // the backoff (or probe) delay before the next WebSocket attempt
  connect,    // connect_timeout: TCP + upgrade + welcome of one attempt
  heartbeat,  // HeartbeatTracker::next_deadline() of the current connection
  poll,       // the pause before the next long poll on the fallback
  ack,        // ack_timeout: publishes in flight and no ack at all
};
inline constexpr std::size_t kEngineTimerCount = 5;
std::string_view to_string(EngineTimer t) noexcept;
std::optional<EngineTimer> engine_timer_from_string(std::string_view s) noexcept;

// Names one WebSocket attempt and the connection it becomes (1, 2, 3, ...; 0 is never used).
// Every event about a link carries the id the engine gave in its Dial; events naming a link
// that is no longer the current one are stale and ignored.
using LinkId = std::uint64_t;
// Names one HTTP call of the fallback (a poll or a publish), the same way.
using RequestId = std::uint64_t;

namespace engine {

// ---- events: what happened --------------------------------------------------------------

struct ConnectRequested {};    // "connect": Client::connect()
struct ReconnectRequested {};  // "reconnect": Client::reconnect()
struct CloseRequested {};      // "close": Client::disconnect()
struct SubscribeRequested {    // "subscribe"
  std::string channel;
};
struct UnsubscribeRequested {  // "unsubscribe"
  std::string channel;
};
// "publish": queue a publish frame. `payload` is the serialized publish frame (it doubles as
// the POST /api/publish body); `id` its dedup key. The engine answers with Enqueued.
struct PublishRequested {
  std::string id;
  std::string payload;
};

struct DialSucceeded {  // "dial_succeeded": the upgrade completed; the welcome is still due
  LinkId link = 0;
};
struct DialFailed {  // "dial_failed": resolve, TCP, TLS or upgrade failed (reason in words)
  LinkId link = 0;
  std::string reason;
};
// "link_lost": the link ended after the upgrade. close_code set: a close frame arrived (a clean
// close); otherwise a read or write error. retry_after: the N of a {"retryAfterMs":N} reason,
// parsed by the shell; honoured only with close code 1001 (CONTRACT §1).
struct LinkLost {
  LinkId link = 0;
  std::optional<std::uint16_t> close_code;
  std::string reason;
  std::optional<Duration> retry_after;
};

// Frames from the server (CONTRACT §2), as protocol::parse_server typed them.
struct WelcomeFrame {
  std::string session_id;
  std::string resume_token;
  bool resumed = false;
};
struct PongFrame {
  std::optional<std::int64_t> token;  // the echoed timestamp, if it is an integer
};
struct SubscribedFrame {
  std::string channel;
  std::uint64_t seq = 0;
  std::string epoch;
  bool recovered = false;
};
struct UnsubscribedFrame {
  std::string channel;
};
struct AckFrame {
  std::string id;
  std::string channel;
  std::uint64_t seq = 0;
};
struct MessageFrame {  // the shell keeps the data; the engine decides with these three
  std::string channel;
  std::uint64_t seq = 0;
  std::string id;
};
struct ErrorFrame {
  std::string code;  // the wire spelling: "rate_limited", ...
  std::string message;
};
struct RefreshedFrame {};
struct UnparseableFrame {  // parse_server refused it
  std::string code;        // "bad_json", "bad_message", ...
  std::string message;
};
using InboundFrame =
    std::variant<WelcomeFrame, PongFrame, SubscribedFrame, UnsubscribedFrame, AckFrame,
                 MessageFrame, ErrorFrame, RefreshedFrame, UnparseableFrame>;
struct FrameReceived {  // "frame": one text frame of `bytes` bytes
  LinkId link = 0;
  std::size_t bytes = 0;
  InboundFrame frame;
};

// "timer": a timer the engine armed expired. A firing before its deadline, or of a timer that
// is not armed (cancelled, re-armed), is ignored. unix_ms: the wall clock, used only as the
// ping token (the wire timestamp); without it the token is `now` in ms.
struct TimerFired {
  EngineTimer timer = EngineTimer::retry;
  std::optional<std::int64_t> unix_ms;
};

// "poll_answered": an /api/poll answered 200 with a body that parsed (CONTRACT §3).
struct PolledMessage {
  std::string channel;
  std::uint64_t seq = 0;
  std::string id;
};
struct PollAnswered {
  RequestId request = 0;
  std::vector<PolledMessage> messages;  // in the answer's order; Deliver::index points here
  std::map<std::string, std::uint64_t, std::less<>> cursors;
  std::map<std::string, std::string, std::less<>> epochs;
  std::map<std::string, bool, std::less<>> recovered;
};
// "poll_failed": a transport error or a status other than 200 (bad_body false: the next poll
// goes to the next URL), or a 200 whose body did not parse (bad_body true: same URL).
struct PollFailed {
  RequestId request = 0;
  std::string reason;
  bool bad_body = false;
};
// "publish_answered": POST /api/publish answered 200; ack is its body when it parsed.
struct PublishAnswered {
  RequestId request = 0;
  std::optional<AckFrame> ack;
};
struct PublishFailed {  // "publish_failed": transport error or not 200
  RequestId request = 0;
  std::string reason;
};

using Event = std::variant<ConnectRequested, ReconnectRequested, CloseRequested, SubscribeRequested,
                           UnsubscribeRequested, PublishRequested, DialSucceeded, DialFailed,
                           LinkLost, FrameReceived, TimerFired, PollAnswered, PollFailed,
                           PublishAnswered, PublishFailed>;

// ---- actions: what to do, in order ------------------------------------------------------

// "dial": start a WebSocket attempt to urls[url_index] (ask the token provider first). The
// connect timer is armed separately. probe: made from the fallback to try the WebSocket again.
struct Dial {
  LinkId link = 0;
  std::size_t url_index = 0;
  bool probe = false;
};
// "close_link": end the link. graceful: a 1000 close handshake, the socket closed when it
// completes (the shell bounds the wait, 2 s today); otherwise close the socket now.
struct CloseLink {
  LinkId link = 0;
  bool graceful = false;
};
struct ArmTimer {  // "arm_timer": expires_at(at); replaces the timer's previous deadline
  EngineTimer timer = EngineTimer::retry;
  TimePoint at{};
};
struct CancelTimer {  // "cancel_timer": only for a timer that was armed
  EngineTimer timer = EngineTimer::retry;
};

// Frames to the server; the shell serializes them with the protocol codec.
struct PingOut {  // {"type":"ping","timestamp":token}
  std::int64_t token = 0;
};
struct SubscribeOut {  // {"type":"subscribe","channel":C[,"since":N,"epoch":E]}
  std::string channel;
  std::optional<std::uint64_t> since;
  std::optional<std::string> epoch;
};
struct UnsubscribeOut {
  std::string channel;
};
struct PublishOut {  // the queued payload, as given to PublishRequested
  std::string id;
  std::string payload;
};
using OutboundFrame = std::variant<PingOut, SubscribeOut, UnsubscribeOut, PublishOut>;
struct Send {  // "send": one frame on the link, after those sent before it
  LinkId link = 0;
  OutboundFrame frame;
};

struct StartPolling {};  // "start_polling": the fallback is on (on_fallback_activated(true))
// "stop_polling": the fallback is off: cancel the poll and publish in flight, unread (their
// messages were not delivered, so the cursors did not move), on_fallback_activated(false).
struct StopPolling {};
// "poll": GET /api/poll on urls[url_index] with these cursors and timeout=wait (the shell's
// own deadline for the call: wait + 5 s). Answered by PollAnswered or PollFailed.
struct Poll {
  RequestId request = 0;
  std::size_t url_index = 0;
  std::vector<ResumePoint> cursors;
  Duration wait{0};
};
// "http_publish": POST /api/publish with the payload. Answered by PublishAnswered/Failed.
struct HttpPublish {
  RequestId request = 0;
  std::size_t url_index = 0;
  std::string id;
  std::string payload;
};

// "deliver": hand the message to the application. index: its place in the PollAnswered's
// messages (0 for a WebSocket frame, which carries one).
struct Deliver {
  std::string channel;
  std::uint64_t seq = 0;
  std::string id;
  std::size_t index = 0;
  bool via_fallback = false;
};
struct StateChanged {  // "state": on_state_change
  Transition transition;
};
// "reconnect_attempt": on_reconnect_attempt; attempt is 1-based within the current run of
// failures (of probes, on the fallback); delay is what the retry timer waits.
struct ReconnectAttempt {
  std::uint32_t attempt = 0;
  Duration delay{0};
  bool probe = false;
};
struct Acked {  // "acked": on_ack, for a publish that was queued here
  std::string id;
  std::string channel;
  std::uint64_t seq = 0;
};
struct Recovered {  // "recovered": on_recovered, after a resume (a subscribe or poll with since)
  std::string channel;
  bool recovered = false;
};
struct ReportError {  // "error": on_error. code: the wire errc spelling, or empty
  std::string where;
  std::string code;
  std::string message;
};
struct ReportHealth {  // "health": on_health_update, after every heartbeat sample
  QualityMetrics metrics;
  std::vector<Alert> alerts;
};
struct QualityChanged {  // "quality": on_quality_change
  Quality level = Quality::excellent;
};
struct ReportForecast {  // "forecast": on_forecast (ForecastSample), after every sample
  std::optional<double> rtt_ms;
  bool reconnected = false;
  Quality level = Quality::excellent;
  Forecast forecast;
};
struct ReportBandwidth {  // "bandwidth": on_bandwidth
  BandwidthEstimate estimate;
};
struct Enqueued {  // "enqueued": what PublishRequested did (Client::publish's PublishResult)
  std::string id;
  Enqueue status = Enqueue::accepted;
};
struct GiveUp {  // "give_up": the budget is spent and the fallback is off (has_given_up)
  std::uint32_t attempts = 0;
};

using Action = std::variant<Dial, CloseLink, ArmTimer, CancelTimer, Send, StartPolling, StopPolling,
                            Poll, HttpPublish, Deliver, StateChanged, ReconnectAttempt, Acked,
                            Recovered, ReportError, ReportHealth, QualityChanged, ReportForecast,
                            ReportBandwidth, Enqueued, GiveUp>;
using Actions = std::vector<Action>;

// The spelling of an event's or action's kind ("timer", "arm_timer", ...).
std::string_view name_of(const Event& e) noexcept;
std::string_view name_of(const Action& a) noexcept;
// One line for logs and test failures, e.g. "arm_timer retry at=1000ms" or "dial url=1
// link=2"; times are ms of TimePoint::time_since_epoch().
std::string describe(const Action& a);
std::string describe(const Event& e);

}  // namespace engine
}  // namespace steadyws
