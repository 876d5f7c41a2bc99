// A reconnecting hand-framed WebSocket client for `steadyws bench herd` and `steadyws soak`:
// the bench's fast framing (bench_frame.hpp) plus the reconnect rules of steadyws::Client
// (docs/client.md "Behaviour"), so that thousands of clients fit on one Asio loop instead of
// one thread each (a steadyws::Client owns a thread).
//
// Rules it shares with steadyws::Client:
//   - the delay before each attempt is the core's Backoff (backoff_delay) with a per-client
//     seeded std::mt19937_64 draw; a successful welcome resets it;
//   - a 1001 close whose reason is {"retryAfterMs":N} makes the next delay exactly N ms (the
//     attempt still counts);
//   - an app-level ping every heartbeat interval; a link with no frame at all for a whole
//     interval after a ping is dead and is reconnected;
//   - connected means welcomed (not TCP, not the upgrade).
// It does not fail over, fall back to polling, queue publishes or resume: subclasses add what
// their workload needs (the soak's subscriber resumes with since/epoch, its publisher resends).
//
// Over wss:// (ClientEnv::tls set) each attempt runs the TLS client handshake after TCP, with
// the client library's stream (src/client/tls.hpp): the same SNI, chain and host-name check
// as steadyws::Client; a refused certificate is a failed attempt whose reason names why.
//
// Not thread-safe: every method runs on the loop's thread. Handlers capture `this`: a client
// must outlive its io_context's run() (destroy clients after the loop has stopped).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include "steadyws/core/backoff.hpp"

namespace steadyws::tools::bench {

using SteadyClock = std::chrono::steady_clock;

// Runs f() on the loop's thread and returns its result (the loop must be running): how the
// driving thread of herd and soak reads or changes the clients' state.
template <typename F>
auto on_loop(boost::asio::io_context& ioc, F f) {
  return boost::asio::post(ioc, boost::asio::use_future(std::move(f))).get();
}

// The client library's backoff defaults (1 s base, 30 s cap, ±1 s symmetric jitter), but
// never giving up: a load client has no fallback to go to.
inline BackoffConfig unlimited_backoff() {
  BackoffConfig c;
  c.max_attempts = 0;
  return c;
}

// What every client of one loop shares.
struct ClientEnv {
  explicit ClientEnv(boost::asio::io_context& io) : ioc(io) {}
  boost::asio::io_context& ioc;
  boost::asio::ip::tcp::endpoint endpoint;
  std::string request;                          // the upgrade request (bench::upgrade_request)
  BackoffConfig backoff = unlimited_backoff();  // unlimited: a load client never gives up
  // 10 s: the client library's connect timeout; bounds a connect into a blackhole.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds heartbeat_interval{0};  // 0 = no app pings
  // wss://: the client context (tools::tls_context_for) and the name the server's certificate
  // must be for, also sent as SNI (the URL's host, even when `endpoint` is a proxy's address).
  // Null: plain ws://.
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string tls_host;
};

// Why a link ended; passed to on_lost().
struct LostInfo {
  bool was_open = false;  // welcomed before it ended (false: a failed attempt)
  std::string reason;
  unsigned close_code = 0;                     // 0 when no close frame came
  std::optional<std::int64_t> retry_after_ms;  // the 1001 hint, when there was one
};

class ReconnectingClient {
 public:
  ReconnectingClient(ClientEnv& env, std::uint64_t seed);
  virtual ~ReconnectingClient();
  ReconnectingClient(const ReconnectingClient&) = delete;
  ReconnectingClient& operator=(const ReconnectingClient&) = delete;

  // Makes the first attempt now (no delay).
  void start();
  // Closes the link (RST) and makes no further attempt.
  void stop();
  bool is_open() const;
  // Replaces the jitter mode for the next delays (herd: one run per mode).
  void set_jitter_mode(JitterMode m) { backoff_ = Backoff(with_mode(m)); }

  std::uint64_t attempts() const { return attempts_; }
  std::uint64_t failed_attempts() const { return failed_attempts_; }
  std::uint64_t opens() const { return opens_; }
  std::uint64_t hints_honoured() const { return hints_; }
  SteadyClock::time_point last_open_at() const { return last_open_at_; }

 protected:
  // Frames `payload` as a masked text frame; written at the end of this turn.
  void send_text(std::string_view payload);
  // Ends the current link as if the network had (RST) and reconnects by the rules.
  void drop(const std::string& reason);

  // The welcome arrived: the link is up. `welcome` is the frame's JSON text.
  virtual void on_open(std::string_view /*welcome*/, SteadyClock::time_point /*now*/) {}
  virtual void on_text(std::string_view payload, SteadyClock::time_point now) = 0;
  // The link ended (or an attempt failed); the retry is already scheduled.
  virtual void on_lost(const LostInfo& /*info*/) {}

  ClientEnv& env_;

 private:
  struct Link;

  BackoffConfig with_mode(JitterMode m) const {
    BackoffConfig c = env_.backoff;
    c.mode = m;
    return c;
  }
  void attempt();
  void on_connect(const std::shared_ptr<Link>& l);
  void start_upgrade(const std::shared_ptr<Link>& l);
  void do_read(const std::shared_ptr<Link>& l);
  void on_read(const std::shared_ptr<Link>& l, std::size_t n);
  bool handle_frame(const std::shared_ptr<Link>& l, int op, bool fin, std::string_view payload,
                    SteadyClock::time_point now);
  void flush(const std::shared_ptr<Link>& l);
  void lose(const std::shared_ptr<Link>& l, LostInfo info);
  void schedule_retry(std::optional<std::int64_t> retry_after_ms);
  void arm_heartbeat(const std::shared_ptr<Link>& l);
  std::uint32_t next_mask() {
    mask_ = mask_ * 1664525u + 1013904223u;
    return mask_;
  }

  Backoff backoff_;
  std::mt19937_64 rng_;
  std::uint32_t mask_;
  std::shared_ptr<Link> link_;       // the current link, or null between attempts
  boost::asio::steady_timer retry_;  // backoff delay, then the connect timeout
  boost::asio::steady_timer heartbeat_;
  bool stopped_ = false;
  std::uint64_t attempts_ = 0;
  std::uint64_t failed_attempts_ = 0;
  std::uint64_t opens_ = 0;
  std::uint64_t hints_ = 0;
  std::uint64_t ping_ts_ = 0;
  SteadyClock::time_point last_open_at_{};
};

}  // namespace steadyws::tools::bench
