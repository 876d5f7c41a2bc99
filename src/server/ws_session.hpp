// One WebSocket connection on /ws (CONTRACT §2): the shell around the core's HeartbeatTracker
// and RateLimiter, the protocol's FrameReader and JSON codec, and the hub.
//
// Beast does the upgrade (a short-lived websocket::stream over the socket, destroyed once the
// 101 is written); from then on the session reads and writes frames itself
// (docs/decisions/0002-own-frame-reader.md):
//   - Reading: an idle connection waits for readability with no buffer of its own
//     (`async_wait`); when bytes arrive they are read into a per-thread scratch buffer, every
//     complete frame in them is handled in that one turn, and only the tail of an unfinished
//     frame is kept in `pending_`. So 16 pipelined pings cost one wakeup, one read, one write.
//   - Writing: FrameWriter (frame_writer.hpp), the only writer on the socket, one gathered write
//     at a time; queued data is bounded by --send-queue-bytes (over it: close 4001 at once).
//   - Closing: the close handshake of RFC 6455 §7 (ours: send close, read until the peer's
//     close, then close TCP; theirs: echo it, then close TCP), with deadlines.
//
// Lifetime (STYLE 3.5): owned by shared_ptrs bound into its pending async operations (the
// read wait, the heartbeat timer, a write in flight); nothing deletes it. Everything it owns
// is touched only on its strand (the socket's executor), except:
//   - deliver() (hub::Subscriber), called by any thread with a channel lock held: it pushes
//     the shared frame into a small mutex-guarded inbox and schedules one drain on the strand
//     (see "Wakes" below);
//   - health(), is_alive(), id(): thread-safe snapshots for the endpoints and the sweep;
//   - close_for_drain(), drop(), sweep(): run on the strand (dispatch or post).
//
// Wakes: while a session handles a read batch, the subscribers its publishes reach are not
// posted a drain each time; they are collected (once each) and posted after the batch. So 16
// pipelined publishes reach each subscriber as one drain and one write of 16 frames, instead
// of 16 drains and 16 writes (docs/decisions/0001-write-coalescing.md). Deliveries from
// anywhere else (HTTP publish) post their drain at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "auth/jwt.hpp"
#include "core/health.hpp"
#include "core/heartbeat_tracker.hpp"
#include "core/rate_limiter.hpp"
#include "core/send_bandwidth_estimator.hpp"
#include "hub/hub.hpp"
#include "protocol/messages.hpp"
#include "protocol/permessage_deflate.hpp"
#include "protocol/ws_frame_reader.hpp"
#include "server/close_handshake.hpp"
#include "server/frame_writer.hpp"
#include "server/policy.hpp"
#include "server/routes.hpp"
#include "server/server_state.hpp"
#include "server/stream.hpp"

namespace steadyws::server {

namespace http = beast::http;
namespace websocket = beast::websocket;

class WsSession final : public hub::Subscriber,
                        private FrameWriter::Listener,
                        public std::enable_shared_from_this<WsSession> {
 public:
  // Takes the socket of an upgrade request. REQUIRES: a connection slot was reserved with
  // state->try_reserve_connection(); the session releases it when it dies.
  WsSession(WsStream&& stream, std::shared_ptr<ServerState> state, std::string remote);
  ~WsSession() override;

  // Completes the upgrade of `req` and runs the connection. `early` holds bytes the HTTP
  // session read past the request (frames a client sent before the 101 arrived); they are
  // handled first. Call once, on the strand.
  // `credential` is what the upgrade request proved (policy.hpp decide()).
  void run(http::request<http::string_body> req, Target target, std::string early = {},
           Credential credential = {});

  // CONTRACT §8: the JWT the upgrade carried (servers with --jwt-secret/--jwt-public-key).
  // Subscribes and publishes are checked against its channels claim, a `refresh` replaces
  // it, and the connection is closed with 4003 when it expires. REQUIRES: before run().
  void set_claims(auth::Claims claims) { claims_ = std::move(claims); }

  // hub::Subscriber: any thread, channel lock held. Never blocks on the connection.
  void deliver(std::string_view channel, std::uint64_t seq, const hub::Frame& frame) override;
  void reset(std::string_view channel, std::uint64_t last_seq, std::string_view epoch) override;

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
  // The rest of on_accept, once the session is known (it may come from Redis first).
  void open_session();
  // The session gained or lost `channel` (here, and in Redis in a cluster).
  void session_subscription(const std::string& channel, bool subscribed);
  void do_wait();
  void on_readable(beast::error_code ec);
  // Handles every complete frame in [data, data + size); returns the bytes used (the rest is
  // an unfinished frame, or nothing).
  std::size_t consume(char* data, std::size_t size);
  void keep_pending(const char* data, std::size_t size);  // appends to pending_
  void end_turn();  // after a read batch: wake subscribers, flush
  void on_message(std::string_view payload, bool text);
  void on_peer_ping(std::string_view payload);
  void on_peer_pong(std::string_view payload);
  void publish_bandwidth(TimePoint now);  // the estimate into health_, a log line on change
  void send_probe(TimePoint now);         // a bandwidth probe ping on the control lane
  void on_peer_close(std::uint16_t code, std::string_view reason);
  void on_frame_error(std::uint16_t code, std::string_view reason);
  void handle_text(std::string_view text);
  void handle(protocol::Ping& m);
  void handle(protocol::Subscribe& m);
  void handle(protocol::Unsubscribe& m);
  void handle(protocol::Publish& m);
  void handle(protocol::Refresh& m);
  // JWT (CONTRACT §8): the 4003 timer at the token's exp + leeway, and what a narrower
  // token takes away (an `unsubscribed` frame per channel it no longer allows).
  void arm_token_timer();
  void on_token_timer(beast::error_code ec);
  void drop_forbidden_subscriptions();
  void send_error(errc code, std::string_view message);
  void send_frame(std::string&& json);
  void queue_data(const hub::Frame& frame);
  // Hub completions (inline on the strand, or any thread): answer frames, in order.
  void hub_reply(std::vector<hub::Frame> frames);
  void hub_failed(std::string why);              // {"type":"error","code":"unavailable"}
  void hub_refused(errc code, std::string why);  // an error frame, in order with hub replies
  template <class F>
  void on_hub_strand(F&& f);  // runs f on the strand: now if inline, else posted
  void push_inbox(std::span<const hub::Frame> frames);  // any thread, as deliver()
  // queue_data for a frame that goes out compressed: returns the data bytes queued.
  std::size_t queue_compressed(const hub::Frame& frame);
  void drain_inbox();
  // After the inbox went from idle to scheduled: collected for wake_subscribers() inside a
  // read batch, else a drain posted at once.
  void schedule_drain();
  void post_drain();
  void wake_subscribers();
  void arm_heartbeat();
  void on_heartbeat(beast::error_code ec);
  // Starts our close handshake (1001, 1003, 1008, 4003): queued data is dropped, the close
  // frame goes out, and the socket closes when the peer's close arrives (or EOF, or the
  // deadline). Ignored once a close started (CloseHandshake::begin).
  void close_gracefully(std::uint16_t code, std::string reason, bool failed);
  // Close frame best effort, then the socket, without a close handshake (4000, 4001, 1011): a
  // dead or stuck peer would only make a handshake wait. `drain` (4001): after the frame, shut
  // our side and read the peer's input away until its EOF or the 1 s deadline, instead of
  // closing at once. Ignored once a close started.
  void teardown(std::uint16_t code, std::string reason, bool failed, bool drain = false);
  // The Step::send_close of a close we start: records who closed and why, queues our close
  // frame and arms `deadline`.
  void send_our_close(std::uint16_t code, std::string reason, bool failed, Duration deadline);
  void arm_close_deadline(Duration d);
  void shutdown_send();  // our side is done sending; the input is still read (and dropped)
  void shutdown_socket();
  void finish(beast::error_code ec);
  std::int64_t wall_ms();  // the wall clock, read at most once per turn

  // FrameWriter::Listener
  void on_written(std::size_t frames, std::size_t bytes) override;
  void on_close_written() override;
  void on_write_failed(beast::error_code ec) override;

  std::shared_ptr<ServerState> state_;
  FrameWriter out_;
  protocol::FrameReader reader_;
  std::optional<protocol::DeflateParams> deflate_;  // permessage-deflate agreed (CONTRACT §7)
  std::unique_ptr<protocol::Deflater> deflater_;    // ours, with context takeover only
  std::unique_ptr<websocket::stream<WsStream&>> handshake_;  // during the upgrade only
  std::string early_;           // bytes read with the upgrade request, until on_accept
  beast::flat_buffer pending_;  // an unfinished frame carried to the next read; no block when idle
  std::size_t needed_ = 0;      // bytes that frame needs in all (0: its header is incomplete)
  net::steady_timer timer_;     // heartbeat, then the close deadline
  HeartbeatTracker tracker_;
  RateLimiter limiter_;
  SendBandwidthEstimator bandwidth_;  // probes while data flows (CONTRACT §10)
  std::uint64_t bytes_written_ = 0;   // every frame's bytes, for the bandwidth probes
  bool probe_due_ = false;            // a probe waits for the next data to ride with
  std::string id_;
  std::string remote_;
  std::string session_id_;
  std::string subprotocol_;  // selected in the 101 (CONTRACT §10), or empty: none offered
  std::uint64_t generation_ = 0;
  std::set<std::string, std::less<>> subscriptions_;
  std::optional<std::string> requested_session_;
  std::optional<std::string> resume_token_;  // ?resume=, until attach(); never logged
  std::string taken_from_;  // the node Redis said held the session, until open_session()
  Credential credential_;   // what the upgrade proved (policy.hpp)
  std::optional<auth::Claims> claims_;              // JWT servers only
  std::unique_ptr<net::steady_timer> token_timer_;  // JWT servers only: 4003 on expiry
  std::vector<std::shared_ptr<WsSession>> wakes_;   // subscribers to drain after the batch
  std::vector<hub::Frame> draining_;                // drain_inbox's swap partner (keeps capacity)
  TimePoint opened_at_{};
  TimePoint turn_now_{};            // Clock::now() of the current read batch
  std::int64_t turn_wall_ms_ = -1;  // wall clock of the current turn, read lazily
  std::int64_t ping_token_ = 0;
  bool accepted_ = false;
  CloseHandshake close_;  // where the close is (close_handshake.hpp); finished once finish() ran
  bool failed_ = false;   // closed by an error, timeout or eviction (metrics)
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
