// steadyws::Client's facade: construction (options checked, the executor or the own I/O
// thread), shutdown, publish() from any thread, and the public methods (client_impl.hpp).
#include "asio/run_loop.hpp"
#include "client/client_impl.hpp"

namespace steadyws {
namespace {

BackoffConfig backoff_config(const ClientOptions& o, bool unlimited) {
  BackoffConfig c;
  c.base = o.reconnect_interval;
  c.max_delay = o.max_backoff_delay;
  c.jitter = o.jitter;
  c.mode = o.jitter_mode;
  c.exponential = o.exponential_backoff;
  c.max_attempts = unlimited ? 0 : o.max_reconnect_attempts;
  return c;
}

HeartbeatConfig heartbeat_config(const ClientOptions& o) {
  HeartbeatConfig c;
  c.interval = o.heartbeat_interval;
  c.timeout = o.heartbeat_timeout;
  c.max_missed = o.max_missed_heartbeats;
  return c;
}

PollScheduleConfig poll_config(const ClientOptions& o) {
  PollScheduleConfig c;
  c.initial = o.fallback_poll_interval;
  c.min = std::min(c.min, o.fallback_poll_interval);
  c.max = std::max(c.max, o.fallback_poll_interval);
  return c;
}

}  // namespace

Client::Impl::Impl(ClientOptions options)
    : opts_(std::move(options)),
      work_(net::make_work_guard(ioc_)),
      backoff_(backoff_config(opts_, false)),
      probe_backoff_(backoff_config(opts_, true)),
      rng_(opts_.seed ? *opts_.seed : std::random_device{}()),
      hb_(heartbeat_config(opts_), Clock::now()),
      poll_schedule_(poll_config(opts_)),
      retry_timer_(ioc_),
      connect_timer_(ioc_),
      heartbeat_timer_(ioc_),
      poll_timer_(ioc_),
      ack_timer_(ioc_),
      token_timer_(ioc_),
      queue_(opts_.queue),
      forecaster_(ForecastConfig{opts_.forecast_horizon, opts_.heartbeat_interval}) {
  if (opts_.urls.empty())
    throw std::invalid_argument("steadyws::Client needs at least one URL (ws://host:port/ws)");
  for (const auto& u : opts_.urls) {
    auto e = client::parse_ws_url(u);
    if (!e)
      throw std::invalid_argument(e.error());
    endpoints_.push_back(*e);
  }
  if (std::any_of(endpoints_.begin(), endpoints_.end(), [](const auto& e) { return e.tls; })) {
    auto ctx = client::make_tls_client_context(opts_.ca_file, opts_.insecure);
    if (!ctx)
      throw std::invalid_argument(ctx.error());
    tls_ctx_ = std::move(*ctx);
  }
  current_url_ = endpoints_.front().url;
  // Ids must be unique across clients even when tests give every client the same seed, so
  // the prefix comes from random_device, not from rng_.
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "c%08x%08x-", rd(), rd());
  id_prefix_ = buf;
  sm_.on_transition([this](const Transition& t) {
    {
      std::lock_guard lock(mu_);
      state_ = t.to;
    }
    if (opts_.on_state_change && callbacks_on())
      opts_.on_state_change(t);
  });
  thread_ = std::thread([this] {
    // A handler that throws is a bug: logged, and the loop goes on so the destructor can
    // still join.
    io::run_io_context(ioc_, [](std::string_view what) {
      std::fprintf(stderr, "error client: exception escaped a handler: %.*s (bug)\n",
                   static_cast<int>(what.size()), what.data());
      return true;
    });
  });
}

Client::Impl::~Impl() {
  callbacks_enabled_.store(false, std::memory_order_release);
  post([this] {
    shutdown();
    ioc_.stop();
  });
  work_.reset();
  if (thread_.joinable())
    thread_.join();
}

void Client::Impl::shutdown() {
  want_connected_ = false;
  error_code ignored;
  retry_timer_.cancel();
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  poll_timer_.cancel();
  ack_timer_.cancel();
  token_timer_.cancel();
  if (poll_call_)
    poll_call_->cancel();
  if (publish_call_)
    publish_call_->cancel();
  if (link_) {
    link_->resolver.cancel();
    beast::get_lowest_layer(link_->ws).socket().close(ignored);
    link_.reset();
  }
}

// ---- commands ------------------------------------------------------------------------------

PublishResult Client::Impl::publish(std::string channel, boost::json::value data,
                                    std::optional<std::string> id) {
  if (!protocol::is_valid_channel(channel))
    throw std::invalid_argument("publish: channel must be 1-128 of A-Z a-z 0-9 _ . : -");
  if (id && !protocol::is_valid_id(*id))
    throw std::invalid_argument("publish: id must be 1-64 characters");
  PublishResult r;
  r.id = id ? std::move(*id) : id_prefix_ + std::to_string(++id_counter_);
  std::string frame = client::publish_frame(channel, data, r.id);
  {
    std::lock_guard lock(mu_);
    r.status = queue_.enqueue(r.id, std::move(frame), Clock::now());
  }
  if (r.status == Enqueue::accepted)
    post([this] { flush_queue(); });
  return r;
}

std::vector<std::string> Client::Impl::recommendations() const {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  auto out = quality_.recommendations(now);
  const Forecast f = forecaster_.last();
  if (f.samples > 0 && f.risk >= 0.5) {
    out.push_back("Quality is likely to degrade to poor within " +
                  std::to_string(f.horizon.count() / 1000) + " s (risk " +
                  std::to_string(static_cast<int>(f.risk * 100 + 0.5)) +
                  " %): defer large transfers, or move to another server before it does.");
  }
  if (const auto b = bandwidth_.estimate(now); b.throttled)
    out.push_back("The link looks throttled (about " +
                  std::to_string(static_cast<std::uint64_t>(b.bytes_per_second / 1024)) +
                  " KB/s while messages wait): subscribe to fewer channels, send smaller or "
                  "fewer messages, turn on compression, or move to a faster network");
  return out;
}

// ---- Client ----------------------------------------------------------------------------------

namespace {
ClientOptions with_url(std::string url, ClientOptions o) {
  o.urls.insert(o.urls.begin(), std::move(url));
  return o;
}
}  // namespace

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::Client(std::string url, ClientOptions options)
    : impl_(std::make_unique<Impl>(with_url(std::move(url), std::move(options)))) {}
Client::~Client() = default;

void Client::connect() {
  impl_->connect();
}
void Client::disconnect() {
  impl_->disconnect();
}
void Client::reconnect() {
  impl_->reconnect();
}
PublishResult Client::publish(std::string channel, boost::json::value data,
                              std::optional<std::string> id) {
  return impl_->publish(std::move(channel), std::move(data), std::move(id));
}
void Client::subscribe(std::string channel) {
  impl_->subscribe(std::move(channel));
}
void Client::unsubscribe(std::string channel) {
  impl_->unsubscribe(std::move(channel));
}
bool Client::is_connected() const {
  return impl_->state() == State::connected;
}
bool Client::is_reconnecting() const {
  return impl_->state() == State::reconnecting;
}
State Client::connection_status() const {
  return impl_->state();
}
double Client::connection_reliability() const {
  return impl_->metrics().reliability;
}
Forecast Client::forecast() const {
  return impl_->forecast();
}
QualityMetrics Client::quality_metrics() const {
  return impl_->metrics();
}
Quality Client::quality() const {
  return impl_->quality();
}
bool Client::is_using_fallback() const {
  return impl_->using_fallback();
}
bool Client::has_given_up() const {
  return impl_->given_up();
}
std::vector<std::string> Client::recommendations() const {
  return impl_->recommendations();
}
BandwidthEstimate Client::bandwidth() const {
  return impl_->bandwidth();
}
std::size_t Client::queued() const {
  return impl_->queued();
}
std::string Client::current_url() const {
  return impl_->current_url();
}

}  // namespace steadyws
