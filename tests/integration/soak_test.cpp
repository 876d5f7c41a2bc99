// `steadyws soak` against a real `steadyws serve --port 0`: the 60-second version of
// `make soak` (issue 6), with fewer clients (200) and the same random proxy faults. It asserts
// the verdict: exit 0, zero lost, zero duplicated, contents as acked, flat memory measured on
// a history that has wrapped. The other cases prove the checker can say no: a one-message
// history (resumes cannot recover), a history that never wraps (the memory rule would measure
// it growing: refused when given, caught by the probe when not).
//
// STEADYWS_SOAK_SECONDS shortens (or lengthens) the run (default 60): the AddressSanitizer
// pass of scripts/test.sh may set it to keep the suite fast.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/run_steadyws.hpp"
#include "support/server_process.hpp"

namespace steadyws::test {
namespace {

namespace json = boost::json;

using SoakResult = ToolRun;

// Runs `steadyws soak ARGS --json --no-progress` and parses its verdict.
SoakResult run_soak(const std::vector<std::string>& args) {
  return run_steadyws("soak", args, "--json --no-progress");
}

std::string soak_seconds() {
  const char* env = std::getenv("STEADYWS_SOAK_SECONDS");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("60");
}

// The server's --history for a run of `seconds` at the soak's default 20 publishes/s over 4
// channels (5/s each) with a warm-up of half the run: it fills up at 80 % of the warm-up
// (120 messages at 24 s for 60 s), so the memory rule measures leaks, not the history
// growing, and it holds 24 s of a channel, above the 20 s the soak plans for its longest
// outage (a 3 s blackhole, 4 s to detect it, a 10 s connect timeout into it, a 3 s backoff).
// Under ASan (no memory rule, so no need to wrap) the 30 s run would get 60, 12 s of a
// channel: at least 120 there, so a chain of faults cannot outlast the history.
std::string soak_history(const std::string& seconds, bool memory_checked) {
  const long wraps = std::stol(seconds) * 2;
  return std::to_string(memory_checked ? wraps : std::max(wraps, 120L));
}

std::int64_t error_count(const json::object& report, const char* key) {
  return report.at("errors").as_object().at(key).to_number<std::int64_t>();
}

// Under AddressSanitizer the server's RSS is not a measure of its own memory (freed blocks sit
// in ASan's quarantine and RSS only grows), so that build checks delivery, not flatness.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMemoryIsMeaningful = false;
#else
constexpr bool kMemoryIsMeaningful = true;
#endif

TEST(Soak, TwoHundredClientsThroughRandomFaultsLoseAndDuplicateNothing) {
  // A history that wraps inside the warm-up and covers the outages (soak_history); a 10 s
  // session grace so that the sessions the faults leave behind reach their steady state
  // inside the warm-up too (the default 120 s is longer than this whole run).
  const std::string seconds = soak_seconds();
  const std::string history = soak_history(seconds, kMemoryIsMeaningful);
  ServerProcess server({"--history", history, "--session-grace", "10000", "--log-level", "warn"});
  std::vector<std::string> args{
      "--url",      "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws",
      "--clients",  "200",
      "--duration", seconds,
      "--faults",   "--fault-interval",
      "3",          "--sample-interval",
      "2",          "--warmup-fraction",
      "0.5",        "--history",
      history,      "--seed",
      "6"};
  if (kMemoryIsMeaningful) {
    args.push_back("--server-pid");
    args.push_back(std::to_string(server.pid()));
  }
  const auto r = run_soak(args);
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out << server.stderr_tail();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.report.at("verdict").as_string(), "pass") << r.out;
  EXPECT_EQ(error_count(r.report, "lost"), 0) << r.out;
  EXPECT_EQ(error_count(r.report, "duplicated"), 0) << r.out;
  EXPECT_EQ(error_count(r.report, "total"), 0) << r.out;
  EXPECT_GT(r.report.at("published").to_number<std::int64_t>(), 0) << r.out;
  // The faults happened and the clients came back through them.
  const auto& faults = r.report.at("faults").as_object();
  EXPECT_GT(faults.at("resets").to_number<std::int64_t>() +
                faults.at("blackholes").to_number<std::int64_t>(),
            0)
      << r.out;
  EXPECT_GT(r.report.at("reconnects").to_number<std::int64_t>(), 0) << r.out;
  if (kMemoryIsMeaningful) {
    const auto& memory = r.report.at("memory").as_object();
    EXPECT_TRUE(memory.at("flat").as_bool()) << r.out;
    // Measured on a history that had stopped growing, or the verdict means nothing.
    EXPECT_EQ(memory.at("history_wrapped"), json::value(true)) << r.out;
  }
  // The longest resume needed less than the history holds (else `unrecovered` > 0 above).
  EXPECT_LE(r.report.at("history").at("max_replay").to_number<std::int64_t>(), std::stol(history))
      << r.out;
  EXPECT_TRUE(server.running()) << server.stderr_tail();
}

TEST(Soak, HistoryThatDoesNotWrapInTheWarmUpIsRefused) {
  // 100,000 messages at 5/s per channel take hours to fill: the memory rule would measure
  // the history growing. Told so, the soak refuses to start (an error, no JSON verdict).
  const auto r = run_soak({"--url", "ws://127.0.0.1:1/ws", "--server-pid", "1", "--history",
                           "100000", "--duration", "60"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(r.report.empty()) << r.out;
}

TEST(Soak, HistoryThatDidNotWrapFailsTheMemoryRule) {
  // Not told the history, the soak probes it at the end of the warm-up (subscribe since:0
  // straight to the server): recovered:true means nothing was evicted, the history was still
  // growing, and memory cannot be called flat whatever the curve says.
  if (!kMemoryIsMeaningful)
    GTEST_SKIP() << "no memory verdict under AddressSanitizer";
  ServerProcess server({"--history", "100000", "--log-level", "warn"});
  const auto r = run_soak({"--url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws",
                           "--clients", "20", "--duration", "6", "--sample-interval", "0.5",
                           "--server-pid", std::to_string(server.pid())});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(error_count(r.report, "total"), 0) << r.out;
  const auto& memory = r.report.at("memory").as_object();
  EXPECT_EQ(memory.at("history_wrapped"), json::value(false)) << r.out;
  EXPECT_FALSE(memory.at("flat").as_bool()) << r.out;
}

TEST(Soak, HistoryTooShortForTheOutagesFails) {
  // One message of history per channel: after a reset, a resubscribe cannot be recovered.
  ServerProcess server({"--history", "1", "--log-level", "warn"});
  const auto r =
      run_soak({"--url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws", "--clients",
                "40", "--duration", "8", "--faults", "--fault-interval", "1", "--seed", "7"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out;
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.report.at("verdict").as_string(), "fail") << r.out;
  EXPECT_GT(error_count(r.report, "unrecovered") + error_count(r.report, "lost"), 0) << r.out;
}

}  // namespace
}  // namespace steadyws::test
