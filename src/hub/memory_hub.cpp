// The in-memory, single-node Hub (make_memory_hub).
//
// Representation:
// - Channels live in kShards shards chosen by the name's hash. A shard's shared_mutex guards
//   only its name -> Channel map: lookups take it shared, creation and expire_idle()
//   exclusive. Each Channel has its own mutex guarding everything below it.
// - The map holds shared_ptr<Channel>. An operation copies it under the shard's shared lock,
//   releases that lock, then locks the channel: it never waits for a channel while holding a
//   shard lock, so a contended channel cannot keep its shard read-locked and starve channel
//   creation, and the publish path delivers holding only its channel's lock.
// - Removal (expire_idle): under the shard's exclusive lock it only try-locks channels (a
//   busy channel is in use: its idle mark is being cleared anyway), marks an idle one
//   `removed` and erases it from the map; the channels are freed after the shard's lock is
//   released (or by the last operation still holding a reference). An operation that looked a
//   channel up before its removal finds `removed` once it holds the channel's lock and looks
//   the name up again: nothing is ever published into, subscribed to or read from a removed
//   channel.
//
// Channel invariants (with its mutex held):
//   1. last_seq is the seq of the last accepted publish; 0 before the first.
//   2. history holds min(last_seq, capacity) entries; the entry for seq s sits at index
//      (s - 1) % capacity, so the oldest kept seq is last_seq - history.size() + 1.
//   3. ids maps every id of an entry in history to that entry's seq, and nothing else: an id
//      leaves ids when its entry is overwritten (its node is reused for the new id).
//   4. index maps each registered Subscriber* to its position in subscribers.
//   5. idle is true only if expire_idle() set it and no operation used the channel since.
#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hub/hub.hpp"
#include "protocol/codec.hpp"
#include "protocol/messages.hpp"

namespace steadyws::hub {
namespace {

// 16 shards: channel creation is rare and lookups take the lock shared, so this only has to
// keep the shared_mutex's cache line from being the one every publish on every channel
// touches.
constexpr std::size_t kShards = 16;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Entry {
  std::uint64_t seq = 0;
  Frame frame;
  std::string id;
};

struct Registration {
  const Subscriber* key = nullptr;  // identity for unsubscribe and duplicate subscribes
  std::weak_ptr<Subscriber> subscriber;
};

struct Channel {
  Channel(std::string n, std::string e, std::size_t c)
      : name(std::move(n)), epoch(std::move(e)), capacity(c) {}

  // The seq just before the oldest one kept in history: a `since` at or above it can resume.
  std::uint64_t resumable_from() const { return last_seq - history.size(); }
  const Frame& frame_of(std::uint64_t seq) const {
    return history[static_cast<std::size_t>((seq - 1) % capacity)].frame;
  }
  // CONTRACT §2: with `since`, when `epoch` is absent or matches and history still holds
  // every message after `since`. since == last_seq holds all of none, so it resumes.
  bool can_resume(std::optional<std::uint64_t> since,
                  std::optional<std::string_view> asked_epoch) const {
    if (!since) {
      return false;
    }
    if (asked_epoch && *asked_epoch != epoch) {
      return false;
    }
    return *since <= last_seq && *since >= resumable_from();
  }

  void remove_at(std::size_t i) {
    index.erase(subscribers[i].key);
    if (i + 1 != subscribers.size()) {
      subscribers[i] = std::move(subscribers.back());
      index[subscribers[i].key] = i;
    }
    subscribers.pop_back();
  }

  mutable std::mutex mu;
  const std::string name;
  const std::string epoch;
  const std::size_t capacity;
  std::uint64_t last_seq = 0;
  std::vector<Entry> history;
  StringMap<std::uint64_t> ids;
  std::vector<Registration> subscribers;
  std::unordered_map<const Subscriber*, std::size_t> index;
  std::uint64_t published = 0;
  std::uint64_t duplicates = 0;
  bool idle = false;     // marked by one expire_idle(), removed by the next (invariant 5)
  bool removed = false;  // erased from the map: look the name up again
};

class MemoryHub final : public Hub {
 public:
  explicit MemoryHub(MemoryHubConfig config) : config_(std::move(config)) {}

  // The memory hub completes every call inline.
  void async_subscribe(std::string_view name, std::weak_ptr<Subscriber> subscriber,
                       std::optional<std::uint64_t> since, std::optional<std::string_view> epoch,
                       SubscribeHandler done) override {
    SubscribeResult r = do_subscribe(name, std::move(subscriber), since, epoch);
    if (done) {
      done(std::move(r));
    }
  }

  void async_unsubscribe(std::string_view name, const Subscriber* subscriber,
                         DoneHandler done) override {
    do_unsubscribe(name, subscriber);
    if (done) {
      done();
    }
  }

  void async_publish(std::string_view name, std::optional<std::string_view> id,
                     const boost::json::value& data, std::int64_t timestamp_ms,
                     PublishHandler done) override {
    PublishResult r = do_publish(name, id, data, timestamp_ms);
    if (done) {
      done(std::move(r));
    }
  }

  void async_read(std::string_view name, std::optional<std::uint64_t> since,
                  std::optional<std::string_view> epoch, std::size_t max_frames,
                  ReadHandler done) override {
    ReadResult r = do_read(name, since, epoch, max_frames);
    if (done) {
      done(std::move(r));
    }
  }

  SubscribeResult do_subscribe(std::string_view name, std::weak_ptr<Subscriber> subscriber,
                               std::optional<std::uint64_t> since,
                               std::optional<std::string_view> epoch) {
    // Declared before the lock: if this was the last strong reference, the subscriber's
    // destructor runs after the channel's lock is released.
    const std::shared_ptr<Subscriber> strong = subscriber.lock();
    const Locked locked = lock_channel(name);
    SubscribeResult r;
    if (locked.channel == nullptr) {
      r.limited = true;
      return r;
    }
    Channel& c = *locked.channel;
    r.last_seq = c.last_seq;
    r.epoch = c.epoch;
    if (c.can_resume(since, epoch)) {
      r.recovered = true;
      r.replay.reserve(static_cast<std::size_t>(c.last_seq - *since));
      for (std::uint64_t s = *since + 1; s <= c.last_seq; ++s) {
        r.replay.push_back(c.frame_of(s));
      }
    }
    if (strong) {
      const auto it = c.index.find(strong.get());
      if (it == c.index.end()) {
        c.index.emplace(strong.get(), c.subscribers.size());
        c.subscribers.push_back({strong.get(), std::move(subscriber)});
      } else {
        // Already registered (one copy kept), or a dead subscriber whose address was reused:
        // either way the slot now holds this one.
        c.subscribers[it->second].subscriber = std::move(subscriber);
      }
    }
    return r;
  }

  void do_unsubscribe(std::string_view name, const Subscriber* subscriber) {
    const Locked locked = lock_channel(name, /*create=*/false);
    if (locked.channel == nullptr) {
      return;  // an unknown name is not created
    }
    Channel& c = *locked.channel;
    const auto it = c.index.find(subscriber);
    if (it != c.index.end()) {
      c.remove_at(it->second);
    }
  }

  PublishResult do_publish(std::string_view name, std::optional<std::string_view> id,
                           const boost::json::value& data, std::int64_t timestamp_ms) {
    assert(protocol::is_valid_channel(name));
    assert(!id || (!id->empty() && id->size() <= 4 * protocol::kMaxIdLength));
    // Strong references taken for deliver() are released only after the lock (destruction
    // order is the reverse of declaration), so no Subscriber's destructor runs under it.
    std::vector<std::shared_ptr<Subscriber>> delivered;
    const Locked locked = lock_channel(name);
    if (locked.channel == nullptr) {
      PublishResult limited;
      limited.limited = true;
      return limited;
    }
    Channel& c = *locked.channel;

    if (id) {
      const auto dup = c.ids.find(*id);
      if (dup != c.ids.end()) {
        ++c.duplicates;
        PublishResult d;
        d.seq = dup->second;
        d.id = dup->first;
        d.duplicate = true;
        return d;
      }
    }

    const std::uint64_t seq = ++c.last_seq;
    ++c.published;
    PublishResult r;
    r.seq = seq;
    // A generated id is "<epoch>-<seq>": unique within the channel's epoch because seq is,
    // and across epochs because the epoch is.
    r.id = id ? std::string(*id) : c.epoch + "-" + std::to_string(seq);

    std::string text;
    protocol::serialize_message(text, name, seq, r.id, data, timestamp_ms);
    const Frame shared = make_frame(std::move(text));

    remember(c, seq, r.id, shared);

    delivered.reserve(c.subscribers.size());
    for (std::size_t i = 0; i < c.subscribers.size();) {
      std::shared_ptr<Subscriber> s = c.subscribers[i].subscriber.lock();
      if (!s) {
        c.remove_at(i);  // expired: pruned here, lazily; the swapped-in one is next
        continue;
      }
      s->deliver(c.name, seq, shared);
      delivered.push_back(std::move(s));
      ++i;
    }
    return r;
  }

  ReadResult do_read(std::string_view name, std::optional<std::uint64_t> since,
                     std::optional<std::string_view> epoch, std::size_t max_frames) const {
    const Locked locked = lock_channel(name);
    ReadResult r;
    if (locked.channel == nullptr) {
      r.limited = true;
      return r;
    }
    const Channel& c = *locked.channel;
    r.last_seq = c.last_seq;
    r.epoch = c.epoch;
    r.cursor = c.last_seq;
    if (c.can_resume(since, epoch)) {
      r.recovered = true;
      const std::uint64_t n = std::min<std::uint64_t>(c.last_seq - *since, max_frames);
      r.frames.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t s = *since + 1; s <= *since + n; ++s) {
        r.frames.push_back(c.frame_of(s));
      }
      r.cursor = *since + n;
    }
    return r;
  }

  std::size_t expire_idle() override {
    std::vector<std::shared_ptr<Channel>> removed;  // freed after the shard locks
    for (Shard& shard : shards_) {
      std::unique_lock shard_lock(shard.mu);
      for (auto it = shard.channels.begin(); it != shard.channels.end();) {
        Channel& c = *it->second;
        std::unique_lock lock(c.mu, std::try_to_lock);
        if (!lock.owns_lock()) {
          ++it;  // in use right now: not idle
          continue;
        }
        for (std::size_t i = 0; i < c.subscribers.size();) {
          if (c.subscribers[i].subscriber.expired()) {
            c.remove_at(i);  // expired() makes no strong reference: no destructor here
          } else {
            ++i;
          }
        }
        if (!c.subscribers.empty() || !c.idle) {
          c.idle = c.subscribers.empty();
          ++it;
          continue;
        }
        c.removed = true;
        lock.unlock();
        removed.push_back(std::move(it->second));
        it = shard.channels.erase(it);
      }
    }
    channels_.fetch_sub(removed.size(), std::memory_order_relaxed);
    expired_.fetch_add(removed.size(), std::memory_order_relaxed);
    return removed.size();
  }

  HubCounts counts() const override {
    return {channels_.load(std::memory_order_relaxed), expired_.load(std::memory_order_relaxed)};
  }

  HubStats stats() const override {
    HubStats st;
    st.expired = expired_.load(std::memory_order_relaxed);
    for (const Shard& shard : shards_) {
      std::shared_lock shard_lock(shard.mu);
      st.channels += shard.channels.size();
      for (const auto& [name, c] : shard.channels) {
        std::lock_guard lock(c->mu);
        st.subscriptions += c->subscribers.size();
        st.published += c->published;
        st.duplicates += c->duplicates;
      }
    }
    return st;
  }

 private:
  struct Shard {
    mutable std::shared_mutex mu;
    StringMap<std::shared_ptr<Channel>> channels;
  };

  Shard& shard_of(std::string_view name) const { return shards_[StringHash{}(name) % kShards]; }

  // A channel with its lock held, not removed, its idle mark cleared (invariant 5); channel
  // is null when the name is unknown and `create` is false, or creating it would pass
  // max_channels. The lock is released before the
  // reference (members are destroyed in reverse order).
  struct Locked {
    std::shared_ptr<Channel> channel;
    std::unique_lock<std::mutex> lock;
  };

  // The channel called `name`, locked; created on first use with a fresh epoch unless
  // `create` is false. Const because read() uses it: a poller must learn the epoch the
  // channel's first message will carry.
  Locked lock_channel(std::string_view name, bool create = true) const {
    Shard& shard = shard_of(name);
    for (;;) {
      Locked l;
      {
        std::shared_lock lock(shard.mu);
        const auto it = shard.channels.find(name);
        if (it != shard.channels.end()) {
          l.channel = it->second;
        }
      }
      if (!l.channel) {
        if (!create) {
          return {};
        }
        l.channel = create_channel(shard, name);
        if (!l.channel) {
          return {};  // over max_channels
        }
      }
      l.lock = std::unique_lock(l.channel->mu);
      if (!l.channel->removed) {
        l.channel->idle = false;
        return l;
      }
      // Removed by expire_idle() between the lookup and the lock: the map no longer holds
      // it, so the next lookup finds (or creates) the live channel of that name.
    }
  }

  // The channel called `name` from the map, created (with a fresh epoch) when missing; null
  // when it is missing and the hub already holds max_channels (an exact bound: the count is
  // taken before the channel is made).
  std::shared_ptr<Channel> create_channel(Shard& shard, std::string_view name) const {
    std::unique_lock lock(shard.mu);
    auto it = shard.channels.find(name);
    if (it == shard.channels.end()) {
      if (config_.max_channels != 0 &&
          channels_.fetch_add(1, std::memory_order_relaxed) >= config_.max_channels) {
        channels_.fetch_sub(1, std::memory_order_relaxed);
        return nullptr;
      }
      // The epoch: "<node_id>:<n>", n counting channels created by this hub. node_id differs
      // per process start, n per channel incarnation.
      std::string epoch = config_.node_id + ":" +
                          std::to_string(next_epoch_.fetch_add(1, std::memory_order_relaxed));
      // Not make_shared: the Channel keeps its own allocation (and alignment), apart from
      // the control block.
      it = shard.channels
               .emplace(std::string(name),
                        std::shared_ptr<Channel>(
                            new Channel(std::string(name), std::move(epoch), config_.history)))
               .first;
      if (config_.max_channels == 0) {
        channels_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    return it->second;
  }

  // Keeps `frame` in history under `seq`, overwriting (and forgetting the id of) the oldest
  // entry once the ring is full. REQUIRES: c.mu held, seq == c.last_seq.
  static void remember(Channel& c, std::uint64_t seq, const std::string& id, const Frame& frame) {
    if (c.capacity == 0) {
      return;  // no history: nothing to replay, nothing to deduplicate against
    }
    if (c.history.size() < c.capacity) {
      c.history.push_back({seq, frame, id});
      c.ids.insert_or_assign(id, seq);
      return;
    }
    Entry& e = c.history[static_cast<std::size_t>((seq - 1) % c.capacity)];
    // Reuse the evicted id's map node for the new id: no allocation in the steady state.
    auto node = c.ids.extract(e.id);
    if (!node.empty() && node.mapped() != e.seq) {
      c.ids.insert(std::move(node));  // the id was re-used by a later entry: keep that one
      node = {};
    }
    e.seq = seq;
    e.frame = frame;
    e.id.assign(id);
    if (node.empty()) {
      c.ids.insert_or_assign(id, seq);
    } else {
      node.key().assign(id);
      node.mapped() = seq;
      const auto res = c.ids.insert(std::move(node));
      if (!res.inserted) {
        res.position->second = seq;
      }
    }
  }

  const MemoryHubConfig config_;
  mutable std::array<Shard, kShards> shards_;
  mutable std::atomic<std::uint64_t> next_epoch_{1};
  mutable std::atomic<std::size_t> channels_{0};
  std::atomic<std::uint64_t> expired_{0};
};

}  // namespace

std::unique_ptr<Hub> make_memory_hub(MemoryHubConfig config) {
  return std::make_unique<MemoryHub>(std::move(config));
}

}  // namespace steadyws::hub
