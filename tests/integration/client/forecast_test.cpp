// The quality forecast end to end (issue 15 part 1, CONTRACT §10): the C++ client's
// degradation_risk / predicted_level, the `connect --events` forecast line, and the optional
// forecast failover, against real servers through `steadyws proxy`. A slow link is made with
// the proxy's delay (300 ms each way: a 600 ms RTT, critical), so the model must call it.
// Heartbeats every 100 ms with a 6 s horizon: 60 samples, the regime the model was trained
// and evaluated in (500 ms, 30 s; docs/prediction.md). Deadlines are generous upper bounds.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::vector<json::object> forecast_events(const CliProcess& cli) {
  std::vector<json::object> out;
  for (const auto& line : CliProcess::lines(cli.stderr_text())) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (!ec && v.is_object() && v.as_object().contains("event") &&
        v.as_object().at("event").as_string() == "forecast")
      out.push_back(v.as_object());
  }
  return out;
}

TEST(ConnectCliForecast, EventsCarryRiskLevelHorizonAndTime) {
  ServerProcess server;
  ProxyProcess proxy(server.port());
  CliProcess cli({"connect", proxy.ws_url(), "--events", "--keep-running", "--no-fallback",
                  "--max-reconnect-attempts", "0", "--heartbeat-interval", "100",
                  "--heartbeat-timeout", "3000", "--critical-quality-fallback-after", "0",
                  "--forecast-horizon", "6000"});
  // The first forecast is written at once (a change from none): low risk on a clean link.
  ASSERT_TRUE(wait_until([&] { return !forecast_events(cli).empty(); }, 20s)) << cli.stderr_text();
  {
    const auto e = forecast_events(cli).front();
    EXPECT_EQ(e.size(), 5u) << json::serialize(e);
    const double risk = e.at("risk").to_number<double>();
    EXPECT_GE(risk, 0.0);
    EXPECT_LT(risk, 0.5) << json::serialize(e);
    EXPECT_EQ(e.at("horizonMs").to_number<std::int64_t>(), 6000);
    EXPECT_TRUE(e.at("predictedLevel").is_string());
    EXPECT_GT(e.at("time").to_number<std::int64_t>(), 1'600'000'000'000);
  }
  // Not one line per sample: nothing changed over a few dozen clean samples.
  std::this_thread::sleep_for(2s);
  EXPECT_LE(forecast_events(cli).size(), 2u) << cli.stderr_text();

  proxy.mode(R"({"mode":"delay","ms":300})");
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& e : forecast_events(cli))
          if (e.at("risk").to_number<double>() >= 0.5)
            return true;
        return false;
      },
      30s))
      << cli.stderr_text();
  for (const auto& e : forecast_events(cli)) {
    const double risk = e.at("risk").to_number<double>();
    const std::string level(e.at("predictedLevel").as_string());
    if (risk >= 0.5)
      EXPECT_TRUE(level == "poor" || level == "critical") << json::serialize(e);
    else
      EXPECT_TRUE(level != "poor" && level != "critical") << json::serialize(e);
  }
}

TEST(ClientForecast, MetricsCarryTheForecastAndRecommendWhenRiskIsHigh) {
  ServerProcess server;
  ProxyProcess proxy(server.port());
  auto o = test_options({proxy.ws_url()});
  o.heartbeat_interval = 100ms;
  o.heartbeat_timeout = 3000ms;
  o.critical_quality_fallback_after = 0ms;
  o.forecast_horizon = 6000ms;  // 60 samples, as in the traces (500 ms, 30 s)
  std::atomic<std::uint64_t> samples{0};
  std::atomic<bool> bad_risk{false};
  o.on_forecast = [&](const ForecastSample& s) {
    samples.fetch_add(1);
    if (!(s.forecast.risk >= 0 && s.forecast.risk <= 1))
      bad_risk.store(true);
  };
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return samples.load() >= 10; }, 20s));
  EXPECT_LT(c.quality_metrics().degradation_risk, 0.5);
  EXPECT_EQ(c.forecast().horizon, 6000ms);
  proxy.mode(R"({"mode":"delay","ms":300})");
  ASSERT_TRUE(wait_until([&] { return c.quality_metrics().degradation_risk >= 0.5; }, 30s))
      << c.quality_metrics().latency;
  const auto m = c.quality_metrics();
  EXPECT_GE(m.predicted_level, Quality::poor);
  bool said = false;
  for (const auto& r : c.recommendations())
    said = said || r.find("likely to degrade") != std::string::npos;
  EXPECT_TRUE(said);
  EXPECT_FALSE(bad_risk.load());
}

// forecast_failover_risk: off by default (stays on the degrading server), and when set, the
// client moves to the next URL before the level is bad enough for anything else to act.
void run_failover(bool enabled) {
  ServerProcess a;
  ServerProcess b;
  ProxyProcess proxy(a.port());
  auto o = test_options({proxy.ws_url(), ws_url(b)});
  o.heartbeat_interval = 100ms;
  o.heartbeat_timeout = 3000ms;
  o.critical_quality_fallback_after = 0ms;
  o.forecast_horizon = 6000ms;  // 60 samples, as in the traces (500 ms, 30 s)
  if (enabled)
    o.forecast_failover_risk = 0.5;
  std::mutex mu;
  std::vector<std::string> reasons;
  o.on_state_change = [&](const Transition& t) {
    std::lock_guard lock(mu);
    reasons.push_back(t.reason);
  };
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected() && c.forecast().samples >= 20; }, 20s));
  EXPECT_EQ(c.current_url(), proxy.ws_url()) << "moved on a clean link";
  proxy.mode(R"({"mode":"delay","ms":300})");
  if (enabled) {
    ASSERT_TRUE(wait_until([&] { return c.current_url() == ws_url(b) && c.is_connected(); }, 30s));
    std::lock_guard lock(mu);
    bool said = false;
    for (const auto& r : reasons)
      said = said || r.find("forecast: degradation risk") != std::string::npos;
    EXPECT_TRUE(said);
  } else {
    ASSERT_TRUE(wait_until([&] { return c.forecast().risk >= 0.5; }, 30s));
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(c.current_url(), proxy.ws_url());
    EXPECT_TRUE(c.is_connected());
  }
}

TEST(ClientForecast, FailoverIsOffByDefault) {
  run_failover(false);
}

TEST(ClientForecast, FailoverMovesToTheNextUrlWhenRiskPassesTheThreshold) {
  run_failover(true);
}

}  // namespace
}  // namespace steadyws::test
