// `steadyws bench ping|fanout|idle`: the load generator (src/tools/bench.hpp,
// docs/benchmarks.md). Exit 0 only when the run had no errors.
#include "tools/bench.hpp"

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace steadyws::cli {
namespace {

// Flags every workload shares.
void common_flags(CLI::App* sub, tools::BenchOptions& o) {
  sub->add_option("--url", o.url, "Server WebSocket URL")->capture_default_str();
  sub->add_option("--threads", o.threads, "Event loops (one thread each)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--duration", o.duration_s, "Measured window, s (idle: the hold)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--warmup", o.warmup_s, "Traffic before the window, not counted, s")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--connect-concurrency", o.connect_concurrency,
                  "Handshakes in progress at once, per thread")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_flag("--json", o.json, "One JSON object on stdout instead of the table");
  sub->add_flag("!--no-progress", o.progress, "No progress line on stderr");
}

void register_bench(CLI::App& app, Registry& registry) {
  auto opts = std::make_shared<tools::BenchOptions>();
  auto* bench = app.add_subcommand(
      "bench", "Load generator: ping, fanout and idle workloads (docs/benchmarks.md).");
  bench->require_subcommand(1);

  auto* ping = bench->add_subcommand("ping", "C connections x D app-level pings in flight");
  common_flags(ping, *opts);
  ping->add_option("--connections", opts->connections, "Connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ping->add_option("--in-flight", opts->in_flight, "Pings in flight per connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ping->callback([opts] { opts->workload = tools::BenchWorkload::ping; });

  auto* fanout = bench->add_subcommand(
      "fanout", "S subscribers of one channel, P publishers (W in flight or a fixed rate)");
  common_flags(fanout, *opts);
  fanout->add_option("--subscribers", opts->subscribers, "Subscriber connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fanout->add_option("--publishers", opts->publishers, "Publisher connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  // Its own default (16: the fan-out workload), not ping's 1.
  auto window = std::make_shared<unsigned>(16);
  auto* in_flight =
      fanout->add_option("--in-flight", *window, "Publishes awaiting their ack, per publisher");
  in_flight->check(CLI::PositiveNumber)->capture_default_str();
  fanout->add_option("--rate", opts->rate, "Total publishes/s instead of a window")
      ->check(CLI::PositiveNumber)
      ->excludes(in_flight);
  fanout->add_option("--payload", opts->payload_bytes, "Bytes of `data` per publish (>= 24)")
      ->capture_default_str();
  fanout->callback([opts, window] {
    opts->workload = tools::BenchWorkload::fanout;
    opts->in_flight = *window;
  });

  auto* idle = bench->add_subcommand(
      "idle", "N connections held open answering server pings; RSS and CPU with --server-pid");
  common_flags(idle, *opts);
  idle->add_option("--connections", opts->connections, "Connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  idle->add_option("--server-pid", opts->server_pid, "Server process for RSS and CPU (/proc)");
  idle->callback([opts] { opts->workload = tools::BenchWorkload::idle; });

  registry.add(bench, [opts] { return tools::run_bench(*opts); });
}

const AutoRegister kRegisterBench{"bench", &register_bench};

}  // namespace

}  // namespace steadyws::cli
