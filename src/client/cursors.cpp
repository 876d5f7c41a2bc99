#include "client/cursors.hpp"

#include <algorithm>

namespace steadyws::client {

bool ChannelCursors::add(const std::string& channel) {
  return channels_.try_emplace(channel).second;
}

bool ChannelCursors::remove(std::string_view channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end())
    return false;
  channels_.erase(it);
  return true;
}

bool ChannelCursors::contains(std::string_view channel) const {
  return channels_.find(channel) != channels_.end();
}

std::vector<std::string> ChannelCursors::channels() const {
  std::vector<std::string> out;
  out.reserve(channels_.size());
  for (const auto& [name, c] : channels_)
    out.push_back(name);
  return out;
}

protocol::Subscribe ChannelCursors::subscribe_frame(const std::string& channel) const {
  protocol::Subscribe s;
  s.channel = channel;
  auto it = channels_.find(channel);
  if (it != channels_.end() && it->second.last) {
    s.since = it->second.last;
    s.epoch = it->second.epoch;
  }
  return s;
}

protocol::Subscribe ChannelCursors::subscribe_for_send(const std::string& channel) {
  auto it = channels_.find(channel);
  if (it != channels_.end())
    it->second.awaiting = true;
  return subscribe_frame(channel);
}

ResumeOutcome ChannelCursors::on_subscribed(const protocol::Subscribed& s) {
  auto it = channels_.find(s.channel);
  if (it == channels_.end())
    return {};
  Cursor& c = it->second;
  c.awaiting = false;
  ResumeOutcome out{.known = true, .recovered = std::nullopt};
  const bool resumed = c.last.has_value();
  if (c.catching_up) {
    // The answer to our since=0 catch-up: already reported as a gap, not again. If even the
    // new epoch's history is gone, continue from its current position.
    c.catching_up = false;
    c.epoch = s.epoch;
    if (!s.recovered)
      c.last = std::max(*c.last, s.seq);
    return out;
  }
  if (resumed)
    out.recovered = s.recovered;
  const bool epoch_changed = resumed && c.epoch && *c.epoch != s.epoch;
  if (resumed && !s.recovered && epoch_changed && s.seq > 0) {
    c.last = 0;
    c.epoch = s.epoch;
    c.catching_up = true;
    out.catch_up = true;
    return out;
  }
  if (!resumed || !s.recovered) {
    // CONTRACT §2: nothing is replayed; continue from the server's current position. A
    // duplicate `subscribed` for a channel we already follow must not move us backwards
    // within the same epoch (messages after it may already have been delivered).
    const bool same_epoch = c.epoch && *c.epoch == s.epoch;
    if (!resumed || !same_epoch || s.seq > *c.last)
      c.last = s.seq;
  }
  c.epoch = s.epoch;
  return out;
}

Verdict ChannelCursors::on_message(std::string_view channel, std::uint64_t seq,
                                   std::string_view id) {
  auto it = channels_.find(channel);
  if (it == channels_.end())
    return Verdict::unsubscribed;
  Cursor& c = it->second;
  // Our since=0 catch-up is outstanding, but the server already counts us subscribed and
  // pushes live messages. They come again in the replay that follows its answer; delivering
  // them now would move the cursor past the replay's first messages, which would then be
  // dropped as duplicates: lost.
  if (c.catching_up || c.awaiting)
    return Verdict::duplicate;
  if (c.last && seq <= *c.last)
    return Verdict::duplicate;
  c.last = seq;  // even for an id duplicate: this seq is consumed either way
  if (id.empty())
    return Verdict::deliver;
  std::string key(id);
  if (c.recent_set.contains(key))
    return Verdict::duplicate;
  c.recent_ids.push_back(key);
  c.recent_set.insert(std::move(key));
  if (c.recent_ids.size() > kRecentIds) {
    c.recent_set.erase(c.recent_ids.front());
    c.recent_ids.pop_front();
  }
  return Verdict::deliver;
}

std::vector<PollCursor> ChannelCursors::poll_cursors() const {
  std::vector<PollCursor> out;
  out.reserve(channels_.size());
  for (const auto& [name, c] : channels_) {
    PollCursor p{.channel = name, .since = c.last, .epoch = std::nullopt};
    if (c.last)
      p.epoch = c.epoch;
    out.push_back(std::move(p));
  }
  return out;
}

ResumeOutcome ChannelCursors::on_poll_channel(const std::string& channel,
                                              std::optional<std::uint64_t> cursor,
                                              const std::optional<std::string>& epoch,
                                              std::optional<bool> recovered,
                                              std::optional<std::uint64_t> first_seq,
                                              bool asked_since) {
  auto it = channels_.find(channel);
  if (it == channels_.end())
    return {};
  Cursor& c = it->second;
  // A WebSocket catch-up that never got its answer (the link went, we are polling): this
  // poll asked from the same cursor, so its answer is the catch-up.
  c.catching_up = false;
  c.awaiting = false;  // likewise for a subscribe whose answer the lost link never brought
  ResumeOutcome out{.known = true, .recovered = std::nullopt};
  const bool epoch_changed = epoch && c.epoch && *epoch != *c.epoch;
  if (asked_since && recovered)
    out.recovered = *recovered;
  else if (asked_since && epoch_changed)
    out.recovered = false;  // a new epoch is a lost history even if the flag is missing
  if (out.recovered == false && epoch_changed && epoch) {
    // A new epoch: start at its beginning on the next poll (its history still holds what was
    // published since the restart); this answer's messages for C are replayed then.
    c.last = 0;
    c.epoch = *epoch;
    out.catch_up = true;
    return out;
  }
  if (out.recovered == false) {
    // Jump to the server's position. Messages in this very answer are new in the new
    // position, so stop just before the first of them rather than at the cursor.
    if (first_seq)
      c.last = *first_seq > 0 ? *first_seq - 1 : 0;
    else if (cursor)
      c.last = *cursor;
    else
      c.last.reset();
  }
  if (epoch)
    c.epoch = *epoch;
  return out;
}

void ChannelCursors::on_poll_cursor(const std::string& channel, std::uint64_t cursor) {
  auto it = channels_.find(channel);
  if (it == channels_.end())
    return;
  Cursor& c = it->second;
  if (!c.last || cursor > *c.last)
    c.last = cursor;
}

std::optional<std::uint64_t> ChannelCursors::last(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? std::nullopt : it->second.last;
}

std::optional<std::string> ChannelCursors::epoch(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? std::nullopt : it->second.epoch;
}

}  // namespace steadyws::client
