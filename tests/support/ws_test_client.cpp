// The Beast half of ws_test_client.hpp: WsClient's I/O thread and stream, and
// http_request(). Compiled once into steadyws_test_support.
#include "support/ws_test_client.hpp"

#include <cctype>
#include <cstdio>
#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace steadyws::test {

namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

struct WsClient::Io {
  struct Write {
    std::string payload;
    WriteKind kind;
    std::shared_ptr<std::promise<bool>> done;  // null for fire-and-forget
  };

  Io() : ws(ioc), work(net::make_work_guard(ioc)) {}

  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
  websocket::response_type response;
  beast::flat_buffer buffer;
  std::deque<Write> writes;  // I/O thread only; front is in flight
  bool reading = false;      // I/O thread only: a read is in flight
  bool pause = false;        // I/O thread only: do not re-arm the read
};

std::unique_ptr<WsClient> WsClient::connect(std::uint16_t port, WsOptions opts) {
  std::unique_ptr<WsClient> c(new WsClient(std::move(opts)));
  const HandshakeResult r = c->do_connect(port);
  if (!r.upgraded)
    throw std::runtime_error("WsClient: upgrade of " + c->opts_.target + " refused: status " +
                             std::to_string(r.status) + " " + r.error + " " + r.body);
  if (c->opts_.read_loop)
    c->start_reading();
  if (c->opts_.expect_welcome && c->opts_.read_loop) {
    Frame f = c->next(c->opts_.deadline);
    if (f.type() != "welcome")
      throw std::runtime_error("WsClient: first frame is not welcome: " + f.describe());
    c->welcome_ = f.json();
  }
  return c;
}

HandshakeResult WsClient::try_connect(std::uint16_t port, WsOptions opts) {
  opts.read_loop = false;
  WsClient c(std::move(opts));
  return c.do_connect(port);
}

WsClient::WsClient(WsOptions opts) : opts_(std::move(opts)), io_(std::make_unique<Io>()) {
  io_->thread = std::thread([io = io_.get()] {
    try {
      io->ioc.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "WsClient: I/O thread threw: %s\n", e.what());
    }
  });
}

WsClient::~WsClient() {
  net::post(io_->ioc, [io = io_.get()] {
    boost::system::error_code ec;
    beast::get_lowest_layer(io->ws).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(io->ws).close();
  });
  io_->work.reset();
  if (io_->thread.joinable())
    io_->thread.join();
}

void WsClient::start_reading() {
  net::post(io_->ioc, [this] {
    io_->pause = false;
    if (!io_->reading) {
      io_->reading = true;
      do_read();
    }
  });
}

void WsClient::pause_reading() {
  std::promise<void> done;
  net::post(io_->ioc, [this, &done] {
    io_->pause = true;
    done.set_value();
  });
  done.get_future().wait();
}

void WsClient::close(std::uint16_t code) {
  net::post(io_->ioc, [this, code] {
    io_->ws.async_close(websocket::close_reason(code), [](boost::system::error_code) {});
  });
}

void WsClient::drop() {
  std::promise<void> done;
  net::post(io_->ioc, [this, &done] {
    boost::system::error_code ec;
    beast::get_lowest_layer(io_->ws).socket().close(ec);
    done.set_value();
  });
  done.get_future().wait_for(kDeadline);
}

HandshakeResult WsClient::do_connect(std::uint16_t port) {
  auto done = std::make_shared<std::promise<HandshakeResult>>();
  auto fut = done->get_future();
  net::post(io_->ioc, [this, port, done] {
    auto& ws = io_->ws;
    auto& stream = beast::get_lowest_layer(ws);
    boost::system::error_code open_ec;
    stream.socket().open(tcp::v4(), open_ec);
    if (opts_.receive_buffer_bytes > 0)
      stream.socket().set_option(net::socket_base::receive_buffer_size(opts_.receive_buffer_bytes),
                                 open_ec);
    stream.expires_after(opts_.deadline);
    const tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), port);
    stream.async_connect(ep, [this, done, port, &ws](boost::system::error_code ec) {
      if (ec) {
        done->set_value({false, 0, {}, "connect: " + ec.message()});
        return;
      }
      local_port_ = beast::get_lowest_layer(ws).socket().local_endpoint(ec).port();
      // Without it a big frame's tail waits for a delayed ACK (40 ms per message).
      beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true), ec);
      ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
        for (const auto& [k, v] : opts_.headers)
          req.set(k, v);
      }));
      ws.auto_fragment(false);
      ws.read_message_max(0);  // the server's limit is under test, not ours
      ws.async_handshake(io_->response, "127.0.0.1:" + std::to_string(port), opts_.target,
                         [this, done](boost::system::error_code hs_ec) {
                           beast::get_lowest_layer(io_->ws).expires_never();
                           HandshakeResult r;
                           r.status = io_->response.result_int();
                           r.body = io_->response.body();
                           if (hs_ec) {
                             r.error = "handshake: " + hs_ec.message();
                           } else {
                             r.upgraded = true;
                           }
                           done->set_value(std::move(r));
                         });
    });
  });
  if (fut.wait_for(opts_.deadline + 2s) != std::future_status::ready)
    return {false, 0, {}, "connect: no answer before the deadline"};
  return fut.get();
}

void WsClient::do_read() {
  io_->ws.async_read(io_->buffer, [this](boost::system::error_code ec, std::size_t) {
    Frame f;
    if (!ec) {
      f.kind = io_->ws.got_text() ? Frame::Kind::text : Frame::Kind::binary;
      f.data = beast::buffers_to_string(io_->buffer.data());
      io_->buffer.consume(io_->buffer.size());
      push(std::move(f));
      if (io_->pause)
        io_->reading = false;
      else
        do_read();
      return;
    }
    if (ec == websocket::error::closed) {
      f.kind = Frame::Kind::close;
      f.close_code = static_cast<std::uint16_t>(io_->ws.reason().code);
      f.close_reason = std::string(io_->ws.reason().reason.c_str());
    } else {
      f.kind = Frame::Kind::dropped;
      f.error = ec.message();
    }
    std::lock_guard lock(mu_);
    terminal_ = std::move(f);
    cv_.notify_all();
  });
}

void WsClient::requeue_front(std::vector<Frame> frames) {
  std::lock_guard lock(mu_);
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    frames_.push_front(std::move(*it));
}

void WsClient::push(Frame f) {
  std::lock_guard lock(mu_);
  frames_.push_back(std::move(f));
  cv_.notify_all();
}

bool WsClient::enqueue(std::string payload, WriteKind kind, std::chrono::milliseconds d) {
  auto done = std::make_shared<std::promise<bool>>();
  auto fut = done->get_future();
  net::post(io_->ioc, [this, w = Io::Write{std::move(payload), kind, done}]() mutable {
    io_->writes.push_back(std::move(w));
    if (io_->writes.size() == 1)
      do_write();
  });
  return fut.wait_for(d) == std::future_status::ready && fut.get();
}

void WsClient::enqueue_async(std::string payload, WriteKind kind) {
  net::post(io_->ioc, [this, w = Io::Write{std::move(payload), kind, nullptr}]() mutable {
    io_->writes.push_back(std::move(w));
    if (io_->writes.size() == 1)
      do_write();
  });
}

void WsClient::do_write() {
  Io::Write& w = io_->writes.front();
  auto on_write = [this](boost::system::error_code ec, std::size_t) {
    if (io_->writes.front().done)
      io_->writes.front().done->set_value(!ec);
    io_->writes.pop_front();
    if (!io_->writes.empty())
      do_write();
  };
  if (w.kind == WriteKind::raw) {
    net::async_write(beast::get_lowest_layer(io_->ws).socket(), net::buffer(w.payload), on_write);
    return;
  }
  io_->ws.text(w.kind == WriteKind::text);
  io_->ws.async_write(net::buffer(w.payload), on_write);
}

HttpResponse http_request(std::uint16_t port, http::verb method, const std::string& target,
                          const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::chrono::milliseconds d) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  HttpResponse out;
  boost::system::error_code ec;
  stream.expires_after(d);
  stream.async_connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port),
                       [&](boost::system::error_code e) { ec = e; });
  ioc.run();
  if (ec) {
    out.error = "connect: " + ec.message();
    return out;
  }
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers)
    req.set(k, v);
  if (!body.empty() || method == http::verb::post) {
    req.body() = body;
    if (req.find(http::field::content_type) == req.end())
      req.set(http::field::content_type, "application/json");
  }
  req.prepare_payload();
  ioc.restart();
  http::async_write(stream, req, [&](boost::system::error_code e, std::size_t) { ec = e; });
  ioc.run();
  // A server may answer (413, 401) and close before reading all of a big body: the write
  // then fails, but its answer may be waiting, so read it anyway.
  const boost::system::error_code write_ec = ec;
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  ioc.restart();
  http::async_read(stream, buf, parser, [&](boost::system::error_code e, std::size_t) { ec = e; });
  ioc.run();
  if (ec) {
    out.error = (write_ec ? "write: " + write_ec.message() + ", " : std::string()) +
                "read: " + ec.message();
    return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.headers[name] = std::string(f.value());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace steadyws::test
