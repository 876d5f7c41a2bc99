// One WebSocket connection on /ws (CONTRACT §2): the Beast shell around the core's
// HeartbeatTracker and RateLimiter, the protocol codec and the hub.
//
// Lifetime (STYLE 3.5): owned by shared_ptrs bound into its pending async operations (the
// read, the heartbeat timer, a write in flight); nothing deletes it. Everything it owns is
// touched only on its strand (the socket's executor), except:
//   - deliver() (hub::Subscriber), called by any thread with a channel lock held: it pushes
//     the shared frame into a small mutex-guarded inbox and schedules one drain on the strand
//     (see "Wakes" below);
//   - health(), is_alive(), id(): thread-safe snapshots for the endpoints and the sweep;
//   - close_for_drain(), drop(), sweep(): post to the strand.
//
// Wakes: while a session handles its input (on_read), the subscribers its publishes reach are
// not posted a drain each time; they are collected (once each) and posted when Beast goes
// back to the socket, i.e. after every message already buffered has been handled. So 16
// pipelined publishes reach each subscriber as one drain and one write of 16 frames, instead
// of 16 drains and 16 writes (docs/decisions/0001-write-coalescing.md). Deliveries from
// anywhere else (HTTP publish) post their drain at once.
//
// Writes: all of them go through FrameStream (frame_stream.hpp), one gathered write at a
// time; queued data is bounded by --send-queue-bytes (over it: close 4001 at once).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "steadyws/core/health.hpp"
#include "steadyws/core/heartbeat_tracker.hpp"
#include "steadyws/core/rate_limiter.hpp"

#include "hub/hub.hpp"
#include "protocol/messages.hpp"
#include "server/frame_stream.hpp"
#include "server/read_buffer.hpp"
#include "server/routes.hpp"
#include "server/server_state.hpp"

namespace steadyws::server {

namespace http = beast::http;
namespace websocket = beast::websocket;

class WsSession final : public hub::Subscriber, public std::enable_shared_from_this<WsSession> {
 public:
  // Takes the socket of an upgrade request. REQUIRES: a connection slot was reserved with
  // state->try_reserve_connection(); the session releases it when it dies.
  WsSession(tcp::socket&& socket, std::shared_ptr<ServerState> state, std::string remote);
  ~WsSession() override;

  // Completes the upgrade of `req` and runs the connection. Call once, on the strand.
  void run(http::request<http::string_body> req, Target target);

  // hub::Subscriber: any thread, channel lock held. Never blocks on the connection.
  void deliver(std::string_view channel, std::uint64_t seq, const hub::Frame& frame) override;

  // Drain (CONTRACT §1): close with 1001 and reason {"retryAfterMs":N}. Any thread.
  void close_for_drain(std::int64_t retry_after_ms);
  // Tears the TCP connection down without a close frame, as a network failure would
  // (/api/admin/disconnect, and a session taken over by a newer connection). Any thread.
  void drop(std::string why);
  // The cleanup sweep: tears down a connection the tracker considers dead, or that has heard
  // nothing for `silence`. Any thread.
  void sweep(Duration silence);

  ConnectionHealth health() const;  // any thread
  bool is_alive() const { return alive_.load(std::memory_order_relaxed); }
  const std::string& id() const { return id_; }

 private:
  // ---- strand only ----
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle_text(std::string_view text);
  void handle(protocol::Ping& m);
  void handle(protocol::Subscribe& m);
  void handle(protocol::Unsubscribe& m);
  void handle(protocol::Publish& m);
  void send_error(errc code, std::string_view message);
  void send_frame(std::string&& json);
  void queue_data(const hub::Frame& frame);
  void drain_inbox();
  void post_drain();
  static void on_input_drained(void* self);
  void wake_subscribers();
  void arm_heartbeat();
  void on_heartbeat(beast::error_code ec);
  void on_control(websocket::frame_type kind, std::string_view payload);
  // A close handshake (1001, 1003, 1008): queued data is dropped, Beast closes.
  void close_gracefully(CloseCode code, std::string reason);
  // Close frame best effort, then the socket, without waiting for the peer (4000, 4001,
  // takeover, admin): a dead or stuck peer would only make a handshake wait.
  void teardown(std::uint16_t code, std::string reason, bool failed);
  void shutdown_socket();
  void finish(beast::error_code ec);
  static void on_written(void* self, std::size_t frames, std::size_t bytes);

  std::shared_ptr<ServerState> state_;
  websocket::stream<FrameStream> ws_;
  ReadBuffer buffer_;        // inline for small messages: idle connections hold no read block
  net::steady_timer timer_;  // heartbeat, then the close deadline
  HeartbeatTracker tracker_;
  RateLimiter limiter_;
  std::string id_;
  std::string remote_;
  std::string session_id_;
  std::uint64_t generation_ = 0;
  std::set<std::string, std::less<>> subscriptions_;
  std::optional<std::string> requested_session_;
  std::vector<std::shared_ptr<WsSession>> wakes_;  // subscribers to drain when input runs out
  std::vector<hub::Frame> draining_;               // drain_inbox's swap partner (keeps capacity)
  TimePoint opened_at_{};
  std::int64_t ping_token_ = 0;
  bool accepted_ = false;
  bool closing_ = false;   // a close or teardown started: no more data, no more pings
  bool finished_ = false;  // finish() ran
  bool failed_ = false;    // closed by an error, timeout or eviction (metrics)
  std::uint16_t close_code_ = 0;
  std::string close_reason_;

  // ---- any thread ----
  std::mutex inbox_mu_;
  std::vector<hub::Frame> inbox_;
  bool inbox_scheduled_ = false;

  mutable std::mutex health_mu_;
  ConnectionHealth health_;  // latency, last_heartbeat, missed (rare updates)
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<bool> alive_{true};
};

}  // namespace steadyws::server
