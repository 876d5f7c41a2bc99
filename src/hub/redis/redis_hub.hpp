// The Redis-backed hub (CONTRACT §5): makes the server one node of a cluster whose only shared
// state is one Redis. Same interface as the memory hub (hub/hub.hpp), asynchronous for real.
//
// What lives where (docs/cluster.md, docs/decisions/0003-redis-hub.md):
//   - In Redis, per channel C (hash tag {C}, so the same keys work on Redis Cluster):
//     steadyws:{C}:seq (INCR), steadyws:{C}:stream (the history, a Stream of the serialized
//     `message` frames, exact MAXLEN --history, entry id "<seq>-1"), steadyws:{C}:ids (publish
//     dedup: id -> seq, evicted with the stream), steadyws:{C}:epoch (SETNX of a random value
//     on first use: a Redis that lost its data gives new epochs). A publish is one Lua script
//     (EVALSHA): dedup, INCR, XADD, record the id, PUBLISH "<seq> <epoch> <frame>" on
//     steadyws:{C}:msg for the fan-out. With a channel TTL, every script that uses C renews
//     its keys' expiry (PEXPIRE).
//   - In Redis, for --max-channels: steadyws:channels, a sorted set of the channel names in
//     use, each scored with the time it stops counting (its own slot: one key per script).
//   - On the node: one SUBSCRIBE per channel with local subscribers, on a dedicated pub/sub
//     connection, and per channel the last seq delivered locally (`head`): a frame is handed
//     to every local subscriber once, in seq order, whichever of the live path and a catch-up
//     read brings it first.
//
// Two connections per node (commands, pub/sub), pipelined, driven by the server's io_context
// through our hiredis adapter; everything of the hub runs on one strand. Redis down, paused or
// slow: an operation not answered within `timeout` completes with HubStatus::unavailable; the
// node reconnects with backoff, resubscribes and catches every local subscriber up (or tells
// it recovered:false through Subscriber::reset when the data is gone).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "hub/hub.hpp"

namespace steadyws::hub::redis {

struct RedisUrl {
  std::string host;
  std::uint16_t port = 6379;
  std::string password;  // empty: no AUTH
  unsigned db = 0;
};

// Parses redis://[:PASSWORD@]HOST:PORT[/DB] (the port may be left out: 6379). On failure the
// string says what is wrong and names --redis.
std::variant<RedisUrl, std::string> parse_redis_url(std::string_view url);

// A node id: 1 to 32 characters of A-Z a-z 0-9 _ . -
bool is_valid_node_id(std::string_view id);

// --advertise-url: ws, wss, http or https://HOST[:PORT][/PATH], HOST a name, an IPv4 address
// or a bracketed IPv6 one; no user info, query or fragment (it is shown on /api/cluster), at
// most 512 characters. Empty when valid, else what is wrong, naming --advertise-url.
std::string check_advertise_url(std::string_view url);

enum class Severity { info, warn, error };

struct RedisHubConfig {
  RedisUrl url;
  std::string node_id;
  std::size_t history = 1000;               // --history: MAXLEN of each channel's stream
  std::chrono::milliseconds timeout{5000};  // CONTRACT §5: stored within 5 s or unavailable
  // --channel-ttl: a channel's keys expire this long after its last use, or after its last
  // subscriber on any node left (nodes renew the channels they serve); 0 = never.
  std::chrono::milliseconds channel_ttl{0};
  // --max-channels, across the cluster (the index steadyws:channels); 0 = no limit.
  std::size_t max_channels = 0;
  std::function<void(Severity, const std::string&)> log;  // one line each; may be empty
  std::function<std::size_t()> connections;  // this node's WebSockets, for its heartbeat
  // A session this node may hold was resumed on another node (the stored record names that
  // node now): close its connection here. Runs on the hub's strand; may be empty.
  std::function<void(const std::string& session_id)> session_taken;
};

// A node of the cluster as its heartbeat says (GET /api/cluster).
struct NodeInfo {
  std::string node_id;
  std::uint64_t connections = 0;
  std::int64_t started_at_ms = 0;
  std::int64_t last_seen_at_ms = 0;
  std::string address;  // the URL its clients use; empty from a node that writes none
};

struct ClusterStats {
  bool redis_up = false;
  std::size_t nodes = 0;       // alive in the last 15 s, this one included when up
  std::uint64_t commands = 0;  // replies received
  double rtt_ms_sum = 0;       // over `commands`
  double rtt_ms_last = 0;
  std::uint64_t errors = 0;        // error replies, timeouts and lost connections
  std::uint64_t reconnects = 0;    // connections re-established after a loss
  bool duplicate_node_id = false;  // another live node holds our --node-id
};

// A session as Redis keeps it (CONTRACT §5: `?session=&resume=` resumes on any node): the
// SHA-256 of its resume token (never the token) and its subscriptions.
struct StoredSession {
  std::string token_sha256;
  std::vector<std::string> subscriptions;
  std::string node;  // the node that wrote it last
};

class RedisHub : public Hub {
 public:
  // Sessions in Redis (steadyws:session:{ID} and :subs, expiring after `ttl`), written by the
  // node that holds the session's connection; fire and forget (a lost write costs a resume
  // elsewhere, never a wrong one: the token's hash decides). `take_over`: this node now holds
  // it (a resume); false (a renewal) writes only a record that is missing or this node's.
  virtual void save_session(const std::string& id, const std::string& token_sha256,
                            const std::vector<std::string>& subscriptions,
                            std::chrono::milliseconds ttl, bool take_over) = 0;
  virtual void session_subscription(const std::string& id, const std::string& channel,
                                    bool subscribed, std::chrono::milliseconds ttl) = 0;
  // Renews the session's expiry to `ttl`, only while this node is the one that saved it last.
  virtual void touch_session(const std::string& id, std::chrono::milliseconds ttl) = 0;
  // This node took session `id` over from `from_node`, which may still hold a connection of
  // it: tells that node (pub/sub steadyws:ctl:NODE), which closes it once the stored record
  // names another node. Fire and forget.
  virtual void announce_takeover(const std::string& id, const std::string& from_node) = 0;
  // The stored session, or nullopt when Redis has none (or is unavailable); `done` runs on
  // the hub's strand.
  virtual void load_session(const std::string& id,
                            std::function<void(std::optional<StoredSession>)> done) = 0;

  // Connects, and keeps reconnecting until stop(). Call once.
  virtual void start() = 0;
  // Closes the connections and its timers (the drain); pending operations complete
  // unavailable. Idempotent.
  virtual void stop() = 0;
  virtual bool is_up() const = 0;
  virtual const std::string& node_id() const = 0;
  // The URL clients of this node use (--advertise-url, or the address the listener bound),
  // written in its heartbeats from the next one on. The server sets it once it has bound,
  // before start(); may be called from any thread.
  virtual void set_address(std::string address) = 0;
  // Live nodes from the last heartbeat round (every second), sorted by node id.
  virtual std::vector<NodeInfo> nodes() const = 0;
  virtual ClusterStats cluster_stats() const = 0;
};

// REQUIRES: config.node_id valid, config.url parsed by parse_redis_url.
std::shared_ptr<RedisHub> make_redis_hub(boost::asio::io_context& ioc, RedisHubConfig config);

}  // namespace steadyws::hub::redis
