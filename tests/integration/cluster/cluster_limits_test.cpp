// CONTRACT §8 limits in a cluster: --channel-ttl as key expiry in Redis (nodes renew the
// channels they serve) and --max-channels as one count across every node (the index
// steadyws:channels). Real nodes on a real redis-server.
#include <chrono>
#include <cstdint>
#include <stdexcept>
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

std::string channel_key(const std::string& channel, const std::string& part) {
  return "steadyws:{" + channel + "}:" + part;
}

bool exists(const RedisProcess& r, const std::string& key) {
  return r.command({"EXISTS", key}) == ":1";
}

// PTTL of a key: ms left, -1 without expiry, -2 when missing (or no answer).
long long pttl(const RedisProcess& r, const std::string& key) {
  const std::string a = r.command({"PTTL", key});
  return a.size() > 1 && a[0] == ':' ? std::stoll(a.substr(1)) : -2;
}

// Publishes until an ack comes (true) or the deadline passes, taking `limit` errors as "not
// yet" (and asking again 50 ms later); any other answer fails.
bool publish_once_admitted(WsClient& c, const std::string& channel, std::chrono::milliseconds d) {
  return wait_until(
      [&] {
        c.send_json(publish_msg(channel, 1));
        for (;;) {
          const Frame f = c.next(kDeadline);
          if (f.is_terminal() || !f.is_text())
            throw std::runtime_error("publish " + channel + ": " + f.describe());
          if (f.type() == "ack")
            return true;
          if (f.type() != "error")
            continue;
          if (str_at(f.json(), "code") != "limit")
            throw std::runtime_error("publish " + channel + ": " + f.data);
          std::this_thread::sleep_for(50ms);
          return false;
        }
      },
      d);
}

TEST(ClusterLimits, IdleChannelsExpireInRedisAfterTheTtlAndChannelsANodeServesStay) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a", {"--channel-ttl", "2000"}));
  ASSERT_TRUE(node_up(a.port()));
  auto sub = WsClient::connect(a.port());
  subscribe(*sub, "kept");
  auto p = WsClient::connect(a.port());
  EXPECT_EQ(int_at(publish(*p, "kept", 1), "seq"), 1);
  const long long t = pttl(redis, channel_key("kept", "seq"));
  EXPECT_GT(t, 0);
  EXPECT_LE(t, 2000);

  // "idle": used, then left by its only subscriber. Every one of its keys expires.
  auto q = WsClient::connect(a.port());
  const auto epoch = str_at(subscribe(*q, "idle"), "epoch");
  for (int i = 0; i < 3; ++i)
    publish(*q, "idle", i, "i" + std::to_string(i));
  for (const char* part : {"seq", "stream", "ids", "epoch"})
    EXPECT_GT(pttl(redis, channel_key("idle", part)), 0) << part;
  q->send_json(unsubscribe_msg("idle"));
  q->next_of_type("unsubscribed");
  ASSERT_TRUE(wait_until(
      [&] {
        return !exists(redis, channel_key("idle", "seq")) &&
               !exists(redis, channel_key("idle", "stream")) &&
               !exists(redis, channel_key("idle", "ids")) &&
               !exists(redis, channel_key("idle", "epoch"));
      },
      15s));
  // "kept" was last published before "idle": only the node's renewals keep it.
  EXPECT_TRUE(exists(redis, channel_key("kept", "seq")));

  // One more TTL, measured by another channel's expiry: still there.
  ASSERT_EQ(http_post(a.port(), "/api/publish", R"({"channel":"later","data":1})").status, 200u);
  ASSERT_TRUE(wait_until([&] { return !exists(redis, channel_key("later", "seq")); }, 15s));
  EXPECT_TRUE(exists(redis, channel_key("kept", "seq")));
  EXPECT_EQ(int_at(publish(*p, "kept", 2), "seq"), 2);
  // Messages come through Redis pub/sub, after the ack: wait for them (a pong is no barrier).
  std::vector<std::uint64_t> seqs;
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (seqs.size() < 2 && std::chrono::steady_clock::now() < end) {
    const Frame f = sub->next(1s);
    if (f.is_terminal())
      break;
    if (f.is_text() && f.type() == "message" && str_at(f.json(), "channel") == "kept")
      seqs.push_back(u64_at(f.json(), "seq"));
  }
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2}));

  // The expired channel starts again: a new epoch, seq 0, and a resume is told so.
  auto r = WsClient::connect(a.port());
  const auto s = r->request(resume_msg("idle", 3, epoch), "subscribed");
  EXPECT_EQ(s.at("recovered"), false) << dump(s);
  EXPECT_EQ(int_at(s, "seq"), 0);
  EXPECT_NE(str_at(s, "epoch"), epoch);
}

TEST(ClusterLimits, MaxChannelsIsOneCountAcrossNodesAndFreesWithTheTtl) {
  RedisProcess redis;
  const std::vector<std::string> limits{"--max-channels", "3", "--channel-ttl", "1500"};
  ServerProcess a(node_args(redis, "a", limits));
  ServerProcess b(node_args(redis, "b", limits));
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  auto ca = WsClient::connect(a.port());
  auto cb = WsClient::connect(b.port());
  publish(*ca, "c1", 1);
  publish(*ca, "c2", 1);
  subscribe(*cb, "c3");  // served by b from here on
  // Three channels in the cluster: a fourth is refused on either node, over every path.
  cb->send_json(publish_msg("c4", 1));
  EXPECT_TRUE(error_then_alive(*cb, "limit"));
  ca->send_json(subscribe_msg("c4"));
  EXPECT_TRUE(error_then_alive(*ca, "limit"));
  const auto h = http_post(b.port(), "/api/publish", R"({"channel":"c4","data":1})");
  EXPECT_EQ(h.status, 429u) << h.describe();
  EXPECT_NE(h.body.find("\"limit\""), std::string::npos) << h.body;
  const auto poll = http_get(a.port(), "/api/poll?channel=c4&timeout=0");
  EXPECT_EQ(poll.status, 429u) << poll.describe();
  // An existing channel is no new one, whichever node uses it.
  EXPECT_EQ(int_at(publish(*cb, "c1", 2), "seq"), 2);

  // c1 and c2 go idle and free their places after the TTL; c3, served by b, keeps its own.
  ASSERT_TRUE(publish_once_admitted(*ca, "c4", 20s));
  ASSERT_TRUE(publish_once_admitted(*cb, "c5", 20s));  // c1 may count a little longer than c2
  cb->send_json(publish_msg("c6", 1));
  EXPECT_TRUE(error_then_alive(*cb, "limit"));
  EXPECT_TRUE(server_serves(a.port()));
  EXPECT_TRUE(server_serves(b.port()));
}

TEST(ClusterLimits, PublishesToANewChannelKeepTheirOrderThroughItsAdmission) {
  RedisProcess redis;
  ServerProcess a(node_args(redis, "a", {"--rate-limit", "0"}));
  ServerProcess b(node_args(redis, "b", {"--rate-limit", "0"}));
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  // A subscribe on one node and a burst of publishes on both, all on names new to the index.
  auto s = WsClient::connect(a.port());
  auto pa = WsClient::connect(a.port());
  auto pb = WsClient::connect(b.port());
  constexpr int kBurst = 200;
  for (int round = 0; round < 5; ++round) {
    const std::string ch = "fresh" + std::to_string(round);
    s->send_json(subscribe_msg(ch));
    for (int i = 0; i < kBurst; ++i) {
      pa->send_json(publish_msg(ch, i, "a" + std::to_string(i)));
      pb->send_json(publish_msg(ch, i, "b" + std::to_string(i)));
    }
    for (auto* p : {pa.get(), pb.get()}) {
      std::int64_t last = 0;
      for (int i = 0; i < kBurst; ++i) {
        const auto ack = p->next_of_type("ack").json();
        const std::int64_t seq = int_at(ack, "seq").value_or(-1);
        EXPECT_GT(seq, last) << "acks of one connection out of seq order: " << dump(ack);
        last = seq;
      }
    }
    EXPECT_EQ(s->next_of_type("subscribed").type(), "subscribed");
  }
}

}  // namespace
}  // namespace steadyws::test
