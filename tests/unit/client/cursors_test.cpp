#include "client/cursors.hpp"

#include <gtest/gtest.h>

namespace steadyws::client {
namespace {

protocol::Subscribed subscribed(std::string channel, std::uint64_t seq, std::string epoch,
                                bool recovered) {
  protocol::Subscribed s;
  s.channel = std::move(channel);
  s.seq = seq;
  s.epoch = std::move(epoch);
  s.recovered = recovered;
  return s;
}

TEST(ChannelCursors, FirstSubscribeCarriesNoSince) {
  ChannelCursors c;
  EXPECT_TRUE(c.add("news"));
  EXPECT_FALSE(c.add("news"));
  const auto f = c.subscribe_frame("news");
  EXPECT_EQ(f.channel, "news");
  EXPECT_FALSE(f.since.has_value());
  EXPECT_FALSE(f.epoch.has_value());
}

TEST(ChannelCursors, FirstSubscribedSetsPositionAndReportsNoResume) {
  ChannelCursors c;
  c.add("news");
  const auto out = c.on_subscribed(subscribed("news", 41, "E1", false));
  EXPECT_TRUE(out.known);
  EXPECT_FALSE(out.recovered.has_value());
  EXPECT_EQ(c.last("news"), 41u);
  EXPECT_EQ(c.epoch("news"), "E1");
  EXPECT_EQ(c.on_message("news", 41), Verdict::duplicate);
  EXPECT_EQ(c.on_message("news", 42), Verdict::deliver);
}

TEST(ChannelCursors, LiveMessagesThatOvertakeTheSubscribeAnswerAreDroppedThenReplayed) {
  // A resumed session (?session=&resume=) is subscribed on the server before our subscribe
  // since=5 is answered: live 8 arrives first. Delivering it would skip 6 and 7 for good.
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 4, "E1", false));
  EXPECT_EQ(c.on_message("news", 5), Verdict::deliver);
  const auto f = c.subscribe_for_send("news");
  EXPECT_EQ(f.since, 5u);
  EXPECT_EQ(c.on_message("news", 8), Verdict::duplicate);
  EXPECT_EQ(c.last("news"), 5u);
  const auto out = c.on_subscribed(subscribed("news", 8, "E1", true));
  EXPECT_EQ(out.recovered, true);
  for (std::uint64_t seq : {6u, 7u, 8u})
    EXPECT_EQ(c.on_message("news", seq), Verdict::deliver) << seq;
  EXPECT_EQ(c.on_message("news", 9), Verdict::deliver);
}

TEST(ChannelCursors, APollAnswerEndsTheWaitForASubscribeAnswerTheLinkNeverBrought) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 4, "E1", false));
  c.subscribe_for_send("news");
  c.on_poll_channel("news", 6, std::string("E1"), true, 5, true);
  EXPECT_EQ(c.on_message("news", 5), Verdict::deliver);
}

TEST(ChannelCursors, ResubscribeCarriesLastDeliveredAndEpoch) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  EXPECT_EQ(c.on_message("news", 1), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 2), Verdict::deliver);
  const auto f = c.subscribe_frame("news");
  EXPECT_EQ(f.since, 2u);
  EXPECT_EQ(f.epoch, "E1");
}

TEST(ChannelCursors, RecoveredResumeDropsReplayedDuplicatesOnly) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  ASSERT_EQ(c.on_message("news", 1), Verdict::deliver);
  ASSERT_EQ(c.on_message("news", 2), Verdict::deliver);
  const auto out = c.on_subscribed(subscribed("news", 5, "E1", true));
  ASSERT_TRUE(out.recovered.has_value());
  EXPECT_TRUE(*out.recovered);
  EXPECT_EQ(c.last("news"), 2u);  // the replay 3..5 follows and must be delivered
  EXPECT_EQ(c.on_message("news", 2), Verdict::duplicate);
  EXPECT_EQ(c.on_message("news", 3), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 3), Verdict::duplicate);
  EXPECT_EQ(c.on_message("news", 4), Verdict::deliver);
}

TEST(ChannelCursors, UnrecoveredResumeInSameEpochJumpsToServerPosition) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  ASSERT_EQ(c.on_message("news", 10), Verdict::deliver);
  // History too short: messages 11..49 are gone.
  const auto out = c.on_subscribed(subscribed("news", 50, "E1", false));
  ASSERT_TRUE(out.recovered.has_value());
  EXPECT_FALSE(*out.recovered);
  EXPECT_FALSE(out.catch_up);
  EXPECT_EQ(c.last("news"), 50u);
  EXPECT_EQ(c.on_message("news", 50), Verdict::duplicate);
  EXPECT_EQ(c.on_message("news", 51), Verdict::deliver);
}

TEST(ChannelCursors, NewEpochReportsGapThenCatchesUpFromZero) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  ASSERT_EQ(c.on_message("news", 10), Verdict::deliver);
  // Restarted server: new epoch, and 3 messages were published there before we came back.
  const auto out = c.on_subscribed(subscribed("news", 3, "E2", false));
  ASSERT_TRUE(out.recovered.has_value());
  EXPECT_FALSE(*out.recovered);
  EXPECT_TRUE(out.catch_up);
  const auto f = c.subscribe_frame("news");
  EXPECT_EQ(f.since, 0u);
  EXPECT_EQ(f.epoch, "E2");
  // The catch-up answer is not reported again, and the replay 1..3 is delivered.
  const auto again = c.on_subscribed(subscribed("news", 3, "E2", true));
  EXPECT_FALSE(again.recovered.has_value());
  EXPECT_FALSE(again.catch_up);
  EXPECT_EQ(c.on_message("news", 1), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 2), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 3), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 3), Verdict::duplicate);
}

TEST(ChannelCursors, LiveMessagesBeforeTheCatchUpAnswerWaitForTheReplay) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  ASSERT_EQ(c.on_message("news", 10), Verdict::deliver);
  // New epoch with 1 message; the server already counts us subscribed, so live messages 2
  // and 3 race ahead of the answer to our since=0 catch-up. Delivering them would push the
  // cursor past 1, and the replay of 1 would then be dropped as a duplicate: a silent loss.
  ASSERT_TRUE(c.on_subscribed(subscribed("news", 1, "E2", false)).catch_up);
  EXPECT_EQ(c.on_message("news", 2), Verdict::duplicate);
  EXPECT_EQ(c.on_message("news", 3), Verdict::duplicate);
  c.on_subscribed(subscribed("news", 3, "E2", true));
  EXPECT_EQ(c.on_message("news", 1), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 2), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 3), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 2), Verdict::duplicate);
}

TEST(ChannelCursors, APollAnswersACatchUpTheWebSocketNeverGot) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  ASSERT_EQ(c.on_message("news", 10), Verdict::deliver);
  ASSERT_TRUE(c.on_subscribed(subscribed("news", 2, "E2", false)).catch_up);
  // The link is lost before the answer; the fallback polls from 0 of E2 instead.
  const auto cursors = c.poll_cursors();
  ASSERT_EQ(cursors.size(), 1u);
  EXPECT_EQ(cursors[0].since, 0u);
  const auto out = c.on_poll_channel("news", 2, "E2", true, 1, true);
  EXPECT_FALSE(out.catch_up);
  EXPECT_EQ(c.on_message("news", 1), Verdict::deliver);
  EXPECT_EQ(c.on_message("news", 2), Verdict::deliver);
}

TEST(ChannelCursors, NewEpochWithNothingPublishedNeedsNoCatchUp) {
  ChannelCursors c;
  c.add("news");
  c.on_subscribed(subscribed("news", 0, "E1", false));
  ASSERT_EQ(c.on_message("news", 10), Verdict::deliver);
  const auto out = c.on_subscribed(subscribed("news", 0, "E2", false));
  EXPECT_EQ(out.recovered, false);
  EXPECT_FALSE(out.catch_up);
  EXPECT_EQ(c.last("news"), 0u);
  EXPECT_EQ(c.on_message("news", 1), Verdict::deliver);  // not mistaken for an old seq
}

TEST(ChannelCursors, DropsMessagesOfUnknownChannels) {
  ChannelCursors c;
  EXPECT_EQ(c.on_message("x", 1), Verdict::unsubscribed);
  c.add("x");
  EXPECT_TRUE(c.remove("x"));
  EXPECT_FALSE(c.remove("x"));
  EXPECT_EQ(c.on_message("x", 1), Verdict::unsubscribed);
  EXPECT_FALSE(c.on_subscribed(subscribed("x", 1, "E", false)).known);
}

TEST(ChannelCursors, PollCursorsFollowWebSocketPositions) {
  ChannelCursors c;
  c.add("b");
  c.add("a");
  c.on_subscribed(subscribed("a", 3, "EA", false));
  const auto p = c.poll_cursors();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].channel, "a");
  EXPECT_EQ(p[0].since, 3u);
  EXPECT_EQ(p[0].epoch, "EA");
  EXPECT_EQ(p[1].channel, "b");
  EXPECT_FALSE(p[1].since.has_value());
  EXPECT_FALSE(p[1].epoch.has_value());
}

TEST(ChannelCursors, PollAnswerRecoveredKeepsCursorUntilMessagesDelivered) {
  ChannelCursors c;
  c.add("a");
  c.on_subscribed(subscribed("a", 3, "EA", false));
  const auto out = c.on_poll_channel("a", 5, std::string("EA"), true, 4, true);
  EXPECT_EQ(out.recovered, true);
  EXPECT_EQ(c.last("a"), 3u);
  EXPECT_EQ(c.on_message("a", 4), Verdict::deliver);
  EXPECT_EQ(c.on_message("a", 5), Verdict::deliver);
  c.on_poll_cursor("a", 5);
  EXPECT_EQ(c.last("a"), 5u);
}

TEST(ChannelCursors, PollAnswerUnrecoveredJumpsBeforeItsOwnMessages) {
  ChannelCursors c;
  c.add("a");
  c.on_subscribed(subscribed("a", 9, "E1", false));
  // Same epoch, but the history no longer reaches back to 9; the answer carries 15 and 16.
  const auto out = c.on_poll_channel("a", 16, std::string("E1"), false, 15, true);
  EXPECT_EQ(out.recovered, false);
  EXPECT_FALSE(out.catch_up);
  EXPECT_EQ(c.last("a"), 14u);
  EXPECT_EQ(c.on_message("a", 15), Verdict::deliver);
}

TEST(ChannelCursors, PollAnswerWithNewEpochCatchesUpFromZero) {
  ChannelCursors c;
  c.add("a");
  c.on_subscribed(subscribed("a", 9, "E1", false));
  const auto out = c.on_poll_channel("a", 2, std::string("E2"), std::nullopt, 1, true);
  EXPECT_EQ(out.recovered, false);  // a new epoch is a gap even without the flag
  EXPECT_TRUE(out.catch_up);
  EXPECT_EQ(c.last("a"), 0u);
  const auto next = c.poll_cursors();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].since, 0u);
  EXPECT_EQ(next[0].epoch, "E2");
}

TEST(ChannelCursors, FirstPollWithoutSinceStartsAtServerCursor) {
  ChannelCursors c;
  c.add("a");
  const auto out = c.on_poll_channel("a", 7, std::string("E1"), std::nullopt, std::nullopt, false);
  EXPECT_TRUE(out.known);
  EXPECT_FALSE(out.recovered.has_value());
  c.on_poll_cursor("a", 7);
  EXPECT_EQ(c.last("a"), 7u);
  EXPECT_EQ(c.subscribe_frame("a").since, 7u);
  EXPECT_EQ(c.subscribe_frame("a").epoch, "E1");
}

TEST(ChannelCursors, DuplicateSubscribedInSameEpochNeverMovesBackwards) {
  ChannelCursors c;
  c.add("a");
  c.on_subscribed(subscribed("a", 0, "E1", false));
  ASSERT_EQ(c.on_message("a", 1), Verdict::deliver);
  ASSERT_EQ(c.on_message("a", 2), Verdict::deliver);
  c.on_subscribed(subscribed("a", 1, "E1", false));  // a stale answer, recovered:false
  EXPECT_EQ(c.last("a"), 2u);
  EXPECT_EQ(c.on_message("a", 2), Verdict::duplicate);
}

TEST(ChannelCursors, SameIdAgainInNewEpochIsADuplicate) {
  ChannelCursors c;
  c.add("a");
  c.on_subscribed(subscribed("a", 0, "E1", false));
  ASSERT_EQ(c.on_message("a", 1, "p-1"), Verdict::deliver);
  c.on_subscribed(subscribed("a", 0, "E2", false));
  // The publisher's resend after the restart: new seq, same id.
  EXPECT_EQ(c.on_message("a", 1, "p-1"), Verdict::duplicate);
  EXPECT_EQ(c.on_message("a", 2, "p-2"), Verdict::deliver);
}

TEST(ChannelCursors, RemembersABoundedNumberOfIds) {
  ChannelCursors c;
  c.add("a");
  c.on_subscribed(subscribed("a", 0, "E1", false));
  for (std::uint64_t i = 1; i <= ChannelCursors::kRecentIds + 1; ++i)
    ASSERT_EQ(c.on_message("a", i, "id" + std::to_string(i)), Verdict::deliver);
  // id1 was forgotten (the oldest), id2 is still remembered.
  EXPECT_EQ(c.on_message("a", 5000, "id2"), Verdict::duplicate);
  EXPECT_EQ(c.on_message("a", 5001, "id1"), Verdict::deliver);
}

}  // namespace
}  // namespace steadyws::client
