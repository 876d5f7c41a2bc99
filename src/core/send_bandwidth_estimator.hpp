// Bandwidth throttling detection, the sending side (issue 15 part 2; CONTRACT §10
// connectionDetails[].bandwidth): what the server can send one client, from the progress of
// what it already writes.
//
// Bytes handed to the socket are not bytes delivered: kernel buffers (and any proxy on the
// way) take megabytes before a slow link pushes back. What the peer has really received is
// learned from probes: while data flows, at most once per probe_interval after a write
// completes and at least min_probe_bytes went out since the last one, the session sends a
// protocol ping (a few bytes; browsers and every client answer
// them by themselves) and notes how many bytes were written before it. The ping rides in
// front of the next data write (never a write of its own: on_written keeps answering true
// until on_probe_sent, so the session may wait for data to send it with). Its pong proves the
// peer has read those bytes. Two answered probes give the delivered rate between them; the
// rate over the answered probes of the last window is the estimate. An idle connection sends
// no probe at all (no extra traffic while idle).
//
// Throttled: a probe's RTT beyond the link's base RTT (the least RTT seen, heartbeat pings
// included) is time spent waiting behind our own data at the bottleneck. When the last two
// answered probes each waited more than max(min_queue_delay, base RTT), the link cannot
// carry what we send: throttled, and the delivered rate is its usable bandwidth. It clears
// when two probes in a row come back without that wait, or when no probe was answered for two
// windows (nothing waits any more). A long path with no load has a high base RTT and is not
// throttled.
//
// Not thread-safe: owned by one session, used on its strand. No clock reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "steadyws/core/bandwidth.hpp"
#include "steadyws/core/time.hpp"

namespace steadyws {

struct SendBandwidthConfig {
  Duration probe_interval{1000};    // at most one probe a second, and only while data flows
  Duration window{5000};            // the delivered rate over the probes answered in 5 s
  Duration min_queue_delay{100};    // 100 ms of waiting beyond the base RTT is a queue
  std::size_t max_outstanding = 8;  // unanswered probes beyond this: stop probing
  // 16 KiB written since the last probe: a trickle (a welcome, a few acks) is no load to
  // measure, and costs no probe. Links slower than 16 KiB/s are probed less often.
  std::uint64_t min_probe_bytes = 16 * 1024;
};

class SendBandwidthEstimator {
 public:
  explicit SendBandwidthEstimator(SendBandwidthConfig config = {});

  // A write completed at `now`; `bytes_written` is the total written so far (cumulative, every
  // frame). Returns true when a probe should be queued now (then call on_probe_sent).
  bool on_written(std::uint64_t bytes_written, TimePoint now);
  // A probe was queued with `bytes_before` bytes written ahead of it. Returns its id (the
  // ping's payload carries it; ids start at 1).
  std::uint64_t on_probe_sent(std::uint64_t bytes_before, TimePoint now);
  // The pong of probe `id` arrived at `now`. Unknown ids (already answered, never sent, or
  // dropped from a full list) are ignored.
  void on_probe_answered(std::uint64_t id, TimePoint now);
  // An RTT measured otherwise (the heartbeat's ping), for the base RTT.
  void on_rtt(Duration rtt);

  BandwidthEstimate estimate(TimePoint now) const;
  std::size_t outstanding() const { return probes_.size(); }

 private:
  struct Probe {
    std::uint64_t id;
    std::uint64_t bytes_before;
    TimePoint sent_at;
  };
  struct Ack {
    TimePoint at;
    std::uint64_t bytes;
  };
  bool waited(Duration rtt) const;
  double delivered_rate(TimePoint now) const;

  SendBandwidthConfig config_;
  std::deque<Probe> probes_;  // sent, unanswered, oldest first
  std::deque<Ack> acks_;      // answered probes of the last window, oldest first (plus one)
  std::uint64_t next_id_ = 1;
  std::uint64_t last_probe_bytes_ = 0;
  std::optional<TimePoint> last_probe_at_;
  std::optional<Duration> base_rtt_;
  int waited_in_row_ = 0;
  int clear_in_row_ = 0;
  bool throttled_ = false;
  std::optional<TimePoint> last_answer_at_;
  double last_rate_ = 0;  // held when the connection goes idle
};

}  // namespace steadyws
