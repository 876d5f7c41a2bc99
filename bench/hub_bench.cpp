// Per-publish cost of the in-memory hub (seq, serialize once, history, dedup map, fan-out to
// N subscribers whose deliver() only counts) and the per-event cost of ServerMetrics.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include "core/health.hpp"
#include "hub/hub.hpp"

namespace {

using namespace std::chrono_literals;

// The cheapest possible subscriber, so the figure is the hub's own cost.
class Counter : public steadyws::hub::Subscriber {
 public:
  void deliver(std::string_view, std::uint64_t, const steadyws::hub::Frame&) override { ++count; }
  std::uint64_t count = 0;
};

boost::json::value sample_data() {
  return boost::json::value{{"user", "alice"}, {"text", "hello, world"}, {"n", 42}};
}

// Publish without an id to one channel with state.range(0) subscribers, history 1000 (the
// default, so the ring is full and every publish also evicts and reuses a dedup node).
void BM_Hub_Publish(benchmark::State& state) {
  auto hub = steadyws::hub::make_memory_hub({.history = 1000, .node_id = "bench"});
  std::vector<std::shared_ptr<Counter>> subs;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    subs.push_back(std::make_shared<Counter>());
    hub->subscribe("room", subs.back(), std::nullopt, std::nullopt);
  }
  const boost::json::value data = sample_data();
  std::int64_t ts = 1714564800000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hub->publish("room", std::nullopt, data, ts++));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["deliveries/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(state.range(0)),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Hub_Publish)->Arg(0)->Arg(10)->Arg(1000);

// The same with a client id on every publish (a dedup lookup first).
void BM_Hub_PublishWithId(benchmark::State& state) {
  auto hub = steadyws::hub::make_memory_hub({.history = 1000, .node_id = "bench"});
  const boost::json::value data = sample_data();
  std::uint64_t k = 0;
  std::string id;
  for (auto _ : state) {
    id = "client-7f3a-";
    id += std::to_string(k++);
    benchmark::DoNotOptimize(hub->publish("room", id, data, 0));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hub_PublishWithId);

// A resume that replays 100 frames out of a full history.
void BM_Hub_SubscribeReplay100(benchmark::State& state) {
  auto hub = steadyws::hub::make_memory_hub({.history = 1000, .node_id = "bench"});
  const boost::json::value data = sample_data();
  for (int i = 0; i < 2000; ++i) {
    hub->publish("room", std::nullopt, data, 0);
  }
  auto sub = std::make_shared<Counter>();
  for (auto _ : state) {
    auto r = hub->subscribe("room", sub, 1900, std::nullopt);
    benchmark::DoNotOptimize(r.replay.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Hub_SubscribeReplay100);

// One message event into the windowed counters (the per-frame cost the server pays).
void BM_ServerMetrics_OnMessage(benchmark::State& state) {
  steadyws::ServerMetrics m;
  steadyws::TimePoint now{};
  for (auto _ : state) {
    m.on_message_in(now);
    now += 1ms;
  }
  benchmark::DoNotOptimize(m);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServerMetrics_OnMessage);

// A health report over 1000 live connections with 10 RTTs each (one /api/health request).
void BM_ServerMetrics_Aggregate1000(benchmark::State& state) {
  steadyws::ServerMetrics m;
  const steadyws::WallTime wall{std::chrono::sys_days{std::chrono::year{2024} / 5 / 1}};
  std::vector<steadyws::ConnectionHealth> live(1000);
  for (auto& c : live) {
    c.connected_at = wall;
    for (int i = 0; i < 10; ++i) {
      c.record_latency(10.0 + i);
    }
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.aggregate(live, steadyws::TimePoint{} + 5s, wall + 1h));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServerMetrics_Aggregate1000);

}  // namespace
