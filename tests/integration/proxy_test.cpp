// `steadyws proxy` as a real process between a real client socket and an echo server running
// in the test. Timing checks are lower bounds only: a loaded machine may be slow, never fast.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/wait_until.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using steadyws::test::wait_until;

// A TCP echo server on 127.0.0.1:0, run by Asio on its own thread.
class EchoServer {
 public:
  EchoServer() : acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    do_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~EchoServer() {
    net::post(ioc_, [this] { ioc_.stop(); });
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_; }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(tcp::socket&& s) : socket(std::move(s)) {}
    void read() {
      socket.async_read_some(net::buffer(buf),
                             [self = shared_from_this()](error_code ec, std::size_t n) {
                               if (ec)
                                 return;
                               net::async_write(self->socket, net::buffer(self->buf.data(), n),
                                                [self](error_code wec, std::size_t) {
                                                  if (!wec)
                                                    self->read();
                                                });
                             });
    }
    tcp::socket socket;
    std::array<char, 4096> buf{};
  };

  void do_accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec)
        return;
      ++accepted_;
      std::make_shared<Session>(std::move(s))->read();
      do_accept();
    });
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// `steadyws proxy --listen 0 --upstream 127.0.0.1:PORT --control-port 0` as a child process.
// (tests/support/server_process.hpp runs `serve` and parses one address; this line has two.)
// With `capture_stderr`, its log goes to a file that stderr_text() reads instead of the test's
// stderr.
class ProxyProcess {
 public:
  explicit ProxyProcess(std::uint16_t upstream_port, std::vector<std::string> extra = {},
                        bool capture_stderr = false) {
    char path[] = "/tmp/steadyws-proxy-out-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0)
      throw std::runtime_error("mkstemp failed");
    out_path_ = path;
    int err_fd = -1;
    if (capture_stderr) {
      char err_path[] = "/tmp/steadyws-proxy-err-XXXXXX";
      err_fd = ::mkstemp(err_path);
      if (err_fd < 0)
        throw std::runtime_error("mkstemp failed");
      err_path_ = err_path;
    }
    std::vector<std::string> args{STEADYWS_BINARY,  "proxy",
                                  "--listen",       "0",
                                  "--upstream",     "127.0.0.1:" + std::to_string(upstream_port),
                                  "--control-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      ::dup2(fd, 1);  // stderr stays the test's (unless captured): logs show up next to failures
      if (err_fd >= 0)
        ::dup2(err_fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fd);
    if (err_fd >= 0)
      ::close(err_fd);
    wait_listening();
  }
  ~ProxyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::unlink(out_path_.c_str());
    if (!err_path_.empty())
      ::unlink(err_path_.c_str());
  }
  std::uint16_t port() const { return port_; }
  std::uint16_t control_port() const { return control_port_; }
  // Everything it logged so far (capture_stderr only).
  std::string stderr_text() const {
    std::ifstream in(err_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void wait_listening() {
    std::string line;
    const bool ok = wait_until(
        [&] {
          std::ifstream in(out_path_);
          std::stringstream ss;
          ss << in.rdbuf();
          line = ss.str();
          return line.find('\n') != std::string::npos;
        },
        30s);
    if (!ok)
      throw std::runtime_error("proxy printed no listening line; stdout: " + line);
    // listening on 127.0.0.1:P control 127.0.0.1:C
    unsigned p = 0, c = 0;
    if (std::sscanf(line.c_str(), "listening on 127.0.0.1:%u control 127.0.0.1:%u", &p, &c) != 2)
      throw std::runtime_error("unparsable line: " + line);
    port_ = static_cast<std::uint16_t>(p);
    control_port_ = static_cast<std::uint16_t>(c);
  }

  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
  std::uint16_t port_ = 0;
  std::uint16_t control_port_ = 0;
};

struct HttpResult {
  unsigned status = 0;
  std::string body;
};

// One request to the control API, bounded by a 5 s deadline.
HttpResult control(std::uint16_t port, http::verb method, const std::string& target,
                   const std::string& body = "") {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(5s);
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::flat_buffer buf;
  error_code result;
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_write(stream, req, [&](error_code wec, std::size_t) {
      if (wec) {
        result = wec;
        return;
      }
      http::async_read(stream, buf, res, [&](error_code rec, std::size_t) { result = rec; });
    });
  });
  ioc.run();
  if (result)
    throw std::runtime_error("control " + target + ": " + result.message());
  return {res.result_int(), res.body()};
}

json::object state(std::uint16_t port) {
  return json::parse(control(port, http::verb::get, "/state").body).as_object();
}

void set_mode(std::uint16_t port, const std::string& body) {
  const auto r = control(port, http::verb::post, "/mode", body);
  ASSERT_EQ(r.status, 200u) << r.body;
}

// A client socket on its own io_context, with reads bounded by a deadline.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(ioc_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    socket_.set_option(tcp::no_delay(true));
  }

  void send(const std::string& data) { net::write(socket_, net::buffer(data)); }

  struct Read {
    std::string data;
    error_code ec;           // eof, connection_reset, ...; empty on success or timeout
    bool timed_out = false;  // `limit` passed before `want` bytes or an error
  };

  // Reads until `want` bytes arrived, the connection ended, or `limit` passed. The socket
  // stays open on timeout (the read is cancelled, not the socket). `send_meanwhile`, when not
  // empty, is written while reading, on the same thread (a socket is not used from two).
  Read read(std::size_t want, std::chrono::milliseconds limit,
            const std::string& send_meanwhile = {}) {
    Read out;
    net::steady_timer timer(ioc_, limit);
    if (!send_meanwhile.empty())
      net::async_write(socket_, net::buffer(send_meanwhile), [](error_code, std::size_t) {});
    std::array<char, 8192> buf{};
    std::function<void()> next = [&] {
      socket_.async_read_some(net::buffer(buf), [&](error_code ec, std::size_t n) {
        out.data.append(buf.data(), n);
        if (ec) {
          out.ec = ec;
          timer.cancel();
          return;
        }
        if (out.data.size() >= want) {
          timer.cancel();
          return;
        }
        next();
      });
    };
    next();
    timer.async_wait([&](error_code ec) {
      if (!ec) {
        out.timed_out = true;
        socket_.cancel();
      }
    });
    ioc_.restart();
    ioc_.run();
    if (out.timed_out && out.ec == net::error::operation_aborted)
      out.ec = {};
    return out;
  }

  // Reads until the peer closes (or `limit`).
  Read read_to_end(std::chrono::milliseconds limit) { return read(SIZE_MAX, limit); }

  bool is_open() const { return socket_.is_open(); }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
};

std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

bool ended(const Client::Read& r) {
  return r.ec == net::error::eof || r.ec == net::error::connection_reset ||
         r.ec == net::error::broken_pipe;
}

TEST(Proxy, PassesBytesThroughBothWays) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  Client c(proxy.port());
  c.send("hello through the proxy");
  const auto r = c.read(23, 5s);
  EXPECT_EQ(r.data, "hello through the proxy");
  ASSERT_TRUE(wait_until([&] {
    return state(proxy.control_port()).at("bytes").at("upstreamToClient").as_int64() >= 23;
  }));
  const auto s = state(proxy.control_port());
  EXPECT_EQ(s.at("connections").at("active").as_int64(), 1);
  EXPECT_EQ(s.at("bytes").at("clientToUpstream").as_int64(), 23);
  EXPECT_EQ(s.at("modes").as_array().at(0).as_string(), "pass");
}

TEST(Proxy, ClosingTheClientClosesTheUpstream) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  {
    Client c(proxy.port());
    c.send("x");
    ASSERT_EQ(c.read(1, 5s).data, "x");
  }
  EXPECT_TRUE(wait_until(
      [&] { return state(proxy.control_port()).at("connections").at("active").as_int64() == 0; }));
}

TEST(Proxy, DelayAddsAtLeastTheDelayEachWay) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  set_mode(proxy.control_port(), R"({"mode":"delay","ms":150})");
  Client c(proxy.port());
  const auto t0 = std::chrono::steady_clock::now();
  c.send("ping");
  const auto r = c.read(4, 10s);
  const auto rtt = ms_since(t0);
  EXPECT_EQ(r.data, "ping");
  EXPECT_GE(rtt, 300) << "150 ms each way";
}

TEST(Proxy, JitterKeepsByteOrder) {
  EchoServer echo;
  ProxyProcess proxy(echo.port(), {"--seed", "7"});
  set_mode(proxy.control_port(), R"({"mode":"delay","ms":40,"jitter":40})");
  Client c(proxy.port());
  std::string sent;
  for (int i = 0; i < 40; ++i) {
    const std::string piece = "<" + std::to_string(i) + ">";
    sent += piece;
    c.send(piece);
    std::this_thread::sleep_for(2ms);  // separate chunks, so each gets its own jitter
  }
  const auto r = c.read(sent.size(), 10s);
  EXPECT_EQ(r.data, sent);
}

TEST(Proxy, BandwidthCapSlowsABigTransfer) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  set_mode(proxy.control_port(), R"({"mode":"bandwidth","bytesPerSec":50000})");
  Client c(proxy.port());
  const std::string big(50000, 'b');
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = c.read(big.size(), 20s, big);  // the echo of a big write made meanwhile
  const auto took = ms_since(t0);
  EXPECT_EQ(r.data.size(), big.size());
  // 50000 B at 50000 B/s is 1 s; the first 1/20 s piece goes at once.
  EXPECT_GE(took, 900);
}

TEST(Proxy, RefuseClosesNewConnectionsAndPassRestores) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  set_mode(proxy.control_port(), R"({"mode":"refuse"})");
  {
    Client c(proxy.port());
    const auto r = c.read_to_end(5s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_TRUE(ended(r)) << r.ec.message();
  }
  EXPECT_EQ(echo.accepted(), 0);
  EXPECT_EQ(state(proxy.control_port()).at("refused").as_int64(), 1);
  set_mode(proxy.control_port(), R"({"mode":"pass"})");
  Client c(proxy.port());
  c.send("back");
  EXPECT_EQ(c.read(4, 5s).data, "back");
}

TEST(Proxy, ResetEndsEveryCurrentConnection) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  Client a(proxy.port());
  Client b(proxy.port());
  a.send("a");
  b.send("b");
  ASSERT_EQ(a.read(1, 5s).data, "a");
  ASSERT_EQ(b.read(1, 5s).data, "b");
  const auto res = control(proxy.control_port(), http::verb::post, "/reset");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"reset":2})");
  for (Client* c : {&a, &b}) {
    const auto r = c->read_to_end(5s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_TRUE(ended(r)) << r.ec.message();
  }
  EXPECT_EQ(state(proxy.control_port()).at("resets").as_int64(), 2);
}

std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// --quiet: a reset of every connection logs its one summary line and nothing per connection.
// The same steps without --quiet log one `proxy close` line per pair, so the test can fail.
TEST(Proxy, QuietLogsOneLinePerFaultAndNonePerConnection) {
  EchoServer echo;
  for (const bool quiet : {false, true}) {
    SCOPED_TRACE(quiet ? "--quiet" : "default");
    ProxyProcess proxy(echo.port(),
                       quiet ? std::vector<std::string>{"--quiet"} : std::vector<std::string>{},
                       /*capture_stderr=*/true);
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 5; ++i) {
      clients.push_back(std::make_unique<Client>(proxy.port()));
      clients.back()->send("x");
      ASSERT_EQ(clients.back()->read(1, 5s).data, "x");
    }
    set_mode(proxy.control_port(), R"({"mode":"delay","ms":1})");
    const auto res = control(proxy.control_port(), http::verb::post, "/reset");
    EXPECT_EQ(res.body, R"({"reset":5})");
    ASSERT_TRUE(wait_until([&] {
      return state(proxy.control_port()).at("connections").at("active").as_int64() == 0;
    }));
    // A pair logs its close line before it leaves `active` (proxy.cpp, Pipe::close).
    const std::string log = proxy.stderr_text();
    EXPECT_EQ(count_lines(log, "info proxy reset connections=5"), 1u) << log;
    EXPECT_EQ(count_lines(log, "info proxy mode modes=delay"), 1u) << log;
    EXPECT_EQ(count_lines(log, "proxy close id="), quiet ? 0u : 5u) << log;
  }
}

TEST(Proxy, BlackholeKeepsTheSocketOpenAndForwardsNothing) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  Client c(proxy.port());
  c.send("before");
  ASSERT_EQ(c.read(6, 5s).data, "before");
  set_mode(proxy.control_port(), R"({"mode":"blackhole"})");
  c.send("lost");
  const auto r = c.read(1, 500ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.data, "");
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(c.is_open());
  ASSERT_TRUE(wait_until(
      [&] { return state(proxy.control_port()).at("bytes").at("discarded").as_int64() == 4; }));
  // The same connection carries bytes again once the blackhole ends.
  set_mode(proxy.control_port(), R"({"mode":"pass"})");
  c.send("after");
  EXPECT_EQ(c.read(5, 5s).data, "after");
}

TEST(Proxy, BlockUpgradesAnswers403AndPassesPlainHttp) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  set_mode(proxy.control_port(), R"({"mode":"block_upgrades"})");
  {
    Client c(proxy.port());
    c.send(
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUPGRADE: WebSocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    const auto r = c.read_to_end(5s);
    EXPECT_EQ(r.data.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << r.data;
    EXPECT_TRUE(ended(r)) << r.ec.message();
  }
  EXPECT_EQ(echo.accepted(), 0);
  EXPECT_EQ(state(proxy.control_port()).at("upgradesBlocked").as_int64(), 1);
  // A plain GET goes through untouched (the echo server sends it back), even in two pieces.
  Client c(proxy.port());
  const std::string get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  c.send(get.substr(0, 10));
  std::this_thread::sleep_for(20ms);
  c.send(get.substr(10));
  EXPECT_EQ(c.read(get.size(), 5s).data, get);
}

TEST(Proxy, ModesCombine) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  set_mode(proxy.control_port(), R"({"mode":"delay","ms":100})");
  set_mode(proxy.control_port(), R"({"mode":"block_upgrades"})");
  const auto s = state(proxy.control_port());
  EXPECT_EQ(json::serialize(s.at("modes")), R"(["delay","block_upgrades"])");
  Client c(proxy.port());
  const auto t0 = std::chrono::steady_clock::now();
  c.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read(18, 5s).data.size(), 18u);
  EXPECT_GE(ms_since(t0), 200);
}

TEST(Proxy, ControlRejectsBadInputWith400) {
  EchoServer echo;
  ProxyProcess proxy(echo.port());
  for (const char* body : {"not json", "[1]", "{}", R"({"mode":"warp"})", R"({"mode":"delay"})",
                           R"({"mode":"delay","ms":-5})", R"({"mode":"delay","ms":"10"})",
                           R"({"mode":"bandwidth"})", R"({"mode":"blackhole","enabled":1})"}) {
    const auto r = control(proxy.control_port(), http::verb::post, "/mode", body);
    EXPECT_EQ(r.status, 400u) << body;
    const auto doc = json::parse(r.body).as_object();
    EXPECT_EQ(doc.at("error").as_string(), "bad_message") << body;
    EXPECT_FALSE(doc.at("message").as_string().empty()) << body;
  }
  EXPECT_EQ(control(proxy.control_port(), http::verb::get, "/nope").status, 404u);
  EXPECT_EQ(control(proxy.control_port(), http::verb::get, "/mode").status, 405u);
  // Nothing bad changed the mode.
  EXPECT_EQ(state(proxy.control_port()).at("modes").as_array().at(0).as_string(), "pass");
}

TEST(Proxy, UpstreamDownClosesTheClient) {
  std::uint16_t dead_port = 0;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  ProxyProcess proxy(dead_port);
  Client c(proxy.port());
  const auto r = c.read_to_end(5s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(ended(r)) << r.ec.message();
  EXPECT_EQ(state(proxy.control_port()).at("upstreamErrors").as_int64(), 1);
}

}  // namespace
