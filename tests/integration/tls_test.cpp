// The server over TLS (CONTRACT §6), black box: the real binary with certificates the test
// makes (support/test_pki.hpp), driven by Asio's SSL stream and, where the test needs exact
// control of TLS records, by OpenSSL on memory BIOs.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/server_process.hpp"
#include "support/test_pki.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

std::vector<std::string> tls_args(const TestPki::Pair& p, std::vector<std::string> more = {}) {
  std::vector<std::string> a{"--tls-cert", p.cert, "--tls-key", p.key};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::shared_ptr<ssl::context> client_ctx(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->load_verify_file(ca_file);
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// One synchronous wss:// connection, verified against the test CA as 127.0.0.1.
class WssClient {
 public:
  WssClient(std::uint16_t port, const std::string& ca_file, std::string target = "/ws")
      : ctx_(client_ctx(ca_file)), ws_(ioc_, *ctx_) {
    auto& tls = ws_.next_layer();
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls.native_handle()), "127.0.0.1");
    static const unsigned char kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(tls.native_handle(), kAlpn, sizeof kAlpn);
    tls.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    tls.handshake(ssl::stream_base::client);
    ws_.handshake("127.0.0.1:" + std::to_string(port), target);
    welcome_ = read();
  }

  boost::json::object read() {
    beast::flat_buffer b;
    ws_.read(b);
    return boost::json::parse(beast::buffers_to_string(b.data())).as_object();
  }
  void send(const boost::json::object& o) {
    ws_.text(true);
    ws_.write(net::buffer(boost::json::serialize(o)));
  }
  // Sends `o` and returns the first frame of `type` that comes back.
  boost::json::object request(const boost::json::object& o, const std::string& type) {
    send(o);
    for (;;) {
      auto f = read();
      if (f.at("type").as_string() == type)
        return f;
    }
  }
  boost::json::object ping(std::int64_t t) {
    return request({{"type", "ping"}, {"timestamp", t}}, "pong");
  }
  const boost::json::object& welcome() const { return welcome_; }
  std::string alpn() {
    const unsigned char* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ws_.next_layer().native_handle(), &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string version() { return SSL_get_version(ws_.next_layer().native_handle()); }
  // The serial of the certificate the server presented, in hex.
  std::string serial() {
    X509* c = SSL_get1_peer_certificate(ws_.next_layer().native_handle());
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string s = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(c);
    return s;
  }

 private:
  net::io_context ioc_;
  std::shared_ptr<ssl::context> ctx_;
  websocket::stream<ssl::stream<tcp::socket>> ws_;
  boost::json::object welcome_;
};

// GET `target` over https://, verified; returns status and body.
std::pair<unsigned, std::string> https_get(std::uint16_t port, const std::string& ca_file,
                                           const std::string& target) {
  net::io_context ioc;
  auto ctx = client_ctx(ca_file);
  ssl::stream<tcp::socket> s(ioc, *ctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s.native_handle()), "127.0.0.1");
  s.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  s.handshake(ssl::stream_base::client);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  http::write(s, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  return {res.result_int(), res.body()};
}

// Reads from a plain TCP socket until EOF or error; true if the peer closed within
// `deadline` (a receive timeout bounds the wait).
bool closed_by_peer(tcp::socket& s, std::chrono::milliseconds deadline,
                    std::string* got = nullptr) {
  timeval tv{static_cast<time_t>(deadline.count() / 1000),
             static_cast<suseconds_t>((deadline.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::array<char, 4096> buf{};
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = s.read_some(net::buffer(buf), ec);
    if (ec == net::error::eof || ec == net::error::connection_reset)
      return true;
    if (ec)
      return false;  // the receive timeout: still open
    if (got != nullptr)
      got->append(buf.data(), n);
  }
}

TEST(TlsServer, WssAndHttpsWithTheTestCa) {
  TestPki pki;
  const auto cert = pki.server("server", 0x1001);
  ServerProcess server(tls_args(cert));
  WssClient c(server.port(), pki.ca_file());
  EXPECT_EQ(c.welcome().at("type").as_string(), "welcome");
  EXPECT_EQ(c.alpn(), "http/1.1");  // offered h2 and http/1.1: we speak HTTP/1.1 only
  EXPECT_TRUE(c.version() == "TLSv1.3" || c.version() == "TLSv1.2") << c.version();
  EXPECT_EQ(c.ping(7).at("timestamp").as_int64(), 7);
  c.request({{"type", "subscribe"}, {"channel", "t"}}, "subscribed");
  c.send({{"type", "publish"}, {"channel", "t"}, {"data", "hi"}});
  int acks = 0;
  int messages = 0;
  while (acks + messages < 2) {  // the ack and our own delivery, in either order
    auto f = c.read();
    if (f.at("type").as_string() == "ack")
      ++acks;
    if (f.at("type").as_string() == "message") {
      ++messages;
      EXPECT_EQ(f.at("data").as_string(), "hi");
    }
  }
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(messages, 1);
  auto [status, body] = https_get(server.port(), pki.ca_file(), "/api/health");
  EXPECT_EQ(status, 200u);
  EXPECT_NE(body.find("\"status\""), std::string::npos);
}

TEST(TlsServer, RefusesTls11) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x1001)));
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_1_VERSION);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  ssl::stream<tcp::socket> s(ioc, ctx);
  s.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  boost::system::error_code ec;
  s.handshake(ssl::stream_base::client, ec);
  EXPECT_TRUE(ec) << "a TLS 1.1 handshake succeeded";
  EXPECT_TRUE(server.running());
}

TEST(TlsServer, PlainHttpOnTheTlsPortIsRefusedAndTlsClientsAreStillServed) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x1001), {"--log-level", "debug"}));
  WssClient c(server.port(), pki.ca_file());
  net::io_context ioc;
  tcp::socket plain(ioc);
  plain.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  net::write(plain, net::buffer(std::string("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  EXPECT_TRUE(closed_by_peer(plain, 20000ms, &got));
  EXPECT_EQ(got.find("200 OK"), std::string::npos);  // no plain answer leaks out
  EXPECT_EQ(c.ping(1).at("timestamp").as_int64(), 1);
  EXPECT_TRUE(server.running());
  EXPECT_TRUE(wait_until([&] {
    return server.stderr_text().find("tls handshake failed") != std::string::npos;
  })) << server.stderr_text();
}

TEST(TlsServer, SilentTcpClientIsClosedByTheHandshakeDeadline) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x1001), {"--handshake-timeout", "300"}));
  net::io_context ioc;
  tcp::socket silent(ioc);
  silent.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  // Never sends a ClientHello: closed once the 300 ms pass (the bound only limits a failure).
  EXPECT_TRUE(closed_by_peer(silent, 20000ms));
}

// Masked client text frame.
std::string client_frame(const std::string& payload) {
  std::string f;
  f += static_cast<char>(0x81);
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  }
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// A TLS client on memory BIOs over a blocking socket: what it writes stays in `out_` until
// flush(), so several TLS records can leave in one send.
class BioClient {
 public:
  BioClient(std::uint16_t port, const std::string& ca_file) : sock_(ioc_) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    sock_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    for (;;) {
      const int r = SSL_do_handshake(ssl_);
      flush();
      if (r == 1)
        break;
      if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ)
        throw std::runtime_error("BioClient: handshake failed");
      pull();
    }
  }
  ~BioClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  // One SSL_write: one TLS record (kept until flush()).
  void write(const std::string& s) { SSL_write(ssl_, s.data(), static_cast<int>(s.size())); }
  void flush() {
    char buf[16384];
    int n = 0;
    std::string all;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0)
      all.append(buf, static_cast<std::size_t>(n));
    if (!all.empty())
      net::write(sock_, net::buffer(all));
  }
  // Queues a close_notify (sent by the next flush()); the TCP connection stays open.
  void close_notify() { SSL_shutdown(ssl_); }
  // Whether the server ends the TCP connection within `deadline` (what it sends on the way,
  // its close frame and close_notify, is read and dropped).
  bool closed_by_server(std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms)
        return false;
      timeval tv{static_cast<time_t>(left.count() / 1000),
                 static_cast<suseconds_t>((left.count() % 1000) * 1000 + 1)};
      ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      boost::system::error_code ec;
      sock_.read_some(net::buffer(buf), ec);
      if (ec == net::error::eof || ec == net::error::connection_reset)
        return true;
      if (ec)
        return false;  // the receive timeout: still open
    }
  }
  // Reads plaintext until `done(text)` holds or the socket fails.
  template <class Pred>
  std::string read_until(Pred done) {
    std::string text;
    char buf[16384];
    while (!done(text)) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        text.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ || !pull())
        break;
    }
    return text;
  }

 private:
  bool pull() {
    timeval tv{20, 0};
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[16384];
    boost::system::error_code ec;
    const std::size_t n = sock_.read_some(net::buffer(buf), ec);
    if (ec)
      return false;
    BIO_write(in_, buf, static_cast<int>(n));
    return true;
  }

  net::io_context ioc_;
  tcp::socket sock_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
};

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}

// The WebSocket upgrade over `c`; returns what came back up to the welcome.
std::string upgrade(BioClient& c) {
  c.write(
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  c.flush();
  return c.read_until([](const std::string& t) { return count(t, "\"welcome\"") == 1; });
}

// Sixteen TLS records in one TCP segment: OpenSSL takes them in with one recv (read ahead),
// and the socket will not signal them again. A server that returned one record per read and
// then waited for readability would answer one ping and hang.
TEST(TlsServer, RecordsWaitingInsideOpenSslAreRead) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x1001)));
  BioClient c(server.port(), pki.ca_file());
  const auto hello = upgrade(c);
  ASSERT_NE(hello.find("101 Switching Protocols"), std::string::npos) << hello;
  for (int i = 0; i < 16; ++i)
    c.write(client_frame("{\"type\":\"ping\",\"timestamp\":" + std::to_string(i) + "}"));
  c.flush();  // all sixteen records in one send
  auto got = c.read_until([](const std::string& t) { return count(t, "\"pong\"") == 16; });
  EXPECT_EQ(count(got, "\"pong\""), 16u);
}

// A close_notify that comes in the same segment as data: OpenSSL reads both at once (read
// ahead), the session gets the data first and must still learn of the close_notify, which
// the socket will not signal again. The TCP connection stays open, so only the
// close_notify can tell the server (its heartbeat would take 30 s and more).
TEST(TlsServer, CloseNotifyBehindDataInOneSegmentEndsTheConnection) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x1001)));
  BioClient c(server.port(), pki.ca_file());
  const auto hello = upgrade(c);
  ASSERT_NE(hello.find("101 Switching Protocols"), std::string::npos) << hello;
  c.write(client_frame("{\"type\":\"ping\",\"timestamp\":1}"));
  c.close_notify();
  c.flush();  // the ping's record and the close_notify in one send
  EXPECT_TRUE(c.closed_by_server(5s));
  // The server still serves everyone else.
  BioClient other(server.port(), pki.ca_file());
  const auto again = upgrade(other);
  EXPECT_NE(again.find("101 Switching Protocols"), std::string::npos) << again;
}

// Runs `steadyws serve ARGS` to its exit; returns the exit code and what it printed.
std::pair<int, std::string> serve_and_exit(const std::vector<std::string>& args) {
  std::string cmd = std::string(kDefaultBinary) + " serve --port 0";
  for (const auto& a : args)
    cmd += " '" + a + "'";
  cmd += " 2>&1 </dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST(TlsServer, BadFilesAtStartExitNonZeroNamingTheFileAndTheReason) {
  TestPki pki;
  const auto good = pki.server("server", 0x1001);
  const auto other = pki.server("other", 0x1002);
  const std::string missing = pki.path("missing.pem");
  const std::string garbage = pki.path("garbage.pem");
  std::ofstream(garbage) << "not a certificate\n";

  auto [c1, o1] = serve_and_exit({"--tls-cert", missing, "--tls-key", good.key});
  EXPECT_NE(c1, 0);
  EXPECT_NE(o1.find(missing), std::string::npos) << o1;
  EXPECT_NE(o1.find("No such file"), std::string::npos) << o1;

  auto [c2, o2] = serve_and_exit({"--tls-cert", good.cert, "--tls-key", missing});
  EXPECT_NE(c2, 0);
  EXPECT_NE(o2.find(missing), std::string::npos) << o2;

  auto [c3, o3] = serve_and_exit({"--tls-cert", garbage, "--tls-key", good.key});
  EXPECT_NE(c3, 0);
  EXPECT_NE(o3.find(garbage), std::string::npos) << o3;
  EXPECT_NE(o3.find("no start line"), std::string::npos) << o3;  // OpenSSL's PEM reason

  auto [c4, o4] = serve_and_exit({"--tls-cert", good.cert, "--tls-key", other.key});
  EXPECT_NE(c4, 0);
  EXPECT_NE(o4.find(other.key), std::string::npos) << o4;
  EXPECT_NE(o4.find("does not match"), std::string::npos) << o4;

  // One without the other is refused at once, before anything is read.
  auto [c5, o5] = serve_and_exit({"--tls-cert", good.cert});
  EXPECT_NE(c5, 0);
  EXPECT_NE(o5.find("--tls-key"), std::string::npos) << o5;
  auto [c6, o6] = serve_and_exit({"--tls-key", good.key});
  EXPECT_NE(c6, 0);
  EXPECT_NE(o6.find("--tls-cert"), std::string::npos) << o6;
}

// Replaces the live files with `with` (a rename, as a certificate manager would).
void replace_files(const TestPki::Pair& live, const TestPki::Pair& with) {
  std::filesystem::copy_file(with.cert, live.cert + ".new",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(with.key, live.key + ".new",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(live.key + ".new", live.key);
  std::filesystem::rename(live.cert + ".new", live.cert);
}

TEST(TlsServer, SighupReloadsUnderLoadWithoutDroppingAConnection) {
  TestPki pki;
  const auto live = pki.server("live", 0x1001);
  const auto next = pki.server("next", 0x2002);
  ServerProcess server(tls_args(live));

  // A few clients exchanging messages the whole time the files change and SIGHUP arrives.
  constexpr int kClients = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> round_trips{0};
  std::vector<std::thread> threads;
  std::vector<std::string> serials(kClients);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      try {
        WssClient c(server.port(), pki.ca_file());
        serials[static_cast<std::size_t>(i)] = c.serial();
        std::int64_t t = 0;
        while (!stop.load()) {
          ++t;
          if (c.ping(t).at("timestamp").as_int64() != t)
            ++failures;
          ++round_trips;
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  ASSERT_TRUE(wait_until([&] { return round_trips.load() > 100; }));
  replace_files(live, next);
  server.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return server.stderr_text().find("tls reloaded") != std::string::npos;
  })) << server.stderr_text();
  const int before = round_trips.load();
  ASSERT_TRUE(wait_until([&] { return round_trips.load() > before + 100; }));
  // New connections get the new certificate; the open ones went on without a failure.
  WssClient fresh(server.port(), pki.ca_file());
  EXPECT_EQ(fresh.serial(), "2002");
  stop = true;
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& s : serials)
    EXPECT_EQ(s, "1001");
}

TEST(TlsServer, BadFileOnSighupKeepsTheOldCertificate) {
  TestPki pki;
  const auto live = pki.server("live", 0x1001);
  ServerProcess server(tls_args(live));
  std::ofstream(live.cert, std::ios::trunc) << "garbage\n";
  server.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return server.stderr_text().find("tls reload failed") != std::string::npos;
  })) << server.stderr_text();
  EXPECT_NE(server.stderr_text().find(live.cert), std::string::npos) << server.stderr_text();
  WssClient c(server.port(), pki.ca_file());
  EXPECT_EQ(c.serial(), "1001");
  EXPECT_EQ(c.ping(3).at("timestamp").as_int64(), 3);
}

}  // namespace
}  // namespace steadyws::test
