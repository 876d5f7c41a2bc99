// `steadyws bench` (bench.hpp): workers, connections, the three workloads and the report.
//
// Shape: one Worker per --threads, each an io_context run by one thread (a single-threaded
// epoll loop) owning its connections outright, so nothing on the message path takes a lock or
// touches an atomic other than the progress counters (single-writer relaxed stores). The main
// thread drives the phases (setup, warmup, measure, drain) by sleeping and flipping one atomic,
// and asks a worker for its state by posting a task to it (on_worker), never by sharing it.
#include "tools/load/bench.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "asio/run_loop.hpp"
#include "client/tls.hpp"
#include "client/url.hpp"
#include "protocol/json_text.hpp"
#include "protocol/permessage_deflate.hpp"
#include "tools/common/stats.hpp"
#include "tools/load/bench_frame.hpp"
#include "tools/load/bench_server.hpp"

namespace steadyws::tools {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using bench::FrameView;
using bench::Opcode;
using bench::ParseStatus;
using boost::system::error_code;

enum class Phase : int { setup, warmup, measure, drain, done };

// What can go wrong, per worker; summed after the run. Each one is a reason to exit 1.
struct Errors {
  std::uint64_t connect_failed = 0;    // TCP connect or upgrade refused
  std::uint64_t closed = 0;            // an open connection closed before the end
  std::uint64_t protocol = 0;          // unparsable frame, missing welcome, unknown reply
  std::uint64_t server_errors = 0;     // {"type":"error"} frames
  std::uint64_t mismatch = 0;          // pong timestamp or ack seq out of order
  std::uint64_t gaps = 0;              // fanout: seq numbers skipped
  std::uint64_t duplicates = 0;        // fanout: seq seen again or going back
  std::uint64_t unanswered = 0;        // pings or publishes without a reply at the end
  std::uint64_t undelivered = 0;       // fanout: acked messages a subscriber never got
  std::uint64_t subscribe_failed = 0;  // fanout: no `subscribed` before publishing

  void add(const Errors& o) {
    connect_failed += o.connect_failed;
    closed += o.closed;
    protocol += o.protocol;
    server_errors += o.server_errors;
    mismatch += o.mismatch;
    gaps += o.gaps;
    duplicates += o.duplicates;
    unanswered += o.unanswered;
    undelivered += o.undelivered;
    subscribe_failed += o.subscribe_failed;
  }
  std::uint64_t total() const {
    return connect_failed + closed + protocol + server_errors + mismatch + gaps + duplicates +
           unanswered + undelivered + subscribe_failed;
  }
  json::object to_json() const {
    return {{"total", total()},
            {"connect_failed", connect_failed},
            {"closed", closed},
            {"protocol", protocol},
            {"server_errors", server_errors},
            {"mismatch", mismatch},
            {"gaps", gaps},
            {"duplicates", duplicates},
            {"unanswered", unanswered},
            {"undelivered", undelivered},
            {"subscribe_failed", subscribe_failed}};
  }
};

// Single-writer counter the main thread may read for progress: no locked instruction.
struct ProgressCounter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// What every worker needs to know about the run.
struct Shared {
  explicit Shared(const BenchOptions& o) : opt(o) {}
  const BenchOptions& opt;
  tcp::endpoint endpoint;
  std::string request;                     // the upgrade request, same for every connection
  std::shared_ptr<net::ssl::context> tls;  // wss://: every connection runs TLS over TCP
  std::string tls_host;                    // for SNI and the certificate check
  std::string channel;                     // fanout
  std::string fill_pool;                   // fanout --payload-fill records: the lines to draw from
  std::atomic<Phase> phase{Phase::setup};

  bool measuring() const { return phase.load(std::memory_order_relaxed) == Phase::measure; }
  bool sending() const { return phase.load(std::memory_order_relaxed) < Phase::drain; }
};

class Worker;

// One client connection: connect, upgrade, welcome, then frames both ways. Answers protocol
// pings with pongs carrying the same payload. Subclasses add the workload. Lives in its
// Worker's vector until the run ends; handlers capture `this` (the worker stops its
// io_context before any connection is destroyed).
class Conn {
 public:
  Conn(Worker& worker, std::size_t read_buffer, std::uint32_t seed);
  virtual ~Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void start();
  bool is_open() const { return state_ == State::open; }
  // Called on the worker thread when the main thread starts the workload.
  virtual void begin(Clock::time_point /*now*/) {}
  // --pace-by-delivery: a subscriber received a message (the publisher may send more).
  virtual void on_delivery(Clock::time_point /*now*/) {}
  // Closes with RST (no TIME_WAIT pile-up across rounds). Only after the loop has stopped.
  void abort();

 protected:
  // Frames a text message into the pending buffer; written at the end of this turn.
  void send_text(std::string_view payload);
  void flush();
  virtual void on_welcome(Clock::time_point /*now*/) {}
  virtual void on_text(std::string_view payload, Clock::time_point now) = 0;
  // A compressed message arrived on an open connection: return false to take it as it is,
  // not inflated and not given to on_text (the subscriber's uninspected deliveries).
  virtual bool inspect_compressed(Clock::time_point /*now*/) { return true; }
  void protocol_error(std::string_view what);

  Worker& w_;

 private:
  enum class State { connecting, upgrading, welcome, open, closed };

  void on_connect(const error_code& ec);
  void do_read();
  void on_read(const error_code& ec, std::size_t n);
  bool handle_frame(const FrameView& f, Clock::time_point now);
  void dispatch_message(std::string_view payload, bool compressed, Clock::time_point now);
  void dispatch_text(std::string_view payload, Clock::time_point now);
  void on_write(const error_code& ec);
  void fail(const std::string& what);
  std::uint32_t next_mask() {
    mask_ = mask_ * 1664525u + 1013904223u;
    return mask_;
  }

  void begin_upgrade();
  // Over TLS or not, the same frames: one gathered write per flush (Asio linearises it into
  // one SSL_write up to 8 KiB), one read per wakeup.
  template <class Buffers, class Handler>
  void write_all(const Buffers& b, Handler&& h) {
    if (tls_)
      net::async_write(*tls_, b, std::forward<Handler>(h));
    else
      net::async_write(socket_, b, std::forward<Handler>(h));
  }

  tcp::socket socket_;
  std::unique_ptr<net::ssl::stream<tcp::socket&>> tls_;  // wss:// only
  State state_ = State::connecting;
  std::vector<char> rbuf_;
  std::size_t rlen_ = 0;
  std::vector<char> pending_;  // frames queued this turn
  std::vector<char> writing_;  // frames being written (one write in flight)
  bool write_in_flight_ = false;
  bool in_dispatch_ = false;  // inside on_read: defer writes to its end (coalescing)
  std::uint32_t mask_;
  std::string fragments_;              // a fragmented text message being reassembled (rare)
  bool deflate_ = false;               // permessage-deflate agreed in the upgrade
  bool fragments_compressed_ = false;  // the message in fragments_ began with RSV1
};

class Worker {
 public:
  explicit Worker(Shared& shared) : shared_(shared) {}

  Shared& shared() { return shared_; }
  const BenchOptions& opt() const { return shared_.opt; }
  net::io_context& ioc() { return ioc_; }

  void add(std::unique_ptr<Conn> c) { conns_.push_back(std::move(c)); }
  std::size_t size() const { return conns_.size(); }
  std::vector<std::unique_ptr<Conn>>& conns() { return conns_; }

  void run() {
    thread_ = std::thread([this] {
      // A throw from a handler is a bench bug: reported as an error, and this worker stops
      // (its figures would be wrong from there on).
      io::run_io_context(ioc_, [this](std::string_view what) {
        note_error("worker exception: " + std::string(what));
        ++errors.protocol;
        return false;
      });
    });
  }
  void stop() {
    guard_.reset();
    ioc_.stop();
    if (thread_.joinable())
      thread_.join();
    for (auto& c : conns_)
      c->abort();
  }

  // Starts connecting, keeping at most connect_concurrency handshakes in progress.
  void start_connecting() {
    while (connecting_ < opt().connect_concurrency && next_ < conns_.size()) {
      ++connecting_;
      conns_[next_++]->start();
    }
  }
  void connect_done(bool ok) {
    --connecting_;
    (ok ? opened : failed).add();
    start_connecting();
  }

  void note_error(const std::string& what) {
    if (first_error.empty())
      first_error = what;
    error_count.add();
  }

  // Per-worker results; touched only on the worker thread until stop() returns.
  Errors errors;
  LatencyHistogram hist;
  std::uint64_t measured_ops = 0;   // round trips / deliveries inside the measure window
  std::uint64_t server_pings = 0;   // protocol pings answered
  std::uint64_t rx_bytes = 0;       // bytes read off the sockets inside the window (the wire)
  std::uint64_t compressed = 0;     // compressed (RSV1) messages inside the window
  std::uint64_t deflate_conns = 0;  // connections whose upgrade agreed permessage-deflate
  std::string inflate_buf;          // the head of the compressed message being looked at
  Conn* pacer = nullptr;            // --pace-by-delivery: the publisher told of each delivery
  std::string first_error;
  // Progress, readable by the main thread at any time.
  ProgressCounter ops;  // all round trips / deliveries
  ProgressCounter opened;
  ProgressCounter failed;
  ProgressCounter ready;  // fanout: subscribed, publishers welcomed
  ProgressCounter error_count;

 private:
  Shared& shared_;
  net::io_context ioc_{1};
  net::executor_work_guard<net::io_context::executor_type> guard_{ioc_.get_executor()};
  std::vector<std::unique_ptr<Conn>> conns_;  // destroyed before ioc_
  std::size_t next_ = 0;
  unsigned connecting_ = 0;
  std::thread thread_;
};

// Runs f() on the worker's thread and returns its result (the loop must be running).
template <typename F>
auto on_worker(Worker& w, F f) -> decltype(f()) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  net::post(w.ioc(), [&task] { task(); });
  return result.get();
}

// ---- Conn -------------------------------------------------------------------------------

Conn::Conn(Worker& worker, std::size_t read_buffer, std::uint32_t seed)
    : w_(worker), socket_(worker.ioc()), rbuf_(read_buffer), mask_(seed * 2654435761u + 1) {}

void Conn::start() {
  state_ = State::connecting;
  if (w_.shared().tls) {
    tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(socket_, *w_.shared().tls);
    SSL* ssl = tls_->native_handle();
    const std::string& host = w_.shared().tls_host;
    error_code bad;
    (void)net::ip::make_address(host, bad);
    if (bad)
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));  // SNI (SSL_set_tlsext_host_name)
    if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE) {
      if (bad)
        X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host.c_str(), 0);
      else
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    }
  }
  socket_.async_connect(w_.shared().endpoint, [this](const error_code& ec) { on_connect(ec); });
}

void Conn::abort() {
  error_code ignored;
  if (socket_.is_open()) {
    socket_.set_option(net::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }
  state_ = State::closed;
}

void Conn::on_connect(const error_code& ec) {
  if (ec)
    return fail("connect: " + ec.message());
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  if (!tls_)
    return begin_upgrade();
  tls_->async_handshake(net::ssl::stream_base::client, [this](const error_code& e) {
    if (!e)
      return begin_upgrade();
    const long v = SSL_get_verify_result(tls_->native_handle());
    fail("tls: " + (v != X509_V_OK ? std::string("certificate verify failed: ") +
                                         X509_verify_cert_error_string(v)
                                   : e.message()));
  });
}

void Conn::begin_upgrade() {
  state_ = State::upgrading;
  const auto& req = w_.shared().request;
  pending_.insert(pending_.end(), req.begin(), req.end());
  flush();
  do_read();
}

void Conn::send_text(std::string_view payload) {
  bench::append_frame(pending_, Opcode::text, payload, next_mask());
  if (!in_dispatch_)
    flush();
}

void Conn::flush() {
  if (write_in_flight_ || pending_.empty() || state_ == State::closed)
    return;
  std::swap(pending_, writing_);
  write_in_flight_ = true;
  write_all(net::buffer(writing_), [this](const error_code& ec, std::size_t) { on_write(ec); });
}

void Conn::on_write(const error_code& ec) {
  write_in_flight_ = false;
  writing_.clear();
  if (ec)
    return fail("write: " + ec.message());
  flush();
}

void Conn::do_read() {
  if (rlen_ == rbuf_.size())
    rbuf_.resize(rbuf_.size() * 2);
  const auto b = net::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_);
  auto h = [this](const error_code& ec, std::size_t n) {
    on_read(ec, n);
  };
  if (tls_)
    tls_->async_read_some(b, std::move(h));
  else
    socket_.async_read_some(b, std::move(h));
}

void Conn::on_read(const error_code& ec, std::size_t n) {
  if (state_ == State::closed)
    return;
  if (ec)
    return fail(ec == net::error::eof ? std::string("server closed the TCP connection")
                                      : "read: " + ec.message());
  rlen_ += n;
  if (w_.shared().measuring())
    w_.rx_bytes += n;
  const auto now = Clock::now();  // one clock read per batch of frames
  std::size_t off = 0;
  if (state_ == State::upgrading) {
    const auto end = bench::parse_upgrade_response(rbuf_.data(), rlen_);
    if (!end)
      return do_read();
    if (*end == 0) {
      const std::string_view head(rbuf_.data(), std::min<std::size_t>(rlen_, 40));
      return fail("upgrade refused: " + std::string(head.substr(0, head.find('\r'))));
    }
    off = *end;
    state_ = State::welcome;
    if (w_.opt().compression) {
      const auto answer = bench::parse_deflate_answer(std::string_view(rbuf_.data(), off));
      // Each message is inflated on its own: a server keeping its context would be misread.
      if (answer.accepted && !answer.server_no_context_takeover)
        return fail(
            "the server agreed permessage-deflate without server_no_context_takeover, which the "
            "offer asked for; bench inflates each message on its own");
      deflate_ = answer.accepted;
      if (deflate_)
        ++w_.deflate_conns;
    }
  }
  in_dispatch_ = true;
  while (off < rlen_) {
    FrameView f;
    std::size_t used = 0;
    const auto st = bench::parse_frame(rbuf_.data() + off, rlen_ - off, f, used, deflate_);
    if (st == ParseStatus::need_more) {
      if (used > rbuf_.size())  // a frame larger than the buffer: grow once to fit it
        rbuf_.resize(used);
      break;
    }
    if (st == ParseStatus::bad) {
      in_dispatch_ = false;
      return protocol_error("unparsable frame");
    }
    off += used;
    if (!handle_frame(f, now)) {
      in_dispatch_ = false;
      return;
    }
  }
  in_dispatch_ = false;
  if (off > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + off, rlen_ - off);
    rlen_ -= off;
  }
  flush();
  do_read();
}

// Returns false when the connection is finished.
bool Conn::handle_frame(const FrameView& f, Clock::time_point now) {
  switch (f.op) {
    case Opcode::text:
      if (!f.fin) {
        fragments_.assign(f.payload);
        fragments_compressed_ = f.rsv1;
        return state_ != State::closed;
      }
      dispatch_message(f.payload, f.rsv1, now);
      break;
    case Opcode::continuation:
      fragments_.append(f.payload);
      if (f.fin)  // one message however many frames it came in
        dispatch_message(fragments_, fragments_compressed_, now);
      break;
    case Opcode::ping:
      // RFC 6455 §5.5.3: the pong carries the ping's payload.
      bench::append_frame(pending_, Opcode::pong, f.payload, next_mask());
      ++w_.server_pings;
      break;
    case Opcode::pong:
      break;
    case Opcode::close: {
      unsigned code = 0;
      if (f.payload.size() >= 2)
        code = (static_cast<unsigned>(static_cast<unsigned char>(f.payload[0])) << 8) |
               static_cast<unsigned char>(f.payload[1]);
      const auto reason = f.payload.size() > 2 ? f.payload.substr(2) : std::string_view{};
      fail("server closed with " + std::to_string(code) + " " + std::string(reason));
      return false;
    }
    default:
      protocol_error("unexpected binary or reserved opcode");
      return false;
  }
  return state_ != State::closed;
}

// A whole text message; a compressed one the connection wants to inspect is inflated as far
// as kInflateHeadBytes (bench.hpp) into the worker's buffer, which is all the checks read.
void Conn::dispatch_message(std::string_view payload, bool compressed, Clock::time_point now) {
  if (!compressed)
    return dispatch_text(payload, now);
  if (w_.shared().measuring())
    ++w_.compressed;
  if (state_ == State::open && !inspect_compressed(now))
    return;
  std::string& head = w_.inflate_buf;
  head.clear();
  if (protocol::inflate_message(payload, head, kInflateHeadBytes) ==
      protocol::InflateResult::bad_data)
    return protocol_error("a compressed message does not inflate (bad deflate data)");
  dispatch_text(head, now);
}

void Conn::dispatch_text(std::string_view payload, Clock::time_point now) {
  if (state_ == State::welcome) {
    if (bench::find_type(payload) != "welcome")
      return protocol_error("first frame is not a welcome");
    state_ = State::open;
    w_.connect_done(true);
    on_welcome(now);
    return;
  }
  on_text(payload, now);
}

void Conn::protocol_error(std::string_view what) {
  if (state_ != State::open)
    return fail(std::string(what));  // counted as a failed connect
  ++w_.errors.protocol;
  w_.note_error(std::string(what));
  state_ = State::closed;
  error_code ignored;
  socket_.close(ignored);
}

void Conn::fail(const std::string& what) {
  if (state_ == State::closed)
    return;
  const bool was_open = state_ == State::open;
  state_ = State::closed;
  error_code ignored;
  socket_.close(ignored);
  if (!was_open) {
    ++w_.errors.connect_failed;
    w_.note_error(what);
    w_.connect_done(false);
    return;
  }
  if (w_.shared().phase.load(std::memory_order_relaxed) != Phase::done) {
    ++w_.errors.closed;
    w_.note_error(what);
  }
}

// ---- ping -------------------------------------------------------------------------------

// Keeps `depth` app-level pings in flight, timestamps 1, 2, 3 ... per connection, and checks
// each pong echoes the oldest outstanding one (CONTRACT §2: at once, in order, unchanged).
class PingConn final : public Conn {
 public:
  PingConn(Worker& w, std::uint32_t seed, unsigned depth)
      : Conn(w, 16 * 1024, seed), sent_at_(depth), depth_(depth) {}

  void begin(Clock::time_point now) override {
    started_ = true;
    top_up(now);
    flush();
  }
  std::uint64_t outstanding() const { return next_send_ - next_expect_; }

 private:
  void top_up(Clock::time_point now) {
    if (!started_ || !w_.shared().sending())
      return;
    while (next_send_ - next_expect_ < depth_) {
      char buf[64] = R"({"type":"ping","timestamp":)";
      constexpr std::size_t kPrefix = sizeof(R"({"type":"ping","timestamp":)") - 1;
      auto [end, ec] = std::to_chars(buf + kPrefix, buf + sizeof(buf) - 1, next_send_);
      *end++ = '}';
      send_text(std::string_view(buf, static_cast<std::size_t>(end - buf)));
      sent_at_[next_send_ % depth_] = now;
      ++next_send_;
    }
  }

  void on_text(std::string_view payload, Clock::time_point now) override {
    const auto type = bench::find_type(payload);
    if (type == "pong") {
      const auto ts = bench::find_u64(payload, "\"timestamp\":");
      if (!ts || *ts != next_expect_) {
        ++w_.errors.mismatch;
        w_.note_error("pong timestamp " + (ts ? std::to_string(*ts) : std::string("missing")) +
                      ", expected " + std::to_string(next_expect_));
        if (ts && *ts > next_expect_ && *ts < next_send_)
          next_expect_ = *ts + 1;  // resynchronize: the skipped ones count as mismatches
        return;
      }
      if (w_.shared().measuring()) {
        w_.hist.record(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at_[*ts % depth_])
                .count());
        ++w_.measured_ops;
      }
      w_.ops.add();
      ++next_expect_;
      top_up(now);
    } else if (type == "error") {
      ++w_.errors.server_errors;
      w_.note_error("server error: " + std::string(payload));
    }
  }

  std::vector<Clock::time_point> sent_at_;  // ring indexed by timestamp % depth
  unsigned depth_;
  std::uint64_t next_send_ = 1;
  std::uint64_t next_expect_ = 1;
  bool started_ = false;
};

// ---- fanout -----------------------------------------------------------------------------

// Subscribes on welcome; checks every `message` on the channel has seq one above the last;
// records publish-to-delivery latency from the send time embedded at the start of `data`.
class SubscriberConn final : public Conn {
 public:
  SubscriberConn(Worker& w, std::uint32_t seed) : Conn(w, 64 * 1024, seed) {}

  std::uint64_t last_seq() const { return last_seq_; }
  bool subscribed() const { return subscribed_; }

 private:
  // Inspects one compressed message in kInspectEvery (bench.hpp); the others are taken as
  // the next seq, so a gap or a duplicate among them shows at the next inspected one.
  bool inspect_compressed(Clock::time_point now) override {
    if (!subscribed_ || ++compressed_seen_ % kInspectEvery == 0)
      return true;
    ++last_seq_;
    if (w_.shared().measuring())
      ++w_.measured_ops;
    w_.ops.add();
    if (w_.pacer != nullptr)
      w_.pacer->on_delivery(now);
    return false;
  }

  void on_welcome(Clock::time_point /*now*/) override {
    sub_.assign(R"({"type":"subscribe","channel":")");
    sub_.append(w_.shared().channel).append("\"}");
    send_text(sub_);
  }

  void on_text(std::string_view payload, Clock::time_point now) override {
    const auto type = bench::find_type(payload);
    if (type == "message") {
      const auto seq = bench::find_u64(payload, "\"seq\":");
      const auto sent = bench::find_u64(payload, "\"data\":\"");
      if (!seq || !sent || !subscribed_) {
        w_.note_error("malformed message: " + std::string(payload.substr(0, 200)));
        ++w_.errors.protocol;
        return;
      }
      if (*seq <= last_seq_) {
        ++w_.errors.duplicates;
        w_.note_error("seq " + std::to_string(*seq) + " after " + std::to_string(last_seq_));
        return;
      }
      if (*seq != last_seq_ + 1) {
        w_.errors.gaps += *seq - last_seq_ - 1;
        w_.note_error("seq gap: " + std::to_string(last_seq_) + " -> " + std::to_string(*seq));
      }
      last_seq_ = *seq;
      if (w_.shared().measuring()) {
        const auto now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
        w_.hist.record(now_ns - static_cast<std::int64_t>(*sent));
        ++w_.measured_ops;
      }
      w_.ops.add();
      if (w_.pacer != nullptr)
        w_.pacer->on_delivery(now);
    } else if (type == "subscribed") {
      const auto seq = bench::find_u64(payload, "\"seq\":");
      subscribed_ = true;
      last_seq_ = seq.value_or(0);
      w_.ready.add();
    } else if (type == "error") {
      ++w_.errors.server_errors;
      w_.note_error("server error: " + std::string(payload));
    }
  }

  std::string sub_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t compressed_seen_ = 0;
  bool subscribed_ = false;
};

// Publishes to the channel: `window` publishes awaiting acks, or `rate` per second. `data`
// is a string of payload_bytes characters starting with the steady-clock send time in ns.
class PublisherConn final : public Conn {
 public:
  PublisherConn(Worker& w, std::uint32_t seed, unsigned window, double rate)
      : Conn(w, 16 * 1024, seed), window_(window), rate_(rate), timer_(w.ioc()) {
    prefix_.assign(R"({"type":"publish","channel":")");
    prefix_.append(w.shared().channel).append(R"(","data":")");
    msg_.reserve(prefix_.size() + w.opt().payload_bytes + 8);
  }

  std::uint64_t outstanding() const { return sent_ - acked_; }
  std::uint64_t last_ack() const { return last_ack_; }
  std::uint64_t sent() const { return sent_; }
  void stop_timer() { timer_.cancel(); }

  void begin(Clock::time_point now) override {
    start_ = now;
    if (rate_ > 0) {
      tick();
    } else {
      for (unsigned i = 0; i < window_; ++i)
        publish(now);
    }
    flush();
  }

  // --pace-by-delivery: at most `window_` publishes not yet delivered to every subscriber
  // (counted as deliveries / subscribers), whatever the acks say.
  void on_delivery(Clock::time_point now) override {
    const std::uint64_t rounds = w_.ops.get() / w_.opt().subscribers;
    while (w_.shared().sending() && sent_ < rounds + window_)
      publish(now);
  }

 private:
  void on_welcome(Clock::time_point /*now*/) override { w_.ready.add(); }

  void publish(Clock::time_point now) {
    msg_.assign(prefix_);
    char digits[24];
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), ns);
    const auto len = static_cast<std::size_t>(end - digits);
    msg_.append(digits, len);
    const auto want = w_.opt().payload_bytes;
    if (want > len) {
      const std::string& pool = w_.shared().fill_pool;
      if (pool.empty()) {
        msg_.append(want - len, 'x');
      } else {  // a different slice each time (the pool is at least twice the payload)
        // ';' ends the send time: a slice may begin with a digit, which find_u64 would read
        // as more of the time (payload_bytes >= 24 > 19 digits + 1).
        msg_.push_back(';');
        const std::size_t at = (sent_ * 7919) % (pool.size() - want);
        msg_.append(pool, at, want - len - 1);
      }
    }
    msg_.append("\"}");
    send_text(msg_);
    ++sent_;
  }

  void tick() {
    if (!w_.shared().sending())
      return;
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const auto due = static_cast<std::uint64_t>(elapsed * rate_) + 1;
    while (sent_ < due)
      publish(now);
    flush();
    const auto next =
        start_ + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(sent_) / rate_));
    timer_.expires_at(next);
    timer_.async_wait([this](const error_code& ec) {
      if (!ec)
        tick();
    });
  }

  void on_text(std::string_view payload, Clock::time_point now) override {
    const auto type = bench::find_type(payload);
    if (type == "ack") {
      const auto seq = bench::find_u64(payload, "\"seq\":");
      if (!seq || *seq <= last_ack_) {
        ++w_.errors.mismatch;
        w_.note_error("ack out of order: " + std::string(payload.substr(0, 200)));
      } else {
        last_ack_ = *seq;
      }
      ++acked_;
      if (rate_ <= 0 && !w_.opt().pace_by_delivery && w_.shared().sending())
        publish(now);
    } else if (type == "error") {
      ++w_.errors.server_errors;
      w_.note_error("server error: " + std::string(payload));
    }
  }

  unsigned window_;
  double rate_;
  net::steady_timer timer_;
  Clock::time_point start_{};
  std::string prefix_;
  std::string msg_;
  std::uint64_t sent_ = 0;
  std::uint64_t acked_ = 0;
  std::uint64_t last_ack_ = 0;
};

// ---- idle -------------------------------------------------------------------------------

// Holds the connection open; the base class answers the server's protocol pings.
class IdleConn final : public Conn {
 public:
  IdleConn(Worker& w, std::uint32_t seed) : Conn(w, 2 * 1024, seed) {}

 private:
  void on_text(std::string_view payload, Clock::time_point /*now*/) override {
    if (bench::find_type(payload) == "error") {
      ++w_.errors.server_errors;
      w_.note_error("server error: " + std::string(payload));
    }
  }
};

// ---- /proc ------------------------------------------------------------------------------

// ---- the run ----------------------------------------------------------------------------

// `count` characters of record-like lines for --payload-fill records, from a fixed-seed LCG:
// digits and names vary line to line, so deflate finds the structure but not long repeats.
std::string record_pool(std::size_t count) {
  static constexpr const char* kSides[] = {"buy", "sell"};
  std::uint32_t r = 12345;
  auto next = [&r] {
    r = r * 1664525u + 1013904223u;
    return r >> 8;
  };
  std::string pool;
  pool.reserve(count + 96);
  char line[96];
  while (pool.size() < count) {
    const char sym[4] = {static_cast<char>('A' + next() % 26), static_cast<char>('A' + next() % 26),
                         static_cast<char>('A' + next() % 26), 0};
    const int n = std::snprintf(line, sizeof(line), "{id:%u,sym:%s,px:%u.%02u,qty:%u,side:%s},",
                                next() % 100000, sym, 10 + next() % 490, next() % 100,
                                100 * (1 + next() % 20), kSides[next() % 2]);
    pool.append(line, static_cast<std::size_t>(n));
  }
  pool.resize(count);
  return pool;
}

// --url through the client library's parser (Boost.URL): ws:// only, a default /ws path.
client::Endpoint parse_url(const std::string& url) {
  auto e = client::parse_ws_url(url);
  if (!e)
    throw std::invalid_argument("--url " + url + ": " + e.error());
  return *e;
}

const char* workload_name(BenchWorkload w) {
  switch (w) {
    case BenchWorkload::ping:
      return "ping";
    case BenchWorkload::fanout:
      return "fanout";
    case BenchWorkload::idle:
      return "idle";
  }
  return "?";
}

std::string with_commas(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return (n < 0 ? "-" : "") + s;
}

std::string fmt_ns(std::uint64_t ns) {
  char buf[32];
  if (ns < 10'000)
    std::snprintf(buf, sizeof(buf), "%.1f us", static_cast<double>(ns) / 1e3);
  else if (ns < 10'000'000)
    std::snprintf(buf, sizeof(buf), "%.0f us", static_cast<double>(ns) / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.1f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

class Run {
 public:
  explicit Run(const BenchOptions& opt) : opt_(opt), shared_(opt) {}

  int execute() {
    validate();
    const auto fds = bench::raise_fd_limit();
    const client::Endpoint url = parse_url(opt_.url);
    {
      net::io_context ioc;
      tcp::resolver resolver(ioc);
      shared_.endpoint = resolver.resolve(url.host, url.port).begin()->endpoint();
    }
    shared_.request =
        bench::upgrade_request(url.host_header(), url.target,
                               opt_.compression ? bench::kDeflateOffer : std::string_view{});
    if (opt_.workload == BenchWorkload::fanout && opt_.fill == PayloadFill::records)
      shared_.fill_pool = record_pool(std::max<std::size_t>(16 * 1024, 2 * opt_.payload_bytes));
    if (url.tls) {
      auto ctx = client::make_tls_client_context(opt_.ca_file, opt_.insecure);
      if (!ctx)
        throw std::invalid_argument(ctx.error());
      shared_.tls = std::move(*ctx);
      shared_.tls_host = url.host;
    }
    shared_.channel = "bench.fanout." + std::to_string(::getpid()) + "." +
                      std::to_string(Clock::now().time_since_epoch().count() % 1000000);
    const std::size_t total = planned_connections();
    if (total + 64 > fds)
      throw std::invalid_argument(std::to_string(total) +
                                  " connections need more file descriptors than the limit (" +
                                  std::to_string(fds) + "); lower --connections");
    build();

    if (opt_.server_pid > 0) {
      rss_before_kb_ = bench::process_rss_kb(opt_.server_pid);
    }
    for (auto& w : workers_)
      w->run();
    const auto ramp_start = Clock::now();
    for (auto& w : workers_)
      net::post(w->ioc(), [p = w.get()] { p->start_connecting(); });
    wait_connected(total);
    ramp_s_ = std::chrono::duration<double>(Clock::now() - ramp_start).count();

    switch (opt_.workload) {
      case BenchWorkload::ping:
        run_ping();
        break;
      case BenchWorkload::fanout:
        run_fanout();
        break;
      case BenchWorkload::idle:
        run_idle();
        break;
    }
    shared_.phase = Phase::done;
    for (auto& w : workers_)
      w->stop();
    collect();
    report();
    return errors_.total() > 0 ? 1 : 0;
  }

 private:
  void validate() const {
    if (opt_.threads == 0)
      throw std::invalid_argument("--threads must be at least 1");
    if (opt_.duration_s <= 0)
      throw std::invalid_argument("--duration must be positive");
    if (opt_.workload == BenchWorkload::ping && (opt_.in_flight == 0 || opt_.connections == 0))
      throw std::invalid_argument("ping needs --connections and --in-flight of at least 1");
    if (opt_.workload == BenchWorkload::fanout) {
      if (opt_.publishers == 0 || opt_.subscribers == 0)
        throw std::invalid_argument("fanout needs at least one publisher and one subscriber");
      if (opt_.rate <= 0 && opt_.in_flight == 0)
        throw std::invalid_argument("fanout needs --in-flight >= 1 or --rate > 0");
      if (opt_.payload_bytes < 24)
        throw std::invalid_argument("--payload must be at least 24 bytes (it carries a time)");
      if (opt_.pace_by_delivery && (opt_.threads != 1 || opt_.publishers != 1 || opt_.rate > 0))
        throw std::invalid_argument(
            "--pace-by-delivery needs --threads 1, --publishers 1 and no --rate (the publisher "
            "counts the deliveries of its own loop)");
    }
  }

  std::size_t planned_connections() const {
    return opt_.workload == BenchWorkload::fanout ? opt_.subscribers + opt_.publishers
                                                  : opt_.connections;
  }

  void build() {
    for (unsigned t = 0; t < opt_.threads; ++t)
      workers_.push_back(std::make_unique<Worker>(shared_));
    std::uint32_t seed = static_cast<std::uint32_t>(::getpid());
    auto worker_for = [this](std::size_t i) -> Worker& {
      return *workers_[i % workers_.size()];
    };
    switch (opt_.workload) {
      case BenchWorkload::ping:
        for (std::size_t i = 0; i < opt_.connections; ++i) {
          auto& w = worker_for(i);
          w.add(std::make_unique<PingConn>(w, ++seed, opt_.in_flight));
        }
        break;
      case BenchWorkload::fanout:
        // Publishers first, so they connect before the subscriber ramp.
        for (unsigned i = 0; i < opt_.publishers; ++i) {
          auto& w = worker_for(i);
          w.add(std::make_unique<PublisherConn>(w, ++seed, opt_.in_flight,
                                                opt_.rate / opt_.publishers));
          if (opt_.pace_by_delivery)
            w.pacer = w.conns().back().get();
        }
        for (std::size_t i = 0; i < opt_.subscribers; ++i) {
          auto& w = worker_for(i);
          w.add(std::make_unique<SubscriberConn>(w, ++seed));
        }
        break;
      case BenchWorkload::idle:
        for (std::size_t i = 0; i < opt_.connections; ++i) {
          auto& w = worker_for(i);
          w.add(std::make_unique<IdleConn>(w, ++seed));
        }
        break;
    }
  }

  std::uint64_t sum(ProgressCounter Worker::*c) const {
    std::uint64_t s = 0;
    for (const auto& w : workers_)
      s += ((*w).*c).get();
    return s;
  }

  // One progress line on stderr.
  void progress(const char* phase) {
    const auto now = Clock::now();
    const std::uint64_t ops = sum(&Worker::ops);
    const double dt = std::chrono::duration<double>(now - last_progress_).count();
    const double rate = dt > 0 ? static_cast<double>(ops - last_ops_) / dt : 0;
    last_progress_ = now;
    last_ops_ = ops;
    if (!opt_.progress)
      return;
    std::fprintf(
        stderr, "bench %s %-7s t=%5.1fs open=%llu/%zu failed=%llu %s=%s/s errors=%llu\n",
        workload_name(opt_.workload), phase, std::chrono::duration<double>(now - started_).count(),
        static_cast<unsigned long long>(sum(&Worker::opened)), planned_connections(),
        static_cast<unsigned long long>(sum(&Worker::failed)), unit_short(),
        with_commas(rate).c_str(), static_cast<unsigned long long>(sum(&Worker::error_count)));
  }

  const char* unit_short() const {
    switch (opt_.workload) {
      case BenchWorkload::ping:
        return "rt";
      case BenchWorkload::fanout:
        return "deliveries";
      case BenchWorkload::idle:
        return "ops";
    }
    return "ops";
  }

  // Sleeps for `seconds`, printing progress about once a second.
  void sleep_with_progress(double seconds, const char* phase) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
    while (Clock::now() < end) {
      const auto next = std::min(end, last_progress_ + std::chrono::seconds(1));
      std::this_thread::sleep_until(next);
      if (Clock::now() >= last_progress_ + std::chrono::seconds(1))
        progress(phase);
    }
  }

  // Waits until every connection has opened or failed (ramp), or `until` holds.
  bool wait_for(const std::function<bool()>& until, double timeout_s, const char* phase) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(timeout_s));
    while (!until()) {
      if (Clock::now() >= end)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (Clock::now() >= last_progress_ + std::chrono::seconds(1))
        progress(phase);
    }
    return true;
  }

  void wait_connected(std::size_t total) {
    // A handshake in progress either completes or fails; 60 s bounds a wedged server.
    const bool all = wait_for([&] { return sum(&Worker::opened) + sum(&Worker::failed) >= total; },
                              60, "connect");
    if (!all) {
      const auto missing = total - sum(&Worker::opened) - sum(&Worker::failed);
      extra_errors_.connect_failed += missing;
      if (extra_first_error_.empty())
        extra_first_error_ = std::to_string(missing) + " handshakes still pending after 60 s";
    }
  }

  void begin_all() {
    for (auto& w : workers_) {
      on_worker(*w, [p = w.get()] {
        const auto now = Clock::now();
        for (auto& c : p->conns())
          if (c->is_open())
            c->begin(now);
        return 0;
      });
    }
  }

  void measure_window() {
    shared_.phase = Phase::warmup;
    if (opt_.warmup_s > 0)
      sleep_with_progress(opt_.warmup_s, "warmup");
    for (auto& w : workers_)  // reset anything recorded before the window
      on_worker(*w, [p = w.get()] {
        p->hist.reset();
        p->measured_ops = 0;
        return 0;
      });
    sample_cpu(true);
    const auto t0 = Clock::now();
    shared_.phase = Phase::measure;
    sleep_with_progress(opt_.duration_s, "measure");
    window_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
    sample_cpu(false);
    shared_.phase = Phase::drain;
  }

  // Reads the --server-pid's CPU seconds and the generator's own (all its threads) at the
  // window's start or end, next to the window's clock reads so that they cover the same
  // interval (a /proc read takes microseconds; the tick is 10 ms). The generator's figure says
  // how far it is from being the bottleneck itself.
  void sample_cpu(bool start) {
    if (opt_.server_pid > 0)
      (start ? cpu_start_s_ : cpu_end_s_) = bench::process_cpu_s(opt_.server_pid);
    (start ? gen_cpu_start_s_ : gen_cpu_end_s_) = bench::process_cpu_s(::getpid());
  }

  // The generator's CPU seconds over the window, rounded to clock ticks; -1 when unread.
  double generator_cpu_s() const {
    if (gen_cpu_start_s_ < 0 || gen_cpu_end_s_ < 0)
      return -1;
    const auto ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return std::round((gen_cpu_end_s_ - gen_cpu_start_s_) * ticks_per_s) / ticks_per_s;
  }

  // generator_cpu_s, generator_cpu_percent and, with `per_cpu_key`, the window's work per
  // generator CPU-second (null when under one clock tick).
  void generator_cpu_json(json::object& o, const char* per_cpu_key) const {
    const double cpu = generator_cpu_s();
    if (cpu < 0)
      return;
    o["generator_cpu_s"] = cpu;
    o["generator_cpu_percent"] = window_s_ > 0 ? cpu / window_s_ * 100.0 : 0.0;
    if (per_cpu_key != nullptr) {
      if (cpu > 0)
        o[per_cpu_key] = static_cast<double>(measured_ops_) / cpu;
      else
        o[per_cpu_key] = nullptr;
    }
  }

  // Server CPU seconds over the window, or -1 without --server-pid or when /proc was unreadable
  // (the process had gone). Rounded to whole clock ticks, which is all /proc counts in, so the
  // report says 0.17, not 0.16999999999999993.
  double server_cpu_s() const {
    if (cpu_start_s_ < 0 || cpu_end_s_ < 0)
      return -1;
    const auto ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return std::round((cpu_end_s_ - cpu_start_s_) * ticks_per_s) / ticks_per_s;
  }

  void run_ping() {
    begin_all();
    measure_window();
    // Every ping sent must be answered; 5 s is far beyond any healthy round trip.
    auto outstanding = [this] {
      std::uint64_t n = 0;
      for (auto& w : workers_)
        n += on_worker(*w, [p = w.get()] {
          std::uint64_t s = 0;
          for (auto& c : p->conns())
            if (c->is_open())
              s += static_cast<PingConn&>(*c).outstanding();
          return s;
        });
      return n;
    };
    wait_for([&] { return outstanding() == 0; }, 5, "drain");
    extra_errors_.unanswered += outstanding();
  }

  void run_fanout() {
    // Everyone subscribed (and every publisher welcomed) before the first publish.
    const std::size_t want = opt_.subscribers + opt_.publishers;
    const std::size_t opened = sum(&Worker::opened);
    wait_for([&] { return sum(&Worker::ready) >= std::min(want, opened); }, 30, "subscribe");
    for (auto& w : workers_)
      extra_errors_.subscribe_failed += on_worker(*w, [p = w.get()] {
        std::uint64_t n = 0;
        for (auto& c : p->conns())
          if (auto* s = dynamic_cast<SubscriberConn*>(c.get());
              s && s->is_open() && !s->subscribed())
            ++n;
        return n;
      });
    begin_all();
    measure_window();
    for (auto& w : workers_)
      on_worker(*w, [p = w.get()] {
        for (auto& c : p->conns())
          if (auto* pub = dynamic_cast<PublisherConn*>(c.get()))
            pub->stop_timer();
        return 0;
      });
    // Acks for everything published, then every subscriber at the last acked seq.
    struct PubState {
      std::uint64_t outstanding = 0;
      std::uint64_t last_ack = 0;
      std::uint64_t sent = 0;
    };
    auto pubs = [this] {
      PubState s;
      for (auto& w : workers_) {
        const auto one = on_worker(*w, [p = w.get()] {
          PubState r;
          for (auto& c : p->conns())
            if (auto* pub = dynamic_cast<PublisherConn*>(c.get()); pub && pub->is_open()) {
              r.outstanding += pub->outstanding();
              r.last_ack = std::max(r.last_ack, pub->last_ack());
              r.sent += pub->sent();
            }
          return r;
        });
        s.outstanding += one.outstanding;
        s.last_ack = std::max(s.last_ack, one.last_ack);
        s.sent += one.sent;
      }
      return s;
    };
    wait_for([&] { return pubs().outstanding == 0; }, 5, "drain");
    const PubState final_state = pubs();
    extra_errors_.unanswered += final_state.outstanding;
    published_ = final_state.sent;
    const std::uint64_t final_seq = final_state.last_ack;
    auto behind = [this, final_seq] {
      std::uint64_t n = 0;
      for (auto& w : workers_)
        n += on_worker(*w, [p = w.get(), final_seq] {
          std::uint64_t missing = 0;
          for (auto& c : p->conns())
            if (auto* s = dynamic_cast<SubscriberConn*>(c.get());
                s && s->is_open() && s->subscribed() && s->last_seq() < final_seq)
              missing += final_seq - s->last_seq();
          return missing;
        });
      return n;
    };
    wait_for([&] { return behind() == 0; }, 10, "drain");
    extra_errors_.undelivered += behind();
  }

  void run_idle() {
    // Let the ramp's work finish before the hold is measured.
    if (opt_.warmup_s > 0)
      sleep_with_progress(opt_.warmup_s, "settle");
    if (opt_.server_pid > 0)
      rss_after_kb_ = bench::process_rss_kb(opt_.server_pid);
    sample_cpu(true);
    const auto t0 = Clock::now();
    shared_.phase = Phase::measure;
    sleep_with_progress(opt_.duration_s, "hold");
    window_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
    sample_cpu(false);
    if (opt_.server_pid > 0)
      rss_end_kb_ = bench::process_rss_kb(opt_.server_pid);
    for (auto& w : workers_)
      open_at_end_ += on_worker(*w, [p = w.get()] {
        std::uint64_t n = 0;
        for (auto& c : p->conns())
          n += c->is_open() ? 1 : 0;
        return n;
      });
    shared_.phase = Phase::drain;
  }

  void collect() {
    for (auto& w : workers_) {
      errors_.add(w->errors);
      hist_.merge(w->hist);
      measured_ops_ += w->measured_ops;
      server_pings_ += w->server_pings;
      rx_bytes_ += w->rx_bytes;
      compressed_ += w->compressed;
      deflate_conns_ += w->deflate_conns;
      opened_ += w->opened.get();
      if (first_error_.empty())
        first_error_ = w->first_error;
    }
    errors_.add(extra_errors_);
    if (first_error_.empty())
      first_error_ = extra_first_error_;
  }

  json::object latency_json() const {
    auto us = [](std::uint64_t ns) {
      return static_cast<double>(ns) / 1e3;
    };
    return {{"count", hist_.count()},
            {"p50_us", us(hist_.quantile_ns(0.50))},
            {"p90_us", us(hist_.quantile_ns(0.90))},
            {"p99_us", us(hist_.quantile_ns(0.99))},
            {"max_us", us(hist_.max_ns())}};
  }

  double throughput() const { return window_s_ > 0 ? measured_ops_ / window_s_ : 0; }

  // With --server-pid: server_pid, server_cpu_s, server_cpu_percent (of one core over the
  // window) and, when `per_cpu_key` is given, the window's work per server CPU-second. A
  // figure that cannot be computed (unreadable /proc, no CPU tick in the window) is null,
  // never a made-up 0 or infinity.
  void server_cpu_json(json::object& o, const char* per_cpu_key) const {
    if (opt_.server_pid <= 0)
      return;
    o["server_pid"] = opt_.server_pid;
    const double cpu = server_cpu_s();
    if (cpu < 0) {
      o["server_cpu_s"] = nullptr;
      o["server_cpu_percent"] = nullptr;
    } else {
      o["server_cpu_s"] = cpu;
      o["server_cpu_percent"] = window_s_ > 0 ? cpu / window_s_ * 100.0 : 0.0;
    }
    if (per_cpu_key == nullptr)
      return;
    if (cpu > 0)
      o[per_cpu_key] = static_cast<double>(measured_ops_) / cpu;
    else
      o[per_cpu_key] = nullptr;
  }

  void report() {
    json::object o;
    o["workload"] = workload_name(opt_.workload);
    o["url"] = opt_.url;
    o["threads"] = opt_.threads;
    o["duration_s"] = window_s_;
    o["connections_planned"] = planned_connections();
    o["connections_open"] = opened_;
    o["ramp_s"] = ramp_s_;
    o["handshakes_per_s"] = ramp_s_ > 0 ? static_cast<double>(opened_) / ramp_s_ : 0.0;
    o["compression_offered"] = opt_.compression;
    o["compression_negotiated"] = deflate_conns_;
    switch (opt_.workload) {
      case BenchWorkload::ping:
        o["connections"] = opt_.connections;
        o["in_flight"] = opt_.in_flight;
        o["round_trips"] = measured_ops_;
        o["round_trips_per_s"] = throughput();
        o["latency"] = latency_json();
        server_cpu_json(o, "round_trips_per_server_cpu_s");
        generator_cpu_json(o, "round_trips_per_generator_cpu_s");
        break;
      case BenchWorkload::fanout:
        o["subscribers"] = opt_.subscribers;
        o["publishers"] = opt_.publishers;
        o["in_flight"] = opt_.rate > 0 ? 0u : opt_.in_flight;
        o["pace_by_delivery"] = opt_.pace_by_delivery;
        o["rate"] = opt_.rate;
        o["payload_bytes"] = opt_.payload_bytes;
        o["published"] = published_;
        o["deliveries"] = measured_ops_;
        o["deliveries_per_s"] = throughput();
        o["payload_fill"] = opt_.fill == PayloadFill::records ? "records" : "x";
        o["compressed_messages"] = compressed_;
        o["wire_rx_bytes"] = rx_bytes_;
        if (measured_ops_ > 0)
          o["wire_rx_bytes_per_delivery"] =
              static_cast<double>(rx_bytes_) / static_cast<double>(measured_ops_);
        else
          o["wire_rx_bytes_per_delivery"] = nullptr;
        o["latency"] = latency_json();
        server_cpu_json(o, "deliveries_per_server_cpu_s");
        generator_cpu_json(o, "deliveries_per_generator_cpu_s");
        break;
      case BenchWorkload::idle: {
        o["connections"] = opt_.connections;
        o["open_at_end"] = open_at_end_;
        o["server_pings_answered"] = server_pings_;
        server_cpu_json(o, nullptr);
        if (opt_.server_pid > 0) {
          o["rss_before_kb"] = rss_before_kb_;
          o["rss_after_ramp_kb"] = rss_after_kb_;
          o["rss_end_kb"] = rss_end_kb_;
          const long grown = std::max(rss_after_kb_, rss_end_kb_) - rss_before_kb_;
          o["rss_per_connection_bytes"] =
              opened_ > 0 ? static_cast<double>(grown) * 1024.0 / static_cast<double>(opened_)
                          : 0.0;
        }
        break;
      }
    }
    o["errors"] = errors_.to_json();
    if (!first_error_.empty())
      o["first_error"] = first_error_;
    if (opt_.json) {
      std::printf("%s\n", protocol::to_json_text(o).c_str());
      return;
    }
    print_table(o);
  }

  void print_table(const json::object& o) const {
    std::printf("steadyws bench %s  %s  threads=%u  window=%.1fs\n", workload_name(opt_.workload),
                opt_.url.c_str(), opt_.threads, window_s_);
    std::printf("  %-14s %s open of %zu (ramp %.2f s, %s handshakes/s)\n", "connections",
                with_commas(static_cast<double>(opened_)).c_str(), planned_connections(), ramp_s_,
                with_commas(o.at("handshakes_per_s").to_number<double>()).c_str());
    if (opt_.compression)
      std::printf("  %-14s permessage-deflate offered, agreed on %s connections\n", "compression",
                  with_commas(static_cast<double>(deflate_conns_)).c_str());
    auto latency = [this](const char* label) {
      std::printf("  %-14s p50 %s  p90 %s  p99 %s  max %s  (n=%s)\n", label,
                  fmt_ns(hist_.quantile_ns(0.5)).c_str(), fmt_ns(hist_.quantile_ns(0.9)).c_str(),
                  fmt_ns(hist_.quantile_ns(0.99)).c_str(), fmt_ns(hist_.max_ns()).c_str(),
                  with_commas(static_cast<double>(hist_.count())).c_str());
    };
    switch (opt_.workload) {
      case BenchWorkload::ping:
        std::printf("  %-14s %s round trips/s (%zu connections x %u in flight)\n", "throughput",
                    with_commas(throughput()).c_str(), opt_.connections, opt_.in_flight);
        latency("round trip");
        print_server_cpu("round trips");
        print_generator_cpu("round trips");
        break;
      case BenchWorkload::fanout:
        std::printf("  %-14s %s deliveries/s (%zu subscribers, %s, %zu-byte data; %s published)\n",
                    "throughput", with_commas(throughput()).c_str(), opt_.subscribers,
                    opt_.rate > 0 ? (with_commas(opt_.rate) + " publishes/s").c_str()
                                  : (std::to_string(opt_.in_flight) + " in flight").c_str(),
                    opt_.payload_bytes, with_commas(static_cast<double>(published_)).c_str());
        latency("delivery");
        std::printf(
            "  %-14s %s bytes read in the window, %.0f per delivery; %s compressed "
            "messages\n",
            "wire", with_commas(static_cast<double>(rx_bytes_)).c_str(),
            measured_ops_ > 0 ? static_cast<double>(rx_bytes_) / static_cast<double>(measured_ops_)
                              : 0.0,
            with_commas(static_cast<double>(compressed_)).c_str());
        print_server_cpu("deliveries");
        print_generator_cpu("deliveries");
        break;
      case BenchWorkload::idle:
        std::printf("  %-14s %s still open after the hold, %s server pings answered\n", "hold",
                    with_commas(static_cast<double>(open_at_end_)).c_str(),
                    with_commas(static_cast<double>(server_pings_)).c_str());
        if (opt_.server_pid > 0) {
          std::printf(
              "  %-14s %ld KiB before, %ld KiB after ramp, %ld KiB at end: %.0f bytes "
              "per connection\n",
              "server rss", rss_before_kb_, rss_after_kb_, rss_end_kb_,
              o.at("rss_per_connection_bytes").to_number<double>());
        }
        print_server_cpu(nullptr);
        break;
    }
    std::printf("  %-14s %llu", "errors", static_cast<unsigned long long>(errors_.total()));
    if (errors_.total() > 0) {
      std::printf(" (");
      bool first = true;
      for (const auto& kv : errors_.to_json()) {
        if (kv.key() == "total" || kv.value().to_number<std::uint64_t>() == 0)
          continue;
        std::printf("%s%.*s %llu", first ? "" : ", ", static_cast<int>(kv.key().size()),
                    kv.key().data(),
                    static_cast<unsigned long long>(kv.value().to_number<std::uint64_t>()));
        first = false;
      }
      std::printf("); first: %s", first_error_.c_str());
    }
    std::printf("\n");
  }

  // The generator's own CPU line of the table.
  void print_generator_cpu(const char* per_unit) const {
    const double cpu = generator_cpu_s();
    if (cpu < 0)
      return;
    std::printf("  %-14s %.2f s, %.1f %% of a core over the window", "bench cpu", cpu,
                window_s_ > 0 ? cpu / window_s_ * 100.0 : 0.0);
    if (cpu > 0)
      std::printf("; %s %s per bench CPU-second",
                  with_commas(static_cast<double>(measured_ops_) / cpu).c_str(), per_unit);
    std::printf("\n");
  }

  // The --server-pid CPU line of the table; `per_unit` names the work counted per server
  // CPU-second (nullptr: none, as for idle).
  void print_server_cpu(const char* per_unit) const {
    if (opt_.server_pid <= 0)
      return;
    const double cpu = server_cpu_s();
    const char* window = opt_.workload == BenchWorkload::idle ? "hold" : "window";
    if (cpu < 0) {
      std::printf("  %-14s not read: /proc/%ld/stat was unreadable (did the server exit?)\n",
                  "server cpu", opt_.server_pid);
      return;
    }
    std::printf("  %-14s %.2f s, %.1f %% of a core over the %s", "server cpu", cpu,
                window_s_ > 0 ? cpu / window_s_ * 100.0 : 0.0, window);
    if (per_unit != nullptr) {
      if (cpu > 0)
        std::printf("; %s %s per server CPU-second",
                    with_commas(static_cast<double>(measured_ops_) / cpu).c_str(), per_unit);
      else
        std::printf("; under one clock tick, no per-CPU figure");
    }
    std::printf("\n");
  }

  const BenchOptions& opt_;
  Shared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_progress_ = started_;
  std::uint64_t last_ops_ = 0;
  double ramp_s_ = 0;
  double window_s_ = 0;
  Errors errors_;
  Errors extra_errors_;  // found by the main thread (drain, ramp)
  std::string extra_first_error_;
  std::string first_error_;
  LatencyHistogram hist_;
  std::uint64_t measured_ops_ = 0;
  std::uint64_t server_pings_ = 0;
  std::uint64_t rx_bytes_ = 0;
  std::uint64_t compressed_ = 0;
  std::uint64_t deflate_conns_ = 0;
  std::uint64_t opened_ = 0;
  std::uint64_t open_at_end_ = 0;
  std::uint64_t published_ = 0;
  long rss_before_kb_ = -1;
  long rss_after_kb_ = -1;
  long rss_end_kb_ = -1;
  double cpu_start_s_ = -1;  // server utime + stime at the window's start, s; -1 = not read
  double cpu_end_s_ = -1;
  double gen_cpu_start_s_ = -1;  // this process's utime + stime at the window's start, s
  double gen_cpu_end_s_ = -1;
};

}  // namespace

int run_bench(const BenchOptions& options) {
  Run run(options);
  return run.execute();
}

}  // namespace steadyws::tools
