// Sessions: what outlives a connection. A session has an id, a resume token, the channels it
// is subscribed to, and at most one connection at a time. `?session=ID&resume=TOKEN` on /ws
// attaches a new connection to an existing session (its subscriptions are restored); a wrong
// or missing token gets a new session and leaves the named one, its connection and its
// subscriptions alone (CONTRACT §8). A session with no connection is kept for
// --session-grace and then dropped. Long polls with `?session=ID&resume=TOKEN` of a known
// session show up with transport "polling".
//
// Ids (128 bits) and resume tokens (128 bits) come from OpenSSL's CSPRNG (RAND_bytes), as hex.
// The token is compared in constant time and never leaves the registry except in Attach (for
// the welcome frame): list() has no token, so no endpoint can show one.
//
// Not on the message path: touched on connect, disconnect, subscribe and unsubscribe, by the
// sweep and by /api/sessions. Thread-safe: one mutex guards the map.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws::server {

class WsSession;

enum class Transport { websocket, polling };
std::string_view to_string(Transport t);

struct SessionInfo {
  std::string id;
  bool connected = false;
  Transport transport = Transport::websocket;
  std::vector<std::string> subscriptions;  // sorted
  WallTime created_at{};
  WallTime last_seen_at{};
  std::string user;  // the JWT's sub (CONTRACT §8); empty without one
};

// Fills a buffer with random bytes; throws std::runtime_error when it cannot.
using RandomBytes = std::function<void(unsigned char* out, std::size_t n)>;
// OpenSSL's RAND_bytes.
void csprng_bytes(unsigned char* out, std::size_t n);
// SHA-256 of `s` as hex (OpenSSL): what Redis keeps of a resume token in a cluster.
std::string sha256_hex(std::string_view s);

class SessionRegistry {
 public:
  static constexpr std::size_t kIdBytes = 16;     // 128 bits: 32 hex characters
  static constexpr std::size_t kTokenBytes = 16;  // 128 bits: 32 hex characters

  // `random` makes ids and tokens (tests pass a deterministic one).
  explicit SessionRegistry(RandomBytes random = csprng_bytes);

  struct Attach {
    std::string id;
    std::string resume_token;  // the session's token, for the welcome frame only
    std::string token_sha256;  // what Redis may keep of it (a cluster)
    bool resumed = false;
    bool refused = false;  // a resume was asked for a known session with a wrong token
    std::vector<std::string> subscriptions;  // to restore (resumed only)
    std::weak_ptr<WsSession> previous;       // a connection still attached: close it
    std::uint64_t generation = 0;            // pass to detach()
  };

  // Attaches `connection` to session `requested` when it exists and `resume_token` is its
  // token (resumed), else to a new session with a fresh id and token. A connection the
  // resumed session still had is returned in `previous`: the client has given up on it (its
  // reconnect got here first), so the caller closes it.
  Attach attach(std::optional<std::string_view> requested,
                std::optional<std::string_view> resume_token, std::weak_ptr<WsSession> connection,
                TimePoint now, WallTime wall_now);

  // A session another node held (CONTRACT §5, from Redis), known here from now on with the
  // token the client proved: the next attach() with it resumes it. Known here and not
  // connected: it takes `subscriptions` (the other node's are newer). Connected: no-op.
  void import(std::string_view id, std::string_view token,
              const std::vector<std::string>& subscriptions, TimePoint now, WallTime wall_now);

  // The connection of `generation` is gone; the session waits out its grace from `now`.
  // A newer connection's session is left alone. Returns whether it detached.
  bool detach(std::string_view id, std::uint64_t generation, TimePoint now, WallTime wall_now);

  // What a cluster node renews in Redis for its connected sessions (CONTRACT §5): the id, the
  // SHA-256 of the token (never the token) and the subscriptions.
  struct Stored {
    std::string id;
    std::string token_sha256;
    std::vector<std::string> subscriptions;
  };
  std::vector<Stored> connected_to_store() const;
  bool connected(std::string_view id) const;

  void subscribed(std::string_view id, std::string_view channel);
  void unsubscribed(std::string_view id, std::string_view channel);
  // The user (JWT sub) of session `id`, shown in /api/sessions. No-op for an unknown id.
  void set_user(std::string_view id, std::string_view user);

  // A long poll by session `id` proving `resume_token`: the session (kept for the grace
  // period after its last poll) shows the poll's channels. An unknown id or a wrong token
  // changes nothing (a poll cannot create or take over a session). Returns whether it counted.
  bool polled(std::string_view id, std::optional<std::string_view> resume_token,
              const std::vector<std::string>& channels, TimePoint now, WallTime wall_now);

  // Drops sessions that have had no connection for `grace` or longer. Returns how many.
  std::size_t expire(TimePoint now, Duration grace);

  // The connection attached to session `id`, if any (for /api/admin/disconnect).
  std::weak_ptr<WsSession> connection_of(std::string_view id) const;
  bool contains(std::string_view id) const;

  std::vector<SessionInfo> list() const;
  std::size_t size() const;

 private:
  struct Session {
    std::string id;
    std::string token;
    std::string token_sha256;  // made once, with the token
    std::set<std::string, std::less<>> subscriptions;
    WallTime created_at{};
    WallTime last_seen_at{};
    TimePoint idle_since{};  // when it lost its connection (or last polled)
    Transport transport = Transport::websocket;
    bool connected = false;
    std::uint64_t generation = 0;
    std::weak_ptr<WsSession> connection;
    std::string user;
  };

  std::string random_hex(std::size_t bytes);

  mutable std::mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_;
  RandomBytes random_;
  std::uint64_t next_generation_ = 1;
};

}  // namespace steadyws::server
