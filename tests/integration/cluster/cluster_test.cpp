// CONTRACT §5: nodes of a cluster on a real Redis (Debian's redis-server), started and
// stopped by each test on a free port with its data under the build tree.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cluster/cluster_support.hpp"
#include "integration/helpers.hpp"
#include "support/redis_process.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

// Publishes, retrying `unavailable` (Redis not reachable yet) until the deadline.
json::object publish_retry(WsClient& c, const std::string& channel, json::value data,
                           const std::string& id, std::chrono::milliseconds d = 20s) {
  const auto end = std::chrono::steady_clock::now() + d;
  for (;;) {
    c.send_json(publish_msg(channel, data, id));
    for (;;) {
      Frame f = c.next(10s);
      const auto t = f.type();
      if (t == "ack")
        return f.json();
      if (t == "error") {
        if (str_at(f.json(), "code") != "unavailable")
          throw std::runtime_error("publish: " + f.data);
        break;
      }
      if (!f.is_text())
        throw std::runtime_error("publish: " + f.describe());
    }
    if (std::chrono::steady_clock::now() > end)
      throw std::runtime_error("publish: unavailable until the deadline");
    std::this_thread::sleep_for(100ms);
  }
}

// Collects `message` frames of `channel` until `n` arrived (or the deadline); returns seqs.
std::vector<std::uint64_t> collect(WsClient& c, const std::string& channel, std::size_t n,
                                   std::chrono::milliseconds d = 30s,
                                   std::vector<json::object>* other = nullptr) {
  std::vector<std::uint64_t> seqs;
  const auto end = std::chrono::steady_clock::now() + d;
  while (seqs.size() < n && std::chrono::steady_clock::now() < end) {
    Frame f = c.next(1s);
    if (f.is_terminal())
      break;
    if (!f.is_text())
      continue;
    auto o = f.json();
    if (str_at(o, "type") == "message" && str_at(o, "channel") == channel)
      seqs.push_back(u64_at(o, "seq"));
    else if (other)
      other->push_back(std::move(o));
  }
  return seqs;
}

std::vector<std::uint64_t> one_to(std::uint64_t n, std::uint64_t from = 1) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t s = from; s <= n; ++s)
    v.push_back(s);
  return v;
}

TEST(Cluster, PublishOnOneNodeReachesEveryNodeOnceInOrderAndDedupIsClusterWide) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a"));
  ServerProcess b(node_args(redis, "b"));
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  auto sa = WsClient::connect(a.port());
  auto sb = WsClient::connect(b.port());
  EXPECT_EQ(int_at(subscribe(*sa, "room"), "seq"), 0);
  const auto sub_b = subscribe(*sb, "room");
  EXPECT_EQ(int_at(sub_b, "seq"), 0);
  auto pa = WsClient::connect(a.port());
  auto pb = WsClient::connect(b.port());
  for (int i = 0; i < 20; ++i) {
    auto& p = i % 2 == 0 ? *pa : *pb;
    const auto ack = publish(p, "room", json::value{{"i", i}}, "m" + std::to_string(i));
    EXPECT_EQ(int_at(ack, "seq"), i + 1) << dump(ack);
  }
  // The same id through the other node: the first ack again, nothing delivered twice.
  const auto again = publish(*pb, "room", json::value{{"i", 0}}, "m0");
  EXPECT_EQ(int_at(again, "seq"), 1);
  EXPECT_EQ(collect(*sa, "room", 20), one_to(20));
  EXPECT_EQ(collect(*sb, "room", 20), one_to(20));
  EXPECT_TRUE(drain_messages(*sa).empty());
  EXPECT_TRUE(drain_messages(*sb).empty());
  // HTTP publish and poll on either node see the same channel.
  const auto h =
      http_post(b.port(), "/api/publish", R"({"channel":"room","data":"http","id":"h1"})");
  ASSERT_EQ(h.status, 200u) << h.describe();
  EXPECT_EQ(int_at(h.object(), "seq"), 21);
  const auto poll =
      http_get(a.port(),
               "/api/poll?channel=room&since=19&epoch=" + str_at(sub_b, "epoch") + "&timeout=1000");
  ASSERT_EQ(poll.status, 200u) << poll.describe();
  const auto po = poll.object();
  EXPECT_EQ(po.at("messages").as_array().size(), 2u) << poll.body;
  EXPECT_EQ(po.at("recovered").as_object().at("room"), true) << poll.body;
  EXPECT_EQ(collect(*sa, "room", 1), std::vector<std::uint64_t>{21});
}

TEST(Cluster, EveryNodeKilledAndNewOnesStartedResumeWithTheOldEpochRecovers) {
  RedisProcess redis;
  std::string epoch;
  {
    ServerProcess a(node_args(redis, "a"));
    ASSERT_TRUE(node_up(a.port()));
    auto c = WsClient::connect(a.port());
    epoch = str_at(subscribe(*c, "keep"), "epoch");
    for (int i = 0; i < 10; ++i)
      publish(*c, "keep", i);
    a.kill();
  }
  ServerProcess b(node_args(redis, "b"));
  ASSERT_TRUE(node_up(b.port()));
  auto c = WsClient::connect(b.port());
  const auto s = c->request(resume_msg("keep", 4, epoch), "subscribed");
  EXPECT_EQ(s.at("recovered"), true) << dump(s);
  EXPECT_EQ(str_at(s, "epoch"), epoch);
  EXPECT_EQ(int_at(s, "seq"), 10);
  EXPECT_EQ(collect(*c, "keep", 6), one_to(10, 5));
  // Outside the history (--history 1000 holds all 10) a wrong epoch is recovered:false.
  const auto w = c->request(resume_msg("keep", 4, std::string("other")), "subscribed");
  EXPECT_EQ(w.at("recovered"), false);
}

TEST(Cluster, HistoryIsExactlyTheLastHistoryMessages) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a", {"--history", "5"}));
  ASSERT_TRUE(node_up(a.port()));
  auto c = WsClient::connect(a.port());
  const auto epoch = str_at(subscribe(*c, "h"), "epoch");
  for (int i = 0; i < 12; ++i)
    publish(*c, "h", i, "id" + std::to_string(i));
  EXPECT_EQ(collect(*c, "h", 12), one_to(12));
  auto r = WsClient::connect(a.port());
  // 7..12 kept: since 7 resumes (8..12), since 6 needs 7 (kept) too: both true; since 5 not.
  EXPECT_EQ(r->request(resume_msg("h", 7, epoch), "subscribed").at("recovered"), true);
  EXPECT_EQ(collect(*r, "h", 5), one_to(12, 8));
  EXPECT_EQ(r->request(resume_msg("h", 6, epoch), "subscribed").at("recovered"), false);
  // Dedup lives as long as the history: id11 is kept, id0 was evicted with its message.
  EXPECT_EQ(int_at(publish(*c, "h", 0, "id11"), "seq"), 12);
  EXPECT_EQ(int_at(publish(*c, "h", 0, "id0"), "seq"), 13);
}

TEST(Cluster, RedisRestartedEmptyGivesNewEpochsAndRecoveredFalse) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a"));
  ASSERT_TRUE(node_up(a.port()));
  auto live = WsClient::connect(a.port());
  const auto old_epoch = str_at(subscribe(*live, "r"), "epoch");
  for (int i = 0; i < 5; ++i)
    publish(*live, "r", i);
  EXPECT_EQ(collect(*live, "r", 5), one_to(5));
  redis.restart();  // not persistent: empty
  ASSERT_TRUE(node_up(a.port()));
  auto p = WsClient::connect(a.port());
  EXPECT_EQ(int_at(publish_retry(*p, "r", "new", "n1"), "seq"), 1);
  // The live subscriber: recovered:false with the new epoch (and the seq it is current to)
  // before any message of the new epoch; then every message after that seq.
  std::uint64_t reset_at = 0;
  bool told = false;
  std::vector<std::uint64_t> early;
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (!told && std::chrono::steady_clock::now() < end) {
    Frame f = live->next(1s);
    if (!f.is_text())
      continue;
    const auto o = f.json();
    if (str_at(o, "type") == "subscribed") {
      EXPECT_EQ(o.at("recovered"), false) << f.data;
      EXPECT_NE(str_at(o, "epoch"), old_epoch) << f.data;
      reset_at = u64_at(o, "seq");
      told = true;
    } else if (str_at(o, "type") == "message") {
      early.push_back(u64_at(o, "seq"));
    }
  }
  ASSERT_TRUE(told) << "no recovered:false for the live subscriber";
  EXPECT_TRUE(early.empty()) << "a message came before recovered:false";
  EXPECT_LE(reset_at, 1u);
  EXPECT_EQ(int_at(publish(*p, "r", "two", "n2"), "seq"), 2);
  EXPECT_EQ(collect(*live, "r", 2 - reset_at), one_to(2, reset_at + 1));
  // A resume with the old epoch: recovered:false, never an old seq.
  auto r = WsClient::connect(a.port());
  const auto s = r->request(resume_msg("r", 3, old_epoch), "subscribed");
  EXPECT_EQ(s.at("recovered"), false);
  EXPECT_NE(str_at(s, "epoch"), old_epoch);
  EXPECT_TRUE(drain_messages(*r).empty());
}

TEST(Cluster, RedisDownMeansUnavailableDegradedAndOpenSocketsThenRecovery) {
  RedisProcess redis(/*persistent=*/true);
  ServerProcess a(node_args(redis, "a", {"--heartbeat-interval", "500"}));
  ASSERT_TRUE(node_up(a.port()));
  auto sub = WsClient::connect(a.port());
  const auto epoch = str_at(subscribe(*sub, "d"), "epoch");
  auto pub = WsClient::connect(a.port());
  publish(*pub, "d", 1, "x1");
  EXPECT_EQ(collect(*sub, "d", 1), one_to(1));
  redis.kill();
  ASSERT_TRUE(wait_until([&] { return redis_state(a.port()) == "down"; }, 20s));
  EXPECT_EQ(str_at(health(a.port()), "status"), "degraded");
  pub->send_json(publish_msg("d", 2, "x2"));
  EXPECT_TRUE(error_then_alive(*pub, "unavailable"));
  const auto h = http_post(a.port(), "/api/publish", R"({"channel":"d","data":3,"id":"x3"})");
  EXPECT_EQ(h.status, 503u) << h.describe();
  EXPECT_EQ(str_at(h.object(), "error"), "unavailable");
  auto fresh = WsClient::connect(a.port());
  fresh->send_json(subscribe_msg("d"));
  EXPECT_TRUE(error_then_alive(*fresh, "unavailable"));
  EXPECT_EQ(http_get(a.port(), "/api/poll?channel=d&since=0&timeout=100").status, 503u);
  EXPECT_TRUE(sub->alive());
  redis.restart();  // with its data: the epoch stays
  ASSERT_TRUE(node_up(a.port()));
  EXPECT_EQ(int_at(publish_retry(*pub, "d", 2, "x2"), "seq"), 2);
  EXPECT_EQ(collect(*sub, "d", 1), std::vector<std::uint64_t>{2});
  const auto s = fresh->request(resume_msg("d", 0, epoch), "subscribed");
  EXPECT_EQ(s.at("recovered"), true) << dump(s);
}

TEST(Cluster, RedisKilledForFiveSecondsDuringAPublishStreamNeverAcksALostMessage) {
  RedisProcess redis(/*persistent=*/true);
  ServerProcess a(node_args(redis, "a", {"--history", "100000"}));
  ServerProcess b(node_args(redis, "b", {"--history", "100000"}));
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  auto sub = WsClient::connect(b.port());
  subscribe(*sub, "s");
  auto pub = WsClient::connect(a.port());
  std::vector<std::uint64_t> acked;
  std::map<std::string, std::uint64_t> acked_ids;
  const auto start = std::chrono::steady_clock::now();
  bool killed = false, restarted = false;
  for (int i = 0; std::chrono::steady_clock::now() - start < 12s || !restarted; ++i) {
    const auto t = std::chrono::steady_clock::now() - start;
    if (!killed && t > 1s) {
      redis.kill();
      killed = true;
    }
    if (killed && !restarted && t > 6s) {
      redis.restart();
      restarted = true;
    }
    const std::string id = "p" + std::to_string(i);
    pub->send_json(publish_msg("s", i, id));
    Frame f = pub->next(10s);
    while (f.is_text() && f.type() != "ack" && f.type() != "error")
      f = pub->next(10s);
    ASSERT_TRUE(f.is_text()) << f.describe();
    if (f.type() == "ack") {
      acked.push_back(u64_at(f.json(), "seq"));
      acked_ids[id] = acked.back();
    }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_GT(acked.size(), 10u);
  // Every acked message is in the stream afterwards, and the subscriber got them in order.
  const std::string xlen = redis.command({"XLEN", "steadyws:{s}:stream"});
  EXPECT_EQ(xlen, ":" + std::to_string(acked.back())) << "stream length vs last ack";
  for (const auto& [id, seq] : acked_ids)
    EXPECT_EQ(redis.command({"HGET", "steadyws:{s}:ids", id}),
              "$" + std::to_string(std::to_string(seq).size()) + "\n" + std::to_string(seq))
        << id;
  const auto got = collect(*sub, "s", acked.back(), 30s);
  EXPECT_EQ(got, one_to(acked.back()));
}

TEST(Cluster, PausedOrSlowRedisGivesUnavailableThenRecovers) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a"));
  ASSERT_TRUE(node_up(a.port()));
  auto sub = WsClient::connect(a.port());
  subscribe(*sub, "p");
  auto pub = WsClient::connect(a.port());
  publish(*pub, "p", 1);
  // CLIENT PAUSE: commands wait in Redis; the node answers unavailable within 5 s (+ slack).
  EXPECT_EQ(redis.command({"CLIENT", "PAUSE", "8000", "ALL"}), "+OK");
  const auto t0 = std::chrono::steady_clock::now();
  pub->send_json(publish_msg("p", 2, "q2"));
  Frame f = pub->next_of_type("error", 15s);
  EXPECT_EQ(str_at(f.json(), "code"), "unavailable") << f.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 7s);
  EXPECT_TRUE(wait_until([&] { return redis_state(a.port()) == "down"; }, 10s));
  redis.command({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(node_up(a.port()));
  // q2 may or may not have been stored (never acked): the retry with its id decides.
  const auto ack = publish_retry(*pub, "p", 2, "q2");
  EXPECT_EQ(int_at(ack, "seq"), 2);
  EXPECT_EQ(collect(*sub, "p", 2), one_to(2));
  // DEBUG SLEEP: Redis busy for 6 s.
  std::thread sleeper([&] { redis.command({"DEBUG", "SLEEP", "6"}, 20s); });
  std::this_thread::sleep_for(200ms);
  pub->send_json(publish_msg("p", 3, "q3"));
  Frame g = pub->next_of_type("error", 15s);
  EXPECT_EQ(str_at(g.json(), "code"), "unavailable") << g.describe();
  sleeper.join();
  ASSERT_TRUE(node_up(a.port()));
  EXPECT_EQ(int_at(publish_retry(*pub, "p", 3, "q3"), "seq"), 3);
  EXPECT_EQ(collect(*sub, "p", 1), std::vector<std::uint64_t>{3});
  EXPECT_TRUE(sub->alive());
}

TEST(Cluster, UnreachableRedisAtStartServesDegradedAndKeepsRetrying) {
  RedisProcess redis;
  redis.kill();
  ServerProcess a(node_args(redis, "a"));
  EXPECT_EQ(redis_state(a.port()), "down");
  EXPECT_EQ(str_at(health(a.port()), "status"), "degraded");
  EXPECT_TRUE(server_serves(a.port()));
  EXPECT_TRUE(wait_until(
      [&] {
        return a.stderr_text().find("127.0.0.1:" + std::to_string(redis.port())) !=
               std::string::npos;
      },
      10s))
      << a.stderr_tail();
  redis.restart();
  ASSERT_TRUE(node_up(a.port()));
  auto c = WsClient::connect(a.port());
  EXPECT_EQ(int_at(publish(*c, "u", 1), "seq"), 1);
}

TEST(Cluster, BadFlagsExitNonZeroNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  const Case cases[] = {{{"--redis", "localhost:6379"}, "--redis"},
                        {{"--redis", "http://127.0.0.1:6379"}, "--redis"},
                        {{"--redis", "redis://127.0.0.1:99999"}, "--redis"},
                        {{"--redis", "redis://"}, "--redis"},
                        {{"--redis", "redis://127.0.0.1:6379", "--node-id", "a b"}, "--node-id"},
                        {{"--redis", "redis://127.0.0.1:6379", "--node-id", ""}, "--node-id"}};
  for (const auto& c : cases) {
    try {
      ServerProcess s(c.args);
      ADD_FAILURE() << "started with " << c.args[1];
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("exited before listening (exit"), std::string::npos) << what;
      EXPECT_EQ(what.find("(exit 0)"), std::string::npos) << what;
      EXPECT_NE(what.find(c.flag), std::string::npos) << what;
    }
  }
}

TEST(Cluster, NodesAreVisibleAndADuplicateNodeIdIsDetected) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "alpha"));
  ServerProcess b(node_args(redis, "beta"));
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  auto c = WsClient::connect(a.port());
  ASSERT_TRUE(wait_until(
      [&] {
        const auto h = health(b.port());
        return int_at(h.at("cluster").as_object(), "nodes") == 2;
      },
      10s));
  const auto h = health(a.port()).at("cluster").as_object();
  EXPECT_EQ(str_at(h, "nodeId"), "alpha");
  EXPECT_EQ(str_at(h, "redis"), "up");
  json::array nodes;
  ASSERT_TRUE(wait_until(
      [&] {
        nodes = http_get(b.port(), "/api/cluster").object().at("nodes").as_array();
        return nodes.size() == 2 && int_at(nodes[0].as_object(), "connections") == 1;
      },
      10s))
      << dump(nodes);
  EXPECT_EQ(str_at(nodes[0].as_object(), "nodeId"), "alpha");
  EXPECT_EQ(str_at(nodes[1].as_object(), "nodeId"), "beta");
  EXPECT_FALSE(str_at(nodes[1].as_object(), "startedAt").empty());
  const auto m = http_get(a.port(), "/metrics");
  EXPECT_NE(m.body.find("steadyws_redis_rtt_seconds_count"), std::string::npos);
  EXPECT_NE(m.body.find("steadyws_redis_reconnects_total 0"), std::string::npos);
  ServerProcess dup(node_args(redis, "alpha"));
  EXPECT_TRUE(wait_until(
      [&] {
        return dup.stderr_text().find("another node is alive with --node-id alpha") !=
               std::string::npos;
      },
      10s))
      << dup.stderr_tail();
}

// A subscriber on its own thread that resumes (since/epoch) after every disconnect, on the
// same node or, `moving`, on the next one; it records every problem it sees.
class ResumingSubscriber {
 public:
  ResumingSubscriber(std::vector<std::uint16_t> ports, std::size_t node, bool moving,
                     std::uint64_t target)
      : ports_(std::move(ports)), node_(node), moving_(moving), target_(target) {
    thread_ = std::thread([this] { run(); });
  }
  ~ResumingSubscriber() {
    stop_ = true;
    thread_.join();
  }
  std::size_t node() const { return node_.load(); }
  std::uint64_t last() const { return last_.load(); }
  std::vector<std::string> problems() const {
    std::lock_guard g(mu_);
    return problems_;
  }
  std::size_t resumes() const { return resumes_.load(); }
  void connected_wait() const {
    wait_until([&] { return subscribed_once_.load(); }, 30s);
  }

 private:
  void problem(std::string p) {
    std::lock_guard g(mu_);
    if (problems_.size() < 20)
      problems_.push_back(std::move(p));
  }
  void run() {
    while (!stop_ && last_ < target_) {
      std::unique_ptr<WsClient> c;
      try {
        c = WsClient::connect(ports_[node_]);
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      const bool resuming = !epoch_.empty();
      c->send_json(resuming ? resume_msg("big", static_cast<std::int64_t>(last_.load()), epoch_)
                            : subscribe_msg("big"));
      bool ok = true;
      while (!stop_ && last_ < target_ && ok) {
        Frame f = c->next(500ms);
        if (f.is_terminal())
          break;
        if (!f.is_text())
          continue;
        const auto o = f.json();
        const auto type = str_at(o, "type");
        if (type == "subscribed") {
          if (resuming && o.at("recovered") != true)
            problem("resume not recovered: " + f.data);
          if (!resuming)
            epoch_ = str_at(o, "epoch");
          ++resumes_;
          subscribed_once_ = true;
        } else if (type == "message") {
          const auto seq = u64_at(o, "seq");
          if (seq != last_ + 1)
            problem("after " + std::to_string(last_) + " got " + std::to_string(seq));
          if (seq > last_)
            last_ = seq;
        } else if (type == "error") {
          problem("error: " + f.data);
          ok = false;  // resubscribe
        }
      }
      if (moving_ && !stop_ && last_ < target_)
        node_ = (node_ + 1) % ports_.size();
    }
  }

  const std::vector<std::uint16_t> ports_;
  std::atomic<std::size_t> node_;
  const bool moving_;
  const std::uint64_t target_;
  std::string epoch_;
  std::atomic<std::uint64_t> last_{0};
  std::atomic<std::size_t> resumes_{0};
  std::atomic<bool> subscribed_once_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> problems_;
  std::thread thread_;
};

// Issue 13: three nodes, 10,000 messages round-robin through all three, a subscriber on each
// node and one moving between nodes whose node is SIGKILLed (and restarted) every 2,000.
TEST(Cluster, ThreeNodesTenThousandMessagesNoneLostNoneDuplicatedInOrder) {
  constexpr std::uint64_t kMessages = 10000;
  constexpr std::uint64_t kKillEvery = 2000;
  constexpr std::uint64_t kWindow = 150;
  RedisProcess redis;
  std::vector<std::unique_ptr<ServerProcess>> nodes;
  std::vector<std::uint16_t> ports;
  for (const char* id : {"n1", "n2", "n3"}) {
    nodes.push_back(std::make_unique<ServerProcess>(node_args(redis, id)));
    ports.push_back(nodes.back()->port());
    ASSERT_TRUE(node_up(ports.back()));
  }
  std::vector<std::unique_ptr<ResumingSubscriber>> subs;
  for (std::size_t i = 0; i < 3; ++i)
    subs.push_back(std::make_unique<ResumingSubscriber>(ports, i, false, kMessages));
  subs.push_back(std::make_unique<ResumingSubscriber>(ports, 0, true, kMessages));
  for (auto& s : subs)
    s->connected_wait();
  std::vector<std::unique_ptr<WsClient>> pubs;
  for (auto p : ports)
    pubs.push_back(WsClient::connect(p));
  std::set<std::uint64_t> acked;
  std::uint64_t sent = 0;
  while (sent < kMessages) {
    // A window of publishes round-robin, then their acks.
    std::uint64_t n = std::min(kWindow, kMessages - sent);
    if ((sent % kKillEvery) + n > kKillEvery)
      n = kKillEvery - sent % kKillEvery;
    std::vector<std::size_t> per(3, 0);
    for (std::uint64_t k = 0; k < n; ++k) {
      const std::uint64_t i = sent + k;
      pubs[i % 3]->send_json(publish_msg("big", json::value{{"i", i}}, "m" + std::to_string(i)));
      ++per[i % 3];
    }
    for (std::size_t p = 0; p < 3; ++p) {
      for (std::size_t k = 0; k < per[p]; ++k) {
        Frame f = pubs[p]->next_of_type("ack", 30s);
        ASSERT_EQ(f.type(), "ack") << "node " << p << ": " << f.describe();
        acked.insert(u64_at(f.json(), "seq"));
      }
    }
    sent += n;
    if (sent % kKillEvery == 0 && sent < kMessages) {
      // The moving subscriber's node dies without a drain, then comes back.
      const std::size_t victim = subs[3]->node();
      nodes[victim]->kill();
      nodes[victim]->restart();
      ASSERT_TRUE(node_up(ports[victim]));
      pubs[victim] = WsClient::connect(ports[victim]);
    }
  }
  EXPECT_EQ(acked.size(), kMessages);
  EXPECT_EQ(*acked.rbegin(), kMessages);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    EXPECT_TRUE(wait_until([&] { return subs[i]->last() == kMessages; }, 120s))
        << "subscriber " << i << " stopped at " << subs[i]->last();
    const auto problems = subs[i]->problems();
    EXPECT_TRUE(problems.empty()) << "subscriber " << i << ": " << problems.front();
  }
  EXPECT_GE(subs[3]->resumes(), 5u) << "the moving subscriber moved 4 times";
}

#ifdef STEADYWS_SOURCE_DIR
// docs/cluster.md: the nginx config of the repo, in front of two nodes (ports substituted),
// run from Debian's nginx as a non-daemon with its prefix in a temp folder.
TEST(Cluster, TheRepoNginxConfigBalancesWebSocketsAndHttpAcrossNodes) {
  if (::access("/usr/sbin/nginx", X_OK) != 0)
    GTEST_SKIP() << "nginx not installed (scripts/install-deps.sh installs nginx-light)";
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a"));
  ServerProcess b(node_args(redis, "b"));
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  std::ifstream in(std::string(STEADYWS_SOURCE_DIR) + "/deploy/nginx/steadyws-cluster.conf");
  std::string conf((std::istreambuf_iterator<char>(in)), {});
  ASSERT_FALSE(conf.empty());
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(probe);
  const auto front = ntohs(sa.sin_port);
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = conf.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    conf.replace(at, from.size(), to);
  };
  replace("127.0.0.1:6011", "127.0.0.1:" + std::to_string(a.port()));
  replace("127.0.0.1:6012", "127.0.0.1:" + std::to_string(b.port()));
  replace("127.0.0.1:6013", "127.0.0.1:" + std::to_string(b.port()) + " backup");
  replace("127.0.0.1:8080", "127.0.0.1:" + std::to_string(front));
  const auto dir = std::filesystem::current_path() / "nginx-test" / std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "nginx.conf") << conf; }
  const pid_t pid = tools::spawn_child({"/usr/sbin/nginx", "-e", "stderr", "-c",
                                        (dir / "nginx.conf").string(), "-p", dir.string() + "/"},
                                       {(dir / "out").string(), (dir / "err").string()});
  struct Reap {
    pid_t pid;
    std::filesystem::path dir;
    ~Reap() {
      ::kill(pid, SIGQUIT);
      int st = 0;
      ::waitpid(pid, &st, 0);
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } reap{pid, dir};
  ASSERT_TRUE(wait_until([&] { return http_get(front, "/api/health").status == 200; }, 20s));
  // Two clients through nginx land on both nodes (least_conn), and a publish reaches both.
  auto c1 = WsClient::connect(front);
  auto c2 = WsClient::connect(front);
  subscribe(*c1, "lb");
  subscribe(*c2, "lb");
  ASSERT_TRUE(wait_until(
      [&] {
        const auto n = http_get(front, "/api/cluster").object().at("nodes").as_array();
        return n.size() == 2 && int_at(n[0].as_object(), "connections") == 1 &&
               int_at(n[1].as_object(), "connections") == 1;
      },
      10s));
  const auto h = http_post(front, "/api/publish", R"({"channel":"lb","data":"via nginx"})");
  ASSERT_EQ(h.status, 200u) << h.describe();
  EXPECT_EQ(collect(*c1, "lb", 1), std::vector<std::uint64_t>{1});
  EXPECT_EQ(collect(*c2, "lb", 1), std::vector<std::uint64_t>{1});
}
#endif

}  // namespace
}  // namespace steadyws::test
