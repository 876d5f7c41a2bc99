// The client's offline queue: messages published while the link is down (or not yet acked)
// keep their id and their order, leave only when acked, and are bounded in count and bytes.
// Nothing is lost silently: every refusal, drop and expiry is counted in stats() and the
// dropped or expired entries are handed back to the owner.
// It is not the server's per-session write queue (that one holds shared serialized frames).
// Not thread-safe: owned by one client and used on its strand.
// Rules and defaults: docs/core/quality-poll-queue-rate.md.
//
// Invariants:
//  1. Entries are kept in enqueue order; on_disconnect() only clears in_flight flags, so a
//     resend happens in the original order.
//  2. Ids are unique among the entries (queued or in flight).
//  3. size() <= max_messages and bytes() <= max_bytes after every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "steadyws/core/time.hpp"

namespace steadyws {

enum class OverflowPolicy {
  refuse_new,   // a message that does not fit is refused (Enqueue::full); the queue is kept
  drop_oldest,  // the oldest entries (in flight or not) are dropped until the new one fits
};

struct OutboundQueueConfig {
  std::size_t max_messages = 1000;  // ORIGIN.md default; about a minute of chat-rate traffic
  std::size_t max_bytes = 1 << 20;  // 1 MiB of payload: one --max-message-bytes message fits
  OverflowPolicy overflow = OverflowPolicy::refuse_new;  // the sender decides, not the queue
  std::optional<Duration> expiry{};  // none: a message waits for a connection forever
};

enum class Enqueue { accepted, duplicate, full };

struct QueuedMessage {
  std::string id;
  std::string payload;
  TimePoint enqueued_at;
  bool in_flight = false;
  TimePoint sent_at{};  // the last mark_sent() time; meaningful only while in_flight
};

struct QueueStats {
  std::uint64_t accepted = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t refused_full = 0;
  std::uint64_t dropped_oldest = 0;
  std::uint64_t expired = 0;
  std::uint64_t acked = 0;
  std::size_t size = 0;   // entries now, queued + in flight
  std::size_t bytes = 0;  // sum of payload sizes now
};

class OutboundQueue {
 public:
  explicit OutboundQueue(OutboundQueueConfig c = {});

  // Appends a message. duplicate: an entry with this id is queued or in flight (an id that was
  // acked, dropped or expired may be used again). full: it does not fit under refuse_new, or
  // its payload alone exceeds max_bytes (under either policy: dropping everything would not
  // help). Under drop_oldest, the entries dropped to make room go to take_dropped().
  Enqueue enqueue(std::string id, std::string payload, TimePoint now);

  // Entries not in flight, in order: the shell sends them and calls mark_sent(id).
  std::vector<const QueuedMessage*> pending() const;
  // The first entry not in flight, or nullptr; no allocation. The pointer stays valid until
  // the entry leaves the queue.
  const QueuedMessage* next_pending() const;
  // The entry is now in flight and stays until acked. false if the id is unknown.
  bool mark_sent(std::string_view id, TimePoint now);
  // The entry leaves the queue. false if the id is unknown (never queued, or already gone).
  bool ack(std::string_view id);
  // The link dropped: in-flight entries become pending again, order kept (invariant 1).
  void on_disconnect();

  // Removes and returns pending entries whose age reached expiry (now >= enqueued_at +
  // expiry), oldest first. In-flight entries do not expire: they were sent in time and wait
  // for their ack; after on_disconnect() they can expire again. Empty without an expiry.
  std::vector<QueuedMessage> expire(TimePoint now);
  // The earliest time at which expire() would remove something; nullopt if never.
  std::optional<TimePoint> next_expiry() const;
  // Entries dropped by drop_oldest since the last call, oldest first.
  std::vector<QueuedMessage> take_dropped();

  const QueueStats& stats() const { return stats_; }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return stats_.bytes; }
  bool empty() const { return entries_.empty(); }

 private:
  using List = std::list<QueuedMessage>;

  List::iterator erase(List::iterator it);

  OutboundQueueConfig config_;
  List entries_;  // enqueue order; list so that pointers and the index keys stay valid
  // id -> entry. Keys view the id string inside the list node, which never moves.
  std::unordered_map<std::string_view, List::iterator> index_;
  std::vector<QueuedMessage> dropped_;
  QueueStats stats_;
};

}  // namespace steadyws
