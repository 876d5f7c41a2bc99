// A Redis with a password (CONTRACT §5, --redis redis://:PASSWORD@HOST:PORT): the right one
// makes a node, a wrong one is refused with a log line that says what to check, the node
// serves degraded meanwhile, and the password is in no log line, health or metrics answer.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "integration/cluster/cluster_support.hpp"
#include "integration/helpers.hpp"
#include "support/redis_process.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

std::string with_password(const RedisProcess& r, const std::string& password) {
  return "redis://:" + password + "@127.0.0.1:" + std::to_string(r.port());
}

TEST(ClusterAuth, AWrongPasswordIsRefusedAndSaidAndTheRightOneMakesANode) {
  RedisProcess redis;
  const std::string right = "right-pass-7d1f";
  const std::string wrong = "wrong-pass-93ac";
  ASSERT_EQ(redis.command({"CONFIG", "SET", "requirepass", right}), "+OK");

  ServerProcess bad({"--redis", with_password(redis, wrong), "--node-id", "bad"});
  ASSERT_TRUE(
      wait_until([&] { return bad.stderr_text().find("refused AUTH") != std::string::npos; }, 20s))
      << bad.stderr_tail();
  const std::string log = bad.stderr_text();
  EXPECT_NE(log.find("check the password"), std::string::npos) << log;
  EXPECT_NE(redis_state(bad.port()), "up");
  EXPECT_EQ(str_at(health(bad.port()), "status"), "degraded");
  auto c = WsClient::connect(bad.port());
  c->send_json(publish_msg("p", 1));
  EXPECT_TRUE(error_then_alive(*c, "unavailable"));

  ServerProcess good({"--redis", with_password(redis, right), "--node-id", "good"});
  ASSERT_TRUE(node_up(good.port()));
  auto g = WsClient::connect(good.port());
  EXPECT_EQ(int_at(publish(*g, "p", 1), "seq"), 1);

  for (const ServerProcess* s : {&bad, &good}) {
    const std::string surfaces = s->stderr_text() + http_get(s->port(), "/api/health").body +
                                 http_get(s->port(), "/metrics").body +
                                 http_get(s->port(), "/api/cluster").body;
    EXPECT_EQ(surfaces.find(right), std::string::npos);
    EXPECT_EQ(surfaces.find(wrong), std::string::npos);
  }
}

}  // namespace
}  // namespace steadyws::test
