// `steadyws serve`: the listener, the I/O threads, the periodic sweeps and the drain.
//
// Threads: one io_context run by --threads threads; every connection (and the listener) has
// its own strand, so a connection's state needs no lock and there is no global lock on the
// message path. A watchdog thread (not an I/O thread) bounds the drain at 5 s.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "asio/run_loop.hpp"
#include "server/config.hpp"
#include "server/http_session.hpp"
#include "server/jwt_authenticator.hpp"
#include "server/metrics_history_sampler.hpp"
#include "server/routes.hpp"
#include "server/server_state.hpp"
#include "server/ws_session.hpp"

namespace steadyws::server {

namespace {

// CONTRACT §8: the verifier for --jwt-secret or --jwt-public-key, or none. Throws (startup)
// with a message that says what to do.
std::optional<auth::JwtVerifier> make_jwt_verifier(const ServerConfig& c) {
  if (c.jwt_secret.empty() && c.jwt_public_key_file.empty())
    return std::nullopt;
  if (!c.auth_token.empty())
    throw std::invalid_argument(
        "give either --auth-token or --jwt-secret/--jwt-public-key: the JWT is the client token");
  if (!c.jwt_secret.empty() && !c.jwt_public_key_file.empty())
    throw std::invalid_argument("give either --jwt-secret or --jwt-public-key, not both");
  if (!c.jwt_secret.empty())
    return auth::JwtVerifier::from_secret(c.jwt_secret, c.jwt_leeway);
  std::ifstream in(c.jwt_public_key_file, std::ios::binary);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    throw std::invalid_argument("cannot read --jwt-public-key " + c.jwt_public_key_file);
  return auth::JwtVerifier::from_public_key_pem(std::move(pem), c.jwt_leeway);
}

}  // namespace

ServerState::ServerState(const ServerConfig& c, boost::asio::io_context& io, unsigned threads,
                         std::uint64_t seed)
    : config(c),
      ioc(io),
      log(c.log_level),
      metrics(threads),
      hub(hub::make_memory_hub({c.history,
                                [seed] {
                                  char buf[17];
                                  std::snprintf(buf, sizeof buf, "%016llx",
                                                static_cast<unsigned long long>(seed));
                                  return std::string(buf, 8);
                                }(),
                                c.max_channels})),
      http_limiter({c.http_rate_limit, c.http_rate_burst, 65536}) {
  jwt = make_jwt_verifier(c);
  policy.allowed_origins = c.allowed_origins;
  policy.admin_token = c.admin_token;
  if (jwt)
    policy.authenticator = std::make_shared<JwtAuthenticator>(*jwt);
  else if (!c.auth_token.empty())
    policy.authenticator = std::make_shared<StaticTokenAuthenticator>(c.auth_token);
  policy.rate_limiter = &http_limiter;
  policy.rate_limit_loopback = c.http_rate_limit_loopback;
  if (c.redis.empty())
    return;
  // CONTRACT §5: one node of a cluster; the memory hub made above is dropped unused.
  auto url = hub::redis::parse_redis_url(c.redis);
  if (auto* err = std::get_if<std::string>(&url))
    throw std::runtime_error("serve: " + *err);
  hub::redis::RedisHubConfig rc;
  rc.url = std::get<hub::redis::RedisUrl>(url);
  if (c.node_id.empty()) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(seed >> 7));
    rc.node_id = std::string("node-") + std::string(buf, 8);
  } else {
    rc.node_id = c.node_id;
  }
  rc.history = c.history;
  rc.channel_ttl = c.channel_ttl;
  rc.max_channels = c.max_channels;
  rc.log = [this](hub::redis::Severity s, const std::string& line) {
    log.write(s == hub::redis::Severity::error  ? LogLevel::error
              : s == hub::redis::Severity::warn ? LogLevel::warn
                                                : LogLevel::info,
              line);
  };
  rc.connections = [this] {
    return connections.snapshot().size();
  };
  // CONTRACT §5: one connection per session, across the cluster as on one node.
  rc.session_taken = [this](const std::string& id) {
    if (auto conn = sessions.connection_of(id).lock())
      conn->drop("session " + id + " resumed on another node");
  };
  cluster = hub::redis::make_redis_hub(io, std::move(rc));
  hub = cluster;
}

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<ServerState> state)
      : ioc_(ioc),
        state_(std::move(state)),
        acceptor_(net::make_strand(ioc)),
        retry_(acceptor_.get_executor()) {}

  // Binds and listens; on failure returns the line to print (what to do), else "".
  std::string open(const std::string& host, std::uint16_t port) {
    beast::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec)
      return "serve: --host " + host + " is not an IP address; pass e.g. 127.0.0.1 or 0.0.0.0";
    const tcp::endpoint ep{address, port};
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (ec == net::error::address_in_use)
      return "serve: port " + std::to_string(port) +
             " in use; pass --port 0 or stop the other process";
    if (ec == net::error::access_denied)
      return "serve: port " + std::to_string(port) +
             " needs privileges; pass a port above 1023 or --port 0";
    if (ec == boost::system::errc::address_not_available)
      return "serve: " + host + " is not an address of this machine; pass 127.0.0.1 or 0.0.0.0";
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return "serve: cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
    return "";
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  void run() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
  }

  void stop() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->stopped_ = true;
      self->acceptor_.close(ignored);
      self->retry_.cancel();
    });
  }

 private:
  void do_accept() {
    if (stopped_)
      return;
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopped_)
      return;
    if (ec) {
      // EMFILE and friends: back off a little instead of spinning on the error.
      state_->log.warn("serve: accept failed error=" + quoted(ec.message()) +
                       "; raise the file limit (ulimit -n) or lower --max-connections");
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e)
          self->do_accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<HttpSession>(std::move(socket), state_)->run();
    do_accept();
  }

  net::io_context& ioc_;
  std::shared_ptr<ServerState> state_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  bool stopped_ = false;
};

// A node's address on /api/cluster without --advertise-url: where the listener is bound, with
// the real port (--port 0), e.g. ws://127.0.0.1:6011/ws or wss://[::1]:6011/ws.
std::string bound_url(const tcp::endpoint& ep, bool tls) {
  const std::string host =
      ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  return std::string(tls ? "wss://" : "ws://") + host + ":" + std::to_string(ep.port()) + "/ws";
}

// The periodic work: the dead-connection sweep (--cleanup-interval) and the session grace
// expiry. Runs on its own strand.
class Sweeper : public std::enable_shared_from_this<Sweeper> {
 public:
  Sweeper(net::io_context& ioc, std::shared_ptr<ServerState> state)
      : state_(std::move(state)),
        strand_(net::make_strand(ioc)),
        cleanup_(strand_),
        sessions_(strand_),
        channels_(strand_) {}

  void run() {
    arm_cleanup();
    arm_sessions();
    arm_channels();
  }

  void stop() {
    net::dispatch(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->cleanup_.cancel();
      self->sessions_.cancel();
      self->channels_.cancel();
    });
  }

 private:
  void arm_cleanup() {
    cleanup_.expires_after(std::max(state_->config.cleanup_interval, Duration{10}));
    cleanup_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopped_)
        return;
      self->cleanup();
      self->arm_cleanup();
    });
  }

  void cleanup() {
    // Anything the heartbeat should have caught: dead by the tracker, or silent longer than
    // the tracker could ever allow (every ping interval missed, plus the last timeout).
    const auto& c = state_->config;
    const Duration silence =
        c.heartbeat_interval * (c.max_missed_heartbeats + 1) + c.heartbeat_timeout;
    std::size_t removed = 0;
    for (const auto& conn : state_->connections.snapshot()) {
      if (!conn->is_alive()) {
        ++removed;
        state_->connections.remove(conn.get());
      }
      conn->sweep(silence);
    }
    state_->log.info("cleanup removed=" + std::to_string(removed) +
                     " connections=" + std::to_string(state_->connections.size()));
  }

  void arm_sessions() {
    // A quarter of the grace, between 100 ms and 5 s: a session outlives its grace by at most
    // that much.
    const Duration every =
        std::clamp(state_->config.session_grace / 4, Duration{100}, Duration{5000});
    sessions_.expires_after(every);
    sessions_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopped_)
        return;
      const auto now = Clock::now();
      const auto n = self->state_->sessions.expire(now, self->state_->config.session_grace);
      if (n > 0)
        self->state_->log.info("sessions expired=" + std::to_string(n));
      if (self->state_->cluster && now - self->sessions_renewed_ >= std::chrono::seconds(30)) {
        // CONTRACT §5: the sessions this node serves stay in Redis while they are connected.
        self->sessions_renewed_ = now;
        // A full write (not a touch), so a record Redis lost (a restart, a flush) comes back.
        for (const auto& s : self->state_->sessions.connected_to_store())
          self->state_->cluster->save_session(s.id, s.token_sha256, s.subscriptions,
                                              stored_session_ttl(self->state_->config), false);
      }
      self->arm_sessions();
    });
  }

  // Every --channel-ttl (at least 100 ms): the hub removes the channels idle since the
  // previous sweep (so after between one and two TTLs without a subscriber or a use).
  void arm_channels() {
    if (state_->config.channel_ttl.count() <= 0)
      return;
    channels_.expires_after(std::max(state_->config.channel_ttl, Duration{100}));
    channels_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopped_)
        return;
      const std::size_t n = self->state_->hub->expire_idle();
      if (n > 0)
        self->state_->log.info("channels expired=" + std::to_string(n) +
                               " channels=" + std::to_string(self->state_->hub->counts().channels));
      self->arm_channels();
    });
  }

  TimePoint sessions_renewed_{};
  std::shared_ptr<ServerState> state_;
  net::strand<net::io_context::executor_type> strand_;
  net::steady_timer cleanup_;
  net::steady_timer sessions_;
  net::steady_timer channels_;
  bool stopped_ = false;
};

// Bounds the drain: ioc.stop() if the work has not run out in time. Not an I/O thread.
class Watchdog {
 public:
  explicit Watchdog(net::io_context& ioc) : ioc_(ioc) {}
  ~Watchdog() { disarm(); }

  void arm(std::chrono::milliseconds deadline, const Log& log) {
    const std::lock_guard<std::mutex> g(mu_);
    if (thread_.joinable())
      return;
    thread_ = std::thread([this, deadline, &log] {
      std::unique_lock<std::mutex> lk(mu_);
      if (!cv_.wait_for(lk, deadline, [this] { return done_; })) {
        log.warn("serve: drain did not finish in " + std::to_string(deadline.count()) +
                 " ms; stopping anyway");
        ioc_.stop();
      }
    });
  }

  void disarm() {
    {
      const std::lock_guard<std::mutex> g(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

 private:
  net::io_context& ioc_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

int run(const ServerConfig& config) {
  unsigned threads = config.threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());

  net::io_context ioc(static_cast<int>(threads));
  std::random_device rd;
  const std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  auto state = std::make_shared<ServerState>(config, ioc, threads, seed);
  if (!config.tls_cert.empty() || !config.tls_key.empty()) {
    // CONTRACT §6: a missing, unreadable or mismatched file stops the start, naming it.
    auto ctx = load_tls_context(config.tls_cert, config.tls_key);
    if (!ctx) {
      state->log.error("serve: " + ctx.error() + "; fix the file or start without TLS");
      return 1;
    }
    state->log.info("serve: tls cert=" + config.tls_cert + " serial=" + certificate_serial(**ctx));
    state->tls = std::make_shared<TlsContexts>(config.tls_cert, config.tls_key, std::move(*ctx));
  }

  auto listener = std::make_shared<Listener>(ioc, state);
  if (auto err = listener->open(config.host, config.port); !err.empty()) {
    state->log.error(err);
    return 1;
  }
  listener->run();
  if (state->cluster) {
    state->cluster->set_address(config.advertise_url.empty()
                                    ? bound_url(listener->endpoint(), state->tls != nullptr)
                                    : config.advertise_url);
    state->cluster->start();
    state->log.info("serve: cluster node=" + state->cluster->node_id());
  }
  auto sweeper = std::make_shared<Sweeper>(ioc, state);
  sweeper->run();
  auto history = std::make_shared<MetricsHistorySampler>(state);
  history->run();

  Watchdog watchdog(ioc);
  // OpenSSL writes TLS records with write(2), not send(2) with MSG_NOSIGNAL as Asio does:
  // a write to a connection the peer has closed must fail with EPIPE, not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  // CONTRACT §6: SIGHUP reloads the certificate and key; connections already open keep the
  // context they were accepted with. Without TLS there is nothing to reload (logged).
  net::signal_set hup(ioc, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](beast::error_code ec, int) {
      if (ec)
        return;
      if (!state->tls) {
        state->log.info("serve: SIGHUP ignored: no --tls-cert to reload");
      } else {
        std::string serial;
        const std::string why = state->tls->reload(serial);
        if (why.empty())
          state->log.info("serve: tls reloaded cert=" + state->tls->cert_file() +
                          " serial=" + serial);
        else
          state->log.error("serve: tls reload failed, keeping the previous certificate: " + why);
      }
      wait_hup();
    });
  };
  wait_hup();
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&, listener, sweeper, history](beast::error_code ec, int sig) {
    if (ec)
      return;
    beast::error_code hup_ignored;
    hup.cancel(hup_ignored);
    // CONTRACT §1: stop accepting, close every WebSocket with 1001 and a spread reconnect
    // hint, answer pending polls, exit 0 within 5 s.
    watchdog.arm(std::chrono::milliseconds(4500), state->log);
    state->draining.store(true);
    listener->stop();
    sweeper->stop();
    if (state->cluster)
      state->cluster->stop();
    history->stop();
    auto conns = state->connections.snapshot();
    state->log.info("serve: draining signal=" + std::to_string(sig) +
                    " connections=" + std::to_string(conns.size()) +
                    " spread_ms=" + std::to_string(config.drain_spread.count()));
    for (std::size_t i = 0; i < conns.size(); ++i)
      conns[i]->close_for_drain(retry_after_ms(i, conns.size(), config.drain_spread));
    for (const auto& h : state->http.snapshot())
      h->stop();
    // A second signal now gets the default action (terminate).
    beast::error_code ignored;
    signals.clear(ignored);
  });

  std::printf("listening on %s:%u\n", config.host.c_str(), listener->port());
  std::fflush(stdout);
  state->log.info("serve: listening host=" + config.host + " port=" +
                  std::to_string(listener->port()) + " threads=" + std::to_string(threads));

  // An exception that escapes a handler is a bug: logged loudly, the loop goes on.
  auto runner = [&ioc, &state] {
    io::run_io_context(ioc, [&state](std::string_view what) {
      state->log.error("serve: BUG: exception escaped a handler: " + std::string(what) +
                       "; please report it");
      return true;
    });
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i)
    pool.emplace_back(runner);
  runner();
  for (auto& t : pool)
    t.join();
  watchdog.disarm();
  state->log.info("serve: stopped");
  return 0;
}

}  // namespace steadyws::server
