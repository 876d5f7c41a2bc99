// Bandwidth throttling detection, the receiving side (issue 15 part 2; CONTRACT §10): from
// what a client already sees (the bytes of the messages that arrive, and the RTT of the
// heartbeat pings it sends anyway), an estimate of the link's usable bandwidth and whether
// the link is throttled. It adds no traffic.
//
// The idea: when a link's bottleneck is full, data waits in a queue in front of it, so the
// RTT of a ping that travels behind the data grows well beyond the link's idle RTT, and the
// arrival rate of the data is the bottleneck's rate. So:
//   - arrivals are counted in 250 ms buckets over a 5 s window; the rate is their bytes over
//     the time they span;
//   - the base RTT is the least RTT seen on this estimator's lifetime (the link's idle RTT);
//     a sample is inflated when it exceeds base + max(100 ms, base);
//   - throttled turns on when data is arriving (at least half the window's buckets saw
//     some) and the last two RTT samples are inflated, and off when the last two are not, or
//     when nothing arrived for a whole window. A latency that is high without load (a long
//     path) is not throttling: it is in the base.
//
// Not thread-safe: owned by one client, used on its I/O thread. No clock reads: `now` comes in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "steadyws/core/time.hpp"

namespace steadyws {

// What either side reports (CONTRACT §10 "bandwidth":{"bytesPerSecond":N,"throttled":B}).
struct BandwidthEstimate {
  // Bytes per second: while throttled, the link's usable rate; otherwise what it carried
  // recently (a lower bound of what it could carry). 0: nothing measured yet.
  double bytes_per_second = 0;
  bool throttled = false;
};

struct ReceiveBandwidthConfig {
  Duration window{5000};          // 5 s: a rate steady enough to compare with a cap
  Duration min_queue_delay{100};  // 100 ms of waiting beyond the base RTT is a queue, not noise
  Duration report_every{5000};    // CONTRACT §10: at most every 5 s while throttled holds
};

class ReceiveBandwidthEstimator {
 public:
  explicit ReceiveBandwidthEstimator(ReceiveBandwidthConfig config = {});

  // A message of `bytes` arrived at `now`.
  void on_message(std::size_t bytes, TimePoint now);
  // A heartbeat RTT measured at `now`.
  void on_rtt(Duration rtt, TimePoint now);
  // Forgets the link's state (a new connection, possibly on another path); keeps nothing.
  void reset();

  BandwidthEstimate estimate(TimePoint now) const;
  // The estimate to report now, or nullopt: when throttled changed since the last report,
  // and every report_every while throttled holds (CONTRACT §10 `bandwidth` event).
  std::optional<BandwidthEstimate> take_report(TimePoint now);

 private:
  static constexpr std::size_t kBuckets = 20;  // window / 250 ms
  struct Bucket {
    std::int64_t index = -1;
    std::uint64_t bytes = 0;
  };
  std::int64_t bucket_index(TimePoint t) const;
  // bytes/s over the window and the share of its buckets that saw data.
  void rate(TimePoint now, double& bytes_per_second, double& busy_share) const;
  bool inflated(Duration rtt) const;
  void update(TimePoint now);

  ReceiveBandwidthConfig config_;
  Clock::duration width_;
  std::array<Bucket, kBuckets> ring_{};
  std::optional<Duration> base_rtt_;
  std::optional<Duration> last_rtt_[2];  // newest first
  TimePoint last_rtt_at_{};
  bool throttled_ = false;
  bool reported_throttled_ = false;
  std::optional<TimePoint> last_report_;
};

}  // namespace steadyws
