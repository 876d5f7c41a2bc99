// The fault proxy behind `steadyws proxy`: a TCP proxy that injects the network faults our
// tests and `steadyws check` need (this kernel has no netem), switched live over a small
// HTTP/JSON control API on a second port (docs/proxy.md).
//
// Faults, each combinable with the others: delay ± jitter per chunk each way (order kept), a
// bandwidth cap each way, refuse new connections, blackhole (sockets stay open, bytes are
// discarded), block WebSocket upgrades (403 on the first request of a new connection), and a
// one-shot reset (RST) of every current connection.
//
// It is a test tool, not a production proxy: no TLS, no HTTP awareness beyond the first request
// of a connection, one upstream address.
//
// Thread-safety: Proxy's public methods may be called from any thread. Each connection pair
// lives on its own strand; the fault settings are read under a mutex once per chunk, the
// counters are atomics.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace steadyws::tools {

// The active faults. A default-constructed Faults is "pass": forward everything untouched.
struct Faults {
  std::chrono::milliseconds delay{0};   // added to every chunk, each way
  std::chrono::milliseconds jitter{0};  // uniform in [-jitter, +jitter], clamped at 0 total
  std::uint64_t bytes_per_sec = 0;      // cap each way; 0 = unlimited
  bool refuse = false;                  // new connections: accepted, then closed with RST
  bool blackhole = false;               // read and discard both ways; sockets stay open
  bool block_upgrades = false;          // 403 to a first request with `Upgrade: websocket`

  // True when no fault is active.
  bool is_pass() const {
    return delay.count() == 0 && jitter.count() == 0 && bytes_per_sec == 0 && !refuse &&
           !blackhole && !block_upgrades;
  }
};

// Counters since start. Bytes count what was written to the other side (not what was read).
struct ProxyStats {
  std::uint64_t connections_active = 0;
  std::uint64_t connections_total = 0;  // pairs accepted (refused ones not included)
  std::uint64_t bytes_client_to_upstream = 0;
  std::uint64_t bytes_upstream_to_client = 0;
  std::uint64_t bytes_discarded = 0;   // read while blackholed
  std::uint64_t resets = 0;            // connections reset by POST /reset or reset_all()
  std::uint64_t refused = 0;           // connections closed at once in refuse mode
  std::uint64_t upgrades_blocked = 0;  // 403s sent in block_upgrades mode
  std::uint64_t upstream_errors = 0;   // upstream connects that failed
};

struct ProxyConfig {
  std::string host = "127.0.0.1";  // both listening sockets bind here (an IP literal)
  std::uint16_t port = 0;          // 0 = a free port, reported by listen_endpoint()
  std::string upstream_host;       // resolved once at start
  std::uint16_t upstream_port = 0;
  std::uint16_t control_port = 0;  // 0 = a free port
  int threads = 1;                 // one is plenty for thousands of test connections
  Faults initial;                  // faults active from the first connection
  std::uint64_t seed = 0;          // jitter RNG seed; 0 = random
  bool log_connections = false;    // one stderr line per opened/closed pair
  // No per-connection lines at all (close with rst=true, blocked_upgrade, upstream_connect),
  // only the one line per fault (`info proxy mode ...`, `info proxy reset connections=N`);
  // the counters in stats() still count everything. For the soak and check, whose faults
  // reset thousands of connections at once. log_connections wins when both are set.
  bool quiet = false;
};

// Owns the two listeners; connections share its state and outlive it only until their
// pending operations finish.
class Proxy {
 public:
  // Resolves the upstream, binds and listens on both ports, and starts accepting on `ioc`
  // (nothing runs until ioc.run()). Throws boost::system::system_error on resolve or bind
  // failure.
  Proxy(boost::asio::io_context& ioc, const ProxyConfig& config);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  boost::asio::ip::tcp::endpoint listen_endpoint() const;
  boost::asio::ip::tcp::endpoint control_endpoint() const;

  Faults faults() const;
  // Takes effect for every chunk read from now on; chunks already queued keep their times.
  void set_faults(const Faults& faults);
  // Closes every current connection pair with RST on both sides. Returns how many.
  std::size_t reset_all();
  ProxyStats stats() const;
  // Stops accepting and closes every connection (gracefully); ioc.run() then returns once the
  // remaining handlers drain.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// `steadyws proxy`: runs a Proxy until SIGINT or SIGTERM. Prints exactly one line
// `listening on HOST:PORT control HOST:CPORT` on stdout once accepting. Returns the exit code;
// throws on startup failure (main prints it).
int run_proxy(const ProxyConfig& config);

}  // namespace steadyws::tools
