#include "tools/proxy/proxy.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "asio/run_loop.hpp"
#include "tools/proxy/proxy_control.hpp"

namespace steadyws::tools {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// 8 KiB per read per direction: 16 KiB per pair keeps ten thousand pairs under 200 MB.
constexpr std::size_t kReadSize = 8 * 1024;
// Past this many queued bytes in one direction (delay or bandwidth holding data back) the
// proxy stops reading that side, so TCP flow control pushes back on the sender instead of
// the proxy buffering without bound.
constexpr std::size_t kMaxQueuedBytes = 1024 * 1024;
// With a cap, write pieces of at most 1/20 s worth of bytes, so the rate is smooth at 50 ms
// granularity instead of bursting a whole 8 KiB chunk.
constexpr std::uint64_t kPiecesPerSecond = 20;
// The control API is a few small JSON documents; anything bigger is a mistake.
constexpr std::uint64_t kControlBodyLimit = 64 * 1024;

// One line per event on stderr, key=value. A single fputs keeps concurrent lines whole.
void log_line(const std::string& line) {
  const std::string out = line + "\n";
  std::fputs(out.c_str(), stderr);
}

std::string to_string(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

class Pipe;

// State shared by the listeners, every pipe and the control API. Outlives all of them
// through shared_ptr, so a pipe whose handlers are still pending never dangles.
struct Shared {
  explicit Shared(const ProxyConfig& config)
      : faults(config.initial),
        seed(config.seed),
        log_connections(config.log_connections),
        quiet(config.quiet && !config.log_connections) {}

  Faults snapshot() const {
    std::lock_guard lock(faults_mu);
    return faults;
  }

  mutable std::mutex faults_mu;
  Faults faults;  // guarded by faults_mu

  std::mutex pipes_mu;
  std::unordered_map<std::uint64_t, std::weak_ptr<Pipe>> pipes;  // guarded by pipes_mu

  tcp::resolver::results_type upstream;
  std::string upstream_name;
  std::string listen_name;
  std::uint64_t seed;
  bool log_connections;
  bool quiet;  // no per-connection lines (ProxyConfig::quiet)

  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> bytes[2] = {0, 0};  // indexed by direction
  std::atomic<std::uint64_t> discarded{0};
  std::atomic<std::uint64_t> resets{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> blocked{0};
  std::atomic<std::uint64_t> upstream_errors{0};
};

ProxyStats read_stats(const Shared& sh) {
  ProxyStats s;
  s.connections_active = sh.active;
  s.connections_total = sh.total;
  s.bytes_client_to_upstream = sh.bytes[0];
  s.bytes_upstream_to_client = sh.bytes[1];
  s.bytes_discarded = sh.discarded;
  s.resets = sh.resets;
  s.refused = sh.refused;
  s.upgrades_blocked = sh.blocked;
  s.upstream_errors = sh.upstream_errors;
  return s;
}

// Closes a socket, with RST when `rst` (SO_LINGER on, timeout 0), else with FIN. Never throws.
void close_socket(tcp::socket& s, bool rst) {
  error_code ignored;
  if (!s.is_open())
    return;
  if (rst)
    s.set_option(net::socket_base::linger(true, 0), ignored);
  else
    s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

// One client connection and its upstream connection. Both sockets and all timers share one
// strand (the executor the client socket was accepted on), so nothing here needs a lock.
//
// Per direction d (0 = client -> upstream, 1 = upstream -> client):
//   read a chunk -> (blackhole: drop it) -> queue it with send_at -> one write in flight,
//   each write waiting for max(send_at, next_allowed) on the direction's timer.
// Invariants:
//   1. dirs_[d].queue's send_at values never decrease (order preserved under jitter).
//   2. At most one of {write, timer wait} is pending per direction (`busy`).
//   3. Once closed_, no handler starts a new operation.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(tcp::socket&& client, std::shared_ptr<Shared> shared, std::uint64_t id)
      : client_(std::move(client)),
        upstream_(client_.get_executor()),
        shared_(std::move(shared)),
        id_(id),
        dirs_{Direction(client_.get_executor()), Direction(client_.get_executor())} {
    if (shared_->seed != 0)
      rng_.seed(shared_->seed + id_);
    else
      rng_.seed(std::random_device{}());
  }

  // Starts the pair on its strand: inspect the first request first when `inspect`.
  void start(bool inspect) {
    net::dispatch(client_.get_executor(),
                  beast::bind_front_handler(&Pipe::on_start, shared_from_this(), inspect));
  }

  // Any thread: closes both sides with RST.
  void reset() {
    net::post(client_.get_executor(), [self = shared_from_this()] {
      if (self->closed_)
        return;
      self->shared_->resets++;
      self->close(true, "reset");
    });
  }

  // Any thread: closes both sides with FIN (proxy shutdown).
  void shutdown() {
    net::post(client_.get_executor(), [self = shared_from_this()] { self->close(false, "stop"); });
  }

 private:
  struct Chunk {
    std::vector<char> data;
    Clock::time_point send_at;
  };

  struct Direction {
    explicit Direction(const net::any_io_executor& ex) : timer(ex) {}
    std::array<char, kReadSize> buf{};
    std::deque<Chunk> queue;
    std::size_t queued_bytes = 0;
    std::size_t offset = 0;  // bytes of queue.front() already written
    bool reading = false;
    bool busy = false;  // a write or a timer wait is pending
    bool eof = false;   // the source closed; close the pair once the queue drains
    net::steady_timer timer;
    Clock::time_point last_send_at{};   // send_at of the newest queued chunk
    Clock::time_point next_allowed{};   // bandwidth pacing: earliest next write
    Clock::time_point write_started{};  // when the pending write began
    std::uint64_t write_bps = 0;        // the cap the pending write was paced with
  };

  tcp::socket& source(int d) { return d == 0 ? client_ : upstream_; }
  tcp::socket& sink(int d) { return d == 0 ? upstream_ : client_; }

  void on_start(bool inspect) {
    {
      std::lock_guard lock(shared_->pipes_mu);
      shared_->pipes[id_] = weak_from_this();
    }
    registered_ = true;
    shared_->active++;
    shared_->total++;
    if (shared_->log_connections) {
      error_code ec;
      const auto peer = client_.remote_endpoint(ec);
      log_line("info proxy open id=" + std::to_string(id_) +
               " client=" + (ec ? std::string("?") : to_string(peer)));
    }
    if (inspect)
      do_inspect_read();
    else
      do_connect();
  }

  // --- block_upgrades: read the first request before touching the upstream ---

  void do_inspect_read() {
    client_.async_read_some(net::buffer(dirs_[0].buf),
                            beast::bind_front_handler(&Pipe::on_inspect_read, shared_from_this()));
  }

  void on_inspect_read(error_code ec, std::size_t n) {
    if (ec == net::error::operation_aborted || closed_)
      return;
    if (ec)
      return close(ec != net::error::eof, "client " + ec.message());
    first_bytes_.append(dirs_[0].buf.data(), n);
    switch (inspect_first_request(first_bytes_)) {
      case FirstRequest::need_more:
        if (first_bytes_.size() < kMaxInspectBytes)
          return do_inspect_read();
        return do_connect();
      case FirstRequest::other:
        return do_connect();
      case FirstRequest::websocket_upgrade:
        break;
    }
    shared_->blocked++;
    if (!shared_->quiet)
      log_line("info proxy blocked_upgrade id=" + std::to_string(id_));
    static constexpr char kBody[] = "WebSocket upgrades are blocked by steadyws proxy\n";
    reply_ = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: " +
             std::to_string(sizeof(kBody) - 1) + "\r\nConnection: close\r\n\r\n" + kBody;
    net::async_write(client_, net::buffer(reply_),
                     beast::bind_front_handler(&Pipe::on_reply_written, shared_from_this()));
  }

  void on_reply_written(error_code ec, std::size_t) {
    if (ec == net::error::operation_aborted || closed_)
      return;
    close(false, "upgrade blocked");
  }

  // --- upstream ---

  void do_connect() {
    net::async_connect(upstream_, shared_->upstream,
                       beast::bind_front_handler(&Pipe::on_connect, shared_from_this()));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    if (ec == net::error::operation_aborted || closed_)
      return;
    if (ec) {
      // Quiet: the first failure still says what to do; the rest are only counted.
      if (++shared_->upstream_errors == 1 || !shared_->quiet)
        log_line("warn proxy upstream_connect id=" + std::to_string(id_) +
                 " upstream=" + shared_->upstream_name + " error=\"" + ec.message() +
                 "\" hint=\"is the upstream running?\"" +
                 (shared_->quiet ? " quiet=\"further failures are counted, not logged\"" : ""));
      return close(true, "upstream connect failed");
    }
    error_code ignored;
    // Small frames (pings, JSON messages) must not sit in Nagle's buffer: the delay the
    // tests measure should be the one they asked for.
    client_.set_option(tcp::no_delay(true), ignored);
    upstream_.set_option(tcp::no_delay(true), ignored);
    if (!first_bytes_.empty()) {
      enqueue(0, first_bytes_.data(), first_bytes_.size());
      first_bytes_.clear();
      first_bytes_.shrink_to_fit();
    }
    do_read(0);
    do_read(1);
  }

  // --- forwarding ---

  void do_read(int d) {
    auto& dir = dirs_[d];
    if (closed_ || dir.reading || dir.eof || dir.queued_bytes >= kMaxQueuedBytes)
      return;
    dir.reading = true;
    source(d).async_read_some(net::buffer(dir.buf),
                              beast::bind_front_handler(&Pipe::on_read, shared_from_this(), d));
  }

  void on_read(int d, error_code ec, std::size_t n) {
    if (ec == net::error::operation_aborted || closed_)
      return;
    auto& dir = dirs_[d];
    dir.reading = false;
    if (ec == net::error::eof) {
      dir.eof = true;
      return maybe_finish(d);
    }
    if (ec) {
      // A reset on one side becomes a reset on the other: the peer sees what we saw.
      return close(true, (d == 0 ? "client " : "upstream ") + ec.message());
    }
    enqueue(d, dir.buf.data(), n);
    do_read(d);
  }

  // Queues `n` bytes read from direction d's source, or drops them when blackholed.
  void enqueue(int d, const char* data, std::size_t n) {
    const Faults faults = shared_->snapshot();
    if (faults.blackhole) {
      shared_->discarded += n;
      return;
    }
    auto& dir = dirs_[d];
    auto send_at = Clock::now() + faults.delay;
    if (faults.jitter.count() > 0) {
      std::uniform_int_distribution<std::int64_t> pick(-faults.jitter.count(),
                                                       faults.jitter.count());
      send_at += std::chrono::milliseconds(pick(rng_));
    }
    // Never before the previous chunk: jitter varies latency, it does not reorder bytes.
    send_at = std::max(send_at, dir.last_send_at);
    dir.last_send_at = send_at;
    dir.queue.push_back(Chunk{std::vector<char>(data, data + n), send_at});
    dir.queued_bytes += n;
    pump(d);
  }

  void pump(int d) {
    auto& dir = dirs_[d];
    if (closed_ || dir.busy || dir.queue.empty())
      return;
    const std::uint64_t bps = shared_->snapshot().bytes_per_sec;
    const auto now = Clock::now();
    auto at = dir.queue.front().send_at;
    if (bps > 0)
      at = std::max(at, dir.next_allowed);
    dir.busy = true;
    if (at > now) {
      dir.timer.expires_at(at);
      dir.timer.async_wait(beast::bind_front_handler(&Pipe::on_timer, shared_from_this(), d));
      return;
    }
    const auto& front = dir.queue.front();
    std::size_t piece = front.data.size() - dir.offset;
    if (bps > 0)
      piece = static_cast<std::size_t>(
          std::min<std::uint64_t>(piece, std::max<std::uint64_t>(1, bps / kPiecesPerSecond)));
    dir.write_started = now;
    dir.write_bps = bps;
    net::async_write(sink(d), net::buffer(front.data.data() + dir.offset, piece),
                     beast::bind_front_handler(&Pipe::on_write, shared_from_this(), d));
  }

  void on_timer(int d, error_code ec) {
    if (ec == net::error::operation_aborted || closed_)
      return;
    dirs_[d].busy = false;
    pump(d);
  }

  void on_write(int d, error_code ec, std::size_t n) {
    if (ec == net::error::operation_aborted || closed_)
      return;
    if (ec)
      return close(true, (d == 0 ? "upstream write " : "client write ") + ec.message());
    auto& dir = dirs_[d];
    dir.busy = false;
    shared_->bytes[d] += n;
    if (dir.write_bps > 0) {
      const auto cost = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
          static_cast<double>(n) / static_cast<double>(dir.write_bps)));
      dir.next_allowed = dir.write_started + cost;
    }
    dir.offset += n;
    if (dir.offset >= dir.queue.front().data.size()) {
      dir.queued_bytes -= dir.queue.front().data.size();
      dir.queue.pop_front();
      dir.offset = 0;
    }
    do_read(d);  // resumes a read paused by kMaxQueuedBytes
    maybe_finish(d);
    pump(d);
  }

  // After EOF from d's source, closes the pair once everything read has been written.
  void maybe_finish(int d) {
    const auto& dir = dirs_[d];
    if (dir.eof && dir.queue.empty() && !dir.busy)
      close(false, d == 0 ? "client closed" : "upstream closed");
  }

  // Closes both sides (RST when `rst`) and cancels every pending operation. Idempotent.
  void close(bool rst, const std::string& why) {
    if (closed_)
      return;
    closed_ = true;
    close_socket(client_, rst);
    close_socket(upstream_, rst);
    for (auto& dir : dirs_)
      dir.timer.cancel();
    // Logged before `active` drops, so a reader that sees active == 0 sees every close line.
    if (shared_->log_connections || (rst && !shared_->quiet)) {
      log_line(std::string(rst ? "warn" : "info") + " proxy close id=" + std::to_string(id_) +
               " rst=" + (rst ? "true" : "false") + " reason=\"" + why + "\"");
    }
    if (registered_) {
      {
        std::lock_guard lock(shared_->pipes_mu);
        shared_->pipes.erase(id_);
      }
      shared_->active--;
    }
  }

  tcp::socket client_;
  tcp::socket upstream_;
  std::shared_ptr<Shared> shared_;
  std::uint64_t id_;
  std::array<Direction, 2> dirs_;
  std::mt19937_64 rng_;
  std::string first_bytes_;  // block_upgrades: what the client sent before the verdict
  std::string reply_;        // the 403, alive until written
  bool registered_ = false;
  bool closed_ = false;
};

// Accepts proxy clients, each on a new strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor&& acceptor, std::shared_ptr<Shared> shared)
      : ioc_(ioc), acceptor_(std::move(acceptor)), retry_(ioc), shared_(std::move(shared)) {}

  void start() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
  }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning on a failing accept.
      log_line("warn proxy accept error=\"" + ec.message() +
               "\" hint=\"raise ulimit -n if this is EMFILE\"");
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](error_code wec) {
        if (!wec)
          self->do_accept();
      });
      return;
    }
    const Faults faults = shared_->snapshot();
    if (faults.refuse) {
      shared_->refused++;
      close_socket(socket, true);
    } else {
      const auto id = shared_->next_id++;
      std::make_shared<Pipe>(std::move(socket), shared_, id)->start(faults.block_upgrades);
    }
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<Shared> shared_;
};

// Callbacks the control API needs from the proxy; keeps ControlSession independent of Impl.
struct ControlApi {
  std::function<Faults()> faults;
  std::function<void(const Faults&)> set_faults;
  std::function<std::size_t()> reset_all;
  std::function<std::string()> state;
};

// One HTTP/1.1 connection to the control API: read a request, answer, repeat until close.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(tcp::socket&& socket, std::shared_ptr<const ControlApi> api)
      : stream_(std::move(socket)), api_(std::move(api)) {}

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&ControlSession::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kControlBodyLimit);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&ControlSession::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == net::error::operation_aborted)
      return;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (ec) {
      log_line("warn proxy control read error=\"" + ec.message() + "\"");
      return;
    }
    const auto& req = parser_->get();
    res_ = {};
    res_.version(req.version());
    res_.keep_alive(req.keep_alive());
    try {
      handle(req);
    } catch (const std::exception& e) {  // our bug; answer it instead of killing the loop
      respond(http::status::internal_server_error, error_json("internal", e.what()));
    }
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&ControlSession::on_write, shared_from_this()));
  }

  void handle(const http::request<http::string_body>& req) {
    const std::string_view target = req.target();
    const auto path = target.substr(0, target.find('?'));
    if (path == "/state") {
      if (req.method() != http::verb::get)
        return method_not_allowed("GET");
      return respond(http::status::ok, api_->state());
    }
    if (path == "/mode") {
      if (req.method() != http::verb::post)
        return method_not_allowed("POST");
      auto result = apply_mode_request(req.body(), api_->faults());
      if (auto* error = std::get_if<std::string>(&result))
        return respond(http::status::bad_request, error_json("bad_message", *error));
      const auto& faults = std::get<Faults>(result);
      api_->set_faults(faults);
      return respond(http::status::ok, api_->state());
    }
    if (path == "/reset") {
      if (req.method() != http::verb::post)
        return method_not_allowed("POST");
      const auto n = api_->reset_all();
      return respond(http::status::ok, "{\"reset\":" + std::to_string(n) + "}");
    }
    respond(http::status::not_found,
            error_json("not_found", "routes: GET /state, POST /mode, POST /reset"));
  }

  void method_not_allowed(const char* allow) {
    res_.set(http::field::allow, allow);
    respond(http::status::method_not_allowed,
            error_json("bad_message", std::string("use ") + allow));
  }

  void respond(http::status status, std::string body) {
    res_.result(status);
    res_.set(http::field::content_type, "application/json");
    res_.set(http::field::cache_control, "no-store");
    res_.body() = std::move(body);
    res_.prepare_payload();
  }

  void on_write(error_code ec, std::size_t) {
    if (ec == net::error::operation_aborted)
      return;
    if (ec) {
      log_line("warn proxy control write error=\"" + ec.message() + "\"");
      return;
    }
    if (!res_.keep_alive()) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<const ControlApi> api_;
};

class ControlListener : public std::enable_shared_from_this<ControlListener> {
 public:
  ControlListener(net::io_context& ioc, tcp::acceptor&& acceptor,
                  std::shared_ptr<const ControlApi> api)
      : ioc_(ioc), acceptor_(std::move(acceptor)), api_(std::move(api)) {}

  void start() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&ControlListener::do_accept, shared_from_this()));
  }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(
        net::make_strand(ioc_),
        beast::bind_front_handler(&ControlListener::on_accept, shared_from_this()));
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec)
      log_line("warn proxy control accept error=\"" + ec.message() + "\"");
    else
      std::make_shared<ControlSession>(std::move(socket), api_)->start();
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<const ControlApi> api_;
};

tcp::acceptor open_acceptor(net::io_context& ioc, const tcp::endpoint& ep) {
  // Strand-wrapped: stop() posts to it from other threads.
  tcp::acceptor acceptor(net::make_strand(ioc));
  acceptor.open(ep.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(net::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace

struct Proxy::Impl {
  std::shared_ptr<Shared> shared;
  std::shared_ptr<Listener> listener;
  std::shared_ptr<ControlListener> control;
  std::shared_ptr<ControlApi> api;
  tcp::endpoint listen_ep;
  tcp::endpoint control_ep;
};

Proxy::Proxy(net::io_context& ioc, const ProxyConfig& config) : impl_(std::make_shared<Impl>()) {
  auto shared = std::make_shared<Shared>(config);
  tcp::resolver resolver(ioc);
  shared->upstream = resolver.resolve(config.upstream_host, std::to_string(config.upstream_port));
  shared->upstream_name = config.upstream_host + ":" + std::to_string(config.upstream_port);

  const auto address = net::ip::make_address(config.host);
  auto acceptor = open_acceptor(ioc, {address, config.port});
  auto control_acceptor = open_acceptor(ioc, {address, config.control_port});
  impl_->listen_ep = acceptor.local_endpoint();
  impl_->control_ep = control_acceptor.local_endpoint();
  shared->listen_name = to_string(impl_->listen_ep);
  impl_->shared = shared;

  // The control API holds the shared state, not the Proxy: a control request in flight while
  // the Proxy is destroyed still finds everything alive.
  auto api = std::make_shared<ControlApi>();
  api->faults = [shared] {
    return shared->snapshot();
  };
  api->set_faults = [shared](const Faults& f) {
    {
      std::lock_guard lock(shared->faults_mu);
      shared->faults = f;
    }
    log_line("info proxy mode modes=" + describe_faults(f) + " delay_ms=" +
             std::to_string(f.delay.count()) + " jitter_ms=" + std::to_string(f.jitter.count()) +
             " bytes_per_sec=" + std::to_string(f.bytes_per_sec));
  };
  api->reset_all = [shared] {
    std::vector<std::shared_ptr<Pipe>> pipes;
    {
      std::lock_guard lock(shared->pipes_mu);
      for (auto& [id, weak] : shared->pipes) {
        if (auto p = weak.lock())
          pipes.push_back(std::move(p));
      }
    }
    for (auto& p : pipes)
      p->reset();
    log_line("info proxy reset connections=" + std::to_string(pipes.size()));
    return pipes.size();
  };
  api->state = [shared] {
    return state_json(shared->snapshot(), read_stats(*shared), shared->listen_name,
                      shared->upstream_name);
  };
  impl_->api = api;

  impl_->listener = std::make_shared<Listener>(ioc, std::move(acceptor), shared);
  impl_->control = std::make_shared<ControlListener>(ioc, std::move(control_acceptor), api);
  impl_->listener->start();
  impl_->control->start();
}

Proxy::~Proxy() {
  stop();
}

tcp::endpoint Proxy::listen_endpoint() const {
  return impl_->listen_ep;
}
tcp::endpoint Proxy::control_endpoint() const {
  return impl_->control_ep;
}

Faults Proxy::faults() const {
  return impl_->shared->snapshot();
}

void Proxy::set_faults(const Faults& faults) {
  impl_->api->set_faults(faults);
}

std::size_t Proxy::reset_all() {
  return impl_->api->reset_all();
}

ProxyStats Proxy::stats() const {
  return read_stats(*impl_->shared);
}

void Proxy::stop() {
  if (!impl_)
    return;
  impl_->listener->stop();
  impl_->control->stop();
  std::vector<std::shared_ptr<Pipe>> pipes;
  {
    std::lock_guard lock(impl_->shared->pipes_mu);
    for (auto& [id, weak] : impl_->shared->pipes) {
      if (auto p = weak.lock())
        pipes.push_back(std::move(p));
    }
  }
  for (auto& p : pipes)
    p->shutdown();
}

int run_proxy(const ProxyConfig& config) {
  const int threads = std::max(1, config.threads);
  net::io_context ioc(threads);
  Proxy proxy(ioc, config);

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](error_code ec, int sig) {
    if (ec)
      return;
    log_line("info proxy stopping signal=" + std::to_string(sig));
    proxy.stop();
    // Pipes close on their strands; nothing else keeps run() busy after that, but a client
    // stuck mid-handshake must not hold the process, so stop the loop outright.
    ioc.stop();
  });

  log_line("info proxy listening=" + to_string(proxy.listen_endpoint()) + " control=" +
           to_string(proxy.control_endpoint()) + " upstream=" + config.upstream_host + ":" +
           std::to_string(config.upstream_port) + " modes=" + describe_faults(config.initial));
  std::printf("listening on %s control %s\n", to_string(proxy.listen_endpoint()).c_str(),
              to_string(proxy.control_endpoint()).c_str());
  std::fflush(stdout);

  auto run = [&ioc] {
    // A handler threw: a bug. Logged loudly; the loop goes on for the others.
    io::run_io_context(ioc, [](std::string_view what) {
      log_line("error proxy bug=\"exception escaped a handler: " + std::string(what) + "\"");
      return true;
    });
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back(run);
  run();
  for (auto& t : pool)
    t.join();
  return 0;
}

}  // namespace steadyws::tools
