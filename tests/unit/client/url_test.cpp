#include "client/url.hpp"

#include <gtest/gtest.h>

namespace steadyws::client {
namespace {

TEST(ParseWsUrl, SplitsHostPortAndTarget) {
  struct Case {
    const char* url;
    const char* host;
    const char* port;
    const char* target;
    const char* host_header;
  };
  const Case cases[] = {
      {"ws://127.0.0.1:6011/ws", "127.0.0.1", "6011", "/ws", "127.0.0.1:6011"},
      {"ws://127.0.0.1:6011", "127.0.0.1", "6011", "/ws", "127.0.0.1:6011"},
      {"ws://example.com/ws?token=a%20b", "example.com", "80", "/ws?token=a%20b", "example.com"},
      {"ws://[::1]:7000/custom", "::1", "7000", "/custom", "[::1]:7000"},
      {"ws://localhost:1/", "localhost", "1", "/", "localhost:1"},
  };
  for (const auto& c : cases) {
    auto e = parse_ws_url(c.url);
    ASSERT_TRUE(e.has_value()) << c.url << ": " << e.error();
    EXPECT_EQ(e->url, c.url);
    EXPECT_EQ(e->host, c.host) << c.url;
    EXPECT_EQ(e->port, c.port) << c.url;
    EXPECT_EQ(e->target, c.target) << c.url;
    EXPECT_EQ(e->host_header(), c.host_header) << c.url;
  }
}

TEST(ParseWsUrl, KeepsTheTokenForTheHttpFallback) {
  auto with = parse_ws_url("ws://h:1/ws?session=s&token=a%20b");
  ASSERT_TRUE(with.has_value());
  EXPECT_EQ(with->token, "a b");  // decoded: it goes into an Authorization header
  auto without = parse_ws_url("ws://h:1/ws?session=s");
  ASSERT_TRUE(without.has_value());
  EXPECT_EQ(without->token, "");
}

TEST(ParseWsUrl, RefusesWhatItCannotServe) {
  const char* bad[] = {
      "",      "not a url",        "ftp://127.0.0.1:6011/ws", "wss://",
      "ws://", "ws://u:p@host/ws", "ws://host/ws#frag",       "ws://host:0/ws",
  };
  for (const char* url : bad) {
    auto e = parse_ws_url(url);
    EXPECT_FALSE(e.has_value()) << url;
    if (!e.has_value()) {
      EXPECT_FALSE(e.error().empty()) << url;
    }
  }
}

TEST(ParseWsUrl, WssIsTlsOn443AndHttpsIsItsAlias) {
  auto e = parse_ws_url("wss://example.com/ws");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, "443");
  EXPECT_EQ(e->host_header(), "example.com");  // the default port is not repeated
  auto h = parse_ws_url("https://example.com:8443");
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->tls);
  EXPECT_EQ(h->host_header(), "example.com:8443");
  EXPECT_EQ(h->target, "/ws");
  auto plain = parse_ws_url("http://127.0.0.1:6011/ws");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->tls);
  auto scheme = parse_ws_url("ftp://h/ws");
  ASSERT_FALSE(scheme.has_value());
  EXPECT_NE(scheme.error().find("wss://"), std::string::npos);
}

TEST(PollTarget, CarriesSinceAndEpochOnlyWhenKnown) {
  const std::vector<PollCursor> cursors{
      {.channel = "a", .since = 7, .epoch = "e1"},
      {.channel = "b", .since = std::nullopt, .epoch = std::nullopt},
  };
  EXPECT_EQ(poll_target(cursors, Duration{25000}),
            "/api/poll?channel=a&since=7&epoch=e1&channel=b&timeout=25000");
}

TEST(PollTarget, EncodesQueryValues) {
  const std::vector<PollCursor> cursors{{.channel = "x:y", .since = 0, .epoch = "a b&c=d"}};
  const std::string t = poll_target(cursors, Duration{1000});
  // '=' may stay literal inside a value: a query parser splits a pair at its first '='.
  EXPECT_EQ(t, "/api/poll?channel=x:y&since=0&epoch=a%20b%26c=d&timeout=1000");
}

}  // namespace
}  // namespace steadyws::client
