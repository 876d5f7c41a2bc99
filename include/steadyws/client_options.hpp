// Everything a steadyws::Client can be told: reconnect pacing, heartbeats, the HTTP fallback,
// the offline queue, the server list and the callbacks. A plain aggregate of values; copying
// it copies the callbacks. Nothing here does I/O.
//
// Names are ORIGIN.md's useWebSocket options in snake_case (STYLE 3.2); the mapping:
//   maxReconnectAttempts -> max_reconnect_attempts   reconnectInterval  -> reconnect_interval
//   exponentialBackoff   -> exponential_backoff      maxBackoffDelay    -> max_backoff_delay
//   heartbeatInterval    -> heartbeat_interval       heartbeatTimeout   -> heartbeat_timeout
//   enableFallback       -> enable_fallback          fallbackPollInterval -> fallback_poll_interval
//   onStateChange -> on_state_change   onMessage -> on_message   onReconnectAttempt ->
//   on_reconnect_attempt   onFallbackActivated -> on_fallback_activated   onHealthUpdate ->
//   on_health_update   onQualityChange -> on_quality_change.
// The CLI (`steadyws connect`) spells the same options in kebab case (--max-reconnect-attempts).
//
// Every callback runs on the client's own I/O thread, one at a time, never after the Client's
// destructor has returned. A callback may call any Client method except the destructor.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include "steadyws/core/backoff.hpp"
#include "steadyws/core/bandwidth.hpp"
#include "steadyws/core/connection_state.hpp"
#include "steadyws/core/forecast.hpp"
#include "steadyws/core/outbound_queue.hpp"
#include "steadyws/core/quality_monitor.hpp"
#include "steadyws/core/time.hpp"

namespace steadyws {

// One `message` frame delivered to the application (CONTRACT §2), exactly once and in seq
// order per channel.
struct ReceivedMessage {
  std::string channel;
  std::uint64_t seq = 0;
  std::string id;
  boost::json::value data;
  std::int64_t timestamp_ms = 0;  // the server's publish time, Unix ms
  std::string json;  // the whole frame as one JSON object (as received on /ws, or re-serialized
                     // from an /api/poll answer)
  bool via_fallback = false;  // delivered by HTTP long polling rather than the WebSocket
};

// Something went wrong that the application may want to log. The client handles every one
// of these itself (retry, fallback); nothing here needs an answer.
struct ClientError {
  std::string where;               // "connect", "handshake", "read", "server", "poll", ...
  boost::system::error_code code;  // the I/O error or a steadyws::errc from an error frame
  std::string message;             // one line for humans
};

// After every heartbeat sample: the sample, the quality level it left, and the forecast
// (core/forecast.hpp, docs/prediction.md). `steadyws connect --events` writes the CONTRACT
// §10 forecast event from these.
struct ForecastSample {
  std::optional<double> rtt_ms;  // the RTT of a pong in time; nullopt: a missed ping
  bool reconnected = false;      // the first sample after a reconnect
  Quality level = Quality::excellent;
  Forecast forecast;
};

struct ClientOptions {
  // Servers to use, tried in order; each failed attempt moves to the next one (failover),
  // wrapping around. ws[s]://host[:port][/path][?query]; the path defaults to /ws. Also
  // settable by passing the URL to the Client constructor.
  std::vector<std::string> urls;

  // ---- TLS, for wss:// URLs (CONTRACT §6) ----
  // The server's chain is verified against this PEM bundle, or the system store when empty,
  // and its certificate must be for the URL's host name or IP address.
  std::string ca_file;
  // No verification at all (tests, self-signed servers). The CLIs say so on stderr.
  bool insecure = false;

  // ---- reconnecting (core/backoff.hpp) ----
  std::uint32_t max_reconnect_attempts = 5;  // ORIGIN default; 0 = unlimited
  Duration reconnect_interval{1000};         // the first delay; ORIGIN base interval
  bool exponential_backoff = true;           // delay doubles per attempt up to the cap
  Duration max_backoff_delay{30000};         // 30 s cap: ORIGIN maxBackoffDelay
  Duration jitter{1000};                     // ±1 s (symmetric mode): spreads a thundering herd
  JitterMode jitter_mode = JitterMode::symmetric;
  // Seed of the client's own std::mt19937_64 for jitter; nullopt seeds from
  // std::random_device. Tests pass a value to get the same delays every run.
  std::optional<std::uint64_t> seed;
  // One attempt (TCP connect + upgrade + the server's welcome) must complete within this;
  // 10 s: a server that never sends welcome is an error state and a retry, not a hang.
  Duration connect_timeout{10000};
  // Offer permessage-deflate (RFC 7692, CONTRACT §7) with client_no_context_takeover; used
  // when the server agrees (`steadyws serve --compression`). Off by default.
  bool compression = false;

  // ---- heartbeats (core/heartbeat_tracker.hpp) ----
  Duration heartbeat_interval{30000};       // an app-level ping every 30 s: under 60 s proxy cuts
  Duration heartbeat_timeout{10000};        // a pong later than this counts as missed
  std::uint32_t max_missed_heartbeats = 3;  // ORIGIN: 3 missed pings force a reconnect

  // ---- HTTP long-polling fallback (core/poll_schedule.hpp) ----
  bool enable_fallback = true;
  Duration fallback_poll_interval{5000};  // the first pause between two polls (ORIGIN 5 s)
  Duration long_poll_timeout{25000};      // how long the server may hold one poll (CONTRACT §3)
  // Switch to the fallback when quality stays critical this long while connected; 0 = never.
  // 60 s: two default heartbeats, so one bad minute, not one bad ping, moves the transport.
  Duration critical_quality_fallback_after{60000};

  // ---- quality forecast (core/forecast.hpp, docs/prediction.md) ----
  // degradation_risk is P(quality poor or worse within this horizon).
  Duration forecast_horizon{30000};
  // Off (0) by default. With two or more URLs: when the risk reaches this (0-1] while
  // connected, leave the current server before it degrades and connect to the next URL at
  // once (at most once per forecast_horizon).
  double forecast_failover_risk = 0;

  // ---- the offline queue (core/outbound_queue.hpp) ----
  OutboundQueueConfig queue;
  // With publishes in flight and no ack at all for this long, resend them (same ids, so the
  // server's dedup makes it safe). Covers a publish the server refused with an error frame
  // (rate_limited), which names no id. 10 s: the heartbeat timeout. 0 = only on reconnect.
  Duration ack_timeout{10000};

  // ---- credentials (CONTRACT §8) ----
  // Asked for the client token before each connection attempt and, when the token is a JWT
  // with `exp`, again before that passes: the answer is sent as `Authorization: Bearer` on
  // the upgrade and on the HTTP fallback, and on an open connection as
  // {"type":"refresh","token":T}, so a long-lived connection is never closed with 4003 and
  // never reconnects for a new token. Runs on the client's I/O thread: keep it quick (read a
  // file or a cache); a throw keeps the previous token and is reported to on_error. Unset:
  // the URL's `token=` is used as it is.
  std::function<std::string()> token_provider;
  // Ask this long before exp (at most half the token's remaining life, at least 1 s apart).
  // 30 s: the server's default leeway, so a refresh lands before any server would refuse.
  Duration token_refresh_margin{30000};

  // ---- callbacks (all on the client's I/O thread) ----
  std::function<void(const Transition&)> on_state_change;
  std::function<void(const ReceivedMessage&)> on_message;
  // attempt is 1-based within the current run of failures; delay is what the client waits.
  std::function<void(std::uint32_t attempt, Duration delay)> on_reconnect_attempt;
  std::function<void(bool active)> on_fallback_activated;       // true: now polling; false: back
  std::function<void(const QualityMetrics&)> on_health_update;  // after every heartbeat sample
  std::function<void(Quality)> on_quality_change;
  std::function<void(const ForecastSample&)> on_forecast;  // after every heartbeat sample
  // The bandwidth estimate when `throttled` changes, and every 5 s while it holds (CONTRACT
  // §10 `bandwidth` event).
  std::function<void(const BandwidthEstimate&)> on_bandwidth;
  // After a resume (re-subscribe with since/epoch): recovered false means the server could
  // not replay what was missed (history gone or epoch changed): a gap the application must
  // handle. Delivery continues from the server's current position.
  std::function<void(const std::string& channel, bool recovered)> on_recovered;
  // A publish was acked by the server (seq is its position in the channel).
  std::function<void(const std::string& id, const std::string& channel, std::uint64_t seq)> on_ack;
  std::function<void(const ClientError&)> on_error;
};

}  // namespace steadyws
