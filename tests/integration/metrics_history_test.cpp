// CONTRACT §10: GET /api/websocket/metrics/history, one aggregate sample per second, oldest
// first, for the last 15 minutes at most, in the shape of serverMetrics.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

json::array samples_of(const HttpResponse& r) {
  const auto o = r.object();
  const auto* s = o.if_contains("samples");
  return s != nullptr && s->is_array() ? s->as_array() : json::array{};
}

TEST(MetricsHistory, OneSamplePerSecondInTheContractShape) {
  ServerProcess server;
  auto a = WsClient::connect(server.port());
  auto b = WsClient::connect(server.port());
  subscribe(*b, "hist");
  for (int i = 0; i < 20; ++i)
    publish(*a, "hist", i);

  // Samples accrue once a second; wait for a few that see both connections.
  HttpResponse r;
  ASSERT_TRUE(wait_until(
      [&] {
        r = http_get(server.port(), "/api/websocket/metrics/history");
        const auto s = samples_of(r);
        return s.size() >= 4 &&
               s.back().as_object().at("activeConnections").to_number<std::int64_t>() == 2;
      },
      20s))
      << r.describe();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "application/json");
  const auto top = r.object();
  EXPECT_EQ(top.at("intervalMs").to_number<std::int64_t>(), 1000);
  const auto s = samples_of(r);
  ASSERT_LE(s.size(), 900u);
  std::int64_t prev = 0;
  bool saw_throughput = false;
  for (const auto& v : s) {
    const auto& o = v.as_object();
    for (const char* k : {"time", "activeConnections", "messagesThroughput", "errorRate",
                          "averageLatency", "failedConnections"}) {
      ASSERT_TRUE(o.contains(k) && o.at(k).is_number()) << k << " in " << json::serialize(o);
    }
    const auto t = o.at("time").to_number<std::int64_t>();
    EXPECT_GT(t, prev) << "oldest first, one per slot";
    if (prev != 0) {
      // Stamped at their slot's start: whole intervals apart (more than one after a gap).
      const auto gap = t - prev;
      EXPECT_GE(gap, 998) << "one per second, not more";
      EXPECT_LE(std::min(gap % 1000, 1000 - gap % 1000), 2) << "gap " << gap;
    }
    prev = t;
    saw_throughput = saw_throughput || o.at("messagesThroughput").to_number<double>() > 0;
  }
  EXPECT_TRUE(saw_throughput) << "the publishes show in messagesThroughput";
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LT(std::abs(now_ms - prev), 60000) << "times are wall-clock ms";

  // A connection going away shows in the next samples.
  a.reset();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s2 = samples_of(http_get(server.port(), "/api/websocket/metrics/history"));
        return !s2.empty() &&
               s2.back().as_object().at("activeConnections").to_number<std::int64_t>() == 1;
      },
      20s));
}

TEST(MetricsHistory, OnlyGetAndTheTokenGuardsItLikeTheMetrics) {
  ServerProcess server({"--auth-token", "s3cret"});
  EXPECT_EQ(http_get(server.port(), "/api/websocket/metrics/history").status, 401u);
  const auto ok = http_get(server.port(), "/api/websocket/metrics/history?token=s3cret");
  EXPECT_EQ(ok.status, 200u) << ok.describe();
  const auto post = http_post(server.port(), "/api/websocket/metrics/history?token=s3cret", "{}");
  EXPECT_EQ(post.status, 405u) << post.describe();
  // Still serving (server_serves() connects without a token, which this server refuses).
  EXPECT_EQ(http_get(server.port(), "/api/health?token=s3cret").status, 200u);
}

}  // namespace
}  // namespace steadyws::test
