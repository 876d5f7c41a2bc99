// Connection quality from heartbeat round trips: latency, jitter, loss, a reliability score, a
// five-step level with hysteresis, alerts and human recommendations (ConnectionQualityMetrics
// of ORIGIN.md). The owner feeds it samples (a pong in time, a ping missed) and connection
// events; it never reads a clock, every call that needs the time takes `now`.
// It is not a heartbeat tracker: deciding when a ping is missed is HeartbeatTracker's job.
// Not thread-safe: owned by one client or session and used from one strand.
// Rules, boundaries and formulas: docs/core/quality-poll-queue-rate.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws {

// Ordered best to worst; comparisons (`<`, `>`) mean "better than", "worse than".
enum class Quality { excellent, good, fair, poor, critical };

// "excellent", "good", "fair", "poor", "critical".
std::string_view to_string(Quality q) noexcept;

enum class AlertLevel { warning, error, critical };

// "warning", "error", "critical".
std::string_view to_string(AlertLevel a) noexcept;

struct Alert {
  AlertLevel level;
  std::string message;  // one line, carries the number and the threshold it crossed
};

// ConnectionQualityMetrics of ORIGIN.md.
struct QualityMetrics {
  double latency = 0;                 // ms, mean RTT of the RTT samples in the window (0 with none)
  double jitter = 0;                  // ms, mean |rtt[i] - rtt[i-1]| over consecutive RTT samples
  double packet_loss = 0;             // %, missed pings / all samples in the window
  double reliability = 100;           // 0-100, see reliability_score() below
  std::int64_t uptime_ms = 0;         // the current connection's age; 0 while disconnected
  std::uint32_t reconnect_count = 0;  // since construction or reset()
  // The forecast (core/forecast.hpp): filled by steadyws::Client from its QualityForecaster;
  // QualityMonitor::metrics() leaves them at 0 / excellent.
  double degradation_risk = 0;                   // 0-1, P(poor or worse within the horizon)
  Quality predicted_level = Quality::excellent;  // the level expected within the horizon
};

struct QualityConfig {
  // 50 samples: at the default 30 s heartbeat, the last 25 minutes; enough that one lost ping
  // reads as 2 % (good), not as a collapse. REQUIRES: window >= 1 (0 is treated as 1).
  std::size_t window = 50;
  // Hysteresis: the level moves only after this many consecutive samples all classify on the
  // same side of it (all worse or all better); it then moves to the mildest level those
  // samples agreed on. 3: one or two samples on a boundary never flap the level, and a real
  // change (the window mean has already moved) shows within three pings. 0 or 1 = no
  // hysteresis.
  std::uint32_t hold_samples = 3;
};

// The level of a latency and a loss, no hysteresis: the worse of the latency level and the loss
// level. Latency ms: excellent < 50 <= good <= 100 < fair <= 200 < poor <= 500 < critical.
// Loss %: excellent < 0.5 <= good <= 2 < fair <= 5 < poor <= 10 < critical. So "> 200 ms"
// (the warning threshold) is exactly poor and "> 500 ms" (the error threshold) exactly
// critical; NaN classifies as critical.
Quality classify(double latency_ms, double loss_pct) noexcept;

// reliability = clamp(100 * A - loss - 10 * consecutive_missed - min(25, 5 * reconnects_per_h),
// 0, 100), where A is the fraction of observed time spent connected (1 before any connect),
// loss is packet_loss in %, and reconnects_per_h = reconnects / max(1 h, observed time).
double reliability_score(double availability, double loss_pct, std::uint32_t consecutive_missed,
                         double reconnects_per_hour) noexcept;

class QualityMonitor {
 public:
  explicit QualityMonitor(QualityConfig c = {});

  // A pong arrived in time: one RTT sample. Clock::duration (ns) so sub-ms localhost RTTs
  // keep their precision; a milliseconds or microseconds value converts implicitly. A negative
  // rtt counts as 0. Resets the consecutive-missed count. No allocation.
  void record_rtt(Clock::duration rtt, TimePoint now);
  // A ping got no pong in time: one loss sample in the window. No allocation.
  void record_missed(TimePoint now);

  // Connection lifecycle, for uptime and availability. Repeated calls in the same state are
  // ignored (a second record_connected keeps the first start time).
  void record_connected(TimePoint now);
  void record_disconnected(TimePoint now);
  // A reconnection happened (call once per successful reconnect; it does not change the
  // connected state, call record_connected too).
  void record_reconnect(TimePoint now);

  // The metrics as of `now` (now only moves uptime and availability).
  QualityMetrics metrics(TimePoint now) const;
  // The current level with hysteresis applied; excellent before any sample.
  Quality level() const { return level_; }
  // The new level, exactly once per change; nullopt when it equals the level this function last
  // returned (excellent initially), so a change and its undo between two calls report nothing.
  std::optional<Quality> take_level_change();
  // Current alerts, at most one per cause: latency (warning > 200 ms, error > 500 ms), loss
  // (warning > 5 %, error > 10 %), and critical while level() is critical. Empty when fine or
  // before any sample.
  std::vector<Alert> alerts(TimePoint now) const;
  // Short human sentences chosen from the metrics; empty when there is nothing to improve.
  std::vector<std::string> recommendations(TimePoint now) const;

  std::size_t samples() const { return count_; }
  std::uint32_t consecutive_missed() const { return consecutive_missed_; }

  // Back to the state right after construction (same config).
  void reset();

 private:
  static constexpr std::int64_t kMissed = -1;  // a sample slot holding a lost ping

  void push(std::int64_t sample_ns);
  void update_level();
  double latency_ms() const;
  double loss_pct() const;

  QualityConfig config_;
  // Ring of the last config_.window samples: RTT in ns (>= 0) or kMissed. Sized once in the
  // constructor. The oldest sample is at head_ - count_ (mod window).
  std::vector<std::int64_t> ring_;
  std::size_t head_ = 0;   // next slot to write
  std::size_t count_ = 0;  // valid samples, <= window
  // Running sums over the ring, exact (integers), so record_* is O(1).
  std::int64_t rtt_sum_ns_ = 0;
  std::size_t rtt_count_ = 0;
  std::size_t missed_count_ = 0;
  std::uint32_t consecutive_missed_ = 0;

  Quality level_ = Quality::excellent;
  Quality reported_ = Quality::excellent;  // the level take_level_change() last handed out
  // Hysteresis: consecutive samples classified on one side of level_, and the mildest level
  // among them.
  std::uint32_t streak_ = 0;
  bool streak_worse_ = false;
  Quality streak_mildest_ = Quality::excellent;

  bool connected_ = false;
  bool observed_ = false;  // record_connected was called at least once
  TimePoint first_connected_{};
  TimePoint connected_since_{};
  Clock::duration connected_total_{};  // closed connections only
  std::uint32_t reconnects_ = 0;
};

}  // namespace steadyws
