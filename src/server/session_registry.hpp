// Sessions: what outlives a connection. A session has an id, the channels it is subscribed
// to, and at most one connection at a time. `?session=ID` on /ws attaches a new connection to
// an existing session (its subscriptions are restored); a session with no connection is kept
// for --session-grace and then dropped. Long polls with `?session=ID` show up as sessions with
// transport "polling".
//
// Not on the message path: touched on connect, disconnect, subscribe and unsubscribe, by the
// sweep and by /api/sessions. Thread-safe: one mutex guards the map.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
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

class SessionRegistry {
 public:
  // `seed` feeds the session id generator (ids are 128 random bits in hex).
  explicit SessionRegistry(std::uint64_t seed);

  struct Attach {
    std::string id;
    bool resumed = false;
    std::vector<std::string> subscriptions;  // to restore (resumed only)
    std::weak_ptr<WsSession> previous;       // a connection still attached: close it
    std::uint64_t generation = 0;            // pass to detach()
  };

  // Attaches `connection` to session `requested` when it exists (resumed), else to a new
  // session with a fresh id. A connection the session still had is returned in `previous`:
  // the client has given up on it (its reconnect got here first), so the caller closes it.
  Attach attach(std::optional<std::string_view> requested, std::weak_ptr<WsSession> connection,
                TimePoint now, WallTime wall_now);

  // The connection of `generation` is gone; the session waits out its grace from `now`.
  // A newer connection's session is left alone.
  void detach(std::string_view id, std::uint64_t generation, TimePoint now, WallTime wall_now);

  void subscribed(std::string_view id, std::string_view channel);
  void unsubscribed(std::string_view id, std::string_view channel);
  // The user (JWT sub) of session `id`, shown in /api/sessions. No-op for an unknown id.
  void set_user(std::string_view id, std::string_view user);

  // A long poll by `id` (created if unknown, kept for the grace period after its last poll).
  void polled(std::string_view id, const std::vector<std::string>& channels, TimePoint now,
              WallTime wall_now);

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

  std::string new_id();

  mutable std::mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_;
  std::mt19937_64 rng_;
  std::uint64_t next_generation_ = 1;
};

}  // namespace steadyws::server
