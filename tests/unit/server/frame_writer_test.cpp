// FrameWriter over loopback TCP: what it writes must be plain WebSocket to an independent
// reader. The server side is a raw socket handed to FrameWriter after Beast's handshake (as
// WsSession does); the peer is a synchronous Beast client on its own thread.
#include "server/frame_writer.hpp"

#include <array>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

namespace websocket = beast::websocket;

struct Recorder final : FrameWriter::Listener {
  std::size_t frames = 0;
  std::size_t bytes = 0;
  int close_written = 0;
  int failed = 0;
  std::function<void()> on_close;
  void on_written(std::size_t f, std::size_t b) override {
    frames += f;
    bytes += b;
  }
  void on_close_written() override {
    ++close_written;
    if (on_close)
      on_close();
  }
  void on_write_failed(beast::error_code) override { ++failed; }
};

// A FrameWriter on an upgraded server socket and a connected Beast client on 127.0.0.1.
struct Loopback {
  net::io_context ioc;
  net::io_context client_ioc;
  std::unique_ptr<FrameWriter> server;
  std::unique_ptr<websocket::stream<tcp::socket>> client;
  std::shared_ptr<int> owner = std::make_shared<int>(0);
  Recorder rec;

  Loopback() {
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    tcp::socket c(client_ioc);
    c.connect(acceptor.local_endpoint());
    server = std::make_unique<FrameWriter>(WsStream(acceptor.accept()));
    server->set_owner(owner, &rec);
    client = std::make_unique<websocket::stream<tcp::socket>>(std::move(c));
    bool accepted = false;
    {
      websocket::stream<tcp::socket&> handshake(server->socket());
      handshake.async_accept([&](beast::error_code ec) { accepted = !ec; });
      std::thread t([&] { client->handshake("127.0.0.1", "/ws"); });
      ioc.run();
      ioc.restart();
      t.join();
    }
    EXPECT_TRUE(accepted);
  }
};

std::shared_ptr<const std::string> text(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

std::string ping_frame(std::string_view payload) {
  std::array<std::uint8_t, 10> h{};
  const std::size_t n = encode_frame_header(9, payload.size(), h);
  return std::string(reinterpret_cast<const char*>(h.data()), n) + std::string(payload);
}

TEST(FrameWriter, QueuedFramesArriveAsSeparateMessagesInOrder) {
  Loopback lb;
  for (int i = 0; i < 200; ++i)
    lb.server->send_data(text("m" + std::to_string(i)));
  lb.server->send_data(text(std::string(100000, 'L')));  // 8-byte length form
  lb.server->flush();
  std::vector<std::string> got;
  std::thread t([&] {
    beast::flat_buffer b;
    for (int i = 0; i < 201; ++i) {
      lb.client->read(b);
      got.push_back(beast::buffers_to_string(b.data()));
      b.consume(b.size());
    }
  });
  lb.ioc.run();
  t.join();
  ASSERT_EQ(got.size(), 201u);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(got[static_cast<std::size_t>(i)], "m" + std::to_string(i));
  EXPECT_EQ(got[200], std::string(100000, 'L'));
  EXPECT_EQ(lb.rec.frames, 201u);
  EXPECT_EQ(lb.rec.failed, 0);
}

TEST(FrameWriter, ControlFramesGoBeforeQueuedData) {
  Loopback lb;
  std::string seen_ping;
  lb.client->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::ping && seen_ping.empty())
      seen_ping = std::string(payload);
  });
  lb.server->send_data(text("data"));
  lb.server->send_control(ping_frame("7"));  // queued after the data, sent before it
  lb.server->flush();
  std::string first;
  std::thread t([&] {
    beast::flat_buffer b;
    lb.client->read(b);  // the ping is handled (callback) before the data message returns
    first = beast::buffers_to_string(b.data());
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(seen_ping, "7");
  EXPECT_EQ(first, "data");
}

TEST(FrameWriter, NothingFollowsACloseFrame) {
  Loopback lb;
  lb.server->send_data(text("dropped"));
  lb.rec.on_close = [&] {
    lb.server->socket().close();
  };  // as WsSession's teardown does
  lb.server->send_close(4001, "slow");
  lb.server->send_control(ping_frame("late"));
  EXPECT_EQ(lb.server->send_data(text("refused")), 0u);
  EXPECT_TRUE(lb.server->is_data_closed());
  lb.server->flush();
  websocket::close_reason seen;
  bool got_ping = false;
  lb.client->control_callback([&](websocket::frame_type kind, beast::string_view) {
    got_ping = got_ping || kind == websocket::frame_type::ping;
  });
  std::thread t([&] {
    beast::flat_buffer b;
    beast::error_code ec;
    lb.client->read(b, ec);
    EXPECT_TRUE(ec);  // closed: no data message came first
    seen = lb.client->reason();
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(lb.rec.close_written, 1);
  EXPECT_FALSE(got_ping);
  EXPECT_EQ(seen.code, 4001);
  EXPECT_EQ(std::string(seen.reason.data(), seen.reason.size()), "slow");
}

TEST(FrameWriter, EmptyCloseEchoCarriesNoStatus) {
  Loopback lb;
  lb.rec.on_close = [&] {
    lb.server->socket().close();
  };
  lb.server->send_close(0, "ignored");
  lb.server->flush();
  std::array<char, 3> got{};
  std::size_t n = 0;
  std::thread t([&] {
    beast::error_code ec;
    // The raw bytes: FIN + close opcode, then a zero length (and then the end of the stream).
    n = net::read(lb.client->next_layer(), net::buffer(got), ec);
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(lb.rec.close_written, 1);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(got[0]), 0x88);
  EXPECT_EQ(static_cast<std::uint8_t>(got[1]), 0x00);
}

TEST(FrameWriter, OnlyTheLatestPongWaitsForTheNextWrite) {
  Loopback lb;
  for (int i = 0; i < 1000; ++i)
    lb.server->send_pong("p" + std::to_string(i));  // a ping flood, answered once
  lb.server->send_data(text("after"));
  lb.server->flush();
  std::vector<std::string> pongs;
  std::string data;
  lb.client->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong)
      pongs.emplace_back(payload);
  });
  std::thread t([&] {
    beast::flat_buffer b;
    lb.client->read(b);
    data = beast::buffers_to_string(b.data());
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(pongs, std::vector<std::string>{"p999"});
  EXPECT_EQ(data, "after");
}

TEST(FrameWriter, FailedWriteIsReportedOnceAndDropsTheRest) {
  Loopback lb;
  lb.client->next_layer().close();  // the peer vanishes
  // Keep writing until the kernel notices (a reset after the first segment).
  for (int round = 0; round < 50 && lb.rec.failed == 0; ++round) {
    lb.server->send_data(text(std::string(64 * 1024, 'x')));
    lb.server->flush();
    lb.ioc.run();
    lb.ioc.restart();
  }
  EXPECT_EQ(lb.rec.failed, 1);
  EXPECT_TRUE(lb.server->is_data_closed());
  EXPECT_EQ(lb.server->send_data(text("after")), 0u);
}

}  // namespace
}  // namespace steadyws::server
