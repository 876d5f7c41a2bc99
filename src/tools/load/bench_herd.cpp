// `steadyws bench herd` (bench_herd.hpp). The main thread drives the cases (signals, restarts,
// waits); the clients live on one loop thread and are only touched there (on_loop posts a
// task and waits for its result).
#include "tools/load/bench_herd.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "asio/run_loop.hpp"
#include "protocol/json_text.hpp"
#include "tools/common/tls.hpp"
#include "tools/load/bench_client.hpp"
#include "tools/load/bench_frame.hpp"
#include "tools/load/bench_server.hpp"

namespace steadyws::tools {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
using bench::on_loop;
using bench::SteadyClock;
using tcp = net::ip::tcp;

double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Loop-thread state shared by the clients of one run.
struct HerdState {
  SteadyClock::time_point cut_at{};
  bool armed = false;    // a case is running: count welcomes after cut_at
  std::size_t back = 0;  // clients welcomed since cut_at
  std::size_t ever_opened = 0;
  std::uint64_t server_errors = 0;
  std::string first_error;
};

class HerdClient final : public bench::ReconnectingClient {
 public:
  HerdClient(bench::ClientEnv& env, std::uint64_t seed, HerdState& state)
      : ReconnectingClient(env, seed), state_(state) {}

  void arm() {
    back_ = false;
    hinted_ = false;
  }
  bool back() const { return back_; }
  bool hinted() const { return hinted_; }
  SteadyClock::time_point back_at() const { return back_at_; }

 private:
  void on_open(std::string_view /*welcome*/, SteadyClock::time_point now) override {
    if (opens() == 1)
      ++state_.ever_opened;
    if (state_.armed && !back_ && now >= state_.cut_at) {
      back_ = true;
      back_at_ = now;
      ++state_.back;
    }
  }
  void on_text(std::string_view payload, SteadyClock::time_point /*now*/) override {
    if (bench::find_type(payload) == "error") {
      ++state_.server_errors;
      if (state_.first_error.empty())
        state_.first_error = "server error: " + std::string(payload.substr(0, 200));
    }
  }
  void on_lost(const bench::LostInfo& info) override {
    if (info.retry_after_ms)
      hinted_ = true;
  }

  HerdState& state_;
  bool back_ = false;
  bool hinted_ = false;
  SteadyClock::time_point back_at_{};
};

struct CaseResult {
  JitterMode mode = JitterMode::symmetric;
  HerdCut cut = HerdCut::kill;
  double drain_ms = 0;        // cut until the old server exited
  double server_down_ms = 0;  // cut until the new server listened
  double first_ms = -1;       // cut until the first client was back
  double t99_ms = -1;
  double t100_ms = -1;
  double peak_accepts_per_s = 0;
  std::size_t back = 0;
  std::size_t hinted = 0;
  std::uint64_t attempts = 0;
  std::uint64_t failed_attempts = 0;
  bool drain_timeout = false;

  json::object to_json(std::size_t clients) const {
    return {{"jitter", to_string(mode)},
            {"cut", cut == HerdCut::drain ? "drain" : "kill"},
            {"clients", clients},
            {"back", back},
            {"hinted", hinted},
            {"drain_ms", drain_ms},
            {"server_down_ms", server_down_ms},
            {"first_ms", first_ms},
            {"t99_ms", t99_ms},
            {"t100_ms", t100_ms},
            {"peak_accepts_per_s", peak_accepts_per_s},
            {"attempts", attempts},
            {"failed_attempts", failed_attempts},
            {"drain_timeout", drain_timeout}};
  }
};

class HerdRun {
 public:
  explicit HerdRun(const HerdOptions& o) : opt_(o), server_(o.server_cmd), env_(ioc_) {}

  int execute() {
    validate();
    const auto fds = bench::raise_fd_limit();
    if (opt_.clients + 64 > fds)
      throw std::invalid_argument(std::to_string(opt_.clients) +
                                  " clients need more file descriptors than the limit (" +
                                  std::to_string(fds) + ")");
    server_.start();
    {
      tcp::resolver resolver(ioc_);
      env_.endpoint =
          resolver.resolve(server_.host(), std::to_string(server_.port())).begin()->endpoint();
    }
    env_.request =
        bench::upgrade_request(server_.host() + ":" + std::to_string(server_.port()), opt_.path);
    env_.backoff = opt_.backoff;
    env_.tls = tls_context_for(opt_.tls, opt_.ca_file, opt_.insecure);
    env_.tls_host = opt_.server_name.empty() ? server_.host() : opt_.server_name;
    if (env_.tls) {
      if (auto why = tls_handshake_error({env_.endpoint}, env_.tls_host, env_.tls))
        throw std::invalid_argument("herd --tls: " + *why);
    }
    for (std::size_t i = 0; i < opt_.clients; ++i)
      clients_.push_back(std::make_unique<HerdClient>(env_, opt_.seed + i, state_));
    std::thread loop([this] {
      // A handler that throws is a bug of herd's own: logged, counted (the run then fails),
      // and the loop goes on so the run can still end and report.
      io::run_io_context(ioc_, [this](std::string_view what) {
        std::fprintf(stderr, "error herd: BUG: exception escaped a handler: %.*s\n",
                     static_cast<int>(what.size()), what.data());
        ++handler_bugs_;
        return true;
      });
    });

    bool ok = ramp();
    if (ok) {
      for (const HerdCut cut : opt_.cuts) {
        for (const JitterMode mode : opt_.modes) {
          cases_.push_back(run_case(mode, cut));
          if (cases_.back().back < opt_.clients) {
            ok = false;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server idle
        }
        if (!ok)
          break;
      }
    }
    on_loop(ioc_, [this] {
      for (auto& c : clients_)
        c->stop();
      return 0;
    });
    guard_.reset();
    loop.join();  // run() returns once every aborted handler has run
    server_.signal(SIGTERM);
    if (!server_.wait_exit(std::chrono::seconds(10)))
      server_.kill();
    report();
    return error_total() > 0 || handler_bugs_.load() > 0 ? 1 : 0;
  }

 private:
  void validate() const {
    if (opt_.clients == 0)
      throw std::invalid_argument("herd needs --clients >= 1");
    if (opt_.server_cmd.empty())
      throw std::invalid_argument("herd needs --server-cmd (it restarts the server itself)");
    if (opt_.modes.empty() || opt_.cuts.empty())
      throw std::invalid_argument("herd needs at least one jitter mode and one cut");
  }

  // Connects every client, at most connect_concurrency handshakes at a time.
  bool ramp() {
    const auto start = SteadyClock::now();
    const auto deadline = start + std::chrono::seconds(60);
    std::size_t started = 0;
    for (;;) {
      const auto [opened, now_started] = on_loop(ioc_, [this, &started] {
        while (started < clients_.size() && started - state_.ever_opened < opt_.connect_concurrency)
          clients_[started++]->start();
        return std::pair<std::size_t, std::size_t>(state_.ever_opened, started);
      });
      if (opened == clients_.size())
        break;
      if (SteadyClock::now() >= deadline) {
        not_connected_ = clients_.size() - opened;
        note_error(std::to_string(not_connected_) + " clients not connected after 60 s");
        return false;
      }
      progress("connect", now_started, opened, start);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ramp_s_ = std::chrono::duration<double>(SteadyClock::now() - start).count();
    return true;
  }

  CaseResult run_case(JitterMode mode, HerdCut cut) {
    CaseResult r;
    r.mode = mode;
    r.cut = cut;
    struct Baseline {
      std::uint64_t attempts = 0;
      std::uint64_t failed = 0;
    };
    const auto t0 = SteadyClock::now();
    const Baseline before = on_loop(ioc_, [this, mode, t0] {
      Baseline b;
      state_.cut_at = t0;
      state_.armed = true;
      state_.back = 0;
      for (auto& c : clients_) {
        c->set_jitter_mode(mode);
        c->arm();
        b.attempts += c->attempts();
        b.failed += c->failed_attempts();
      }
      return b;
    });
    server_.signal(cut == HerdCut::drain ? SIGTERM : SIGKILL);
    // CONTRACT §1: the drain ends within 5 s; 10 s bounds a wedged one.
    if (!server_.wait_exit(std::chrono::seconds(10))) {
      r.drain_timeout = true;
      note_error("server still running 10 s after SIGTERM");
      server_.kill();
    }
    r.drain_ms = ms_between(t0, SteadyClock::now());
    server_.start();
    r.server_down_ms = ms_between(t0, SteadyClock::now());

    const auto deadline = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(opt_.timeout_s));
    const std::string label =
        std::string(to_string(mode)) + "/" + (cut == HerdCut::drain ? "drain" : "kill");
    for (;;) {
      const std::size_t back = on_loop(ioc_, [this] { return state_.back; });
      if (back == clients_.size() || SteadyClock::now() >= deadline)
        break;
      progress(label.c_str(), clients_.size(), back, t0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    struct Collected {
      std::vector<double> back_ms;
      std::size_t hinted = 0;
      std::uint64_t attempts = 0;
      std::uint64_t failed = 0;
    };
    Collected c = on_loop(ioc_, [this, t0] {
      Collected out;
      state_.armed = false;
      out.back_ms.reserve(clients_.size());
      for (auto& cl : clients_) {
        if (cl->back())
          out.back_ms.push_back(ms_between(t0, cl->back_at()));
        out.hinted += cl->hinted() ? 1 : 0;
        out.attempts += cl->attempts();
        out.failed += cl->failed_attempts();
      }
      return out;
    });
    std::sort(c.back_ms.begin(), c.back_ms.end());
    r.back = c.back_ms.size();
    r.hinted = c.hinted;
    r.attempts = c.attempts - before.attempts;
    r.failed_attempts = c.failed - before.failed;
    const std::size_t n = clients_.size();
    if (!c.back_ms.empty())
      r.first_ms = c.back_ms.front();
    const auto n99 = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
    if (r.back >= n99)
      r.t99_ms = c.back_ms[n99 - 1];
    if (r.back == n)
      r.t100_ms = c.back_ms.back();
    // Peak accept rate: the busiest 100 ms bucket, per second.
    std::vector<std::size_t> buckets;
    for (const double ms : c.back_ms) {
      const auto b = static_cast<std::size_t>(ms / 100.0);
      if (b >= buckets.size())
        buckets.resize(b + 1, 0);
      ++buckets[b];
    }
    for (const auto b : buckets)
      r.peak_accepts_per_s = std::max(r.peak_accepts_per_s, static_cast<double>(b) * 10.0);
    if (r.back < n) {
      not_back_ += n - r.back;
      note_error(std::to_string(n - r.back) + " clients not back within " +
                 std::to_string(opt_.timeout_s) + " s (" + label + ")");
    }
    if (opt_.progress)
      std::fprintf(stderr,
                   "bench herd %-20s back=%zu/%zu t99=%.0fms t100=%.0fms peak=%.0f/s "
                   "server_down=%.0fms\n",
                   label.c_str(), r.back, n, r.t99_ms, r.t100_ms, r.peak_accepts_per_s,
                   r.server_down_ms);
    return r;
  }

  void progress(const char* phase, std::size_t planned, std::size_t done,
                SteadyClock::time_point since) {
    const auto now = SteadyClock::now();
    if (!opt_.progress || now < last_progress_ + std::chrono::seconds(1))
      return;
    last_progress_ = now;
    std::fprintf(stderr, "bench herd %-20s t=%5.1fs %zu/%zu\n", phase,
                 std::chrono::duration<double>(now - since).count(), done, planned);
  }

  void note_error(const std::string& what) {
    if (first_error_.empty())
      first_error_ = what;
  }

  std::uint64_t error_total() const {
    std::uint64_t drain = 0;
    for (const auto& c : cases_)
      drain += c.drain_timeout ? 1 : 0;
    return not_connected_ + not_back_ + state_.server_errors + drain;
  }

  void report() {
    if (first_error_.empty())
      first_error_ = state_.first_error;
    std::uint64_t drain = 0;
    for (const auto& c : cases_)
      drain += c.drain_timeout ? 1 : 0;
    json::object o;
    o["workload"] = "herd";
    o["server_cmd"] = opt_.server_cmd;
    o["clients"] = opt_.clients;
    o["tls"] = opt_.tls;
    o["ramp_s"] = ramp_s_;
    o["backoff"] = {{"base_ms", opt_.backoff.base.count()},
                    {"max_delay_ms", opt_.backoff.max_delay.count()},
                    {"jitter_ms", opt_.backoff.jitter.count()},
                    {"exponential", opt_.backoff.exponential}};
    json::array cases;
    for (const auto& c : cases_)
      cases.push_back(c.to_json(opt_.clients));
    o["cases"] = std::move(cases);
    o["errors"] = {{"total", error_total()},
                   {"connect_failed", not_connected_},
                   {"not_back", not_back_},
                   {"server_errors", state_.server_errors},
                   {"drain_timeout", drain}};
    if (!first_error_.empty())
      o["first_error"] = first_error_;
    if (opt_.json) {
      std::printf("%s\n", protocol::to_json_text(o).c_str());
      return;
    }
    std::printf("steadyws bench herd  %zu clients%s  `%s`\n", opt_.clients,
                opt_.tls ? " over wss://" : "", opt_.server_cmd.c_str());
    std::printf("  backoff base %lld ms, max %lld ms, symmetric jitter ±%lld ms%s\n",
                static_cast<long long>(opt_.backoff.base.count()),
                static_cast<long long>(opt_.backoff.max_delay.count()),
                static_cast<long long>(opt_.backoff.jitter.count()),
                opt_.backoff.exponential ? ", exponential" : "");
    std::printf("  %-13s %-6s %9s %9s %9s %9s %12s %9s %8s\n", "jitter", "cut", "down ms",
                "first ms", "99% ms", "100% ms", "peak acc/s", "attempts", "hinted");
    for (const auto& c : cases_)
      std::printf("  %-13s %-6s %9.0f %9.0f %9.0f %9.0f %12.0f %9llu %8zu\n",
                  std::string(to_string(c.mode)).c_str(),
                  c.cut == HerdCut::drain ? "drain" : "kill", c.server_down_ms, c.first_ms,
                  c.t99_ms, c.t100_ms, c.peak_accepts_per_s,
                  static_cast<unsigned long long>(c.attempts), c.hinted);
    std::printf("  %-13s %llu", "errors", static_cast<unsigned long long>(error_total()));
    if (!first_error_.empty())
      std::printf("; first: %s", first_error_.c_str());
    std::printf("\n");
  }

  const HerdOptions& opt_;
  bench::ServerChild server_;
  net::io_context ioc_{1};
  std::atomic<unsigned> handler_bugs_{0};  // exceptions that escaped a handler
  net::executor_work_guard<net::io_context::executor_type> guard_{ioc_.get_executor()};
  bench::ClientEnv env_;
  HerdState state_;
  std::vector<std::unique_ptr<HerdClient>> clients_;  // destroyed before ioc_
  std::vector<CaseResult> cases_;
  SteadyClock::time_point last_progress_{};
  double ramp_s_ = 0;
  std::uint64_t not_connected_ = 0;
  std::uint64_t not_back_ = 0;
  std::string first_error_;
};

}  // namespace

int run_herd(const HerdOptions& options) {
  HerdRun run(options);
  return run.execute();
}

}  // namespace steadyws::tools
