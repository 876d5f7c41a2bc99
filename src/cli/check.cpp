// `steadyws check URL`: the reliability suite against a running server (src/tools/check/check.hpp,
// docs/check.md). Exit 0 only when every scenario that ran met its criterion.
#include "tools/check/check.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace steadyws::cli {
namespace {

void register_check(CLI::App& app, Registry& registry) {
  auto o = std::make_shared<tools::CheckOptions>();
  auto* sub = app.add_subcommand(
      "check",
      "Run the reliability suite against a running server; exit 0 only when every "
      "criterion holds (docs/check.md).");
  sub->add_option("url", o->url, "The server's WebSocket URL, ws://HOST:PORT/ws or wss://")
      ->required();
  sub->add_option("--token", o->token, "The server's --auth-token")->envname("STEADYWS_AUTH_TOKEN");
  sub->add_flag("!--no-proxy", o->use_proxy,
                "Do not start the fault proxy: forced disconnects use POST "
                "/api/admin/disconnect; half-open and fallback are skipped");
  sub->add_option_function<double>(
         "--duration",
         [o](const double& s) {
           o->duration = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
         },
         "connection-stability: seconds one connection is watched")
      ->check(CLI::PositiveNumber)
      ->default_str("10");
  ms_flag(sub, "--heartbeat-interval", o->heartbeat_interval,
          "Client ping interval for stability and half-open, ms")
      ->check(milliseconds(false));
  ms_flag(sub, "--heartbeat-timeout", o->heartbeat_timeout,
          "Client pong timeout for stability and half-open, ms")
      ->check(milliseconds(false));
  ms_flag(sub, "--reconnect-interval", o->reconnect_interval,
          "reconnection-resilience: the client's first backoff delay, ms")
      ->check(milliseconds(false));
  sub->add_option("--disconnects", o->disconnects, "reconnection-resilience: forced disconnects")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--messages", o->messages, "high-frequency-messaging: messages in total")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--publishers", o->publishers, "high-frequency-messaging: publisher clients")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--latency-samples", o->latency_samples, "latency: publish -> delivery trips")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--continuity-messages", o->continuity_messages,
                  "message-continuity: messages published")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--continuity-disconnects", o->continuity_disconnects,
                  "message-continuity: forced disconnects meanwhile")
      ->capture_default_str();
  sub->add_option("--memory-connections", o->memory_connections,
                  "memory-per-connection: idle connections opened")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--server-pid", o->server_pid,
                  "memory-per-connection: the server's pid (default: found by port)");
  sub->add_option("--scenario", o->only, "Run only this scenario (repeatable)")
      ->check(CLI::IsMember(tools::check_scenario_names()));
  sub->add_flag("--json", o->json, "One JSON object on stdout instead of the table");
  sub->add_flag("!--quiet", o->progress, "No progress lines on stderr");
  tls_client_flags(sub, o->ca_file, o->insecure);
  registry.add(sub, [o] {
    warn_if_insecure(o->insecure);
    return tools::run_check(*o);
  });
}

const AutoRegister kRegisterCheck{"check", &register_check};

}  // namespace

}  // namespace steadyws::cli
