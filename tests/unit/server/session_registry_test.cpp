#include "server/session_registry.hpp"

#include <set>

#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

using namespace std::chrono_literals;

const TimePoint t0{};
const WallTime w0{};

// Deterministic "random" bytes: a counter, so ids and tokens differ and are reproducible.
RandomBytes counter() {
  auto n = std::make_shared<unsigned>(0);
  return [n](unsigned char* out, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i)
      out[i] = static_cast<unsigned char>((*n)++ * 37u + 11u);
  };
}

std::optional<std::string_view> none() {
  return std::nullopt;
}

TEST(SessionRegistry, NewSessionGetsAFreshIdAndToken) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  auto b = r.attach(std::nullopt, none(), {}, t0, w0);
  EXPECT_EQ(a.id.size(), 32u);
  EXPECT_EQ(a.resume_token.size(), 32u);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.resume_token, b.resume_token);
  EXPECT_NE(a.id, a.resume_token);
  EXPECT_FALSE(a.resumed);
  EXPECT_EQ(r.size(), 2u);
}

TEST(SessionRegistry, CsprngIdsAndTokensAreHexAndDistinct) {
  SessionRegistry r;  // OpenSSL RAND_bytes
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto a = r.attach(std::nullopt, none(), {}, t0, w0);
    EXPECT_EQ(a.id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(a.resume_token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(a.id).second);
    EXPECT_TRUE(seen.insert(a.resume_token).second);
  }
}

TEST(SessionRegistry, UnknownRequestedIdStartsANewSession) {
  SessionRegistry r(counter());
  auto a = r.attach(std::string_view("nope"), std::string_view("t"), {}, t0, w0);
  EXPECT_FALSE(a.resumed);
  EXPECT_FALSE(a.refused);
  EXPECT_NE(a.id, "nope");
}

TEST(SessionRegistry, ResumeWithTheTokenRestoresSubscriptions) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  r.subscribed(a.id, "b");
  r.subscribed(a.id, "a");
  r.subscribed(a.id, "c");
  r.unsubscribed(a.id, "c");
  r.detach(a.id, a.generation, t0 + 1s, w0);
  auto again = r.attach(std::string_view(a.id), std::string_view(a.resume_token), {}, t0 + 2s, w0);
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.id, a.id);
  EXPECT_EQ(again.resume_token, a.resume_token) << "the token stays for the session's life";
  EXPECT_EQ(again.subscriptions, (std::vector<std::string>{"a", "b"}));
}

TEST(SessionRegistry, WrongOrMissingTokenGetsANewSessionAndLeavesTheOldAlone) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  r.subscribed(a.id, "private");
  std::string wrong = a.resume_token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::optional<std::string_view>& t :
       {none(), std::optional<std::string_view>(wrong), std::optional<std::string_view>(""),
        std::optional<std::string_view>(std::string_view(a.resume_token).substr(0, 31))}) {
    auto b = r.attach(std::string_view(a.id), t, {}, t0 + 1s, w0);
    EXPECT_FALSE(b.resumed);
    EXPECT_TRUE(b.refused);
    EXPECT_NE(b.id, a.id);
    EXPECT_TRUE(b.subscriptions.empty()) << "nothing of the victim's session leaks";
    EXPECT_TRUE(b.previous.expired()) << "the victim's connection is not handed over";
  }
  for (const auto& s : r.list()) {
    if (s.id == a.id) {
      EXPECT_TRUE(s.connected) << "the victim stays attached";
      EXPECT_EQ(s.subscriptions, (std::vector<std::string>{"private"}));
    }
  }
  auto mine = r.attach(std::string_view(a.id), std::string_view(a.resume_token), {}, t0 + 2s, w0);
  EXPECT_TRUE(mine.resumed) << "the right token still works after failed attempts";
}

TEST(SessionRegistry, ExpiresOnlyAfterTheGraceWithoutAConnection) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  auto live = r.attach(std::nullopt, none(), {}, t0, w0);
  r.detach(a.id, a.generation, t0 + 10s, w0);
  EXPECT_EQ(r.expire(t0 + 10s + 119s, 120s), 0u);
  EXPECT_EQ(r.expire(t0 + 10s + 120s, 120s), 1u);
  EXPECT_FALSE(r.contains(a.id));
  EXPECT_TRUE(r.contains(live.id)) << "a connected session never expires";
}

TEST(SessionRegistry, StaleDetachDoesNotUnseatANewerConnection) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  auto b = r.attach(std::string_view(a.id), std::string_view(a.resume_token), {}, t0 + 1s,
                    w0);                      // the reconnect got in first
  r.detach(a.id, a.generation, t0 + 2s, w0);  // the old one dies later
  const auto list = r.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].connected);
  r.detach(b.id, b.generation, t0 + 3s, w0);
  EXPECT_FALSE(r.list()[0].connected);
}

TEST(SessionRegistry, PollsWithTheTokenShowAsPollingSessions) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  r.detach(a.id, a.generation, t0, w0);
  EXPECT_TRUE(r.polled(a.id, std::string_view(a.resume_token), {"x", "y"}, t0, w0));
  const auto list = r.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].transport, Transport::polling);
  EXPECT_FALSE(list[0].connected);
  EXPECT_EQ(list[0].subscriptions, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r.expire(t0 + 30s, 30s), 1u);
}

TEST(SessionRegistry, PollsWithoutTheTokenChangeNothing) {
  SessionRegistry r(counter());
  auto a = r.attach(std::nullopt, none(), {}, t0, w0);
  r.subscribed(a.id, "mine");
  r.detach(a.id, a.generation, t0, w0);
  EXPECT_FALSE(r.polled(a.id, none(), {"x"}, t0, w0));
  EXPECT_FALSE(r.polled(a.id, std::string_view("bad"), {"x"}, t0, w0));
  EXPECT_FALSE(r.polled("made-up", std::string_view("t"), {"x"}, t0, w0));
  const auto list = r.list();
  ASSERT_EQ(list.size(), 1u) << "a poll never creates a session";
  EXPECT_EQ(list[0].transport, Transport::websocket);
  EXPECT_EQ(list[0].subscriptions, (std::vector<std::string>{"mine"}));
}

}  // namespace
}  // namespace steadyws::server
