// The Redis hub (redis_hub.hpp): hiredis' async API on the server's io_context.
//
// Representation (all of it touched only on strand_):
// - cmd_ and sub_: the two connections (Conn), each a redisAsyncContext whose event hooks
//   (addRead/delRead/addWrite/delWrite/cleanup) arm async_wait on a posix::stream_descriptor
//   over hiredis' socket. hiredis owns and closes the fd; the descriptor is released, never
//   closed, in cleanup.
// - inflight_: every command sent on cmd_, in sending order (Redis answers in that order).
//   The 250 ms tick fails the ones older than config_.timeout (their late replies are
//   dropped) and marks Redis stalled until the next reply.
// - channels_: per channel with local subscribers (or waiting ones):
//     1. pubsub: none -> subscribing (SUBSCRIBE sent) -> live (confirmed) -> unsubscribing;
//        a SUBSCRIBE is only sent once an UNSUBSCRIBE's reply is in (hiredis keys its
//        pub/sub callbacks by name).
//     2. head: the last seq handed to local subscribers, in epoch `epoch`; known once
//        `synced` (the first state read after the SUBSCRIBE was confirmed, so no publish
//        falls between the two). Live messages beyond head + 1, or of another epoch, wait
//        in `early` for a catch-up read (sync), which also runs after every reconnect.
//     3. Each registration has a cursor: the seq it is current to. A frame with seq s is
//        delivered to it only when s == cursor + 1, so nothing is delivered twice, even when
//        the subscribe's own read (its replay) and the live path overlap.
//     4. ring: the last kRing frames up to head, for subscribes whose read was answered
//        before the live path caught up to it.
#include "hub/redis/redis_hub.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>

#include "steadyws/core/backoff.hpp"

#include "protocol/codec.hpp"
#include "protocol/json_text.hpp"

namespace steadyws::hub::redis {

namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;

// ---- URL and node id -----------------------------------------------------------------------

std::variant<RedisUrl, std::string> parse_redis_url(std::string_view url) {
  const std::string_view scheme = "redis://";
  auto bad = [&](std::string why) {
    return std::variant<RedisUrl, std::string>(
        "--redis " + std::string(url) + ": " + why +
        "; expected redis://[:PASSWORD@]HOST:PORT[/DB], e.g. redis://127.0.0.1:6379");
  };
  if (url.substr(0, scheme.size()) != scheme) {
    const auto colon = url.find("://");
    if (colon != std::string_view::npos)
      return bad("unknown scheme " + std::string(url.substr(0, colon)) + " (only redis://)");
    return bad("not a redis:// URL");
  }
  std::string_view rest = url.substr(scheme.size());
  RedisUrl u;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (cred.empty() || cred[0] != ':')
      return bad("the password goes as :PASSWORD@ (no user name)");
    u.password = std::string(cred.substr(1));
    if (u.password.empty())
      return bad("empty password");
  }
  std::string_view hostport = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), v);
      if (ec != std::errc() || p != db.data() + db.size() || v > 15)
        return bad("the database must be a number from 0 to 15");
      u.db = v;
    }
  }
  std::string_view host = hostport;
  if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    const std::string_view port = hostport.substr(colon + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
      return bad("the port must be a number from 1 to 65535");
    u.port = static_cast<std::uint16_t>(v);
  }
  if (host.empty())
    return bad("no host");
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok)
      return bad("bad character in the host name");
  }
  u.host = std::string(host);
  return u;
}

bool is_valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > 32)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

std::string check_advertise_url(std::string_view url) {
  bool secret = false;  // never echo a value that may hold a credential
  auto bad = [&](const std::string& why) {
    return "--advertise-url " + (secret ? std::string("(not shown)") : std::string(url)) + ": " +
           why +
           "; expected ws, wss, http or https://HOST[:PORT][/PATH], e.g. "
           "wss://node1.example:443/ws";
  };
  if (url.empty() || url.size() > 512)
    return bad("give 1 to 512 characters");
  const auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return bad("not a URL");
  const std::string_view scheme = url.substr(0, sep);
  if (scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https")
    return bad("unknown scheme " + std::string(scheme));
  const std::string_view rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    secret = true;
    return bad("no user or password in it (it is shown on /api/cluster)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host[0] == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close == 1)
      return bad("an IPv6 address goes in brackets, e.g. [::1]");
    const std::string_view v6 = host.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        }))
      return bad("bad character in the IPv6 address");
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after[0] != ':')
      return bad("only :PORT may follow the IPv6 address");
    port = after.empty() ? after : after.substr(1);
    if (!after.empty() && port.empty())
      return bad("the port must be a number from 1 to 65535");
  } else {
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty())
        return bad("the port must be a number from 1 to 65535");
    }
    if (host.empty())
      return bad("no host");
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        }))
      return bad("bad character in the host name");
  }
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
      return bad("the port must be a number from 1 to 65535");
  }
  for (const char c : path) {
    if (c == '?' || c == '#')
      return bad("no query or fragment (it is shown on /api/cluster)");
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return bad("no space, control or non-ASCII character in the path (percent-encode it)");
  }
  return "";
}

namespace {

// ---- Lua scripts ---------------------------------------------------------------------------

// Every script that uses a channel's keys (all of them in KEYS) renews their expiry: with a
// --channel-ttl they go, together, that long after the channel's last use (CONTRACT §8,
// docs/cluster.md).

// KEYS: seq stream ids epoch. ARGV: id, frame prefix, frame suffix, history, pub/sub channel,
// epoch candidate, ttl ms (0: never expire). Returns {duplicate (0/1), seq, epoch}.
constexpr std::string_view kPublishLua = R"(
local function touch(t)
  if t > 0 then for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], t) end end
end
local ep = redis.call('GET', KEYS[4])
if not ep then ep = ARGV[6]; redis.call('SET', KEYS[4], ep) end
local maxlen = tonumber(ARGV[4])
if maxlen > 0 then
  local old = redis.call('HGET', KEYS[3], ARGV[1])
  if old then touch(tonumber(ARGV[7])); return {1, tonumber(old), ep} end
end
local seq = redis.call('INCR', KEYS[1])
local frame = ARGV[2] .. seq .. ARGV[3]
if maxlen > 0 then
  while redis.call('XLEN', KEYS[2]) >= maxlen do
    local o = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
    redis.call('HDEL', KEYS[3], o[1][2][4])
    redis.call('XDEL', KEYS[2], o[1][1])
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, seq .. '-1', 'f', frame, 'i', ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], seq)
end
redis.call('PUBLISH', ARGV[5], seq .. ' ' .. ep .. ' ' .. frame)
touch(tonumber(ARGV[7]))
return {0, seq, ep}
)";

// KEYS: seq stream epoch ids. ARGV: since (-1: none), epoch candidate, max frames (0: all),
// ttl ms (0: never expire). Returns {epoch, last, recovered (0/1), {frames after since}}.
constexpr std::string_view kStateLua = R"(
local t = tonumber(ARGV[4])
if t > 0 then for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], t) end end
local ep = redis.call('GET', KEYS[3])
if not ep then
  ep = ARGV[2]
  if t > 0 then redis.call('SET', KEYS[3], ep, 'PX', t) else redis.call('SET', KEYS[3], ep) end
end
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since < 0 or since > last then return {ep, last, 0} end
if since == last then return {ep, last, 1} end
local first = (since + 1) .. '-1'
local r
if tonumber(ARGV[3]) > 0 then
  r = redis.call('XRANGE', KEYS[2], first, '+', 'COUNT', ARGV[3])
else
  r = redis.call('XRANGE', KEYS[2], first, '+')
end
if #r == 0 or r[1][1] ~= first then return {ep, last, 0} end
local frames = {}
for i, e in ipairs(r) do frames[i] = e[2][2] end
return {ep, last, 1, frames}
)";

// A channel still used on this node (subscribed, or its last local subscriber just left):
// its TTL starts again. KEYS: seq stream ids epoch. ARGV: ttl ms.
constexpr std::string_view kTouchLua = R"(
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
)";

// --max-channels across the cluster: the index (KEYS[1], a sorted set of channel names, each
// scored with the Redis time, in ms, after which it no longer counts). A name already there
// gets its new score; a new one is added only while fewer than ARGV[4] live names are there.
// ARGV: name, ttl ms (0: counts for ever), slack ms, max. Returns 1 (admitted) or 0 (full).
constexpr std::string_view kAdmitLua = R"(
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local score = '+inf'
if tonumber(ARGV[2]) > 0 then score = now + tonumber(ARGV[2]) + tonumber(ARGV[3]) end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], score, ARGV[1])
  return 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], score, ARGV[1])
return 1
)";

// Sessions (CONTRACT §5). KEYS: steadyws:session:{ID}, steadyws:session:{ID}:subs.
// Put: ARGV token hash, node id, ttl ms, take over (1: a resume here; 0: a renewal, which
// leaves a record another node holds alone), channels... (replaces the record).
constexpr std::string_view kSessionPutLua = R"(
local n = redis.call('HGET', KEYS[1], 'node')
if ARGV[4] ~= '1' and n and n ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'node', ARGV[2])
for i = 5, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
)";
// While this node holds the session: one subscription more ('+'), one less ('-') or neither
// (''), and its expiry renewed. ARGV: '+', '-' or '', channel, node id, ttl ms.
constexpr std::string_view kSessionSubLua = R"(
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[3] then return 0 end
if ARGV[1] == '+' then redis.call('SADD', KEYS[2], ARGV[2]) end
if ARGV[1] == '-' then redis.call('SREM', KEYS[2], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
)";
// Returns {token hash or false, {channels}, node or false}.
constexpr std::string_view kSessionGetLua = R"(
return {redis.call('HGET', KEYS[1], 'token'), redis.call('SMEMBERS', KEYS[2]),
        redis.call('HGET', KEYS[1], 'node')}
)";

// KEYS: node key, node set. ARGV: instance token, node JSON, now ms, ttl ms, alive ms.
// Returns {mine (0: another live process holds this node id), {JSON of live nodes}}.
constexpr std::string_view kHeartbeatLua = R"(
local v = redis.call('GET', KEYS[1])
local mine = 1
if v and not string.find(v, ARGV[1], 1, true) then
  mine = 0
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
end
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], now - tonumber(ARGV[5]), '+inf')
local out = {}
for _, k in ipairs(ids) do
  local x = redis.call('GET', k)
  if x then out[#out + 1] = x end
end
return {mine, out}
)";

// The SHA1 of a script, as EVALSHA names it (OpenSSL's; only at startup).
std::string sha1_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(s.data(), s.size(), md, &n, EVP_sha1(), nullptr) != 1)
    return {};  // EVALSHA then fails with NOSCRIPT and the script is sent whole (eval)
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

std::string random_hex(std::mt19937_64& rng, std::size_t n) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i)
    s += hex[rng() & 0xf];
  return s;
}

std::string key(std::string_view channel, std::string_view part) {
  std::string k = "steadyws:{";
  k += channel;
  k += "}:";
  k += part;
  return k;
}

std::string_view str_of(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
                       r->type != REDIS_REPLY_ERROR))
    return {};
  return {r->str, r->len};
}

std::optional<std::uint64_t> u64_of(const redisReply* r) {
  if (r == nullptr)
    return std::nullopt;
  if (r->type == REDIS_REPLY_INTEGER)
    return r->integer < 0 ? std::nullopt
                          : std::optional<std::uint64_t>(static_cast<std::uint64_t>(r->integer));
  const std::string_view s = str_of(r);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How many recent frames each channel keeps on the node (see invariant 4).
constexpr std::size_t kRing = 1024;
// A channel with no local subscriber stays subscribed this long (saves churn for polls).
constexpr std::chrono::seconds kLinger{5};
constexpr std::chrono::milliseconds kTick{250};
constexpr std::chrono::milliseconds kHeartbeatEvery{1000};
constexpr std::chrono::milliseconds kNodeTtl{15000};  // CONTRACT §5: alive in the last 15 s

class Impl;

// One hiredis async connection driven by Asio.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Impl& hub, net::strand<net::io_context::executor_type> strand)
      : hub_(hub), strand_(strand), sd_(strand) {}

  // Starts connecting; false (with `error`) when hiredis could not even begin.
  bool connect(const RedisUrl& url, std::string& error);
  // Frees the context (pending callbacks get a null reply). Not from a hiredis callback.
  void close() {
    if (ac_ != nullptr)
      redisAsyncFree(ac_);  // cleanup() runs inside and clears ac_
    ac_ = nullptr;
  }
  redisAsyncContext* context() const { return ac_; }
  bool connected = false;

 private:
  static Conn* of(const redisAsyncContext* ac) { return static_cast<Conn*>(ac->data); }
  static void add_read(void* p) {
    auto* c = static_cast<Conn*>(p);
    c->want_read_ = true;
    c->arm_read();
  }
  static void del_read(void* p) { static_cast<Conn*>(p)->want_read_ = false; }
  static void add_write(void* p) {
    auto* c = static_cast<Conn*>(p);
    c->want_write_ = true;
    c->arm_write();
  }
  static void del_write(void* p) { static_cast<Conn*>(p)->want_write_ = false; }
  static void cleanup(void* p) {
    auto* c = static_cast<Conn*>(p);
    c->ac_ = nullptr;
    c->want_read_ = c->want_write_ = false;
    boost::system::error_code ignored;
    if (c->sd_.is_open()) {
      c->sd_.cancel(ignored);
      (void)c->sd_.release();  // hiredis closes the fd itself
    }
  }
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);

  void arm_read() {
    if (!want_read_ || read_armed_ || ac_ == nullptr)
      return;
    read_armed_ = true;
    sd_.async_wait(net::posix::descriptor_base::wait_read,
                   [self = shared_from_this()](boost::system::error_code ec) {
                     self->read_armed_ = false;
                     if (ec || self->ac_ == nullptr || !self->want_read_)
                       return;
                     redisAsyncHandleRead(self->ac_);
                     self->arm_read();
                   });
  }
  void arm_write() {
    if (!want_write_ || write_armed_ || ac_ == nullptr)
      return;
    write_armed_ = true;
    sd_.async_wait(net::posix::descriptor_base::wait_write,
                   [self = shared_from_this()](boost::system::error_code ec) {
                     self->write_armed_ = false;
                     if (ec || self->ac_ == nullptr || !self->want_write_)
                       return;
                     redisAsyncHandleWrite(self->ac_);
                     self->arm_write();
                   });
  }

  Impl& hub_;
  net::strand<net::io_context::executor_type> strand_;
  net::posix::stream_descriptor sd_;
  redisAsyncContext* ac_ = nullptr;
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
};

// One command on cmd_: its completion, called once (reply null: failed or timed out).
struct Op {
  std::function<void(const redisReply*, std::string_view why)> done;
  SteadyClock::time_point sent;
  bool finished = false;
};

struct Registration {
  const Subscriber* key = nullptr;
  std::weak_ptr<Subscriber> subscriber;
  std::uint64_t cursor = 0;
};

struct SubscribeRequest {
  std::weak_ptr<Subscriber> subscriber;
  const Subscriber* key = nullptr;
  std::optional<std::uint64_t> since;
  std::optional<std::string> epoch;
  SubscribeHandler done;
  SteadyClock::time_point deadline;
  std::vector<DoneHandler> then_unsubscribe;  // unsubscribes that came while it was pending
  bool finished = false;
};

struct EarlyFrame {
  std::string epoch;
  Frame frame;
};

struct Channel {
  enum class PubSub { none, subscribing, live, unsubscribing };
  std::string name;
  PubSub pubsub = PubSub::none;
  bool synced = false;
  bool syncing = false;
  std::string epoch;
  std::uint64_t head = 0;
  std::map<std::uint64_t, EarlyFrame> early;
  std::deque<std::pair<std::uint64_t, Frame>> ring;
  std::vector<Registration> subs;
  std::deque<std::shared_ptr<SubscribeRequest>> waiting;   // for synced
  std::vector<std::shared_ptr<SubscribeRequest>> reading;  // their state read in flight
  SteadyClock::time_point empty_since{};
  SteadyClock::time_point touched{};  // its TTL (and index entry) last renewed by this node

  bool in_use() const { return !subs.empty() || !waiting.empty() || !reading.empty(); }
  Registration* find(const Subscriber* k) {
    for (auto& r : subs)
      if (r.key == k)
        return &r;
    return nullptr;
  }
  void remove(const Subscriber* k) {
    subs.erase(std::remove_if(subs.begin(), subs.end(), [k](auto& r) { return r.key == k; }),
               subs.end());
  }
  // The frames after `from` up to head, when the ring still holds them all.
  std::optional<std::vector<Frame>> ring_after(std::uint64_t from) const {
    std::vector<Frame> out;
    if (from >= head)
      return out;
    if (ring.empty() || ring.front().first > from + 1)
      return std::nullopt;
    for (const auto& [s, f] : ring)
      if (s > from)
        out.push_back(f);
    return out;
  }
};

class Impl final : public RedisHub, public std::enable_shared_from_this<Impl> {
 public:
  Impl(net::io_context& ioc, RedisHubConfig c)
      : config_(std::move(c)),
        strand_(net::make_strand(ioc)),
        tick_(strand_),
        reconnect_timer_(strand_),
        rng_(std::random_device{}()),
        backoff_(
            BackoffConfig{Duration{200}, Duration{5000}, Duration{0}, JitterMode::full, true, 0}),
        publish_sha_(sha1_hex(kPublishLua)),
        state_sha_(sha1_hex(kStateLua)),
        heartbeat_sha_(sha1_hex(kHeartbeatLua)),
        touch_sha_(sha1_hex(kTouchLua)),
        admit_sha_(sha1_hex(kAdmitLua)),
        session_put_sha_(sha1_hex(kSessionPutLua)),
        session_sub_sha_(sha1_hex(kSessionSubLua)),
        session_get_sha_(sha1_hex(kSessionGetLua)),
        control_channel_(control_channel(config_.node_id)) {
    instance_ = random_hex(rng_, 16);
    id_prefix_ = config_.node_id.substr(0, 16) + "." + random_hex(rng_, 8) + "-";
    started_at_ms_ = wall_ms();
  }

  // ---- Hub -------------------------------------------------------------------------------

  void async_subscribe(std::string_view channel, std::weak_ptr<Subscriber> subscriber,
                       std::optional<std::uint64_t> since, std::optional<std::string_view> epoch,
                       SubscribeHandler done) override {
    auto req = std::make_shared<SubscribeRequest>();
    req->key = subscriber.lock().get();
    req->subscriber = std::move(subscriber);
    req->since = since;
    if (epoch)
      req->epoch = std::string(*epoch);
    req->done = std::move(done);
    req->deadline = SteadyClock::now() + config_.timeout;
    net::post(strand_, [self = shared_from_this(), name = std::string(channel), req] {
      self->do_subscribe(name, req);
    });
  }

  void async_unsubscribe(std::string_view channel, const Subscriber* subscriber,
                         DoneHandler done) override {
    net::post(strand_, [self = shared_from_this(), name = std::string(channel), subscriber,
                        done = std::move(done)]() mutable {
      self->do_unsubscribe(name, subscriber, std::move(done));
    });
  }

  void async_publish(std::string_view channel, std::optional<std::string_view> id,
                     const boost::json::value& data, std::int64_t timestamp_ms,
                     PublishHandler done) override {
    // The frame around the seq Redis assigns: "<prefix><seq><suffix>", serialized here, once.
    std::string the_id =
        id ? std::string(*id) : id_prefix_ + std::to_string(next_id_.fetch_add(1) + 1);
    std::string full;
    protocol::serialize_message(full, channel, 0, the_id, data, timestamp_ms);
    const std::string_view marker = ",\"seq\":0,";
    const auto at = full.find(marker);
    std::string prefix = full.substr(0, at + marker.size() - 2);
    std::string suffix = full.substr(at + marker.size() - 1);
    net::post(strand_, [self = shared_from_this(), name = std::string(channel),
                        the_id = std::move(the_id), prefix = std::move(prefix),
                        suffix = std::move(suffix), done = std::move(done)]() mutable {
      self->do_publish(name, std::move(the_id), prefix, suffix, std::move(done));
    });
  }

  void async_read(std::string_view channel, std::optional<std::uint64_t> since,
                  std::optional<std::string_view> epoch, std::size_t max_frames,
                  ReadHandler done) override {
    net::post(strand_,
              [self = shared_from_this(), name = std::string(channel), since,
               epoch = epoch ? std::optional<std::string>(std::string(*epoch)) : std::nullopt,
               max_frames, done = std::move(done)]() mutable {
                self->do_read(name, since, epoch, max_frames, std::move(done));
              });
  }

  std::size_t expire_idle() override { return 0; }  // channels live in Redis

  HubCounts counts() const override { return {local_channels_.load(std::memory_order_relaxed), 0}; }

  HubStats stats() const override {
    HubStats s;
    s.channels = local_channels_.load(std::memory_order_relaxed);
    s.published = published_.load(std::memory_order_relaxed);
    s.duplicates = duplicates_.load(std::memory_order_relaxed);
    return s;
  }

  // ---- RedisHub --------------------------------------------------------------------------

  static std::vector<std::string> session_keys(const std::string& id) {
    return {"steadyws:session:{" + id + "}", "steadyws:session:{" + id + "}:subs"};
  }

  void save_session(const std::string& id, const std::string& token_sha256,
                    const std::vector<std::string>& subscriptions, std::chrono::milliseconds ttl,
                    bool take_over) override {
    std::vector<std::string> args{token_sha256, config_.node_id, std::to_string(ttl.count()),
                                  take_over ? "1" : "0"};
    args.insert(args.end(), subscriptions.begin(), subscriptions.end());
    post_session_write(kSessionPutLua, session_put_sha_, id, std::move(args));
  }

  void session_subscription(const std::string& id, const std::string& channel, bool subscribed,
                            std::chrono::milliseconds ttl) override {
    post_session_write(
        kSessionSubLua, session_sub_sha_, id,
        {subscribed ? "+" : "-", channel, config_.node_id, std::to_string(ttl.count())});
  }

  void touch_session(const std::string& id, std::chrono::milliseconds ttl) override {
    post_session_write(kSessionSubLua, session_sub_sha_, id,
                       {"", "", config_.node_id, std::to_string(ttl.count())});
  }

  // A session script from any thread, fire and forget; skipped while Redis is unusable.
  void post_session_write(std::string_view script, const std::string& sha, const std::string& id,
                          std::vector<std::string> args) {
    net::post(strand_,
              [self = shared_from_this(), script, &sha, id, args = std::move(args)]() mutable {
                if (self->usable())
                  self->eval(script, sha, session_keys(id), std::move(args),
                             [](const redisReply*, std::string_view) {});
              });
  }

  void announce_takeover(const std::string& id, const std::string& from_node) override {
    net::post(strand_, [self = shared_from_this(), id, from_node] {
      if (self->usable())
        self->command({"PUBLISH", control_channel(from_node), "takeover " + id},
                      [](const redisReply*, std::string_view) {});
    });
  }

  void load_session(const std::string& id,
                    std::function<void(std::optional<StoredSession>)> done) override {
    net::post(strand_, [self = shared_from_this(), id, done = std::move(done)]() mutable {
      self->read_session(id, std::move(done));
    });
  }

  // On the strand.
  void read_session(const std::string& id, std::function<void(std::optional<StoredSession>)> done) {
    if (!usable())
      return done(std::nullopt);
    eval(kSessionGetLua, session_get_sha_, session_keys(id), {},
         [done = std::move(done)](const redisReply* r, std::string_view) {
           if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
               r->element[0]->type != REDIS_REPLY_STRING)
             return done(std::nullopt);
           StoredSession s;
           s.token_sha256 = std::string(str_of(r->element[0]));
           if (r->elements > 2)
             s.node = std::string(str_of(r->element[2]));
           const redisReply* subs = r->element[1];
           for (std::size_t i = 0; subs->type == REDIS_REPLY_ARRAY && i < subs->elements; ++i)
             s.subscriptions.emplace_back(str_of(subs->element[i]));
           done(std::move(s));
         });
  }

  // Where other nodes tell this one that they took one of its sessions over.
  static std::string control_channel(const std::string& node_id) {
    return "steadyws:ctl:" + node_id;
  }

  // "takeover ID" from another node. The record is read again first: this node may have
  // taken the session back since (its own write, sent before this read, then names it).
  void on_control(std::string_view payload) {
    constexpr std::string_view kTakeover = "takeover ";
    if (!payload.starts_with(kTakeover) || !config_.session_taken)
      return;
    std::string id(payload.substr(kTakeover.size()));
    if (id.empty() || id.size() > 128)
      return;
    read_session(id, [self = shared_from_this(), id](std::optional<StoredSession> s) {
      if (s && !s->node.empty() && s->node != self->config_.node_id)
        self->config_.session_taken(id);
    });
  }

  void start() override {
    net::post(strand_, [self = shared_from_this()] {
      self->connect();
      self->arm_tick();
    });
  }

  void stop() override {
    net::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->tick_.cancel();
      self->reconnect_timer_.cancel();
      self->teardown("the node is stopping");
    });
  }

  bool is_up() const override { return up_.load(std::memory_order_relaxed); }
  const std::string& node_id() const override { return config_.node_id; }

  void set_address(std::string address) override {
    const std::lock_guard<std::mutex> g(address_mu_);
    address_ = std::move(address);
  }

  std::vector<NodeInfo> nodes() const override {
    const std::lock_guard<std::mutex> g(nodes_mu_);
    return nodes_;
  }

  ClusterStats cluster_stats() const override {
    ClusterStats s;
    s.redis_up = is_up();
    {
      const std::lock_guard<std::mutex> g(nodes_mu_);
      s.nodes = nodes_.size();
      s.rtt_ms_sum = rtt_sum_;
      s.rtt_ms_last = rtt_last_;
      s.commands = commands_;
    }
    s.errors = errors_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.duplicate_node_id = duplicate_.load(std::memory_order_relaxed);
    return s;
  }

  // ---- connection events (strand) --------------------------------------------------------

  void on_conn_up(Conn& c) {
    c.connected = true;
    if (&c == cmd_.get()) {
      // AUTH, SELECT and the scripts first: pipelined, so every later command sees them.
      if (!config_.url.password.empty())
        command({"AUTH", config_.url.password}, setup_check("AUTH"));
      if (config_.url.db != 0)
        command({"SELECT", std::to_string(config_.url.db)}, setup_check("SELECT"));
      for (auto s : {kPublishLua, kStateLua, kHeartbeatLua, kTouchLua, kAdmitLua, kSessionPutLua,
                     kSessionSubLua, kSessionGetLua})
        command({"SCRIPT", "LOAD", std::string(s)}, setup_check("SCRIPT LOAD"));
      command({"PING"}, [self = shared_from_this()](const redisReply* r, std::string_view why) {
        if (r == nullptr)
          return self->lost(std::string(why));
        if (self->setup_failed_)
          return self->lost("setup refused");
        self->cmd_ready_ = true;
        self->maybe_up();
      });
    } else {
      if (!config_.url.password.empty()) {
        std::vector<std::string> args{"AUTH", config_.url.password};
        send_raw(*sub_, args, &Impl::on_sub_auth, this);
      } else {
        sub_ready_ = true;
        maybe_up();
      }
    }
  }

  void on_conn_down(std::string why) { lost(std::move(why)); }

 private:
  friend class Conn;

  // ---- commands --------------------------------------------------------------------------

  using Done = std::function<void(const redisReply*, std::string_view)>;

  static void send_raw(Conn& c, const std::vector<std::string>& args, redisCallbackFn* fn,
                       void* priv) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAsyncCommandArgv(c.context(), fn, priv, static_cast<int>(argv.size()), argv.data(),
                          lens.data());
  }

  // Sends `args` on cmd_; `done` is called once, with the reply or null (why says why).
  void command(const std::vector<std::string>& args, Done done) {
    if (!cmd_ || cmd_->context() == nullptr) {
      done(nullptr, "not connected to Redis");
      return;
    }
    auto op = std::make_shared<Op>();
    op->done = std::move(done);
    op->sent = SteadyClock::now();
    inflight_.push_back(op);
    auto* holder = new Carrier{shared_from_this(), op};
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAsyncCommandArgv(cmd_->context(), &Impl::on_reply, holder,
                              static_cast<int>(argv.size()), argv.data(),
                              lens.data()) != REDIS_OK) {
      delete holder;
      finish(*op, nullptr, "Redis refused the command");
    }
  }

  struct Carrier {
    std::shared_ptr<Impl> hub;
    std::shared_ptr<Op> op;
  };

  static void on_reply(redisAsyncContext*, void* reply, void* priv) {
    std::unique_ptr<Carrier> c(static_cast<Carrier*>(priv));
    const auto* r = static_cast<const redisReply*>(reply);
    if (r != nullptr && !c->op->finished) {
      const double ms =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - c->op->sent).count();
      const std::lock_guard<std::mutex> g(c->hub->nodes_mu_);
      c->hub->rtt_sum_ += ms;
      c->hub->rtt_last_ = ms;
      ++c->hub->commands_;
    }
    if (r != nullptr && c->hub->stalled_) {
      c->hub->stalled_ = false;  // Redis answers again: catch every channel up
      c->hub->maybe_up();
    }
    c->hub->finish(*c->op, r, r == nullptr ? "the connection to Redis was lost" : "");
  }

  void finish(Op& op, const redisReply* r, std::string_view why) {
    if (op.finished)
      return;
    op.finished = true;
    if (r == nullptr)
      errors_.fetch_add(1, std::memory_order_relaxed);
    auto done = std::move(op.done);
    done(r, why);
  }

  Done setup_check(std::string what) {
    return [self = shared_from_this(), what](const redisReply* r, std::string_view) {
      if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
        self->setup_failed_ = true;
        self->log_change(Severity::error, "cluster: Redis " + self->address() + " refused " + what +
                                              ": " + std::string(str_of(r)) +
                                              "; check the password and database in --redis");
      }
    };
  }

  static void on_sub_auth(redisAsyncContext*, void* reply, void* priv) {
    auto* self = static_cast<Impl*>(priv);
    const auto* r = static_cast<const redisReply*>(reply);
    if (r == nullptr)
      return;  // lost: the disconnect path handles it
    if (r->type == REDIS_REPLY_ERROR) {
      self->log_change(Severity::error, "cluster: Redis " + self->address() +
                                            " refused AUTH: " + std::string(str_of(r)) +
                                            "; check the password in --redis");
      net::post(self->strand_, [s = self->shared_from_this()] { s->lost("AUTH refused"); });
      return;
    }
    self->sub_ready_ = true;
    self->maybe_up();
  }

  // ---- connection lifecycle --------------------------------------------------------------

  std::string address() const { return config_.url.host + ":" + std::to_string(config_.url.port); }

  void connect() {
    if (stopped_)
      return;
    cmd_ready_ = sub_ready_ = setup_failed_ = stalled_ = false;
    fresh_connection_ = true;
    ++generation_;
    cmd_ = std::make_shared<Conn>(*this, strand_);
    sub_ = std::make_shared<Conn>(*this, strand_);
    std::string err;
    if (!cmd_->connect(config_.url, err) || !sub_->connect(config_.url, err))
      return lost(err);
    connect_deadline_ = SteadyClock::now() + config_.timeout;
  }

  void maybe_up() {
    if (stopped_ || !cmd_ready_ || !sub_ready_ || stalled_ || up_.load())
      return;
    up_.store(true);
    if (!fresh_connection_) {
      // Back from a stall on the same connections: subscriptions held; catch up.
      logged_.clear();
      log_change(Severity::info, "cluster: Redis " + address() + " answers again");
      for (auto& [name, ch] : channels_)
        if (ch.pubsub == Channel::PubSub::live)
          sync(ch);
      return;
    }
    fresh_connection_ = false;
    connect_deadline_.reset();
    backoff_.reset();
    if (ever_up_)
      reconnects_.fetch_add(1, std::memory_order_relaxed);
    ever_up_ = true;
    logged_.clear();  // from now on every problem is news again
    log_change(Severity::info,
               "cluster: connected to Redis " + address() + " node=" + config_.node_id);
    heartbeat();
    send_raw(*sub_, {"SUBSCRIBE", control_channel_}, &Impl::on_pubsub, this);
    // Resubscribe every channel in use; each catches its subscribers up once confirmed.
    for (auto& [name, ch] : channels_) {
      ch.pubsub = Channel::PubSub::none;
      if (ch.in_use())
        send_subscribe(ch);
    }
  }

  // Redis is gone (or refused us): fail what is pending, drop both connections, retry.
  void lost(std::string why) {
    if ((stopped_ && !cmd_) || tearing_down_)
      return;
    up_.store(false);
    errors_.fetch_add(1, std::memory_order_relaxed);
    admitted_.clear();  // Redis may come back without the index
    if (!stopped_)
      log_change(Severity::warn,
                 "cluster: Redis " + address() + " unavailable (" + why +
                     "); WebSockets stay open, publishes get `unavailable` until it is back; "
                     "check that Redis runs there and that --redis is right");
    // Not from inside a hiredis callback: free the contexts on the next turn (once per
    // generation of connections, however many callbacks report the loss).
    net::post(strand_, [self = shared_from_this(), why, gen = generation_] {
      if (gen == self->generation_)
        self->teardown(why);
    });
  }

  void teardown(const std::string& why) {
    ++generation_;
    auto cmd = std::move(cmd_);
    auto sub = std::move(sub_);
    up_.store(false);
    cmd_ready_ = sub_ready_ = false;
    tearing_down_ = true;  // the disconnect callbacks below report nothing new
    if (cmd)
      cmd->close();  // pending callbacks: null replies -> unavailable
    if (sub)
      sub->close();
    tearing_down_ = false;
    for (auto& op : inflight_)
      finish(*op, nullptr, why);
    inflight_.clear();
    for (auto& [name, ch] : channels_) {
      ch.pubsub = Channel::PubSub::none;
      ch.syncing = false;
      fail_waiting(ch, "Redis is unavailable: " + why);
    }
    connect_deadline_.reset();
    if (stopped_ || reconnect_pending_)
      return;
    reconnect_pending_ = true;
    const Duration d =
        backoff_.next(std::uniform_real_distribution<double>(0, 1)(rng_)).value_or(Duration{5000});
    reconnect_timer_.expires_after(d);
    reconnect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->reconnect_pending_ = false;
      if (!ec)
        self->connect();
    });
  }

  void fail_waiting(Channel& ch, const std::string& why) {
    auto fail = [&](std::shared_ptr<SubscribeRequest>& req) {
      if (req->finished)
        return;
      req->finished = true;
      SubscribeResult r;
      r.status = HubStatus::unavailable;
      r.error = why;
      if (req->done)
        req->done(std::move(r));
      for (auto& d : req->then_unsubscribe)
        if (d)
          d();
    };
    for (auto& req : ch.waiting)
      fail(req);
    for (auto& req : ch.reading)
      fail(req);
    ch.waiting.clear();
    ch.reading.clear();
  }

  // CONTRACT §5: logged once per change, not once per publish or per retry: a line already
  // written since Redis was last up is not written again.
  void log_change(Severity s, const std::string& line) {
    if (std::find(logged_.begin(), logged_.end(), line) != logged_.end())
      return;
    if (logged_.size() >= 16)
      logged_.erase(logged_.begin());
    logged_.push_back(line);
    if (config_.log)
      config_.log(s, line);
  }

  // ---- the tick: timeouts, connect deadline, linger, heartbeat ------------------------

  void arm_tick() {
    if (stopped_)
      return;
    tick_.expires_after(kTick);
    tick_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec)
        return;
      self->on_tick();
      self->arm_tick();
    });
  }

  void on_tick() {
    const auto now = SteadyClock::now();
    while (!inflight_.empty() && inflight_.front()->finished)
      inflight_.pop_front();
    bool timed_out = false;
    for (auto& op : inflight_) {
      if (op->finished)
        continue;
      if (now - op->sent < config_.timeout)
        break;  // in sending order: the rest are younger
      timed_out = true;
      finish(*op, nullptr,
             "Redis did not answer within " + std::to_string(config_.timeout.count()) + " ms");
    }
    for (auto& [name, ch] : channels_) {
      for (auto& req : ch.waiting) {
        if (!req->finished && now >= req->deadline) {
          req->finished = true;
          SubscribeResult r;
          r.status = HubStatus::unavailable;
          r.error =
              "Redis did not answer within " + std::to_string(config_.timeout.count()) + " ms";
          if (req->done)
            req->done(std::move(r));
          for (auto& d : req->then_unsubscribe)
            if (d)
              d();
        }
      }
      std::erase_if(ch.waiting, [](auto& r) { return r->finished; });
    }
    if (timed_out && !stalled_) {
      stalled_ = true;
      up_.store(false);
      errors_.fetch_add(1, std::memory_order_relaxed);
      log_change(Severity::warn, "cluster: Redis " + address() + " did not answer within " +
                                     std::to_string(config_.timeout.count()) +
                                     " ms (paused or overloaded?); publishes get `unavailable`");
    }
    if (connect_deadline_ && now > *connect_deadline_)
      return lost("no connection within " + std::to_string(config_.timeout.count()) + " ms");
    // Channels nobody uses any more: UNSUBSCRIBE after the linger.
    for (auto it = channels_.begin(); it != channels_.end();) {
      Channel& ch = it->second;
      if (ch.in_use()) {
        ch.empty_since = {};
        if (now - ch.touched >= renew_every())
          renew(ch, now);
        ++it;
        continue;
      }
      if (ch.empty_since == SteadyClock::time_point{}) {
        ch.empty_since = now;
        renew(ch, now);  // the TTL counts from when its last local subscriber left
      }
      if (now - ch.empty_since >= kLinger && ch.pubsub != Channel::PubSub::unsubscribing) {
        if (ch.pubsub == Channel::PubSub::none || !sub_ || sub_->context() == nullptr) {
          it = channels_.erase(it);
          local_channels_.store(channels_.size(), std::memory_order_relaxed);
          continue;
        }
        if (ch.pubsub == Channel::PubSub::live) {
          ch.pubsub = Channel::PubSub::unsubscribing;
          send_raw(*sub_, {"UNSUBSCRIBE", key(ch.name, "msg")}, &Impl::on_pubsub, this);
        }
      }
      ++it;
    }
    if (now - admitted_pruned_ >= renew_every()) {
      admitted_pruned_ = now;
      std::erase_if(admitted_, [&](const auto& e) { return now - e.second >= 2 * renew_every(); });
    }
    if (now - last_heartbeat_ >= kHeartbeatEvery && cmd_ready_)
      heartbeat();
  }

  void heartbeat() {
    last_heartbeat_ = SteadyClock::now();
    const std::int64_t now = wall_ms();
    boost::json::object o{{"nodeId", config_.node_id},
                          {"connections", config_.connections ? config_.connections() : 0},
                          {"startedAt", started_at_ms_},
                          {"lastSeenAt", now},
                          {"instance", instance_}};
    {
      const std::lock_guard<std::mutex> g(address_mu_);
      o["address"] = address_;
    }
    command({"EVALSHA", heartbeat_sha_, "2", "steadyws:node:" + config_.node_id, "steadyws:nodes",
             instance_, protocol::to_json_text(o), std::to_string(now),
             std::to_string(kNodeTtl.count()), std::to_string(kNodeTtl.count())},
            [self = shared_from_this()](const redisReply* r, std::string_view) {
              if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
                return;
              const bool mine = u64_of(r->element[0]).value_or(1) == 1;
              self->duplicate_.store(!mine);
              {
                if (!mine)
                  self->log_change(Severity::error,
                                   "cluster: another node is alive with --node-id " +
                                       self->config_.node_id +
                                       "; give every node its own --node-id (a node restarted "
                                       "within 15 s also shows this until its old heartbeat "
                                       "expires)");
              }
              std::vector<NodeInfo> nodes;
              const redisReply* list = r->element[1];
              for (std::size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; ++i) {
                boost::system::error_code ec;
                auto v = boost::json::parse(str_of(list->element[i]), ec);
                if (ec || !v.is_object())
                  continue;
                const auto& obj = v.as_object();
                NodeInfo n;
                if (auto* p = obj.if_contains("nodeId"); p && p->is_string())
                  n.node_id = std::string(p->as_string());
                if (auto* p = obj.if_contains("connections"); p && p->is_number())
                  n.connections = p->to_number<std::uint64_t>();
                if (auto* p = obj.if_contains("startedAt"); p && p->is_number())
                  n.started_at_ms = p->to_number<std::int64_t>();
                if (auto* p = obj.if_contains("lastSeenAt"); p && p->is_number())
                  n.last_seen_at_ms = p->to_number<std::int64_t>();
                if (auto* p = obj.if_contains("address"); p && p->is_string())
                  n.address = std::string(p->as_string());
                nodes.push_back(std::move(n));
              }
              std::sort(nodes.begin(), nodes.end(),
                        [](auto& a, auto& b) { return a.node_id < b.node_id; });
              const std::lock_guard<std::mutex> g(self->nodes_mu_);
              self->nodes_ = std::move(nodes);
            });
  }

  // ---- script calls ----------------------------------------------------------------------

  // EVALSHA, and EVAL once when Redis answers NOSCRIPT (a SCRIPT FLUSH, say).
  void eval(std::string_view script, const std::string& sha, std::vector<std::string> keys,
            std::vector<std::string> args, Done done) {
    std::vector<std::string> cmd{"EVALSHA", sha, std::to_string(keys.size())};
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    command(cmd, [self = shared_from_this(), script, cmd, done = std::move(done)](
                     const redisReply* r, std::string_view why) mutable {
      if (r != nullptr && r->type == REDIS_REPLY_ERROR && str_of(r).starts_with("NOSCRIPT")) {
        cmd[0] = "EVAL";
        cmd[1] = std::string(script);
        return self->command(cmd, std::move(done));
      }
      done(r, why);
    });
  }

  bool usable() const { return up_.load() && !stalled_; }

  std::string unavailable_why() const {
    return "Redis " + address() + " is unavailable; retry in a few seconds";
  }

  // ---- channel TTL and limit (--channel-ttl, --max-channels; docs/cluster.md) ------------

  enum class Admission { ok, limited, unavailable };
  using Admitted = std::function<void(Admission, std::string)>;

  template <class R>
  static R refused(Admission a, std::string why) {
    R r;
    if (a == Admission::limited) {
      r.limited = true;
    } else {
      r.status = HubStatus::unavailable;
      r.error = std::move(why);
    }
    return r;
  }

  std::string ttl_arg() const { return std::to_string(config_.channel_ttl.count()); }

  // How often this node renews what it uses: the TTL of a channel it serves, its entry in
  // the index. A third of the TTL less one tick (at least a tick, at most a minute, so that
  // a Redis that lost the index gets it back within a minute).
  SteadyClock::duration renew_every() const {
    const auto ttl = config_.channel_ttl;
    // The tick that notices a due renewal comes up to kTick late: leave that margin.
    return ttl.count() > 0
               ? std::clamp<SteadyClock::duration>(ttl / 3 - kTick, kTick, std::chrono::minutes(1))
               : std::chrono::minutes(1);
  }

  void send_admit(const std::string& name, Done done) {
    // An entry counts until one renewal period (plus the tick that notices it) after the
    // channel's TTL, so a served channel is never out of the index between two renewals.
    const auto slack = std::chrono::duration_cast<std::chrono::milliseconds>(renew_every() + kTick);
    eval(kAdmitLua, admit_sha_, {"steadyws:channels"},
         {name, ttl_arg(), std::to_string(slack.count()), std::to_string(config_.max_channels)},
         std::move(done));
  }

  // True when `name` may be used at once: no --max-channels, or this node admitted it
  // recently (a renewal of its index entry then goes out, unawaited). Else call admit().
  bool admitted(const std::string& name) {
    if (config_.max_channels == 0)
      return true;
    if (admitting_.count(name) != 0)
      return false;  // uses of a name wait, in order, behind its pending admission
    const auto it = admitted_.find(name);
    if (it == admitted_.end())
      return false;
    const auto now = SteadyClock::now();
    if (now - it->second >= renew_every()) {
      it->second = now;
      send_renewal(name);
    }
    return true;
  }

  // A renewal of `name`'s index entry, unawaited. Refused (the index lost it, say to a Redis
  // restart, and is full): forgotten here, so that the next use asks again.
  void send_renewal(const std::string& name) {
    send_admit(name, [self = shared_from_this(), name](const redisReply* r, std::string_view) {
      if (r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
        self->admitted_.erase(name);
    });
  }

  // Asks the index to admit `name`, then runs k(Admission, why). Every use of the name that
  // comes while the answer is pending (an unsubscribe too) waits behind it and runs after it,
  // in arrival order, so a client's publishes keep their order and an unsubscribe never
  // overtakes its subscribe.
  void admit(const std::string& name, Admitted k) {
    auto [it, first] = admitting_.try_emplace(name);
    it->second.push_back(std::move(k));
    if (!first)
      return;
    send_admit(name, [self = shared_from_this(), name](const redisReply* r, std::string_view why) {
      Admission a = Admission::ok;
      std::string error;
      if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
        if (r != nullptr)
          self->errors_.fetch_add(1, std::memory_order_relaxed);
        a = Admission::unavailable;
        error = r == nullptr ? "not admitted: " + std::string(why)
                             : "not admitted: Redis answered " + std::string(str_of(r));
      } else if (r->integer == 0) {
        a = Admission::limited;
      } else {
        self->admitted_[name] = SteadyClock::now();
      }
      auto waiting = std::move(self->admitting_[name]);
      self->admitting_.erase(name);
      for (auto& w : waiting)
        w(a, error);
    });
  }

  // The channel is still used here: its TTL starts again, and so does its index entry.
  void renew(Channel& ch, SteadyClock::time_point now) {
    if (!usable())
      return;  // tried again on the next tick
    ch.touched = now;
    if (config_.channel_ttl.count() > 0)
      eval(
          kTouchLua, touch_sha_,
          {key(ch.name, "seq"), key(ch.name, "stream"), key(ch.name, "ids"), key(ch.name, "epoch")},
          {ttl_arg()}, [](const redisReply*, std::string_view) {});
    if (config_.max_channels != 0 && admitting_.count(ch.name) == 0) {
      admitted_[ch.name] = now;
      send_renewal(ch.name);
    }
  }

  // ---- publish ---------------------------------------------------------------------------

  void do_publish(const std::string& name, std::string id, const std::string& prefix,
                  const std::string& suffix, PublishHandler done) {
    if (!usable()) {
      PublishResult r;
      r.status = HubStatus::unavailable;
      r.error = unavailable_why();
      return done(std::move(r));
    }
    if (admitted(name))
      return publish_admitted(name, std::move(id), prefix, suffix, std::move(done));
    admit(name, [self = shared_from_this(), name, id = std::move(id), prefix, suffix,
                 done = std::move(done)](Admission a, std::string why) mutable {
      if (a != Admission::ok)
        return done(refused<PublishResult>(a, std::move(why)));
      self->publish_admitted(name, std::move(id), prefix, suffix, std::move(done));
    });
  }

  void publish_admitted(const std::string& name, std::string id, const std::string& prefix,
                        const std::string& suffix, PublishHandler done) {
    eval(kPublishLua, publish_sha_,
         {key(name, "seq"), key(name, "stream"), key(name, "ids"), key(name, "epoch")},
         {id, prefix, suffix, std::to_string(config_.history), key(name, "msg"),
          random_hex(rng_, 16), ttl_arg()},
         [self = shared_from_this(), id, done = std::move(done)](const redisReply* r,
                                                                 std::string_view why) {
           PublishResult out;
           out.id = id;
           if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
             out.status = HubStatus::unavailable;
             out.error = r == nullptr ? "not stored: " + std::string(why)
                                      : "not stored: Redis answered " + std::string(str_of(r));
             if (r != nullptr)
               self->errors_.fetch_add(1, std::memory_order_relaxed);
             return done(std::move(out));
           }
           out.duplicate = u64_of(r->element[0]).value_or(0) == 1;
           out.seq = u64_of(r->element[1]).value_or(0);
           (out.duplicate ? self->duplicates_ : self->published_)
               .fetch_add(1, std::memory_order_relaxed);
           done(std::move(out));
         });
  }

  // ---- read (history for polls) ---------------------------------------------------------

  struct State {
    std::string epoch;
    std::uint64_t last = 0;
    bool recovered = false;
    std::vector<Frame> frames;
  };

  static std::optional<State> parse_state(const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
      return std::nullopt;
    State s;
    s.epoch = std::string(str_of(r->element[0]));
    s.last = u64_of(r->element[1]).value_or(0);
    s.recovered = u64_of(r->element[2]).value_or(0) == 1;
    if (r->elements > 3 && r->element[3]->type == REDIS_REPLY_ARRAY) {
      const redisReply* f = r->element[3];
      s.frames.reserve(f->elements);
      for (std::size_t i = 0; i < f->elements; ++i)
        s.frames.push_back(make_frame(std::string(str_of(f->element[i]))));
    }
    return s;
  }

  void read_state(const std::string& name, std::optional<std::uint64_t> since,
                  std::size_t max_frames,
                  std::function<void(std::optional<State>, std::string)> k) {
    eval(kStateLua, state_sha_,
         {key(name, "seq"), key(name, "stream"), key(name, "epoch"), key(name, "ids")},
         {since ? std::to_string(*since) : "-1", random_hex(rng_, 16), std::to_string(max_frames),
          ttl_arg()},
         [k = std::move(k)](const redisReply* r, std::string_view why) {
           auto s = parse_state(r);
           if (!s)
             return k(std::nullopt,
                      r == nullptr ? std::string(why) : "Redis answered " + std::string(str_of(r)));
           k(std::move(s), {});
         });
  }

  void do_read(const std::string& name, std::optional<std::uint64_t> since,
               const std::optional<std::string>& epoch, std::size_t max_frames, ReadHandler done) {
    if (!usable()) {
      ReadResult r;
      r.status = HubStatus::unavailable;
      r.error = unavailable_why();
      return done(std::move(r));
    }
    if (max_frames == 0 && since)
      max_frames = 1;  // 0 in the script means all; read one, report none
    if (admitted(name))
      return read_admitted(name, since, epoch, max_frames, std::move(done));
    admit(name, [self = shared_from_this(), name, since, epoch, max_frames, done = std::move(done)](
                    Admission a, std::string why) mutable {
      if (a != Admission::ok)
        return done(refused<ReadResult>(a, std::move(why)));
      self->read_admitted(name, since, epoch, max_frames, std::move(done));
    });
  }

  void read_admitted(const std::string& name, std::optional<std::uint64_t> since,
                     const std::optional<std::string>& epoch, std::size_t max_frames,
                     ReadHandler done) {
    read_state(name, since, since ? max_frames : 0,
               [since, epoch, max_frames, done = std::move(done)](std::optional<State> s,
                                                                  std::string why) {
                 ReadResult r;
                 if (!s) {
                   r.status = HubStatus::unavailable;
                   r.error = why;
                   return done(std::move(r));
                 }
                 r.last_seq = s->last;
                 r.epoch = s->epoch;
                 r.cursor = s->last;
                 r.recovered = since && s->recovered && (!epoch || *epoch == s->epoch);
                 if (r.recovered) {
                   const std::size_t n = std::min(s->frames.size(), max_frames);
                   r.frames.assign(s->frames.begin(), s->frames.begin() + static_cast<long>(n));
                   r.cursor = *since + n;
                 }
                 done(std::move(r));
               });
  }

  // ---- subscribe -------------------------------------------------------------------------

  Channel& channel(const std::string& name) {
    auto [it, fresh] = channels_.try_emplace(name);
    if (fresh) {
      it->second.name = name;
      local_channels_.store(channels_.size(), std::memory_order_relaxed);
    }
    return it->second;
  }

  void do_subscribe(const std::string& name, const std::shared_ptr<SubscribeRequest>& req) {
    if (!usable()) {
      SubscribeResult r;
      r.status = HubStatus::unavailable;
      r.error = unavailable_why();
      if (req->done)
        req->done(std::move(r));
      return;
    }
    if (channels_.count(name) == 0 && !admitted(name)) {
      // A channel new to this node counts against --max-channels before it is used.
      return admit(name, [self = shared_from_this(), name, req](Admission a, std::string why) {
        if (a != Admission::ok) {
          if (req->done)
            req->done(refused<SubscribeResult>(a, std::move(why)));
          for (auto& d : req->then_unsubscribe)
            if (d)
              d();
          return;
        }
        self->subscribe_admitted(name, req);
      });
    }
    subscribe_admitted(name, req);
  }

  void subscribe_admitted(const std::string& name, const std::shared_ptr<SubscribeRequest>& req) {
    Channel& ch = channel(name);
    if (ch.touched == SteadyClock::time_point{})
      ch.touched = SteadyClock::now();  // its state read renews the TTL
    ch.waiting.push_back(req);
    if (ch.pubsub == Channel::PubSub::none)
      send_subscribe(ch);
    else if (ch.pubsub == Channel::PubSub::live && ch.synced && !ch.syncing)
      run_waiting(ch);
  }

  void send_subscribe(Channel& ch) {
    if (!sub_ || sub_->context() == nullptr || !sub_ready_)
      return;
    ch.pubsub = Channel::PubSub::subscribing;
    send_raw(*sub_, {"SUBSCRIBE", key(ch.name, "msg")}, &Impl::on_pubsub, this);
  }

  void run_waiting(Channel& ch) {
    while (!ch.waiting.empty()) {
      auto req = std::move(ch.waiting.front());
      ch.waiting.pop_front();
      if (req->finished)
        continue;
      ch.reading.push_back(req);
      const std::string name = ch.name;
      read_state(name, req->since, 0,
                 [self = shared_from_this(), name, req](std::optional<State> s, std::string why) {
                   self->on_subscribe_state(name, req, std::move(s), std::move(why));
                 });
    }
  }

  void finish_request(Channel& ch, const std::shared_ptr<SubscribeRequest>& req, SubscribeResult r,
                      bool register_it, std::uint64_t cursor) {
    std::erase(ch.reading, req);
    if (req->finished)
      return;
    req->finished = true;
    if (req->done)
      req->done(std::move(r));
    auto strong = req->subscriber.lock();
    if (register_it && strong && req->then_unsubscribe.empty()) {
      if (auto* reg = ch.find(req->key)) {
        reg->subscriber = req->subscriber;
        reg->cursor = cursor;
      } else {
        ch.subs.push_back({req->key, req->subscriber, cursor});
      }
    }
    if (!req->then_unsubscribe.empty())
      ch.remove(req->key);
    for (auto& d : req->then_unsubscribe)
      if (d)
        d();
  }

  void on_subscribe_state(const std::string& name, const std::shared_ptr<SubscribeRequest>& req,
                          std::optional<State> s, std::string why) {
    auto it = channels_.find(name);
    if (it == channels_.end())
      return;
    Channel& ch = it->second;
    if (!s) {
      SubscribeResult r;
      r.status = HubStatus::unavailable;
      r.error = "Redis is unavailable: " + why;
      return finish_request(ch, req, std::move(r), false, 0);
    }
    if (s->epoch != ch.epoch || ch.syncing) {
      // The node's view of the channel is stale (history lost, or a catch-up under way):
      // catch the channel up first, then answer from the new view.
      std::erase(ch.reading, req);
      ch.waiting.push_front(req);
      if (s->epoch != ch.epoch)
        sync(ch);
      return;
    }
    SubscribeResult r;
    r.epoch = s->epoch;
    const bool epoch_ok = !req->epoch || *req->epoch == s->epoch;
    r.recovered = req->since && s->recovered && epoch_ok;
    std::uint64_t cursor = std::max(s->last, ch.head);
    r.last_seq = cursor;
    if (r.recovered) {
      r.replay = std::move(s->frames);
      if (ch.head > s->last) {
        // Read before the live path reached head: the rest is in the ring, or read again.
        auto more = ch.ring_after(s->last);
        if (!more) {
          std::erase(ch.reading, req);
          ch.waiting.push_front(req);
          return run_waiting(ch);
        }
        r.replay.insert(r.replay.end(), more->begin(), more->end());
      }
    }
    finish_request(ch, req, std::move(r), true, cursor);
  }

  void do_unsubscribe(const std::string& name, const Subscriber* key_ptr, DoneHandler done) {
    if (admitting_.count(name) != 0) {
      // Behind the subscribe that waits for the name's admission (admit()).
      return admit(name, [self = shared_from_this(), name, key_ptr, done = std::move(done)](
                             Admission, std::string) mutable {
        self->do_unsubscribe(name, key_ptr, std::move(done));
      });
    }
    auto it = channels_.find(name);
    if (it != channels_.end()) {
      Channel& ch = it->second;
      auto pending = [&](auto& list) -> std::shared_ptr<SubscribeRequest> {
        for (auto& r : list)
          if (r->key == key_ptr && !r->finished)
            return r;
        return nullptr;
      };
      auto req = pending(ch.reading);
      if (!req)
        req = pending(ch.waiting);
      if (req) {
        req->then_unsubscribe.push_back(std::move(done));  // after its answer
        return;
      }
      ch.remove(key_ptr);
    }
    if (done)
      done();
  }

  // ---- pub/sub ---------------------------------------------------------------------------

  static void on_pubsub(redisAsyncContext*, void* reply, void* priv) {
    const auto* r = static_cast<const redisReply*>(reply);
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
      return;
    static_cast<Impl*>(priv)->on_pubsub_reply(r);
  }

  void on_pubsub_reply(const redisReply* r) {
    const std::string_view kind = str_of(r->element[0]);
    std::string_view chan = str_of(r->element[1]);
    if (chan == control_channel_) {
      if (kind == "message")
        on_control(str_of(r->element[2]));
      return;
    }
    // steadyws:{NAME}:msg -> NAME
    if (chan.size() < 15)
      return;
    const std::string name(chan.substr(10, chan.size() - 15));
    auto it = channels_.find(name);
    if (it == channels_.end())
      return;
    Channel& ch = it->second;
    if (kind == "subscribe") {
      ch.pubsub = Channel::PubSub::live;
      sync(ch);
    } else if (kind == "unsubscribe") {
      ch.pubsub = Channel::PubSub::none;
      ch.synced = false;
      ch.ring.clear();
      ch.early.clear();
      if (ch.in_use())
        send_subscribe(ch);
      else
        channels_.erase(it);
      local_channels_.store(channels_.size(), std::memory_order_relaxed);
    } else if (kind == "message") {
      on_message(ch, str_of(r->element[2]));
    }
  }

  // "<seq> <epoch> <frame>"
  void on_message(Channel& ch, std::string_view payload) {
    const auto sp1 = payload.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : payload.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos)
      return;
    std::uint64_t seq = 0;
    auto [p, ec] = std::from_chars(payload.data(), payload.data() + sp1, seq);
    if (ec != std::errc() || p != payload.data() + sp1)
      return;
    std::string epoch(payload.substr(sp1 + 1, sp2 - sp1 - 1));
    if (!ch.synced || ch.syncing || epoch != ch.epoch) {
      ch.early[seq] = {std::move(epoch), make_frame(std::string(payload.substr(sp2 + 1)))};
      if (ch.synced && !ch.syncing)
        sync(ch);  // another epoch: the history was lost
      return;
    }
    if (seq <= ch.head)
      return;  // already delivered (a catch-up read brought it)
    if (seq != ch.head + 1) {
      ch.early[seq] = {std::move(epoch), make_frame(std::string(payload.substr(sp2 + 1)))};
      return sync(ch);  // a gap: read it from the stream
    }
    apply(ch, seq, make_frame(std::string(payload.substr(sp2 + 1))));
  }

  // Hands seq (== head + 1) to every local subscriber current to seq - 1.
  void apply(Channel& ch, std::uint64_t seq, const Frame& frame) {
    ch.head = seq;
    ch.ring.emplace_back(seq, frame);
    if (ch.ring.size() > kRing)
      ch.ring.pop_front();
    std::vector<std::shared_ptr<Subscriber>> keep;  // destroyed after the loop
    for (std::size_t i = 0; i < ch.subs.size();) {
      auto& reg = ch.subs[i];
      auto s = reg.subscriber.lock();
      if (!s) {
        ch.subs.erase(ch.subs.begin() + static_cast<long>(i));
        continue;
      }
      if (reg.cursor + 1 == seq) {
        s->deliver(ch.name, seq, frame);
        reg.cursor = seq;
      } else if (reg.cursor < seq) {
        reg.cursor = seq;  // cannot happen (invariant 3); never deliver out of order
      }
      keep.push_back(std::move(s));
      ++i;
    }
  }

  // Catch-up: reads the channel's state and the frames after head, then applies what came
  // live meanwhile. The first sync after a SUBSCRIBE only learns epoch and head.
  void sync(Channel& ch) {
    if (ch.syncing || !usable())
      return;
    ch.syncing = true;
    const std::string name = ch.name;
    const bool first = !ch.synced;
    read_state(name, first ? std::nullopt : std::optional<std::uint64_t>(ch.head), 0,
               [self = shared_from_this(), name, first](std::optional<State> s, std::string) {
                 auto it = self->channels_.find(name);
                 if (it == self->channels_.end())
                   return;
                 self->on_sync(it->second, first, std::move(s));
               });
  }

  void on_sync(Channel& ch, bool first, std::optional<State> s) {
    ch.syncing = false;
    if (!s)
      return;  // Redis went away: the reconnect syncs again
    if (first) {
      ch.epoch = s->epoch;
      ch.head = s->last;
      ch.synced = true;
      for (auto& reg : ch.subs)
        reg.cursor = std::max(reg.cursor, ch.head);  // subscribers resumed without Redis
    } else if (s->epoch != ch.epoch || !s->recovered) {
      // CONTRACT §5: the history is gone: recovered:false, then the new epoch's messages.
      ch.epoch = s->epoch;
      ch.head = s->last;
      ch.ring.clear();
      std::vector<std::shared_ptr<Subscriber>> keep;
      for (auto& reg : ch.subs) {
        reg.cursor = ch.head;
        if (auto sub = reg.subscriber.lock()) {
          sub->reset(ch.name, ch.head, ch.epoch);
          keep.push_back(std::move(sub));
        }
      }
    } else {
      std::uint64_t seq = ch.head;
      for (auto& f : s->frames)
        apply(ch, ++seq, f);
    }
    // What came live meanwhile, in order; a gap left means another read.
    bool gap = false;
    for (auto it = ch.early.begin(); it != ch.early.end();) {
      if (it->second.epoch != ch.epoch || it->first <= ch.head) {
        if (it->second.epoch != ch.epoch && it->first > ch.head) {
          gap = true;  // a newer epoch than our read: read again
          break;
        }
        it = ch.early.erase(it);
        continue;
      }
      if (it->first != ch.head + 1) {
        gap = true;
        break;
      }
      apply(ch, it->first, it->second.frame);
      it = ch.early.erase(it);
    }
    if (gap)
      return sync(ch);
    run_waiting(ch);
  }

  RedisHubConfig config_;
  net::strand<net::io_context::executor_type> strand_;
  net::steady_timer tick_;
  net::steady_timer reconnect_timer_;
  std::mt19937_64 rng_;
  Backoff backoff_;
  const std::string publish_sha_;
  const std::string state_sha_;
  const std::string heartbeat_sha_;
  const std::string touch_sha_;
  const std::string admit_sha_;
  const std::string session_put_sha_;
  const std::string session_sub_sha_;
  const std::string session_get_sha_;
  const std::string control_channel_;
  // Channels this node admitted into the index (--max-channels), with when it last refreshed
  // their entry; emptied when Redis is lost (it may come back without the index).
  std::unordered_map<std::string, SteadyClock::time_point> admitted_;
  // Names whose admission is asked, with the uses waiting for the answer (admit()).
  std::unordered_map<std::string, std::vector<Admitted>> admitting_;
  SteadyClock::time_point admitted_pruned_{};
  std::string instance_;
  std::string id_prefix_;
  std::int64_t started_at_ms_ = 0;
  mutable std::mutex address_mu_;  // address_: set by the server's thread, read by heartbeat()
  std::string address_;

  std::shared_ptr<Conn> cmd_;
  std::shared_ptr<Conn> sub_;
  bool cmd_ready_ = false;
  bool sub_ready_ = false;
  bool setup_failed_ = false;
  bool stalled_ = false;
  bool stopped_ = false;
  bool ever_up_ = false;
  bool reconnect_pending_ = false;
  bool tearing_down_ = false;
  bool fresh_connection_ = false;  // connected, not up yet since
  std::uint64_t generation_ = 0;   // of the connections; lost() reports are per generation
  std::optional<SteadyClock::time_point> connect_deadline_;
  SteadyClock::time_point last_heartbeat_{};
  std::deque<std::shared_ptr<Op>> inflight_;
  std::unordered_map<std::string, Channel> channels_;
  std::vector<std::string> logged_;

  std::atomic<bool> up_{false};
  std::atomic<bool> duplicate_{false};
  std::atomic<std::uint64_t> next_id_{0};
  std::atomic<std::size_t> local_channels_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  mutable std::mutex nodes_mu_;  // nodes_ and the rtt figures
  std::vector<NodeInfo> nodes_;
  double rtt_sum_ = 0;
  double rtt_last_ = 0;
  std::uint64_t commands_ = 0;
};

bool Conn::connect(const RedisUrl& url, std::string& error) {
  ac_ = redisAsyncConnect(url.host.c_str(), url.port);
  if (ac_ == nullptr) {
    error = "out of memory";
    return false;
  }
  if (ac_->err != 0) {
    error = ac_->errstr;
    redisAsyncFree(ac_);
    ac_ = nullptr;
    return false;
  }
  ac_->data = this;
  boost::system::error_code ec;
  sd_.assign(ac_->c.fd, ec);
  if (ec) {
    error = ec.message();
    redisAsyncFree(ac_);
    ac_ = nullptr;
    return false;
  }
  ac_->ev.data = this;
  ac_->ev.addRead = &Conn::add_read;
  ac_->ev.delRead = &Conn::del_read;
  ac_->ev.addWrite = &Conn::add_write;
  ac_->ev.delWrite = &Conn::del_write;
  ac_->ev.cleanup = &Conn::cleanup;
  redisAsyncSetConnectCallback(ac_, &Conn::on_connect);  // arms the first write wait
  redisAsyncSetDisconnectCallback(ac_, &Conn::on_disconnect);
  return true;
}

void Conn::on_connect(const redisAsyncContext* ac, int status) {
  Conn* c = of(ac);
  if (status != REDIS_OK) {
    // hiredis frees the context after this returns.
    c->hub_.on_conn_down(ac->errstr != nullptr ? ac->errstr : "connect failed");
    return;
  }
  c->hub_.on_conn_up(*c);
}

void Conn::on_disconnect(const redisAsyncContext* ac, int status) {
  Conn* c = of(ac);
  c->connected = false;
  c->hub_.on_conn_down(status == REDIS_OK
                           ? "disconnected"
                           : (ac->errstr != nullptr ? ac->errstr : "connection lost"));
}

}  // namespace

std::shared_ptr<RedisHub> make_redis_hub(boost::asio::io_context& ioc, RedisHubConfig config) {
  return std::make_shared<Impl>(ioc, std::move(config));
}

}  // namespace steadyws::hub::redis
