// The server's recent past for GET /api/websocket/metrics/history (CONTRACT §10): a ring of
// one aggregate sample per interval (1 s) for the last capacity intervals (900: 15 minutes).
//
// The shell records a sample every interval from a timer; the ring keeps at most one sample
// per interval slot (a timer that fires twice in one slot replaces the first), keeps them
// oldest first, and forgets samples older than the window even when fewer than `capacity`
// are held. A stretch with no sample (a stalled timer, a stopped process clock) stays a gap:
// nothing is invented for it, so a chart shows the gap as it was.
//
// Time: `now` is steady time (slots and the window), `time_ms` in each sample is wall time
// for the wire; neither is read here.
//
// Not thread-safe: the server guards one instance with a mutex (one record per second, one
// copy per request).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws {

// One second of the server, as /api/websocket/metrics reports it (serverMetrics and
// summary.overallLatency) at that moment.
struct MetricsSample {
  std::int64_t time_ms = 0;  // wall clock, ms since the Unix epoch
  std::uint64_t active_connections = 0;
  double messages_throughput = 0;        // messages in + out per second (sliding window)
  double error_rate = 0;                 // %
  double average_latency = 0;            // ms
  std::uint64_t failed_connections = 0;  // lifetime counter
};

class MetricsHistory {
 public:
  static constexpr std::size_t kDefaultCapacity = 900;  // 15 min of 1 s samples (CONTRACT §10)

  // REQUIRES: interval > 0, capacity > 0.
  explicit MetricsHistory(Duration interval = Duration{1000},
                          std::size_t capacity = kDefaultCapacity);

  // Records `s` as the sample of the interval slot containing `now`. A second record in the
  // same slot replaces the first; a `now` older than the newest sample's slot is ignored
  // (the ring stays in order).
  void record(TimePoint now, const MetricsSample& s);

  // The samples of the last `capacity` intervals before `now`, oldest first (at most
  // capacity of them; fewer after a gap or a young server).
  std::vector<MetricsSample> samples(TimePoint now) const;

  // When the next sample is due after one taken at `now`: the start of the next slot.
  TimePoint next_due(TimePoint now) const;

  Duration interval() const { return interval_; }
  std::size_t capacity() const { return ring_.size(); }

 private:
  struct Entry {
    std::int64_t slot = -1;  // -1: empty
    MetricsSample sample;
  };
  std::int64_t slot_of(TimePoint t) const;

  Duration interval_;
  std::vector<Entry> ring_;  // ring_[slot % capacity]
  std::int64_t newest_ = -1;
};

}  // namespace steadyws
