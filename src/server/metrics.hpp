// Server-wide counters for /api/health, /api/websocket/metrics and /metrics.
//
// The message path never shares a lock or a cache line between I/O threads: each thread
// counts into its own Slot (a core ServerMetrics plus the Prometheus-only counters), guarded by
// that slot's own mutex, which only a report ever contends for. A report (an endpoint read)
// copies every slot under its lock, merges the copies and aggregates them.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "steadyws/core/time.hpp"

#include "core/health.hpp"
#include "hub/hub.hpp"

namespace steadyws::server {

// Upper bounds (ms) of the heartbeat RTT histogram buckets; +Inf is implicit.
inline constexpr std::array<double, 12> kLatencyBucketsMs{0.5, 1,   2.5, 5,    10,   25,
                                                          50,  100, 250, 1000, 2500, 10000};

// Prometheus-only counters, summed over the slots.
struct ExtraCounters {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t heartbeat_misses = 0;
  std::uint64_t heartbeat_timeouts = 0;  // connections closed with 4000
  std::uint64_t send_queue_drops = 0;    // connections closed with 4001 (failed sends)
  std::uint64_t rate_limited = 0;
  std::array<std::uint64_t, kLatencyBucketsMs.size() + 1> latency_buckets{};  // not cumulative
  double latency_sum_ms = 0;
  std::uint64_t latency_count = 0;

  void add(const ExtraCounters& o);
};

class Metrics {
 public:
  // `slots`: how many independent counters to keep (the I/O thread count is right).
  explicit Metrics(unsigned slots);

  void connection_opened();
  void connection_closed(Duration uptime, bool failed);
  void handshake_failed();
  void message_in(std::size_t bytes);
  void messages_out(std::size_t frames, std::size_t bytes);
  void error();
  void heartbeat_missed();
  void heartbeat_timeout();
  void send_queue_drop();
  void rate_limited();
  void latency(double ms);

  // The aggregate of every slot, with `live` the current connections' health.
  ServerAggregate aggregate(std::span<const ConnectionHealth> live) const;
  ExtraCounters extra() const;

 private:
  struct alignas(64) Slot {
    mutable std::mutex mu;
    ServerMetrics metrics;
    ExtraCounters extra;
  };
  Slot& slot();
  template <class F>
  void with_slot(F&& f) {
    Slot& s = slot();
    const std::lock_guard<std::mutex> g(s.mu);
    f(s);
  }

  std::vector<std::unique_ptr<Slot>> slots_;
};

// The /metrics body (Prometheus text exposition format 0.0.4).
std::string render_prometheus(const ServerAggregate& a, const ExtraCounters& x,
                              std::size_t sessions, std::size_t pending_polls,
                              const hub::HubCounts& hub);

}  // namespace steadyws::server
