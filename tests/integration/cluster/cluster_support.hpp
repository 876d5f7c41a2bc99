// What the cluster tests share: a node's arguments on a RedisProcess, and what its
// /api/health says of Redis.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/redis_process.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {

using namespace std::chrono_literals;

inline std::vector<std::string> node_args(const RedisProcess& r, const std::string& id,
                                          std::vector<std::string> more = {}) {
  std::vector<std::string> a{"--redis", r.url(), "--node-id", id};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

inline std::uint64_t u64_at(const json::object& o, const char* k) {
  return static_cast<std::uint64_t>(int_at(o, k).value_or(0));
}

inline json::object health(std::uint16_t port) {
  return http_get(port, "/api/health").object();
}

inline std::string redis_state(std::uint16_t port) {
  const auto h = health(port);
  const auto* c = h.if_contains("cluster");
  if (!c || !c->is_object())
    return "";
  return str_at(c->as_object(), "redis");
}

// Waits until the node says Redis is up (its connection and scripts are ready).
inline ::testing::AssertionResult node_up(std::uint16_t port, std::chrono::milliseconds d = 20s) {
  if (wait_until([&] { return redis_state(port) == "up"; }, d))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "node never said redis up: " << dump(health(port));
}

}  // namespace steadyws::test
