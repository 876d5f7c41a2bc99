// `steadyws soak`: the long run that proves exactly-once delivery and flat server memory under
// random network faults (issue 6; docs/soak.md).
//
// It targets a running server (--url, and --server-pid for its memory), puts an in-process
// fault proxy (tools::Proxy) in front of it, and runs N clients through the proxy on one Asio
// loop: P publishers publishing with ids at a steady total rate, and N - P subscribers spread
// over a few channels. Every client follows steadyws::Client's rules (bench_client.hpp:
// seeded backoff, retryAfterMs, heartbeats); subscribers resume with since/epoch after every
// reconnect, publishers resend everything unacked with the same ids. With --faults, a seeded
// RNG injects proxy faults: resets of every connection, short blackholes (ended by a reset,
// because a blackhole discards bytes mid-stream) and delay spells. Over wss:// the proxy
// forwards the TLS bytes unchanged (it works at the TCP level) and every client verifies the
// server's certificate against the URL's host (--ca-file, --insecure), as steadyws::Client does.
//
// At the end (faults off) it waits for every publish to be acked and every subscriber to catch
// up, then checks per subscriber: every seq 1..last of its channel exactly once, in order,
// with the id the publisher was acked for (a hash over the id sequence), and no
// recovered:false. Memory: VmRSS of the server sampled every --sample-interval; after the
// warm-up (the first 25 % of the run) the samples are split in thirds and the run is flat when
// the median of the last third is within --memory-tolerance (10 %) of the first third's.
//
// That rule measures leaks only if the server's per-channel history has stopped growing, i.e.
// has wrapped (filled up) before the warm-up ends; resumes need that same history to cover
// the longest outage the faults cause. So: with --history (the server's value) both are
// checked before the run starts (an error if it cannot wrap, a warning if it may not cover);
// and when memory is checked, a probe subscribes with since:0 straight to the server at the
// end of the warm-up: recovered:true means nothing was evicted yet, and the memory verdict
// fails. The largest replay a resume needed is reported, to compare with the history.
//
// Thread-safety: run_soak() blocks the calling thread and owns the threads it starts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "steadyws/core/backoff.hpp"

namespace steadyws::tools {

struct SoakOptions {
  std::string url = "ws://127.0.0.1:6011/ws";  // ws:// or wss:// (the proxy forwards TLS as is)
  std::string ca_file;                         // wss://: CA bundle (PEM); empty = the system store
  bool insecure = false;                       // wss://: no certificate check
  long server_pid = 0;         // VmRSS sampling; 0 = memory not checked (reported as such)
  std::size_t clients = 1000;  // publishers included
  unsigned publishers = 8;
  unsigned channels = 4;
  // 20/s in total: 12,000 messages in 10 minutes, ~5,000 deliveries/s to 1,000 clients.
  double rate = 20;
  double duration_s = 600;
  bool faults = false;
  double fault_interval_s = 5;  // mean gap between two faults (uniform in [0.5, 1.5] x this)
  std::uint64_t seed = 1;       // faults and clients (client i uses seed + 1 + i)
  double sample_interval_s = 5;
  double warmup_fraction = 0.25;  // memory samples before this share of the run are ignored
  double memory_tolerance = 0.10;
  // 2 s: detects a dead link within 2-4 s, well inside a short blackhole's aftermath.
  std::chrono::milliseconds heartbeat_interval{2000};
  BackoffConfig backoff = [] {  // the client library's defaults, but never giving up
    BackoffConfig c;
    c.max_attempts = 0;
    return c;
  }();
  double settle_timeout_s = 60;  // at the end: acks and deliveries must complete by then
  // The server's --history (messages kept per channel); 0 = not known. Known, it must wrap
  // inside the warm-up when memory is checked (else run_soak throws), and a warning says when
  // it may not cover the outages the faults cause (SoakHistoryPlan).
  std::size_t history = 0;
  bool json = false;
  bool progress = true;
};

// What a history must be for an honest memory rule and for resumes, from the options alone.
struct SoakHistoryPlan {
  double min_channel_rate = 0;  // publishes/s on the slowest channel that has a publisher
  double max_channel_rate = 0;  // publishes/s on the busiest channel
  double warmup_s = 0;          // warmup_fraction x duration
  // The longest outage the faults are planned to cause (0 without --faults): the longest
  // blackhole (3 s), its detection (2 heartbeat intervals), a reconnect attempt stuck in it
  // until the 10 s connect timeout, and attempt 2's worst backoff delay (base x 2 + jitter).
  double planned_outage_s = 0;
  // The largest history that has wrapped on every channel when the warm-up ends.
  std::size_t max_wrapping = 0;
  // The smallest history that holds planned_outage_s of the busiest channel's messages.
  std::size_t min_covering = 0;
};

// REQUIRES: options valid (publishers, channels, rate, duration > 0).
SoakHistoryPlan plan_history(const SoakOptions& options);

// Runs the soak and prints its verdict (table, or one JSON object). Returns 0 on pass (zero
// lost, zero duplicated, contents match, memory flat or not checked), 1 on fail. Throws
// std::invalid_argument on bad options, an unusable URL or, over wss://, a server whose
// certificate is refused (the message names why: "hostname mismatch", an unknown issuer...).
int run_soak(const SoakOptions& options);

}  // namespace steadyws::tools
