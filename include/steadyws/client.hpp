// steadyws::Client: a WebSocket connection that stays up. Start here.
//
//   steadyws::ClientOptions o;
//   o.urls = {"ws://127.0.0.1:6011/ws"};
//   o.on_message = [](const steadyws::ReceivedMessage& m) { std::puts(m.json.c_str()); };
//   steadyws::Client client(std::move(o));
//   client.subscribe("news");
//   client.connect();
//   client.publish("news", boost::json::object{{"text", "hello"}});
//
// What it does for you: reconnects with backoff (and failover across urls), pings to detect
// dead links, re-subscribes every channel after a reconnect and resumes each one where the
// application left off (every message exactly once, in order, or an explicit on_recovered
// false), queues publishes while offline and resends them until acked (the id makes the
// resend safe), and falls back to HTTP long polling when the WebSocket will not hold.
// Every decision is made by the sans-I/O core (steadyws/core/*); this class is the I/O shell.
//
// What it is not: a general WebSocket library: it speaks the steadyws protocol (CONTRACT §2,
// §3), over ws:// or wss:// (CONTRACT §6, docs/client.md).
//
// Threading: the Client owns one thread running its own io_context. Every public method may
// be called from any thread (including from a callback): commands are posted to that thread
// and return at once; getters read a snapshot under a mutex. Every callback runs on the I/O
// thread, one at a time. The destructor stops everything, joins the thread and returns; no
// callback runs after it has returned. REQUIRES: the destructor is not called from a callback.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "steadyws/client_options.hpp"
#include "steadyws/core/bandwidth.hpp"
#include "steadyws/core/connection_state.hpp"
#include "steadyws/core/outbound_queue.hpp"
#include "steadyws/core/quality_monitor.hpp"

namespace steadyws {

// What publish() did with a message.
struct PublishResult {
  Enqueue status = Enqueue::accepted;  // accepted, duplicate (same id still queued), full
  std::string id;                      // the id used (given, or generated when absent)
};

class Client {
 public:
  // Starts the I/O thread; does not connect until connect(). Throws std::invalid_argument
  // when a URL in options.urls does not parse (see url_error()).
  explicit Client(ClientOptions options);
  Client(std::string url, ClientOptions options);
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts connecting (state connecting) unless already connecting, connected or
  // reconnecting. After disconnect() it starts afresh with a reset backoff.
  void connect();
  // Closes the link with 1000 and stops reconnecting and polling: state closed. Queued
  // publishes stay queued for a later connect().
  void disconnect();
  // Drops the current link (if any) and attempts again at once, with the backoff reset.
  void reconnect();

  // Queues `data` for `channel` and sends it as soon as a transport is up, resending after
  // each reconnect until the server acks it. `id` (1-64 chars) is the dedup key; one is
  // generated when absent. A plain string is sent as a JSON string.
  PublishResult publish(std::string channel, boost::json::value data,
                        std::optional<std::string> id = std::nullopt);

  // Adds `channel` to the subscriptions (sent now if connected, and again after each
  // reconnect with the resume cursor). Idempotent.
  void subscribe(std::string channel);
  // Removes `channel`; its cursor is forgotten.
  void unsubscribe(std::string channel);

  // ---- getters: a snapshot, safe from any thread ----
  bool is_connected() const;     // connection_status() == connected (the WebSocket is up)
  bool is_reconnecting() const;  // connection_status() == reconnecting
  State connection_status() const;
  double connection_reliability() const;  // 0-100, QualityMetrics::reliability
  QualityMetrics quality_metrics() const;
  Quality quality() const;
  bool is_using_fallback() const;  // HTTP long polling is the transport now
  // The retry budget ran out with the fallback disabled: nothing more will happen until
  // connect() or reconnect(). (With the fallback enabled the client never gives up.)
  bool has_given_up() const;
  std::vector<std::string> recommendations() const;
  // The latest quality forecast (also in quality_metrics(): degradation_risk, predicted_level).
  Forecast forecast() const;
  // The link's usable bandwidth as this client sees it (CONTRACT §10; see
  // steadyws/core/bandwidth.hpp): arrival rate, and throttled when RTT inflates under load.
  BandwidthEstimate bandwidth() const;
  // Publishes not yet acked (queued or in flight).
  std::size_t queued() const;
  // The URL of the current or most recent WebSocket attempt.
  std::string current_url() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steadyws
