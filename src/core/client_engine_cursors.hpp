// The client engine's resume bookkeeping: per subscribed channel, the last seq delivered to the
// application and the epoch it belongs to. It decides which `message` frames reach the
// application (exactly once, in order: anything at or below the cursor is a duplicate from a
// replay or a resend) and what to ask for when (re)subscribing or polling.
//
// It is src/client/cursors.hpp's ChannelCursors with the same rules, moved into the core so
// that ClientEngine can own it: the core may not include protocol/ or client/, so it speaks the
// engine's own small structs. Once client.cpp runs on the engine, the client's copy goes.
//
// Pure: no I/O, no clock. Not thread-safe: owned by one ClientEngine.
//
// Invariants:
//  1. A channel has a cursor (last) only after the server told us a position: a `subscribed`
//     answer, a delivered message, or an /api/poll answer.
//  2. last never decreases within one epoch; it moves back only when the server reports
//     recovered:false with a new epoch (the old position means nothing there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace steadyws {

// Where to resume a channel from: a subscribe's since/epoch, or one channel of an /api/poll.
struct ResumePoint {
  std::string channel;
  std::optional<std::uint64_t> since;  // set once a position is known
  std::optional<std::string> epoch;    // set only with since
};

// What a resume answer meant for one channel.
struct ResumeOutcome {
  bool known = false;  // the channel is subscribed here (else the answer is ignored)
  // Set only when the subscribe or poll carried `since` (a resume): did the server replay
  // everything after it? nullopt for a first subscription.
  std::optional<bool> recovered;
  // The epoch changed (the server lost its history): the cursor was set to 0 of the new epoch
  // so that what was published there since is not lost too. WebSocket: subscribe again now.
  // Poll: drop this answer's messages for the channel; the next poll asks from 0.
  bool catch_up = false;
};

enum class ResumeVerdict {
  deliver,       // new: hand it to the application (the cursor moved to its seq)
  duplicate,     // seq <= cursor, or a recently delivered id: already delivered
  unsubscribed,  // not a channel we want (a late frame after unsubscribe)
};

class ResumeCursors {
 public:
  // Adds a channel; false when it was already there (its cursor is kept).
  bool add(const std::string& channel);
  // Removes a channel and forgets its cursor; false when it was not there.
  bool remove(std::string_view channel);
  bool contains(std::string_view channel) const;
  // Channel names in name order.
  std::vector<std::string> channels() const;
  bool empty() const { return channels_.empty(); }

  // The subscribe for `channel`: with since and epoch once a position is known.
  ResumePoint subscribe_point(const std::string& channel) const;
  // The same, for sending now: until the channel's `subscribed` (or a poll answer for it) its
  // messages are dropped; a resumed session's live ones can overtake that answer and come
  // again in the replay after it (same rule as src/client/cursors.hpp).
  ResumePoint subscribe_point_for_send(const std::string& channel);

  // The server's `subscribed` answer. With recovered:true the replay that follows continues
  // from our cursor; with recovered:false (or a first subscription) the cursor jumps to the
  // server's current seq and epoch, except after an epoch change (see catch_up).
  ResumeOutcome on_subscribed(const std::string& channel, std::uint64_t seq,
                              const std::string& epoch, bool recovered);

  // A `message` (WebSocket or poll): deliver it or drop it. Gaps (seq > cursor + 1) are
  // delivered: the server promises order, and when it cannot it says recovered:false. While a
  // catch-up is outstanding every message of the channel is dropped (the replay after the
  // catch-up answer brings it again, in order). A message whose non-empty `id` was among the
  // last kRecentIds delivered on the channel is a duplicate even with a new seq (a publish
  // resent across a server restart, accepted again by the new epoch).
  ResumeVerdict on_message(std::string_view channel, std::uint64_t seq, std::string_view id);

  static constexpr std::size_t kRecentIds = 1024;

  // The cursors for the next /api/poll, in channel-name order.
  std::vector<ResumePoint> poll_points() const;

  // One channel of an /api/poll answer, applied BEFORE its messages go to on_message().
  // cursor/epoch/recovered: the answer's cursors[C], epochs[C], recovered[C] (each may be
  // absent). first_seq: the lowest seq among the answer's messages for C. asked_since: the
  // poll carried since for C. On recovered:false the cursor jumps to just before first_seq (or
  // to cursor when there are no messages).
  ResumeOutcome on_poll_channel(const std::string& channel, std::optional<std::uint64_t> cursor,
                                const std::optional<std::string>& epoch,
                                std::optional<bool> recovered,
                                std::optional<std::uint64_t> first_seq, bool asked_since);
  // After the answer's messages: the cursor moves up to `cursor` (the server's "you are here").
  void on_poll_cursor(const std::string& channel, std::uint64_t cursor);

  std::optional<std::uint64_t> last(std::string_view channel) const;
  std::optional<std::string> epoch(std::string_view channel) const;

 private:
  struct Cursor {
    std::optional<std::uint64_t> last;  // last seq delivered (or the position we started at)
    std::optional<std::string> epoch;
    bool catching_up = false;  // a since=0 re-subscribe after an epoch change is outstanding
    bool awaiting = false;     // a subscribe is sent and its answer has not come yet
    std::deque<std::string> recent_ids;  // delivery order, at most kRecentIds
    std::unordered_set<std::string> recent_set;
  };
  std::map<std::string, Cursor, std::less<>> channels_;
};

}  // namespace steadyws
