#include "tools/load/bench_client.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <boost/asio/write.hpp>

#include "steadyws/core/close_code.hpp"

#include "client/tls.hpp"
#include "tools/load/bench_frame.hpp"

namespace steadyws::tools::bench {
namespace {

LostInfo lost_info(bool was_open, std::string reason) {
  LostInfo info;
  info.was_open = was_open;
  info.reason = std::move(reason);
  return info;
}

}  // namespace

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

// One TCP (or TLS over TCP) connection and its buffers. A new Link per attempt: handlers of an
// old link see `l != link_` and return, so a late completion never touches the new connection.
struct ReconnectingClient::Link {
  explicit Link(const ClientEnv& env)
      : stream(env.tls ? client::MaybeTlsStream(env.ioc, env.tls)
                       : client::MaybeTlsStream(env.ioc)) {}
  enum class State { connecting, upgrading, welcome, open };

  tcp::socket& socket() { return stream.next_layer().socket(); }

  client::MaybeTlsStream stream;
  State state = State::connecting;
  std::vector<char> rbuf = std::vector<char>(8 * 1024);
  std::size_t rlen = 0;
  std::vector<char> pending;  // frames queued this turn
  std::vector<char> writing;  // the write in flight
  bool write_in_flight = false;
  bool in_dispatch = false;
  bool ping_outstanding = false;
  bool rx_since_ping = true;
  std::string fragments;
};

ReconnectingClient::ReconnectingClient(ClientEnv& env, std::uint64_t seed)
    : env_(env),
      backoff_(env.backoff),
      rng_(seed),
      mask_(static_cast<std::uint32_t>(seed * 2654435761u + 1)),
      retry_(env.ioc),
      heartbeat_(env.ioc) {}

ReconnectingClient::~ReconnectingClient() = default;

void ReconnectingClient::start() {
  stopped_ = false;
  attempt();
}

void ReconnectingClient::stop() {
  stopped_ = true;
  retry_.cancel();
  heartbeat_.cancel();
  if (link_) {
    error_code ignored;
    link_->socket().set_option(net::socket_base::linger(true, 0), ignored);
    link_->socket().close(ignored);
    link_.reset();
  }
}

bool ReconnectingClient::is_open() const {
  return link_ && link_->state == Link::State::open;
}

void ReconnectingClient::attempt() {
  ++attempts_;
  auto l = std::make_shared<Link>(env_);
  link_ = l;
  retry_.expires_after(env_.connect_timeout);
  retry_.async_wait([this, l](const error_code& ec) {
    if (ec || l != link_ || l->state == Link::State::open)
      return;
    lose(l, lost_info(false, "connect timeout"));
  });
  l->socket().async_connect(env_.endpoint, [this, l](const error_code& ec) {
    if (l != link_)
      return;
    if (ec)
      return lose(l, lost_info(false, "connect: " + ec.message()));
    on_connect(l);
  });
}

void ReconnectingClient::on_connect(const std::shared_ptr<Link>& l) {
  error_code ignored;
  l->socket().set_option(tcp::no_delay(true), ignored);
  if (!l->stream.is_tls())
    return start_upgrade(l);
  l->stream.async_tls_handshake(env_.tls_host, true, [this, l](const error_code& ec) {
    if (l != link_)
      return;
    if (ec)
      return lose(l, lost_info(false, "tls: " + l->stream.tls_failure(ec)));
    start_upgrade(l);
  });
}

void ReconnectingClient::start_upgrade(const std::shared_ptr<Link>& l) {
  l->state = Link::State::upgrading;
  l->pending.insert(l->pending.end(), env_.request.begin(), env_.request.end());
  flush(l);
  do_read(l);
}

void ReconnectingClient::send_text(std::string_view payload) {
  if (!link_ || link_->state != Link::State::open)
    return;
  append_frame(link_->pending, Opcode::text, payload, next_mask());
  if (!link_->in_dispatch)
    flush(link_);
}

void ReconnectingClient::drop(const std::string& reason) {
  if (link_)
    lose(link_, lost_info(link_->state == Link::State::open, reason));
}

void ReconnectingClient::flush(const std::shared_ptr<Link>& l) {
  if (l->write_in_flight || l->pending.empty() || l != link_)
    return;
  std::swap(l->pending, l->writing);
  l->write_in_flight = true;
  net::async_write(
      l->stream, net::buffer(l->writing), [this, l](const error_code& ec, std::size_t) {
        l->write_in_flight = false;
        l->writing.clear();
        if (l != link_)
          return;
        if (ec)
          return lose(l, lost_info(l->state == Link::State::open, "write: " + ec.message()));
        flush(l);
      });
}

void ReconnectingClient::do_read(const std::shared_ptr<Link>& l) {
  if (l->rlen == l->rbuf.size())
    l->rbuf.resize(l->rbuf.size() * 2);
  l->stream.async_read_some(
      net::buffer(l->rbuf.data() + l->rlen, l->rbuf.size() - l->rlen),
      [this, l](const error_code& ec, std::size_t n) {
        if (l != link_)
          return;
        if (ec)
          return lose(l, lost_info(l->state == Link::State::open,
                                   ec == net::error::eof ? std::string("server closed TCP")
                                                         : "read: " + ec.message()));
        on_read(l, n);
      });
}

void ReconnectingClient::on_read(const std::shared_ptr<Link>& l, std::size_t n) {
  l->rlen += n;
  l->rx_since_ping = true;
  const auto now = SteadyClock::now();
  std::size_t off = 0;
  if (l->state == Link::State::upgrading) {
    const auto end = parse_upgrade_response(l->rbuf.data(), l->rlen);
    if (!end)
      return do_read(l);
    if (*end == 0) {
      const std::string_view head(l->rbuf.data(), std::min<std::size_t>(l->rlen, 40));
      return lose(
          l, lost_info(false, "upgrade refused: " + std::string(head.substr(0, head.find('\r')))));
    }
    off = *end;
    l->state = Link::State::welcome;
  }
  l->in_dispatch = true;
  while (off < l->rlen) {
    FrameView f;
    std::size_t used = 0;
    const auto st = parse_frame(l->rbuf.data() + off, l->rlen - off, f, used);
    if (st == ParseStatus::need_more) {
      if (used > l->rbuf.size())
        l->rbuf.resize(used);
      break;
    }
    if (st == ParseStatus::bad) {
      l->in_dispatch = false;
      return lose(l, lost_info(l->state == Link::State::open, "unparsable frame"));
    }
    off += used;
    if (!handle_frame(l, static_cast<int>(f.op), f.fin, f.payload, now) || l != link_) {
      l->in_dispatch = false;
      return;
    }
  }
  l->in_dispatch = false;
  if (off > 0) {
    std::memmove(l->rbuf.data(), l->rbuf.data() + off, l->rlen - off);
    l->rlen -= off;
  }
  flush(l);
  do_read(l);
}

// Returns false when the link ended.
bool ReconnectingClient::handle_frame(const std::shared_ptr<Link>& l, int op, bool fin,
                                      std::string_view payload, SteadyClock::time_point now) {
  auto text = [&](std::string_view t) {
    if (l->state == Link::State::welcome) {
      if (find_type(t) != "welcome") {
        lose(l, lost_info(false, "first frame is not a welcome"));
        return;
      }
      l->state = Link::State::open;
      ++opens_;
      last_open_at_ = now;
      backoff_.reset();
      retry_.cancel();  // the connect timeout
      arm_heartbeat(l);
      on_open(t, now);
      return;
    }
    on_text(t, now);
  };
  switch (static_cast<Opcode>(op)) {
    case Opcode::text:
      if (!fin) {
        l->fragments.assign(payload);
        break;
      }
      text(payload);
      break;
    case Opcode::continuation:
      l->fragments.append(payload);
      if (fin)
        text(l->fragments);
      break;
    case Opcode::ping:
      append_frame(l->pending, Opcode::pong, payload, next_mask());
      break;
    case Opcode::pong:
      break;
    case Opcode::close: {
      LostInfo info = lost_info(l->state == Link::State::open, {});
      if (payload.size() >= 2)
        info.close_code = (static_cast<unsigned>(static_cast<unsigned char>(payload[0])) << 8) |
                          static_cast<unsigned char>(payload[1]);
      const auto reason = payload.size() > 2 ? payload.substr(2) : std::string_view{};
      // CONTRACT §1: 1001 with {"retryAfterMs":N}: the next attempt waits exactly N ms.
      if (info.close_code == wire_code(CloseCode::going_away)) {
        if (const auto ms = find_u64(reason, "\"retryAfterMs\":"))
          info.retry_after_ms = static_cast<std::int64_t>(std::min<std::uint64_t>(*ms, 3600000));
      }
      info.reason =
          "server closed with " + std::to_string(info.close_code) + " " + std::string(reason);
      lose(l, std::move(info));
      return false;
    }
    default:
      lose(l, lost_info(l->state == Link::State::open, "unexpected opcode"));
      return false;
  }
  return l == link_;
}

void ReconnectingClient::arm_heartbeat(const std::shared_ptr<Link>& l) {
  if (env_.heartbeat_interval.count() <= 0)
    return;
  heartbeat_.expires_after(env_.heartbeat_interval);
  heartbeat_.async_wait([this, l](const error_code& ec) {
    if (ec || l != link_)
      return;
    if (l->ping_outstanding && !l->rx_since_ping)
      return lose(l, lost_info(true, "heartbeat timeout"));
    char buf[64];
    const int len = std::snprintf(buf, sizeof(buf), R"({"type":"ping","timestamp":%llu})",
                                  static_cast<unsigned long long>(++ping_ts_));
    l->ping_outstanding = true;
    l->rx_since_ping = false;
    send_text(std::string_view(buf, static_cast<std::size_t>(len)));
    arm_heartbeat(l);
  });
}

void ReconnectingClient::lose(const std::shared_ptr<Link>& l, LostInfo info) {
  if (l != link_)
    return;
  error_code ignored;
  // RST, not FIN: thousands of reconnects must not pile up TIME_WAIT on the client side.
  l->socket().set_option(net::socket_base::linger(true, 0), ignored);
  l->socket().close(ignored);
  link_.reset();
  heartbeat_.cancel();
  retry_.cancel();
  if (!info.was_open)
    ++failed_attempts_;
  const auto hint = info.retry_after_ms;
  on_lost(info);
  if (!stopped_)
    schedule_retry(hint);
}

void ReconnectingClient::schedule_retry(std::optional<std::int64_t> retry_after_ms) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const auto d = backoff_.next(u);
  if (!d && !retry_after_ms) {
    stopped_ = true;  // max_attempts spent (the env's default is unlimited)
    return;
  }
  Duration delay = d.value_or(Duration{0});
  if (retry_after_ms) {
    delay = Duration{*retry_after_ms};
    ++hints_;
  }
  retry_.expires_after(delay);
  retry_.async_wait([this](const error_code& ec) {
    if (ec || stopped_ || link_)
      return;
    attempt();
  });
}

}  // namespace steadyws::tools::bench
