// Client::Impl's HTTP long-polling fallback (CONTRACT §3): activation and leaving it, polls
// and their answers, publishes over POST /api/publish.
#include "client/client_impl.hpp"

namespace steadyws {

// ---- the HTTP long-polling fallback --------------------------------------------------------

void Client::Impl::activate_fallback(const std::string& reason) {
  if (fallback_active_)
    return;
  fallback_active_ = true;
  fallback_mirror_.store(true);
  ++fallback_gen_;
  poll_schedule_.reset();
  probe_backoff_.reset();
  if (opts_.on_fallback_activated && callbacks_on())
    opts_.on_fallback_activated(true);
  (void)reason;  // carried by the state transition that preceded this call
  // The first poll goes out now: the switch must complete within 2 s of the decision.
  start_poll();
  http_publish_next();
  schedule_retry(std::nullopt);  // the first WebSocket probe
}

void Client::Impl::deactivate_fallback() {
  if (!fallback_active_)
    return;
  fallback_active_ = false;
  fallback_mirror_.store(false);
  ++fallback_gen_;
  poll_timer_.cancel();
  // An answer in flight is dropped unread: its messages were not delivered, so the cursors
  // did not move and the re-subscribe with since replays them. Nothing is lost.
  if (poll_call_)
    poll_call_->cancel();
  poll_call_.reset();
  poll_joining_ = false;
  if (publish_call_)
    publish_call_->cancel();
  publish_call_.reset();
  if (opts_.on_fallback_activated && callbacks_on())
    opts_.on_fallback_activated(false);
}

void Client::Impl::arm_poll(Duration delay) {
  poll_timer_.expires_after(delay);
  const auto gen = fallback_gen_;
  poll_timer_.async_wait([this, gen](error_code ec) {
    if (ec || gen != fallback_gen_)
      return;
    start_poll();
    http_publish_next();  // a failed publish is retried at the poll pace
  });
}

void Client::Impl::start_poll() {
  if (!fallback_active_ || poll_call_)
    return;
  if (cursors_.empty())
    return arm_poll(poll_schedule_.interval());
  auto asked = cursors_.poll_cursors();
  // A channel with no cursor yet joins with wait 0 and publishes wait for the answer, so our
  // own publish after a subscribe is not missed by a poll that reached the server later
  // (ClientEngine's invariant 5).
  poll_joining_ =
      std::any_of(asked.begin(), asked.end(), [](const client::PollCursor& p) { return !p.since; });
  poll_wait_ = poll_joining_ ? Duration{0} : opts_.long_poll_timeout;
  const auto gen = fallback_gen_;
  const TimePoint started = Clock::now();
  poll_call_ = std::make_shared<client::HttpCall>(
      ioc_, endpoint(), http::verb::get, client::poll_target(asked, poll_wait_), "",
      poll_wait_ + Duration{5000},
      [this, gen, asked, started](error_code ec, unsigned status, std::string body) mutable {
        if (gen != fallback_gen_)
          return;
        poll_call_.reset();
        const bool joined = std::exchange(poll_joining_, false);
        on_poll(std::move(asked), started, ec, status, std::move(body));
        if (joined)
          http_publish_next();
      },
      endpoint().tls ? tls_ctx_ : nullptr);
  poll_call_->start();
}

void Client::Impl::on_poll(std::vector<client::PollCursor> asked, TimePoint started, error_code ec,
                           unsigned status, std::string body) {
  const TimePoint now = Clock::now();
  if (ec || status != 200) {
    poll_schedule_.on_failure();
    report_error("poll", ec,
                 ec ? "poll " + endpoint().url + ": " + ec.message()
                    : "poll answered HTTP " + std::to_string(status) + ": " + body.substr(0, 200));
    if (endpoints_.size() > 1)
      url_index_ = (url_index_ + 1) % endpoints_.size();
    return arm_poll(poll_schedule_.interval());
  }
  auto answer = client::parse_poll_answer(body);
  if (!answer) {
    poll_schedule_.on_failure();
    report_error("poll", make_error_code(errc::bad_json), answer.error());
    return arm_poll(poll_schedule_.interval());
  }
  // A poll that came back empty waited server-side for the whole timeout: that is not
  // latency. One that came back with messages answered as soon as it could.
  const Duration elapsed = std::chrono::duration_cast<Duration>(now - started);
  poll_schedule_.on_success(answer->messages.empty() ? std::max(Duration{0}, elapsed - poll_wait_)
                                                     : Duration{0});
  std::vector<std::string> catching_up;
  for (const auto& a : asked) {
    std::optional<std::uint64_t> first;
    for (const auto& pm : answer->messages) {
      if (pm.message.channel == a.channel && (!first || pm.message.seq < *first))
        first = pm.message.seq;
    }
    auto cur = answer->cursors.find(a.channel);
    auto ep = answer->epochs.find(a.channel);
    auto rec = answer->recovered.find(a.channel);
    const auto out = cursors_.on_poll_channel(
        a.channel, cur == answer->cursors.end() ? std::nullopt : std::optional(cur->second),
        ep == answer->epochs.end() ? std::nullopt : std::optional(ep->second),
        rec == answer->recovered.end() ? std::nullopt : std::optional(rec->second), first,
        a.since.has_value());
    if (out.catch_up)
      catching_up.push_back(a.channel);
    if (out.known && out.recovered && opts_.on_recovered && callbacks_on())
      opts_.on_recovered(a.channel, *out.recovered);
  }
  std::erase_if(answer->messages, [&](const client::PolledMessage& pm) {
    return std::find(catching_up.begin(), catching_up.end(), pm.message.channel) !=
           catching_up.end();
  });
  // Deliver in seq order per channel even if the server listed channels interleaved.
  std::stable_sort(answer->messages.begin(), answer->messages.end(),
                   [](const auto& x, const auto& y) {
                     return std::tie(x.message.channel, x.message.seq) <
                            std::tie(y.message.channel, y.message.seq);
                   });
  for (auto& pm : answer->messages) {
    if (!fallback_active_)
      return;  // a callback disconnected us
    deliver(std::move(pm.message), std::move(pm.json), true);
  }
  for (const auto& [channel, cursor] : answer->cursors) {
    if (std::find(catching_up.begin(), catching_up.end(), channel) == catching_up.end())
      cursors_.on_poll_cursor(channel, cursor);
  }
  arm_poll(poll_schedule_.interval());
}

void Client::Impl::http_publish_next() {
  if (!fallback_active_ || publish_call_ || (poll_call_ && poll_joining_))
    return;
  std::string id;
  std::string payload;
  {
    std::lock_guard lock(mu_);
    const QueuedMessage* m = queue_.next_pending();
    if (m == nullptr)
      return;
    id = m->id;
    payload = m->payload;
    queue_.mark_sent(id, Clock::now());
  }
  const auto gen = fallback_gen_;
  publish_call_ = std::make_shared<client::HttpCall>(
      ioc_, endpoint(), http::verb::post, std::string(client::kPublishTarget), std::move(payload),
      opts_.connect_timeout,
      [this, gen, id](error_code ec, unsigned status, std::string body) {
        if (gen != fallback_gen_)
          return;
        publish_call_.reset();
        if (ec || status != 200) {
          // Back to pending (order kept); the next poll tick retries. The id makes it safe.
          {
            std::lock_guard lock(mu_);
            queue_.on_disconnect();
          }
          report_error("publish", ec,
                       ec ? "POST /api/publish: " + ec.message()
                          : "POST /api/publish answered HTTP " + std::to_string(status) + ": " +
                                body.substr(0, 200));
          return;
        }
        auto ack = client::parse_publish_answer(body);
        bool known = false;
        {
          std::lock_guard lock(mu_);
          known = queue_.ack(ack ? ack->id : id);
        }
        if (ack && known && opts_.on_ack && callbacks_on())
          opts_.on_ack(ack->id, ack->channel, ack->seq);
        http_publish_next();
      },
      endpoint().tls ? tls_ctx_ : nullptr);
  publish_call_->start();
}

}  // namespace steadyws
