// `steadyws bench` against a real `steadyws serve --port 0`: a smoke test that the load
// generator runs, checks what it receives and reports it in --json. No timing targets are
// asserted (those live in `make bench` and docs/benchmarks.md): only that there was traffic
// and no errors, and that errors, when there are some, make it exit non-zero. The herd case
// lets the bench start and restart its own server.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/run_steadyws.hpp"
#include "support/server_process.hpp"

namespace steadyws::test {
namespace {

namespace json = boost::json;

using BenchResult = ToolRun;

// Runs `steadyws bench ARGS --json --no-progress` and parses its report.
BenchResult run_bench(const std::vector<std::string>& args) {
  return run_steadyws("bench", args, "--json --no-progress");
}

std::string url_of(const ServerProcess& s) {
  return ws_url_of(s);
}

double number_at(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : -1;
}

std::int64_t errors_total(const json::object& o) {
  const auto* e = o.if_contains("errors");
  if (e == nullptr || !e->is_object() || !e->as_object().contains("total"))
    return -1;
  return e->as_object().at("total").to_number<std::int64_t>();
}

TEST(Bench, PingReportsRoundTripsAndNoErrors) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0"});
  const auto r = run_bench({"ping", "--url", url_of(server), "--connections", "10", "--in-flight",
                            "4", "--duration", "1", "--warmup", "0.2"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(errors_total(r.report), 0) << r.out;
  EXPECT_EQ(number_at(r.report, "connections_open"), 10) << r.out;
  EXPECT_GT(number_at(r.report, "round_trips_per_s"), 0) << r.out;
  const auto& latency = r.report.at("latency").as_object();
  EXPECT_GT(number_at(latency, "count"), 0) << r.out;
  EXPECT_LE(number_at(latency, "p50_us"), number_at(latency, "p99_us")) << r.out;
}

TEST(Bench, PingWithServerPidReportsRoundTripsPerServerCpuSecond) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0"});
  const auto r = run_bench({"ping", "--url", url_of(server), "--connections", "10", "--in-flight",
                            "4", "--duration", "1", "--warmup", "0.2", "--server-pid",
                            std::to_string(server.pid())});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(number_at(r.report, "server_pid"), server.pid()) << r.out;
  // The server answers pings as fast as they come for a whole second: well over one 10 ms tick.
  const double cpu_s = number_at(r.report, "server_cpu_s");
  ASSERT_GT(cpu_s, 0) << r.out;
  const double window_s = number_at(r.report, "duration_s");
  EXPECT_NEAR(number_at(r.report, "server_cpu_percent"), cpu_s / window_s * 100, 1e-6) << r.out;
  // The counts behind the rates: round trips = rate x window, per CPU-second = count / CPU.
  const double round_trips = number_at(r.report, "round_trips");
  ASSERT_GT(round_trips, 0) << r.out;
  EXPECT_NEAR(number_at(r.report, "round_trips_per_s") * window_s, round_trips, 1e-6 * round_trips)
      << r.out;
  EXPECT_NEAR(number_at(r.report, "round_trips_per_server_cpu_s"), round_trips / cpu_s,
              1e-6 * round_trips / cpu_s)
      << r.out;
  // The generator's own CPU over the same window (it drives 40 pings in flight for a second).
  const double gen_s = number_at(r.report, "generator_cpu_s");
  ASSERT_GT(gen_s, 0) << r.out;
  EXPECT_NEAR(number_at(r.report, "generator_cpu_percent"), gen_s / window_s * 100, 1e-6) << r.out;
  EXPECT_NEAR(number_at(r.report, "round_trips_per_generator_cpu_s"), round_trips / gen_s,
              1e-6 * round_trips / gen_s)
      << r.out;
}

TEST(Bench, FanoutDeliversEverySeqToEverySubscriber) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0"});
  const auto r = run_bench({"fanout", "--url", url_of(server), "--subscribers", "20", "--in-flight",
                            "4", "--payload", "32", "--duration", "1", "--warmup", "0.2",
                            "--server-pid", std::to_string(server.pid())});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(errors_total(r.report), 0) << r.out;  // includes gaps and duplicates
  EXPECT_GT(number_at(r.report, "published"), 0) << r.out;
  EXPECT_GT(number_at(r.report, "deliveries_per_s"), 0) << r.out;
  const double cpu_s = number_at(r.report, "server_cpu_s");
  ASSERT_GT(cpu_s, 0) << r.out;
  const double deliveries = number_at(r.report, "deliveries");
  EXPECT_NEAR(number_at(r.report, "deliveries_per_server_cpu_s"), deliveries / cpu_s,
              1e-6 * deliveries / cpu_s)
      << r.out;
}

TEST(Bench, IdleReadsTheServerRssAndAnswersPings) {
  ServerProcess server({"--heartbeat-interval", "200"});
  const auto r = run_bench({"idle", "--url", url_of(server), "--connections", "50", "--duration",
                            "1", "--warmup", "0", "--server-pid", std::to_string(server.pid())});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(number_at(r.report, "open_at_end"), 50) << r.out;
  EXPECT_GT(number_at(r.report, "server_pings_answered"), 0) << r.out;
  EXPECT_GT(number_at(r.report, "rss_end_kb"), 0) << r.out;
  EXPECT_GE(number_at(r.report, "server_cpu_percent"), 0) << r.out;  // 0 when truly idle
}

TEST(Bench, FailedConnectsAreErrorsAndExitNonZero) {
  std::uint16_t port = 0;
  {
    ServerProcess server;  // a port that was just free; nothing listens once it stops
    port = server.port();
    server.stop();
  }
  const auto r = run_bench({"ping", "--url", "ws://127.0.0.1:" + std::to_string(port) + "/ws",
                            "--connections", "3", "--duration", "0.2", "--warmup", "0"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.report.at("errors").as_object().at("connect_failed").to_number<int>(), 3) << r.out;
}

TEST(Bench, HerdComesBackAfterDrainAndKill) {
  // The bench starts (and restarts) the server itself; {port} keeps the address across restarts.
  const std::string cmd = std::string(kDefaultBinary) +
                          " serve --host 127.0.0.1 --port {port} --threads 1 --log-level warn"
                          " --drain-spread 500";
  const auto r = run_bench({"herd", "--clients", "50", "--server-cmd", cmd, "--jitter-mode", "full",
                            "--reconnect-interval", "300", "--timeout", "20"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(errors_total(r.report), 0) << r.out;
  const auto& cases = r.report.at("cases").as_array();
  ASSERT_EQ(cases.size(), 2u) << r.out;  // drain, then kill
  for (const auto& c : cases) {
    const auto& o = c.as_object();
    EXPECT_EQ(number_at(o, "back"), 50) << r.out;
    EXPECT_GT(number_at(o, "t99_ms"), 0) << r.out;
    EXPECT_GE(number_at(o, "t100_ms"), number_at(o, "t99_ms")) << r.out;
    EXPECT_GT(number_at(o, "peak_accepts_per_s"), 0) << r.out;
  }
  // SIGTERM: every client got a 1001 retryAfterMs hint; SIGKILL: none did.
  EXPECT_EQ(number_at(cases[0].as_object(), "hinted"), 50) << r.out;
  EXPECT_EQ(number_at(cases[1].as_object(), "hinted"), 0) << r.out;
}

}  // namespace
}  // namespace steadyws::test
