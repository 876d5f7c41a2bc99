// The messages of the wire protocol (CONTRACT §2) as plain structs, one per `type`.
//
// Field names follow the wire in snake_case; times on the wire are Unix milliseconds. The
// codec (codec.hpp) turns bytes into these and these into bytes; nothing here does I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

#include "steadyws/error.hpp"

namespace steadyws::protocol {

inline constexpr std::size_t kMaxChannelLength = 128;  // CONTRACT §2: 1-128 characters
inline constexpr std::size_t kMaxIdLength = 64;        // CONTRACT §2: id <= 64 chars
inline constexpr std::size_t kDefaultMaxMessageBytes = 1 << 20;

// True when `name` is 1-128 characters of A-Z a-z 0-9 _ . : - (CONTRACT §2).
bool is_valid_channel(std::string_view name) noexcept;

// ---- client -> server -------------------------------------------------------------------

// CONTRACT §2: T is echoed unchanged, whatever JSON number it is, so it is kept as a value.
struct Ping {
  boost::json::value timestamp;
};

struct Subscribe {
  std::string channel;
  std::optional<std::uint64_t> since;  // resume after this seq
  std::optional<std::string> epoch;    // the epoch `since` belongs to
};

struct Unsubscribe {
  std::string channel;
};

struct Publish {
  std::string channel;
  boost::json::value data;
  std::optional<std::string> id;  // <= 64 chars; dedup key while in history
};

// CONTRACT §8: replaces the connection's JWT (answered by `refreshed` or `unauthorized`).
struct Refresh {
  std::string token;
};

using ClientMessage = std::variant<Ping, Subscribe, Unsubscribe, Publish, Refresh>;

// ---- server -> client -------------------------------------------------------------------

struct Welcome {
  std::string session_id;
  bool resumed = false;
  std::int64_t heartbeat_interval_ms = 30000;
  std::int64_t heartbeat_timeout_ms = 10000;
  std::int64_t server_time_ms = 0;
  // CONTRACT §8: the secret that resumes this session (?session=ID&resume=TOKEN); empty from
  // a v1 server, and then not serialized. Last, so positional initializers stay valid.
  std::string resume_token = {};
};

struct Pong {
  boost::json::value timestamp;  // exactly what the ping carried
  std::int64_t server_time_ms = 0;
};

struct Subscribed {
  std::string channel;
  std::uint64_t seq = 0;  // the channel's last seq at the moment of subscribing
  std::string epoch;
  bool recovered = false;
};

struct Unsubscribed {
  std::string channel;
};

struct Ack {
  std::string id;
  std::string channel;
  std::uint64_t seq = 0;
};

struct Message {
  std::string channel;
  std::uint64_t seq = 0;
  std::string id;
  boost::json::value data;
  std::int64_t timestamp_ms = 0;
};

struct Error {
  errc code = errc::internal;
  std::string message;
};

// CONTRACT §8: the answer to an accepted `refresh`: the new token's expiry.
struct Refreshed {
  std::int64_t exp_ms = 0;  // the token's `exp`, Unix ms
};

using ServerMessage =
    std::variant<Welcome, Pong, Subscribed, Unsubscribed, Ack, Message, Error, Refreshed>;

}  // namespace steadyws::protocol
