#include "steadyws/core/outbound_queue.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> pending_ids(const OutboundQueue& q) {
  std::vector<std::string> ids;
  for (const QueuedMessage* m : q.pending()) {
    ids.push_back(m->id);
  }
  return ids;
}

std::vector<std::string> ids_of(const std::vector<QueuedMessage>& ms) {
  std::vector<std::string> ids;
  for (const auto& m : ms) {
    ids.push_back(m.id);
  }
  return ids;
}

using Ids = std::vector<std::string>;

TEST(OutboundQueue, KeepsOrderAndPayload) {
  const TimePoint t0{};
  OutboundQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.enqueue("a", "1", t0), Enqueue::accepted);
  EXPECT_EQ(q.enqueue("b", "22", t0 + 1ms), Enqueue::accepted);
  EXPECT_EQ(q.enqueue("c", "333", t0 + 2ms), Enqueue::accepted);
  EXPECT_EQ(pending_ids(q), (Ids{"a", "b", "c"}));
  EXPECT_EQ(q.pending()[1]->payload, "22");
  EXPECT_EQ(q.pending()[1]->enqueued_at, t0 + 1ms);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.bytes(), 6u);
  EXPECT_EQ(q.stats().accepted, 3u);
  EXPECT_EQ(q.stats().size, 3u);
  EXPECT_EQ(q.stats().bytes, 6u);
}

TEST(OutboundQueue, RefusesDuplicateQueuedId) {
  const TimePoint t0{};
  OutboundQueue q;
  ASSERT_EQ(q.enqueue("a", "1", t0), Enqueue::accepted);
  EXPECT_EQ(q.enqueue("a", "other", t0), Enqueue::duplicate);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.pending()[0]->payload, "1");
  EXPECT_EQ(q.stats().duplicates, 1u);
}

TEST(OutboundQueue, RefusesDuplicateInFlightIdAndAcceptsItAfterAck) {
  const TimePoint t0{};
  OutboundQueue q;
  ASSERT_EQ(q.enqueue("a", "1", t0), Enqueue::accepted);
  ASSERT_TRUE(q.mark_sent("a", t0));
  EXPECT_TRUE(q.pending().empty());
  EXPECT_EQ(q.enqueue("a", "1", t0), Enqueue::duplicate);
  EXPECT_TRUE(q.ack("a"));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.enqueue("a", "1", t0), Enqueue::accepted);
  EXPECT_EQ(q.stats().acked, 1u);
}

TEST(OutboundQueue, LongIdsDedupToo) {
  const TimePoint t0{};
  OutboundQueue q;
  const std::string id(64, 'x');  // beyond the small-string buffer
  ASSERT_EQ(q.enqueue(id, "1", t0), Enqueue::accepted);
  EXPECT_EQ(q.enqueue(id, "1", t0), Enqueue::duplicate);
  EXPECT_TRUE(q.ack(id));
  EXPECT_FALSE(q.ack(id));
}

TEST(OutboundQueue, InFlightStaysUntilAcked) {
  const TimePoint t0{};
  OutboundQueue q;
  q.enqueue("a", "1", t0);
  q.enqueue("b", "2", t0);
  ASSERT_TRUE(q.mark_sent("a", t0 + 1ms));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(pending_ids(q), (Ids{"b"}));
  EXPECT_EQ(q.next_pending()->id, "b");
  EXPECT_FALSE(q.ack("zzz"));
  EXPECT_TRUE(q.ack("a"));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 1u);
  EXPECT_FALSE(q.mark_sent("a", t0));
}

TEST(OutboundQueue, DisconnectMakesInFlightPendingInOriginalOrder) {
  const TimePoint t0{};
  OutboundQueue q;
  for (const char* id : {"a", "b", "c", "d"}) {
    q.enqueue(id, "x", t0);
  }
  q.mark_sent("a", t0);
  q.mark_sent("c", t0);
  q.enqueue("e", "x", t0);
  q.on_disconnect();
  EXPECT_EQ(pending_ids(q), (Ids{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(q.next_pending()->id, "a");
}

TEST(OutboundQueue, NextPendingIsNullWhenAllInFlight) {
  const TimePoint t0{};
  OutboundQueue q;
  EXPECT_EQ(q.next_pending(), nullptr);
  q.enqueue("a", "x", t0);
  q.mark_sent("a", t0);
  EXPECT_EQ(q.next_pending(), nullptr);
}

TEST(OutboundQueue, RefuseNewWhenCountFull) {
  const TimePoint t0{};
  OutboundQueue q({.max_messages = 2});
  EXPECT_EQ(q.enqueue("a", "x", t0), Enqueue::accepted);
  EXPECT_EQ(q.enqueue("b", "x", t0), Enqueue::accepted);
  EXPECT_EQ(q.enqueue("c", "x", t0), Enqueue::full);
  EXPECT_EQ(pending_ids(q), (Ids{"a", "b"}));
  EXPECT_EQ(q.stats().refused_full, 1u);
  EXPECT_TRUE(q.take_dropped().empty());
  q.ack("a");
  EXPECT_EQ(q.enqueue("c", "x", t0), Enqueue::accepted);
}

TEST(OutboundQueue, RefuseNewWhenBytesFull) {
  const TimePoint t0{};
  OutboundQueue q({.max_bytes = 10});
  EXPECT_EQ(q.enqueue("a", "12345", t0), Enqueue::accepted);
  EXPECT_EQ(q.enqueue("b", "12345", t0), Enqueue::accepted);  // exactly 10: fits
  EXPECT_EQ(q.enqueue("c", "1", t0), Enqueue::full);
  EXPECT_EQ(q.enqueue("d", "", t0), Enqueue::accepted);  // 0 bytes still fits
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(q.stats().refused_full, 1u);
}

TEST(OutboundQueue, DropOldestWhenCountFull) {
  const TimePoint t0{};
  OutboundQueue q({.max_messages = 2, .overflow = OverflowPolicy::drop_oldest});
  q.enqueue("a", "x", t0);
  q.mark_sent("a", t0);  // in flight entries can be dropped too
  q.enqueue("b", "x", t0);
  EXPECT_EQ(q.enqueue("c", "x", t0), Enqueue::accepted);
  EXPECT_EQ(pending_ids(q), (Ids{"b", "c"}));
  EXPECT_EQ(q.stats().dropped_oldest, 1u);
  const auto dropped = q.take_dropped();
  ASSERT_EQ(ids_of(dropped), (Ids{"a"}));
  EXPECT_TRUE(dropped[0].in_flight);
  EXPECT_TRUE(q.take_dropped().empty());
  EXPECT_FALSE(q.ack("a"));
  EXPECT_EQ(q.enqueue("a", "x", t0), Enqueue::accepted);  // its id is free again
}

TEST(OutboundQueue, DropOldestWhenBytesFullDropsAsManyAsNeeded) {
  const TimePoint t0{};
  OutboundQueue q({.max_bytes = 10, .overflow = OverflowPolicy::drop_oldest});
  q.enqueue("a", "123", t0);
  q.enqueue("b", "123", t0);
  q.enqueue("c", "123", t0);
  EXPECT_EQ(q.enqueue("d", "1234567", t0), Enqueue::accepted);
  EXPECT_EQ(pending_ids(q), (Ids{"c", "d"}));
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(ids_of(q.take_dropped()), (Ids{"a", "b"}));
  EXPECT_EQ(q.stats().dropped_oldest, 2u);
}

TEST(OutboundQueue, OversizedMessageIsRefusedUnderBothPolicies) {
  const TimePoint t0{};
  for (auto policy : {OverflowPolicy::refuse_new, OverflowPolicy::drop_oldest}) {
    OutboundQueue q({.max_bytes = 4, .overflow = policy});
    q.enqueue("a", "12", t0);
    EXPECT_EQ(q.enqueue("b", "12345", t0), Enqueue::full);
    EXPECT_EQ(q.size(), 1u);
    EXPECT_TRUE(q.take_dropped().empty());
    EXPECT_EQ(q.stats().refused_full, 1u);
  }
}

TEST(OutboundQueue, ZeroCapacityRefusesEverything) {
  const TimePoint t0{};
  OutboundQueue q({.max_messages = 0, .overflow = OverflowPolicy::drop_oldest});
  EXPECT_EQ(q.enqueue("a", "", t0), Enqueue::full);
}

TEST(OutboundQueue, ExpiryEdges) {
  const TimePoint t0{};
  OutboundQueue q({.expiry = 10s});
  q.enqueue("a", "1", t0);
  q.enqueue("b", "22", t0 + 5s);
  EXPECT_EQ(q.next_expiry(), t0 + 10s);
  EXPECT_TRUE(q.expire(t0 + 10s - 1ms).empty());
  const auto gone = q.expire(t0 + 10s);  // exactly at expiry: expired
  ASSERT_EQ(ids_of(gone), (Ids{"a"}));
  EXPECT_EQ(gone[0].payload, "1");
  EXPECT_EQ(q.stats().expired, 1u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 2u);
  EXPECT_EQ(q.next_expiry(), t0 + 15s);
  EXPECT_EQ(q.enqueue("a", "1", t0 + 11s), Enqueue::accepted);  // id free again
  EXPECT_EQ(ids_of(q.expire(t0 + 21s)), (Ids{"b", "a"}));
  EXPECT_EQ(q.next_expiry(), std::nullopt);
  EXPECT_TRUE(q.empty());
}

TEST(OutboundQueue, InFlightDoesNotExpireUntilDisconnect) {
  const TimePoint t0{};
  OutboundQueue q({.expiry = 10s});
  q.enqueue("a", "1", t0);
  q.mark_sent("a", t0 + 1s);
  EXPECT_EQ(q.next_expiry(), std::nullopt);
  EXPECT_TRUE(q.expire(t0 + 60s).empty());
  q.on_disconnect();
  EXPECT_EQ(q.next_expiry(), t0 + 10s);
  EXPECT_EQ(ids_of(q.expire(t0 + 60s)), (Ids{"a"}));
}

TEST(OutboundQueue, NoExpiryByDefault) {
  const TimePoint t0{};
  OutboundQueue q;
  q.enqueue("a", "1", t0);
  EXPECT_EQ(q.next_expiry(), std::nullopt);
  EXPECT_TRUE(q.expire(t0 + 1000h).empty());
}

TEST(OutboundQueue, EveryMessageIsAccountedFor) {
  const TimePoint t0{};
  OutboundQueue q({.max_messages = 3, .overflow = OverflowPolicy::drop_oldest, .expiry = 5s});
  std::uint64_t offered = 0;
  for (int i = 0; i < 100; ++i) {
    const TimePoint t = t0 + std::chrono::seconds(i);
    ++offered;
    q.enqueue("m" + std::to_string(i), "x", t);
    if (i % 3 == 0) {
      q.enqueue("m" + std::to_string(i), "x", t);  // duplicate
    }
    if (i % 4 == 0 && q.next_pending()) {
      const std::string id = q.next_pending()->id;
      q.mark_sent(id, t);
      q.ack(id);
    }
    if (i % 7 == 0) {
      q.on_disconnect();
      q.expire(t);
    }
  }
  const QueueStats& s = q.stats();
  EXPECT_EQ(s.accepted, offered);
  EXPECT_EQ(s.duplicates, 34u);
  EXPECT_EQ(s.accepted, s.acked + s.dropped_oldest + s.expired + s.size);
}

}  // namespace
}  // namespace steadyws
