// What every connection of one server shares: config, hub, sessions, metrics, log, and the
// registries of live connections and pending polls that the sweep, the endpoints and the
// drain walk.
//
// Thread-safe. The registries have their own mutexes and are touched only on connect,
// disconnect, poll start/end and by the sweep/endpoints/drain, never per message.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "auth/jwt.hpp"
#include "hub/hub.hpp"
#include "hub/redis/redis_hub.hpp"
#include "server/config.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/metrics_history_sampler.hpp"
#include "server/policy.hpp"
#include "server/session_registry.hpp"
#include "server/tls_context.hpp"

namespace steadyws::server {

class WsSession;
class HttpSession;

// A registry of weak pointers keyed by the raw pointer, for walking live objects.
template <class T>
class LiveSet {
 public:
  void add(const std::shared_ptr<T>& p) {
    const std::lock_guard<std::mutex> g(mu_);
    items_[p.get()] = p;
  }
  void remove(const T* p) {
    const std::lock_guard<std::mutex> g(mu_);
    items_.erase(p);
  }
  std::vector<std::shared_ptr<T>> snapshot() const {
    const std::lock_guard<std::mutex> g(mu_);
    std::vector<std::shared_ptr<T>> out;
    out.reserve(items_.size());
    for (const auto& [k, w] : items_) {
      if (auto p = w.lock())
        out.push_back(std::move(p));
    }
    return out;
  }
  std::size_t size() const {
    const std::lock_guard<std::mutex> g(mu_);
    return items_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const T*, std::weak_ptr<T>> items_;
};

struct ServerState {
  ServerState(const ServerConfig& c, boost::asio::io_context& io, unsigned threads,
              std::uint64_t seed);

  // Reserves a WebSocket slot under --max-connections; false when full (503).
  bool try_reserve_connection() {
    std::size_t n = ws_reserved.load(std::memory_order_relaxed);
    while (n < config.max_connections) {
      if (ws_reserved.compare_exchange_weak(n, n + 1, std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  void release_connection() { ws_reserved.fetch_sub(1, std::memory_order_relaxed); }

  // "c1", "c2", ...: short connection ids for logs and HEALTH.
  std::string next_connection_id() {
    return "c" + std::to_string(connection_counter.fetch_add(1, std::memory_order_relaxed) + 1);
  }

  const ServerConfig config;
  boost::asio::io_context& ioc;
  Log log;
  Metrics metrics;
  // CONTRACT §8: set when the client token is a JWT (--jwt-secret or --jwt-public-key).
  // Before `hub` and `policy`: the policy's JwtAuthenticator refers to it.
  std::optional<auth::JwtVerifier> jwt;
  // The hub: in-memory, or the Redis hub when --redis (then `cluster` is the same object).
  std::shared_ptr<hub::redis::RedisHub> cluster;
  std::shared_ptr<hub::Hub> hub;
  MetricsHistoryLog history;  // 1 s samples for /api/websocket/metrics/history
  SessionRegistry sessions;
  LiveSet<WsSession> connections;  // accepted WebSockets
  LiveSet<HttpSession> http;       // HTTP sessions (closed on drain)
  std::atomic<std::size_t> ws_reserved{0};
  std::atomic<std::uint64_t> connection_counter{0};
  std::atomic<std::size_t> pending_polls{0};
  std::atomic<bool> draining{false};
  std::shared_ptr<TlsContexts> tls;  // null: plain TCP (no --tls-cert)
  // CONTRACT §8: the per-IP HTTP limit, and the policy every request and upgrade asks
  // (policy.hpp). Built from `config` by the constructor.
  IpRateLimiter http_limiter;
  PolicyConfig policy;
};

}  // namespace steadyws::server
