#include "server/session_registry.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <utility>

namespace steadyws::server {

void csprng_bytes(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    throw std::runtime_error("the system's random source failed (OpenSSL RAND_bytes)");
}

namespace {
std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

bool token_matches(const std::string& stored, std::optional<std::string_view> given) {
  if (!given || given->size() != stored.size() || stored.empty())
    return false;
  return CRYPTO_memcmp(stored.data(), given->data(), stored.size()) == 0;
}
}  // namespace

std::string sha256_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 failed");
  return to_hex(md, n);
}

std::string_view to_string(Transport t) {
  return t == Transport::polling ? "polling" : "websocket";
}

SessionRegistry::SessionRegistry(RandomBytes random) : random_(std::move(random)) {}

std::string SessionRegistry::random_hex(std::size_t bytes) {
  unsigned char buf[32];
  if (bytes > sizeof buf)
    throw std::logic_error("random_hex: at most 32 bytes");
  random_(buf, bytes);
  return to_hex(buf, bytes);
}

SessionRegistry::Attach SessionRegistry::attach(std::optional<std::string_view> requested,
                                                std::optional<std::string_view> resume_token,
                                                std::weak_ptr<WsSession> connection, TimePoint now,
                                                WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  Attach a;
  auto it = requested ? sessions_.find(*requested) : sessions_.end();
  if (it != sessions_.end() && !token_matches(it->second.token, resume_token)) {
    a.refused = true;  // someone else's session: leave it alone
    it = sessions_.end();
  }
  if (it == sessions_.end()) {
    std::string id = random_hex(kIdBytes);
    while (sessions_.count(id) != 0)
      id = random_hex(kIdBytes);
    Session s;
    s.id = id;
    s.token = random_hex(kTokenBytes);
    s.token_sha256 = sha256_hex(s.token);
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
  a.resume_token = s.token;
  a.token_sha256 = s.token_sha256;
  a.generation = s.generation;
  return a;
}

void SessionRegistry::import(std::string_view id, std::string_view token,
                             const std::vector<std::string>& subscriptions, TimePoint now,
                             WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    if (!it->second.connected) {
      it->second.subscriptions.clear();
      it->second.subscriptions.insert(subscriptions.begin(), subscriptions.end());
    }
    return;
  }
  Session s;
  s.id = std::string(id);
  s.token = std::string(token);
  s.token_sha256 = sha256_hex(token);
  s.subscriptions.insert(subscriptions.begin(), subscriptions.end());
  s.created_at = wall_now;
  s.last_seen_at = wall_now;
  s.idle_since = now;
  sessions_.emplace(s.id, std::move(s));
}

std::vector<SessionRegistry::Stored> SessionRegistry::connected_to_store() const {
  std::vector<Stored> out;
  const std::lock_guard<std::mutex> g(mu_);
  for (const auto& [id, s] : sessions_) {
    if (!s.connected || s.transport != Transport::websocket)
      continue;
    out.push_back({id, s.token_sha256, {s.subscriptions.begin(), s.subscriptions.end()}});
  }
  return out;
}

bool SessionRegistry::connected(std::string_view id) const {
  const std::lock_guard<std::mutex> g(mu_);
  const auto it = sessions_.find(id);
  return it != sessions_.end() && it->second.connected;
}

bool SessionRegistry::detach(std::string_view id, std::uint64_t generation, TimePoint now,
                             WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.generation != generation)
    return false;
  it->second.connected = false;
  it->second.connection.reset();
  it->second.idle_since = now;
  it->second.last_seen_at = wall_now;
  return true;
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

bool SessionRegistry::polled(std::string_view id, std::optional<std::string_view> resume_token,
                             const std::vector<std::string>& channels, TimePoint now,
                             WallTime wall_now) {
  const std::lock_guard<std::mutex> g(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !token_matches(it->second.token, resume_token))
    return false;
  Session& s = it->second;
  if (s.connected)
    return true;  // a WebSocket owns it; a poll does not take it over
  s.transport = Transport::polling;
  s.subscriptions.clear();
  s.subscriptions.insert(channels.begin(), channels.end());
  s.last_seen_at = wall_now;
  s.idle_since = now;
  return true;
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
