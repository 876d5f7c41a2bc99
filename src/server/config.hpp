// Everything `steadyws serve` can be told (CONTRACT §1), with the documented defaults.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace steadyws::server {

enum class LogLevel { debug, info, warn, error };

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6011;                            // 0 picks a free port
  unsigned threads = 0;                                 // 0 = one per core
  std::chrono::milliseconds heartbeat_interval{30000};  // under common 60 s proxy idle cuts
  std::chrono::milliseconds heartbeat_timeout{10000};
  unsigned max_missed_heartbeats = 3;
  std::chrono::milliseconds cleanup_interval{60000};
  std::size_t max_message_bytes = 1 << 20;
  std::size_t history = 1000;  // messages kept per channel
  // A channel with no subscriber that nobody subscribed to, published to or polled for this
  // long is removed with its history and epoch (after between 1x and 2x this); 0 = never.
  std::chrono::milliseconds channel_ttl{3600000};
  std::size_t max_connections = 100000;
  double rate_limit = 1000;  // messages/s per connection; 0 = off
  double rate_burst = 2000;
  std::size_t send_queue_bytes = 1 << 20;  // per connection, before 4001
  std::string auth_token;                  // empty = no auth
  // CONTRACT §8: the client token is a JWT. At most one of the two; neither = no JWT.
  std::string jwt_secret;           // HS256
  std::string jwt_public_key_file;  // PEM: RSA (RS256) or EC P-256 (ES256)
  // exp, nbf and iat are honoured this much either way (clock skew); docs/security.md.
  std::chrono::milliseconds jwt_leeway{30000};
  std::vector<std::string> allowed_origins;  // empty = any
  LogLevel log_level = LogLevel::info;
  std::chrono::milliseconds drain_spread{5000};
  std::chrono::milliseconds session_grace{120000};  // a session with no connection is kept
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds http_idle_timeout{30000};
  // CONTRACT §8 and docs/security.md.
  std::string admin_token;               // --admin-token; empty = no separate admin credential
  std::size_t max_channels = 100000;     // channels in the hub; 0 = no limit
  std::size_t max_subscriptions = 1000;  // per connection or poll; 0 = no limit
  double http_rate_limit = 100;  // HTTP requests/s per client IP on /api/*, /metrics; 0 = off
  double http_rate_burst = 200;
  bool http_rate_limit_loopback = false;  // hidden flag: limit 127.0.0.1 too (tests)
  // Gather every queued frame of a connection into one write (docs/decisions/0001). Off only
  // to measure what it buys (hidden flag --write-coalescing=false).
  bool write_coalescing = true;
  // Bandwidth probes (CONTRACT §10, issue 15): a ping a second to a connection data flows to,
  // for its bandwidth estimate and `throttled`. Off: no probe, the estimate stays 0, and
  // subscribers send nothing back (docs/benchmarks.md: their answers cost fan-out).
  bool bandwidth_probes = true;
  // CONTRACT §5: redis://[:PASSWORD@]HOST:PORT[/DB] makes this server a node of a cluster;
  // empty: the in-memory hub, one node.
  std::string redis;
  std::string node_id;  // --node-id; empty: random (cluster only)
  // --advertise-url: the URL clients of this node use, on /api/cluster; empty: the address
  // the listener bound, ws:// or wss://HOST:PORT/ws (cluster only).
  std::string advertise_url;
  // CONTRACT §6: PEM files; both set = the port speaks HTTPS and WSS only; both empty = plain.
  std::string tls_cert;
  std::string tls_key;
  // OpenSSL frees an idle connection's record buffers (SSL_MODE_RELEASE_BUFFERS). Off only
  // to measure what it saves (hidden flag --tls-release-buffers=false).
  bool tls_release_buffers = true;
  // permessage-deflate (CONTRACT §7): off by default; messages of at least
  // compression_min_bytes go out compressed (256: below that deflate's few bytes of framing
  // and the CPU buy little). compression_context_takeover (hidden flag): allow context
  // takeover where the client does (per-connection zlib state; see docs/operations.md).
  bool compression = false;
  std::size_t compression_min_bytes = 256;
  bool compression_context_takeover = false;
};

// How long Redis keeps a session that has a connection (CONTRACT §5): its grace plus a
// minute. The node renews it every 30 s (server.cpp) and leaves the grace alone when the
// connection goes.
inline std::chrono::milliseconds stored_session_ttl(const ServerConfig& c) {
  return c.session_grace + std::chrono::minutes(1);
}

// Runs the server until SIGINT/SIGTERM and a graceful drain. Prints `listening on HOST:PORT`
// on stdout once it accepts connections. Returns the process exit code. Throws on startup
// failures (bind, bad config) with a message that says what to do.
int run(const ServerConfig& config);

}  // namespace steadyws::server
