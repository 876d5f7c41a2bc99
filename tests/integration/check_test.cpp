// `steadyws check` against real `steadyws serve --port 0` processes: a healthy server passes
// every scenario (exit 0); a server that refuses upgrades, a wrong token or a server killed
// mid-run make the scenarios concerned fail, honestly, with exit 1; --no-proxy forces its
// disconnects through POST /api/admin/disconnect and skips what needs the proxy.
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/run_steadyws.hpp"
#include "support/server_process.hpp"

namespace steadyws::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct CheckRun : ToolRun {
  // The row named `name`, or an empty object.
  json::object row(const std::string& name) const {
    if (const auto* s = report.if_contains("scenarios"); s != nullptr && s->is_array()) {
      for (const auto& r : s->as_array())
        if (r.as_object().at("name").as_string() == name)
          return r.as_object();
    }
    return {};
  }
  std::string status(const std::string& name) const {
    const auto r = row(name);
    return r.contains("status") ? std::string(r.at("status").as_string()) : "missing";
  }
  // The row's measured value, NaN when it has none (a failed scenario): a failed comparison,
  // not an exception that hides the assertions after it.
  double measured(const std::string& name) const {
    const auto r = row(name);
    const auto* v = r.if_contains("measured");
    return v != nullptr && v->is_number() ? v->to_number<double>() : std::nan("");
  }
};

// Runs `steadyws check ARGS` (adding --quiet) and parses stdout when `json` is in ARGS.
CheckRun run_check(const std::vector<std::string>& args) {
  return CheckRun{run_steadyws("check --quiet", args)};
}

std::string url_of(const ServerProcess& s) {
  return ws_url_of(s);
}

TEST(Check, HealthyServerPassesEveryScenario) {
  ServerProcess server;
  // --duration 4 instead of 10 keeps the test short. 1 s heartbeats instead of 500 ms: the
  // half-open and stability verdicts then have 200-800 ms of slack for late timers on a
  // loaded 2-core machine running ASan, not 100-400 ms. Everything else at its defaults.
  const auto r = run_check({url_of(server), "--json", "--duration", "4", "--heartbeat-interval",
                            "1000", "--heartbeat-timeout", "1000"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_TRUE(r.report.at("proxy").as_bool());
  const auto& rows = r.report.at("scenarios").as_array();
  EXPECT_EQ(rows.size(), 10u) << r.out;  // nine scenarios, high-frequency gives two rows
  // high-frequency-throughput is a speed goal (> 1000 msg/s): whether this machine meets it
  // under a sanitizer beside other tests is make bench's question, not this test's (CI saw
  // 802 msg/s under ASan). Here its verdict must follow its measurement, and every other row
  // must pass; the report's verdict and the exit code must follow the rows.
  bool all_pass = true;
  for (const auto& v : rows) {
    const auto& row = v.as_object();
    const bool speed = row.at("name").as_string() == "high-frequency-throughput";
    all_pass = all_pass && row.at("pass").as_bool();
    if (!speed) {
      EXPECT_EQ(row.at("status").as_string(), "pass") << json::serialize(row);
      EXPECT_TRUE(row.at("pass").as_bool()) << json::serialize(row);
    }
    EXPECT_TRUE(row.at("measured").is_number()) << json::serialize(row);
    for (const char* key : {"name", "unit", "criterion", "target", "detail"})
      EXPECT_TRUE(row.at(key).is_string()) << key << " in " << json::serialize(row);
  }
  const double throughput = r.measured("high-frequency-throughput");
  EXPECT_GT(throughput, 0);
  EXPECT_EQ(r.status("high-frequency-throughput"), throughput > 1000 ? "pass" : "fail");
  EXPECT_EQ(r.report.at("pass").as_bool(), all_pass) << r.out;
  EXPECT_EQ(r.exit_code, all_pass ? 0 : 1) << r.out;
  EXPECT_LT(r.measured("reconnection-resilience"), 5000);
  EXPECT_LT(r.measured("fallback-activation"), 2000);
  EXPECT_LE(r.measured("half-open-detection"), 2000);
  EXPECT_EQ(r.measured("message-continuity"), 0);
}

TEST(Check, TablePrintsEveryRowAndTheVerdict) {
  ServerProcess server;
  const auto r =
      run_check({url_of(server), "--scenario", "basic-connectivity", "--scenario", "latency"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("scenario"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("criterion"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("basic-connectivity"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latency"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS: 2 passed, 0 failed"), std::string::npos) << r.out;
}

TEST(Check, ServerRefusingUpgradesFailsWithExitOne) {
  // --max-connections 0: every upgrade gets 503, HTTP still answers.
  ServerProcess server({"--max-connections", "0"});
  const auto r = run_check({url_of(server), "--json", "--scenario", "basic-connectivity",
                            "--scenario", "latency", "--scenario", "reconnection-resilience"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(r.report.at("pass").as_bool());
  EXPECT_EQ(r.status("basic-connectivity"), "fail") << r.out;
  EXPECT_FALSE(r.row("basic-connectivity").at("pass").as_bool());
  // The rest are not run against a server nobody can connect to, and say so.
  EXPECT_EQ(r.status("latency"), "fail") << r.out;
  EXPECT_NE(std::string(r.row("latency").at("detail").as_string()).find("not run"),
            std::string::npos)
      << r.out;
}

TEST(Check, ServerKilledMidRunFailsStability) {
  ServerProcess server;
  auto pending = std::async(std::launch::async, [url = url_of(server)] {
    return run_check({url, "--json", "--scenario", "connection-stability", "--scenario",
                      "reconnection-resilience", "--duration", "4"});
  });
  std::this_thread::sleep_for(1500ms);  // inside the 4 s stability window
  server.kill();
  const auto r = pending.get();
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.status("connection-stability"), "fail") << r.out;
  EXPECT_LT(r.measured("connection-stability"), 99) << r.out;
  EXPECT_EQ(r.status("reconnection-resilience"), "fail") << r.out;
}

TEST(Check, NoProxyUsesAdminDisconnectAndSkipsFaultScenarios) {
  ServerProcess server;
  const auto r =
      run_check({url_of(server), "--json", "--no-proxy", "--scenario", "reconnection-resilience",
                 "--scenario", "message-continuity", "--scenario", "half-open-detection",
                 "--scenario", "fallback-activation", "--disconnects", "2"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(r.report.at("proxy").as_bool());
  EXPECT_EQ(r.status("reconnection-resilience"), "pass") << r.out;
  EXPECT_NE(std::string(r.row("reconnection-resilience").at("detail").as_string())
                .find("2/2 forced disconnects (POST /api/admin/disconnect)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.status("message-continuity"), "pass") << r.out;
  EXPECT_EQ(r.status("half-open-detection"), "skip") << r.out;
  EXPECT_EQ(r.status("fallback-activation"), "skip") << r.out;
  EXPECT_EQ(r.report.at("skipped").as_array().size(), 2u) << r.out;
}

TEST(Check, TokenIsUsedAndAWrongOneFails) {
  ServerProcess server({"--auth-token", "s3cret"});
  const std::vector<std::string> scenarios{
      "--scenario", "basic-connectivity", "--scenario", "reconnection-resilience", "--disconnects",
      "1",          "--no-proxy",         "--json"};
  auto good_args = scenarios;
  good_args.insert(good_args.begin(), {url_of(server), "--token", "s3cret"});
  const auto good = run_check(good_args);
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_EQ(good.status("reconnection-resilience"), "pass") << good.out;

  auto bad_args = scenarios;
  bad_args.insert(bad_args.begin(), {url_of(server), "--token", "wrong"});
  const auto bad = run_check(bad_args);
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_EQ(bad.status("basic-connectivity"), "fail") << bad.out;
}

TEST(Check, UnusableUrlExitsOne) {
  const auto r = run_check({"wss://127.0.0.1:1/ws"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

}  // namespace
}  // namespace steadyws::test
