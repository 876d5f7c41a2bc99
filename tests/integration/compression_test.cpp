// permessage-deflate against the real binary (CONTRACT §7): the negotiation answer on the
// wire (with and without --compression, malformed offers), compressed delivery read back by
// Beast's own inflater (an implementation independent of ours) and by hand (RSV1 set at and
// over --compression-min-bytes, clear under it), compressed input, and bad input: a 10 MiB
// run of zeros in a ~10 KiB frame (1009), RSV1 on a control or a continuation frame (1002),
// invalid deflate data (1007); the server keeps serving a bystander each time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "integration/helpers.hpp"

namespace steadyws::test {
namespace {

constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kClose = 0x8;
constexpr std::uint8_t kPing = 0x9;
constexpr std::uint8_t kPong = 0xA;
constexpr std::uint8_t kRsv1 = 0x40;

const std::string kOffer = "permessage-deflate; client_max_window_bits";

// zlib used directly (not our protocol/permessage_deflate): raw deflate, sync flush, the
// 00 00 ff ff tail removed (RFC 7692 §7.2.1).
std::string deflate(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(::deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_GE(out.size(), 4u);
  out.resize(out.size() - 4);
  return out;
}

std::string inflate(std::string z_in) {
  z_in.append("\x00\x00\xff\xff", 4);
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(z_in.data());
  z.avail_in = static_cast<uInt>(z_in.size());
  char buf[16384];
  int rc = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = ::inflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
  EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR || rc == Z_STREAM_END) << rc;
  inflateEnd(&z);
  return out;
}

// A masked client frame with the first byte `b0` as on the wire (FIN, RSV bits, opcode).
std::string client_frame(std::uint8_t b0, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(b0));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff));
  }
  const char mask[4] = {0x5a, 0x01, static_cast<char>(0xc3), 0x7e};
  f.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

struct WireFrame {
  bool ok = false;  // false: eof or deadline
  std::uint8_t opcode = 0;
  std::uint8_t rsv = 0;
  bool fin = false;
  std::string payload;
  std::uint16_t close_code() const {
    return payload.size() >= 2
               ? static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                            static_cast<std::uint8_t>(payload[1]))
               : 0;
  }
};

// A raw socket that sees the RSV bits of the server's frames.
class Wire {
 public:
  explicit Wire(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("Wire: connect failed");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;
  ~Wire() { ::close(fd_); }

  bool write(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Upgrades with `offer` (none when empty); returns the status, and the extension answer.
  unsigned upgrade(const std::string& offer, std::string* extensions) {
    std::string req =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!offer.empty())
      req += "Sec-WebSocket-Extensions: " + offer + "\r\n";
    req += "\r\n";
    if (!write(req))
      return 0;
    const auto end = std::chrono::steady_clock::now() + kDeadline;
    std::size_t head_end = 0;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(end))
        return 0;
    std::string head = buf_.substr(0, head_end);
    buf_.erase(0, head_end + 4);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    constexpr std::string_view kName = "\r\nsec-websocket-extensions:";
    const auto at = lower.find(kName);
    if (extensions) {
      extensions->clear();
      if (at != std::string::npos) {
        const std::size_t from = at + kName.size();
        std::string v = head.substr(from, head.find("\r\n", from) - from);
        v.erase(0, v.find_first_not_of(' '));
        *extensions = v;
      }
    }
    return head.size() > 12 ? static_cast<unsigned>(std::stoul(head.substr(9, 3))) : 0;
  }

  WireFrame read_frame(std::chrono::milliseconds d = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + d;
    WireFrame f;
    auto need = [&](std::size_t n) {
      while (buf_.size() < n)
        if (!fill(end))
          return false;
      return true;
    };
    if (!need(2))
      return f;
    const auto b0 = static_cast<std::uint8_t>(buf_[0]);
    const auto b1 = static_cast<std::uint8_t>(buf_[1]);
    std::size_t header = 2;
    std::uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (!need(4))
        return f;
      len = (static_cast<std::uint8_t>(buf_[2]) << 8) | static_cast<std::uint8_t>(buf_[3]);
      header = 4;
    } else if (len == 127) {
      if (!need(10))
        return f;
      len = 0;
      for (std::size_t i = 0; i < 8; ++i)
        len = (len << 8) | static_cast<std::uint8_t>(buf_[2 + i]);
      header = 10;
    }
    if (!need(header + len))
      return f;
    f.ok = true;
    f.fin = (b0 & 0x80) != 0;
    f.rsv = b0 & 0x70;
    f.opcode = b0 & 0x0f;
    f.payload = buf_.substr(header, len);
    buf_.erase(0, header + len);
    return f;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0)
      return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

WireFrame next_non_ping(Wire& w) {
  for (;;) {
    WireFrame f = w.read_frame();
    if (!f.ok || f.opcode != kPing)
      return f;
  }
}

// The next text frame's JSON, inflated when RSV1 says so.
json::object next_json(Wire& w, bool* compressed = nullptr) {
  const WireFrame f = next_non_ping(w);
  EXPECT_TRUE(f.ok);
  EXPECT_EQ(f.opcode, kText);
  if (compressed)
    *compressed = f.rsv == kRsv1;
  return parse_object(f.rsv == kRsv1 ? inflate(f.payload) : f.payload);
}

WireFrame wait_close(Wire& w) {
  for (;;) {
    WireFrame f = next_non_ping(w);
    if (!f.ok || f.opcode == kClose)
      return f;
  }
}

class Compression : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--compression", "--max-message-bytes", "1048576"});
    bystander_ = WsClient::connect(server_->port());
  }

  // Upgraded with `offer` (empty: none), welcome read.
  std::unique_ptr<Wire> open(const std::string& offer, std::string* extensions = nullptr) {
    auto w = std::make_unique<Wire>(server_->port());
    const unsigned status = w->upgrade(offer, extensions);
    if (status != 101)
      throw std::runtime_error("upgrade refused: " + std::to_string(status));
    bool compressed = true;
    const auto welcome = next_json(*w, &compressed);
    if (str_at(welcome, "type") != "welcome")
      throw std::runtime_error("first frame is not welcome");
    EXPECT_FALSE(compressed) << "the welcome is under --compression-min-bytes";
    return w;
  }

  ::testing::AssertionResult bystander_served() {
    std::string why;
    if (!bystander_->alive(kDeadline, &why))
      return ::testing::AssertionFailure() << "bystander got no pong: " << why;
    return ::testing::AssertionSuccess();
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<WsClient> bystander_;
};

TEST_F(Compression, OfferIsAnsweredWithNoContextTakeoverBothWays) {
  std::string ext;
  open(kOffer, &ext);
  EXPECT_EQ(ext, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  open("permessage-deflate; server_max_window_bits=10", &ext);
  EXPECT_EQ(ext,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10");
}

TEST_F(Compression, MalformedOfferIsDeclinedAndTheConnectionWorksUncompressed) {
  std::string ext = "unset";
  auto w = open("permessage-deflate; server_max_window_bits=8, permessage-deflate; bogus", &ext);
  EXPECT_EQ(ext, "");
  const std::string big(2000, 'x');
  ASSERT_TRUE(w->write(client_frame(0x80 | kText, R"({"type":"subscribe","channel":"u"})")));
  EXPECT_EQ(str_at(next_json(*w), "type"), "subscribed");
  ASSERT_TRUE(w->write(
      client_frame(0x80 | kText, R"({"type":"publish","channel":"u","data":")" + big + R"("})")));
  for (int i = 0; i < 2; ++i) {
    bool compressed = true;
    const auto m = next_json(*w, &compressed);
    EXPECT_FALSE(compressed) << str_at(m, "type");
  }
  // RSV1 was not agreed: a compressed frame is a protocol error.
  ASSERT_TRUE(w->write(client_frame(0x80 | kRsv1 | kText, deflate(R"({"type":"ping"})"))));
  const WireFrame c = wait_close(*w);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.close_code(), 1002);
}

TEST(CompressionOff, OfferIsDeclinedWithoutTheFlag) {
  ServerProcess server(std::vector<std::string>{});
  Wire w(server.port());
  std::string ext = "unset";
  ASSERT_EQ(w.upgrade(kOffer, &ext), 101u);
  EXPECT_EQ(ext, "");
}

TEST_F(Compression, LargeMessagesGoOutCompressedSmallOnesPlain) {
  auto w = open(kOffer);
  ASSERT_TRUE(w->write(client_frame(0x80 | kText, R"({"type":"subscribe","channel":"c"})")));
  EXPECT_EQ(str_at(next_json(*w), "type"), "subscribed");
  // Published compressed too: the server inflates it.
  const std::string big(3000, 'b');
  ASSERT_TRUE(w->write(client_frame(
      0x80 | kRsv1 | kText,
      deflate(R"({"type":"publish","channel":"c","id":"p1","data":")" + big + R"("})"))));
  bool message_compressed = false;
  int messages = 0;
  for (int i = 0; i < 2; ++i) {
    bool c = false;
    const auto m = next_json(*w, &c);
    if (str_at(m, "type") == "message") {
      ++messages;
      message_compressed = c;
      EXPECT_EQ(str_at(m, "data"), big);
    } else {
      EXPECT_EQ(str_at(m, "type"), "ack");
      EXPECT_FALSE(c) << "a small ack goes out plain";
    }
  }
  EXPECT_EQ(messages, 1);
  EXPECT_TRUE(message_compressed) << "a 3 KB message goes out with RSV1";
}

TEST_F(Compression, BeastClientInflatesWhatWeSend) {
  // Beast's own permessage-deflate (its own inflater, independent of zlib and of ours).
  namespace websocket = boost::beast::websocket;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address_v4("127.0.0.1"), server_->port()});
  const timeval tv{10, 0};  // sync reads below fail after 10 s instead of hanging
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  websocket::stream<boost::asio::ip::tcp::socket> ws(std::move(sock));
  websocket::permessage_deflate pmd;
  pmd.client_enable = true;
  ws.set_option(pmd);
  ws.handshake("127.0.0.1", "/ws");
  auto read_json = [&ws] {
    boost::beast::flat_buffer b;
    ws.read(b);
    return parse_object(boost::beast::buffers_to_string(b.data()));
  };
  EXPECT_EQ(str_at(read_json(), "type"), "welcome");
  ws.write(boost::asio::buffer(std::string(R"({"type":"subscribe","channel":"beast"})")));
  EXPECT_EQ(str_at(read_json(), "type"), "subscribed");
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "k" + std::to_string(i) + ",";
  for (int i = 0; i < 3; ++i) {
    // Beast compresses what it writes (the server inflates it)...
    ws.write(boost::asio::buffer(R"({"type":"publish","channel":"beast","data":")" + text +
                                 std::to_string(i) + R"("})"));
    // ... and inflates what we send: the ack (plain) and the message (compressed).
    for (int k = 0; k < 2; ++k) {
      const auto m = read_json();
      if (str_at(m, "type") == "message")
        EXPECT_EQ(str_at(m, "data"), text + std::to_string(i));
      else
        EXPECT_EQ(str_at(m, "type"), "ack");
    }
  }
  ws.close(websocket::close_code::normal);
}

TEST_F(Compression, FragmentedCompressedMessageWithAPingBetween) {
  auto w = open(kOffer);
  const std::string z = deflate(R"({"type":"ping","timestamp":4242})");
  ASSERT_TRUE(w->write(client_frame(kRsv1 | kText, z.substr(0, 4)) +
                       client_frame(0x80 | kPing, "hi") + client_frame(0x00, z.substr(4, 6)) +
                       client_frame(0x80, z.substr(10))));
  const WireFrame pong = next_non_ping(*w);
  ASSERT_TRUE(pong.ok);
  EXPECT_EQ(pong.opcode, kPong);
  EXPECT_EQ(pong.payload, "hi");
  const auto p = next_json(*w);
  EXPECT_EQ(str_at(p, "type"), "pong");
  EXPECT_EQ(int_at(p, "timestamp"), 4242);
}

TEST_F(Compression, TenMebibytesOfZerosInASmallFrameIsClosedWith1009) {
  auto w = open(kOffer);
  const std::string z = deflate(std::string(10 << 20, '\0'));
  ASSERT_LT(z.size(), 16u * 1024);
  ASSERT_TRUE(w->write(client_frame(0x80 | kRsv1 | kBinary, z)));
  const WireFrame c = wait_close(*w);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.close_code(), 1009);
  EXPECT_TRUE(bystander_served());
}

TEST_F(Compression, Rsv1OnAControlFrameIs1002) {
  auto w = open(kOffer);
  ASSERT_TRUE(w->write(client_frame(0x80 | kRsv1 | kPing, "")));
  const WireFrame c = wait_close(*w);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.close_code(), 1002);
  EXPECT_TRUE(bystander_served());
}

TEST_F(Compression, Rsv1OnAContinuationFrameIs1002) {
  auto w = open(kOffer);
  const std::string z = deflate(R"({"type":"ping","timestamp":1})");
  ASSERT_TRUE(w->write(client_frame(kRsv1 | kText, z.substr(0, 3)) +
                       client_frame(0x80 | kRsv1, z.substr(3))));
  const WireFrame c = wait_close(*w);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.close_code(), 1002);
  EXPECT_TRUE(bystander_served());
}

TEST_F(Compression, InvalidDeflateDataIs1007) {
  auto w = open(kOffer);
  ASSERT_TRUE(w->write(client_frame(0x80 | kRsv1 | kText, std::string(8, '\xff'))));
  const WireFrame c = wait_close(*w);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.close_code(), 1007);
  EXPECT_TRUE(bystander_served());
}

}  // namespace
}  // namespace steadyws::test
