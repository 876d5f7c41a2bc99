// `steadyws proxy`: the fault-injecting TCP proxy (docs/proxy.md). Flags set the faults active
// from the start; the control API switches them live.
#include "tools/proxy/proxy.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace steadyws::cli {
namespace {

// "HOST:PORT" (the last colon splits, so "[::1]:80" and "::1:80" both work) -> host, port.
void parse_upstream(const std::string& text, tools::ProxyConfig& cfg) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("--upstream must be HOST:PORT, got \"" + text + "\"");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const auto port = std::stoul(text.substr(colon + 1));
  if (port == 0 || port > 65535)
    throw std::invalid_argument("--upstream port must be 1..65535, got \"" + text + "\"");
  cfg.upstream_host = host;
  cfg.upstream_port = static_cast<std::uint16_t>(port);
}

void register_proxy(CLI::App& app, Registry& registry) {
  auto cfg = std::make_shared<tools::ProxyConfig>();
  auto upstream = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "proxy", "Fault-injecting TCP proxy for tests, with an HTTP control API (docs/proxy.md).");
  sub->add_option("--listen", cfg->port, "Port to accept clients on; 0 picks a free one")
      ->required();
  sub->add_option("--upstream", *upstream, "Where to forward: HOST:PORT")->required();
  sub->add_option("--control-port", cfg->control_port, "Control API port; 0 picks a free one")
      ->capture_default_str();
  sub->add_option("--host", cfg->host, "Address both ports bind to")->capture_default_str();
  sub->add_option("--threads", cfg->threads, "I/O threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option_function<std::int64_t>(
         "--delay-ms",
         [cfg](const std::int64_t& v) { cfg->initial.delay = std::chrono::milliseconds(v); },
         "Initial delay each way, ms")
      ->check(CLI::NonNegativeNumber);
  sub->add_option_function<std::int64_t>(
         "--jitter-ms",
         [cfg](const std::int64_t& v) { cfg->initial.jitter = std::chrono::milliseconds(v); },
         "Initial jitter (uniform +-), ms")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--bytes-per-sec", cfg->initial.bytes_per_sec,
                  "Initial bandwidth cap each way; 0 = none");
  sub->add_flag("--refuse", cfg->initial.refuse, "Start refusing new connections");
  sub->add_flag("--blackhole", cfg->initial.blackhole, "Start blackholed");
  sub->add_flag("--block-upgrades", cfg->initial.block_upgrades,
                "Start blocking WebSocket upgrades (403)");
  sub->add_option("--seed", cfg->seed, "Jitter RNG seed; 0 = random")->capture_default_str();
  auto* log_connections = sub->add_flag("--log-connections", cfg->log_connections,
                                        "Log one line per connection opened and closed");
  sub->add_flag("--quiet", cfg->quiet,
                "No per-connection lines (resets, blocked upgrades); one line per fault")
      ->excludes(log_connections);
  registry.add(sub, [cfg, upstream] {
    parse_upstream(*upstream, *cfg);
    return tools::run_proxy(*cfg);
  });
}

const AutoRegister kRegisterProxy{"proxy", &register_proxy};

}  // namespace

}  // namespace steadyws::cli
