// The server's self-protection and shutdown, end to end: heartbeat timeout (4000), slow
// consumer eviction (4001), rate limiting (rate_limited, then 1008) and the SIGTERM drain
// (1001 with a spread {"retryAfterMs":N}, exit 0 within 5 s).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

using Clock = std::chrono::steady_clock;

// ---- heartbeats -------------------------------------------------------------------------

TEST(ServeHeartbeat, PeerThatStopsAnsweringPingFramesIsClosedWith4000) {
  ServerProcess server({"--heartbeat-interval", "200", "--heartbeat-timeout", "1000",
                        "--max-missed-heartbeats", "2"});
  auto healthy = WsClient::connect(server.port());  // Beast answers ping frames by itself
  EXPECT_EQ(int_at(healthy->welcome(), "heartbeatInterval"), 200);

  // A hand-made client: upgrades, then reads but never answers a ping frame.
  RawTcp dead(server.port());
  ASSERT_EQ(dead.upgrade().status, 101u);
  const auto start = Clock::now();
  int pings = 0;
  std::optional<RawFrame> close;
  bool eof = false;
  while (!close && !eof && Clock::now() - start < 10s) {
    RawFrame f = dead.read_frame(10s);
    if (f.kind != RawFrame::Kind::frame)
      eof = f.kind == RawFrame::Kind::eof;
    else if (f.opcode == 0x9)
      ++pings;
    else if (f.opcode == 0x8)
      close = f;
  }
  const auto took = Clock::now() - start;
  ASSERT_TRUE(close) << "no close frame; eof=" << eof << " pings=" << pings << " after "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                     << " ms\n"
                     << server.stderr_tail();
  EXPECT_EQ(close->close_code(), 4000) << close->payload;
  EXPECT_GE(pings, 2) << "closed before missing 2 heartbeats";
  // Pings at 200 and 400 ms, missed at 1200 and 1400 ms (a 1 s timeout, so a healthy peer
  // stalled by a loaded machine is not taken for dead): not closed before that.
  EXPECT_GE(took, 1300ms) << "closed too early for 2 missed heartbeats";
  EXPECT_LT(took, 5s);
  // Torn down at once: the server does not wait for our close reply over a dead link.
  EXPECT_TRUE(dead.wait_eof(3s)) << "socket not torn down after the 4000 close";

  // The peer that answers stays connected and served through more heartbeat rounds.
  Frame quiet = healthy->next(1500ms);
  EXPECT_EQ(quiet.kind, Frame::Kind::timeout) << quiet.describe();
  std::string why;
  EXPECT_TRUE(healthy->alive(kDeadline, &why)) << why;
}

// Issue 15 part 3 end to end, with a timeout shorter than the interval: the ping a peer
// answers keeps the interval cadence; once one goes unanswered the server probes again at
// once, then every timeout, and closes at the third miss, interval + 3 x timeout after the
// last answer. Probing every interval instead would space the unanswered pings 2 s apart
// and close 3 x interval + timeout (6.3 s) after the answer: both fail the bounds below.
TEST(ServeHeartbeat, AfterAMissedPongTheServerProbesEveryTimeoutAndClosesByIntervalPlus3Timeouts) {
  using std::chrono::milliseconds;
  constexpr milliseconds kInterval{2000};
  constexpr milliseconds kTimeout{300};
  // Slack: a ping may be read a little late by this thread (shortening the next gap), and the
  // server's timers run late on a loaded machine (40 ms grid steps here, plus scheduling).
  constexpr milliseconds kEarly{100};
  constexpr milliseconds kLate{700};
  constexpr milliseconds kMargin{1500};  // for the close, after four pings' lateness
  ServerProcess server({"--heartbeat-interval", std::to_string(kInterval.count()),
                        "--heartbeat-timeout", std::to_string(kTimeout.count()),
                        "--max-missed-heartbeats", "3"});

  // A hand-made client: answers the first heartbeat ping, then sends nothing more.
  RawTcp peer(server.port());
  ASSERT_EQ(peer.upgrade().status, 101u);
  const auto heartbeat = [](const RawFrame& f) {  // not a bandwidth probe ("b<id>")
    return f.opcode == 0x9 && !f.payload.empty() &&
           std::all_of(f.payload.begin(), f.payload.end(),
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto start = Clock::now();
  const auto end = start + 20s;
  std::vector<Clock::time_point> pings;  // when each heartbeat ping arrived
  std::optional<RawFrame> close;
  bool eof = false;
  while (!close && !eof && Clock::now() < end) {
    RawFrame f = peer.read_frame(std::chrono::duration_cast<milliseconds>(end - Clock::now()) +
                                 milliseconds{1});
    if (f.kind != RawFrame::Kind::frame) {
      eof = f.kind == RawFrame::Kind::eof;
    } else if (heartbeat(f)) {
      pings.push_back(Clock::now());
      if (pings.size() == 1) {
        ASSERT_TRUE(peer.write_frame(0xA, f.payload));  // the pong, echoing the token
      }
    } else if (f.opcode == 0x8) {
      close = f;
    }
  }
  const auto closed_at = Clock::now();
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<milliseconds>(d).count();
  };
  std::string seen = "pings at";
  for (const auto& t : pings)
    seen += " " + std::to_string(ms(t - start));
  seen += " ms, closed at " + std::to_string(ms(closed_at - start)) + " ms";

  ASSERT_TRUE(close) << "no close frame; eof=" << eof << "; " << seen << "\n"
                     << server.stderr_tail();
  EXPECT_EQ(close->close_code(), 4000) << close->payload;
  // The answered ping, then three unanswered ones: the third miss closes.
  ASSERT_EQ(pings.size(), 4u) << seen;
  // Answered: the next ping an interval later.
  EXPECT_GE(pings[1] - pings[0], kInterval - kEarly) << seen;
  EXPECT_LE(pings[1] - pings[0], kInterval + kLate) << seen;
  // Missed (at pings[1] + timeout): probed again at once, then every timeout.
  for (std::size_t i = 2; i < pings.size(); ++i) {
    EXPECT_GE(pings[i] - pings[i - 1], kTimeout - kEarly) << "ping " << i << ": " << seen;
    EXPECT_LE(pings[i] - pings[i - 1], kTimeout + kLate) << "ping " << i << ": " << seen;
  }
  // Dead at the third miss: interval + 3 x timeout after the answer, no sooner.
  EXPECT_GE(closed_at - pings[0], kInterval + 3 * kTimeout - kEarly) << seen;
  EXPECT_LE(closed_at - pings[0], kInterval + 3 * kTimeout + kMargin) << seen;
  EXPECT_GE(closed_at - pings[3], kTimeout - kEarly) << seen;
  EXPECT_NE(close->payload.find("3 heartbeats missed"), std::string::npos) << close->payload;
  EXPECT_TRUE(peer.wait_eof(3s)) << "socket not torn down after the 4000 close";
  EXPECT_TRUE(server_serves(server.port()));
}

TEST(ServeHeartbeat, DeadPeerIsNoLongerCountedAsAClient) {
  ServerProcess server({"--heartbeat-interval", "200", "--heartbeat-timeout", "200",
                        "--max-missed-heartbeats", "2", "--cleanup-interval", "500"});
  {
    RawTcp dead(server.port());
    ASSERT_EQ(dead.upgrade().status, 101u);
    const auto clients = [&] {
      const auto o = http_get(server.port(), "/api/health").object();
      const auto* ws = o.if_contains("websocket");
      return ws && ws->is_object() ? int_at(ws->as_object(), "clients").value_or(-1) : -1;
    };
    ASSERT_TRUE(wait_until([&] { return clients() == 1; }, kDeadline)) << "never counted";
    EXPECT_TRUE(wait_until(
        [&] {
          const auto o = http_get(server.port(), "/api/health").object();
          const auto* ws = o.if_contains("websocket");
          return ws && ws->is_object() && int_at(ws->as_object(), "clients") == 0;
        },
        kDeadline))
        << http_get(server.port(), "/api/health").body;
    // `dead` never read anything and is still open on our side here.
  }
  EXPECT_TRUE(server_serves(server.port()));
}

// ---- back-pressure ----------------------------------------------------------------------

TEST(ServeBackpressure, SubscriberThatStopsReadingIsClosedWith4001AndOthersKeepGoing) {
  ServerProcess server({"--send-queue-bytes", "65536"});
  WsOptions small;
  small.receive_buffer_bytes = 4096;  // its window fills after a few kB
  auto slow = WsClient::connect(server.port(), small);
  subscribe(*slow, "big");
  slow->pause_reading();
  auto fast = WsClient::connect(server.port());
  subscribe(*fast, "big");
  auto pub = WsClient::connect(server.port());

  // Lock-step: each publish is acked and reaches the fast subscriber before the next, so
  // the fast one never has more than one message queued while the slow one piles up.
  constexpr int kCount = 200;
  const std::string payload(32 * 1024, 'p');
  for (int i = 1; i <= kCount; ++i) {
    const auto ack = publish(*pub, "big", json::string(payload));
    ASSERT_EQ(int_at(ack, "seq"), i) << "publisher stalled at " << i;
    Frame f = fast->next_of_type("message");
    ASSERT_EQ(f.type(), "message") << "fast subscriber at " << i << ": " << f.describe() << "\n"
                                   << server.stderr_tail();
    ASSERT_EQ(int_at(f.json(), "seq"), i);
  }
  EXPECT_TRUE(fast->alive());
  EXPECT_TRUE(pub->alive());

  // The slow one was cut off: what it finds in its socket ends in 4001 or a dropped link.
  slow->start_reading();
  std::size_t got = 0;
  Frame end = slow->wait_closed(20s, &got);
  EXPECT_TRUE(end.is_terminal()) << "slow subscriber still open: " << end.describe();
  if (end.is_close()) {
    EXPECT_EQ(end.close_code, 4001) << end.describe();
  }
  EXPECT_LT(got, static_cast<std::size_t>(kCount)) << "the slow subscriber got everything";
  EXPECT_TRUE(server_serves(server.port()));
}

// ---- rate limiting ----------------------------------------------------------------------

TEST(ServeRateLimit, FloodGetsRateLimitedErrorsAfterTheBurst) {
  ServerProcess server({"--rate-limit", "10", "--rate-burst", "10"});
  auto c = WsClient::connect(server.port());
  auto other = WsClient::connect(server.port());
  constexpr int kSent = 30;
  for (int i = 0; i < kSent; ++i)
    c->send_text_async(dump(ping_msg(i)));
  int pongs = 0;
  int limited = 0;
  Frame last;
  for (int answers = 0; answers < kSent; ++answers) {
    last = c->next();
    if (last.type() == "pong")
      ++pongs;
    else if (last.type() == "error" && str_at(last.json(), "code") == "rate_limited")
      ++limited;
    else
      break;
  }
  EXPECT_GE(pongs, 10) << "the burst of 10 must pass; last frame " << last.describe();
  EXPECT_GE(limited, 1) << "no rate_limited error; last frame " << last.describe();
  EXPECT_LE(pongs, 25) << "no limit at all";
  // The limit is per connection: another client is not affected.
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(other->alive());
}

TEST(ServeRateLimit, SustainedAbuseIsClosedWith1008) {
  ServerProcess server({"--rate-limit", "10", "--rate-burst", "10"});
  auto c = WsClient::connect(server.port());
  auto other = WsClient::connect(server.port());
  const auto start = Clock::now();
  Frame f;
  while (Clock::now() - start < 20s) {
    for (int i = 0; i < 5; ++i)
      c->send_text_async(dump(ping_msg(i)));
    do {
      f = c->next(2ms);
    } while (f.is_text());
    if (f.is_terminal())
      break;
  }
  ASSERT_TRUE(f.is_terminal()) << "still open after 20 s of flooding";
  EXPECT_TRUE(f.is_close()) << f.describe();
  EXPECT_EQ(f.close_code, 1008) << f.describe();
  std::string why;
  EXPECT_TRUE(other->alive(kDeadline, &why)) << why;
  EXPECT_TRUE(server_serves(server.port()));
}

TEST(ServeRateLimit, ZeroTurnsTheLimitOff) {
  ServerProcess server({"--rate-limit", "0", "--rate-burst", "1"});
  auto c = WsClient::connect(server.port());
  for (int i = 0; i < 500; ++i)
    c->send_text_async(dump(ping_msg(i)));
  for (int i = 0; i < 500; ++i) {
    Frame f = c->next();
    ASSERT_EQ(f.type(), "pong") << "answer " << i << ": " << f.describe();
  }
}

// ---- drain ------------------------------------------------------------------------------

TEST(ServeDrain, SigtermClosesEveryClientWith1001AndASpreadRetryHint) {
  ServerProcess server({"--drain-spread", "5000"});
  constexpr int kClients = 100;
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(WsClient::connect(server.port()));
  ASSERT_TRUE(clients.back()->alive());
  auto poll = std::async(std::launch::async, [&] {
    return http_get(server.port(), "/api/poll?channel=drain&since=0&timeout=30000", {}, 40s);
  });
  ASSERT_EQ(poll.wait_for(200ms), std::future_status::timeout) << "poll answered early";

  const auto t0 = Clock::now();
  server.signal(SIGTERM);

  std::vector<std::int64_t> hints;
  for (int i = 0; i < kClients; ++i) {
    Frame f = clients[static_cast<std::size_t>(i)]->wait_closed(10s);
    ASSERT_TRUE(f.is_close()) << "client " << i << ": " << f.describe();
    EXPECT_EQ(f.close_code, 1001) << "client " << i << ": " << f.describe();
    const auto reason = parse_object(f.close_reason);
    const auto n = int_at(reason, "retryAfterMs");
    ASSERT_TRUE(n) << "client " << i << " reason is not {\"retryAfterMs\":N}: " << f.close_reason;
    EXPECT_GE(*n, 0);
    EXPECT_LE(*n, 5000);
    hints.push_back(*n);
  }
  const auto status = server.wait_exit(
      std::chrono::duration_cast<std::chrono::milliseconds>(5s - (Clock::now() - t0)));
  ASSERT_TRUE(status) << "still running 5 s after SIGTERM\n" << server.stderr_tail();
  EXPECT_TRUE(status->ok()) << status->describe() << "\n" << server.stderr_tail();

  const std::set<std::int64_t> distinct(hints.begin(), hints.end());
  EXPECT_EQ(distinct.size(), hints.size()) << "retry hints repeat: not spread";
  const auto [lo, hi] = std::minmax_element(hints.begin(), hints.end());
  EXPECT_GE(*hi - *lo, 4000) << "hints clumped in [" << *lo << ", " << *hi << "]";

  ASSERT_EQ(poll.wait_for(5s), std::future_status::ready);
  const auto r = poll.get();
  EXPECT_NE(r.status, 0u) << "pending poll not answered before exit: " << r.describe();
}

TEST(ServeDrain, IdleServerExitsZeroOnSigtermAndSigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    ServerProcess server;
    ASSERT_EQ(http_get(server.port(), "/api/health").status, 200u);
    const auto t0 = Clock::now();
    server.signal(sig);
    const auto status = server.wait_exit(5s);
    ASSERT_TRUE(status) << "signal " << sig << ": still running after 5 s";
    EXPECT_TRUE(status->ok()) << "signal " << sig << ": " << status->describe() << "\n"
                              << server.stderr_tail();
    EXPECT_LT(Clock::now() - t0, 5s);
  }
}

TEST(ServeLifecycle, RestartsOnTheSamePortAfterAKill) {
  ServerProcess server;
  const auto port = server.port();
  server.kill();
  server.restart();
  EXPECT_EQ(server.port(), port);
  EXPECT_TRUE(server_serves(server.port()));
}

TEST(ServeLifecycle, ListeningLineNamesTheHost) {
  ServerProcess server;
  EXPECT_EQ(server.host(), "127.0.0.1");
  EXPECT_NE(server.stdout_text().find("listening on 127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << server.stdout_text();
}

}  // namespace
}  // namespace steadyws::test
