// Per-operation cost of the sans-I/O reliability core on the hot paths: a quality sample, a
// queue round trip (enqueue + send + ack) and a rate-limit decision.
#include <chrono>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "steadyws/core/outbound_queue.hpp"
#include "steadyws/core/quality_monitor.hpp"

#include "core/rate_limiter.hpp"

namespace {

using namespace std::chrono_literals;
using steadyws::TimePoint;

// One RTT sample into a full 50-sample window (evicts, updates the level with hysteresis).
void BM_QualityMonitor_RecordRtt(benchmark::State& state) {
  steadyws::QualityMonitor qm;
  TimePoint now{};
  std::int64_t i = 0;
  for (auto _ : state) {
    qm.record_rtt(std::chrono::microseconds(200 + (i++ % 97) * 1000), now);
    now += 1s;
  }
  benchmark::DoNotOptimize(qm.level());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QualityMonitor_RecordRtt);

// metrics() walks the window for jitter: the cost of a dashboard or health read.
void BM_QualityMonitor_Metrics(benchmark::State& state) {
  steadyws::QualityMonitor qm;
  TimePoint now{};
  qm.record_connected(now);
  for (int i = 0; i < 50; ++i) {
    qm.record_rtt(std::chrono::milliseconds(10 + i), now);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(qm.metrics(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QualityMonitor_Metrics);

// enqueue + mark_sent + ack of a 100-byte message with a 16-char id, queue holding `range(0)`
// other in-flight entries. Ids are prebuilt so the loop measures the queue, not to_string.
void BM_OutboundQueue_EnqueueAck(benchmark::State& state) {
  const auto backlog = static_cast<std::size_t>(state.range(0));
  steadyws::OutboundQueue q({.max_messages = backlog + 1});
  const TimePoint now{};
  for (std::size_t i = 0; i < backlog; ++i) {
    std::string id = "backlog-" + std::to_string(i);
    q.enqueue(id, std::string(100, 'x'), now);
    q.mark_sent(id, now);
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 1024; ++i) {
    ids.push_back("msg-" + std::to_string(1000000000 + i) + "-x");
  }
  const std::string payload(100, 'p');
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& id = ids[i++ & 1023];
    benchmark::DoNotOptimize(q.enqueue(id, payload, now));
    q.mark_sent(id, now);
    benchmark::DoNotOptimize(q.ack(id));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(payload.size()));
}
BENCHMARK(BM_OutboundQueue_EnqueueAck)->Arg(0)->Arg(1000);

// One inbound-message decision; time advances 1 µs per message (1 M msg/s against a 1000/s
// limit), so the loop exercises allow, reject and, with strikes off, never closes.
void BM_RateLimiter_TryTake(benchmark::State& state) {
  steadyws::RateLimiter rl({.abuse_strikes = 0, .flood_rejects = ~0ULL}, TimePoint{});
  TimePoint now{};
  for (auto _ : state) {
    now += 1us;
    benchmark::DoNotOptimize(rl.on_message(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RateLimiter_TryTake);

}  // namespace
