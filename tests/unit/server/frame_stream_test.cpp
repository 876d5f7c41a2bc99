// FrameStream under a real websocket::stream, over loopback TCP: our coalesced data frames,
// Beast's own control frames and Beast's limits must look like plain WebSocket to a peer.
// The peer is a synchronous Beast client on its own thread.
#include "server/frame_stream.hpp"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

namespace websocket = beast::websocket;

// One accepted server stream and a connected client socket on 127.0.0.1.
struct Loopback {
  net::io_context ioc;
  net::io_context client_ioc;
  std::unique_ptr<websocket::stream<FrameStream>> server;
  std::unique_ptr<websocket::stream<tcp::socket>> client;
  std::shared_ptr<int> owner = std::make_shared<int>(0);

  Loopback() {
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    tcp::socket c(client_ioc);
    c.connect(acceptor.local_endpoint());
    server = std::make_unique<websocket::stream<FrameStream>>(acceptor.accept());
    server->next_layer().set_owner(owner);
    client = std::make_unique<websocket::stream<tcp::socket>>(std::move(c));
    bool accepted = false;
    server->async_accept([&](beast::error_code ec) { accepted = !ec; });
    std::thread t([&] { client->handshake("127.0.0.1", "/ws"); });
    ioc.run();
    ioc.restart();
    t.join();
    EXPECT_TRUE(accepted);
  }
};

std::shared_ptr<const std::string> text(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

TEST(FrameStream, QueuedFramesArriveAsSeparateMessagesInOrder) {
  Loopback lb;
  for (int i = 0; i < 200; ++i)
    lb.server->next_layer().send_data(text("m" + std::to_string(i)));
  lb.server->next_layer().send_data(text(std::string(100000, 'L')));  // 8-byte length form
  lb.server->next_layer().flush();
  std::vector<std::string> got;
  std::thread t([&] {
    beast::flat_buffer b;
    for (int i = 0; i < 201; ++i) {
      lb.client->read(b);
      EXPECT_TRUE(lb.client->got_text());
      got.push_back(beast::buffers_to_string(b.data()));
      b.consume(b.size());
    }
  });
  lb.ioc.run();
  t.join();
  ASSERT_EQ(got.size(), 201u);
  EXPECT_EQ(got[0], "m0");
  EXPECT_EQ(got[199], "m199");
  EXPECT_EQ(got[200].size(), 100000u);
  EXPECT_EQ(lb.server->next_layer().queued_data_bytes(), 0u);
}

TEST(FrameStream, ReadMessageMaxClosesWith1009) {
  Loopback lb;
  lb.server->read_message_max(1024);
  beast::flat_buffer sb;
  beast::error_code server_ec;
  lb.server->async_read(sb, [&](beast::error_code ec, std::size_t) { server_ec = ec; });
  websocket::close_reason seen;
  std::thread t([&] {
    lb.client->write(net::buffer(std::string(2000, 'x')));
    beast::flat_buffer b;
    beast::error_code ec;
    lb.client->read(b, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    seen = lb.client->reason();
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(server_ec, websocket::error::message_too_big);
  EXPECT_EQ(seen.code, 1009);
}

TEST(FrameStream, InvalidUtf8ClosesWith1007) {
  Loopback lb;
  beast::flat_buffer sb;
  beast::error_code server_ec;
  lb.server->async_read(sb, [&](beast::error_code ec, std::size_t) { server_ec = ec; });
  websocket::close_reason seen;
  std::thread t([&] {
    lb.client->text(true);
    const char bad[] = {'\xc3', '\x28'};
    lb.client->write(net::buffer(bad, 2));
    beast::flat_buffer b;
    beast::error_code ec;
    lb.client->read(b, ec);
    seen = lb.client->reason();
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(server_ec, websocket::error::bad_frame_payload);
  EXPECT_EQ(seen.code, 1007);
}

TEST(FrameStream, OurPingIsAnsweredThroughBeast) {
  Loopback lb;
  std::string pong;
  lb.server->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong)
      pong = std::string(payload);
  });
  std::array<std::uint8_t, 10> h{};
  const std::size_t n = encode_frame_header(9, 2, h);
  lb.server->next_layer().send_control(std::string(reinterpret_cast<char*>(h.data()), n) + "42");
  lb.server->next_layer().send_data(text("after"));
  lb.server->next_layer().flush();
  beast::flat_buffer sb;
  lb.server->async_read(sb, [](beast::error_code, std::size_t) {});
  std::thread t([&] {
    beast::flat_buffer b;
    lb.client->read(b);  // auto-replies to the ping on the way
    EXPECT_EQ(beast::buffers_to_string(b.data()), "after");
    lb.client->write(net::buffer(std::string("bye")));
  });
  lb.ioc.run();
  t.join();
  EXPECT_EQ(pong, "42");
}

TEST(FrameStream, NothingFollowsACloseFrame) {
  Loopback lb;
  lb.server->next_layer().send_data(text("dropped"));
  bool done = false;
  lb.server->next_layer().send_close_now(4001, "slow", [&](beast::error_code) {
    done = true;
    lb.server->next_layer().next_layer().close();  // as WsSession does: no handshake wait
  });
  EXPECT_EQ(lb.server->next_layer().send_data(text("refused")), 0u);
  EXPECT_TRUE(lb.server->next_layer().is_data_closed());
  websocket::close_reason seen;
  std::thread t([&] {
    beast::flat_buffer b;
    beast::error_code ec;
    lb.client->read(b, ec);
    // closed, or a socket error from the teardown: the server closed TCP right after the
    // frame, without waiting for the handshake (that is the point).
    EXPECT_TRUE(ec);
    seen = lb.client->reason();
  });
  lb.ioc.run();
  t.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(seen.code, 4001);
  EXPECT_EQ(std::string(seen.reason.data(), seen.reason.size()), "slow");
}

}  // namespace
}  // namespace steadyws::server
