// `steadyws check`: the scenarios (check.hpp, docs/check.md). Each scenario drives one or more
// steadyws::Client ("probes") against the server, directly or through the in-process fault
// proxy, records what the clients report with steady-clock times, and turns that into a
// ScenarioResult. Waiting is on conditions with deadlines; a deadline only bounds a failure.
#include "tools/check/check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>

#include "steadyws/client.hpp"
#include "steadyws/client_options.hpp"

#include "asio/run_loop.hpp"
#include "client/http_call.hpp"
#include "client/tls.hpp"
#include "client/url.hpp"
#include "tools/common/tls.hpp"
#include "tools/proxy/proxy.hpp"

namespace steadyws::tools {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Status = ScenarioResult::Status;

double ms_between(TimePoint a, TimePoint b) {
  return to_ms(b - a);
}

// Nearest-rank percentile of unsorted samples; 0 for none.
double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

double mean(const std::vector<double>& v) {
  if (v.empty())
    return 0;
  double s = 0;
  for (double x : v)
    s += x;
  return s / static_cast<double>(v.size());
}

// Mean |x[i] - x[i-1]|: the jitter QualityMonitor reports (quality_monitor.hpp).
double jitter(const std::vector<double>& v) {
  if (v.size() < 2)
    return 0;
  double s = 0;
  for (std::size_t i = 1; i < v.size(); ++i)
    s += std::abs(v[i] - v[i - 1]);
  return s / static_cast<double>(v.size() - 1);
}

std::string fmt(const char* f, double a) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

std::string ms_str(double v) {
  return fmt(v < 100 ? "%.2f ms" : "%.0f ms", v);
}

std::string percent_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// ---- where the server is -------------------------------------------------------------------

struct ServerUrl {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 80;
  std::string target;  // path (default /ws) plus query, token included when given
  bool tls = false;    // wss:// (or https://)
  std::string token;   // --token, sent as Bearer on the tool's own HTTP calls
  // wss://: the client context every connection of the run verifies the server with.
  std::shared_ptr<net::ssl::context> tls_ctx;
};

// ws[s]://HOST[:PORT][/path][?query] through the client library's parser (http[s]:// are
// taken as ws[s]://), then --token appended to the query.
ServerUrl parse_server_url(const CheckOptions& o) {
  auto e = client::parse_ws_url(o.url);
  if (!e)
    throw std::invalid_argument("check: \"" + o.url + "\": " + e.error() +
                                "; pass ws://HOST:PORT/ws or wss://HOST:PORT/ws");
  ServerUrl s;
  s.host = e->host;
  s.port = static_cast<std::uint16_t>(std::strtoul(e->port.c_str(), nullptr, 10));
  s.target = e->target;
  s.tls = e->tls;
  s.token = o.token;
  if (!o.token.empty())
    s.target += (s.target.find('?') == std::string::npos ? "?" : "&") + std::string("token=") +
                percent_encode(o.token);
  s.tls_ctx = tls_context_for(s.tls, o.ca_file, o.insecure);
  return s;
}

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// ---- one-shot HTTP (the tool's own calls: admin, sessions, publish) ------------------------

struct HttpAnswer {
  unsigned status = 0;  // 0: the request failed, see error
  std::string body;
  std::string error;
};

// One request with the client library's HttpCall (https:// for a wss:// server, verified like
// every other connection of the run), waited for on a loop of its own. The token goes as
// Bearer.
HttpAnswer http_call(const ServerUrl& s, http::verb verb, const std::string& target,
                     const std::string& body, std::chrono::milliseconds timeout = 3s) {
  client::Endpoint e;
  e.host = s.host;
  e.port = std::to_string(s.port);
  e.tls = s.tls;
  e.token = s.token;
  HttpAnswer a;
  net::io_context ioc;
  std::make_shared<client::HttpCall>(
      ioc, e, verb, target, body, timeout,
      [&a](boost::system::error_code ec, unsigned status, std::string b) {
        if (ec) {
          a.error = ec.message();
          return;
        }
        a.status = status;
        a.body = std::move(b);
      },
      s.tls_ctx)
      ->start();
  ioc.run();
  return a;
}

// True when a TCP connection to the server opens within `timeout`.
bool reachable(const ServerUrl& s, std::chrono::milliseconds timeout = 2s) {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(s.host, std::to_string(s.port)));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// ---- the server's memory, from /proc (local servers only) ---------------------------------

// The pid owning a listening TCP socket on `port`, or 0. Reads /proc/net/tcp{,6} for the
// socket's inode, then /proc/*/fd for the process holding it (same user only).
long find_listener_pid(std::uint16_t port) {
  std::set<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      ss >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || st != "0A")  // 0A = LISTEN
        continue;
      if (std::strtoul(local.substr(colon + 1).c_str(), nullptr, 16) == port)
        inodes.insert("socket:[" + inode + "]");
    }
  }
  if (inodes.empty())
    return 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr)
    return 0;
  long found = 0;
  const long self = static_cast<long>(::getpid());
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == self)
      continue;
    const std::string fd_dir = "/proc/" + std::string(e->d_name) + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr)
      continue;
    while (dirent* f = ::readdir(fds)) {
      char link[256];
      const std::string path = fd_dir + "/" + f->d_name;
      const auto n = ::readlink(path.c_str(), link, sizeof link - 1);
      if (n > 0 && inodes.count(std::string(link, static_cast<std::size_t>(n))) > 0) {
        found = pid;
        break;
      }
    }
    ::closedir(fds);
    if (found != 0)
      break;
  }
  ::closedir(proc);
  return found;
}

// VmRSS of `pid` in KiB, or nullopt.
std::optional<double> rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtod(line.c_str() + 6, nullptr);
  }
  return std::nullopt;
}

// ---- the fault proxy, in-process -----------------------------------------------------------

class ProxyRunner {
 public:
  ProxyRunner(const std::string& listen_host, const std::string& upstream_host,
              std::uint16_t upstream_port)
      : work_(net::make_work_guard(ioc_)) {
    ProxyConfig c;
    c.host = listen_host;
    c.upstream_host = upstream_host;
    c.upstream_port = upstream_port;
    c.quiet = true;  // its resets close every client at once: one line per fault, not per pair
    proxy_ = std::make_unique<Proxy>(ioc_, c);
    thread_ = std::thread([this] {
      io::run_io_context(ioc_, [](std::string_view what) {
        std::fprintf(stderr, "error check: BUG: proxy handler threw: %.*s\n",
                     static_cast<int>(what.size()), what.data());
        return true;
      });
    });
  }
  ~ProxyRunner() {
    proxy_->stop();
    work_.reset();
    thread_.join();
    proxy_.reset();
  }
  ProxyRunner(const ProxyRunner&) = delete;
  ProxyRunner& operator=(const ProxyRunner&) = delete;

  Proxy& proxy() { return *proxy_; }
  std::uint16_t port() const { return proxy_->listen_endpoint().port(); }

 private:
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::unique_ptr<Proxy> proxy_;
  std::thread thread_;
};

// ---- an idle connection, for memory-per-connection ---------------------------------------

using IdleWs = beast::websocket::stream<client::MaybeTlsStream>;

// Opens one WebSocket to the server (TLS first for wss://, verified like the probes) and reads
// its welcome, all within 5 s, on `ioc` (run here until done); the connection is then left
// idle. Null when a step failed.
std::unique_ptr<IdleWs> open_idle(net::io_context& ioc, const tcp::resolver::results_type& at,
                                  const ServerUrl& s) {
  auto ws = s.tls_ctx ? std::make_unique<IdleWs>(ioc, s.tls_ctx) : std::make_unique<IdleWs>(ioc);
  auto& tcp_layer = beast::get_lowest_layer(*ws);
  const std::string host = host_for_url(s.host) + ":" + std::to_string(s.port);
  beast::flat_buffer welcome;
  bool ok = false;
  const auto upgrade = [&] {
    ws->async_handshake(host, s.target, [&](const beast::error_code& ec) {
      if (!ec)
        ws->async_read(welcome, [&](const beast::error_code& e, std::size_t) { ok = !e; });
    });
  };
  tcp_layer.expires_after(5s);
  tcp_layer.async_connect(at, [&](const beast::error_code& ec, const tcp::endpoint&) {
    if (ec)
      return;
    if (!ws->next_layer().is_tls())
      return upgrade();
    ws->next_layer().async_tls_handshake(s.host, true, [&](const beast::error_code& e) {
      if (!e)
        upgrade();
    });
  });
  ioc.restart();
  ioc.run();
  if (!ok)
    return nullptr;
  tcp_layer.expires_never();
  return ws;
}

// ---- a recorded client ---------------------------------------------------------------------

struct Received {
  TimePoint at;
  std::string id;
  json::value data;
  bool via_fallback = false;
};

struct Ack {
  TimePoint at;
  std::string id;
};

struct Health {
  TimePoint at;
  QualityMetrics metrics;
};

// A steadyws::Client whose callbacks record, with steady-clock times, what happened. The
// recorded vectors are guarded by mu; wait() evaluates its predicate under it.
class Probe {
 public:
  Probe(const std::string& url, ClientOptions o) {
    o.urls = {url};
    o.on_state_change = [this](const Transition& t) {
      record([&] { transitions.push_back(t); });
    };
    o.on_message = [this](const ReceivedMessage& m) {
      const TimePoint now = Clock::now();
      record([&] { messages.push_back({now, m.id, m.data, m.via_fallback}); });
    };
    o.on_ack = [this](const std::string& id, const std::string&, std::uint64_t) {
      const TimePoint now = Clock::now();
      record([&] { acks.push_back({now, id}); });
    };
    o.on_fallback_activated = [this](bool active) {
      const TimePoint now = Clock::now();
      record([&] { fallback.emplace_back(now, active); });
    };
    o.on_health_update = [this](const QualityMetrics& m) {
      const TimePoint now = Clock::now();
      record([&] { health.push_back({now, m}); });
    };
    o.on_recovered = [this](const std::string&, bool ok) {
      record([&] { unrecovered += ok ? 0 : 1; });
    };
    client_ = std::make_unique<Client>(std::move(o));
  }
  // The client goes first: no callback runs after its destructor returns.
  ~Probe() { client_.reset(); }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  Client& client() { return *client_; }

  // Waits until pred() (called under mu) holds, at most `deadline`. Returns pred().
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu);
    return cv_.wait_for(lock, deadline, pred);
  }

  // Waits for a transition to `to` at index >= from_index; returns its time.
  std::optional<TimePoint> wait_state(State to, std::size_t from_index,
                                      std::chrono::milliseconds deadline) {
    std::optional<TimePoint> at;
    wait(
        [&] {
          for (std::size_t i = from_index; i < transitions.size(); ++i) {
            if (transitions[i].to == to) {
              at = transitions[i].at;
              return true;
            }
          }
          return false;
        },
        deadline);
    return at;
  }

  std::size_t transition_count() {
    std::lock_guard lock(mu);
    return transitions.size();
  }

  std::mutex mu;
  std::vector<Transition> transitions;
  std::vector<Received> messages;
  std::vector<Ack> acks;
  std::vector<std::pair<TimePoint, bool>> fallback;
  std::vector<Health> health;
  int unrecovered = 0;

 private:
  template <class F>
  void record(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv_.notify_all();
  }

  std::condition_variable cv_;
  std::unique_ptr<Client> client_;  // last: destroyed first
};

// Options every probe starts from: no fallback (a scenario about the WebSocket must not pass
// on polling), unlimited retries, 5 s per attempt, wss:// verified as the user said.
ClientOptions probe_options(const CheckOptions& c) {
  ClientOptions o;
  o.ca_file = c.ca_file;
  o.insecure = c.insecure;
  o.enable_fallback = false;
  o.max_reconnect_attempts = 0;
  o.connect_timeout = 5000ms;
  return o;
}

ScenarioResult make(const char* name, const char* unit, std::string criterion,
                    std::string target = {}) {
  ScenarioResult r;
  r.name = name;
  r.unit = unit;
  r.criterion = std::move(criterion);
  r.target = std::move(target);
  return r;
}

void set_value(ScenarioResult& r, double v) {
  r.measured = true;
  r.value = v;
}

// ---- the suite -----------------------------------------------------------------------------

class Suite {
 public:
  explicit Suite(const CheckOptions& o) : o_(o), server_(parse_server_url(o)) {
    std::random_device rd;
    run_id_ = std::to_string(rd() % 100000000u);  // channels of two runs never meet
  }

  // ws://: the proxy listens on 127.0.0.1. wss://: it forwards the TLS bytes unchanged (it is
  // TCP-level), so the probes behind it must still check the certificate against the URL's
  // host: the proxy listens on the loopback address that host resolves to and the proxied URL
  // keeps the host name. A host that does not resolve to this machine cannot be proxied so
  // (the probe would verify 127.0.0.1 against the certificate): an error saying --no-proxy.
  void start_proxy() {
    std::string listen = "127.0.0.1";
    if (server_.tls) {
      listen.clear();
      net::io_context ioc;
      tcp::resolver resolver(ioc);
      for (const auto& r : resolver.resolve(server_.host, std::to_string(server_.port)))
        if (r.endpoint().address().is_loopback()) {
          listen = r.endpoint().address().to_string();
          break;
        }
      if (listen.empty())
        throw std::invalid_argument(
            "check: wss:// through the fault proxy needs a server on this machine (" +
            server_.host +
            " is not a loopback address, and the probes behind the proxy check the "
            "certificate against it); pass --no-proxy to check a remote server");
    }
    proxy_ = std::make_unique<ProxyRunner>(listen, server_.host, server_.port);
  }

  std::string scheme() const { return server_.tls ? "wss://" : "ws://"; }
  std::string direct_url() const {
    return scheme() + host_for_url(server_.host) + ":" + std::to_string(server_.port) +
           server_.target;
  }
  std::string proxied_url() const {
    if (!proxy_)
      return direct_url();
    const std::string host = server_.tls ? host_for_url(server_.host) : "127.0.0.1";
    return scheme() + host + ":" + std::to_string(proxy_->port()) + server_.target;
  }
  ClientOptions base_options() const { return probe_options(o_); }
  bool tls() const { return server_.tls; }
  std::string channel(const char* tag) const { return "check." + run_id_ + "." + tag; }
  bool has_proxy() const { return proxy_ != nullptr; }
  bool server_reachable() const { return reachable(server_); }

  // ---- scenarios ----

  ScenarioResult basic() {
    auto r = make("basic-connectivity", "ms", "connect + publish/receive < 5000 ms");
    const auto ch = channel("basic");
    ClientOptions opts = base_options();
    opts.reconnect_interval = 200ms;
    Probe p(direct_url(), opts);
    const TimePoint t0 = Clock::now();
    p.client().subscribe(ch);
    p.client().connect();
    const auto connected = p.wait_state(State::connected, 0, 5s);
    if (!connected) {
      r.detail = "not connected within 5 s" + last_reason(p) + tls_reason();
      return r;
    }
    set_value(r, ms_between(t0, *connected));
    const TimePoint t_pub = Clock::now();
    p.client().publish(ch, json::object{{"check", "basic"}}, "basic-1");
    std::optional<TimePoint> got, acked;
    p.wait(
        [&] {
          for (const auto& m : p.messages)
            if (m.id == "basic-1")
              got = m.at;
          for (const auto& a : p.acks)
            if (a.id == "basic-1")
              acked = a.at;
          return got && acked;
        },
        std::chrono::milliseconds(5000) -
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0));
    if (!got || !acked) {
      r.detail = std::string("connected in ") + ms_str(r.value) + " but the own publish was " +
                 (got     ? "delivered, not acked"
                  : acked ? "acked, not delivered"
                          : "lost") +
                 " within 5 s";
      return r;
    }
    r.detail = "connected in " + ms_str(r.value) + "; publish -> ack " +
               ms_str(ms_between(t_pub, *acked)) + ", publish -> delivery " +
               ms_str(ms_between(t_pub, *got));
    r.status = ms_between(t0, *got) < 5000 ? Status::pass : Status::fail;
    return r;
  }

  ScenarioResult latency() {
    auto r = make("latency", "ms", "mean < 100 ms", "mean < 50 ms");
    const auto ch = channel("latency");
    Probe p(direct_url(), base_options());
    p.client().subscribe(ch);
    p.client().connect();
    if (!p.wait_state(State::connected, 0, 5s)) {
      r.detail = "not connected within 5 s" + last_reason(p);
      return r;
    }
    std::vector<double> rtts;
    for (unsigned i = 0; i <= o_.latency_samples; ++i) {  // trip 0 warms up, not counted
      const TimePoint t = Clock::now();
      const std::size_t before = message_count(p);
      p.client().publish(ch, json::object{{"i", i}}, "lat-" + std::to_string(i));
      std::optional<TimePoint> at;
      p.wait(
          [&] {
            if (p.messages.size() <= before)
              return false;
            at = p.messages[before].at;
            return true;
          },
          5s);
      if (!at) {
        r.detail = "trip " + std::to_string(i) + " not delivered within 5 s";
        return r;
      }
      if (i > 0)
        rtts.push_back(ms_between(t, *at));
    }
    set_value(r, mean(rtts));
    const double p99 = percentile(rtts, 99);
    r.target_met = r.value < 50;
    r.status = r.value < 100 ? Status::pass : Status::fail;
    r.detail = "publish -> delivery over " + std::to_string(rtts.size()) + " trips: p50 " +
               ms_str(percentile(rtts, 50)) + ", p99 " + ms_str(p99) + ", max " +
               ms_str(percentile(rtts, 100)) + ", jitter " + ms_str(jitter(rtts));
    return r;
  }

  // Two rows: delivery success (criterion) and throughput (ORIGIN's target, also the
  // criterion of its row: ORIGIN sets no lower bar for it).
  std::vector<ScenarioResult> high_frequency() {
    auto r = make("high-frequency-messaging", "%", "> 99 % delivered once");
    auto t = make("high-frequency-throughput", "msg/s", "> 1000 msg/s", "> 1000 msg/s");
    const auto ch = channel("burst");
    const unsigned pubs = std::max(1u, o_.publishers);
    const unsigned per = std::max(1u, o_.messages / pubs);
    const std::size_t total = std::size_t{per} * pubs;

    Probe sub(direct_url(), base_options());
    sub.client().subscribe(ch);
    sub.client().connect();
    std::vector<std::unique_ptr<Probe>> publishers;
    for (unsigned i = 0; i < pubs; ++i) {
      ClientOptions opts = base_options();
      opts.queue.max_messages = per + 16;
      opts.queue.max_bytes = std::size_t{per + 16} * 256;
      // A publish the server rate-limits is resent after this; 1 s keeps a run short.
      opts.ack_timeout = 1000ms;
      publishers.push_back(std::make_unique<Probe>(direct_url(), opts));
      publishers.back()->client().connect();
    }
    bool up = sub.wait_state(State::connected, 0, 5s).has_value();
    for (auto& p : publishers)
      up = up && p->wait_state(State::connected, 0, 5s).has_value();
    if (!up || !warm_up(*publishers.front(), sub, ch)) {
      r.detail = t.detail = "clients not connected and subscribed within 5 s";
      return {r, t};
    }
    const std::size_t warm = message_count(sub);
    const TimePoint t0 = Clock::now();
    std::size_t refused = 0;
    for (unsigned k = 0; k < per; ++k) {
      for (unsigned i = 0; i < pubs; ++i) {
        const auto res =
            publishers[i]->client().publish(ch, json::object{{"p", i}, {"k", k}},
                                            "hf-" + std::to_string(i) + "-" + std::to_string(k));
        refused += res.status != Enqueue::accepted;
      }
    }
    sub.wait([&] { return sub.messages.size() >= warm + total; }, 10s);
    std::set<std::string> ids;
    std::size_t dups = 0, reordered = 0;
    std::vector<std::int64_t> last_k(pubs, -1);
    TimePoint t_last = t0;
    {
      std::lock_guard lock(sub.mu);
      for (std::size_t i = warm; i < sub.messages.size(); ++i) {
        const auto& m = sub.messages[i];
        if (!ids.insert(m.id).second) {
          ++dups;
          continue;
        }
        t_last = m.at;
        const auto* o = m.data.if_object();
        if (o == nullptr || !o->contains("p") || !o->contains("k"))
          continue;
        const auto pi = o->at("p").to_number<std::int64_t>();
        const auto k = o->at("k").to_number<std::int64_t>();
        if (pi >= 0 && pi < static_cast<std::int64_t>(pubs)) {
          reordered += k < last_k[static_cast<std::size_t>(pi)];
          last_k[static_cast<std::size_t>(pi)] = k;
        }
      }
    }
    const double elapsed_s = std::max(1e-6, to_ms(t_last - t0) / 1000.0);
    set_value(r, 100.0 * static_cast<double>(ids.size()) / static_cast<double>(total));
    set_value(t, static_cast<double>(ids.size()) / elapsed_s);
    r.status = r.value > 99 && dups == 0 && reordered == 0 ? Status::pass : Status::fail;
    t.target_met = t.value > 1000;
    t.status = t.target_met ? Status::pass : Status::fail;
    r.detail = std::to_string(ids.size()) + "/" + std::to_string(total) + " delivered from " +
               std::to_string(pubs) + " publishers, " + std::to_string(dups) + " duplicated, " +
               std::to_string(reordered) + " out of order" +
               (refused > 0 ? ", " + std::to_string(refused) + " refused by the client queue" : "");
    t.detail = std::to_string(ids.size()) + " messages in " + ms_str(elapsed_s * 1000) +
               ", publish of the first to delivery of the last, one subscriber";
    return {r, t};
  }

  ScenarioResult stability() {
    auto r = make("connection-stability", "%", "> 99 % connected", ">= 99.9 %");
    ClientOptions opts = base_options();
    opts.heartbeat_interval = o_.heartbeat_interval;
    opts.heartbeat_timeout = o_.heartbeat_timeout;
    opts.reconnect_interval = 200ms;
    Probe p(direct_url(), opts);
    p.client().connect();
    const auto start = p.wait_state(State::connected, 0, 5s);
    if (!start) {
      r.detail = "not connected within 5 s" + last_reason(p);
      return r;
    }
    const TimePoint end = *start + o_.duration;
    std::this_thread::sleep_until(end);
    // Connected time inside [start, end], from the recorded transitions.
    double down_ms = 0;
    std::size_t drops = 0, samples = 0;
    double loss = 0;
    {
      std::lock_guard lock(p.mu);
      // A flag and a time rather than optional<TimePoint>: g++ 12 warns maybe-uninitialized
      // on the optional at -O2.
      bool down = false;
      TimePoint down_since{};
      for (const auto& tr : p.transitions) {
        if (tr.at <= *start || tr.at > end)
          continue;
        if (tr.from == State::connected && !down) {
          down = true;
          down_since = tr.at;
          ++drops;
        } else if (tr.to == State::connected && down) {
          down_ms += ms_between(down_since, tr.at);
          down = false;
        }
      }
      if (down)
        down_ms += ms_between(down_since, end);
      for (const auto& h : p.health)
        samples += h.at > *start && h.at <= end;
      if (!p.health.empty())
        loss = p.health.back().metrics.packet_loss;
    }
    const double total_ms = to_ms(o_.duration);
    set_value(r, 100.0 * (total_ms - down_ms) / total_ms);
    r.target_met = r.value >= 99.9;
    const bool heartbeats_ok = samples > 0 && loss <= 1.0;
    r.status = r.value > 99 && heartbeats_ok ? Status::pass : Status::fail;
    r.detail = fmt("%.1f s watched, ", total_ms / 1000) + std::to_string(drops) + " drops; " +
               std::to_string(samples) + " heartbeats (every " +
               std::to_string(o_.heartbeat_interval.count()) + " ms), " +
               fmt("%.1f %% unanswered", loss) +
               fmt("; client reliability score %.1f", p.client().connection_reliability());
    if (samples == 0)
      r.detail += "; no heartbeat was answered";
    return r;
  }

  ScenarioResult reconnection() {
    auto r = make("reconnection-resilience", "ms", "max < 5000 ms", "max < 3000 ms");
    const auto ch = channel("reconnect");
    ClientOptions opts = base_options();
    opts.reconnect_interval = o_.reconnect_interval;
    Probe p(proxied_url(), opts);
    p.client().subscribe(ch);
    p.client().connect();
    if (!p.wait_state(State::connected, 0, 5s)) {
      r.detail = "not connected within 5 s" + last_reason(p);
      return r;
    }
    std::vector<double> times;
    std::string failure;
    for (unsigned i = 0; i < o_.disconnects; ++i) {
      std::this_thread::sleep_for(200ms);  // let the link settle: subscribed, one write done
      const std::size_t n = p.transition_count();
      const TimePoint cut = Clock::now();
      std::string why;
      if (!force_disconnect(ch, why)) {
        failure = "disconnect " + std::to_string(i + 1) + " not applied: " + why;
        break;
      }
      const auto back = p.wait_state(State::connected, n, 15s);
      if (!back) {
        failure = "not reconnected within 15 s after disconnect " + std::to_string(i + 1) +
                  last_reason(p);
        break;
      }
      times.push_back(ms_between(cut, *back));
    }
    if (!times.empty())
      set_value(r, percentile(times, 100));
    r.target_met = r.measured && r.value < 3000;
    r.status = failure.empty() && r.measured && r.value < 5000 ? Status::pass : Status::fail;
    r.detail = std::to_string(times.size()) + "/" + std::to_string(o_.disconnects) +
               " forced disconnects (" + cut_method() + "), p50 " + ms_str(percentile(times, 50)) +
               ", max " + ms_str(percentile(times, 100)) + " (backoff " +
               std::to_string(o_.reconnect_interval.count()) + " ms ± 1000 ms)";
    if (!failure.empty())
      r.detail += "; " + failure;
    return r;
  }

  ScenarioResult continuity() {
    auto r = make("message-continuity", "errors", "0 lost, duplicated or reordered");
    const auto ch = channel("continuity");
    ClientOptions opts = base_options();
    // Correctness, not speed, is measured here: a short backoff keeps the run short.
    opts.reconnect_interval = 200ms;
    opts.jitter = 100ms;
    Probe sub(proxied_url(), opts);
    sub.client().subscribe(ch);
    sub.client().connect();
    ClientOptions popts = opts;
    popts.queue.max_messages = o_.continuity_messages + 16;
    Probe pub(proxied_url(), popts);
    pub.client().connect();
    if (!sub.wait_state(State::connected, 0, 5s) || !pub.wait_state(State::connected, 0, 5s) ||
        !warm_up(pub, sub, ch)) {
      r.detail = "clients not connected and subscribed within 5 s" + last_reason(sub);
      return r;
    }
    const std::size_t warm = message_count(sub);
    const unsigned n = std::max(1u, o_.continuity_messages);
    const unsigned k = o_.continuity_disconnects;
    unsigned cuts = 0;
    std::string failure;
    for (unsigned i = 0; i < n; ++i) {
      if (k > 0 && cuts < k &&
          i == static_cast<unsigned>(std::uint64_t{n} * (cuts + 1) / (k + 1))) {
        std::string why;
        if (force_disconnect(ch, why))
          ++cuts;
        else
          failure = "disconnect not applied: " + why;
      }
      pub.client().publish(ch, json::object{{"i", i}}, "cont-" + std::to_string(i));
      std::this_thread::sleep_for(10ms);
    }
    sub.wait([&] { return sub.messages.size() >= warm + n; }, 20s);
    std::this_thread::sleep_for(200ms);  // a late duplicate would show up now
    std::vector<std::int64_t> seen;
    int unrecovered = 0;
    {
      std::lock_guard lock(sub.mu);
      for (std::size_t i = warm; i < sub.messages.size(); ++i) {
        const auto* o = sub.messages[i].data.if_object();
        if (o != nullptr && o->contains("i"))
          seen.push_back(o->at("i").to_number<std::int64_t>());
      }
      unrecovered = sub.unrecovered;
    }
    std::set<std::int64_t> unique(seen.begin(), seen.end());
    const std::size_t dups = seen.size() - unique.size();
    std::size_t lost = 0;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i)
      lost += unique.count(i) == 0;
    std::size_t reordered = 0;
    std::int64_t high = -1;
    for (auto v : seen) {
      reordered += v < high;
      high = std::max(high, v);
    }
    const auto errors = lost + dups + reordered;
    set_value(r, static_cast<double>(errors));
    r.status = errors == 0 && cuts == k && failure.empty() ? Status::pass : Status::fail;
    r.detail = std::to_string(n) + " published, " + std::to_string(seen.size()) +
               " received across " + std::to_string(cuts) + " forced disconnects (" + cut_method() +
               "): " + std::to_string(lost) + " lost, " + std::to_string(dups) + " duplicated, " +
               std::to_string(reordered) + " out of order";
    if (unrecovered > 0)
      r.detail += ", " + std::to_string(unrecovered) + " resumes reported recovered:false";
    if (!failure.empty())
      r.detail += "; " + failure;
    return r;
  }

  ScenarioResult half_open() {
    const auto bound = o_.heartbeat_interval + o_.heartbeat_timeout;
    auto r = make("half-open-detection", "ms",
                  "<= " + std::to_string(bound.count()) + " ms (interval + timeout)");
    if (!proxy_) {
      r.status = Status::skip;
      r.detail = "needs the fault proxy (blackhole); not run with --no-proxy";
      return r;
    }
    ClientOptions opts = base_options();
    opts.heartbeat_interval = o_.heartbeat_interval;
    opts.heartbeat_timeout = o_.heartbeat_timeout;
    opts.max_missed_heartbeats = 1;  // the bound is one interval + one timeout
    opts.reconnect_interval = 200ms;
    Probe p(proxied_url(), opts);
    p.client().connect();
    if (!p.wait_state(State::connected, 0, 5s)) {
      r.detail = "not connected within 5 s" + last_reason(p);
      return r;
    }
    // Two answered heartbeats: the ping cycle runs. The blackhole then starts at a random
    // point of the cycle (20-80 %), like a real link dying at any moment.
    std::optional<TimePoint> pong;
    p.wait(
        [&] {
          if (p.health.size() < 2)
            return false;
          pong = p.health.back().at;
          return true;
        },
        bound * 3 + 2s);
    if (!pong) {
      r.detail = "no heartbeat answered within " + std::to_string((bound * 3 + 2s).count()) +
                 " ms before the fault";
      return r;
    }
    std::mt19937 rng(std::random_device{}());
    const double phase = std::uniform_real_distribution<double>(0.2, 0.8)(rng);
    std::this_thread::sleep_until(
        *pong + std::chrono::duration_cast<Clock::duration>(o_.heartbeat_interval * phase));
    const std::size_t n = p.transition_count();
    Faults f;
    f.blackhole = true;
    proxy_->proxy().set_faults(f);
    const TimePoint start = Clock::now();
    std::optional<TimePoint> detected;
    std::string reason;
    p.wait(
        [&] {
          for (std::size_t i = n; i < p.transitions.size(); ++i) {
            if (p.transitions[i].from == State::connected) {
              detected = p.transitions[i].at;
              reason = p.transitions[i].reason;
              return true;
            }
          }
          return false;
        },
        bound + 5s);
    proxy_->proxy().set_faults(Faults{});
    proxy_->proxy().reset_all();
    if (!detected) {
      r.detail =
          "the dead link was not detected within " + std::to_string((bound + 5s).count()) + " ms";
      return r;
    }
    set_value(r, ms_between(start, *detected));
    r.status = r.value <= to_ms(bound) ? Status::pass : Status::fail;
    r.detail = "blackhole at " + fmt("%.0f %%", phase * 100) + " of the ping cycle; client: \"" +
               reason + "\"";
    return r;
  }

  ScenarioResult fallback() {
    auto r = make("fallback-activation", "ms", "< 2000 ms");
    if (!proxy_) {
      r.status = Status::skip;
      r.detail = "needs the fault proxy (block_upgrades); not run with --no-proxy";
      return r;
    }
    if (server_.tls) {
      // The proxy forwards TLS bytes unchanged: it cannot see (and so cannot block) the
      // upgrade request inside them, and blocking the whole port would block the polls too.
      r.status = Status::skip;
      r.detail = "needs block_upgrades, which cannot see a request inside TLS; not run over wss://";
      return r;
    }
    const auto ch = channel("fallback");
    ClientOptions opts = base_options();
    opts.enable_fallback = true;
    opts.max_reconnect_attempts = 2;
    opts.reconnect_interval = 100ms;
    opts.jitter = 0ms;
    opts.connect_timeout = 2000ms;
    opts.long_poll_timeout = 5000ms;
    // The pause between two polls: ORIGIN's minimum (1 s, "excellent connections") rather than
    // its 5 s start, so the second message arrives within the scenario's wait.
    opts.fallback_poll_interval = 1000ms;
    Probe p(proxied_url(), opts);
    p.client().subscribe(ch);
    p.client().connect();
    if (!p.wait_state(State::connected, 0, 5s)) {
      r.detail = "not connected within 5 s" + last_reason(p);
      return r;
    }
    // The subscription must be confirmed before the cut: a channel whose `subscribed` never
    // arrived has no position, and its first poll starts from the server's "now".
    if (!warm_up(p, p, ch)) {
      r.detail = "own publish not delivered within 5 s before the fault";
      return r;
    }
    Faults f;
    f.block_upgrades = true;
    proxy_->proxy().set_faults(f);
    const TimePoint cut = Clock::now();
    proxy_->proxy().reset_all();
    p.client().publish(ch, json::object{{"fallback", "client"}}, "fb-client");
    std::optional<TimePoint> gave_up;
    p.wait(
        [&] {
          for (const auto& [at, active] : p.fallback)
            if (active)
              gave_up = at;
          return gave_up.has_value();
        },
        10s);
    if (!gave_up) {
      proxy_->proxy().set_faults(Faults{});
      r.detail = "the fallback did not activate within 10 s of blocking upgrades" + last_reason(p);
      return r;
    }
    // Someone else's publish, straight to the server: it must arrive by polling.
    const auto direct = http_call(
        server_, http::verb::post, "/api/publish",
        json::serialize(json::object{
            {"channel", ch}, {"data", json::object{{"fallback", "direct"}}}, {"id", "fb-direct"}}));
    std::optional<TimePoint> acked, polled_at;
    std::size_t polled = 0;
    p.wait(
        [&] {
          polled = 0;
          for (const auto& a : p.acks)
            if (a.id == "fb-client" && !acked)
              acked = a.at;
          for (const auto& m : p.messages) {
            if (!m.via_fallback || m.id.rfind("fb-", 0) != 0)
              continue;
            ++polled;
            if (!polled_at)
              polled_at = m.at;
          }
          return acked && polled >= 2;
        },
        8s);
    std::optional<TimePoint> first = acked;
    if (polled_at && (!first || *polled_at < *first))
      first = polled_at;
    proxy_->proxy().set_faults(Faults{});
    if (!first) {
      r.detail = "no HTTP exchange succeeded within 8 s of the fallback activating" +
                 std::string(o_.token.empty() ? "" : " (the client's HTTP calls carry no token)");
      return r;
    }
    set_value(r, ms_between(*gave_up, *first));
    r.status = r.value < 2000 ? Status::pass : Status::fail;
    const auto since_gave_up = [&](const std::optional<TimePoint>& t) {
      return t ? ms_str(ms_between(*gave_up, *t)) : std::string("never");
    };
    r.detail = "websocket gave up " + ms_str(ms_between(cut, *gave_up)) +
               " after the cut (upgrades blocked, 2 attempts); then publish acked over HTTP " +
               since_gave_up(acked) + ", first poll delivery " + since_gave_up(polled_at) + "; " +
               std::to_string(polled) + "/2 messages delivered by polling";
    if (direct.status != 200)
      r.detail += "; direct POST /api/publish answered " + std::to_string(direct.status) + " " +
                  direct.error;
    if (polled < 2 || !acked)
      r.status = Status::fail;
    return r;
  }

  ScenarioResult memory() {
    auto r = make("memory-per-connection", "KiB", "< 50 MiB per connection", "< 50 MiB");
    long pid = o_.server_pid;
    if (pid == 0)
      pid = find_listener_pid(server_.port);
    if (pid == 0 || !rss_kib(pid)) {
      r.status = Status::skip;
      r.detail =
          "n/a: the server's process is not visible here (remote, or another user); "
          "pass --server-pid";
      return r;
    }
    const auto before = rss_kib(pid);
    std::size_t opened = 0;
    {
      net::io_context ioc;
      tcp::resolver resolver(ioc);
      const auto endpoints = resolver.resolve(server_.host, std::to_string(server_.port));
      std::vector<std::unique_ptr<IdleWs>> conns;
      for (unsigned i = 0; i < o_.memory_connections; ++i) {
        auto ws = open_idle(ioc, endpoints, server_);
        if (!ws)
          break;
        conns.push_back(std::move(ws));
        ++opened;
      }
      std::this_thread::sleep_for(200ms);
      const auto after = rss_kib(pid);
      if (opened == 0 || !before || !after) {
        r.detail = "could not open connections to measure";
        return r;
      }
      set_value(r, std::max(0.0, (*after - *before) / static_cast<double>(opened)));
      r.detail = "server pid " + std::to_string(pid) + " RSS " + fmt("%.1f MiB", *before / 1024) +
                 " -> " + fmt("%.1f MiB", *after / 1024) + " with " + std::to_string(opened) +
                 (server_.tls ? " idle TLS" : " idle") + " connections open (welcome read)";
      for (auto& ws : conns) {
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(*ws).socket().close(ignored);
      }
    }
    r.target_met = r.value < 50 * 1024;
    r.status = opened == o_.memory_connections && r.target_met ? Status::pass : Status::fail;
    if (opened < o_.memory_connections)
      r.detail += "; only " + std::to_string(opened) + "/" + std::to_string(o_.memory_connections) +
                  " connections opened";
    return r;
  }

 private:
  static std::size_t message_count(Probe& p) {
    std::lock_guard lock(p.mu);
    return p.messages.size();
  }

  // wss://: why a TLS handshake with the server fails ("; tls HOST (ADDR:PORT): certificate
  // verify failed: hostname mismatch"), from one trial handshake; empty when it succeeds.
  std::string tls_reason() const {
    if (!server_.tls)
      return {};
    std::vector<tcp::endpoint> at;
    try {
      net::io_context ioc;
      for (const auto& e : tcp::resolver(ioc).resolve(server_.host, std::to_string(server_.port)))
        at.push_back(e.endpoint());
    } catch (const std::exception& e) {
      return std::string("; resolve: ") + e.what();
    }
    const auto why = tls_handshake_error(at, server_.host, server_.tls_ctx);
    return why ? "; " + *why : std::string();
  }

  static std::string last_reason(Probe& p) {
    std::lock_guard lock(p.mu);
    if (p.transitions.empty())
      return "";
    return " (last: " + std::string(to_string(p.transitions.back().to)) + ", \"" +
           p.transitions.back().reason + "\")";
  }

  // Publishes one message from `pub` until `sub` receives it: the subscription is active.
  // Returns once `sub` is subscribed to `ch` and no warm-up message is still on its way, so
  // message_count(sub) taken afterwards is a stable base. A subscription is live only after the
  // server has handled the subscribe frame: a publish from another client that overtakes it is
  // not delivered (a first subscribe has no `since`). So a warm-up message is published every
  // 250 ms until one arrives, then the last one published is awaited: the channel delivers in
  // seq order, so every earlier warm-up that will ever arrive has arrived by then.
  static bool warm_up(Probe& pub, Probe& sub, const std::string& ch,
                      std::chrono::milliseconds deadline = 5s) {
    const TimePoint end = Clock::now() + deadline;
    const auto arrived = [&](const std::string& id) {
      return std::any_of(sub.messages.begin(), sub.messages.end(),
                         [&](const Received& m) { return m.id == id; });
    };
    const auto any_arrived = [&] {
      return std::any_of(sub.messages.begin(), sub.messages.end(),
                         [&](const Received& m) { return m.id.starts_with("warm-" + ch + "-"); });
    };
    std::string last;
    for (unsigned k = 0; Clock::now() < end; ++k) {
      last = "warm-" + ch + "-" + std::to_string(k);
      pub.client().publish(ch, json::object{{"warm", k}}, last);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (sub.wait(any_arrived, std::clamp(left, 0ms, 250ms)))
        break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    return sub.wait([&] { return arrived(last); }, std::max(left, 0ms));
  }

  std::string cut_method() const { return proxy_ ? "proxy reset" : "POST /api/admin/disconnect"; }

  // The id of a connected session in /api/sessions' list subscribed to `ch`, or "".
  static std::string subscribed_session(const json::value& sessions, const std::string& ch) {
    std::string id;
    if (!sessions.is_array())
      return id;
    for (const auto& s : sessions.as_array()) {
      const auto* o = s.if_object();
      if (o == nullptr || !o->contains("subscriptions") || !o->contains("sessionId") ||
          !o->at("subscriptions").is_array() || !o->at("sessionId").is_string())
        continue;
      const auto* connected = o->if_contains("connected");
      if (connected != nullptr && connected->is_bool() && !connected->as_bool())
        continue;
      for (const auto& c : o->at("subscriptions").as_array())
        if (c.is_string() && c.as_string() == ch)
          id = json::value_to<std::string>(o->at("sessionId"));
    }
    return id;
  }

  // Cuts the connections of the scenario: every proxied connection (RST), or without the
  // proxy the server-side connection of the session subscribed to `ch`.
  bool force_disconnect(const std::string& ch, std::string& why) {
    if (proxy_) {
      if (proxy_->proxy().reset_all() > 0)
        return true;
      why = "the proxy had no connection to reset";
      return false;
    }
    // The session subscribed to `ch`: after a reconnect the new connection's subscribe may
    // not be handled yet, so the list is asked again every 50 ms, for 5 s at most.
    std::string id;
    const TimePoint give_up = Clock::now() + 5s;
    for (;;) {
      const auto sessions = http_call(server_, http::verb::get, "/api/sessions", "");
      if (sessions.status != 200) {
        why = "GET /api/sessions: " +
              (sessions.status ? std::to_string(sessions.status) : sessions.error);
        return false;
      }
      boost::system::error_code ec;
      const auto doc = json::parse(sessions.body, ec);
      if (ec || !doc.is_object() || !doc.as_object().contains("sessions")) {
        why = "GET /api/sessions: not the expected JSON";
        return false;
      }
      id = subscribed_session(doc.at("sessions"), ch);
      if (!id.empty())
        break;
      if (Clock::now() >= give_up) {
        why = "no connected session subscribed to " + ch + " within 5 s";
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    const auto res = http_call(server_, http::verb::post,
                               "/api/admin/disconnect?session=" + percent_encode(id), "");
    if (res.status != 200 || res.body.find("\"disconnected\":true") == std::string::npos) {
      why = "POST /api/admin/disconnect: " +
            (res.status ? std::to_string(res.status) + " " + res.body : res.error);
      return false;
    }
    return true;
  }

  const CheckOptions& o_;
  ServerUrl server_;
  std::string run_id_;
  std::unique_ptr<ProxyRunner> proxy_;
};

void progress(const CheckOptions& o, const std::string& line) {
  if (o.progress)
    std::fprintf(stderr, "check: %s\n", line.c_str());
}

}  // namespace

const std::vector<std::string>& check_scenario_names() {
  static const std::vector<std::string> names{"basic-connectivity",       "latency",
                                              "high-frequency-messaging", "connection-stability",
                                              "reconnection-resilience",  "message-continuity",
                                              "half-open-detection",      "fallback-activation",
                                              "memory-per-connection"};
  return names;
}

int run_check(const CheckOptions& options) {
  for (const auto& name : options.only) {
    const auto& all = check_scenario_names();
    if (std::find(all.begin(), all.end(), name) == all.end())
      throw std::invalid_argument("check: unknown scenario \"" + name + "\"");
  }
  Suite suite(options);
  const TimePoint t0 = Clock::now();
  CheckReport report;
  report.url = options.url;
  if (options.use_proxy) {
    suite.start_proxy();
    report.proxy = true;
  }
  const auto wanted = [&](const std::string& name) {
    return options.only.empty() ||
           std::find(options.only.begin(), options.only.end(), name) != options.only.end();
  };
  bool basic_ok = true;
  for (const auto& name : check_scenario_names()) {
    if (!wanted(name))
      continue;
    progress(options, name + " ...");
    std::vector<ScenarioResult> rows;
    const auto not_run = [&](const std::string& why) {
      ScenarioResult r;
      r.name = name;
      r.status = Status::fail;
      r.detail = "not run: " + why;
      rows.push_back(r);
    };
    if (!basic_ok) {
      not_run("basic connectivity failed");
    } else if (!suite.server_reachable()) {
      not_run("the server does not accept TCP connections");
    } else {
      try {
        if (name == "basic-connectivity")
          rows.push_back(suite.basic());
        else if (name == "latency")
          rows.push_back(suite.latency());
        else if (name == "high-frequency-messaging")
          rows = suite.high_frequency();
        else if (name == "connection-stability")
          rows.push_back(suite.stability());
        else if (name == "reconnection-resilience")
          rows.push_back(suite.reconnection());
        else if (name == "message-continuity")
          rows.push_back(suite.continuity());
        else if (name == "half-open-detection")
          rows.push_back(suite.half_open());
        else if (name == "fallback-activation")
          rows.push_back(suite.fallback());
        else if (name == "memory-per-connection")
          rows.push_back(suite.memory());
      } catch (const std::exception& e) {
        not_run(std::string("error: ") + e.what());
      }
    }
    if (name == "basic-connectivity" && !rows.empty())
      basic_ok = rows.front().status == Status::pass;
    for (auto& r : rows) {
      progress(options, r.name + " " + to_string(r.status) + " " + r.detail);
      report.scenarios.push_back(std::move(r));
    }
  }
  report.elapsed_s = to_ms(Clock::now() - t0) / 1000.0;
  const std::string out = options.json ? format_json(report) + "\n" : format_table(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return report.pass() ? 0 : 1;
}

}  // namespace steadyws::tools
