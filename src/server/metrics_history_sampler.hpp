// The shell around the core's MetricsHistory (core/metrics_history.hpp): a 1 s timer that
// records the server's aggregate metrics, the mutex that lets the endpoint read them from any
// thread, and the JSON of GET /api/websocket/metrics/history (CONTRACT §10).
//
// Thread-safe: record/samples/json take the mutex; run()/stop() may be called from any thread
// (the timer runs on its own strand).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/metrics_history.hpp"

namespace steadyws::server {

struct ServerState;

// The ring plus its lock: what ServerState holds and the endpoint reads.
class MetricsHistoryLog {
 public:
  void record(TimePoint now, const MetricsSample& s) {
    const std::lock_guard<std::mutex> g(mu_);
    ring_.record(now, s);
  }
  std::vector<MetricsSample> samples(TimePoint now) const {
    const std::lock_guard<std::mutex> g(mu_);
    return ring_.samples(now);
  }
  TimePoint next_due(TimePoint now) const {
    const std::lock_guard<std::mutex> g(mu_);
    return ring_.next_due(now);
  }
  Duration interval() const { return ring_.interval(); }  // immutable

 private:
  mutable std::mutex mu_;
  MetricsHistory ring_;
};

// {"intervalMs":1000,"samples":[{"time","activeConnections","messagesThroughput","errorRate",
// "averageLatency","failedConnections"}…]}, oldest first.
std::string history_json(const std::vector<MetricsSample>& samples, Duration interval);

// The answer to GET /api/websocket/metrics/history[?since=MS]: with `since` (our extension,
// for a page that polls), only the samples whose time is after it. nullopt when `since` is
// not a whole number of ms (400 bad_message).
std::optional<std::string> history_answer(const MetricsHistoryLog& log, TimePoint now,
                                          std::optional<std::string_view> since);

// The sample /api/websocket/metrics would give now (serverMetrics and overallLatency).
MetricsSample take_sample(ServerState& state);

// Records one sample per second into state.history until stop().
class MetricsHistorySampler : public std::enable_shared_from_this<MetricsHistorySampler> {
 public:
  explicit MetricsHistorySampler(std::shared_ptr<ServerState> state);
  void run();   // the first sample now, then one per interval
  void stop();  // any thread

 private:
  void tick();
  void arm();

  std::shared_ptr<ServerState> state_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace steadyws::server
