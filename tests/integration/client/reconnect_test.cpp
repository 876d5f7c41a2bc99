// steadyws::Client against the real server binary: pub/sub, exactly-once delivery across
// server kills and restarts, the offline queue, failover, the 1001 retryAfterMs hint and
// resume (recovered true and false). Intervals are test-sized (client_support.hpp).
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

TEST(ClientPubSub, PublishReachesSubscriberOnceInOrder) {
  ServerProcess server;
  Recorder sub_rec;
  Recorder pub_rec;
  auto so = test_options({ws_url(server)});
  sub_rec.attach(so);
  auto po = test_options({ws_url(server)});
  pub_rec.attach(po);
  Client sub(so);
  Client pub(po);
  sub.subscribe("room");
  sub.connect();
  pub.connect();
  ASSERT_TRUE(wait_until([&] { return sub.is_connected() && pub.is_connected(); }));
  // The subscription is confirmed by the first delivery; publish a probe until it arrives.
  ASSERT_TRUE(wait_subscribed(pub, "room", sub_rec));
  for (int i = 1; i <= 50; ++i)
    EXPECT_EQ(pub.publish("room", numbered(i)).status, Enqueue::accepted);
  ASSERT_TRUE(wait_until([&] { return sub_rec.payload_count() == 50; }));
  ASSERT_TRUE(wait_until([&] { return pub.queued() == 0; }));
  EXPECT_EQ(sub_rec.payload_numbers(), iota_numbers(1, 50));
  // Each message carries the frame as JSON and its seq grows by one.
  const auto msgs = sub_rec.messages();
  for (std::size_t i = 1; i < msgs.size(); ++i)
    EXPECT_EQ(msgs[i].seq, msgs[i - 1].seq + 1);
  EXPECT_NE(msgs.back().json.find("\"type\":\"message\""), std::string::npos);
}

TEST(ClientReconnect, ExactlyOnceAcrossKillAndRestartWithinBackoffBound) {
  ServerProcess server;
  Recorder sub_rec;
  auto so = test_options({ws_url(server)});
  sub_rec.attach(so);
  auto po = test_options({ws_url(server)});
  Client sub(so);
  Client pub(po);
  sub.subscribe("k");
  sub.connect();
  pub.connect();
  ASSERT_TRUE(wait_until([&] { return sub.is_connected() && pub.is_connected(); }));
  // Wait for the subscription: once pub's probe arrives, sub is subscribed.
  ASSERT_TRUE(wait_subscribed(pub, "k", sub_rec));
  for (int i = 1; i <= 20; ++i)
    pub.publish("k", numbered(i));
  ASSERT_TRUE(wait_until([&] { return sub_rec.payload_count() == 20; }));
  ASSERT_TRUE(wait_until([&] { return pub.queued() == 0; }));

  server.kill();  // kill -9: no close frames, no drain
  ASSERT_TRUE(wait_until([&] { return !sub.is_connected() && !pub.is_connected(); }));
  // Published while the server is down: queued, sent after the reconnect, delivered once.
  for (int i = 21; i <= 30; ++i)
    pub.publish("k", numbered(i));
  const auto connects_before = sub_rec.connects();
  server.restart();
  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return sub_rec.connects() > connects_before; }, 5s))
      << server.stderr_tail();
  // The attempt after the restart comes within one max_backoff_delay (400 ms, no jitter);
  // the rest is a local connect, generous on a loaded 2-core box running ASan. An uncapped
  // backoff would be past 3 s by now.
  EXPECT_LT(std::chrono::steady_clock::now() - restarted, 400ms + 1600ms);
  for (int i = 31; i <= 40; ++i)
    pub.publish("k", numbered(i));
  ASSERT_TRUE(wait_until([&] { return sub_rec.payload_count() == 40; }, 10s))
      << "got " << sub_rec.payload_count() << "; "
      << describe_gaps(sub_rec.payload_numbers(), 1, 40);
  EXPECT_EQ(sub_rec.payload_numbers(), iota_numbers(1, 40));
  // The restart lost the in-memory history (new epoch): reported, never pretended.
  const auto rec = sub_rec.recovered();
  ASSERT_FALSE(rec.empty());
  EXPECT_EQ(rec.front(), std::make_pair(std::string("k"), false));
  EXPECT_TRUE(wait_until([&] { return pub.queued() == 0; }));
}

TEST(ClientReconnect, AttemptsAndDelaysFollowTheBackoff) {
  ServerProcess server;
  Recorder rec;
  auto o = test_options({ws_url(server)});
  o.max_reconnect_attempts = 3;  // 100, 200, 400 ms then give up (no fallback)
  rec.attach(o);
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
  server.kill();
  ASSERT_TRUE(wait_until([&] { return c.has_given_up(); }, 5s));
  const auto a = rec.attempts();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], std::make_pair(std::uint32_t{1}, Duration{100}));
  EXPECT_EQ(a[1], std::make_pair(std::uint32_t{2}, Duration{200}));
  EXPECT_EQ(a[2], std::make_pair(std::uint32_t{3}, Duration{400}));
  EXPECT_EQ(c.connection_status(), State::disconnected);
  // connect() starts afresh after giving up.
  server.restart();
  c.connect();
  EXPECT_TRUE(wait_until([&] { return c.is_connected(); }));
  EXPECT_FALSE(c.has_given_up());
}

TEST(ClientOfflineQueue, PublishedWhileDisconnectedArrivesOnceAfterReconnect) {
  ServerProcess server;
  Recorder sub_rec;
  auto so = test_options({ws_url(server)});
  sub_rec.attach(so);
  Client sub(so);
  sub.subscribe("q");
  sub.connect();
  auto po = test_options({ws_url(server)});
  Client pub(po);
  // Never connected yet: everything waits in the queue.
  for (int i = 1; i <= 5; ++i)
    EXPECT_EQ(pub.publish("q", numbered(i), "q-" + std::to_string(i)).status, Enqueue::accepted);
  EXPECT_EQ(pub.publish("q", numbered(1), "q-1").status, Enqueue::duplicate);
  EXPECT_EQ(pub.queued(), 5u);
  ASSERT_TRUE(wait_until([&] { return sub.is_connected(); }));
  // sub's subscription must be live before pub connects (a first subscribe has no `since`, so
  // a message that overtakes it is not replayed): probes (n = 0) over HTTP until one arrives.
  int probe = 0;
  ASSERT_TRUE(wait_until([&] {
    server_publish(server.port(), "q", 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return sub_rec.message_count() > 0; }, 200ms);
  }));
  pub.connect();
  ASSERT_TRUE(wait_until([&] { return pub.queued() == 0; }));
  ASSERT_TRUE(wait_until([&] { return sub_rec.payload_count() == 5; }));
  std::this_thread::sleep_for(200ms);  // nothing more may arrive
  EXPECT_EQ(sub_rec.payload_numbers(), iota_numbers(1, 5));
}

TEST(ClientResume, ReconnectReplaysWhatWasMissedExactlyOnce) {
  ServerProcess server({"--history", "100000"});
  Recorder sub_rec;
  auto so = test_options({ws_url(server)});
  sub_rec.attach(so);
  Client sub(so);
  auto po = test_options({ws_url(server)});
  po.queue.max_messages = 10000;
  Client pub(po);
  sub.subscribe("r");
  sub.connect();
  pub.connect();
  ASSERT_TRUE(wait_until([&] { return sub.is_connected() && pub.is_connected(); }));
  ASSERT_TRUE(wait_subscribed(pub, "r", sub_rec));
  // 2000 messages while the subscriber is forced through 20 disconnects.
  constexpr int kMessages = 2000;
  int next = 1;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < kMessages / 20; ++i, ++next)
      ASSERT_EQ(pub.publish("r", numbered(next)).status, Enqueue::accepted);
    sub.reconnect();
    ASSERT_TRUE(wait_until([&] { return sub_rec.connects() >= round + 2; }));
  }
  ASSERT_TRUE(wait_until([&] { return pub.queued() == 0; }, 20s));
  const bool all = wait_until([&] { return sub_rec.payload_count() == kMessages; }, 20s);
  ASSERT_TRUE(all) << "got " << sub_rec.payload_count() << "; "
                   << describe_gaps(sub_rec.payload_numbers(), 1, kMessages);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sub_rec.payload_numbers(), iota_numbers(1, kMessages));
  for (const auto& [channel, recovered] : sub_rec.recovered())
    EXPECT_TRUE(recovered) << channel;
  EXPECT_GE(sub_rec.connects(), 2);
}

TEST(ClientFailover, MovesToTheSecondServerWhenTheFirstDies) {
  ServerProcess first;
  ServerProcess second;
  Recorder rec;
  auto o = test_options({ws_url(first), ws_url(second)});
  rec.attach(o);
  Client c(o);
  c.subscribe("f");
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
  EXPECT_EQ(c.current_url(), ws_url(first));
  first.kill();
  ASSERT_TRUE(
      wait_until([&] { return c.is_connected() && c.current_url() == ws_url(second); }, 5s));
  // Pub/sub works on the second server, subscriptions included.
  auto po = test_options({ws_url(second)});
  Client pub(po);
  pub.connect();
  ASSERT_TRUE(wait_until([&] {
    pub.publish("f", numbered(1));
    return wait_until([&] { return rec.message_count() > 0; }, 200ms);
  }));
  EXPECT_EQ(rec.messages().front().channel, "f");
}

TEST(ClientDrain, RetryAfterHintReplacesTheFirstBackoffDelay) {
  ServerProcess server({"--drain-spread", "3000"});
  Recorder rec_a;
  Recorder rec_b;
  auto oa = test_options({ws_url(server)});
  oa.reconnect_interval = 20000ms;  // far from any hint, so the hint is what we see
  oa.max_backoff_delay = 20000ms;
  auto ob = oa;
  rec_a.attach(oa);
  rec_b.attach(ob);
  Client a(oa);
  Client b(ob);
  a.connect();
  b.connect();
  ASSERT_TRUE(wait_until([&] { return a.is_connected() && b.is_connected(); }));
  auto status = server.stop();  // SIGTERM: close 1001 {"retryAfterMs":N}, N = i * 3000 / 2
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(wait_until([&] { return !rec_a.attempts().empty() && !rec_b.attempts().empty(); }));
  const std::set<Duration> delays{rec_a.attempts().front().second, rec_b.attempts().front().second};
  EXPECT_EQ(delays, (std::set<Duration>{Duration{0}, Duration{1500}}));
  EXPECT_EQ(rec_a.attempts().front().first, 1u);  // the attempt still counts
}

TEST(ClientLifetime, DestructionWhileConnectingOrReconnectingIsClean) {
  ServerProcess server;
  std::atomic<bool> destroyed{false};
  std::atomic<int> late_callbacks{0};
  for (int i = 0; i < 20; ++i) {
    // Alternate: a live server (destroyed mid-handshake or connected) and a dead port
    // (destroyed while reconnecting with a timer pending).
    auto o = test_options({i % 2 == 0 ? ws_url(server) : "ws://127.0.0.1:1/ws"});
    o.on_state_change = [&](const Transition&) {
      if (destroyed.load())
        ++late_callbacks;
    };
    o.on_reconnect_attempt = [&](std::uint32_t, Duration) {
      if (destroyed.load())
        ++late_callbacks;
    };
    destroyed = false;
    {
      Client c(o);
      c.subscribe("x");
      c.connect();
      c.publish("x", numbered(i));
      std::this_thread::sleep_for(std::chrono::milliseconds(i * 3));
    }
    destroyed = true;
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(late_callbacks.load(), 0);
}

}  // namespace
}  // namespace steadyws::test
