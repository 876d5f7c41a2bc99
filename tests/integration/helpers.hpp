// Shorthands shared by the integration suites: message builders for CONTRACT §2 and a few
// checks that read as the contract does. Each suite starts its own `steadyws serve`
// (ServerProcess) so tests never share state through the server.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/server_process.hpp"
#include "support/ws_test_client.hpp"

namespace steadyws::test {

inline json::object ping_msg(json::value timestamp) {
  return {{"type", "ping"}, {"timestamp", std::move(timestamp)}};
}
inline json::object subscribe_msg(const std::string& channel) {
  return {{"type", "subscribe"}, {"channel", channel}};
}
inline json::object resume_msg(const std::string& channel, std::int64_t since,
                               std::optional<std::string> epoch) {
  json::object o{{"type", "subscribe"}, {"channel", channel}, {"since", since}};
  if (epoch)
    o["epoch"] = *epoch;
  return o;
}
inline json::object unsubscribe_msg(const std::string& channel) {
  return {{"type", "unsubscribe"}, {"channel", channel}};
}
inline json::object publish_msg(const std::string& channel, json::value data,
                                std::optional<std::string> id = std::nullopt) {
  json::object o{{"type", "publish"}, {"channel", channel}, {"data", std::move(data)}};
  if (id)
    o["id"] = *id;
  return o;
}

// Subscribes and returns the `subscribed` answer (throws if another frame comes instead).
inline json::object subscribe(WsClient& c, const std::string& channel) {
  return c.request(subscribe_msg(channel), "subscribed");
}

// Publishes and returns the `ack`.
inline json::object publish(WsClient& c, const std::string& channel, json::value data,
                            std::optional<std::string> id = std::nullopt) {
  return c.request(publish_msg(channel, std::move(data), std::move(id)), "ack");
}

// The frames of type `message` among `frames`, as objects.
inline std::vector<json::object> messages_of(const std::vector<Frame>& frames) {
  std::vector<json::object> out;
  for (const auto& f : frames)
    if (f.type() == "message")
      out.push_back(f.json());
  return out;
}

// Every `message` frame the client has been sent so far (the app-level pong is the barrier).
inline std::vector<json::object> drain_messages(WsClient& c) {
  std::string why;
  auto frames = c.frames_until_pong(kDeadline, &why);
  EXPECT_TRUE(frames.has_value()) << "no pong: " << why;
  return frames ? messages_of(*frames) : std::vector<json::object>{};
}

inline std::string dump(const json::value& v) {
  return json::serialize(v);
}

// The next frame must be an `error` with this code; the connection must then still answer.
inline ::testing::AssertionResult error_then_alive(WsClient& c, const std::string& code) {
  Frame f = c.next_of_type("error");
  if (f.type() != "error")
    return ::testing::AssertionFailure() << "expected error " << code << ", got " << f.describe();
  const auto o = f.json();
  if (str_at(o, "code") != code)
    return ::testing::AssertionFailure() << "expected code " << code << ", got " << f.data;
  const auto* m = o.if_contains("message");
  if (!m || !m->is_string())
    return ::testing::AssertionFailure() << "error without a string message: " << f.data;
  std::string why;
  if (!c.alive(kDeadline, &why))
    return ::testing::AssertionFailure() << "connection not usable after the error: " << why;
  return ::testing::AssertionSuccess();
}

// A fresh client can connect, get its welcome and a pong.
inline ::testing::AssertionResult server_serves(std::uint16_t port) {
  try {
    auto c = WsClient::connect(port);
    std::string why;
    if (!c->alive(kDeadline, &why))
      return ::testing::AssertionFailure() << "new client got no pong: " << why;
    const auto h = http_get(port, "/api/health");
    if (h.status != 200)
      return ::testing::AssertionFailure() << "/api/health: " << h.describe();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace steadyws::test
