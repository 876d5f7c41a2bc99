#include "server/session_registry.hpp"

#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

using namespace std::chrono_literals;

const TimePoint t0{};
const WallTime w0{};

TEST(SessionRegistry, NewSessionGetsAFreshId) {
  SessionRegistry r(1);
  auto a = r.attach(std::nullopt, {}, t0, w0);
  auto b = r.attach(std::nullopt, {}, t0, w0);
  EXPECT_EQ(a.id.size(), 32u);
  EXPECT_NE(a.id, b.id);
  EXPECT_FALSE(a.resumed);
  EXPECT_EQ(r.size(), 2u);
}

TEST(SessionRegistry, UnknownRequestedIdStartsANewSession) {
  SessionRegistry r(1);
  auto a = r.attach(std::string_view("nope"), {}, t0, w0);
  EXPECT_FALSE(a.resumed);
  EXPECT_NE(a.id, "nope");
}

TEST(SessionRegistry, ResumeRestoresSubscriptions) {
  SessionRegistry r(1);
  auto a = r.attach(std::nullopt, {}, t0, w0);
  r.subscribed(a.id, "b");
  r.subscribed(a.id, "a");
  r.subscribed(a.id, "c");
  r.unsubscribed(a.id, "c");
  r.detach(a.id, a.generation, t0 + 1s, w0);
  auto again = r.attach(std::string_view(a.id), {}, t0 + 2s, w0);
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.id, a.id);
  EXPECT_EQ(again.subscriptions, (std::vector<std::string>{"a", "b"}));
}

TEST(SessionRegistry, ExpiresOnlyAfterTheGraceWithoutAConnection) {
  SessionRegistry r(1);
  auto a = r.attach(std::nullopt, {}, t0, w0);
  auto live = r.attach(std::nullopt, {}, t0, w0);
  r.detach(a.id, a.generation, t0 + 10s, w0);
  EXPECT_EQ(r.expire(t0 + 10s + 119s, 120s), 0u);
  EXPECT_EQ(r.expire(t0 + 10s + 120s, 120s), 1u);
  EXPECT_FALSE(r.contains(a.id));
  EXPECT_TRUE(r.contains(live.id)) << "a connected session never expires";
}

TEST(SessionRegistry, StaleDetachDoesNotUnseatANewerConnection) {
  SessionRegistry r(1);
  auto a = r.attach(std::nullopt, {}, t0, w0);
  auto b = r.attach(std::string_view(a.id), {}, t0 + 1s, w0);  // the reconnect got in first
  r.detach(a.id, a.generation, t0 + 2s, w0);                   // the old one dies later
  const auto list = r.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].connected);
  r.detach(b.id, b.generation, t0 + 3s, w0);
  EXPECT_FALSE(r.list()[0].connected);
}

TEST(SessionRegistry, PollsShowAsPollingSessions) {
  SessionRegistry r(1);
  r.polled("p1", {"x", "y"}, t0, w0);
  const auto list = r.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].transport, Transport::polling);
  EXPECT_FALSE(list[0].connected);
  EXPECT_EQ(list[0].subscriptions, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r.expire(t0 + 30s, 30s), 1u);
}

}  // namespace
}  // namespace steadyws::server
