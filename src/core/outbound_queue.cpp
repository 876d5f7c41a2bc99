#include "steadyws/core/outbound_queue.hpp"

#include <iterator>
#include <utility>

namespace steadyws {

OutboundQueue::OutboundQueue(OutboundQueueConfig c) : config_(c) {}

OutboundQueue::List::iterator OutboundQueue::erase(List::iterator it) {
  index_.erase(std::string_view(it->id));
  stats_.bytes -= it->payload.size();
  auto next = entries_.erase(it);
  stats_.size = entries_.size();
  return next;
}

Enqueue OutboundQueue::enqueue(std::string id, std::string payload, TimePoint now) {
  if (index_.contains(std::string_view(id))) {
    ++stats_.duplicates;
    return Enqueue::duplicate;
  }
  const std::size_t n = payload.size();
  const auto fits = [&] {
    return entries_.size() < config_.max_messages && stats_.bytes + n <= config_.max_bytes;
  };
  if (!fits()) {
    const bool can_ever_fit = config_.max_messages > 0 && n <= config_.max_bytes;
    if (config_.overflow == OverflowPolicy::refuse_new || !can_ever_fit) {
      ++stats_.refused_full;
      return Enqueue::full;
    }
    while (!fits()) {
      auto oldest = entries_.begin();
      // Unindex before moving: the index key views this node's id, which a move empties.
      index_.erase(std::string_view(oldest->id));
      stats_.bytes -= oldest->payload.size();
      dropped_.push_back(std::move(*oldest));
      entries_.erase(oldest);
      ++stats_.dropped_oldest;
    }
  }
  entries_.push_back(QueuedMessage{std::move(id), std::move(payload), now});
  auto it = std::prev(entries_.end());
  index_.emplace(std::string_view(it->id), it);
  stats_.bytes += n;
  stats_.size = entries_.size();
  ++stats_.accepted;
  return Enqueue::accepted;
}

std::vector<const QueuedMessage*> OutboundQueue::pending() const {
  std::vector<const QueuedMessage*> out;
  for (const auto& m : entries_) {
    if (!m.in_flight) {
      out.push_back(&m);
    }
  }
  return out;
}

const QueuedMessage* OutboundQueue::next_pending() const {
  for (const auto& m : entries_) {
    if (!m.in_flight) {
      return &m;
    }
  }
  return nullptr;
}

bool OutboundQueue::mark_sent(std::string_view id, TimePoint now) {
  auto found = index_.find(id);
  if (found == index_.end()) {
    return false;
  }
  found->second->in_flight = true;
  found->second->sent_at = now;
  return true;
}

bool OutboundQueue::ack(std::string_view id) {
  auto found = index_.find(id);
  if (found == index_.end()) {
    return false;
  }
  erase(found->second);
  ++stats_.acked;
  return true;
}

void OutboundQueue::on_disconnect() {
  for (auto& m : entries_) {
    m.in_flight = false;
  }
}

std::vector<QueuedMessage> OutboundQueue::expire(TimePoint now) {
  std::vector<QueuedMessage> out;
  if (!config_.expiry) {
    return out;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->in_flight && now >= it->enqueued_at + *config_.expiry) {
      // Unindex before moving: the index key views this node's id, which a move empties.
      index_.erase(std::string_view(it->id));
      stats_.bytes -= it->payload.size();
      out.push_back(std::move(*it));
      it = entries_.erase(it);
      ++stats_.expired;
    } else {
      ++it;
    }
  }
  stats_.size = entries_.size();
  return out;
}

std::optional<TimePoint> OutboundQueue::next_expiry() const {
  if (!config_.expiry) {
    return std::nullopt;
  }
  std::optional<TimePoint> earliest;
  for (const auto& m : entries_) {
    if (!m.in_flight && (!earliest || m.enqueued_at < *earliest)) {
      earliest = m.enqueued_at;
    }
  }
  if (earliest) {
    *earliest += *config_.expiry;
  }
  return earliest;
}

std::vector<QueuedMessage> OutboundQueue::take_dropped() {
  return std::exchange(dropped_, {});
}

}  // namespace steadyws
