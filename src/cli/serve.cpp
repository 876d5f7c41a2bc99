// `steadyws serve`: flags of CONTRACT §1; every flag also reads STEADYWS_<NAME>.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "hub/redis/redis_hub.hpp"
#include "server/config.hpp"

namespace steadyws::cli {
namespace {

// A serve flag in milliseconds that also reads STEADYWS_<NAME> (CONTRACT §1).
void ms_flag(CLI::App* sub, const std::string& name, std::chrono::milliseconds& target,
             const std::string& help, const std::string& env) {
  cli::ms_flag(sub, name, target, help)->envname(env);
}

void register_serve(CLI::App& app, Registry& registry) {
  auto cfg = std::make_shared<server::ServerConfig>();
  auto* sub = app.add_subcommand("serve", "Run the HTTP + WebSocket server (CONTRACT §1).");
  sub->add_option("--host", cfg->host, "Address to bind")
      ->envname("STEADYWS_HOST")
      ->capture_default_str();
  sub->add_option("--port", cfg->port, "Port; 0 picks a free one")
      ->envname("STEADYWS_PORT")
      ->capture_default_str();
  sub->add_option("--threads", cfg->threads, "I/O threads; 0 = one per core")
      ->envname("STEADYWS_THREADS")
      ->capture_default_str();
  ms_flag(sub, "--heartbeat-interval", cfg->heartbeat_interval, "Ping interval, ms",
          "STEADYWS_HEARTBEAT_INTERVAL");
  ms_flag(sub, "--heartbeat-timeout", cfg->heartbeat_timeout, "Pong timeout, ms",
          "STEADYWS_HEARTBEAT_TIMEOUT");
  sub->add_option("--max-missed-heartbeats", cfg->max_missed_heartbeats,
                  "Missed heartbeats in a row before close 4000")
      ->envname("STEADYWS_MAX_MISSED_HEARTBEATS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ms_flag(sub, "--cleanup-interval", cfg->cleanup_interval, "Dead-connection sweep, ms",
          "STEADYWS_CLEANUP_INTERVAL");
  sub->add_option("--max-message-bytes", cfg->max_message_bytes, "Largest message (1009 above)")
      ->envname("STEADYWS_MAX_MESSAGE_BYTES")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--history", cfg->history, "Messages kept per channel for resume")
      ->envname("STEADYWS_HISTORY")
      ->capture_default_str();
  ms_flag(sub, "--channel-ttl", cfg->channel_ttl,
          "Remove a channel nobody subscribed to, published to or polled for this long (with "
          "its history), ms; 0 = never",
          "STEADYWS_CHANNEL_TTL");
  sub->add_option("--max-connections", cfg->max_connections, "503 on upgrade above this")
      ->envname("STEADYWS_MAX_CONNECTIONS")
      ->capture_default_str();
  sub->add_option("--rate-limit", cfg->rate_limit, "Messages/s per connection; 0 = off")
      ->envname("STEADYWS_RATE_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--rate-burst", cfg->rate_burst, "Burst size of the rate limit")
      ->envname("STEADYWS_RATE_BURST")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--send-queue-bytes", cfg->send_queue_bytes,
                  "Per-connection send queue before a slow consumer is closed with 4001")
      ->envname("STEADYWS_SEND_QUEUE_BYTES")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--auth-token", cfg->auth_token, "Token required on /ws and /api (401)")
      ->envname("STEADYWS_AUTH_TOKEN");
  auto* jwt_secret =
      sub->add_option("--jwt-secret", cfg->jwt_secret,
                      "The client token is a JWT signed HS256 with this secret (CONTRACT §8)")
          ->envname("STEADYWS_JWT_SECRET");
  sub->add_option("--jwt-public-key", cfg->jwt_public_key_file,
                  "The client token is a JWT signed RS256 or ES256; PEM public key file")
      ->envname("STEADYWS_JWT_PUBLIC_KEY")
      ->check(CLI::ExistingFile)
      ->excludes(jwt_secret);
  ms_flag(sub, "--jwt-leeway", cfg->jwt_leeway,
          "Clock skew allowed on a JWT's exp, nbf and iat, ms", "STEADYWS_JWT_LEEWAY");
  sub->add_option("--allowed-origin", cfg->allowed_origins,
                  "Origin allowed to upgrade, POST and get CORS headers (repeatable; default any, "
                  "no CORS)")
      ->envname("STEADYWS_ALLOWED_ORIGIN");
  const std::map<std::string, server::LogLevel> levels{{"debug", server::LogLevel::debug},
                                                       {"info", server::LogLevel::info},
                                                       {"warn", server::LogLevel::warn},
                                                       {"error", server::LogLevel::error}};
  sub->add_option("--log-level", cfg->log_level, "debug, info, warn or error")
      ->envname("STEADYWS_LOG_LEVEL")
      ->transform(CLI::CheckedTransformer(levels, CLI::ignore_case))
      ->default_str("info");
  ms_flag(sub, "--drain-spread", cfg->drain_spread,
          "On shutdown, spread the clients' retryAfterMs hints over this many ms",
          "STEADYWS_DRAIN_SPREAD");
  ms_flag(sub, "--handshake-timeout", cfg->handshake_timeout,
          "Close a WebSocket whose upgrade does not complete in this many ms",
          "STEADYWS_HANDSHAKE_TIMEOUT");
  ms_flag(sub, "--http-idle-timeout", cfg->http_idle_timeout,
          "Close an HTTP connection idle (or mid-request) this many ms",
          "STEADYWS_HTTP_IDLE_TIMEOUT");
  ms_flag(sub, "--session-grace", cfg->session_grace,
          "Keep a session with no connection this long, ms", "STEADYWS_SESSION_GRACE");
  // CONTRACT §8 (docs/security.md).
  sub->add_option("--admin-token", cfg->admin_token,
                  "Token for /api/admin/*, /api/sessions, /metrics and the per-connection lists "
                  "(401 without it); default none")
      ->envname("STEADYWS_ADMIN_TOKEN");
  sub->add_option("--max-channels", cfg->max_channels,
                  "Channels in the hub; one more is refused with `limit` (429); 0 = no limit")
      ->envname("STEADYWS_MAX_CHANNELS")
      ->capture_default_str();
  sub->add_option("--max-subscriptions", cfg->max_subscriptions,
                  "Channels per connection or poll; one more is refused with `limit`; 0 = no "
                  "limit")
      ->envname("STEADYWS_MAX_SUBSCRIPTIONS")
      ->capture_default_str();
  sub->add_option("--http-rate-limit", cfg->http_rate_limit,
                  "HTTP requests/s per client IP on /api/* and /metrics (429 above); 0 = off")
      ->envname("STEADYWS_HTTP_RATE_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--http-rate-burst", cfg->http_rate_burst,
                  "Burst size of the per-IP HTTP rate limit")
      ->envname("STEADYWS_HTTP_RATE_BURST")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--http-rate-limit-loopback", cfg->http_rate_limit_loopback,
                  "Rate-limit loopback clients too (tests; default false)")
      ->envname("STEADYWS_HTTP_RATE_LIMIT_LOOPBACK")
      ->group("");  // hidden: loopback is usually a local reverse proxy
  sub->add_option("--bandwidth-probes", cfg->bandwidth_probes,
                  "Probe each busy connection's bandwidth (a ping a second while data flows)")
      ->envname("STEADYWS_BANDWIDTH_PROBES")
      ->capture_default_str();
  sub->add_option("--write-coalescing", cfg->write_coalescing,
                  "Gather queued frames into one write (diagnostic; default true)")
      ->envname("STEADYWS_WRITE_COALESCING")
      ->group("");  // hidden: only for measuring docs/decisions/0001-write-coalescing.md
  sub->add_option("--redis", cfg->redis,
                  "redis://[:PASSWORD@]HOST:PORT[/DB]: run as one node of a cluster on that Redis")
      ->envname("STEADYWS_REDIS")
      ->check(
          [](const std::string& v) -> std::string {
            auto r = hub::redis::parse_redis_url(v);
            return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
          },
          "URL");
  sub->add_option("--node-id", cfg->node_id,
                  "This node's id in the cluster (1-32 of A-Z a-z 0-9 _ . -); default random")
      ->envname("STEADYWS_NODE_ID")
      ->check(
          [](const std::string& v) -> std::string {
            return hub::redis::is_valid_node_id(v)
                       ? ""
                       : "--node-id " + v + ": use 1 to 32 characters of A-Z a-z 0-9 _ . -";
          },
          "ID");
  sub->add_option("--advertise-url", cfg->advertise_url,
                  "The URL clients of this node use, listed on /api/cluster (e.g. "
                  "wss://node1.example:443/ws); default the bound ws(s)://HOST:PORT/ws")
      ->envname("STEADYWS_ADVERTISE_URL")
      ->needs("--redis")
      ->check([](const std::string& v) { return hub::redis::check_advertise_url(v); }, "URL");
  auto* cert = sub->add_option("--tls-cert", cfg->tls_cert,
                               "PEM certificate chain: the port speaks HTTPS and WSS only "
                               "(SIGHUP reloads it)")
                   ->envname("STEADYWS_TLS_CERT");
  auto* key = sub->add_option("--tls-key", cfg->tls_key, "PEM private key of --tls-cert")
                  ->envname("STEADYWS_TLS_KEY");
  cert->needs(key);
  key->needs(cert);
  sub->add_option("--tls-release-buffers", cfg->tls_release_buffers,
                  "Free idle TLS connections' OpenSSL buffers (diagnostic; default true)")
      ->envname("STEADYWS_TLS_RELEASE_BUFFERS")
      ->group("");  // hidden: only for measuring docs/operations.md's TLS memory figures
  sub->add_flag("--compression", cfg->compression,
                "Offer permessage-deflate (RFC 7692) to clients that ask for it")
      ->envname("STEADYWS_COMPRESSION");
  sub->add_option("--compression-min-bytes", cfg->compression_min_bytes,
                  "Messages smaller than this go out uncompressed")
      ->envname("STEADYWS_COMPRESSION_MIN_BYTES")
      ->capture_default_str();
  sub->add_flag("--compression-context-takeover", cfg->compression_context_takeover,
                "Keep a zlib stream per connection where the client allows it")
      ->group("");  // hidden: costs ~300 KiB per connection; docs/operations.md
  registry.add(sub, [cfg] { return server::run(*cfg); });
}

const AutoRegister kRegisterServe{"serve", &register_serve};

}  // namespace

}  // namespace steadyws::cli
