// steadyws::Client and `steadyws connect` over wss:// (CONTRACT §6) against the real server
// with certificates the test makes: pub/sub and resume across a restart, the HTTP fallback
// over https, and the refusals (wrong host name, untrusted CA, expired certificate), each
// with its reason in words; --insecure connects and says so.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"
#include "support/test_pki.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> tls_args(const TestPki::Pair& p) {
  return {"--tls-cert", p.cert, "--tls-key", p.key};
}
std::string wss_url(const ServerProcess& s, const std::string& host = "127.0.0.1") {
  return "wss://" + host + ":" + std::to_string(s.port()) + "/ws";
}

bool has_error(const Recorder& r, const std::string& what) {
  for (const auto& e : r.errors())
    if (e.find(what) != std::string::npos)
      return true;
  return false;
}
std::string all_errors(const Recorder& r) {
  std::string out;
  for (const auto& e : r.errors())
    out += e + "\n";
  return out;
}

TEST(ClientTls, PubSubAndResumeOverWss) {
  TestPki pki;
  const auto cert = pki.server("server", 0x1001);
  ServerProcess server(tls_args(cert));
  Recorder sub_rec;
  auto so = test_options({wss_url(server)});
  so.ca_file = pki.ca_file();
  sub_rec.attach(so);
  auto po = test_options({wss_url(server, "localhost")});  // by name: the DNS SAN and SNI
  po.ca_file = pki.ca_file();
  Client sub(so);
  Client pub(po);
  sub.subscribe("s");
  sub.connect();
  pub.connect();
  ASSERT_TRUE(wait_until([&] { return sub.is_connected() && pub.is_connected(); }))
      << all_errors(sub_rec) << server.stderr_tail();
  ASSERT_TRUE(wait_subscribed(pub, "s", sub_rec));
  for (int i = 1; i <= 20; ++i)
    pub.publish("s", numbered(i));
  ASSERT_TRUE(wait_until([&] { return sub_rec.payload_count() == 20; }));

  // Restart: both reconnect over TLS, the queued publishes go out once, nothing is lost.
  server.kill();
  ASSERT_TRUE(wait_until([&] { return !sub.is_connected() && !pub.is_connected(); }));
  for (int i = 21; i <= 30; ++i)
    pub.publish("s", numbered(i));
  server.restart();
  ASSERT_TRUE(wait_until([&] { return sub_rec.payload_count() == 30; }, 20s))
      << describe_gaps(sub_rec.payload_numbers(), 1, 30) << all_errors(sub_rec);
  EXPECT_EQ(sub_rec.payload_numbers(), iota_numbers(1, 30));
  ASSERT_FALSE(sub_rec.recovered().empty());  // the resume said what it could not replay
}

TEST(ClientTls, FallbackPollsAndPublishesOverHttps) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x1001)));
  Recorder rec;
  // An upgrade that always fails (404) on a host that serves /api/poll: the fallback.
  auto o = test_options({"wss://127.0.0.1:" + std::to_string(server.port()) + "/no-websocket"});
  o.ca_file = pki.ca_file();
  o.max_reconnect_attempts = 2;
  o.enable_fallback = true;
  o.fallback_poll_interval = 50ms;
  o.long_poll_timeout = 1000ms;
  rec.attach(o);
  Client c(o);
  c.subscribe("fb");
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_using_fallback(); })) << all_errors(rec);
  // Our publish goes out by POST over https and comes back by a poll over https, once: it
  // waits for the joining poll, so the subscription is there before it (one publish, no
  // retry loop: a publish that overtook the first poll would be lost here).
  c.publish("fb", numbered(1), "one");
  ASSERT_TRUE(wait_until([&] { return rec.payload_count() > 0; }, 10s))
      << all_errors(rec) << server.stderr_tail();
  EXPECT_EQ(rec.payload_numbers(), std::vector<std::int64_t>{1});
}

void expect_refused(const TestPki::Pair& cert, const std::string& ca_file,
                    const std::string& reason, const std::string& host = "127.0.0.1") {
  ServerProcess server(tls_args(cert));
  Recorder rec;
  auto o = test_options({wss_url(server, host)});
  o.ca_file = ca_file;
  rec.attach(o);
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return has_error(rec, reason); })) << all_errors(rec);
  EXPECT_FALSE(c.is_connected());
  EXPECT_TRUE(has_error(rec, "certificate verify failed")) << all_errors(rec);
}

TEST(ClientTls, WrongHostNameIsRefusedWithItsReason) {
  TestPki pki;
  expect_refused(pki.server("wrong", 0x1003, "DNS:wrong.example"), pki.ca_file(),
                 "hostname mismatch", "localhost");
  expect_refused(pki.server("wrong-ip", 0x1004, "IP:10.9.8.7"), pki.ca_file(),
                 "IP address mismatch");
}

TEST(ClientTls, UntrustedCaIsRefusedWithItsReason) {
  TestPki pki;
  expect_refused(pki.server("stranger", 0x1005, "IP:127.0.0.1", -60, 86400, true), pki.ca_file(),
                 "unable to get local issuer certificate");
}

TEST(ClientTls, ExpiredCertificateIsRefusedWithItsReason) {
  TestPki pki;
  expect_refused(pki.server("old", 0x1006, "IP:127.0.0.1", -7200, -3600), pki.ca_file(),
                 "certificate has expired");
}

TEST(ClientTls, InsecureConnectsToAnUntrustedServerAndTheCliSaysSo) {
  TestPki pki;
  ServerProcess server(
      tls_args(pki.server("stranger", 0x1005, "DNS:wrong.example", -60, 86400, true)));
  auto o = test_options({wss_url(server)});
  o.insecure = true;
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));

  CliProcess cli({"connect", wss_url(server), "--insecure", "--quiet"});
  ASSERT_TRUE(wait_until([&] { return cli.stderr_text().find("--insecure") != std::string::npos; }))
      << cli.stderr_text();
  EXPECT_NE(cli.stderr_text().find("NOT verified"), std::string::npos);
}

TEST(ClientTls, UnreadableCaFileIsRefusedAtOnce) {
  ClientOptions o;
  o.urls = {"wss://127.0.0.1:1/ws"};
  o.ca_file = "/nonexistent/ca.pem";
  try {
    Client c(o);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace steadyws::test
