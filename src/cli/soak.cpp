// `steadyws soak`: exactly-once delivery and flat server memory through random proxy faults
// (src/tools/load/soak.hpp, docs/soak.md). Exit 0 only on a pass.
#include "tools/load/soak.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace steadyws::cli {
namespace {

void register_soak(CLI::App& app, Registry& registry) {
  auto o = std::make_shared<tools::SoakOptions>();
  auto* sub = app.add_subcommand(
      "soak", "N clients through a fault proxy: zero lost, zero duplicated, flat server memory");
  sub->add_option("--url", o->url,
                  "Server WebSocket URL, ws:// or wss:// (the proxy goes in front of it)")
      ->capture_default_str();
  sub->add_option("--server-pid", o->server_pid, "Server process whose VmRSS is sampled");
  sub->add_option("--clients", o->clients, "Clients, publishers included")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--publishers", o->publishers, "Publishing clients")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--channels", o->channels, "Channels (subscribers spread over them)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--rate", o->rate, "Publishes/s in total")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--duration", o->duration_s, "Run, s (after the ramp, before the settle)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_flag("--faults", o->faults, "Inject random proxy faults (resets, blackholes, delays)");
  sub->add_option("--fault-interval", o->fault_interval_s, "Mean gap between faults, s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the fault schedule and the clients' RNGs")
      ->capture_default_str();
  sub->add_option("--sample-interval", o->sample_interval_s, "Server RSS sampling period, s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--warmup-fraction", o->warmup_fraction,
                  "Share of the run whose RSS samples are ignored")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  sub->add_option("--memory-tolerance", o->memory_tolerance,
                  "Allowed growth of the last third's median RSS over the first third's")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  ms_flag(sub, "--heartbeat-interval", o->heartbeat_interval, "Client app-level pings, ms");
  ms_flag(sub, "--reconnect-interval", o->backoff.base, "Backoff base delay, ms");
  ms_flag(sub, "--max-backoff-delay", o->backoff.max_delay, "Backoff cap, ms");
  ms_flag(sub, "--jitter", o->backoff.jitter, "Symmetric jitter, ± ms");
  sub->add_option("--settle-timeout", o->settle_timeout_s,
                  "After the run: acks and deliveries must complete within, s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--history", o->history,
                  "The server's --history, to check it wraps inside the warm-up and covers the "
                  "outages; 0 = unknown (a warning)")
      ->capture_default_str();
  sub->add_flag("--json", o->json, "One JSON object on stdout instead of the table");
  sub->add_flag("!--no-progress", o->progress, "No progress lines on stderr");
  tls_client_flags(sub, o->ca_file, o->insecure);
  registry.add(sub, [o] {
    warn_if_insecure(o->insecure);
    return tools::run_soak(*o);
  });
}

const AutoRegister kRegisterSoak{"soak", &register_soak};

}  // namespace

}  // namespace steadyws::cli
