// Client::Impl's commands (connect, disconnect, reconnect, subscribe), the offline queue
// flush and ack timeout, and the shared helpers: deliver, transition, report_error.
#include "client/client_impl.hpp"

namespace steadyws {

void Client::Impl::do_connect() {
  const State s = sm_.state();
  if (want_connected_ &&
      (s == State::connecting || s == State::connected || s == State::reconnecting))
    return;
  if (want_connected_ && fallback_active_)
    return;
  want_connected_ = true;
  given_up_.store(false);
  backoff_.reset();
  retry_timer_.cancel();
  transition(State::connecting, "connect()");
  start_attempt();
}

void Client::Impl::do_disconnect() {
  want_connected_ = false;
  retry_timer_.cancel();
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  token_timer_.cancel();
  if (fallback_active_)
    deactivate_fallback();
  drop_link(true);
  {
    std::lock_guard lock(mu_);
    queue_.on_disconnect();
    quality_.record_disconnected(Clock::now());
  }
  transition(State::closed, "disconnect()");
}

void Client::Impl::do_reconnect() {
  want_connected_ = true;
  given_up_.store(false);
  backoff_.reset();
  retry_timer_.cancel();
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  drop_link(true);
  {
    std::lock_guard lock(mu_);
    queue_.on_disconnect();
    quality_.record_disconnected(Clock::now());
  }
  switch (sm_.state()) {
    case State::connected:
      transition(State::disconnected, "reconnect()");
      transition(State::reconnecting, "reconnect()");
      break;
    case State::disconnected:
    case State::error:
      transition(State::reconnecting, "reconnect()");
      break;
    case State::closed:
      transition(State::connecting, "reconnect()");
      break;
    case State::connecting:
    case State::reconnecting:
      break;  // an attempt was in progress: it is replaced by the one below
  }
  probing_ = false;
  start_attempt();
}

void Client::Impl::do_subscribe(const std::string& channel) {
  if (!protocol::is_valid_channel(channel)) {
    report_error("subscribe", make_error_code(errc::bad_message),
                 "channel must be 1-128 of A-Z a-z 0-9 _ . : -: " + channel);
    return;
  }
  if (!cursors_.add(channel))
    return;
  if (link_ && link_->welcomed)
    send(protocol::to_json(cursors_.subscribe_for_send(channel)));
  // On the fallback the next poll carries the new channel.
}

void Client::Impl::do_unsubscribe(const std::string& channel) {
  if (!cursors_.remove(channel))
    return;
  if (link_ && link_->welcomed)
    send(protocol::to_json(protocol::Unsubscribe{channel}));
}

// Sends what is pending on whichever transport is up; in order, each once per connection.
void Client::Impl::flush_queue() {
  if (link_ && link_->welcomed) {
    std::vector<std::string> frames;
    {
      std::lock_guard lock(mu_);
      const TimePoint now = Clock::now();
      for (const QueuedMessage* m : queue_.pending()) {
        frames.push_back(m->payload);
        queue_.mark_sent(m->id, now);
      }
    }
    const bool sent = !frames.empty();
    for (auto& f : frames)
      send(std::move(f));
    if (sent)
      arm_ack_timer();
  } else if (fallback_active_) {
    http_publish_next();
  }
}

void Client::Impl::arm_ack_timer() {
  if (ack_timer_armed_ || opts_.ack_timeout.count() <= 0)
    return;
  ack_timer_armed_ = true;
  ack_timer_.expires_after(opts_.ack_timeout);
  const auto acks_then = acks_;
  auto l = link_;
  ack_timer_.async_wait([this, acks_then, l](error_code ec) {
    ack_timer_armed_ = false;
    if (ec || l != link_ || !link_ || !link_->welcomed)
      return;
    bool waiting = false;
    {
      std::lock_guard lock(mu_);
      waiting = !queue_.empty();
      if (waiting && acks_ == acks_then)
        queue_.on_disconnect();  // no progress at all: everything in flight goes again
    }
    if (waiting) {
      flush_queue();
      arm_ack_timer();
    }
  });
}

// ---- shared helpers --------------------------------------------------------------------------

void Client::Impl::deliver(protocol::Message m, std::string json, bool via_fallback) {
  if (cursors_.on_message(m.channel, m.seq, m.id) != client::Verdict::deliver)
    return;
  if (!opts_.on_message || !callbacks_on())
    return;
  ReceivedMessage r;
  r.channel = std::move(m.channel);
  r.seq = m.seq;
  r.id = std::move(m.id);
  r.data = std::move(m.data);
  r.timestamp_ms = m.timestamp_ms;
  r.json = std::move(json);
  r.via_fallback = via_fallback;
  opts_.on_message(r);
}

void Client::Impl::transition(State to, std::string reason) {
  if (sm_.state() == to)
    return;
  auto r = sm_.transition(to, std::move(reason), Clock::now());
  if (!ok(r))
    std::fprintf(stderr, "warn client: illegal transition %s -> %s ignored (bug)\n",
                 std::string(to_string(sm_.state())).c_str(), std::string(to_string(to)).c_str());
}

void Client::Impl::report_error(std::string where, error_code ec, std::string message) {
  if (opts_.on_error && callbacks_on())
    opts_.on_error(ClientError{std::move(where), ec, std::move(message)});
}

}  // namespace steadyws
