// `steadyws check URL`: the reliability suite of ORIGIN.md ("Reliability Testing") run against a
// live server, with every success criterion and performance target turned into a measured
// number and a verdict (docs/check.md).
//
// Scenarios, in the order they run: basic-connectivity, latency, high-frequency-messaging
// (and its throughput row), connection-stability, reconnection-resilience,
// message-continuity, half-open-detection, fallback-activation, memory-per-connection. The
// fault scenarios go through a tools::Proxy that run_check() starts in-process in front of
// the server; without it (--no-proxy) forced disconnects use POST /api/admin/disconnect and
// the scenarios that need a network fault (half-open, fallback) are skipped, said so.
//
// Over wss:// the proxy forwards the TLS bytes unchanged (it works at the TCP level): resets
// and blackholes mean the same, the probes behind it verify the server's certificate for the
// URL's host (so it must resolve to this machine, else --no-proxy), and fallback-activation is
// skipped (block_upgrades cannot see an upgrade request inside TLS).
//
// What it is not: a load test (that is `steadyws bench`), nor a conformance suite. Every
// client here is a steadyws::Client, so a verdict covers the server and our client library
// together, the way an application would see them.
//
// Thread-safety: run_check() is a blocking call for the main thread; the clients and the
// proxy run on threads it starts and joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace steadyws::tools {

struct CheckOptions {
  std::string url = "ws://127.0.0.1:6011/ws";  // the server's WebSocket URL, ws:// or wss://
  std::string token;                           // --auth-token of the server; empty = none
  // wss://: every connection of the run (probes, idle connections, the tool's own HTTPS calls)
  // verifies the chain against this PEM bundle (empty: the system store) and the host name,
  // unless `insecure`.
  std::string ca_file;
  bool insecure = false;
  bool use_proxy = true;  // start a fault proxy in front of the server
  // connection-stability: how long one connection is watched. 10 s: at the short heartbeats
  // below that is 20 round trips, and the whole default run stays under ~40 s.
  std::chrono::milliseconds duration{10000};
  // Short heartbeats for the scenarios that watch liveness (stability, half-open). 500 ms +
  // 500 ms: a dead link is found within 1 s, yet far above any loopback RTT.
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds heartbeat_timeout{500};
  // reconnection-resilience: forced disconnects, each measured from the cut to `connected`.
  unsigned disconnects = 5;
  // The client's first reconnect delay in reconnection-resilience. 1000 ms: the library's
  // (and ORIGIN's) default, so the verdict is about what an application gets out of the box.
  std::chrono::milliseconds reconnect_interval{1000};
  // high-frequency-messaging: messages published in total, spread over `publishers`
  // connections. 4 x 1000: each publisher stays inside a default server's 2000-message rate
  // burst, so the number measures throughput, not the rate limiter.
  unsigned messages = 4000;
  unsigned publishers = 4;
  unsigned latency_samples = 200;       // latency: sequential publish -> delivery trips
  unsigned continuity_messages = 300;   // message-continuity: messages published ...
  unsigned continuity_disconnects = 3;  // ... while the subscriber is cut this often
  unsigned memory_connections = 200;    // memory-per-connection: idle connections opened
  long server_pid = 0;                  // memory: the server's pid; 0 = find it by port
  std::vector<std::string> only;        // run only these scenarios; empty = all
  bool json = false;                    // one JSON object on stdout instead of the table
  bool progress = true;                 // one line per scenario on stderr while running
};

// One row of the verdict.
struct ScenarioResult {
  enum class Status { pass, fail, skip };

  std::string name;       // e.g. "reconnection-resilience"
  bool measured = false;  // false: `value` is meaningless (not measured, or skipped)
  double value = 0;
  std::string unit;       // "ms", "%", "msg/s", "KiB", "errors"
  std::string criterion;  // the pass condition, e.g. "< 5000 ms"
  std::string target;     // ORIGIN's performance target, or empty when it sets none
  bool target_met = false;
  Status status = Status::fail;
  std::string detail;  // one line: the other numbers and, on failure, what went wrong
};

struct CheckReport {
  std::string url;
  bool proxy = false;
  double elapsed_s = 0;
  std::vector<ScenarioResult> scenarios;

  // True when no scenario failed (skipped ones do not fail the run; they are listed).
  bool pass() const;
};

// "pass", "fail", "skip".
const char* to_string(ScenarioResult::Status s);

// The human table (one row per scenario, then a verdict line).
std::string format_table(const CheckReport& report);
// {"scenarios":[{name,measured,unit,criterion,target,pass,detail,status,targetMet}],
//  "pass":B,"skipped":[names],"url":U,"proxy":B,"elapsedS":S}; measured is null when not
// measured. One line, no trailing newline.
std::string format_json(const CheckReport& report);

// The names of every scenario, in run order (what `only` may hold).
const std::vector<std::string>& check_scenario_names();

// Runs the suite and prints its report (table, or JSON with `json`) on stdout. Returns 0 when
// every scenario that ran passed, 1 otherwise. Throws std::invalid_argument on a URL that does
// not parse, an unknown scenario name, an unreadable --ca-file, or wss:// through the proxy to
// a host that is not on this machine.
int run_check(const CheckOptions& options);

}  // namespace steadyws::tools
