// steadyws::Client's token_provider against the real binary with --jwt-secret (CONTRACT §8):
// asked before each connect, and before exp on the open connection, which is refreshed in
// place: no 4003, no reconnect, messages keep flowing. Also `steadyws connect --token-file`.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"
#include "support/jwt_maker.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

const std::string kSecret = "client-secret-0123456789abcdef0123";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ClientTokenProvider, RefreshesShortLivedTokensWithoutReconnecting) {
  ServerProcess server({"--jwt-secret", kSecret, "--jwt-leeway", "0"});
  std::atomic<int> asked{0};
  Recorder rec;
  auto o = test_options({ws_url(server)});
  rec.attach(o);
  // 3 s tokens: the client must refresh at about half their life, over and over.
  o.token_provider = [&] {
    ++asked;
    return make_jwt("HS256", kSecret, claims("long-lived", now_s() + 3));
  };
  Client sub(o);
  sub.subscribe("ticks");
  sub.connect();
  ASSERT_TRUE(wait_until([&] { return sub.is_connected(); }));

  auto po = test_options({ws_url(server)});
  po.token_provider = [] {
    return make_jwt("HS256", kSecret, claims("pub", now_s() + 3600));
  };
  Client pub(po);
  pub.connect();
  ASSERT_TRUE(wait_until([&] { return pub.is_connected(); }));
  ASSERT_TRUE(wait_subscribed(pub, "ticks", rec));

  // Three refreshes cover well over one token's life (a missed one closes with 4003 and
  // shows as a second connect).
  ASSERT_TRUE(wait_until([&] { return asked.load() >= 4; }, 60s)) << "asked " << asked.load();
  EXPECT_EQ(rec.connects(), 1) << "the client reconnected instead of refreshing";
  for (const auto& e : rec.errors())
    ADD_FAILURE() << "client error: " << e;
  EXPECT_EQ(pub.publish("ticks", numbered(1)).status, Enqueue::accepted);
  ASSERT_TRUE(wait_until([&] { return rec.payload_count() == 1; }));
  EXPECT_EQ(rec.connects(), 1);
}

TEST(ClientTokenProvider, IsAskedBeforeEachConnect) {
  ServerProcess server({"--jwt-secret", kSecret});
  std::atomic<int> asked{0};
  Recorder rec;
  auto o = test_options({ws_url(server)});
  rec.attach(o);
  o.token_provider = [&] {
    ++asked;
    return make_jwt("HS256", kSecret, claims("u", now_s() + 3600));
  };
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
  EXPECT_EQ(asked.load(), 1);
  c.reconnect();
  ASSERT_TRUE(wait_until([&] { return rec.connects() == 2 && c.is_connected(); }));
  EXPECT_EQ(asked.load(), 2);
}

TEST(ClientTokenProvider, AnExpiredTokenFromTheProviderIsRefusedAndRetried) {
  ServerProcess server({"--jwt-secret", kSecret, "--jwt-leeway", "0"});
  std::atomic<int> asked{0};
  auto o = test_options({ws_url(server)});
  // The first two answers are expired (401 on the upgrade), then a good one.
  o.token_provider = [&] {
    const int n = ++asked;
    return make_jwt("HS256", kSecret, claims("u", n <= 2 ? now_s() - 60 : now_s() + 3600));
  };
  Client c(o);
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
  EXPECT_GE(asked.load(), 3);
}

// Writes a fresh token to `path` atomically (a reader never sees half of one).
void write_token(const std::string& path, const std::string& token) {
  const std::string tmp = path + ".new";
  write_file(tmp, token + "\n");
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST(ConnectCliTokenFile, RereadsTheFileAndRefreshesWithoutReconnecting) {
  ServerProcess server({"--jwt-secret", kSecret, "--jwt-leeway", "0"});
  const std::string path = temp_file("token");
  write_token(path, make_jwt("HS256", kSecret, claims("cli", now_s() + 3)));
  CliProcess cli({"connect", ws_url(server), "--channel", "c", "--events", "--keep-running",
                  "--token-file", path, "--reconnect-interval", "100", "--max-backoff-delay", "400",
                  "--jitter", "0", "--max-reconnect-attempts", "0", "--no-fallback"});
  const auto connected = [&] {
    int n = 0;
    for (const auto& line : CliProcess::lines(cli.stderr_text()))
      n += line.find(R"("to":"connected")") != std::string::npos ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return connected() == 1; }, 20s)) << cli.stderr_text();
  // Whatever renews the token rewrites the file; the CLI reads it again before each refresh.
  // Over three token lives, the connection must never drop (4003 would show as a reconnect).
  const auto until = now_s() + 9;
  while (now_s() < until) {
    write_token(path, make_jwt("HS256", kSecret, claims("cli", now_s() + 3)));
    std::this_thread::sleep_for(250ms);  // pacing the rotation, not waiting for a result
  }
  EXPECT_EQ(connected(), 1) << cli.stderr_text();
  cli.write_line(R"({"n":1})");  // published on c, which the CLI is subscribed to
  EXPECT_TRUE(wait_until([&] { return cli.stdout_text().find(R"("n":1)") != std::string::npos; }))
      << cli.stderr_text();
  std::remove(path.c_str());
}

TEST(ConnectCliTokenFile, AMissingFileIsAStartupError) {
  CliProcess cli({"connect", "ws://127.0.0.1:1/ws", "--token-file", "/nonexistent/token"});
  const auto st = cli.wait_exit(20s);
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->ok());
}

}  // namespace
}  // namespace steadyws::test
