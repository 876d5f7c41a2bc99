// The C++ client's permessage-deflate (ClientOptions::compression, `connect --compression`;
// CONTRACT §7) against the real server with --compression: large messages arrive intact, and
// the server writes a fraction of their bytes (steadyws_bytes_out_total); the same client
// without the option, on the same server, gets them in full.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/client/client_support.hpp"
#include "integration/client/process_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

double bytes_out(std::uint16_t port) {
  const auto r = http_call(port, boost::beast::http::verb::get, "/metrics", "");
  std::istringstream in(r.body);
  std::string line;
  const std::string name = "steadyws_bytes_out_total ";
  while (std::getline(in, line))
    if (line.rfind(name, 0) == 0)
      return std::stod(line.substr(name.size()));
  return -1;
}

std::string text_of(const ReceivedMessage& m) {
  const auto* o = m.data.if_object();
  const auto* t = o ? o->if_contains("text") : nullptr;
  return t && t->is_string() ? std::string(t->as_string()) : std::string();
}

// Subscribes a client (compression on or off) to `channel`, publishes `n` messages of `text`
// over HTTP and returns what the server wrote meanwhile; every message must arrive intact.
double bytes_for(const ServerProcess& server, bool compression, const std::string& channel, int n,
                 const std::string& text) {
  Recorder rec;
  auto o = test_options({ws_url(server)});
  o.compression = compression;
  rec.attach(o);
  Client c(o);
  c.subscribe(channel);
  c.connect();
  EXPECT_TRUE(wait_until([&] { return c.is_connected(); }, 10s));
  int probe = 0;
  EXPECT_TRUE(wait_until([&] {
    server_publish(server.port(), channel, 0, channel + "-probe-" + std::to_string(++probe));
    return wait_until([&] { return rec.message_count() > 0; }, 300ms);
  }));
  const auto count = [&] {
    int k = 0;
    for (const auto& m : rec.messages())
      k += text_of(m).empty() ? 0 : 1;
    return k;
  };
  const double before = bytes_out(server.port());
  const std::string body_head = R"({"channel":")" + channel + R"(","data":{"text":")";
  for (int i = 0; i < n; ++i) {
    const auto r = http_call(server.port(), boost::beast::http::verb::post, "/api/publish",
                             body_head + text + "\"}}");
    EXPECT_EQ(r.status, 200u) << r.body;
  }
  EXPECT_TRUE(wait_until([&] { return count() >= n; }, 20s)) << count() << " of " << n;
  const double after = bytes_out(server.port());
  for (const auto& m : rec.messages()) {
    if (!text_of(m).empty()) {
      EXPECT_EQ(text_of(m), text) << "message " << m.seq << " arrived changed";
    }
  }
  EXPECT_EQ(count(), n);
  return after - before;
}

TEST(ClientCompression, LargeMessagesArriveIntactInAFractionOfTheBytes) {
  ServerProcess server({"--compression", "--rate-limit", "0"});
  std::string text;
  while (text.size() < 8192)
    text += "steadyws keeps connections up; ";
  constexpr int kMessages = 40;
  const double compressed = bytes_for(server, true, "z1", kMessages, text);
  const double plain = bytes_for(server, false, "z2", kMessages, text);
  std::printf("[ measure ] %d messages of %zu bytes: %.0f bytes written compressed, %.0f plain\n",
              kMessages, text.size(), compressed, plain);
  EXPECT_GT(plain, kMessages * static_cast<double>(text.size())) << "uncompressed: in full";
  EXPECT_GT(compressed, 0);
  EXPECT_LT(compressed, 0.25 * plain) << compressed << " bytes compressed vs " << plain;
}

TEST(ConnectCliCompression, ConnectWithCompressionPrintsMessagesIntactFromFewerBytes) {
  ServerProcess server({"--compression", "--rate-limit", "0"});
  CliProcess cli({"connect", ws_url(server), "--channel", "z3", "--compression", "--no-fallback"});
  int probe = 0;
  ASSERT_TRUE(wait_until([&] {
    server_publish(server.port(), "z3", 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return !cli.stdout_text().empty(); }, 300ms);
  })) << cli.stderr_text();
  std::string text;
  while (text.size() < 8192)
    text += "compress me, compress me; ";
  constexpr int kMessages = 10;
  const double before = bytes_out(server.port());
  for (int i = 0; i < kMessages; ++i) {
    const auto r = http_call(server.port(), boost::beast::http::verb::post, "/api/publish",
                             R"({"channel":"z3","data":{"text":")" + text + "\"}}");
    ASSERT_EQ(r.status, 200u) << r.body;
  }
  const auto with_text = [&] {
    int k = 0;
    for (const auto& line : CliProcess::lines(cli.stdout_text())) {
      const auto v = boost::json::parse(line);
      const auto* d = v.as_object().if_contains("data");
      const auto* t = d && d->is_object() ? d->as_object().if_contains("text") : nullptr;
      if (t && t->is_string()) {
        EXPECT_EQ(std::string(t->as_string()), text);
        ++k;
      }
    }
    return k;
  };
  ASSERT_TRUE(wait_until([&] { return with_text() >= kMessages; }, 20s)) << cli.stderr_text();
  EXPECT_EQ(with_text(), kMessages);
  const double written = bytes_out(server.port()) - before;
  EXPECT_LT(written, 0.25 * kMessages * static_cast<double>(text.size()))
      << "connect --compression did not get compressed frames";
}

}  // namespace
}  // namespace steadyws::test
