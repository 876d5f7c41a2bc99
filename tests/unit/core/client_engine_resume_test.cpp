// ClientEngine: resume. Every channel is re-subscribed after each welcome with since/epoch;
// replays and resends are delivered exactly once, in order; recovered:false is reported and
// jumps the cursor; an epoch change catches up from seq 0 of the new epoch. Also on /api/poll.
#include <gtest/gtest.h>

#include "unit/core/client_engine_harness.hpp"

namespace steadyws::test {
namespace {

// Subscribed to news, connected on link 1, positioned at seq 7 of epoch e1.
EngineHarness at_seq_seven() {
  EngineHarness h;
  h.subscribe(0, "news");
  h.connected(0);
  h.subscribed(20, "news", 5, "e1", false);
  h.message(30, "news", 6, "m6");
  h.message(40, "news", 7, "m7");
  return h;
}

// Lost at 100, back on link 2 at 1110 (welcome), the resume subscribe sent.
void reconnect(EngineHarness& h) {
  h.lost(100, std::nullopt, "read: reset");
  h.fire(1100, EngineTimer::retry);
  EXPECT_EQ(only(h.welcome(1110), "send"), Lines{"send link=2 subscribe news since=7 epoch=e1"});
}

TEST(ClientEngine, AFirstSubscriptionStartsAtTheServersPosition) {
  EngineHarness h;
  h.connected(0);
  EXPECT_EQ(h.subscribe(100, "news"), Lines{"send link=1 subscribe news since=- epoch=-"});
  EXPECT_EQ(h.subscribe(101, "news"), Lines{});                   // already subscribed
  EXPECT_EQ(h.subscribed(110, "news", 5, "e1", false), Lines{});  // no resume, nothing to report
  EXPECT_EQ(h.message(120, "news", 5), Lines{});                  // at the cursor: old
  EXPECT_EQ(h.message(130, "news", 6, "m6"), Lines{"deliver news#6 m6"});
  EXPECT_EQ(h.message(140, "news", 6, "m6"), Lines{});                     // a duplicate
  EXPECT_EQ(h.message(150, "news", 9, "m9"), Lines{"deliver news#9 m9"});  // gaps pass
  EXPECT_EQ(h.message(160, "other", 1), Lines{});                          // not subscribed
  EXPECT_EQ(h.subscribe(170, "bad channel!"),
            Lines{"error subscribe bad_message: channel must be 1-128 of A-Z a-z 0-9 _ . : -: "
                  "bad channel!"});
}

TEST(ClientEngine, ResumeReplaysExactlyOnceInOrder) {
  auto h = at_seq_seven();
  reconnect(h);
  EXPECT_EQ(h.subscribed(1120, "news", 9, "e1", true), Lines{"recovered news true"});
  EXPECT_EQ(h.message(1130, "news", 6, "m6"), Lines{});
  EXPECT_EQ(h.message(1140, "news", 7, "m7"), Lines{});
  EXPECT_EQ(h.message(1150, "news", 8, "m8"), Lines{"deliver news#8 m8"});
  EXPECT_EQ(h.message(1160, "news", 9, "m9"), Lines{"deliver news#9 m9"});
  EXPECT_EQ(h.engine().cursors().last("news"), 9u);
}

TEST(ClientEngine, RecoveredFalseIsReportedAndJumpsTheCursor) {
  auto h = at_seq_seven();
  reconnect(h);
  EXPECT_EQ(h.subscribed(1120, "news", 20, "e1", false), Lines{"recovered news false"});
  EXPECT_EQ(h.engine().cursors().last("news"), 20u);
  EXPECT_EQ(h.message(1130, "news", 12), Lines{});
  EXPECT_EQ(h.message(1140, "news", 21, "m21"), Lines{"deliver news#21 m21"});
}

// The epoch changed (a restarted server): the gap is reported and the client asks again from
// seq 0 of the new epoch, so what was published since the restart is not lost too. Live
// messages before that answer are dropped: the replay brings them, in order.
TEST(ClientEngine, AnEpochChangeCatchesUpFromZero) {
  auto h = at_seq_seven();
  reconnect(h);
  EXPECT_EQ(h.subscribed(1120, "news", 3, "e2", false),
            (Lines{"send link=2 subscribe news since=0 epoch=e2", "recovered news false"}));
  EXPECT_EQ(h.message(1125, "news", 4, "m4"), Lines{});  // live, before the catch-up answer
  EXPECT_EQ(h.subscribed(1130, "news", 4, "e2", true), Lines{});  // reported once only
  EXPECT_EQ(h.message(1140, "news", 1, "n1"), Lines{"deliver news#1 n1"});
  EXPECT_EQ(h.message(1150, "news", 2, "n2"), Lines{"deliver news#2 n2"});
  EXPECT_EQ(h.message(1160, "news", 3, "n3"), Lines{"deliver news#3 n3"});
  EXPECT_EQ(h.message(1170, "news", 4, "m4"), Lines{"deliver news#4 m4"});
  EXPECT_EQ(h.engine().cursors().epoch("news"), "e2");
}

// A publish accepted by the old server and resent after its restart gets a new seq in the new
// epoch: its id gives it away.
TEST(ClientEngine, AnIdDeliveredBeforeIsADuplicateAcrossEpochs) {
  auto h = at_seq_seven();
  reconnect(h);
  h.subscribed(1120, "news", 1, "e2", false);  // catch-up from 0
  h.subscribed(1130, "news", 1, "e2", true);
  EXPECT_EQ(h.message(1140, "news", 1, "m7"), Lines{});
  EXPECT_EQ(h.message(1150, "news", 2, "n2"), Lines{"deliver news#2 n2"});
}

TEST(ClientEngine, UnsubscribeForgetsTheCursor) {
  auto h = at_seq_seven();
  EXPECT_EQ(h.on(50, engine::UnsubscribeRequested{"news"}), Lines{"send link=1 unsubscribe news"});
  EXPECT_EQ(h.on(51, engine::UnsubscribeRequested{"news"}), Lines{});
  EXPECT_EQ(h.message(60, "news", 8), Lines{});
  EXPECT_EQ(h.subscribe(70, "news"), Lines{"send link=1 subscribe news since=- epoch=-"});
}

// ---- on the fallback ------------------------------------------------------------------------

// On the fallback (budget 1) with news at seq 7 of e1, learned from two polls.
EngineHarness polling_at_seq_seven() {
  auto c = engine_config();
  c.max_reconnect_attempts = 1;
  EngineHarness h(c);
  h.subscribe(0, "news");
  h.connect(0);
  h.fail(10);
  h.fire(1010, EngineTimer::retry);
  h.fail(1020);  // poll 1 out: news@-/-
  engine::PollAnswered a;
  a.messages = {{"news", 6, "m6"}, {"news", 7, "m7"}};
  a.cursors = {{"news", 7}};
  a.epochs = {{"news", "e1"}};
  EXPECT_EQ(only(h.poll_answered(1100, a), "deliver"),
            (Lines{"deliver news#6 m6 via_fallback", "deliver news#7 m7 via_fallback"}));
  EXPECT_EQ(h.fire(3600, EngineTimer::poll), Lines{"poll request=2 url=0 news@7/e1"});
  return h;
}

TEST(ClientEngine, PollMessagesAreDeliveredInSeqOrderOnce) {
  auto h = polling_at_seq_seven();
  engine::PollAnswered a;
  a.messages = {{"news", 9, "m9"}, {"news", 7, "m7"}, {"news", 8, "m8"}};
  a.cursors = {{"news", 9}};
  a.epochs = {{"news", "e1"}};
  a.recovered = {{"news", true}};
  EXPECT_EQ(h.poll_answered(3700, a),
            (Lines{"recovered news true", "deliver news#8 m8 via_fallback",
                   "deliver news#9 m9 via_fallback", "arm_timer poll at=4950ms"}));
  // Deliver::index points into the answer, so the shell hands over the right data.
  const auto d = h.raw_of<engine::Deliver>();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].index, 2u);
  EXPECT_EQ(d[1].index, 0u);
}

TEST(ClientEngine, AnEpochChangeOnThePollCatchesUpFromZero) {
  auto h = polling_at_seq_seven();
  engine::PollAnswered a;
  a.messages = {{"news", 1, "n1"}, {"news", 2, "n2"}};
  a.cursors = {{"news", 2}};
  a.epochs = {{"news", "e2"}};
  a.recovered = {{"news", false}};
  EXPECT_EQ(h.poll_answered(3700, a),
            (Lines{"recovered news false", "arm_timer poll at=4950ms"}));  // messages held back
  EXPECT_EQ(h.fire(4950, EngineTimer::poll), Lines{"poll request=3 url=0 news@0/e2"});
  a.recovered = {{"news", true}};
  EXPECT_EQ(only(h.poll_answered(5000, a), "deliver"),
            (Lines{"deliver news#1 n1 via_fallback", "deliver news#2 n2 via_fallback"}));
}

TEST(ClientEngine, RecoveredFalseOnThePollJumpsToTheAnswer) {
  auto h = polling_at_seq_seven();
  engine::PollAnswered a;
  a.messages = {{"news", 30, "m30"}};
  a.cursors = {{"news", 30}};
  a.epochs = {{"news", "e1"}};
  a.recovered = {{"news", false}};
  EXPECT_EQ(h.poll_answered(3700, a),
            (Lines{"recovered news false", "deliver news#30 m30 via_fallback",
                   "arm_timer poll at=4950ms"}));
  EXPECT_EQ(h.engine().cursors().last("news"), 30u);
}

// The cursors carry over from the fallback to the WebSocket and back: no loss, no duplicate.
TEST(ClientEngine, CursorsCarryAcrossTheSwitchBack) {
  auto h = polling_at_seq_seven();
  // The probe (armed at 1020 + 1000) holds while poll 2 is out: the poll is dropped unread.
  h.fire(3600, EngineTimer::retry);
  EXPECT_EQ(only(h.welcome(3610), "send"), Lines{"send link=3 subscribe news since=7 epoch=e1"});
  EXPECT_EQ(h.on(3620, engine::PollAnswered{2, {{"news", 8, "m8"}}, {{"news", 8}}, {}, {}}),
            Lines{});
  EXPECT_EQ(h.subscribed(3630, "news", 8, "e1", true), Lines{"recovered news true"});
  EXPECT_EQ(h.message(3640, "news", 8, "m8"), Lines{"deliver news#8 m8"});
}

}  // namespace
}  // namespace steadyws::test
