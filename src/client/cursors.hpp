// Resume bookkeeping: per subscribed channel, the last seq delivered to the application and
// the epoch it belongs to. It decides which `message` frames reach the application (exactly
// once, in order: anything at or below the cursor is a duplicate from a replay or a resend)
// and what to send when (re)subscribing or polling. Pure: no I/O, no clock. Private to
// src/client. Not thread-safe: used on the client's I/O thread only.
//
// Invariants:
//  1. A channel has a cursor (last) only after the server told us a position: a `subscribed`
//     answer, a delivered message, or an /api/poll answer.
//  2. last never decreases within one epoch; it moves back only when the server reports
//     recovered:false (the old position means nothing in the new epoch).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "client/url.hpp"
#include "protocol/messages.hpp"

namespace steadyws::client {

// What a resume answer meant for one channel.
struct ResumeOutcome {
  bool known = false;  // the channel is subscribed here (else the answer is ignored)
  // Set only when the subscribe or poll carried `since` (a resume): did the server replay
  // everything after it? nullopt for a first subscription.
  std::optional<bool> recovered;
  // The epoch changed (the server lost its history, e.g. a restart): the cursor was set to 0
  // of the new epoch so that what was published there since is not lost too. WebSocket: send
  // subscribe_frame() again now. Poll: drop this answer's messages for the channel; the next
  // poll asks from 0. The gap in the old epoch is still reported (recovered = false).
  bool catch_up = false;
};

enum class Verdict {
  deliver,       // new: hand it to the application (the cursor moved to its seq)
  duplicate,     // seq <= cursor: already delivered
  unsubscribed,  // not a channel we want (a late frame after unsubscribe)
};

class ChannelCursors {
 public:
  // Adds a channel; false when it was already there (its cursor is kept).
  bool add(const std::string& channel);
  // Removes a channel and forgets its cursor; false when it was not there.
  bool remove(std::string_view channel);
  bool contains(std::string_view channel) const;
  std::vector<std::string> channels() const;
  bool empty() const { return channels_.empty(); }

  // The subscribe frame for `channel`: with since and epoch once a position is known.
  protocol::Subscribe subscribe_frame(const std::string& channel) const;
  // The same frame, for sending now: until its `subscribed` answer (or a poll answer for the
  // channel) every message of the channel is dropped. A resumed session (?session=&resume=)
  // gets its subscriptions back at once, so live messages can overtake that answer; they come
  // again in the replay after it, and delivering them first would move the cursor past the
  // replay's first messages, which would then be dropped as duplicates: lost.
  protocol::Subscribe subscribe_for_send(const std::string& channel);

  // The server's `subscribed` answer. With recovered:true the replay that follows continues
  // from our cursor; with recovered:false (or a first subscription) the cursor jumps to the
  // server's current seq and epoch, except after an epoch change (see catch_up).
  ResumeOutcome on_subscribed(const protocol::Subscribed& s);

  // A `message` frame (WebSocket or poll): deliver it or drop it. Gaps (seq > cursor + 1)
  // are delivered too: the server promises order, and when it cannot it says recovered:false.
  // While a catch-up (see ResumeOutcome) is outstanding every message of the channel is
  // dropped: the replay after the catch-up answer brings it again, in order.
  // `id` (may be empty): a message whose id was among the last kRecentIds delivered on the
  // channel is a duplicate even with a new seq. That happens across a server restart: a
  // publish the old server accepted but whose ack was lost is resent, and the new server (new
  // epoch, no dedup memory) accepts it again. Same rule as the server's, one epoch wider.
  Verdict on_message(std::string_view channel, std::uint64_t seq, std::string_view id = {});

  // Ids remembered per channel for the rule above; about the server's default history.
  static constexpr std::size_t kRecentIds = 1024;

  // The cursors for the next /api/poll, in channel-name order.
  std::vector<PollCursor> poll_cursors() const;

  // One channel of an /api/poll answer, applied BEFORE its messages are passed to
  // on_message(). `cursor`, `epoch`, `recovered`: the answer's cursors[C], epochs[C],
  // recovered[C] (each may be absent). `first_seq`: the lowest seq among the answer's messages
  // for C, if any. `asked_since`: whether the poll carried since for C. On recovered:false the
  // cursor jumps to just before first_seq (or to cursor when there are no messages).
  ResumeOutcome on_poll_channel(const std::string& channel, std::optional<std::uint64_t> cursor,
                                const std::optional<std::string>& epoch,
                                std::optional<bool> recovered,
                                std::optional<std::uint64_t> first_seq, bool asked_since);
  // After the answer's messages: the cursor moves up to `cursor` (the server's "you are here").
  void on_poll_cursor(const std::string& channel, std::uint64_t cursor);

  // The cursor of `channel`, for tests and diagnostics.
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

}  // namespace steadyws::client
