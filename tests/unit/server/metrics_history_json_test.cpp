#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "server/metrics_history_sampler.hpp"
#include "server/routes.hpp"

namespace steadyws::server {
namespace {

namespace json = boost::json;

TEST(MetricsHistoryJson, RouteIsAGetUnderTheToken) {
  EXPECT_EQ(route_of("/api/websocket/metrics/history"), Route::metrics_history);
  EXPECT_TRUE(method_allowed(Route::metrics_history, Method::get));
  EXPECT_FALSE(method_allowed(Route::metrics_history, Method::post));
  EXPECT_TRUE(needs_token(Route::metrics_history));
}

TEST(MetricsHistoryJson, ShapeOfContract10) {
  MetricsSample a;
  a.time_ms = 1764100000000;
  a.active_connections = 3;
  a.messages_throughput = 12.5;
  a.error_rate = 0.25;
  a.average_latency = 1.5;
  a.failed_connections = 2;
  MetricsSample b = a;
  b.time_ms += 1000;
  const auto v = json::parse(history_json({a, b}, Duration{1000})).as_object();
  EXPECT_EQ(v.at("intervalMs").to_number<std::int64_t>(), 1000);
  const auto& s = v.at("samples").as_array();
  ASSERT_EQ(s.size(), 2u);
  const auto& o = s[0].as_object();
  EXPECT_EQ(o.size(), 6u);
  EXPECT_EQ(o.at("time").to_number<std::int64_t>(), 1764100000000);
  EXPECT_EQ(o.at("activeConnections").to_number<std::int64_t>(), 3);
  EXPECT_DOUBLE_EQ(o.at("messagesThroughput").to_number<double>(), 12.5);
  EXPECT_DOUBLE_EQ(o.at("errorRate").to_number<double>(), 0.25);
  EXPECT_DOUBLE_EQ(o.at("averageLatency").to_number<double>(), 1.5);
  EXPECT_EQ(o.at("failedConnections").to_number<std::int64_t>(), 2);
  EXPECT_EQ(s[1].as_object().at("time").to_number<std::int64_t>(), 1764100001000);
}

TEST(MetricsHistoryJson, EmptyHistoryIsAnEmptyArray) {
  EXPECT_EQ(history_json({}, Duration{1000}), R"({"intervalMs":1000,"samples":[]})");
}

TEST(MetricsHistoryJson, SinceKeepsOnlyLaterSamplesAndRefusesGarbage) {
  MetricsHistoryLog log;
  const TimePoint t0{};
  for (int i = 0; i < 5; ++i) {
    MetricsSample s;
    s.time_ms = 1000 + 1000 * i;
    log.record(t0 + std::chrono::seconds(i), s);
  }
  const auto now = t0 + std::chrono::seconds(4);
  const auto all = json::parse(*history_answer(log, now, std::nullopt)).as_object();
  EXPECT_EQ(all.at("samples").as_array().size(), 5u);
  const auto later = json::parse(*history_answer(log, now, "3000")).as_object();
  ASSERT_EQ(later.at("samples").as_array().size(), 2u);
  EXPECT_EQ(later.at("samples").as_array()[0].as_object().at("time").to_number<std::int64_t>(),
            4000);
  EXPECT_FALSE(history_answer(log, now, "soon"));
  EXPECT_FALSE(history_answer(log, now, "12x"));
  EXPECT_FALSE(history_answer(log, now, ""));
}

}  // namespace
}  // namespace steadyws::server
