// One HTTP/1.1 connection: keep-alive requests routed per CONTRACT §3, and the handoff of a
// /ws upgrade to a WsSession (Beast advanced_server's is_upgrade pattern).
//
// One request at a time (no pipelining): the next read starts once the answer is written.
// Limits: the header and body sizes (413), a read deadline per request (a client that opens
// the connection and sends nothing is closed), and a long poll holds the connection up to
// its timeout (max 60 s) with no read pending.
//
// Lifetime and threading as WsSession: shared_from_this bound into every async op; all state
// on the socket's strand; stop() and poll_ready() may be called from any thread (they post).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "auth/jwt.hpp"
#include "hub/hub.hpp"
#include "server/policy.hpp"
#include "server/poll_waiter.hpp"
#include "server/routes.hpp"
#include "server/server_state.hpp"
#include "server/stream.hpp"

namespace steadyws::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class HttpSession final : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, std::shared_ptr<ServerState> state);
  ~HttpSession();

  void run();
  // Drain: answers a pending poll now, and closes the connection after the current answer.
  // Any thread.
  void stop();
  // A pending poll has messages (PollWaiter). Any thread.
  void poll_ready();

 private:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;

  void do_tls_handshake();  // TLS only: before the first request
  void on_tls_handshake(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void handle(Request&& req);
  void upgrade(Request&& req, Target&& target, Credential&& credential);
  void send(Response&& res);
  void send_json(http::status status, std::string body);
  void send_error(http::status status, std::string_view code, std::string_view message);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t);
  void do_close();

  void answer_health(bool lists);
  void answer_metrics_json(bool lists);
  void answer_sessions();
  void answer_prometheus();
  void answer_cluster();
  void answer_publish(const Request& req);
  void answer_ping(const Request& req);
  void answer_disconnect(const Target& target);
  void answer_page(Route route);
  void start_poll(PollRequest&& poll);
  void on_poll_subscribed(std::size_t i, std::optional<std::uint64_t> since,
                          hub::SubscribeResult r);
  void continue_poll();  // every channel subscribed: answer now or wait
  void finish_poll();
  template <class F>
  void on_hub_strand(F&& f);  // runs f on the strand: now if the hub completed inline
  std::vector<PollWaiter::Item> end_poll();

  std::shared_ptr<ServerState> state_;
  HttpStream stream_;  // TCP, or TLS over it (--tls-cert)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;  // the answer being written
  std::string remote_;
  std::string client_ip_;                                           // for the per-IP rate limit
  std::vector<std::pair<std::string, std::string>> extra_headers_;  // the policy's, for send()
  Credential credential_;       // what the current request proved (policy.hpp), for the handlers
  bool poll_reserved_ = false;  // the pending poll holds a --max-connections slot
  std::optional<auth::Claims> claims_;  // the current request's verified JWT (JWT servers)
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool stopping_ = false;

  // The long poll in progress, if any.
  struct PollChannelState {
    std::string channel;
    std::uint64_t cursor = 0;
    std::string epoch;
    bool recovered = false;
  };
  std::shared_ptr<PollWaiter> waiter_;
  std::vector<PollChannelState> poll_channels_;
  std::size_t poll_subscribing_ = 0;  // subscribes not completed yet
  bool poll_answer_now_ = false;
  bool poll_limited_ = false;     // a subscribe hit --max-channels
  std::string poll_unavailable_;  // why, when a subscribe failed
  std::chrono::milliseconds poll_timeout_{0};
  std::optional<net::steady_timer> poll_timer_;
};

}  // namespace steadyws::server
