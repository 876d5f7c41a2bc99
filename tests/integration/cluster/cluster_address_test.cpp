// Where a node is (issue 13, "Visible"): every node's heartbeat carries its address, the URL
// its clients use (--advertise-url, or the address it bound), and GET /api/cluster on any
// node lists it beside the four fields of CONTRACT §5.
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cluster/cluster_support.hpp"
#include "integration/helpers.hpp"
#include "support/redis_process.hpp"
#include "support/test_pki.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

// nodeId -> the node's whole entry on `port`'s /api/cluster.
std::map<std::string, json::object> cluster_nodes(std::uint16_t port) {
  std::map<std::string, json::object> out;
  const json::object body = http_get(port, "/api/cluster").object();
  for (const auto& n : body.at("nodes").as_array())
    out[str_at(n.as_object(), "nodeId")] = n.as_object();
  return out;
}

TEST(ClusterAddress, EveryNodeListsEveryAddressAdvertisedOrBound) {
  RedisProcess redis;
  const std::string advertised = "wss://node1.example:443/ws";
  ServerProcess a(node_args(redis, "advertised", {"--advertise-url", advertised}));
  ServerProcess b(node_args(redis, "bound"));  // --port 0: the address has the real port
  ASSERT_TRUE(node_up(a.port()));
  ASSERT_TRUE(node_up(b.port()));
  const std::string bound = "ws://127.0.0.1:" + std::to_string(b.port()) + "/ws";
  for (const std::uint16_t port : {a.port(), b.port()}) {
    std::map<std::string, json::object> nodes;
    EXPECT_TRUE(wait_until(
        [&] {
          nodes = cluster_nodes(port);
          return nodes.size() == 2;
        },
        10s))
        << "on port " << port;
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(str_at(nodes["advertised"], "address"), advertised) << dump(nodes["advertised"]);
    EXPECT_EQ(str_at(nodes["bound"], "address"), bound) << dump(nodes["bound"]);
    for (auto& [id, n] : nodes) {
      // CONTRACT §5's four fields are all still there, the address beside them.
      EXPECT_TRUE(n.contains("nodeId")) << dump(n);
      EXPECT_TRUE(n.contains("connections")) << dump(n);
      EXPECT_FALSE(str_at(n, "startedAt").empty()) << dump(n);
      EXPECT_FALSE(str_at(n, "lastSeenAt").empty()) << dump(n);
    }
  }
}

TEST(ClusterAddress, ATlsNodeWithoutAdvertiseUrlIsListedWithWss) {
  RedisProcess redis;
  TestPki pki;
  const auto pair = pki.server("server", 0x2001);
  ServerProcess tls(node_args(redis, "tls", {"--tls-cert", pair.cert, "--tls-key", pair.key}));
  ServerProcess plain(node_args(redis, "plain"));  // asked over plain HTTP
  ASSERT_TRUE(node_up(plain.port()));
  const std::string want = "wss://127.0.0.1:" + std::to_string(tls.port()) + "/ws";
  std::string listed;
  EXPECT_TRUE(wait_until(
      [&] {
        auto nodes = cluster_nodes(plain.port());
        listed = nodes.contains("tls") ? str_at(nodes["tls"], "address") : "";
        return listed == want;
      },
      15s))
      << "listed as " << listed << "; want " << want;
}

TEST(ClusterAddress, AMalformedAdvertiseUrlExitsNonZeroNamingTheFlag) {
  RedisProcess redis;
  const std::vector<std::string> bad = {
      "node1.example:443",               // no scheme
      "ftp://node1.example/ws",          // unknown scheme
      "wss://",                          // no host
      "wss://node1.example:0/ws",        // port out of range
      "wss://node1.example:99999/ws",    // port out of range
      "wss://node1.example:/ws",         // empty port
      "wss://user:secret@node1/ws",      // a credential would be shown on /api/cluster
      "wss://node1.example/ws?token=x",  // so would a query
      "wss://node 1.example/ws",         // bad host character
      "wss://[::1/ws",                   // unclosed IPv6 bracket
  };
  for (const auto& url : bad) {
    try {
      ServerProcess s(node_args(redis, "n", {"--advertise-url", url}));
      ADD_FAILURE() << "started with --advertise-url " << url;
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("exited before listening (exit"), std::string::npos) << what;
      EXPECT_EQ(what.find("(exit 0)"), std::string::npos) << what;
      EXPECT_NE(what.find("--advertise-url"), std::string::npos) << what;
      EXPECT_EQ(what.find("secret"), std::string::npos) << "a credential echoed: " << what;
    }
  }
  // Meaningless without --redis (there is no /api/cluster to list it on): said, not ignored.
  try {
    ServerProcess s({"--advertise-url", "ws://127.0.0.1:6011/ws"});
    ADD_FAILURE() << "started with --advertise-url and no --redis";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--advertise-url"), std::string::npos) << what;
    EXPECT_NE(what.find("--redis"), std::string::npos) << what;
  }
  // Forms that are fine, listed as given: a name with a port, an IPv4 address, an IPv6 one,
  // no port or path.
  const std::vector<std::string> good = {"wss://node1.example:443/ws", "http://10.0.0.5:6011",
                                         "ws://[::1]:6011/ws", "https://a"};
  for (std::size_t i = 0; i < good.size(); ++i) {
    const std::string id = "ok" + std::to_string(i);
    ServerProcess s(node_args(redis, id, {"--advertise-url", good[i]}));
    ASSERT_TRUE(node_up(s.port())) << good[i];
    std::string listed;
    EXPECT_TRUE(wait_until(
        [&] {
          auto nodes = cluster_nodes(s.port());
          listed = nodes.contains(id) ? str_at(nodes[id], "address") : "";
          return listed == good[i];
        },
        10s))
        << good[i] << " listed as " << listed;
  }
}

}  // namespace
}  // namespace steadyws::test
