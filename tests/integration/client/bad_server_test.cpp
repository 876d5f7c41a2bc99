// steadyws::Client against a fake server inside the test (Asio on 127.0.0.1:0) that misbehaves
// on purpose: garbage after the upgrade (bytes that are not WebSocket frames, a text frame that
// is not JSON, a first frame that is not a welcome), no welcome at all, a connection closed in
// the middle of the HTTP upgrade. Each time the client must report a clear error (on_error and
// the `error` state with a reason), retry, and connect as soon as the server behaves; never
// crash or hang. Bad input after a welcome is reported and the connection stays up (the
// contract's own rule for peers: an error, not a disconnect).
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "client_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;

enum class Misbehaviour {
  none,                 // a proper server: welcome, pongs, subscribed
  garbage_bytes,        // after the upgrade, bytes that are not a valid WebSocket frame
  garbage_text,         // after the upgrade, a text frame that is not JSON
  wrong_first_frame,    // after the upgrade, valid JSON that is not a welcome
  no_welcome,           // upgrade, then silence
  close_mid_handshake,  // reads part of the upgrade request, answers half a 101, closes
  garbage_after_welcome,
};

// Accepts on 127.0.0.1:0; connection i (0-based) misbehaves as behaviour(i). One thread per
// connection, blocking calls: each ends when the client closes its side (destroy the Client
// first) or at destruction, which shuts every socket down.
class FakeServer {
 public:
  explicit FakeServer(std::function<Misbehaviour(int)> behaviour)
      : behaviour_(std::move(behaviour)),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;
  ~FakeServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    // Wake the blocked accept() by connecting to ourselves (closing the acceptor from this
    // thread while another blocks on it is not allowed by Asio).
    {
      tcp::socket s(ioc_);
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
    }
    if (accept_thread_.joinable())
      accept_thread_.join();
    acceptor_.close(ignored);
    {
      std::lock_guard lock(mu_);
      for (auto& s : sockets_)
        s->shutdown(tcp::socket::shutdown_both, ignored);
    }
    for (auto& t : conn_threads_)
      t.join();
  }

  std::uint16_t port() const { return port_; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws"; }
  int accepted() const { return accepted_.load(); }
  int welcomed() const { return welcomed_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      auto s = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*s, ec);
      if (ec || stopping_)
        return;
      const int index = accepted_++;
      {
        std::lock_guard lock(mu_);
        sockets_.push_back(s);
      }
      conn_threads_.emplace_back([this, s, index] { serve(*s, behaviour_(index)); });
    }
  }

  void serve(tcp::socket& s, Misbehaviour m) {
    boost::system::error_code ec;
    if (m == Misbehaviour::close_mid_handshake) {
      char buf[16];
      net::read(s, net::buffer(buf), ec);  // the start of the GET, not all of it
      net::write(s, net::buffer(std::string("HTTP/1.1 101 Switching Protocols\r\nUpgr")), ec);
      // FIN both ways; the socket is closed by the destructor, after this thread is joined
      // (closing it here would race the destructor's shutdown of every socket).
      s.shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    websocket::stream<tcp::socket&> ws(s);
    ws.accept(ec);
    if (ec)
      return;
    switch (m) {
      case Misbehaviour::garbage_bytes: {
        // FIN + reserved opcode 0xF, then noise: no WebSocket peer may accept this.
        const unsigned char bytes[] = {0x8F, 0x05, 'j', 'u', 'n', 'k', '!', 0xFF, 0xFE};
        net::write(s, net::buffer(bytes), ec);
        break;
      }
      case Misbehaviour::garbage_text:
        ws.text(true);
        ws.write(net::buffer(std::string("this is {not json")), ec);
        break;
      case Misbehaviour::wrong_first_frame:
        ws.text(true);
        ws.write(net::buffer(std::string(R"({"type":"pong","timestamp":1,"serverTime":1})")), ec);
        break;
      case Misbehaviour::none:
      case Misbehaviour::garbage_after_welcome:
        ws.text(true);
        ws.write(net::buffer(welcome()), ec);
        ++welcomed_;
        if (m == Misbehaviour::garbage_after_welcome) {
          ws.write(net::buffer(std::string("\x01\x02 garbage")), ec);
          ws.write(net::buffer(std::string(R"({"type":"no-such-type"})")), ec);
        }
        break;
      case Misbehaviour::no_welcome:
      case Misbehaviour::close_mid_handshake:
        break;
    }
    // Answer like a server until the client goes away: pong to ping, subscribed to subscribe.
    beast::flat_buffer buf;
    for (;;) {
      ws.read(buf, ec);
      if (ec)
        return;
      if (m != Misbehaviour::none && m != Misbehaviour::garbage_after_welcome) {
        buf.consume(buf.size());
        continue;
      }
      const std::string text = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      json::error_code jec;
      const json::value v = json::parse(text, jec);
      if (jec || !v.is_object())
        continue;
      const auto& o = v.as_object();
      const auto* type = o.if_contains("type");
      if (type == nullptr || !type->is_string())
        continue;
      json::object answer;
      if (type->as_string() == "ping") {
        answer = {{"type", "pong"}, {"timestamp", o.at("timestamp")}, {"serverTime", 1}};
      } else if (type->as_string() == "subscribe") {
        answer = {{"type", "subscribed"},
                  {"channel", o.at("channel")},
                  {"seq", 0},
                  {"epoch", "e1"},
                  {"recovered", true}};
      } else {
        continue;
      }
      ws.write(net::buffer(json::serialize(answer)), ec);
      if (ec)
        return;
    }
  }

  static std::string welcome() {
    return json::serialize(json::object{{"type", "welcome"},
                                        {"sessionId", "fake"},
                                        {"resumed", false},
                                        {"heartbeatInterval", 30000},
                                        {"heartbeatTimeout", 10000},
                                        {"serverTime", 1}});
  }

  std::function<Misbehaviour(int)> behaviour_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> welcomed_{0};
  std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> conn_threads_;  // touched by the accept thread, then the destructor
  std::thread accept_thread_;
};

// The first `bad` connections misbehave as `m`; the rest are a proper server.
struct Outcome {
  std::vector<std::string> errors;
  std::vector<Transition> states;
  int accepted = 0;
};

Outcome run_against(Misbehaviour m, int bad) {
  FakeServer server([m, bad](int i) { return i < bad ? m : Misbehaviour::none; });
  Recorder rec;
  Outcome out;
  {
    auto o = test_options({server.url()});
    // The no-welcome case waits this long per attempt, so it is short there; elsewhere the
    // good attempt (a new fake-server thread, an ASan build on a loaded machine) must not
    // time out and add an attempt the counts below do not expect.
    o.connect_timeout = m == Misbehaviour::no_welcome ? 500ms : 2000ms;
    rec.attach(o);
    Client c(o);
    c.subscribe("x");
    c.connect();
    // The client's state changes before its on_state_change callback runs, so wait for the
    // recorder to have seen the connection, not for is_connected(): the outcome below is
    // read from the recorder.
    EXPECT_TRUE(wait_until([&] { return rec.connects() >= 1; }, 10s))
        << "state " << to_string(c.connection_status()) << " after " << server.accepted()
        << " connections";
    EXPECT_EQ(server.accepted(), bad + 1);  // one attempt per bad connection, then success
    out.errors = rec.errors();
    out.states = rec.states();
  }  // the client goes first, so the fake server's threads see EOF
  out.accepted = server.accepted();
  return out;
}

// Every bad connection shows up as the `error` state with a reason, and as an on_error line
// containing `needle`.
void expect_clear_errors(const Outcome& out, int bad, const std::string& needle) {
  int error_states = 0;
  for (const auto& t : out.states) {
    if (t.to == State::error) {
      ++error_states;
      EXPECT_NE(t.reason.find(needle), std::string::npos) << t.reason;
    }
  }
  EXPECT_EQ(error_states, bad);
  int matching = 0;
  for (const auto& e : out.errors)
    matching += e.find(needle) != std::string::npos ? 1 : 0;
  EXPECT_GE(matching, bad) << ::testing::PrintToString(out.errors);
  ASSERT_FALSE(out.states.empty());
  EXPECT_EQ(out.states.back().to, State::connected);
}

TEST(ClientBadServer, GarbageBytesAfterTheUpgradeAreAnErrorAndARetry) {
  const auto out = run_against(Misbehaviour::garbage_bytes, 3);
  expect_clear_errors(out, 3, "read:");
}

TEST(ClientBadServer, NonJsonFirstFrameIsAnErrorAndARetry) {
  const auto out = run_against(Misbehaviour::garbage_text, 3);
  expect_clear_errors(out, 3, "not a welcome");
  // The parse failure itself is reported too, saying what was wrong.
  int bad_json = 0;
  for (const auto& e : out.errors)
    bad_json += e.find("unparseable frame") != std::string::npos ? 1 : 0;
  EXPECT_EQ(bad_json, 3);
}

TEST(ClientBadServer, FirstFrameThatIsNotAWelcomeIsAnErrorAndARetry) {
  const auto out = run_against(Misbehaviour::wrong_first_frame, 2);
  expect_clear_errors(out, 2, "not a welcome");
}

TEST(ClientBadServer, ServerThatNeverSendsWelcomeTimesOutAndRetries) {
  const auto out = run_against(Misbehaviour::no_welcome, 2);
  expect_clear_errors(out, 2, "no welcome within 500 ms");
}

TEST(ClientBadServer, ConnectionClosedMidHandshakeIsAnErrorAndARetry) {
  const auto out = run_against(Misbehaviour::close_mid_handshake, 3);
  expect_clear_errors(out, 3, "upgrade");
}

TEST(ClientBadServer, GarbageAfterWelcomeIsReportedAndTheConnectionStays) {
  FakeServer server([](int) { return Misbehaviour::garbage_after_welcome; });
  Recorder rec;
  {
    auto o = test_options({server.url()});
    o.heartbeat_interval = 100ms;
    rec.attach(o);
    Client c(o);
    c.connect();
    ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
    ASSERT_TRUE(wait_until([&] { return rec.errors().size() >= 2; }));
    // Pings keep being answered on the same connection: it is alive and still the only one.
    ASSERT_TRUE(wait_until([&] { return c.quality_metrics().latency > 0; }));
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(c.is_connected());
    EXPECT_EQ(rec.connects(), 1);
  }
  EXPECT_EQ(server.accepted(), 1);
  const auto errors = rec.errors();
  ASSERT_EQ(errors.size(), 2u) << ::testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("unparseable frame"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("unparseable frame"), std::string::npos) << errors[1];
}

}  // namespace
}  // namespace steadyws::test
