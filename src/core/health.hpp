// Server-side connection health and the aggregate behind /api/health and
// /api/websocket/metrics (CONTRACT §3, ORIGIN.md "Connection Health Tracking").
//
// ConnectionHealth is one connection's record, kept current by its session. ServerMetrics
// counts server-wide events (connections opened and closed, handshakes failed, messages in
// and out, errors) and turns them, together with a snapshot of the live connections' health,
// into a ServerAggregate with a HealthStatus. Neither reads a clock: time comes in as
// arguments. Neither does JSON: the server shell renders the shapes of CONTRACT §3.
//
// Thread-safety: none. A ConnectionHealth belongs to one session (its strand). A
// ServerMetrics is a plain value: the shell either guards one instance with a mutex (every
// event is a few additions, so the critical section is tiny) or keeps one per I/O thread and
// combines copies with merge() when a report is asked for.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws {

// 10 recent RTTs per connection: enough for a mean that one outlier does not swing, small
// enough to print in every HEALTH object of /api/health.
inline constexpr std::size_t kHealthLatencySamples = 10;

// One connection's health (ORIGIN.md ConnectionHealth; HEALTH of CONTRACT §3).
struct ConnectionHealth {
  std::string id;
  WallTime connected_at{};
  WallTime last_heartbeat{};            // the last ping or pong heard from the peer
  std::uint32_t missed_heartbeats = 0;  // consecutive, reset by any heartbeat
  std::vector<double> latency;  // recent RTTs in ms, at most kHealthLatencySamples, oldest first
  std::uint64_t messages_sent = 0;      // frames sent to the peer
  std::uint64_t messages_received = 0;  // frames received from the peer
  bool is_alive = true;
  // The server's estimate of what it can send this peer (CONTRACT §10 "bandwidth"; see
  // core/send_bandwidth_estimator.hpp). 0 bytes/s: not measured yet.
  double bandwidth_bytes_per_second = 0;
  bool bandwidth_throttled = false;

  // Appends an RTT sample (ms), dropping the oldest beyond kHealthLatencySamples. Allocates
  // at most once per connection (the vector's capacity then stays).
  void record_latency(double ms);
  // The mean of `latency`, 0 when there are no samples.
  double average_latency() const;
  // The exact rule behind healthyConnections/unhealthyConnections: alive and no heartbeat
  // currently missed. One missed heartbeat already counts as unhealthy: it is the earliest
  // sign of a dead link, well before the close at --max-missed-heartbeats.
  bool is_healthy() const { return is_alive && missed_heartbeats == 0; }
};

// Spelled like the wire (CONTRACT §3 "status").
enum class HealthStatus { healthy, degraded, unhealthy };
std::string_view to_string(HealthStatus status);

// When the server reports degraded or unhealthy. Unhealthy is checked first; a server is
// degraded when any degraded limit is crossed. Comparisons are strict, so a value exactly on
// a limit does not cross it (reliability 99.0 is still healthy, error rate 1.0 too).
struct HealthThresholds {
  // degraded: more than 1 connection in 100 failed, more than 1 message in 100 errored, or a
  // mean RTT above 200 ms (the "poor" boundary of the client's quality levels).
  double degraded_reliability = 99.0;  // % : degraded when connection_reliability < this
  double degraded_error_rate = 1.0;    // % : degraded when error_rate > this
  double degraded_latency_ms = 200.0;  // ms: degraded when average_latency > this
  // unhealthy: one connection in ten failing or one message in ten erroring is no longer a
  // bad client but a broken server or network.
  double unhealthy_reliability = 90.0;  // % : unhealthy when connection_reliability < this
  double unhealthy_error_rate = 10.0;   // % : unhealthy when error_rate > this
};

struct ServerAggregate {
  std::uint64_t total_connections = 0;   // lifetime: opened + handshakes failed
  std::uint64_t active_connections = 0;  // opened - closed
  std::uint64_t failed_connections = 0;  // lifetime: failed closes + handshakes failed
  // Mean uptime (ms) over every connection that completed its handshake: closed ones at
  // their final uptime, live ones (the span passed to aggregate) up to wall_now. 0 when none.
  double average_connection_uptime_ms = 0;
  // Messages in + out per second over the sliding window (see ServerMetrics).
  double messages_throughput = 0;
  // % over the sliding window: errors / (messages in + out) * 100, capped at 100; 0 when
  // there was no error; 100 when there were errors but no messages.
  double error_rate = 0;
  // % over the lifetime: (total - failed) / total * 100; 100 with no connections yet.
  double connection_reliability = 100;
  // ms: the mean of every RTT sample of the live connections (each sample weighs the same,
  // so a connection with one sample does not count as much as one with ten); 0 when none.
  double average_latency = 0;
  std::uint64_t healthy_connections = 0;    // live ones with is_healthy()
  std::uint64_t unhealthy_connections = 0;  // live ones without
  HealthStatus status = HealthStatus::healthy;
  // Lifetime counters, for Prometheus /metrics (monotonic, unlike the windowed rates above).
  std::uint64_t messages_in_total = 0;
  std::uint64_t messages_out_total = 0;
  std::uint64_t errors_total = 0;
  std::uint64_t handshake_failures_total = 0;
};

// The status for these figures: unhealthy, else degraded, else healthy (see
// HealthThresholds). Reads connection_reliability, error_rate and average_latency only.
HealthStatus classify(const ServerAggregate& aggregate, const HealthThresholds& thresholds);

// Server-wide counters fed by the server shell.
//
// The sliding window is a ring of kBuckets + 1 buckets of throughput_window / kBuckets each
// (1 s at the default 10 s window): an event adds to its bucket in O(1) and nothing ever
// allocates. A report sums the current, partly elapsed, bucket and the kBuckets before it and
// divides by the time they span, so a steady rate reads exactly. Events older than the ring
// (a thread that passed a stale `now`) still count in the lifetime totals, not in the window.
//
// Not thread-safe (see the header comment).
class ServerMetrics {
 public:
  static constexpr std::size_t kBuckets = 10;

  // 10 s: long enough to smooth bursts on the dashboard, short enough that a stop shows
  // within seconds. REQUIRES: throughput_window >= kBuckets ms.
  explicit ServerMetrics(Duration throughput_window = Duration{10000},
                         HealthThresholds thresholds = {});

  // A WebSocket connection completed its handshake.
  void on_connection_opened(TimePoint now);
  // A connection opened with on_connection_opened ended after `uptime`. `failed`: it was
  // closed by an error, a heartbeat timeout or an eviction (4000, 4001, 1008, 1011, a read
  // or write error), not by a clean close from either side or by a drain (1000, 1001).
  void on_connection_closed(Duration uptime, bool failed, TimePoint now);
  // An upgrade that never became a connection (bad key, bad origin, bad token, full server).
  // Counts in total_connections and failed_connections.
  void on_handshake_failed(TimePoint now);
  // One frame received from a peer (count every frame, the bad ones too, so that an error
  // caused by input has its message in the error rate's denominator).
  void on_message_in(TimePoint now);
  // `count` frames handed to peers (a broadcast to 1000 subscribers is count = 1000).
  void on_message_out(std::uint64_t count, TimePoint now);
  // One error: an error frame sent to a peer or a failed send.
  void on_error(TimePoint now);

  // Adds `other`'s counters and window into this one, for a shell that keeps one
  // ServerMetrics per I/O thread: copy each under its own lock, merge, then aggregate.
  // REQUIRES: the same throughput_window.
  void merge(const ServerMetrics& other);

  // The report at `now` (steady, for the window) and `wall_now` (for the uptime of the live
  // connections, whose connected_at is wall time). `live` is the current connections.
  ServerAggregate aggregate(std::span<const ConnectionHealth> live, TimePoint now,
                            WallTime wall_now) const;

  Duration throughput_window() const { return window_; }
  const HealthThresholds& thresholds() const { return thresholds_; }

 private:
  // One slice of the window. `index` is the slice's number since the clock's epoch
  // (now / bucket width); a slot whose index is not the one an event maps to is stale and is
  // reset before use.
  struct Bucket {
    std::int64_t index = -1;
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    std::uint64_t errors = 0;
  };

  std::int64_t bucket_index(TimePoint now) const;
  // The bucket for `now`, reset if stale; nullptr when `now` is older than the ring.
  Bucket* bucket_for(TimePoint now);

  Duration window_;
  Clock::duration width_;  // window_ / kBuckets
  HealthThresholds thresholds_;
  std::array<Bucket, kBuckets + 1> ring_{};  // slot = index % (kBuckets + 1)

  std::uint64_t opened_ = 0;
  std::uint64_t closed_ = 0;
  std::uint64_t closed_failed_ = 0;
  std::uint64_t handshakes_failed_ = 0;
  double closed_uptime_ms_sum_ = 0;
  std::uint64_t in_total_ = 0;
  std::uint64_t out_total_ = 0;
  std::uint64_t errors_total_ = 0;
};

// `t` as ISO 8601 UTC with milliseconds, "2024-05-01T12:00:00.123Z": the date format of the
// HEALTH object (CONTRACT §3).
std::string to_iso8601(WallTime t);

}  // namespace steadyws
