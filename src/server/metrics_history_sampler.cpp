#include "server/metrics_history_sampler.hpp"

#include <charconv>
#include <chrono>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "protocol/json_text.hpp"
#include "server/server_state.hpp"
#include "server/ws_session.hpp"

namespace steadyws::server {

namespace json = boost::json;

std::string history_json(const std::vector<MetricsSample>& samples, Duration interval) {
  json::array arr;
  arr.reserve(samples.size());
  for (const auto& s : samples) {
    arr.push_back(json::object{{"time", s.time_ms},
                               {"activeConnections", s.active_connections},
                               {"messagesThroughput", s.messages_throughput},
                               {"errorRate", s.error_rate},
                               {"averageLatency", s.average_latency},
                               {"failedConnections", s.failed_connections}});
  }
  return protocol::to_json_text(
      json::object{{"intervalMs", interval.count()}, {"samples", std::move(arr)}});
}

std::optional<std::string> history_answer(const MetricsHistoryLog& log, TimePoint now,
                                          std::optional<std::string_view> since) {
  auto samples = log.samples(now);
  if (since) {
    std::int64_t t = 0;
    const auto [p, err] = std::from_chars(since->data(), since->data() + since->size(), t);
    if (err != std::errc() || p != since->data() + since->size())
      return std::nullopt;
    std::erase_if(samples, [t](const MetricsSample& s) { return s.time_ms <= t; });
  }
  return history_json(samples, log.interval());
}

MetricsSample take_sample(ServerState& state) {
  std::vector<ConnectionHealth> live;
  for (const auto& c : state.connections.snapshot())
    live.push_back(c->health());
  const auto a = state.metrics.aggregate(live);
  MetricsSample s;
  s.time_ms = to_unix_ms(std::chrono::system_clock::now());
  s.active_connections = a.active_connections;
  s.messages_throughput = a.messages_throughput;
  s.error_rate = a.error_rate;
  s.average_latency = a.average_latency;
  s.failed_connections = a.failed_connections;
  return s;
}

MetricsHistorySampler::MetricsHistorySampler(std::shared_ptr<ServerState> state)
    : state_(std::move(state)), strand_(boost::asio::make_strand(state_->ioc)), timer_(strand_) {}

void MetricsHistorySampler::run() {
  boost::asio::dispatch(strand_, [self = shared_from_this()] { self->tick(); });
}

void MetricsHistorySampler::stop() {
  boost::asio::dispatch(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
  });
}

void MetricsHistorySampler::tick() {
  if (stopped_)
    return;
  const auto now = Clock::now();
  auto s = take_sample(*state_);
  // Stamped with the wall time of its slot's start, not of the wakeup: a timer that fires
  // late in one slot and on time in the next would otherwise give two samples a few ms
  // apart, and a chart an uneven axis. Consecutive samples are then one interval apart.
  const auto slot_start = state_->history.next_due(now) - state_->history.interval();
  s.time_ms =
      to_unix_ms(std::chrono::system_clock::now() -
                 std::chrono::duration_cast<std::chrono::system_clock::duration>(now - slot_start));
  state_->history.record(now, s);
  arm();
}

void MetricsHistorySampler::arm() {
  // At the start of the next 1 s slot, so one late wakeup does not shift every later sample.
  timer_.expires_at(state_->history.next_due(Clock::now()));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec)
      self->tick();
  });
}

}  // namespace steadyws::server
