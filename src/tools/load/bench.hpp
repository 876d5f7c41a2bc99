// `steadyws bench`: a WebSocket load generator for CONTRACT §2 servers (ours and the npm `ws`
// peer in bench/peers/), built to be faster than what it measures: one single-threaded Asio
// loop (epoll) per --threads, hand-built masked client frames, hand-parsed server frames,
// pipelining, writes coalesced per connection and no allocation per message once warm.
//
// Workloads (docs/benchmarks.md explains what each one measures and why):
//   ping   C connections, D app-level pings in flight each; round trips/s and latency.
//   fanout S subscribers of one channel, P publishers with W publishes in flight (or a fixed
//          total rate R/s) of P-byte payloads; deliveries/s and publish-to-delivery latency;
//          bytes read off the sockets per delivery.
//   idle   N connections held open answering protocol pings; handshakes/s during the ramp,
//          server RSS per connection (with --server-pid).
//
// With --server-pid, every workload also reads the server's utime + stime (/proc/PID/stat, all
// its threads) at the start and end of the measured window and reports the server's CPU
// seconds, its % of one core and, for ping and fanout, the work per server CPU-second. On a
// shared machine that figure is steadier than the wall-clock rate: CPU taken by other
// processes slows the wall clock, not the server's cost per message.
//
// Every run checks what it measures: pongs echo their timestamps in order, every subscriber
// sees seq without gaps or duplicates, nothing is left unanswered at the end. Errors are
// counted and reported, never hidden; run_bench() returns non-zero when any occurred.
//
// --compression offers permessage-deflate with no context takeover both ways (the offer is
// bench::kDeflateOffer); connections the server accepts it on get RSV1 frames. Inflating is
// the generator's costliest step (~4 us a 2 KB message, three times its whole cost per
// uncompressed delivery), so a subscriber inspects one compressed message in kInspectEvery,
// and only its first kInflateHeadBytes (type, channel, seq, the send time at the start of
// `data`: all the checks need); it takes the others, uninflated, as the next seq. A gap or a
// duplicate among those shows at the next inspected message (its seq is off by it), and
// latency is sampled on the inspected ones; only the last few messages of a run, after the
// last inspected one, go unchecked. Every compressed message before the subscription and on
// other connections is inspected. The report counts compressed messages and the bytes read
// off the sockets in the window. The bench's own frames go out uncompressed. The integration
// and browser tests check whole compressed messages.
//
// It is not a protocol conformance checker (it skips Sec-WebSocket-Accept verification and
// reads only the fields it needs). The herd workload lives in bench_herd.hpp.
//
// Thread-safety: run_bench() is a blocking call for the main thread; it starts and joins its
// own worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace steadyws::tools {

enum class BenchWorkload { ping, fanout, idle };

// What fills a fanout publish's `data` after its send time: `x` repeated (compresses ~50:1),
// or `records`: pseudo-random lines like {id:48213,sym:KQX,px:131.07,qty:700,side:sell},
// drawn from a fixed-seed pool, which compress about as JSON records do (~3:1).
enum class PayloadFill { x, records };

// Inflated bytes of a compressed message the bench looks at, and how many of a subscriber's
// compressed messages it looks at (one in kInspectEvery): see the header comment.
inline constexpr std::size_t kInflateHeadBytes = 512;
inline constexpr std::uint64_t kInspectEvery = 16;

struct BenchOptions {
  BenchWorkload workload = BenchWorkload::ping;
  std::string url = "ws://127.0.0.1:6011/ws";
  unsigned threads = 1;               // event loops; 1 leaves the other core to the server
  std::size_t connections = 100;      // ping and idle
  unsigned in_flight = 1;             // ping: pings per connection; fanout: publishes per publisher
  std::size_t subscribers = 1000;     // fanout
  unsigned publishers = 1;            // fanout
  double rate = 0;                    // fanout: total publishes/s; 0 = window mode (in_flight)
  std::size_t payload_bytes = 64;     // fanout: length of the `data` string; at least 24
  PayloadFill fill = PayloadFill::x;  // fanout: what follows the send time in `data`
  bool compression = false;           // offer permessage-deflate (no context takeover); see above
  // fanout: the window counts publishes not yet delivered to every subscriber rather than not
  // yet acked (an ack comes before the fan-out), so a payload too big for the subscribers to
  // read at the publish rate slows the publisher instead of overflowing the server's send
  // queues (4001). Needs threads = 1 and publishers = 1.
  bool pace_by_delivery = false;
  double duration_s = 5;               // measured window (idle: the hold)
  double warmup_s = 1;                 // traffic before the window, not counted
  long server_pid = 0;                 // /proc/PID: CPU (every workload), RSS (idle); 0 = none
  unsigned connect_concurrency = 128;  // handshakes in progress at once, per thread
  bool json = false;                   // machine output on stdout instead of the table
  bool progress = true;                // one line per second on stderr
  std::string ca_file;                 // wss://: CA bundle (PEM); empty = the system store
  bool insecure = false;               // wss://: no certificate check
};

// Runs one workload and prints its report (table, or JSON with `json`). Returns 0 when the
// run had no errors, 1 when it had any (mismatches, gaps, failed connects, unexpected closes,
// unanswered requests). Throws std::invalid_argument on bad options or an unusable URL.
int run_bench(const BenchOptions& options);

}  // namespace steadyws::tools
