// `steadyws soak` (soak.hpp). Three threads: the proxy's loop, the clients' loop, and the
// main thread, which injects faults, samples memory and prints progress. Client state is
// touched only on the clients' loop (the main thread asks through on_loop).
#include "tools/load/soak.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "asio/run_loop.hpp"
#include "client/url.hpp"
#include "tools/common/tls.hpp"
#include "tools/load/bench_client.hpp"
#include "tools/load/bench_frame.hpp"
#include "tools/load/bench_server.hpp"
#include "tools/proxy/proxy.hpp"

namespace steadyws::tools {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
using bench::on_loop;
using bench::SteadyClock;
using boost::system::error_code;
using tcp = net::ip::tcp;

// FNV-1a over the ids in seq order: equal hashes mean the same messages in the same order.
std::uint64_t fnv(std::uint64_t h, std::string_view s) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  h ^= 0xFF;  // separator, so ("ab","c") != ("a","bc")
  h *= 1099511628211ull;
  return h;
}
constexpr std::uint64_t kFnvBasis = 14695981039346656037ull;

// A blackhole lasts U(0.5, 3) s; plan_history() budgets the longest one.
constexpr double kBlackholeMin_s = 0.5;
constexpr double kBlackholeMax_s = 3.0;
// The clients' connect timeout (welcome included), set on the ClientEnv: an attempt made into
// a blackhole waits this long at most.
constexpr std::chrono::milliseconds kConnectTimeout{10000};

// The string value of `key` (e.g. "\"id\":\"") up to the next quote, or empty.
std::string_view find_str(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  if (at == std::string_view::npos)
    return {};
  const auto start = at + key.size();
  const auto end = text.find('"', start);
  return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
}

// What can go wrong; each is a reason to fail.
struct SoakErrors {
  std::uint64_t lost = 0;              // seqs a subscriber skipped or never got
  std::uint64_t duplicated = 0;        // seqs a subscriber got twice (or going back)
  std::uint64_t content_mismatch = 0;  // subscribers whose id sequence differs from the acks
  std::uint64_t unrecovered = 0;       // resubscribes answered recovered:false
  std::uint64_t epoch_changed = 0;     // the server lost a channel's history
  std::uint64_t double_acked = 0;      // one id acked with two different seqs
  std::uint64_t unacked = 0;           // publishes without an ack at the end
  std::uint64_t seq_holes = 0;         // seqs of a channel nobody was acked for
  std::uint64_t server_errors = 0;     // {"type":"error"} frames
  std::uint64_t protocol = 0;          // malformed frames
  std::uint64_t not_subscribed = 0;    // subscribers without a first `subscribed`

  std::uint64_t total() const {
    return lost + duplicated + content_mismatch + unrecovered + epoch_changed + double_acked +
           unacked + seq_holes + server_errors + protocol + not_subscribed;
  }
  json::object to_json() const {
    return {{"total", total()},
            {"lost", lost},
            {"duplicated", duplicated},
            {"content_mismatch", content_mismatch},
            {"unrecovered", unrecovered},
            {"epoch_changed", epoch_changed},
            {"double_acked", double_acked},
            {"unacked", unacked},
            {"seq_holes", seq_holes},
            {"server_errors", server_errors},
            {"protocol", protocol},
            {"not_subscribed", not_subscribed}};
  }
};

// Loop-thread state of the run.
struct SoakState {
  std::vector<std::string> channels;
  bool publishing = false;
  SteadyClock::time_point publish_start{};
  double rate_per_publisher = 0;
  SoakErrors errors;
  std::string first_error;
  std::uint64_t deliveries = 0;
  std::uint64_t replayed = 0;    // messages replayed by recovered resubscribes
  std::uint64_t max_replay = 0;  // the largest single replay: the history a resume needed
  double oldest_resend_s = 0;    // the oldest unacked publish resent on a new link, s
  std::uint64_t subscribed_once = 0;

  void note(std::string what) {
    if (first_error.empty())
      first_error = std::move(what);
  }
};

class Subscriber final : public bench::ReconnectingClient {
 public:
  Subscriber(bench::ClientEnv& env, std::uint64_t seed, SoakState& st, std::size_t channel)
      : ReconnectingClient(env, seed), st_(st), channel_(channel) {}

  std::size_t channel() const { return channel_; }
  std::uint64_t last_seq() const { return last_seq_; }
  std::uint64_t hash() const { return hash_; }
  bool ever_subscribed() const { return !epoch_.empty(); }

 private:
  void on_open(std::string_view /*welcome*/, SteadyClock::time_point /*now*/) override {
    // docs/client.md "Resume": re-subscribe with the last delivered seq and its epoch.
    std::string sub = R"({"type":"subscribe","channel":")" + st_.channels[channel_] + "\"";
    sub += ",\"since\":" + std::to_string(last_seq_);
    if (!epoch_.empty())
      sub += ",\"epoch\":\"" + epoch_ + "\"";
    sub += "}";
    subscribed_ = false;
    send_text(sub);
  }

  void on_text(std::string_view payload, SteadyClock::time_point /*now*/) override {
    const auto type = bench::find_type(payload);
    if (type == "message") {
      const auto seq = bench::find_u64(payload, "\"seq\":");
      const auto id = find_str(payload, "\"id\":\"");
      if (!seq || id.empty() || !subscribed_) {
        ++st_.errors.protocol;
        st_.note("malformed or early message: " + std::string(payload.substr(0, 200)));
        return;
      }
      if (*seq <= last_seq_) {
        ++st_.errors.duplicated;
        st_.note(st_.channels[channel_] + ": seq " + std::to_string(*seq) + " after " +
                 std::to_string(last_seq_));
        return;
      }
      if (*seq != last_seq_ + 1) {
        st_.errors.lost += *seq - last_seq_ - 1;
        st_.note(st_.channels[channel_] + ": seq gap " + std::to_string(last_seq_) + " -> " +
                 std::to_string(*seq));
      }
      last_seq_ = *seq;
      hash_ = fnv(hash_, id);
      ++st_.deliveries;
    } else if (type == "subscribed") {
      const auto epoch = find_str(payload, "\"epoch\":\"");
      const bool recovered = payload.find("\"recovered\":true") != std::string_view::npos;
      if (!epoch_.empty() && epoch != epoch_) {
        ++st_.errors.epoch_changed;
        st_.note(st_.channels[channel_] + ": epoch changed " + epoch_ + " -> " +
                 std::string(epoch));
      } else if (last_seq_ > 0 && !recovered) {
        ++st_.errors.unrecovered;
        st_.note(st_.channels[channel_] + ": recovered:false since " + std::to_string(last_seq_));
        // What the server could not replay is lost; carry on from its last seq, as the client
        // library does, so the run still settles.
        const auto top = bench::find_u64(payload, "\"seq\":").value_or(last_seq_);
        if (top > last_seq_) {
          st_.errors.lost += top - last_seq_;
          last_seq_ = top;
        }
      }
      if (epoch_.empty())
        ++st_.subscribed_once;
      // CONTRACT §2: what follows a recovered subscribe is the replay of (since, LAST].
      if (recovered && last_seq_ > 0) {
        const auto replay = bench::find_u64(payload, "\"seq\":").value_or(last_seq_) - last_seq_;
        st_.replayed += replay;
        st_.max_replay = std::max(st_.max_replay, replay);
      }
      epoch_.assign(epoch);
      subscribed_ = true;
    } else if (type == "error") {
      ++st_.errors.server_errors;
      st_.note("server error: " + std::string(payload.substr(0, 200)));
    }
  }

  SoakState& st_;
  std::size_t channel_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t hash_ = kFnvBasis;
  std::string epoch_;
  bool subscribed_ = false;
};

// Publishes "p<index>-<n>" ids at its share of the rate; keeps every unacked publish and
// resends them all, in order, on each new link (the server's id dedup makes that safe).
class Publisher final : public bench::ReconnectingClient {
 public:
  Publisher(bench::ClientEnv& env, std::uint64_t seed, SoakState& st, unsigned index,
            std::size_t channel)
      : ReconnectingClient(env, seed),
        st_(st),
        index_(index),
        channel_(channel),
        prefix_("p" + std::to_string(index) + "-"),
        timer_(env.ioc) {}

  std::size_t channel() const { return channel_; }
  std::uint64_t published() const { return next_n_; }
  std::size_t unacked() const { return unacked_.size(); }
  // seq_of()[n] is the seq publish n was acked with (0 while unacked).
  const std::vector<std::uint64_t>& seq_of() const { return seq_of_; }
  const std::string& id_prefix() const { return prefix_; }

  void begin() { tick(); }
  void end() {
    ended_ = true;
    timer_.cancel();
  }

 private:
  void tick() {
    if (ended_ || !st_.publishing)
      return;
    const double elapsed =
        std::chrono::duration<double>(SteadyClock::now() - st_.publish_start).count();
    const auto due = static_cast<std::uint64_t>(elapsed * st_.rate_per_publisher) + 1;
    while (next_n_ < due) {
      const std::uint64_t n = next_n_++;
      seq_of_.push_back(0);
      unacked_.push_back(n);
      if (is_open())
        send(n);
    }
    const auto next =
        st_.publish_start +
        std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::duration<double>(static_cast<double>(next_n_) / st_.rate_per_publisher));
    timer_.expires_at(next);
    timer_.async_wait([this](const error_code& ec) {
      if (!ec)
        tick();
    });
  }

  void send(std::uint64_t n) {
    msg_.assign(R"({"type":"publish","channel":")");
    msg_.append(st_.channels[channel_]).append(R"(","id":")").append(prefix_);
    msg_.append(std::to_string(n)).append(R"(","data":"m)").append(std::to_string(n));
    msg_.append("\"}");
    send_text(msg_);
  }

  void on_open(std::string_view /*welcome*/, SteadyClock::time_point now) override {
    if (!unacked_.empty()) {
      // Its dedup needs the first send still in history: note how old the oldest resend is.
      const double sent_at = static_cast<double>(unacked_.front()) / st_.rate_per_publisher;
      const double age = std::chrono::duration<double>(now - st_.publish_start).count() - sent_at;
      st_.oldest_resend_s = std::max(st_.oldest_resend_s, age);
    }
    for (const auto n : unacked_)
      send(n);
  }

  void on_text(std::string_view payload, SteadyClock::time_point /*now*/) override {
    const auto type = bench::find_type(payload);
    if (type == "ack") {
      const auto seq = bench::find_u64(payload, "\"seq\":");
      const auto id = find_str(payload, "\"id\":\"");
      if (!seq || id.substr(0, prefix_.size()) != prefix_) {
        ++st_.errors.protocol;
        st_.note("malformed ack: " + std::string(payload.substr(0, 200)));
        return;
      }
      std::uint64_t n = 0;
      for (const char c : id.substr(prefix_.size()))
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      if (n >= seq_of_.size()) {
        ++st_.errors.protocol;
        st_.note("ack for an id never published: " + std::string(id));
        return;
      }
      if (seq_of_[n] != 0 && seq_of_[n] != *seq) {
        ++st_.errors.double_acked;
        st_.note(std::string(id) + " acked with seq " + std::to_string(seq_of_[n]) + " and " +
                 std::to_string(*seq));
      }
      seq_of_[n] = *seq;
      const auto it = std::find(unacked_.begin(), unacked_.end(), n);
      if (it != unacked_.end())
        unacked_.erase(it);
    } else if (type == "error") {
      ++st_.errors.server_errors;
      st_.note("server error: " + std::string(payload.substr(0, 200)));
    }
  }

  SoakState& st_;
  unsigned index_;
  std::size_t channel_;
  std::string prefix_;
  net::steady_timer timer_;
  std::string msg_;
  std::uint64_t next_n_ = 0;
  std::vector<std::uint64_t> seq_of_;
  std::deque<std::uint64_t> unacked_;
  bool ended_ = false;
};

// Has the server's history wrapped? Subscribes with since:0 to every channel that has a
// publisher, straight to the server (no proxy, no faults): CONTRACT §2 recovers it only while
// history still holds every message after 0, i.e. before the first eviction.
class HistoryProbe final : public bench::ReconnectingClient {
 public:
  HistoryProbe(bench::ClientEnv& env, const SoakState& st, std::vector<bool> has_publisher)
      : ReconnectingClient(env, 0),
        st_(st),
        want_(std::move(has_publisher)),
        recovered_(want_.size(), -1) {}

  // True once every probed channel answered.
  bool done() const {
    for (std::size_t c = 0; c < want_.size(); ++c)
      if (want_[c] && recovered_[c] < 0)
        return false;
    return true;
  }
  // True when every probed channel answered recovered:false (something was evicted).
  bool wrapped() const {
    for (std::size_t c = 0; c < want_.size(); ++c)
      if (want_[c] && recovered_[c] != 0)
        return false;
    return true;
  }

 private:
  void on_open(std::string_view /*welcome*/, SteadyClock::time_point /*now*/) override {
    for (std::size_t c = 0; c < want_.size(); ++c)
      if (want_[c] && recovered_[c] < 0)
        send_text(R"({"type":"subscribe","channel":")" + st_.channels[c] + R"(","since":0})");
  }

  void on_text(std::string_view payload, SteadyClock::time_point /*now*/) override {
    if (bench::find_type(payload) != "subscribed")
      return;  // the replay (when recovered) and live messages: not what it asked
    const auto channel = find_str(payload, "\"channel\":\"");
    for (std::size_t c = 0; c < want_.size(); ++c)
      if (st_.channels[c] == channel)
        recovered_[c] = payload.find("\"recovered\":true") != std::string_view::npos ? 1 : 0;
  }

  const SoakState& st_;
  std::vector<bool> want_;
  std::vector<int> recovered_;  // per channel: -1 no answer yet, 0 recovered:false, 1 true
};

// --url through the client library's parser (Boost.URL): ws:// or wss://, a default /ws path.
client::Endpoint parse_url(const std::string& url) {
  auto e = client::parse_ws_url(url);
  if (!e)
    throw std::invalid_argument("--url " + url + ": " + e.error());
  return *e;
}

double median(std::vector<long> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? static_cast<double>(v[m])
                           : (static_cast<double>(v[m - 1]) + static_cast<double>(v[m])) / 2;
}

struct Sample {
  double t_s;
  long rss_kb;
};

class SoakRun {
 public:
  explicit SoakRun(const SoakOptions& o) : opt_(o), env_(ioc_), probe_env_(ioc_), rng_(o.seed) {}

  int execute() {
    validate();
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    const client::Endpoint url = parse_url(opt_.url);
    ProxyConfig pc;
    {
      tcp::resolver resolver(ioc_);
      const auto ep = resolver.resolve(url.host, url.port).begin()->endpoint();
      pc.upstream_host = ep.address().to_string();
      pc.upstream_port = ep.port();
      probe_env_.endpoint = ep;
    }
    // wss://: the proxy forwards the TLS bytes unchanged (it is TCP-level), so every client,
    // through it or not, verifies the server's certificate against the URL's host.
    env_.tls = tls_context_for(url.tls, opt_.ca_file, opt_.insecure);
    env_.tls_host = url.host;
    probe_env_.tls = env_.tls;
    probe_env_.tls_host = url.host;
    if (env_.tls) {
      if (auto why = tls_handshake_error({probe_env_.endpoint}, url.host, env_.tls))
        throw std::invalid_argument("--url " + opt_.url + ": " + *why);
    }
    pc.seed = opt_.seed;
    // A reset closes every client at once: one line per fault, not a thousand per reset.
    pc.quiet = true;
    proxy_ = std::make_unique<Proxy>(pioc_, pc);
    std::thread proxy_thread([this] { io::run_io_context(pioc_, bug_reporter()); });

    env_.endpoint = proxy_->listen_endpoint();
    env_.request =
        bench::upgrade_request("127.0.0.1:" + std::to_string(env_.endpoint.port()), url.target);
    env_.backoff = opt_.backoff;
    env_.heartbeat_interval = opt_.heartbeat_interval;
    env_.connect_timeout = kConnectTimeout;
    probe_env_.request = bench::upgrade_request(url.host_header(), url.target);
    probe_env_.connect_timeout = kConnectTimeout;
    probe_env_.heartbeat_interval = std::chrono::seconds(2);  // only to notice a dead server
    const std::string tag = std::to_string(::getpid()) + "." +
                            std::to_string(SteadyClock::now().time_since_epoch().count() % 100000);
    for (unsigned c = 0; c < opt_.channels; ++c)
      st_.channels.push_back("soak." + tag + "." + std::to_string(c));
    st_.rate_per_publisher = opt_.rate / opt_.publishers;
    for (unsigned p = 0; p < opt_.publishers; ++p)
      publishers_.push_back(
          std::make_unique<Publisher>(env_, opt_.seed + 1 + p, st_, p, p % opt_.channels));
    for (std::size_t i = 0; i < opt_.clients - opt_.publishers; ++i)
      subscribers_.push_back(std::make_unique<Subscriber>(env_, opt_.seed + 1 + opt_.publishers + i,
                                                          st_, i % opt_.channels));
    if (opt_.server_pid > 0) {
      std::vector<bool> has_publisher(opt_.channels, false);
      for (unsigned p = 0; p < opt_.publishers; ++p)
        has_publisher[p % opt_.channels] = true;
      probe_ = std::make_unique<HistoryProbe>(probe_env_, st_, std::move(has_publisher));
    }
    std::thread loop([this] { io::run_io_context(ioc_, bug_reporter()); });

    started_ = SteadyClock::now();
    connect_all();
    run_faults();
    settle();
    verify();

    on_loop(ioc_, [this] {
      for (auto& p : publishers_)
        p->end();
      for (auto& p : publishers_)
        p->stop();
      for (auto& s : subscribers_)
        s->stop();
      if (probe_)
        probe_->stop();
      return 0;
    });
    guard_.reset();
    loop.join();
    proxy_->stop();
    pguard_.reset();
    proxy_thread.join();
    const int rc = report();
    return handler_bugs_.load() > 0 ? 1 : rc;
  }

 private:
  // A handler that throws is a bug of soak's own: logged, counted (the run then fails), and
  // the loop goes on so the run can still end and report.
  std::function<bool(std::string_view)> bug_reporter() {
    return [this](std::string_view what) {
      std::fprintf(stderr, "error soak: BUG: exception escaped a handler: %.*s\n",
                   static_cast<int>(what.size()), what.data());
      ++handler_bugs_;
      return true;
    };
  }

  void validate() {
    if (opt_.publishers == 0 || opt_.channels == 0)
      throw std::invalid_argument("soak needs at least one publisher and one channel");
    if (opt_.clients < opt_.publishers + opt_.channels)
      throw std::invalid_argument("--clients must leave at least one subscriber per channel");
    if (opt_.rate <= 0 || opt_.duration_s <= 0 || opt_.sample_interval_s <= 0)
      throw std::invalid_argument("--rate, --duration and --sample-interval must be positive");
    plan_ = plan_history(opt_);
    check_history();
  }

  // --history against the plan: it must wrap inside the warm-up when memory is checked (or
  // the memory rule measures the history growing), and should cover the planned outage.
  void check_history() {
    const auto& p = plan_;
    char buf[640];
    const bool memory = opt_.server_pid > 0;
    if (memory && opt_.history > p.max_wrapping) {
      std::snprintf(buf, sizeof buf,
                    "--history %zu does not wrap inside the %.0f s warm-up (%.1f publishes/s on "
                    "the slowest channel fill %zu by then), so the memory rule would measure the "
                    "history growing, not a leak. Start the server with --history %zu..%zu and "
                    "pass the same --history here%s",
                    opt_.history, p.warmup_s, p.min_channel_rate, p.max_wrapping, p.min_covering,
                    p.max_wrapping,
                    p.min_covering > p.max_wrapping
                        ? " (empty: lengthen --duration or raise --warmup-fraction)"
                        : "");
      throw std::invalid_argument(buf);
    }
    if (opt_.history > 0 && opt_.history < p.min_covering) {
      std::snprintf(buf, sizeof buf,
                    "--history %zu holds %.1f s of the busiest channel (%.1f/s); the faults can "
                    "cause outages of about %.0f s, so resumes may be answered recovered:false "
                    "(--history %zu or more covers them)",
                    opt_.history, static_cast<double>(opt_.history) / p.max_channel_rate,
                    p.max_channel_rate, p.planned_outage_s, p.min_covering);
      warnings_.emplace_back(buf);
    }
    if (memory && opt_.history == 0) {
      std::snprintf(buf, sizeof buf,
                    "the server's --history is not known (pass --history N): the memory rule "
                    "needs it to wrap inside the %.0f s warm-up (%zu or less at these rates) and "
                    "resumes need it to cover the outages (%zu or more); a probe checks the wrap",
                    p.warmup_s, p.max_wrapping, p.min_covering);
      warnings_.emplace_back(buf);
    }
    for (const auto& w : warnings_)
      std::fprintf(stderr, "warn soak history: %s\n", w.c_str());
  }

  double elapsed_s() const {
    return std::chrono::duration<double>(SteadyClock::now() - started_).count();
  }

  // Starts every client (256 handshakes at a time), waits for every first `subscribed`, then
  // starts the publishers.
  void connect_all() {
    std::size_t started = 0;
    const std::size_t total = subscribers_.size() + publishers_.size();
    const auto deadline = SteadyClock::now() + std::chrono::seconds(60);
    for (;;) {
      const auto [ready, opened] = on_loop(ioc_, [this, &started, total] {
        std::size_t open = 0;
        for (auto& p : publishers_)
          open += p->opens() > 0 ? 1 : 0;
        for (auto& s : subscribers_)
          open += s->opens() > 0 ? 1 : 0;
        while (started < total && started - open < 256) {
          if (started < publishers_.size())
            publishers_[started]->start();
          else
            subscribers_[started - publishers_.size()]->start();
          ++started;
        }
        return std::pair<std::uint64_t, std::size_t>(st_.subscribed_once, open);
      });
      if (ready == subscribers_.size() && opened == total)
        break;
      if (SteadyClock::now() >= deadline) {
        const auto missing = subscribers_.size() - ready;
        on_loop(ioc_, [this, missing] {
          st_.errors.not_subscribed += missing;
          st_.note(std::to_string(missing) + " subscribers not subscribed after 60 s");
          return 0;
        });
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ramp_s_ = elapsed_s();
    if (opt_.progress)
      std::fprintf(stderr, "soak: %zu clients connected and subscribed in %.1f s\n", total,
                   ramp_s_);
    on_loop(ioc_, [this] {
      st_.publishing = true;
      st_.publish_start = SteadyClock::now();
      for (auto& p : publishers_)
        p->begin();
      return 0;
    });
    run_start_ = SteadyClock::now();
  }

  double run_elapsed_s() const {
    return std::chrono::duration<double>(SteadyClock::now() - run_start_).count();
  }

  // The measured run: faults (with --faults), memory samples and progress until --duration.
  void run_faults() {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double next_fault = opt_.fault_interval_s * (0.5 + u(rng_));
    double next_sample = opt_.sample_interval_s;  // the first sample is taken just below
    double next_progress = 5;
    double fault_ends = -1;  // the end of a blackhole or delay spell in progress
    bool blackholed = false;
    bool probing = false;
    sample();
    while (run_elapsed_s() < opt_.duration_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const double t = run_elapsed_s();
      poll_probe(t, probing);
      if (fault_ends >= 0 && t >= fault_ends) {
        proxy_->set_faults(Faults{});
        // A blackhole discarded bytes mid-stream: no link that lived through it is usable.
        if (blackholed)
          proxy_->reset_all();
        blackholed = false;
        fault_ends = -1;
      }
      if (opt_.faults && fault_ends < 0 && t >= next_fault) {
        const double pick = u(rng_);
        if (pick < 0.4) {
          proxy_->reset_all();
          ++resets_;
        } else if (pick < 0.7) {
          Faults f;
          f.blackhole = true;
          proxy_->set_faults(f);
          blackholed = true;
          fault_ends = t + kBlackholeMin_s + (kBlackholeMax_s - kBlackholeMin_s) * u(rng_);
          ++blackholes_;
        } else {
          Faults f;
          f.delay = std::chrono::milliseconds(20 + static_cast<int>(180 * u(rng_)));
          f.jitter = f.delay / 2;
          proxy_->set_faults(f);
          fault_ends = t + 2 + 4 * u(rng_);
          ++delays_;
        }
        next_fault = t + opt_.fault_interval_s * (0.5 + u(rng_));
      }
      if (t >= next_sample) {
        sample();
        next_sample += opt_.sample_interval_s;
      }
      if (opt_.progress && t >= next_progress) {
        next_progress += 5;
        print_progress("run");
      }
    }
    proxy_->set_faults(Faults{});
    if (blackholed)
      proxy_->reset_all();
    sample();
  }

  // At the end of the warm-up, starts the history probe; once it has every answer, stops it
  // and keeps the verdict in history_wrapped_.
  void poll_probe(double t, bool& probing) {
    if (!probe_ || history_wrapped_ >= 0)
      return;
    if (!probing && t >= plan_.warmup_s) {
      probing = true;
      on_loop(ioc_, [this] {
        probe_->start();
        return 0;
      });
      return;
    }
    if (probing) {
      history_wrapped_ = on_loop(ioc_, [this] {
        if (!probe_->done())
          return -1;
        probe_->stop();
        return probe_->wrapped() ? 1 : 0;
      });
      if (history_wrapped_ >= 0)
        probed_at_s_ = t;
    }
  }

  void sample() {
    if (opt_.server_pid <= 0)
      return;
    samples_.push_back({run_elapsed_s(), bench::process_rss_kb(opt_.server_pid)});
  }

  struct Snapshot {
    std::size_t open = 0;
    std::uint64_t published = 0;
    std::uint64_t unacked = 0;
    std::uint64_t deliveries = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t behind = 0;  // subscriber seqs still missing against the acked maximum
    std::uint64_t errors = 0;
  };

  Snapshot snapshot() {
    return on_loop(ioc_, [this] {
      Snapshot s;
      std::vector<std::uint64_t> top(opt_.channels, 0);
      for (auto& p : publishers_) {
        s.open += p->is_open() ? 1 : 0;
        s.published += p->published();
        s.unacked += p->unacked();
        s.reconnects += p->opens() > 0 ? p->opens() - 1 : 0;
        for (const auto seq : p->seq_of())
          top[p->channel()] = std::max(top[p->channel()], seq);
      }
      for (auto& sub : subscribers_) {
        s.open += sub->is_open() ? 1 : 0;
        s.reconnects += sub->opens() > 0 ? sub->opens() - 1 : 0;
        if (sub->last_seq() < top[sub->channel()])
          s.behind += top[sub->channel()] - sub->last_seq();
      }
      s.deliveries = st_.deliveries;
      s.errors = st_.errors.total();
      return s;
    });
  }

  void print_progress(const char* phase) {
    const Snapshot s = snapshot();
    const long rss = samples_.empty() ? -1 : samples_.back().rss_kb;
    std::fprintf(
        stderr,
        "soak %-6s t=%5.0fs open=%zu/%zu published=%llu unacked=%llu delivered=%llu "
        "reconnects=%llu faults=%llu rss=%ldKiB errors=%llu\n",
        phase, run_elapsed_s(), s.open, opt_.clients, static_cast<unsigned long long>(s.published),
        static_cast<unsigned long long>(s.unacked), static_cast<unsigned long long>(s.deliveries),
        static_cast<unsigned long long>(s.reconnects),
        static_cast<unsigned long long>(resets_ + blackholes_ + delays_), rss,
        static_cast<unsigned long long>(s.errors));
  }

  // Faults off: stop publishing, wait for every ack, then for every subscriber to catch up.
  void settle() {
    on_loop(ioc_, [this] {
      st_.publishing = false;
      for (auto& p : publishers_)
        p->end();
      return 0;
    });
    const auto deadline =
        SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(opt_.settle_timeout_s));
    auto next_progress = SteadyClock::now() + std::chrono::seconds(2);
    for (;;) {
      const Snapshot s = snapshot();
      final_ = s;
      if ((s.unacked == 0 && s.behind == 0) || SteadyClock::now() >= deadline)
        break;
      if (opt_.progress && SteadyClock::now() >= next_progress) {
        next_progress += std::chrono::seconds(2);
        print_progress("settle");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    settle_s_ =
        std::chrono::duration<double>(SteadyClock::now() - run_start_).count() - opt_.duration_s;
  }

  // The per-channel truth from the acks, then every subscriber against it.
  void verify() {
    on_loop(ioc_, [this] {
      std::vector<std::vector<std::string>> ids(opt_.channels);  // ids[c][seq - 1]
      for (auto& p : publishers_) {
        auto& v = ids[p->channel()];
        const auto& seqs = p->seq_of();
        for (std::size_t n = 0; n < seqs.size(); ++n) {
          if (seqs[n] == 0) {
            ++st_.errors.unacked;
            continue;
          }
          if (v.size() < seqs[n])
            v.resize(seqs[n]);
          v[seqs[n] - 1] = p->id_prefix() + std::to_string(n);
        }
        acked_ += seqs.size();
      }
      std::vector<std::uint64_t> expected(opt_.channels, kFnvBasis);
      for (unsigned c = 0; c < opt_.channels; ++c) {
        for (const auto& id : ids[c]) {
          if (id.empty())
            ++st_.errors.seq_holes;
          expected[c] = fnv(expected[c], id);
        }
        final_seqs_.push_back(ids[c].size());
      }
      if (st_.errors.seq_holes > 0)
        st_.note("a channel has seqs no publisher was acked for");
      for (auto& s : subscribers_) {
        const auto want = ids[s->channel()].size();
        if (s->last_seq() < want) {
          st_.errors.lost += want - s->last_seq();
          st_.note(st_.channels[s->channel()] + ": a subscriber stopped at seq " +
                   std::to_string(s->last_seq()) + " of " + std::to_string(want));
        } else if (s->hash() != expected[s->channel()] && st_.errors.lost == 0 &&
                   st_.errors.duplicated == 0) {
          ++st_.errors.content_mismatch;
          st_.note(st_.channels[s->channel()] + ": a subscriber's id sequence differs");
        }
      }
      errors_ = st_.errors;
      first_error_ = st_.first_error;
      deliveries_ = st_.deliveries;
      replayed_ = st_.replayed;
      max_replay_ = st_.max_replay;
      oldest_resend_s_ = st_.oldest_resend_s;
      return 0;
    });
  }

  int report() {
    // Memory: samples after the warm-up, thirds, medians.
    const double warm = opt_.warmup_fraction * opt_.duration_s;
    std::vector<long> kept;
    for (const auto& s : samples_)
      if (s.t_s >= warm && s.rss_kb > 0)
        kept.push_back(s.rss_kb);
    const bool checked = opt_.server_pid > 0 && kept.size() >= 3;
    const std::size_t third = kept.size() / 3;
    const double first =
        checked ? median(std::vector<long>(kept.begin(), kept.begin() + static_cast<long>(third)))
                : 0;
    const double last =
        checked ? median(std::vector<long>(kept.end() - static_cast<long>(third), kept.end())) : 0;
    const double growth = checked && first > 0 ? (last - first) / first : 0;
    // A history still growing after the warm-up makes any growth legitimate and any verdict
    // meaningless: not flat. An unanswered probe (-1) is reported, not failed.
    const bool history_grew = checked && history_wrapped_ == 0;
    const bool flat = !checked || (growth <= opt_.memory_tolerance && !history_grew);
    const bool pass = errors_.total() == 0 && flat;

    json::object o;
    o["workload"] = "soak";
    o["url"] = opt_.url;
    o["tls"] = env_.tls != nullptr;
    o["clients"] = opt_.clients;
    o["publishers"] = opt_.publishers;
    o["channels"] = opt_.channels;
    o["rate"] = opt_.rate;
    o["duration_s"] = opt_.duration_s;
    o["faults_enabled"] = opt_.faults;
    o["seed"] = opt_.seed;
    o["ramp_s"] = ramp_s_;
    o["settle_s"] = settle_s_;
    o["published"] = acked_;
    json::array seqs;
    for (const auto s : final_seqs_)
      seqs.push_back(s);
    o["final_seqs"] = std::move(seqs);
    o["deliveries"] = deliveries_;
    o["replayed"] = replayed_;
    o["reconnects"] = final_.reconnects;
    o["faults"] = {{"resets", resets_}, {"blackholes", blackholes_}, {"delays", delays_}};
    json::array warnings;
    for (const auto& w : warnings_)
      warnings.push_back(json::string(w));
    o["history"] = {{"given", opt_.history},
                    {"planned_outage_s", plan_.planned_outage_s},
                    {"max_wrapping", plan_.max_wrapping},
                    {"min_covering", plan_.min_covering},
                    {"max_replay", max_replay_},
                    {"oldest_resend_s", std::round(oldest_resend_s_ * 10) / 10},
                    {"warnings", std::move(warnings)}};
    json::array curve;
    for (const auto& s : samples_)
      curve.push_back(json::array{std::round(s.t_s * 10) / 10, s.rss_kb});
    o["memory"] = {{"checked", checked},
                   {"server_pid", opt_.server_pid},
                   {"warmup_s", warm},
                   {"first_third_median_kb", first},
                   {"last_third_median_kb", last},
                   {"growth", growth},
                   {"tolerance", opt_.memory_tolerance},
                   {"flat", flat},
                   // true: the probe saw an evicted history at probed_at_s; null: no answer
                   {"history_wrapped", history_wrapped_ < 0 ? json::value(nullptr)
                                                            : json::value(history_wrapped_ == 1)},
                   {"probed_at_s", std::round(probed_at_s_ * 10) / 10},
                   {"samples", std::move(curve)}};
    o["errors"] = errors_.to_json();
    if (!first_error_.empty())
      o["first_error"] = first_error_;
    o["verdict"] = pass ? "pass" : "fail";
    if (opt_.json) {
      std::printf("%s\n", json::serialize(o).c_str());
      return pass ? 0 : 1;
    }
    std::printf("steadyws soak  %s  %zu clients (%u publishers, %u channels)  %.0f s%s\n",
                opt_.url.c_str(), opt_.clients, opt_.publishers, opt_.channels, opt_.duration_s,
                opt_.faults ? "  with faults" : "");
    std::printf("  %-12s %llu published at %.0f/s, %llu deliveries (%llu replayed on resume)\n",
                "messages", static_cast<unsigned long long>(acked_), opt_.rate,
                static_cast<unsigned long long>(deliveries_),
                static_cast<unsigned long long>(replayed_));
    std::printf("  %-12s %llu resets, %llu blackholes, %llu delay spells; %llu reconnects\n",
                "faults", static_cast<unsigned long long>(resets_),
                static_cast<unsigned long long>(blackholes_),
                static_cast<unsigned long long>(delays_),
                static_cast<unsigned long long>(final_.reconnects));
    std::printf("  %-12s lost %llu, duplicated %llu, content mismatches %llu, unrecovered %llu\n",
                "delivery", static_cast<unsigned long long>(errors_.lost),
                static_cast<unsigned long long>(errors_.duplicated),
                static_cast<unsigned long long>(errors_.content_mismatch),
                static_cast<unsigned long long>(errors_.unrecovered));
    std::printf("  %-12s --history %s; largest replay %llu, oldest resend %.1f s%s\n", "history",
                opt_.history > 0 ? std::to_string(opt_.history).c_str() : "unknown",
                static_cast<unsigned long long>(max_replay_), oldest_resend_s_,
                history_wrapped_ < 0    ? "; wrap not probed"
                : history_wrapped_ == 1 ? "; wrapped before the warm-up ended"
                                        : "; NOT wrapped at the warm-up's end");
    if (checked)
      std::printf(
          "  %-12s median %.0f KiB (first third after %.0f s warm-up) -> %.0f KiB (last "
          "third): %+.1f %% (limit %+.0f %%)%s\n",
          "server rss", first, warm, last, growth * 100, opt_.memory_tolerance * 100,
          history_grew ? "; not flat: the history was still growing" : "");
    else
      std::printf(
          "  %-12s not checked (%s)\n", "server rss",
          opt_.server_pid > 0 ? "fewer than 3 samples after the warm-up" : "no --server-pid");
    std::printf("  %-12s %llu%s%s\n", "errors", static_cast<unsigned long long>(errors_.total()),
                first_error_.empty() ? "" : "; first: ", first_error_.c_str());
    std::printf("  %-12s %s\n", "verdict", pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
  }

  const SoakOptions& opt_;
  net::io_context pioc_{1};
  net::executor_work_guard<net::io_context::executor_type> pguard_{pioc_.get_executor()};
  std::unique_ptr<Proxy> proxy_;
  net::io_context ioc_{1};
  std::atomic<unsigned> handler_bugs_{0};  // exceptions that escaped a handler
  net::executor_work_guard<net::io_context::executor_type> guard_{ioc_.get_executor()};
  bench::ClientEnv env_;
  bench::ClientEnv probe_env_;  // straight to the server, no proxy
  SoakState st_;
  std::vector<std::unique_ptr<Publisher>> publishers_;  // destroyed before ioc_
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::unique_ptr<HistoryProbe> probe_;  // only when memory is checked
  std::mt19937_64 rng_;
  SoakHistoryPlan plan_;  // set by validate()
  std::vector<std::string> warnings_;
  int history_wrapped_ = -1;  // the probe's answer: -1 none yet, 0 not wrapped, 1 wrapped
  double probed_at_s_ = 0;
  std::uint64_t max_replay_ = 0;
  double oldest_resend_s_ = 0;
  SteadyClock::time_point started_{};
  SteadyClock::time_point run_start_{};
  double ramp_s_ = 0;
  double settle_s_ = 0;
  std::vector<Sample> samples_;
  std::uint64_t resets_ = 0;
  std::uint64_t blackholes_ = 0;
  std::uint64_t delays_ = 0;
  Snapshot final_;
  SoakErrors errors_;
  std::string first_error_;
  std::uint64_t acked_ = 0;
  std::uint64_t deliveries_ = 0;
  std::uint64_t replayed_ = 0;
  std::vector<std::uint64_t> final_seqs_;
};

}  // namespace

SoakHistoryPlan plan_history(const SoakOptions& o) {
  SoakHistoryPlan p;
  // Publisher i publishes rate/publishers per second on channel i mod channels.
  std::vector<unsigned> per_channel(o.channels, 0);
  for (unsigned i = 0; i < o.publishers; ++i)
    ++per_channel[i % o.channels];
  const double per_publisher = o.rate / o.publishers;
  p.min_channel_rate = 0;
  for (const auto n : per_channel) {
    const double r = static_cast<double>(n) * per_publisher;
    p.max_channel_rate = std::max(p.max_channel_rate, r);
    if (n > 0 && (p.min_channel_rate == 0 || r < p.min_channel_rate))
      p.min_channel_rate = r;
  }
  p.warmup_s = o.warmup_fraction * o.duration_s;
  if (o.faults) {
    const double hb = std::chrono::duration<double>(o.heartbeat_interval).count();
    // core(2) + jitter, the symmetric mode's worst (include/steadyws/core/backoff.hpp).
    const double attempt2 =
        std::chrono::duration<double>(std::min(o.backoff.base * 2, o.backoff.max_delay) +
                                      o.backoff.jitter)
            .count();
    p.planned_outage_s = kBlackholeMax_s + 2 * hb +
                         std::chrono::duration<double>(kConnectTimeout).count() + attempt2;
  }
  p.max_wrapping = static_cast<std::size_t>(std::floor(p.min_channel_rate * p.warmup_s));
  // At least 1: the publishers' resends are deduplicated only while in history.
  p.min_covering = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(p.max_channel_rate * p.planned_outage_s)));
  return p;
}

int run_soak(const SoakOptions& options) {
  SoakRun run(options);
  return run.execute();
}

}  // namespace steadyws::tools
