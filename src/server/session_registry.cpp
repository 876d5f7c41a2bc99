#include "server/session_registry.hpp"

#include <cstdio>
#include <utility>

namespace steadyws::server {

std::string_view to_string(Transport t) {
  return t == Transport::polling ? "polling" : "websocket";
}

SessionRegistry::SessionRegistry(std::uint64_t seed) : rng_(seed) {}

std::string SessionRegistry::new_id() {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return buf;
}

SessionRegistry::Attach SessionRegistry::attach(std::optional<std::string_view> requested,
                                                std::weak_ptr<WsSession> connection, TimePoint now,
                                                WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  Attach a;
  auto it = requested ? sessions_.find(*requested) : sessions_.end();
  if (it == sessions_.end()) {
    std::string id = new_id();
    while (sessions_.count(id) != 0)
      id = new_id();
    Session s;
    s.id = id;
    s.created_at = wall_now;
    it = sessions_.emplace(id, std::move(s)).first;
  } else {
    a.resumed = true;
    a.subscriptions.assign(it->second.subscriptions.begin(), it->second.subscriptions.end());
    if (it->second.connected)
      a.previous = it->second.connection;
  }
  Session& s = it->second;
  s.connected = true;
  s.transport = Transport::websocket;
  s.connection = std::move(connection);
  s.generation = next_generation_++;
  s.last_seen_at = wall_now;
  s.idle_since = now;
  a.id = s.id;
  a.generation = s.generation;
  return a;
}

void SessionRegistry::detach(std::string_view id, std::uint64_t generation, TimePoint now,
                             WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.generation != generation)
    return;
  it->second.connected = false;
  it->second.connection.reset();
  it->second.idle_since = now;
  it->second.last_seen_at = wall_now;
}

void SessionRegistry::set_user(std::string_view id, std::string_view user) {
  const std::lock_guard<std::mutex> g(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end())
    it->second.user = std::string(user);
}

void SessionRegistry::subscribed(std::string_view id, std::string_view channel) {
  const std::lock_guard<std::mutex> g(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end())
    it->second.subscriptions.emplace(channel);
}

void SessionRegistry::unsubscribed(std::string_view id, std::string_view channel) {
  const std::lock_guard<std::mutex> g(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    if (auto c = it->second.subscriptions.find(channel); c != it->second.subscriptions.end())
      it->second.subscriptions.erase(c);
  }
}

void SessionRegistry::polled(std::string_view id, const std::vector<std::string>& channels,
                             TimePoint now, WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    Session s;
    s.id = std::string(id);
    s.created_at = wall_now;
    it = sessions_.emplace(s.id, std::move(s)).first;
  }
  Session& s = it->second;
  if (s.connected)
    return;  // a WebSocket owns it; a poll does not take it over
  s.transport = Transport::polling;
  s.subscriptions.clear();
  s.subscriptions.insert(channels.begin(), channels.end());
  s.last_seen_at = wall_now;
  s.idle_since = now;
}

std::size_t SessionRegistry::expire(TimePoint now, Duration grace) {
  const std::lock_guard<std::mutex> g(mu_);
  std::size_t n = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (!it->second.connected && now - it->second.idle_since >= grace) {
      it = sessions_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::weak_ptr<WsSession> SessionRegistry::connection_of(std::string_view id) const {
  const std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? std::weak_ptr<WsSession>() : it->second.connection;
}

bool SessionRegistry::contains(std::string_view id) const {
  const std::lock_guard<std::mutex> g(mu_);
  return sessions_.find(id) != sessions_.end();
}

std::vector<SessionInfo> SessionRegistry::list() const {
  const std::lock_guard<std::mutex> g(mu_);
  std::vector<SessionInfo> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) {
    out.push_back({s.id, s.connected, s.transport,
                   std::vector<std::string>(s.subscriptions.begin(), s.subscriptions.end()),
                   s.created_at, s.last_seen_at, s.user});
  }
  return out;
}

std::size_t SessionRegistry::size() const {
  const std::lock_guard<std::mutex> g(mu_);
  return sessions_.size();
}

}  // namespace steadyws::server
