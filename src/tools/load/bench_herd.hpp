// `steadyws bench herd`: the thundering herd. N clients are connected to a server that the
// bench starts itself (--server-cmd); then the server is cut at once and restarted on the
// same port, and the bench measures how the clients come back: time from the cut until 99 %
// and 100 % are welcomed again, and the peak accept rate (welcomes per second, in 100 ms
// buckets). One case per (jitter mode, cut): the cut is either SIGTERM, the server's drain
// (every client gets 1001 with a retryAfterMs spread over --drain-spread, CONTRACT §1), or
// SIGKILL (no hint: the clients see the TCP connection die). The server is restarted as soon
// as the old one has exited.
//
// The clients follow steadyws::Client's reconnect rules (bench_client.hpp): the core's
// backoff_delay with per-client seeded RNGs, retryAfterMs honoured, welcome = connected. They
// all live on one Asio loop (--threads is not used: a herd is about the server, and one loop
// handles tens of thousands of reconnects per second).
//
// With --tls the clients speak wss:// to the server it starts (whose --server-cmd carries
// --tls-cert/--tls-key): each attempt runs the TLS handshake, the certificate verified for
// --server-name (default: the host of `listening on`) against --ca-file or the system store,
// unless --insecure. One trial handshake right after the first start names why a certificate
// is refused before any client is started.
//
// Thread-safety: run_herd() blocks the calling thread and owns the threads it starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "steadyws/core/backoff.hpp"

namespace steadyws::tools {

enum class HerdCut { drain, kill };  // SIGTERM (1001 + retryAfterMs) or SIGKILL

struct HerdOptions {
  std::size_t clients = 1000;
  // Shell command line that starts the server and prints `listening on HOST:PORT`; every
  // `{port}` becomes 0 on the first start and the reported port on restarts.
  std::string server_cmd;
  std::string path = "/ws";
  bool tls = false;         // wss:// to the server it starts
  std::string server_name;  // TLS: the name the certificate must be for; empty = the host
  std::string ca_file;      // TLS: CA bundle (PEM); empty = the system store
  bool insecure = false;    // TLS: no certificate check
  std::vector<JitterMode> modes{JitterMode::symmetric, JitterMode::full, JitterMode::decorrelated};
  std::vector<HerdCut> cuts{HerdCut::drain, HerdCut::kill};
  BackoffConfig backoff = [] {  // the client library's defaults, but never giving up
    BackoffConfig c;
    c.max_attempts = 0;
    return c;
  }();
  double timeout_s = 60;               // per case: clients not back by then are errors
  unsigned connect_concurrency = 256;  // initial ramp only: handshakes at once
  std::uint64_t seed = 1;              // per-client RNG seeds are seed + index
  bool json = false;
  bool progress = true;
};

// Runs every (mode, cut) case and prints the table (or one JSON object). Returns 0 when
// every client came back in every case and nothing else went wrong, else 1. Throws
// std::invalid_argument on bad options or a refused certificate (--tls; the message names
// why) and std::runtime_error when the server cannot start.
int run_herd(const HerdOptions& options);

}  // namespace steadyws::tools
