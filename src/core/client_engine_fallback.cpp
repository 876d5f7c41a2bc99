// ClientEngine, the HTTP long-polling fallback: switching to it (the WebSocket probes then run
// on the unlimited probe backoff), the polls and their pacing, resume on /api/poll, and the
// publishes that go one at a time through POST /api/publish.
#include <algorithm>
#include <tuple>
#include <utility>

#include "core/client_engine.hpp"

namespace steadyws {

void ClientEngine::activate_fallback() {
  if (fallback_active_)
    return;
  fallback_active_ = true;
  poll_schedule_.reset();
  probe_backoff_.reset();
  emit(engine::StartPolling{});
  // The first poll goes out now: the switch must complete within 2 s of the decision.
  start_poll();
  http_publish_next();
  schedule_retry(std::nullopt);  // the first WebSocket probe
}

void ClientEngine::deactivate_fallback() {
  if (!fallback_active_)
    return;
  fallback_active_ = false;
  cancel(EngineTimer::poll);
  // An answer in flight is dropped unread: its messages were not delivered, so the cursors
  // did not move and the re-subscribe with since replays them. Nothing is lost.
  poll_request_ = 0;
  poll_joining_ = false;
  poll_asked_.clear();
  publish_request_ = 0;
  publish_id_.clear();
  emit(engine::StopPolling{});
}

void ClientEngine::arm_poll(Duration delay) {
  arm(EngineTimer::poll, now_ + delay);
}

void ClientEngine::start_poll() {
  if (!fallback_active_ || poll_request_ != 0)
    return;
  if (cursors_.empty())
    return arm_poll(poll_schedule_.interval());
  poll_asked_ = cursors_.poll_points();
  // A channel with no cursor yet joins with wait 0: the server answers at once with where the
  // channel is, and publishes wait for that answer (invariant 5), so this client's own
  // publish after its subscribe is not missed by a poll that reached the server later.
  poll_joining_ = std::any_of(poll_asked_.begin(), poll_asked_.end(),
                              [](const ResumePoint& p) { return !p.since; });
  poll_wait_ = poll_joining_ ? Duration{0} : config_.long_poll_timeout;
  poll_started_ = now_;
  poll_request_ = ++last_request_;
  emit(engine::Poll{poll_request_, url_index_, poll_asked_, poll_wait_});
}

void ClientEngine::on(const engine::PollFailed& e) {
  if (e.request != poll_request_ || poll_request_ == 0)
    return;
  poll_request_ = 0;
  const bool joined = std::exchange(poll_joining_, false);
  poll_schedule_.on_failure();
  if (e.bad_body) {
    report_error("poll", "bad_json", e.reason);
  } else {
    report_error("poll", "", e.reason);
    if (config_.urls.size() > 1)
      url_index_ = (url_index_ + 1) % config_.urls.size();
  }
  arm_poll(poll_schedule_.interval());
  if (joined)
    http_publish_next();  // a failed join holds publishes no longer: they have their own retry
}

void ClientEngine::on(const engine::PollAnswered& e) {
  if (e.request != poll_request_ || poll_request_ == 0)
    return;
  poll_request_ = 0;
  const bool joined = std::exchange(poll_joining_, false);
  const auto asked = std::exchange(poll_asked_, {});
  // A poll that came back empty waited server-side for the whole wait: that is not latency.
  // One that came back with messages answered as soon as it could.
  const auto elapsed = std::chrono::duration_cast<Duration>(now_ - poll_started_);
  poll_schedule_.on_success(e.messages.empty() ? std::max(Duration{0}, elapsed - poll_wait_)
                                               : Duration{0});
  std::vector<std::string> catching_up;
  for (const auto& a : asked) {
    std::optional<std::uint64_t> first;
    for (const auto& m : e.messages) {
      if (m.channel == a.channel && (!first || m.seq < *first))
        first = m.seq;
    }
    const auto cur = e.cursors.find(a.channel);
    const auto ep = e.epochs.find(a.channel);
    const auto rec = e.recovered.find(a.channel);
    const auto out = cursors_.on_poll_channel(
        a.channel, cur == e.cursors.end() ? std::nullopt : std::optional(cur->second),
        ep == e.epochs.end() ? std::nullopt : std::optional(ep->second),
        rec == e.recovered.end() ? std::nullopt : std::optional(rec->second), first,
        a.since.has_value());
    if (out.catch_up)
      catching_up.push_back(a.channel);
    if (out.known && out.recovered)
      emit(engine::Recovered{a.channel, *out.recovered});
  }
  const auto caught = [&](const std::string& channel) {
    return std::find(catching_up.begin(), catching_up.end(), channel) != catching_up.end();
  };
  // Deliver in seq order per channel even if the server listed channels interleaved; the
  // shell finds each message's data by its index in the answer.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < e.messages.size(); ++i) {
    if (!caught(e.messages[i].channel))
      order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return std::tie(e.messages[x].channel, e.messages[x].seq) <
           std::tie(e.messages[y].channel, e.messages[y].seq);
  });
  for (const std::size_t i : order)
    deliver(e.messages[i].channel, e.messages[i].seq, e.messages[i].id, i, true);
  for (const auto& [channel, cursor] : e.cursors) {
    if (!caught(channel))
      cursors_.on_poll_cursor(channel, cursor);
  }
  arm_poll(poll_schedule_.interval());
  if (joined)
    http_publish_next();
}

void ClientEngine::http_publish_next() {
  if (!fallback_active_ || publish_request_ != 0 || (poll_request_ != 0 && poll_joining_))
    return;
  const QueuedMessage* m = queue_.next_pending();
  if (m == nullptr)
    return;
  queue_.mark_sent(m->id, now_);
  publish_request_ = ++last_request_;
  publish_id_ = m->id;
  emit(engine::HttpPublish{publish_request_, url_index_, m->id, m->payload});
}

void ClientEngine::on(const engine::PublishFailed& e) {
  if (e.request != publish_request_ || publish_request_ == 0)
    return;
  publish_request_ = 0;
  // Back to pending (order kept); the next poll tick retries. The id makes it safe.
  queue_.on_disconnect();
  report_error("publish", "", e.reason);
}

void ClientEngine::on(const engine::PublishAnswered& e) {
  if (e.request != publish_request_ || publish_request_ == 0)
    return;
  publish_request_ = 0;
  const std::string id = std::exchange(publish_id_, {});
  const bool known = queue_.ack(e.ack ? e.ack->id : id);
  if (e.ack && known)
    emit(engine::Acked{e.ack->id, e.ack->channel, e.ack->seq});
  http_publish_next();
}

}  // namespace steadyws
