// Numbers in the JSON that people and scrapers read are plain decimals: /api/health,
// /api/websocket/metrics and /api/sessions from the real binary, and `steadyws bench --json`,
// have no number in exponent form (Boost.JSON 1.81 alone writes 100.0 as `1E2`), and still
// parse with the fields the contract names.
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/run_steadyws.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

// The first number in exponent form outside JSON strings (timestamps and ids are strings and
// may hold anything), or "" when there is none.
std::string exponent_number_in(const std::string& text) {
  std::string bare;  // `text` with every string's content dropped
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      bare += c;
      in_string = c == '"';
    } else if (c == '\\') {
      ++i;
    } else if (c == '"') {
      bare += c;
      in_string = false;
    }
  }
  static const std::regex exponent(R"([0-9][eE][+-]?[0-9]+)");
  std::smatch m;
  return std::regex_search(bare, m, exponent) ? m.str() : std::string();
}

TEST(JsonNumbers, TheDetectorFindsExponentsOnlyOutsideStrings) {
  EXPECT_EQ(exponent_number_in(R"({"a":1E2})"), "1E2");
  EXPECT_EQ(exponent_number_in(R"({"a":[0,1.25e-7]})"), "5e-7");
  EXPECT_EQ(exponent_number_in(R"({"a1E2":"9e9 \"1e5\"","b":12.5,"c":100})"), "");
}

const json::array* latency_of_first(const json::array& details) {
  if (details.empty() || !details[0].is_object())
    return nullptr;
  const auto* lat = details[0].as_object().if_contains("latency");
  return lat && lat->is_array() ? &lat->as_array() : nullptr;
}

// A client that has answered a few 200 ms heartbeats (fractional latencies) and published once.
class JsonNumbersServed : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = WsClient::connect(server_.port());
    ASSERT_TRUE(client_->alive());
    subscribe(*client_, "numbers");
    publish(*client_, "numbers", json::object{{"price", 12.5}});
    const bool measured = wait_until(
        [&] {
          const auto o = http_get(server_.port(), "/api/health").object();
          const auto* ws = o.if_contains("websocket");
          if (!ws || !ws->is_object())
            return false;
          const auto* d = ws->as_object().if_contains("connectionHealthDetails");
          const auto* lat = d && d->is_array() ? latency_of_first(d->as_array()) : nullptr;
          return lat && lat->size() >= 2;
        },
        kDeadline);
    ASSERT_TRUE(measured) << http_get(server_.port(), "/api/health").body;
  }

  ServerProcess server_{{"--heartbeat-interval", "200"}};
  std::unique_ptr<WsClient> client_;
};

TEST_F(JsonNumbersServed, HealthHasPlainNumbers) {
  const auto r = http_get(server_.port(), "/api/health");
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_EQ(exponent_number_in(r.body), "") << r.body;
  const auto o = r.object();
  ASSERT_FALSE(o.empty()) << "not a JSON object: " << r.body;
  EXPECT_EQ(str_at(o, "status"), "healthy") << r.body;
  const auto& ws = o.at("websocket").as_object();
  EXPECT_EQ(int_at(ws, "clients"), 1) << r.body;
  for (const char* k : {"connectionReliability", "averageLatency", "errorRate"})
    EXPECT_TRUE(ws.contains(k) && ws.at(k).is_number()) << k << ": " << r.body;
  const auto* lat = latency_of_first(ws.at("connectionHealthDetails").as_array());
  ASSERT_NE(lat, nullptr) << r.body;
  for (const auto& x : *lat)
    EXPECT_TRUE(x.is_number()) << r.body;
}

TEST_F(JsonNumbersServed, WebsocketMetricsHavePlainNumbers) {
  const auto r = http_get(server_.port(), "/api/websocket/metrics");
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_EQ(exponent_number_in(r.body), "") << r.body;
  const auto o = r.object();
  ASSERT_TRUE(o.contains("serverMetrics") && o.at("serverMetrics").is_object()) << r.body;
  const auto& sm = o.at("serverMetrics").as_object();
  for (const char* k : {"totalConnections", "activeConnections", "failedConnections",
                        "averageConnectionUptime", "messagesThroughput", "errorRate"})
    EXPECT_TRUE(sm.contains(k) && sm.at(k).is_number()) << k << ": " << r.body;
  EXPECT_EQ(int_at(sm, "activeConnections"), 1) << r.body;
  ASSERT_TRUE(o.contains("connectionDetails") && o.at("connectionDetails").is_array()) << r.body;
  EXPECT_EQ(o.at("connectionDetails").as_array().size(), 1u) << r.body;
  ASSERT_TRUE(o.contains("summary") && o.at("summary").is_object()) << r.body;
  for (const char* k : {"healthyConnections", "unhealthyConnections", "overallLatency"})
    EXPECT_TRUE(o.at("summary").as_object().contains(k)) << k << ": " << r.body;
}

TEST_F(JsonNumbersServed, SessionsHavePlainNumbers) {
  const auto r = http_get(server_.port(), "/api/sessions");
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_EQ(exponent_number_in(r.body), "") << r.body;
  const auto o = r.object();
  ASSERT_TRUE(o.contains("sessions") && o.at("sessions").is_array()) << r.body;
  EXPECT_EQ(o.at("sessions").as_array().size(), 1u) << r.body;
}

TEST(JsonNumbers, BenchReportHasPlainNumbers) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0"});
  const auto r = run_steadyws("bench",
                              {"ping", "--url", ws_url_of(server), "--connections", "4",
                               "--in-flight", "2", "--duration", "1", "--warmup", "0.2"},
                              "--json --no-progress");
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(exponent_number_in(r.out), "") << r.out;
  ASSERT_TRUE(r.report.contains("latency") && r.report.at("latency").is_object()) << r.out;
  EXPECT_TRUE(r.report.contains("round_trips_per_s")) << r.out;
}

}  // namespace
}  // namespace steadyws::test
