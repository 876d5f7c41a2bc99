#include "core/health.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace steadyws {

void ConnectionHealth::record_latency(double ms) {
  if (latency.size() >= kHealthLatencySamples) {
    // Shifting 9 doubles beats a ring here: the vector stays oldest-first, which is the
    // order the HEALTH object prints.
    latency.erase(
        latency.begin(),
        latency.begin() + static_cast<std::ptrdiff_t>(latency.size() - kHealthLatencySamples + 1));
  } else if (latency.capacity() < kHealthLatencySamples) {
    latency.reserve(kHealthLatencySamples);
  }
  latency.push_back(ms);
}

double ConnectionHealth::average_latency() const {
  if (latency.empty()) {
    return 0;
  }
  double sum = 0;
  for (double ms : latency) {
    sum += ms;
  }
  return sum / static_cast<double>(latency.size());
}

std::string_view to_string(HealthStatus status) {
  switch (status) {
    case HealthStatus::healthy:
      return "healthy";
    case HealthStatus::degraded:
      return "degraded";
    case HealthStatus::unhealthy:
      return "unhealthy";
  }
  return "unhealthy";
}

HealthStatus classify(const ServerAggregate& a, const HealthThresholds& t) {
  if (a.connection_reliability < t.unhealthy_reliability || a.error_rate > t.unhealthy_error_rate) {
    return HealthStatus::unhealthy;
  }
  if (a.connection_reliability < t.degraded_reliability || a.error_rate > t.degraded_error_rate ||
      a.average_latency > t.degraded_latency_ms) {
    return HealthStatus::degraded;
  }
  return HealthStatus::healthy;
}

ServerMetrics::ServerMetrics(Duration throughput_window, HealthThresholds thresholds)
    : window_(throughput_window),
      width_(std::max<Clock::duration>(throughput_window / kBuckets, Clock::duration{1})),
      thresholds_(thresholds) {
  assert(throughput_window >= Duration{static_cast<Duration::rep>(kBuckets)});
}

std::int64_t ServerMetrics::bucket_index(TimePoint now) const {
  const auto ticks = now.time_since_epoch().count();
  const auto width = width_.count();
  // Floor division, so a TimePoint before the clock's epoch (only tests make those) still
  // maps to the bucket that contains it.
  auto q = ticks / width;
  if (ticks % width != 0 && ticks < 0) {
    --q;
  }
  return static_cast<std::int64_t>(q);
}

ServerMetrics::Bucket* ServerMetrics::bucket_for(TimePoint now) {
  const std::int64_t index = bucket_index(now);
  constexpr auto slots = static_cast<std::int64_t>(kBuckets + 1);
  Bucket& b = ring_[static_cast<std::size_t>(((index % slots) + slots) % slots)];
  if (b.index == index) {
    return &b;
  }
  if (b.index > index) {
    return nullptr;  // the slot already holds a newer slice: `now` is older than the ring
  }
  b = Bucket{index, 0, 0, 0};
  return &b;
}

void ServerMetrics::on_connection_opened(TimePoint /*now*/) {
  ++opened_;
}

void ServerMetrics::on_connection_closed(Duration uptime, bool failed, TimePoint /*now*/) {
  ++closed_;
  if (failed) {
    ++closed_failed_;
  }
  closed_uptime_ms_sum_ += static_cast<double>(std::max(uptime, Duration{0}).count());
}

void ServerMetrics::on_handshake_failed(TimePoint /*now*/) {
  ++handshakes_failed_;
}

void ServerMetrics::on_message_in(TimePoint now) {
  ++in_total_;
  if (Bucket* b = bucket_for(now)) {
    ++b->in;
  }
}

void ServerMetrics::on_message_out(std::uint64_t count, TimePoint now) {
  out_total_ += count;
  if (Bucket* b = bucket_for(now)) {
    b->out += count;
  }
}

void ServerMetrics::on_error(TimePoint now) {
  ++errors_total_;
  if (Bucket* b = bucket_for(now)) {
    ++b->errors;
  }
}

void ServerMetrics::merge(const ServerMetrics& other) {
  assert(other.window_ == window_);
  opened_ += other.opened_;
  closed_ += other.closed_;
  closed_failed_ += other.closed_failed_;
  handshakes_failed_ += other.handshakes_failed_;
  closed_uptime_ms_sum_ += other.closed_uptime_ms_sum_;
  in_total_ += other.in_total_;
  out_total_ += other.out_total_;
  errors_total_ += other.errors_total_;
  for (std::size_t i = 0; i < ring_.size(); ++i) {
    const Bucket& theirs = other.ring_[i];
    Bucket& mine = ring_[i];
    if (theirs.index < 0 || theirs.index < mine.index) {
      continue;  // empty, or older than what this slot already holds
    }
    if (theirs.index > mine.index) {
      mine = theirs;
    } else {
      mine.in += theirs.in;
      mine.out += theirs.out;
      mine.errors += theirs.errors;
    }
  }
}

ServerAggregate ServerMetrics::aggregate(std::span<const ConnectionHealth> live, TimePoint now,
                                         WallTime wall_now) const {
  ServerAggregate a;
  a.total_connections = opened_ + handshakes_failed_;
  a.active_connections = opened_ >= closed_ ? opened_ - closed_ : 0;
  a.failed_connections = closed_failed_ + handshakes_failed_;
  a.connection_reliability = a.total_connections == 0
                                 ? 100.0
                                 : static_cast<double>(a.total_connections - a.failed_connections) *
                                       100.0 / static_cast<double>(a.total_connections);

  // Window: the current slice plus the kBuckets before it.
  const std::int64_t current = bucket_index(now);
  std::uint64_t in = 0;
  std::uint64_t out = 0;
  std::uint64_t errors = 0;
  for (const Bucket& b : ring_) {
    if (b.index >= 0 && b.index <= current &&
        b.index >= current - static_cast<std::int64_t>(kBuckets)) {
      in += b.in;
      out += b.out;
      errors += b.errors;
    }
  }
  const Clock::duration into_current = now.time_since_epoch() - width_ * current;
  const double span_s =
      std::chrono::duration<double>(width_ * static_cast<std::int64_t>(kBuckets) + into_current)
          .count();
  a.messages_throughput = static_cast<double>(in + out) / span_s;
  if (errors > 0) {
    a.error_rate =
        in + out == 0
            ? 100.0
            : std::min(100.0, static_cast<double>(errors) * 100.0 / static_cast<double>(in + out));
  }

  double uptime_sum = closed_uptime_ms_sum_;
  double latency_sum = 0;
  std::size_t latency_samples = 0;
  for (const ConnectionHealth& c : live) {
    uptime_sum +=
        std::max(0.0, std::chrono::duration<double, std::milli>(wall_now - c.connected_at).count());
    for (double ms : c.latency) {
      latency_sum += ms;
    }
    latency_samples += c.latency.size();
    if (c.is_healthy()) {
      ++a.healthy_connections;
    } else {
      ++a.unhealthy_connections;
    }
  }
  const std::uint64_t with_uptime = closed_ + live.size();
  a.average_connection_uptime_ms =
      with_uptime == 0 ? 0.0 : uptime_sum / static_cast<double>(with_uptime);
  a.average_latency =
      latency_samples == 0 ? 0.0 : latency_sum / static_cast<double>(latency_samples);

  a.messages_in_total = in_total_;
  a.messages_out_total = out_total_;
  a.errors_total = errors_total_;
  a.handshake_failures_total = handshakes_failed_;
  a.status = classify(a, thresholds_);
  return a;
}

std::string to_iso8601(WallTime t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace steadyws
