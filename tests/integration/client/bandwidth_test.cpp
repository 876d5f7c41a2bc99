// Bandwidth throttling detection (issue 15 part 2, CONTRACT §10) through `steadyws proxy`
// bandwidth caps (docs/proxy.md): a publisher on the server side sends 1.3x the cap to a
// channel that a steadyws::Client behind the proxy subscribes to. Once traffic has flowed for
// a few seconds, both estimates (the client's bandwidth() and the server's
// connectionDetails[].bandwidth) are within 30 % of the cap and throttled, three readings in a
// row; on an uncapped link under the same traffic neither ever says throttled. And `connect
// --events` writes the `bandwidth` event. Traffic stays modest (these also run under ASan):
// the 1 MB/s case moves about 15 MB.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"
#include "support/ws_test_client.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

// Publishes `bytes_per_sec` of messages (payload `chunk` bytes) to `channel` over its own
// WebSocket straight to the server, in 20 ms steps, until destroyed.
class PacedPublisher {
 public:
  PacedPublisher(std::uint16_t port, std::string channel, double bytes_per_sec,
                 std::size_t chunk = 4096)
      : ws_(WsClient::connect(port)) {
    thread_ = std::thread([this, channel = std::move(channel), bytes_per_sec, chunk] {
      const std::string data(chunk, 'x');
      const auto start = std::chrono::steady_clock::now();
      double sent = 0;
      while (!stop_.load()) {
        const double due =
            bytes_per_sec *
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        while (sent < due && !stop_.load()) {
          const std::string frame =
              R"({"type":"publish","channel":")" + channel + R"(","data":")" + data + "\"}";
          if (!ws_->send_text(frame)) {
            failed_.store(true);
            return;
          }
          sent += static_cast<double>(frame.size());
        }
        std::this_thread::sleep_for(20ms);  // pacing of the load, not a wait for a condition
      }
    });
  }
  ~PacedPublisher() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable())
      thread_.join();
  }
  bool failed() const { return failed_.load(); }

 private:
  std::unique_ptr<WsClient> ws_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

// Waits until `rec`'s client gets messages on `channel`: publishes probes until one arrives.
void wait_live(std::uint16_t server_port, const std::string& channel, Recorder& rec) {
  int probe = 0;
  ASSERT_TRUE(wait_until([&] {
    server_publish(server_port, channel, 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return rec.message_count() > 0; }, 300ms);
  }));
}

// The server's view of the subscriber: the connectionDetails entry with the highest estimate.
// (Not the one that sent the most: the publisher gets one ack per message the subscriber
// gets, so their messagesSent tie. Its acks are too few bytes to earn a probe.)
struct ServerView {
  double bytes_per_second = 0;
  bool throttled = false;
  bool found = false;
};
ServerView server_view(std::uint16_t port) {
  ServerView v;
  const auto r = http_call(port, boost::beast::http::verb::get, "/api/websocket/metrics");
  const auto o = boost::json::parse(r.body).as_object();
  for (const auto& d : o.at("connectionDetails").as_array()) {
    const auto& b = d.as_object().at("bandwidth").as_object();
    const double bps = b.at("bytesPerSecond").to_number<double>();
    if (v.found && bps <= v.bytes_per_second)
      continue;
    v.bytes_per_second = bps;
    v.throttled = b.at("throttled").as_bool();
    v.found = true;
  }
  return v;
}

ClientOptions bandwidth_options(const std::string& url) {
  auto o = test_options({url});
  // Pongs wait behind the backlog: a late one must not count as a miss here.
  o.heartbeat_interval = 500ms;
  o.heartbeat_timeout = 30000ms;
  return o;
}

bool within(double v, double cap, double tolerance = 0.30) {
  return std::abs(v - cap) <= tolerance * cap;
}

void expect_cap_found(double cap) {
  SCOPED_TRACE("cap " + std::to_string(static_cast<int>(cap)) + " B/s");
  ServerProcess server({"--send-queue-bytes", "268435456"});
  ProxyProcess proxy(server.port());
  proxy.mode(R"({"mode":"bandwidth","bytesPerSec":)" + std::to_string(static_cast<int>(cap)) + "}");
  Recorder rec;
  auto o = bandwidth_options(proxy.ws_url());
  rec.attach(o);
  Client c(o);
  c.subscribe("bw");
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }, 10s));
  wait_live(server.port(), "bw", rec);

  PacedPublisher pub(server.port(), "bw", cap * 1.3);
  // Three readings in a row, 500 ms apart, with both sides throttled and within 30 %.
  int in_row = 0;
  BandwidthEstimate last_client;
  ServerView last_server;
  const bool ok = wait_until(
      [&] {
        last_client = c.bandwidth();
        last_server = server_view(server.port());
        const bool good = last_client.throttled && within(last_client.bytes_per_second, cap) &&
                          last_server.throttled && within(last_server.bytes_per_second, cap);
        in_row = good ? in_row + 1 : 0;
        if (in_row < 3)
          std::this_thread::sleep_for(500ms);  // spacing of the readings
        return in_row >= 3;
      },
      60s);
  EXPECT_TRUE(ok) << "client " << last_client.bytes_per_second << " B/s throttled "
                  << last_client.throttled << "; server " << last_server.bytes_per_second
                  << " B/s throttled " << last_server.throttled << "\n"
                  << server.stderr_tail(2000);
  EXPECT_FALSE(pub.failed());
  const auto recs = c.recommendations();
  EXPECT_TRUE(std::any_of(recs.begin(), recs.end(), [](const std::string& r) {
    return r.find("throttled") != std::string::npos;
  })) << "a recommendation names the throttling";
  pub.stop();
  EXPECT_NE(server.stderr_text().find("ws bandwidth id="), std::string::npos)
      << "the server logs the change";
}

// A ready-made test per cap of the issue.
TEST(Bandwidth, Cap64KBpsIsFoundOnBothSides) {
  expect_cap_found(64 * 1024);
}
TEST(Bandwidth, Cap256KBpsIsFoundOnBothSides) {
  expect_cap_found(256 * 1024);
}
TEST(Bandwidth, Cap1MBpsIsFoundOnBothSides) {
  expect_cap_found(1024 * 1024);
}

TEST(Bandwidth, UncappedLinkUnderTheSameTrafficIsNotThrottled) {
  // The 256 KB/s case's traffic: at the 1 MB/s case's 1.3 MB/s a loaded 2-core CI box under
  // ASan may make the client itself fall behind, which the estimators would rightly report as
  // a peer that cannot take more (a slow reader looks like a slow link).
  const double offered = 1.3 * 256 * 1024;
  ServerProcess server({"--send-queue-bytes", "268435456"});
  ProxyProcess proxy(server.port());  // pass mode: the same path, no cap
  Recorder rec;
  auto o = bandwidth_options(proxy.ws_url());
  rec.attach(o);
  Client c(o);
  c.subscribe("bw");
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }, 10s));
  wait_live(server.port(), "bw", rec);

  PacedPublisher pub(server.port(), "bw", offered);
  // First the estimates must have seen the traffic (so "not throttled" means something)...
  ASSERT_TRUE(wait_until(
      [&] {
        return c.bandwidth().bytes_per_second > 0.5 * offered &&
               server_view(server.port()).bytes_per_second > 0.5 * offered;
      },
      30s))
      << "client " << c.bandwidth().bytes_per_second << " server "
      << server_view(server.port()).bytes_per_second;
  // ...then for 6 s of that traffic neither side ever says throttled.
  const auto end = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < end) {
    const auto cb = c.bandwidth();
    const auto sv = server_view(server.port());
    ASSERT_FALSE(cb.throttled) << "client at " << cb.bytes_per_second << " B/s";
    ASSERT_FALSE(sv.throttled) << "server at " << sv.bytes_per_second << " B/s";
    std::this_thread::sleep_for(200ms);  // spacing of the readings
  }
  EXPECT_FALSE(pub.failed());
}

TEST(Bandwidth, ConnectEventsReportThrottledAndItsEnd) {
  const double cap = 64 * 1024;
  ServerProcess server({"--send-queue-bytes", "268435456"});
  ProxyProcess proxy(server.port());
  proxy.mode(R"({"mode":"bandwidth","bytesPerSec":65536})");
  CliProcess cli({"connect", proxy.ws_url(), "--channel", "bw", "--events", "--no-fallback",
                  "--heartbeat-interval", "500", "--heartbeat-timeout", "30000"});
  auto bandwidth_events = [&] {
    std::vector<boost::json::object> out;
    for (const auto& line : CliProcess::lines(cli.stderr_text())) {
      boost::json::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (!ec && v.is_object() && v.as_object().contains("event") &&
          v.as_object().at("event").as_string() == "bandwidth")
        out.push_back(v.as_object());
    }
    return out;
  };
  int probe = 0;
  ASSERT_TRUE(wait_until([&] {
    server_publish(server.port(), "bw", 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return !cli.stdout_text().empty(); }, 300ms);
  })) << cli.stderr_text();
  {
    PacedPublisher pub(server.port(), "bw", cap * 1.3);
    ASSERT_TRUE(wait_until(
        [&] {
          const auto ev = bandwidth_events();
          return !ev.empty() && ev.back().at("throttled").as_bool();
        },
        60s))
        << cli.stderr_text().substr(0, 4000);
    const auto e = bandwidth_events().back();
    EXPECT_TRUE(within(e.at("bytesPerSecond").to_number<double>(), cap, 0.5))
        << boost::json::serialize(e);
    EXPECT_TRUE(e.at("time").is_number());
  }
  // The load stops: the backlog drains, and throttled:false is written once.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto ev = bandwidth_events();
        return !ev.empty() && !ev.back().at("throttled").as_bool();
      },
      90s))
      << cli.stderr_text().substr(0, 4000);
}

}  // namespace
}  // namespace steadyws::test
