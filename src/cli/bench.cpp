// `steadyws bench ping|fanout|idle|herd`: the load generator (src/tools/load/bench.hpp,
// src/tools/load/bench_herd.hpp, docs/benchmarks.md). Exit 0 only when the run had no errors.
#include "tools/load/bench.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "tools/load/bench_herd.hpp"

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
  sub->add_option("--server-pid", o.server_pid,
                  "Server process to read /proc/PID/stat of: its CPU over the window and the "
                  "work per server CPU-second (idle: also its RSS per connection)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--compression", o.compression,
                "Offer permessage-deflate; client_no_context_takeover; "
                "server_no_context_takeover (RFC 7692) and count compressed messages");
  sub->add_flag("--json", o.json, "One JSON object on stdout instead of the table");
  sub->add_flag("!--no-progress", o.progress, "No progress line on stderr");
  tls_client_flags(sub, o.ca_file, o.insecure);
}

// `bench herd`: its own options (it starts and restarts the server itself).
void add_herd(CLI::App* bench, tools::HerdOptions& o, bool& selected) {
  auto* herd = bench->add_subcommand(
      "herd", "N clients cut at once by a server restart: time until 99 %/100 % are back");
  herd->add_option("--clients", o.clients, "Clients")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  herd->add_option("--server-cmd", o.server_cmd,
                   "Shell command that starts the server and prints `listening on HOST:PORT`; "
                   "{port} becomes 0, then the reported port on restarts")
      ->required();
  herd->add_option("--path", o.path, "WebSocket path")->capture_default_str();
  auto* tls = herd->add_flag(
      "--tls", o.tls, "wss://: the server it starts speaks TLS (its --server-cmd has --tls-cert)");
  herd->add_option("--server-name", o.server_name,
                   "--tls: the name the certificate must be for, also sent as SNI (default: the "
                   "host of `listening on`)")
      ->needs(tls);
  tls_client_flags(herd, o.ca_file, o.insecure);
  herd->get_option("--ca-file")->needs(tls);
  herd->get_option("--insecure")->needs(tls);
  auto modes = std::make_shared<std::vector<std::string>>();
  herd->add_option("--jitter-mode", *modes,
                   "symmetric, full, decorrelated or none (repeatable; default: the first three)")
      ->check(CLI::IsMember({"none", "symmetric", "full", "decorrelated"}));
  auto cut = std::make_shared<std::string>("both");
  herd->add_option("--cut", *cut, "drain (SIGTERM: 1001 + retryAfterMs), kill (SIGKILL) or both")
      ->check(CLI::IsMember({"drain", "kill", "both"}))
      ->capture_default_str();
  ms_flag(herd, "--reconnect-interval", o.backoff.base, "Backoff base delay, ms");
  ms_flag(herd, "--max-backoff-delay", o.backoff.max_delay, "Backoff cap, ms");
  ms_flag(herd, "--jitter", o.backoff.jitter, "Symmetric jitter, ± ms");
  herd->add_flag("!--no-exponential-backoff", o.backoff.exponential, "Constant base delay");
  herd->add_option("--timeout", o.timeout_s, "Per case: clients not back by then are errors, s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  herd->add_option("--connect-concurrency", o.connect_concurrency,
                   "Handshakes at once during the initial ramp")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  herd->add_option("--seed", o.seed, "Client RNG seeds are seed + index")->capture_default_str();
  herd->add_flag("--json", o.json, "One JSON object on stdout instead of the table");
  herd->add_flag("!--no-progress", o.progress, "No progress lines on stderr");
  herd->callback([&o, &selected, modes, cut] {
    selected = true;
    if (!modes->empty()) {
      o.modes.clear();
      for (const auto& m : *modes)
        o.modes.push_back(*jitter_mode_from_string(m));
    }
    if (*cut == "drain")
      o.cuts = {tools::HerdCut::drain};
    else if (*cut == "kill")
      o.cuts = {tools::HerdCut::kill};
  });
}

void register_bench(CLI::App& app, Registry& registry) {
  auto opts = std::make_shared<tools::BenchOptions>();
  auto* bench = app.add_subcommand(
      "bench", "Load generator: ping, fanout, idle and herd workloads (docs/benchmarks.md).");
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
  fanout
      ->add_option("--payload-fill", opts->fill,
                   "What fills `data` after the send time: x (one repeated byte) or records "
                   "(record-like text that compresses about as JSON does) [x]")
      ->transform(CLI::CheckedTransformer(std::map<std::string, tools::PayloadFill>{
          {"x", tools::PayloadFill::x}, {"records", tools::PayloadFill::records}}));
  fanout->add_flag("--pace-by-delivery", opts->pace_by_delivery,
                   "--in-flight counts publishes not yet delivered to every subscriber, not "
                   "unacked ones (large payloads; needs --threads 1 --publishers 1)");
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
  idle->callback([opts] { opts->workload = tools::BenchWorkload::idle; });

  auto herd_opts = std::make_shared<tools::HerdOptions>();
  auto is_herd = std::make_shared<bool>(false);
  add_herd(bench, *herd_opts, *is_herd);

  registry.add(bench, [opts, herd_opts, is_herd] {
    warn_if_insecure(*is_herd ? herd_opts->insecure : opts->insecure);
    return *is_herd ? tools::run_herd(*herd_opts) : tools::run_bench(*opts);
  });
}

const AutoRegister kRegisterBench{"bench", &register_bench};

}  // namespace

}  // namespace steadyws::cli
