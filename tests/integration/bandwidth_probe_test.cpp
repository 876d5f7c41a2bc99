// The server's bandwidth probes (CONTRACT §10; docs/operations.md --bandwidth-probes): a
// protocol ping with payload "b<id>" to a connection that data flows to, at most one a
// second; its pong gives the connection's bandwidth estimate. --bandwidth-probes false sends
// none (so subscribers send nothing back) and the estimate stays 0. A hand-made subscriber
// sees every frame the server sends.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

struct Seen {
  int probes = 0;        // pings whose payload is "b<id>", each answered
  int messages = 0;      // text frames of type message
  double estimate = -1;  // the subscriber's connectionDetails bandwidth at the end
};

// A raw subscriber of "bw" gets `rounds` bursts of 24 KiB (above the 16 KiB a probe needs),
// 400 ms apart, so that a probe would be due at least twice; it answers every ping.
Seen run(const std::vector<std::string>& args, int rounds) {
  ServerProcess server(args);
  RawTcp peer(server.port());
  EXPECT_EQ(peer.upgrade().status, 101u);
  EXPECT_TRUE(peer.write_frame(0x1, R"({"type":"subscribe","channel":"bw"})"));
  Seen seen;
  bool subscribed = false;
  auto take = [&](std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      const RawFrame f = peer.read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             end - std::chrono::steady_clock::now()) +
                                         1ms);
      if (f.kind != RawFrame::Kind::frame)
        return;
      if (f.opcode == 0x9) {
        if (!f.payload.empty() && f.payload[0] == 'b')
          ++seen.probes;
        EXPECT_TRUE(peer.write_frame(0xA, f.payload));
      } else if (f.opcode == 0x1) {
        subscribed = subscribed || f.payload.find("\"subscribed\"") != std::string::npos;
        seen.messages += f.payload.find("\"type\":\"message\"") != std::string::npos ? 1 : 0;
      }
    }
  };
  take(500ms);
  EXPECT_TRUE(subscribed);
  auto pub = WsClient::connect(server.port());
  const std::string kb(1024, 'x');
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < 24; ++i)
      pub->send_json(publish_msg("bw", json::value(kb)));
    take(400ms);
  }
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (seen.messages < rounds * 24 && std::chrono::steady_clock::now() < end)
    take(100ms);
  const auto m = http_get(server.port(), "/api/websocket/metrics").object();
  double best = 0;
  for (const auto& d : m.at("connectionDetails").as_array())
    best = std::max(
        best, d.as_object().at("bandwidth").as_object().at("bytesPerSecond").to_number<double>());
  seen.estimate = best;
  return seen;
}

TEST(BandwidthProbes, OnByDefaultABusySubscriberIsProbedAndGetsAnEstimate) {
  const Seen s = run({"--rate-limit", "0"}, 8);
  EXPECT_EQ(s.messages, 8 * 24);
  EXPECT_GE(s.probes, 2) << "at most one a second while data flows, so two in 3.5 s";
  EXPECT_GT(s.estimate, 0);
}

TEST(BandwidthProbesOff, NoProbeIsSentAndTheEstimateStaysZero) {
  const Seen s = run({"--rate-limit", "0", "--bandwidth-probes", "false"}, 8);
  EXPECT_EQ(s.messages, 8 * 24);
  EXPECT_EQ(s.probes, 0);
  EXPECT_EQ(s.estimate, 0);
}

}  // namespace
}  // namespace steadyws::test
