#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "hub/hub.hpp"
#include "support/wait_until.hpp"

namespace steadyws::hub {
namespace {

namespace json = boost::json;

// Records every delivery; checks nothing by itself.
class Recorder : public Subscriber {
 public:
  void deliver(std::string_view channel, std::uint64_t seq, const Frame& frame) override {
    channels.emplace_back(channel);
    seqs.push_back(seq);
    frames.push_back(frame);
  }
  std::vector<std::string> channels;
  std::vector<std::uint64_t> seqs;
  std::vector<Frame> frames;
};

// Records the seqs delivered, under its own lock: for deliveries from other threads.
class SeqRecorder : public Subscriber {
 public:
  void deliver(std::string_view, std::uint64_t seq, const Frame&) override {
    std::lock_guard lock(mu);
    seqs.push_back(seq);
  }
  std::mutex mu;
  std::vector<std::uint64_t> seqs;
};

json::object parse(const Frame& f) {
  return json::parse(*f).as_object();
}

std::unique_ptr<Hub> make_hub(std::size_t history = 1000, std::string node = "n1") {
  return make_memory_hub({.history = history, .node_id = std::move(node)});
}

// Publishes `n` messages {"i":k} without ids.
void publish_n(Hub& hub, std::string_view channel, int n) {
  for (int k = 0; k < n; ++k) {
    hub.publish(channel, std::nullopt, json::value{{"i", k}}, 1000 + k);
  }
}

TEST(MemoryHub, SeqStartsAtOneAndGrowsByOnePerChannel) {
  auto hub = make_hub();
  EXPECT_EQ(hub->publish("a", std::nullopt, 1, 0).seq, 1u);
  EXPECT_EQ(hub->publish("a", std::nullopt, 2, 0).seq, 2u);
  EXPECT_EQ(hub->publish("b", std::nullopt, 3, 0).seq, 1u);
  EXPECT_EQ(hub->publish("a", std::nullopt, 4, 0).seq, 3u);
  const HubStats st = hub->stats();
  EXPECT_EQ(st.channels, 2u);
  EXPECT_EQ(st.published, 4u);
}

TEST(MemoryHub, FrameIsTheContractMessageObject) {
  auto hub = make_hub();
  auto rec = std::make_shared<Recorder>();
  hub->subscribe("room.1", rec, std::nullopt, std::nullopt);
  hub->publish("room.1", "m-1", json::value{{"text", "hi"}}, 1714564800123);
  ASSERT_EQ(rec->frames.size(), 1u);
  const json::object m = parse(rec->frames[0]);
  EXPECT_EQ(m.at("type"), "message");
  EXPECT_EQ(m.at("channel"), "room.1");
  EXPECT_EQ(m.at("seq").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(m.at("id"), "m-1");
  EXPECT_EQ(m.at("data"), (json::value{{"text", "hi"}}));
  EXPECT_EQ(m.at("timestamp").to_number<std::int64_t>(), 1714564800123);
  EXPECT_EQ(rec->channels[0], "room.1");
  EXPECT_EQ(rec->seqs[0], 1u);
}

TEST(MemoryHub, OneFrameSharedByHistoryAndEverySubscriber) {
  auto hub = make_hub();
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  hub->subscribe("c", a, std::nullopt, std::nullopt);
  hub->subscribe("c", b, std::nullopt, std::nullopt);
  hub->publish("c", std::nullopt, 1, 0);
  ASSERT_EQ(a->frames.size(), 1u);
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_EQ(a->frames[0].get(), b->frames[0].get());
  const ReadResult r = hub->read("c", 0, std::nullopt, 10);
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].get(), a->frames[0].get());
}

TEST(MemoryHub, EpochIsStablePerChannelAndDiffersAcrossChannelsAndHubs) {
  auto hub1 = make_hub(1000, "alpha");
  auto hub2 = make_hub(1000, "beta");
  auto rec = std::make_shared<Recorder>();
  const std::string e1 = hub1->subscribe("c", rec, std::nullopt, std::nullopt).epoch;
  publish_n(*hub1, "c", 3);
  EXPECT_EQ(hub1->read("c", std::nullopt, std::nullopt, 10).epoch, e1);
  EXPECT_EQ(hub1->subscribe("c", rec, std::nullopt, std::nullopt).epoch, e1);
  EXPECT_NE(hub1->read("d", std::nullopt, std::nullopt, 10).epoch, e1);
  const std::string e2 = hub2->read("c", std::nullopt, std::nullopt, 10).epoch;
  EXPECT_NE(e1, e2);
  EXPECT_EQ(e1.rfind("alpha:", 0), 0u);
  EXPECT_EQ(e2.rfind("beta:", 0), 0u);
}

TEST(MemoryHub, GeneratedIdIsEpochDashSeq) {
  auto hub = make_hub();
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  hub->publish("c", std::nullopt, 1, 0);
  const PublishResult r = hub->publish("c", std::nullopt, 2, 0);
  EXPECT_EQ(r.id, epoch + "-2");
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(
      std::string_view(parse(hub->read("c", 1, std::nullopt, 1).frames.at(0)).at("id").as_string()),
      epoch + "-2");
  EXPECT_LE(r.id.size(), 64u);
}

TEST(MemoryHub, GivenIdIsKept) {
  auto hub = make_hub();
  const PublishResult r = hub->publish("c", "client-7", 1, 0);
  EXPECT_EQ(r.id, "client-7");
  EXPECT_EQ(r.seq, 1u);
}

TEST(MemoryHub, DuplicateIdInHistoryGetsTheFirstAckAndIsNotDelivered) {
  auto hub = make_hub();
  auto rec = std::make_shared<Recorder>();
  hub->subscribe("c", rec, std::nullopt, std::nullopt);
  hub->publish("c", "x", 1, 0);
  hub->publish("c", "y", 2, 0);
  const PublishResult dup = hub->publish("c", "x", 3, 0);
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.seq, 1u);
  EXPECT_EQ(dup.id, "x");
  EXPECT_EQ(rec->seqs, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(hub->read("c", std::nullopt, std::nullopt, 0).last_seq, 2u);
  EXPECT_EQ(hub->stats().duplicates, 1u);
  EXPECT_EQ(hub->stats().published, 2u);
  // The same id on another channel is a different message.
  EXPECT_FALSE(hub->publish("d", "x", 1, 0).duplicate);
}

TEST(MemoryHub, GeneratedIdDeduplicatesLikeAGivenOne) {
  auto hub = make_hub();
  const PublishResult first = hub->publish("c", std::nullopt, 1, 0);
  const PublishResult again = hub->publish("c", first.id, 1, 0);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.seq, first.seq);
}

TEST(MemoryHub, IdIsAcceptedAgainOnceEvictedFromHistory) {
  auto hub = make_hub(/*history=*/3);
  auto rec = std::make_shared<Recorder>();
  hub->subscribe("c", rec, std::nullopt, std::nullopt);
  hub->publish("c", "x", 1, 0);  // seq 1
  hub->publish("c", "a", 2, 0);  // seq 2
  hub->publish("c", "b", 3, 0);  // seq 3: history 1..3, x still in it
  EXPECT_TRUE(hub->publish("c", "x", 4, 0).duplicate);
  hub->publish("c", "d", 5, 0);  // seq 4 evicts seq 1 and its id
  const PublishResult again = hub->publish("c", "x", 6, 0);
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.seq, 5u);
  EXPECT_EQ(rec->seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  // "a" (seq 2) was evicted by "x" (seq 5); "b" (seq 3) is still in history.
  EXPECT_FALSE(hub->publish("c", "a", 7, 0).duplicate);
  EXPECT_FALSE(hub->publish("c", "b", 8, 0).duplicate);  // evicted by "a" at seq 6
  EXPECT_TRUE(hub->publish("c", "x", 9, 0).duplicate);
}

TEST(MemoryHub, DedupStaysExactOverManyEvictions) {
  auto hub = make_hub(/*history=*/10);
  for (int k = 1; k <= 1000; ++k) {
    // Given ids interleaved with generated ones, so both kinds are evicted from the map.
    const std::optional<std::string> id =
        k % 3 == 0 ? std::nullopt : std::optional<std::string>("id-" + std::to_string(k));
    ASSERT_FALSE(hub->publish("c", id, k, 0).duplicate);
  }
  // History holds seq 991..1000: exactly those ids are known, each with its own seq.
  for (int k = 991; k <= 1000; ++k) {
    if (k % 3 == 0) {
      continue;
    }
    const PublishResult r = hub->publish("c", "id-" + std::to_string(k), 0, 0);
    EXPECT_TRUE(r.duplicate);
    EXPECT_EQ(r.seq, static_cast<std::uint64_t>(k));
  }
  EXPECT_FALSE(hub->publish("c", "id-989", 0, 0).duplicate);  // seq 989 left history
  EXPECT_EQ(hub->stats().duplicates, 7u);
}

TEST(MemoryHub, HistoryRingKeepsTheLastN) {
  auto hub = make_hub(/*history=*/5);
  publish_n(*hub, "c", 12);  // history holds seq 8..12
  ReadResult r = hub->read("c", 7, std::nullopt, 100);
  EXPECT_TRUE(r.recovered);
  ASSERT_EQ(r.frames.size(), 5u);
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    EXPECT_EQ(parse(r.frames[i]).at("seq").to_number<std::uint64_t>(), 8 + i);
  }
  r = hub->read("c", 6, std::nullopt, 100);  // needs seq 7, evicted
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.frames.empty());
}

TEST(MemoryHub, SubscribeWithoutSinceIsNotRecovered) {
  auto hub = make_hub();
  publish_n(*hub, "c", 3);
  auto rec = std::make_shared<Recorder>();
  const SubscribeResult r = hub->subscribe("c", rec, std::nullopt, std::nullopt);
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.replay.empty());
  EXPECT_EQ(r.last_seq, 3u);
}

TEST(MemoryHub, SubscribeSinceInHistoryReplaysInOrder) {
  auto hub = make_hub();
  publish_n(*hub, "c", 5);
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  auto rec = std::make_shared<Recorder>();
  const SubscribeResult r = hub->subscribe("c", rec, 2, epoch);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.last_seq, 5u);
  EXPECT_EQ(r.epoch, epoch);
  ASSERT_EQ(r.replay.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parse(r.replay[i]).at("seq").to_number<std::uint64_t>(), 3 + i);
  }
  hub->publish("c", std::nullopt, 6, 0);
  EXPECT_EQ(rec->seqs, (std::vector<std::uint64_t>{6}));  // live starts after the replay
}

TEST(MemoryHub, SubscribeSinceZeroReplaysAllWhileHistoryHoldsAll) {
  auto hub = make_hub(/*history=*/5);
  publish_n(*hub, "c", 5);
  EXPECT_EQ(hub->subscribe("c", std::make_shared<Recorder>(), 0, std::nullopt).replay.size(), 5u);
  publish_n(*hub, "c", 1);
  EXPECT_FALSE(hub->subscribe("c", std::make_shared<Recorder>(), 0, std::nullopt).recovered);
}

TEST(MemoryHub, SubscribeWithoutEpochRecoversLikeAMatchingOne) {
  auto hub = make_hub();
  publish_n(*hub, "c", 4);
  const SubscribeResult r = hub->subscribe("c", std::make_shared<Recorder>(), 3, std::nullopt);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.replay.size(), 1u);
}

TEST(MemoryHub, SubscribeSinceLastSeqIsRecoveredWithEmptyReplay) {
  auto hub = make_hub();
  publish_n(*hub, "c", 4);
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  const SubscribeResult r = hub->subscribe("c", std::make_shared<Recorder>(), 4, epoch);
  EXPECT_TRUE(r.recovered);
  EXPECT_TRUE(r.replay.empty());
}

TEST(MemoryHub, SubscribeSinceAboveLastSeqIsNotRecovered) {
  auto hub = make_hub();
  publish_n(*hub, "c", 4);
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  const SubscribeResult r = hub->subscribe("c", std::make_shared<Recorder>(), 5, epoch);
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.replay.empty());
  EXPECT_EQ(r.last_seq, 4u);
}

TEST(MemoryHub, SubscribeSinceOlderThanHistoryIsNotRecovered) {
  auto hub = make_hub(/*history=*/3);
  publish_n(*hub, "c", 10);  // history 8..10
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  EXPECT_TRUE(hub->subscribe("c", std::make_shared<Recorder>(), 7, epoch).recovered);
  const SubscribeResult r = hub->subscribe("c", std::make_shared<Recorder>(), 6, epoch);
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.replay.empty());
}

TEST(MemoryHub, SubscribeWithAnotherEpochIsNotRecovered) {
  auto old_hub = make_hub(1000, "before");
  publish_n(*old_hub, "c", 4);
  const std::string old_epoch = old_hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  auto hub = make_hub(1000, "after");  // a restart: same channel, same seqs, new epoch
  publish_n(*hub, "c", 4);
  const SubscribeResult r = hub->subscribe("c", std::make_shared<Recorder>(), 2, old_epoch);
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.replay.empty());
  EXPECT_NE(r.epoch, old_epoch);
}

TEST(MemoryHub, WithoutHistoryOnlySinceLastSeqRecovers) {
  auto hub = make_hub(/*history=*/0);
  publish_n(*hub, "c", 3);
  EXPECT_TRUE(hub->subscribe("c", std::make_shared<Recorder>(), 3, std::nullopt).recovered);
  EXPECT_FALSE(hub->subscribe("c", std::make_shared<Recorder>(), 2, std::nullopt).recovered);
  hub->publish("c", "x", 1, 0);
  EXPECT_FALSE(hub->publish("c", "x", 1, 0).duplicate);  // no history, no dedup
}

TEST(MemoryHub, NewChannelRecoversFromZero) {
  auto hub = make_hub();
  const SubscribeResult r = hub->subscribe("fresh", std::make_shared<Recorder>(), 0, std::nullopt);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.last_seq, 0u);
}

TEST(MemoryHub, ReadFollowsTheSameRulesAndHonoursMaxFrames) {
  auto hub = make_hub(/*history=*/10);
  publish_n(*hub, "c", 8);
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;

  ReadResult r = hub->read("c", std::nullopt, std::nullopt, 100);
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.frames.empty());
  EXPECT_EQ(r.last_seq, 8u);
  EXPECT_EQ(r.cursor, 8u);

  r = hub->read("c", 2, epoch, 4);
  EXPECT_TRUE(r.recovered);
  ASSERT_EQ(r.frames.size(), 4u);
  EXPECT_EQ(parse(r.frames.front()).at("seq").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(parse(r.frames.back()).at("seq").to_number<std::uint64_t>(), 6u);
  EXPECT_EQ(r.cursor, 6u);
  EXPECT_EQ(r.last_seq, 8u);

  r = hub->read("c", r.cursor, epoch, 4);
  EXPECT_EQ(r.frames.size(), 2u);
  EXPECT_EQ(r.cursor, 8u);

  r = hub->read("c", 8, epoch, 4);
  EXPECT_TRUE(r.recovered);
  EXPECT_TRUE(r.frames.empty());

  r = hub->read("c", 9, epoch, 4);
  EXPECT_FALSE(r.recovered);
  EXPECT_EQ(r.cursor, 8u);

  r = hub->read("c", 2, "other", 4);
  EXPECT_FALSE(r.recovered);
  EXPECT_TRUE(r.frames.empty());
  EXPECT_EQ(r.cursor, 8u);
}

TEST(MemoryHub, ReadOfAnUnknownChannelFixesItsEpoch) {
  auto hub = make_hub();
  const ReadResult before = hub->read("later", 0, std::nullopt, 10);
  EXPECT_TRUE(before.recovered);
  hub->publish("later", std::nullopt, 1, 0);
  const ReadResult after = hub->read("later", 0, before.epoch, 10);
  EXPECT_TRUE(after.recovered);
  EXPECT_EQ(after.frames.size(), 1u);
}

TEST(MemoryHub, UnsubscribeStopsDelivery) {
  auto hub = make_hub();
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  hub->subscribe("c", a, std::nullopt, std::nullopt);
  hub->subscribe("c", b, std::nullopt, std::nullopt);
  hub->publish("c", std::nullopt, 1, 0);
  hub->unsubscribe("c", a.get());
  hub->unsubscribe("c", a.get());          // a no-op the second time
  hub->unsubscribe("elsewhere", b.get());  // and on a channel it never joined
  hub->publish("c", std::nullopt, 2, 0);
  EXPECT_EQ(a->seqs, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(b->seqs, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(hub->stats().subscriptions, 1u);
}

TEST(MemoryHub, DuplicateSubscribeKeepsOneRegistration) {
  auto hub = make_hub();
  auto a = std::make_shared<Recorder>();
  hub->subscribe("c", a, std::nullopt, std::nullopt);
  hub->subscribe("c", a, std::nullopt, std::nullopt);
  hub->publish("c", std::nullopt, 1, 0);
  EXPECT_EQ(a->seqs.size(), 1u);
  EXPECT_EQ(hub->stats().subscriptions, 1u);
  hub->unsubscribe("c", a.get());
  hub->publish("c", std::nullopt, 2, 0);
  EXPECT_EQ(a->seqs.size(), 1u);
}

TEST(MemoryHub, ExpiredSubscribersArePrunedOnPublish) {
  auto hub = make_hub();
  auto keep = std::make_shared<Recorder>();
  hub->subscribe("c", keep, std::nullopt, std::nullopt);
  for (int i = 0; i < 5; ++i) {
    auto gone = std::make_shared<Recorder>();
    hub->subscribe("c", gone, std::nullopt, std::nullopt);
  }                                           // each dies at the end of its iteration
  EXPECT_EQ(hub->stats().subscriptions, 6u);  // pruned lazily, not yet
  hub->publish("c", std::nullopt, 1, 0);
  EXPECT_EQ(hub->stats().subscriptions, 1u);
  EXPECT_EQ(keep->seqs, (std::vector<std::uint64_t>{1}));
}

TEST(MemoryHub, ExpiredSubscriberIsNotRegistered) {
  auto hub = make_hub();
  std::weak_ptr<Subscriber> dead;
  {
    auto s = std::make_shared<Recorder>();
    dead = s;
  }
  const SubscribeResult r = hub->subscribe("c", dead, std::nullopt, std::nullopt);
  EXPECT_EQ(r.last_seq, 0u);
  EXPECT_EQ(hub->stats().subscriptions, 0u);
}

// Lets go of its only owner (itself) inside deliver(), so the hub's temporary strong
// reference is the last one. Its destructor then checks, from another thread, that the
// channel's lock is free: a destructor run under it would deadlock on any call into the hub.
class SelfReleaser : public Subscriber {
 public:
  SelfReleaser(std::shared_ptr<Hub> hub, std::shared_ptr<std::atomic<int>> verdict)
      : hub_(std::move(hub)), verdict_(std::move(verdict)) {}
  ~SelfReleaser() override {
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread probe([hub = hub_, done] {
      hub->stats();  // takes every channel's lock
      *done = true;
    });
    const bool free = test::wait_until([&] { return done->load(); }, std::chrono::seconds(2));
    *verdict_ = free ? 1 : -1;
    if (free) {
      probe.join();
    } else {
      probe.detach();  // it finishes once publish unlocks; it owns what it uses
    }
  }
  void deliver(std::string_view, std::uint64_t, const Frame&) override { self.reset(); }
  std::shared_ptr<Subscriber> self;

 private:
  std::shared_ptr<Hub> hub_;
  std::shared_ptr<std::atomic<int>> verdict_;
};

TEST(MemoryHub, SubscriberDestructorNeverRunsUnderTheChannelLock) {
  std::shared_ptr<Hub> hub = make_hub();
  auto verdict = std::make_shared<std::atomic<int>>(0);
  {
    auto s = std::make_shared<SelfReleaser>(hub, verdict);
    s->self = s;
    hub->subscribe("c", s, std::nullopt, std::nullopt);
  }
  hub->publish("c", std::nullopt, 1, 0);
  EXPECT_EQ(verdict->load(), 1);  // 0: never destroyed; -1: destroyed under the lock
  hub->publish("c", std::nullopt, 2, 0);
  EXPECT_EQ(hub->stats().subscriptions, 0u);
}

// Checks, from inside deliver, that every seq of each channel arrives exactly once, in order.
class OrderChecker : public Subscriber {
 public:
  explicit OrderChecker(std::size_t channels) : next_(channels, 1) {}
  void deliver(std::string_view channel, std::uint64_t seq, const Frame& frame) override {
    // deliver() runs under the channel's lock, so calls for one channel never overlap, but
    // calls for different channels do.
    std::lock_guard lock(mu_);
    const std::size_t c = static_cast<std::size_t>(channel.back() - '0');
    if (seq != next_[c] || frame == nullptr) {
      ++errors_;
    }
    next_[c] = seq + 1;
    ++received_;
  }
  std::uint64_t received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::uint64_t errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }
  std::uint64_t last(std::size_t c) const {
    std::lock_guard lock(mu_);
    return next_[c] - 1;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::uint64_t> next_;
  std::uint64_t received_ = 0;
  std::uint64_t errors_ = 0;
};

TEST(MemoryHub, ConcurrentPublishersOnOneAndManyChannelsKeepSeqsExactlyOnceInOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  constexpr std::size_t kChannels = 3;  // "ch0" shared by all threads, "ch1", "ch2"
  auto hub = make_hub(/*history=*/100);
  auto checker = std::make_shared<OrderChecker>(kChannels);
  for (std::size_t c = 0; c < kChannels; ++c) {
    hub->subscribe("ch" + std::to_string(c), checker, std::nullopt, std::nullopt);
  }
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        // Every thread writes ch0; threads alternate between ch1 and ch2 for the rest, with
        // ids so that dedup runs concurrently too (each id is unique, so none is a duplicate).
        const std::string channel = k % 2 == 0 ? "ch0" : (t % 2 == 0 ? "ch1" : "ch2");
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(k);
        if (hub->publish(channel, id, k, 0).duplicate) {
          ++duplicates;
        }
      }
    });
  }
  // A late subscriber resumes concurrently with the publishers: replay + live must be
  // gap-free and without repeats too.
  auto resumer = std::make_shared<SeqRecorder>();
  std::uint64_t resumed_at = 0;  // the resumer must see every seq after this one
  for (;;) {
    const ReadResult peek = hub->read("ch0", std::nullopt, std::nullopt, 0);
    if (peek.last_seq < 50) {
      continue;
    }
    const SubscribeResult r = hub->subscribe("ch0", resumer, peek.last_seq - 20, peek.epoch);
    // Recovered unless 80 publishes landed between the read and the subscribe; either way
    // replay + live must continue without a gap or a repeat from where the answer says.
    resumed_at = r.recovered ? peek.last_seq - 20 : r.last_seq;
    std::vector<std::uint64_t> replayed;
    for (const Frame& f : r.replay) {
      replayed.push_back(json::parse(*f).at("seq").to_number<std::uint64_t>());
    }
    std::lock_guard lock(resumer->mu);
    resumer->seqs.insert(resumer->seqs.begin(), replayed.begin(), replayed.end());
    break;
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_EQ(checker->errors(), 0u);
  EXPECT_EQ(checker->received(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(checker->last(0), static_cast<std::uint64_t>(kThreads * kPerThread / 2));
  EXPECT_EQ(checker->last(1) + checker->last(2),
            static_cast<std::uint64_t>(kThreads * kPerThread / 2));
  std::lock_guard lock(resumer->mu);
  ASSERT_FALSE(resumer->seqs.empty());
  for (std::size_t i = 0; i < resumer->seqs.size(); ++i) {
    ASSERT_EQ(resumer->seqs[i], resumed_at + 1 + i);
  }
  EXPECT_EQ(resumer->seqs.back(), checker->last(0));
}

// ---- expire_idle: mark and sweep of channels nobody uses -------------------------------

TEST(MemoryHubExpiry, AnIdleChannelGoesAtTheSecondSweepWithItsHistoryAndEpoch) {
  auto hub = make_hub();
  publish_n(*hub, "quiet", 3);
  const std::string epoch = hub->read("quiet", std::nullopt, std::nullopt, 0).epoch;
  EXPECT_EQ(hub->counts().channels, 1u);
  EXPECT_EQ(hub->expire_idle(), 0u);  // marked
  EXPECT_EQ(hub->counts().channels, 1u);
  EXPECT_EQ(hub->expire_idle(), 1u);  // still idle: removed
  EXPECT_EQ(hub->counts().channels, 0u);
  EXPECT_EQ(hub->stats().expired, 1u);
  EXPECT_EQ(hub->stats().channels, 0u);
  // The name again: a new channel, a new epoch, no history; the old position is a gap.
  auto rec = std::make_shared<Recorder>();
  const SubscribeResult r = hub->subscribe("quiet", rec, 3, epoch);
  EXPECT_FALSE(r.recovered);
  EXPECT_NE(r.epoch, epoch);
  EXPECT_EQ(r.last_seq, 0u);
  EXPECT_TRUE(r.replay.empty());
  EXPECT_EQ(hub->publish("quiet", std::nullopt, 1, 0).seq, 1u);
  EXPECT_EQ(rec->seqs, (std::vector<std::uint64_t>{1}));
}

TEST(MemoryHubExpiry, EveryUseBetweenTwoSweepsKeepsTheChannel) {
  auto hub = make_hub();
  publish_n(*hub, "c", 1);
  auto rec = std::make_shared<Recorder>();
  const std::vector<std::function<void()>> uses{
      [&] { hub->publish("c", std::nullopt, 1, 0); },
      [&] { hub->read("c", std::nullopt, std::nullopt, 0); },
      [&] {
        hub->subscribe("c", rec, std::nullopt, std::nullopt);
        hub->unsubscribe("c", rec.get());
      },
      [&] { hub->unsubscribe("c", rec.get()); },
  };
  const std::string epoch = hub->read("c", std::nullopt, std::nullopt, 0).epoch;
  for (const auto& use : uses) {
    EXPECT_EQ(hub->expire_idle(), 0u);  // marked
    use();
    EXPECT_EQ(hub->expire_idle(), 0u);  // used since the mark: kept, marked again
    use();
  }
  EXPECT_EQ(hub->read("c", std::nullopt, std::nullopt, 0).epoch, epoch);
}

TEST(MemoryHubExpiry, ALiveSubscriberKeepsItsChannelADeadOneDoesNot) {
  auto hub = make_hub();
  auto live = std::make_shared<Recorder>();
  hub->subscribe("kept", live, std::nullopt, std::nullopt);
  {
    auto dead = std::make_shared<Recorder>();
    hub->subscribe("gone", dead, std::nullopt, std::nullopt);
  }
  for (int i = 0; i < 3; ++i) {
    hub->expire_idle();
  }
  EXPECT_EQ(hub->counts().channels, 1u);
  EXPECT_EQ(hub->stats().subscriptions, 1u);
  hub->publish("kept", std::nullopt, 1, 0);
  EXPECT_EQ(live->seqs.size(), 1u);
}

TEST(MemoryHubExpiry, UnsubscribeFromAnUnknownChannelCreatesNothing) {
  auto hub = make_hub();
  Recorder rec;
  for (int i = 0; i < 100; ++i) {
    hub->unsubscribe("nobody." + std::to_string(i), &rec);
  }
  EXPECT_EQ(hub->counts().channels, 0u);
  EXPECT_EQ(hub->stats().channels, 0u);
}

TEST(MemoryHubExpiry, ConcurrentUseAndSweepsNeverLoseAnAcceptedPublish) {
  // Two user threads and a sweeper race on a few channels that go idle and come back. In
  // each round a thread subscribes, publishes 5, unsubscribes: while it was subscribed the
  // channel could not go, so it must have received every seq from its subscribe answer on,
  // contiguous (both threads publish there), including its own 5 acks. A subscribe or publish
  // that landed in a removed channel would miss them.
  constexpr int kRounds = 40000;
  auto hub = make_hub(/*history=*/16);
  std::atomic<bool> done{false};
  std::thread sweeper([&] {
    while (!done.load()) {
      hub->expire_idle();
    }
  });
  std::atomic<int> bad_rounds{0};
  const auto user = [&](int t) {
    for (int round = 0; round < kRounds; ++round) {
      const std::string ch = "r" + std::to_string((round + t) % 5);
      auto rec = std::make_shared<SeqRecorder>();
      const SubscribeResult sub = hub->subscribe(ch, rec, std::nullopt, std::nullopt);
      std::vector<std::uint64_t> acked;
      for (int k = 0; k < 5; ++k) {
        acked.push_back(hub->publish(ch, std::nullopt, k, 0).seq);
      }
      hub->unsubscribe(ch, rec.get());
      hub->read(ch, std::nullopt, std::nullopt, 0);  // a use after the subscription, racing
      std::lock_guard lock(rec->mu);
      bool ok = true;
      for (std::size_t i = 0; i < rec->seqs.size(); ++i) {
        ok = ok && rec->seqs[i] == sub.last_seq + 1 + i;
      }
      for (const std::uint64_t a : acked) {
        ok = ok && std::find(rec->seqs.begin(), rec->seqs.end(), a) != rec->seqs.end();
      }
      bad_rounds += ok ? 0 : 1;
    }
  };
  std::thread a(user, 0);
  std::thread b(user, 1);
  a.join();
  b.join();
  done = true;
  sweeper.join();
  EXPECT_EQ(bad_rounds.load(), 0);
  EXPECT_GT(hub->counts().expired, 0u) << "the sweeper never removed a channel: no race";
  hub->expire_idle();
  hub->expire_idle();
  EXPECT_EQ(hub->counts().channels, 0u);  // nothing subscribed: two sweeps empty the hub
  EXPECT_EQ(hub->stats().channels, 0u);
}

}  // namespace
}  // namespace steadyws::hub
