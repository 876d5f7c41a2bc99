// --channel-ttl against the real binary: a channel nobody subscribes to or uses is removed
// (with its history and epoch; /metrics counts it), a resume into it afterwards is answered
// recovered:false with the new epoch, never a silent gap; a channel with a subscriber stays,
// whatever the TTL; 0 keeps every channel.
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "integration/client/process_support.hpp"
#include "integration/helpers.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

// The value of an unlabelled sample in /metrics, or nullopt.
std::optional<double> metric(std::uint16_t port, const std::string& name) {
  const std::string body = http_get(port, "/metrics").body;
  const std::string key = "\n" + name + " ";
  const auto at = body.find(key);
  if (at == std::string::npos)
    return std::nullopt;
  return std::stod(body.substr(at + key.size()));
}

TEST(ServeChannelTtl, AnIdleChannelIsRemovedAndAResumeIntoItIsNotRecovered) {
  ServerProcess server({"--channel-ttl", "200"});
  std::string epoch;
  {
    auto c = WsClient::connect(server.port());
    epoch = str_at(subscribe(*c, "tmp.a"), "epoch");
    publish(*c, "tmp.a", 1);
    publish(*c, "tmp.a", 2);
    EXPECT_EQ(metric(server.port(), "steadyws_channels"), 1.0);
    c->close();
    c->wait_closed();
  }
  // Unsubscribed by the close: removed after 200-400 ms (plus the sweep's own timing).
  EXPECT_TRUE(wait_until([&] { return metric(server.port(), "steadyws_channels") == 0.0; }))
      << http_get(server.port(), "/metrics").body;
  EXPECT_EQ(metric(server.port(), "steadyws_channels_expired_total"), 1.0);
  // The sweep logs after it returns: wait for the line.
  EXPECT_TRUE(wait_until([&] {
    return server.stderr_text().find("channels expired=1") != std::string::npos;
  })) << server.stderr_tail();

  auto late = WsClient::connect(server.port());
  const auto sub = late->request(resume_msg("tmp.a", 2, epoch), "subscribed");
  EXPECT_EQ(sub.at("recovered"), false) << dump(sub);
  EXPECT_NE(str_at(sub, "epoch"), epoch) << "a new channel has a new epoch";
  EXPECT_EQ(int_at(sub, "seq"), 0);
  EXPECT_TRUE(drain_messages(*late).empty());
  // The new channel works as any other.
  publish(*late, "tmp.a", 3);
  const auto msgs = drain_messages(*late);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(int_at(msgs[0], "seq"), 1);
}

TEST(ServeChannelTtl, AChannelWithASubscriberStaysAndResumesAcrossSweeps) {
  ServerProcess server({"--channel-ttl", "100"});
  auto sub = WsClient::connect(server.port());
  const std::string epoch = str_at(subscribe(*sub, "kept"), "epoch");
  auto pub = WsClient::connect(server.port());
  publish(*pub, "kept", 1);
  // An unused channel beside it goes; that is how we know several sweeps ran.
  http_post(server.port(), "/api/publish", R"({"channel":"other","data":1})");
  EXPECT_TRUE(wait_until(
      [&] { return metric(server.port(), "steadyws_channels_expired_total").value_or(0) >= 1; }));
  EXPECT_EQ(metric(server.port(), "steadyws_channels"), 1.0);
  publish(*pub, "kept", 2);
  const auto msgs = drain_messages(*sub);
  ASSERT_EQ(msgs.size(), 2u);
  auto late = WsClient::connect(server.port());
  const auto r = late->request(resume_msg("kept", 0, epoch), "subscribed");
  EXPECT_EQ(r.at("recovered"), true) << dump(r);
  EXPECT_EQ(drain_messages(*late).size(), 2u);
}

TEST(ServeChannelTtl, ZeroKeepsEveryChannel) {
  ServerProcess server({"--channel-ttl", "0", "--cleanup-interval", "50"});
  http_post(server.port(), "/api/publish", R"({"channel":"forever","data":1})");
  // Nothing to wait for but time: other sweeps (cleanup, sessions) run meanwhile.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(metric(server.port(), "steadyws_channels"), 1.0);
  EXPECT_EQ(metric(server.port(), "steadyws_channels_expired_total"), 0.0);
}

TEST(ServeChannelTtl, UnsubscribingFromUnknownChannelsCreatesNone) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  for (int i = 0; i < 50; ++i)
    c->request(unsubscribe_msg("never." + std::to_string(i)), "unsubscribed");
  EXPECT_EQ(metric(server.port(), "steadyws_channels"), 0.0);
}

TEST(ServeChannelTtl, ANegativeOrNonNumericTtlIsAClearErrorAndNonZeroExit) {
  for (const char* bad : {"-5", "soon"}) {
    CliProcess serve({"serve", "--port", "0", "--channel-ttl", bad});
    const auto status = serve.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << bad;
    EXPECT_TRUE(status->exited) << bad;
    EXPECT_NE(status->code, 0) << bad;
    const std::string err = serve.stderr_text();
    EXPECT_NE(err.find("--channel-ttl"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace steadyws::test
