// The hub: channels, per-channel sequence numbers, epochs, history and publish dedup.
//
// An interface with two implementations: the embedded default (make_memory_hub) is
// in-memory and single-node; the Redis hub (src/hub/redis/, CONTRACT §5) makes the server one
// node of a cluster. Pure: no sockets, threads or clock reads; the caller passes timestamps in.
//
// Asynchronous: subscribe, unsubscribe, publish and read complete through a callback. The
// memory hub calls it inline, before the call returns, on the caller's thread; the Redis hub
// calls it later from its own thread (a Redis round trip must never block an I/O thread).
// A caller that must run on its own strand posts the completion there when it did not run
// inline. The callback is called exactly once. The non-virtual subscribe/publish/read/
// unsubscribe wrappers return the result directly: for hubs that complete inline only
// (tests, benchmarks, the memory hub).
//
// Thread-safety: every method may be called from any thread. Each channel has its own lock;
// there is no global lock on the publish path. Subscriber::deliver is called while the
// channel's lock is held, in seq order, so it must be cheap and must not call back into the
// hub (a session posts the frame to its own strand and returns). The hub holds subscribers
// by weak_ptr: a subscriber that dies needs no unsubscribe (it is pruned lazily), and a
// Subscriber's destructor never runs under a channel lock. A subscribe's completion that
// does not run inline is called before the first deliver() of that subscription.
//
// Channels are created on first use by subscribe, publish and read (unsubscribe never
// creates one) and removed by expire_idle() once idle; see docs/core/health-and-hub.md for
// the rules in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "hub/frame.hpp"

namespace steadyws::hub {

// hub::Frame, hub::make_frame: one serialized `message` frame shared by every subscriber and by
// history, with its shared compressed form (hub/frame.hpp).

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // A new message on `channel`. Called with the channel's lock held, in seq order, at most
  // once per seq. Must not throw and must not call into the hub.
  virtual void deliver(std::string_view channel, std::uint64_t seq, const Frame& frame) = 0;
  // The channel's history was lost under a live subscription (a Redis restarted empty, say):
  // nothing up to `last_seq` of the new `epoch` will be delivered; delivery continues after
  // it. CONTRACT §5: the subscriber is told recovered:false before any message of the new
  // epoch. Same calling rules as deliver(). The memory hub never calls it.
  virtual void reset(std::string_view channel, std::uint64_t last_seq, std::string_view epoch) {
    (void)channel;
    (void)last_seq;
    (void)epoch;
  }
};

// Whether the hub could do what was asked. unavailable: the shared store (Redis) is down,
// unreachable or did not answer in time; nothing was registered, and a publish may or may
// not have been stored (never acknowledge it). CONTRACT §5.
enum class HubStatus { ok, unavailable };

struct SubscribeResult {
  HubStatus status = HubStatus::ok;
  std::string error;           // why, when status != ok: for the error frame and the log
  std::uint64_t last_seq = 0;  // the channel's last seq when the subscription took effect
  std::string epoch;
  bool recovered = false;     // see Hub::subscribe
  std::vector<Frame> replay;  // frames after `since`, in order; empty unless recovered
  // The channel did not exist and the hub already holds max_channels: nothing was done.
  bool limited = false;
};

struct PublishResult {
  HubStatus status = HubStatus::ok;
  std::string error;
  std::uint64_t seq = 0;
  std::string id;          // the publisher's id, or the generated one
  bool duplicate = false;  // the id was already accepted on this channel: first ack again
  bool limited = false;    // as SubscribeResult::limited: not published
};

struct ReadResult {
  HubStatus status = HubStatus::ok;
  std::string error;
  std::uint64_t last_seq = 0;
  std::string epoch;
  bool recovered = false;
  std::vector<Frame> frames;  // in seq order
  // The `since` to pass next time (the poll's cursor, CONTRACT §3): the seq of the last
  // frame read when recovered, else last_seq (nothing more to read, or a gap already
  // reported by recovered:false). Differs from last_seq when max_frames cut the read short.
  std::uint64_t cursor = 0;
  bool limited = false;  // as SubscribeResult::limited
};

struct HubCounts {
  std::size_t channels = 0;   // live now
  std::uint64_t expired = 0;  // removed by expire_idle() so far
};

struct HubStats {
  std::size_t channels = 0;       // live now
  std::uint64_t expired = 0;      // removed by expire_idle() so far
  std::size_t subscriptions = 0;  // registrations, counting dead ones not yet pruned
  std::uint64_t published = 0;
  std::uint64_t duplicates = 0;
};

using SubscribeHandler = std::function<void(SubscribeResult)>;
using PublishHandler = std::function<void(PublishResult)>;
using ReadHandler = std::function<void(ReadResult)>;
using DoneHandler = std::function<void()>;

class Hub {
 public:
  virtual ~Hub() = default;

  // Adds `subscriber` to `channel` (creating the channel) and, atomically with that, decides
  // resume: with `since`, when `epoch` is absent or equals the channel's epoch and history
  // still holds every message after `since`, `replay` holds them and recovered is true;
  // otherwise recovered is false and nothing is replayed (never a partial or silent gap).
  // Without `since`, recovered is false. No message is both replayed and delivered live.
  // Subscribing again with the same subscriber replaces nothing and adds no second copy.
  // An expired `subscriber` gets the answer but is not registered. last_seq is the seq the
  // subscriber is current to: replay ends there and live delivery starts after it.
  // `done` gets the answer (and is called before the first deliver() to `subscriber`).
  virtual void async_subscribe(std::string_view channel, std::weak_ptr<Subscriber> subscriber,
                               std::optional<std::uint64_t> since,
                               std::optional<std::string_view> epoch, SubscribeHandler done) = 0;

  // Removes `subscriber` from `channel`; a no-op when it is not subscribed. No deliver() to
  // it on `channel` follows `done` (which may be empty); a subscribe of the same subscriber
  // still in progress completes first.
  virtual void async_unsubscribe(std::string_view channel, const Subscriber* subscriber,
                                 DoneHandler done) = 0;

  // Assigns the next seq, serializes the `message` frame once, keeps it in history and
  // delivers it to every subscriber. An `id` already accepted on the channel (while still in
  // history) is a duplicate: nothing is delivered and the first publish's seq is returned.
  // Without an id the hub generates one, "<epoch>-<seq>", unique within the channel's
  // epoch; generated ids deduplicate like given ones.
  // REQUIRES: channel valid per protocol::is_valid_channel, id <= 64 chars.
  // `data` is only read during the call. Redis hub: unavailable unless stored within 5 s.
  virtual void async_publish(std::string_view channel, std::optional<std::string_view> id,
                             const boost::json::value& data, std::int64_t timestamp_ms,
                             PublishHandler done) = 0;

  // Reads history after `since` (for HTTP long polling) with the same recovered rule as
  // subscribe, at most `max_frames` frames (the oldest first; 0 reads none). Without
  // `since` nothing is read and last_seq is the channel's last seq.
  virtual void async_read(std::string_view channel, std::optional<std::uint64_t> since,
                          std::optional<std::string_view> epoch, std::size_t max_frames,
                          ReadHandler done) = 0;

  // Removes every channel that had no live subscriber and saw no subscribe, unsubscribe,
  // publish or read since the previous call (mark and sweep: called every T, a channel goes
  // after between T and 2T of idleness). Its history and epoch go with it: the name's next
  // use creates a new channel with a new epoch, so a resume with the old epoch is answered
  // recovered:false, never a silent gap. Returns how many channels were removed.
  virtual std::size_t expire_idle() = 0;

  // Channels live now and removed so far: cheap (two atomics, no lock), for /metrics.
  virtual HubCounts counts() const = 0;

  // Walks every channel under its lock: for tests and diagnostics, not a hot path.
  virtual HubStats stats() const = 0;

  // Synchronous forms, for hubs that complete inline (the memory hub: tests, benchmarks).
  // On a hub that does not, they return status unavailable at once and the late answer is
  // dropped.
  SubscribeResult subscribe(std::string_view channel, std::weak_ptr<Subscriber> subscriber,
                            std::optional<std::uint64_t> since,
                            std::optional<std::string_view> epoch) {
    return wait_inline<SubscribeResult>([&](auto done) {
      async_subscribe(channel, std::move(subscriber), since, epoch, std::move(done));
    });
  }
  void unsubscribe(std::string_view channel, const Subscriber* subscriber) {
    async_unsubscribe(channel, subscriber, {});
  }
  PublishResult publish(std::string_view channel, std::optional<std::string_view> id,
                        const boost::json::value& data, std::int64_t timestamp_ms) {
    return wait_inline<PublishResult>(
        [&](auto done) { async_publish(channel, id, data, timestamp_ms, std::move(done)); });
  }
  ReadResult read(std::string_view channel, std::optional<std::uint64_t> since,
                  std::optional<std::string_view> epoch, std::size_t max_frames) {
    return wait_inline<ReadResult>(
        [&](auto done) { async_read(channel, since, epoch, max_frames, std::move(done)); });
  }

 private:
  template <class R, class Start>
  static R wait_inline(Start&& start) {
    auto slot = std::make_shared<std::optional<R>>();
    start([slot](R r) { *slot = std::move(r); });
    if (*slot) {
      return std::move(**slot);
    }
    R r;
    r.status = HubStatus::unavailable;
    r.error = "the hub did not complete inline";
    return r;
  }
};

struct MemoryHubConfig {
  // 1000 (--history): messages kept per channel for resume and dedup. 0 keeps none: no
  // resume (recovered only for since == last_seq) and no dedup.
  std::size_t history = 1000;
  // Unique per process start (the server draws it at random), so that an epoch from before
  // a restart never matches one after it (CONTRACT §2). A channel's epoch is
  // "<node_id>:<n>" with n counting the channels this hub created. Keep it to 16 characters
  // or fewer so that generated ids ("<epoch>-<seq>") stay within the contract's 64.
  std::string node_id = "node";
  // --max-channels (CONTRACT §8): a subscribe, publish or read that would create a channel
  // beyond this many is refused with `limited` set. 0 = no limit.
  std::size_t max_channels = 0;
};

// The in-memory, single-node hub (src/hub/memory_hub.cpp): per-channel locks under a
// sharded channel map, history ring per channel, dedup map evicted with the ring.
std::unique_ptr<Hub> make_memory_hub(MemoryHubConfig config);

}  // namespace steadyws::hub
