// Decides, from time and peer activity alone, when to ping and when a peer is dead.
// It sends nothing and reads no clock: the shell passes `now` in, performs the returned
// HeartbeatAction, reports what it did (on_ping_sent) and what arrived (on_pong, on_activity),
// and arms one timer at next_deadline() (STYLE 3.6). Both the client (app-level ping with a
// timestamp) and the server (protocol ping frames) use it.
//
// Rules (all times exact; t0 = construction or reset()):
//   1. Pings: the first is due at t0 + interval; after that, at (last ping sent) + interval
//      while missed() == 0, and at (last ping sent) + min(interval, timeout) while
//      missed() > 0: a counted miss is re-probed at once (the poll() that counts it returns
//      send_ping) and then every timeout. Any inbound frame (rule 3) restores the interval.
//   2. A ping sent at s is answered in time by a matching pong strictly before s + timeout.
//      At s + timeout exactly it is missed: poll() counts the miss, and a pong arriving at or
//      after s + timeout is late (PongResult::late, counted in late_pongs(), no RTT sample).
//   3. A miss always counts in total_missed() (packet loss). It counts in missed() (the
//      consecutive count that kills) only when no inbound activity arrived after the ping was
//      sent: any frame proves liveness, so a peer that talks but loses a pong is not dead.
//   4. poll() returns close_dead once missed() >= max_missed (>= 1 with close_on_first_timeout),
//      and keeps returning it until reset().
//   5. Sleep detection: when poll(now) runs later than next_deadline() + late_wakeup, the
//      process was not running (laptop lid, SIGSTOP, throttled timers, clock jump). The pings
//      outstanding then are discarded (neither missed nor fatal; a pong for one still matches
//      as late) and poll() returns verify_ping: the shell pings at once, and that ping then
//      counts like any other. missed() keeps its value across the sleep.
// At the defaults (30 s, 10 s, 3) a peer frozen at t0 is declared dead at 60 s: the ping at
// 30 s is missed at 40 s, the probes at 40 and 50 s at 50 and 60 s. In general within
// interval + timeout + (max_missed - 1) * min(interval, timeout) of its last frame
// (interval + 3 x timeout at the defaults), and one lost pong costs one extra ping, no close.
//
// Thread-safety: not thread-safe; owned by one session/client and used only on its strand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws {

struct HeartbeatConfig {
  Duration interval{30000};             // 30 s: ORIGIN; under the 60 s idle cut of common proxies
  Duration timeout{10000};              // 10 s: ORIGIN; a pong later than this is a miss
  std::uint32_t max_missed = 3;         // ORIGIN "3 consecutive missed pings"; 0 acts as 1
  bool close_on_first_timeout = false;  // "after a single timeout" mode: max_missed acts as 1
  // How late poll() may run past next_deadline() before we assume the process slept.
  // 0 = auto: max(timeout, 5000 ms). 5 s is far beyond any event-loop hiccup yet short enough
  // to catch a suspended laptop; never below timeout, so a slow loop cannot discard a ping
  // that could still have been answered in its own window.
  Duration late_wakeup{0};
};

// The late_wakeup actually used: c.late_wakeup if positive, else max(c.timeout, 5000 ms).
Duration effective_late_wakeup(const HeartbeatConfig& c);

enum class HeartbeatAction {
  none,         // nothing to do; re-arm the timer at next_deadline()
  send_ping,    // a regular ping is due: send it, then call on_ping_sent()
  verify_ping,  // woke up late (rule 5): send a ping now, then call on_ping_sent()
  close_dead,   // the peer is dead: close (code 4000, heartbeat timeout) and reconnect
};

// "none", "send_ping", "verify_ping", "close_dead".
std::string_view to_string(HeartbeatAction a) noexcept;

struct PongResult {
  bool matched;  // the token belongs to a ping this tracker sent (outstanding or recent)
  bool late;     // arrived at or after its ping's deadline, or its ping was discarded by a
                 // sleep: proves liveness but is not a fresh RTT sample for quality
  Duration rtt;  // now - sent, whole milliseconds (truncated); 0 when !matched
  Clock::duration rtt_exact{};  // the same, at the clock's resolution (sub-ms on loopback)
};

class HeartbeatTracker {
 public:
  // Intervals and timeouts below 1 ms are treated as 1 ms.
  HeartbeatTracker(HeartbeatConfig c, TimePoint now);

  // What to do now (rules 1-5). Early calls are harmless: before next_deadline() it returns
  // none and changes nothing. A send_ping/verify_ping is returned once; the next ping is then
  // scheduled from `now` (and re-based by on_ping_sent).
  HeartbeatAction poll(TimePoint now);

  // The shell sent a ping carrying `token` (the client uses the wire timestamp). Tracks it
  // with deadline now + timeout and schedules the next ping at now + interval. Also valid for
  // pings the shell sends on its own. Tokens should be unique among outstanding pings.
  void on_ping_sent(std::int64_t token, TimePoint now);

  // A pong carrying `token` arrived. Matches an outstanding ping (in time or late) or one of
  // the last kRememberedPings expired/discarded ones (always late); anything else is
  // matched = false. Every pong, matched or not, also counts as on_activity(now).
  PongResult on_pong(std::int64_t token, TimePoint now);

  // Any inbound frame proves liveness. Resets missed() to 0 and records `now` as the last
  // activity (rule 3). It does not touch outstanding pings, the ping schedule, the lifetime
  // totals, or a close_dead already decided.
  void on_activity(TimePoint now);

  // When poll() could next return something other than none: the earlier of the next ping
  // and the earliest outstanding deadline; once dead, the time death was declared.
  TimePoint next_deadline() const;

  // Consecutive misses with no inbound activity since (rule 3).
  std::uint32_t missed() const { return missed_; }
  // Lifetime totals; reset() keeps them (a client reuses its tracker across reconnects).
  std::uint64_t total_missed() const { return total_missed_; }
  std::uint64_t late_pongs() const { return late_pongs_; }
  std::uint64_t sleeps_detected() const { return sleeps_detected_; }

  // The last in-time RTT sample, or nullopt before the first (cleared by reset()).
  std::optional<Duration> last_rtt() const { return last_rtt_; }
  TimePoint last_activity() const { return last_activity_; }
  std::size_t outstanding() const { return outstanding_.size(); }
  bool is_dead() const { return dead_; }
  const HeartbeatConfig& config() const { return config_; }

  // A new connection at `now`: first ping at now + interval; forgets outstanding and
  // remembered pings, missed(), last_rtt() and a close_dead decision. Keeps the totals.
  void reset(TimePoint now);

  // How many expired or discarded pings are remembered so their late pongs still match.
  static constexpr std::size_t kRememberedPings = 16;

 private:
  struct Ping {
    std::int64_t token;
    TimePoint sent;
  };

  std::uint32_t threshold() const;
  Duration ping_period() const;
  TimePoint next_ping_at() const;
  void remember(const Ping& p);
  void expire(TimePoint now);

  HeartbeatConfig config_;
  TimePoint ping_base_;  // the last ping sent (or t0): the next is due a period after it
  TimePoint last_activity_;
  // Vectors, not deques: both hold a handful of 16-byte entries at most, and an empty vector
  // allocates nothing, where libstdc++'s deque allocates ~600 bytes up front. Every server
  // connection owns a tracker, so that was ~1.2 KB per idle connection (issue 3: <= 4 KB).
  std::vector<Ping> outstanding_;  // sent, unanswered, deadline (sent + timeout) not yet passed
  std::vector<Ping> remembered_;   // expired or discarded, newest at the back, bounded
  std::uint32_t missed_ = 0;
  std::uint64_t total_missed_ = 0;
  std::uint64_t late_pongs_ = 0;
  std::uint64_t sleeps_detected_ = 0;
  std::optional<Duration> last_rtt_;
  bool dead_ = false;
  TimePoint dead_at_{};
};

}  // namespace steadyws
