#include "server/metrics.hpp"

#include <atomic>
#include <cstdio>

namespace steadyws::server {

void ExtraCounters::add(const ExtraCounters& o) {
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  heartbeat_misses += o.heartbeat_misses;
  heartbeat_timeouts += o.heartbeat_timeouts;
  send_queue_drops += o.send_queue_drops;
  rate_limited += o.rate_limited;
  for (std::size_t i = 0; i < latency_buckets.size(); ++i)
    latency_buckets[i] += o.latency_buckets[i];
  latency_sum_ms += o.latency_sum_ms;
  latency_count += o.latency_count;
}

Metrics::Metrics(unsigned slots) {
  slots_.reserve(slots == 0 ? 1 : slots);
  for (unsigned i = 0; i < (slots == 0 ? 1 : slots); ++i)
    slots_.push_back(std::make_unique<Slot>());
}

Metrics::Slot& Metrics::slot() {
  // Each thread picks a slot once, round robin; more threads than slots share (the mutex
  // keeps that correct, just not contention-free).
  static std::atomic<unsigned> next{0};
  thread_local unsigned index = next.fetch_add(1, std::memory_order_relaxed);
  return *slots_[index % slots_.size()];
}

void Metrics::connection_opened() {
  with_slot([](Slot& s) { s.metrics.on_connection_opened(Clock::now()); });
}
void Metrics::connection_closed(Duration uptime, bool failed) {
  with_slot([&](Slot& s) { s.metrics.on_connection_closed(uptime, failed, Clock::now()); });
}
void Metrics::handshake_failed() {
  with_slot([](Slot& s) { s.metrics.on_handshake_failed(Clock::now()); });
}
void Metrics::message_in(std::size_t bytes) {
  with_slot([&](Slot& s) {
    s.metrics.on_message_in(Clock::now());
    s.extra.bytes_in += bytes;
  });
}
void Metrics::messages_out(std::size_t frames, std::size_t bytes) {
  with_slot([&](Slot& s) {
    s.metrics.on_message_out(frames, Clock::now());
    s.extra.bytes_out += bytes;
  });
}
void Metrics::error() {
  with_slot([](Slot& s) { s.metrics.on_error(Clock::now()); });
}
void Metrics::heartbeat_missed() {
  with_slot([](Slot& s) { ++s.extra.heartbeat_misses; });
}
void Metrics::heartbeat_timeout() {
  with_slot([](Slot& s) { ++s.extra.heartbeat_timeouts; });
}
void Metrics::send_queue_drop() {
  with_slot([](Slot& s) {
    ++s.extra.send_queue_drops;
    s.metrics.on_error(Clock::now());  // a failed send counts in the error rate
  });
}
void Metrics::rate_limited() {
  with_slot([](Slot& s) { ++s.extra.rate_limited; });
}
void Metrics::latency(double ms) {
  with_slot([&](Slot& s) {
    std::size_t i = 0;
    while (i < kLatencyBucketsMs.size() && ms > kLatencyBucketsMs[i])
      ++i;
    ++s.extra.latency_buckets[i];
    s.extra.latency_sum_ms += ms;
    ++s.extra.latency_count;
  });
}

ServerAggregate Metrics::aggregate(std::span<const ConnectionHealth> live) const {
  ServerMetrics total;
  for (const auto& s : slots_) {
    const std::lock_guard<std::mutex> g(s->mu);
    total.merge(s->metrics);
  }
  return total.aggregate(live, Clock::now(), std::chrono::system_clock::now());
}

ExtraCounters Metrics::extra() const {
  ExtraCounters x;
  for (const auto& s : slots_) {
    const std::lock_guard<std::mutex> g(s->mu);
    x.add(s->extra);
  }
  return x;
}

namespace {
void line(std::string& out, const char* name, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.17g\n", v);
  out.append(name).append(buf);
}
void meta(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}
void metric(std::string& out, const char* name, const char* type, const char* help, double v) {
  meta(out, name, type, help);
  line(out, name, v);
}
}  // namespace

std::string render_prometheus(const ServerAggregate& a, const ExtraCounters& x,
                              std::size_t sessions, std::size_t pending_polls,
                              const hub::HubCounts& hub) {
  std::string out;
  out.reserve(4096);
  auto d = [](std::uint64_t v) {
    return static_cast<double>(v);
  };
  metric(out, "steadyws_connections_active", "gauge", "Open WebSocket connections.",
         d(a.active_connections));
  metric(out, "steadyws_connections_total", "counter",
         "WebSocket connections opened, plus upgrades that failed.", d(a.total_connections));
  metric(out, "steadyws_connections_failed_total", "counter",
         "Connections closed by an error, timeout or eviction, plus failed upgrades.",
         d(a.failed_connections));
  metric(out, "steadyws_handshake_failures_total", "counter", "Upgrades refused or failed.",
         d(a.handshake_failures_total));
  metric(out, "steadyws_sessions", "gauge", "Sessions known (connected or in their grace period).",
         d(sessions));
  metric(out, "steadyws_polls_pending", "gauge", "Long polls waiting for a message.",
         d(pending_polls));
  metric(out, "steadyws_channels", "gauge", "Channels with their history in memory.",
         d(hub.channels));
  metric(out, "steadyws_channels_expired_total", "counter",
         "Channels removed after --channel-ttl without subscriber or use.", d(hub.expired));
  metric(out, "steadyws_messages_in_total", "counter", "Frames received from clients.",
         d(a.messages_in_total));
  metric(out, "steadyws_messages_out_total", "counter", "Frames written to clients.",
         d(a.messages_out_total));
  metric(out, "steadyws_bytes_in_total", "counter", "Payload bytes received from clients.",
         d(x.bytes_in));
  metric(out, "steadyws_bytes_out_total", "counter", "Bytes written to clients (frames).",
         d(x.bytes_out));
  metric(out, "steadyws_errors_total", "counter", "Error frames sent and failed sends.",
         d(a.errors_total));
  metric(out, "steadyws_rate_limited_total", "counter", "Messages refused by the rate limit.",
         d(x.rate_limited));
  metric(out, "steadyws_heartbeat_misses_total", "counter", "Protocol pings not answered in time.",
         d(x.heartbeat_misses));
  metric(out, "steadyws_heartbeat_timeouts_total", "counter",
         "Connections closed with 4000 (heartbeats missed in a row).", d(x.heartbeat_timeouts));
  metric(out, "steadyws_send_queue_drops_total", "counter",
         "Connections closed with 4001 because their send queue overflowed.",
         d(x.send_queue_drops));
  metric(out, "steadyws_messages_throughput", "gauge",
         "Messages in+out per second over the last window.", a.messages_throughput);
  metric(out, "steadyws_error_rate_percent", "gauge", "Errors per message over the last window, %.",
         a.error_rate);
  meta(out, "steadyws_heartbeat_rtt_ms", "histogram",
       "Round trip of protocol ping frames to pong frames, ms.");
  std::uint64_t cumulative = 0;
  char buf[128];
  for (std::size_t i = 0; i < x.latency_buckets.size(); ++i) {
    cumulative += x.latency_buckets[i];
    if (i < kLatencyBucketsMs.size())
      std::snprintf(buf, sizeof buf, "steadyws_heartbeat_rtt_ms_bucket{le=\"%g\"} %llu\n",
                    kLatencyBucketsMs[i], static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(buf, sizeof buf, "steadyws_heartbeat_rtt_ms_bucket{le=\"+Inf\"} %llu\n",
                    static_cast<unsigned long long>(cumulative));
    out.append(buf);
  }
  line(out, "steadyws_heartbeat_rtt_ms_sum", x.latency_sum_ms);
  line(out, "steadyws_heartbeat_rtt_ms_count", d(x.latency_count));
  return out;
}

}  // namespace steadyws::server
