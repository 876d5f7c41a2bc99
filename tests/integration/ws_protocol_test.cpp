// CONTRACT §2 over a real socket: the welcome, ping/pong, subscribe/unsubscribe, publish
// with ack, seq and dedup, resume with since/epoch and ?session=. Each test starts its own
// `steadyws serve --port 0`.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"

namespace steadyws::test {
namespace {

TEST(ServeWs, WelcomeIsTheFirstFrameWithTheContractShape) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  const auto& w = c->welcome();
  EXPECT_EQ(str_at(w, "type"), "welcome");
  EXPECT_FALSE(str_at(w, "sessionId").empty()) << dump(w);
  ASSERT_TRUE(w.contains("resumed") && w.at("resumed").is_bool()) << dump(w);
  EXPECT_FALSE(w.at("resumed").as_bool());
  EXPECT_EQ(int_at(w, "heartbeatInterval"), 30000) << dump(w);
  EXPECT_EQ(int_at(w, "heartbeatTimeout"), 10000) << dump(w);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_TRUE(int_at(w, "serverTime")) << dump(w);
  EXPECT_NEAR(static_cast<double>(*int_at(w, "serverTime")), static_cast<double>(now_ms), 60000);
}

TEST(ServeWs, WelcomeReportsTheConfiguredHeartbeat) {
  ServerProcess server({"--heartbeat-interval", "1234", "--heartbeat-timeout", "567"});
  auto c = WsClient::connect(server.port());
  EXPECT_EQ(int_at(c->welcome(), "heartbeatInterval"), 1234) << dump(c->welcome());
  EXPECT_EQ(int_at(c->welcome(), "heartbeatTimeout"), 567) << dump(c->welcome());
}

TEST(ServeWs, EachConnectionGetsItsOwnSessionId) {
  ServerProcess server;
  auto a = WsClient::connect(server.port());
  auto b = WsClient::connect(server.port());
  EXPECT_NE(a->session_id(), b->session_id());
}

// CONTRACT §2: T is echoed unchanged, whatever JSON number it is.
TEST(ServeWs, PongEchoesEveryKindOfNumberUnchanged) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  const std::vector<std::string> stamps = {"1700000000000",
                                           "0",
                                           "-5",
                                           "-9223372036854775808",
                                           "9223372036854775807",
                                           "18446744073709551615",  // uint64 max: not an int64
                                           "9007199254740993",  // 2^53 + 1: a double would round it
                                           "1.5",
                                           "-0.25",
                                           "1e300",
                                           "123456789.125"};
  for (const auto& s : stamps) {
    ASSERT_TRUE(c->send_text(R"({"type":"ping","timestamp":)" + s + "}"));
    Frame f = c->next_of_type("pong");
    ASSERT_EQ(f.type(), "pong") << "timestamp " << s << ": " << f.describe();
    const auto o = f.json();
    const json::value sent = json::parse(s);
    const auto* got = o.if_contains("timestamp");
    ASSERT_NE(got, nullptr) << f.data;
    EXPECT_EQ(got->kind(), sent.kind()) << "timestamp " << s << " came back as " << f.data;
    EXPECT_EQ(*got, sent) << "timestamp " << s << " came back as " << f.data;
    EXPECT_TRUE(int_at(o, "serverTime")) << f.data;
  }
}

TEST(ServeWs, PongAnswersInOrderOfPings) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(c->send_json(ping_msg(i)));
  for (int i = 0; i < 50; ++i) {
    Frame f = c->next_of_type("pong");
    ASSERT_EQ(int_at(f.json(), "timestamp"), i) << f.describe();
  }
}

TEST(ServeWs, SubscribeAnswersSubscribedWithSeqZeroAndAnEpoch) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  const auto s = subscribe(*c, "news");
  EXPECT_EQ(str_at(s, "channel"), "news");
  EXPECT_EQ(int_at(s, "seq"), 0) << dump(s);
  EXPECT_FALSE(str_at(s, "epoch").empty()) << dump(s);
  ASSERT_TRUE(s.contains("recovered") && s.at("recovered").is_bool()) << dump(s);
}

TEST(ServeWs, PublishAcksAndDeliversWithSeqOneTwoThreePerChannel) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  auto sub = WsClient::connect(server.port());
  subscribe(*sub, "a");
  subscribe(*sub, "b");
  for (int i = 1; i <= 3; ++i) {
    const auto ack = publish(*pub, "a", json::object{{"n", i}}, "a-" + std::to_string(i));
    EXPECT_EQ(str_at(ack, "type"), "ack");
    EXPECT_EQ(str_at(ack, "id"), "a-" + std::to_string(i)) << dump(ack);
    EXPECT_EQ(str_at(ack, "channel"), "a") << dump(ack);
    EXPECT_EQ(int_at(ack, "seq"), i) << dump(ack);
  }
  EXPECT_EQ(int_at(publish(*pub, "b", "x"), "seq"), 1) << "seq is per channel";

  const auto msgs = drain_messages(*sub);
  ASSERT_EQ(msgs.size(), 4u);
  for (int i = 1; i <= 3; ++i) {
    const auto& m = msgs[static_cast<std::size_t>(i - 1)];
    EXPECT_EQ(str_at(m, "channel"), "a") << dump(m);
    EXPECT_EQ(int_at(m, "seq"), i) << dump(m);
    EXPECT_EQ(str_at(m, "id"), "a-" + std::to_string(i)) << dump(m);
    EXPECT_EQ(m.at("data"), (json::object{{"n", i}})) << dump(m);
    EXPECT_TRUE(int_at(m, "timestamp")) << dump(m);
  }
  EXPECT_EQ(str_at(msgs[3], "channel"), "b");
  EXPECT_EQ(int_at(msgs[3], "seq"), 1);
}

TEST(ServeWs, PublisherThatIsSubscribedGetsAckAndItsOwnMessage) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  subscribe(*c, "self");
  ASSERT_TRUE(c->send_json(publish_msg("self", 7, "only")));
  auto rest = c->frames_until_pong();
  ASSERT_TRUE(rest);
  std::set<std::string> types;
  for (const auto& f : *rest)
    types.insert(f.type());
  EXPECT_TRUE(types.count("ack")) << "no ack";
  EXPECT_TRUE(types.count("message")) << "no message to the subscribed publisher";
}

TEST(ServeWs, DataOfAnyJsonKindIsDeliveredAsSent) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  auto sub = WsClient::connect(server.port());
  subscribe(*sub, "kinds");
  const std::vector<std::string> datas = {R"("text")",
                                          "42",
                                          "-1.5",
                                          "true",
                                          "null",
                                          "[1,[2],{}]",
                                          R"({"nested":{"deep":[1,2,3]},"u":"\u00e9\u4e2d"})"};
  for (const auto& d : datas)
    ASSERT_TRUE(pub->send_text(R"({"type":"publish","channel":"kinds","data":)" + d + "}"));
  for (const auto& d : datas) {
    Frame f = sub->next_of_type("message");
    ASSERT_EQ(f.type(), "message") << f.describe();
    EXPECT_EQ(f.json().at("data"), json::parse(d)) << f.data;
  }
}

TEST(ServeWs, UnsubscribeStopsDelivery) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  auto sub = WsClient::connect(server.port());
  subscribe(*sub, "c");
  publish(*pub, "c", 1);
  const auto u = sub->request(unsubscribe_msg("c"), "unsubscribed");
  EXPECT_EQ(str_at(u, "channel"), "c");
  publish(*pub, "c", 2);
  const auto msgs = drain_messages(*sub);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(int_at(msgs[0], "seq"), 1);
}

TEST(ServeWs, DuplicateIdGetsTheFirstAckAgainAndIsDeliveredOnce) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  auto sub = WsClient::connect(server.port());
  subscribe(*sub, "d");
  const auto first = publish(*pub, "d", "one", "dup-1");
  const auto again = publish(*pub, "d", "one", "dup-1");
  EXPECT_EQ(dump(first), dump(again));
  EXPECT_EQ(int_at(again, "seq"), 1);
  // Another client sending the same id on the same channel is deduplicated too.
  auto other = WsClient::connect(server.port());
  EXPECT_EQ(int_at(publish(*other, "d", "one", "dup-1"), "seq"), 1);
  // The same id on another channel is a different message.
  EXPECT_EQ(int_at(publish(*pub, "e", "one", "dup-1"), "seq"), 1);
  EXPECT_EQ(int_at(publish(*pub, "d", "two", "dup-2"), "seq"), 2);

  const auto msgs = drain_messages(*sub);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(str_at(msgs[0], "id"), "dup-1");
  EXPECT_EQ(str_at(msgs[1], "id"), "dup-2");
  EXPECT_EQ(int_at(msgs[1], "seq"), 2);
}

TEST(ServeWs, PublishWithoutIdIsNeverDeduplicated) {
  ServerProcess server;
  auto c = WsClient::connect(server.port());
  EXPECT_EQ(int_at(publish(*c, "n", "same"), "seq"), 1);
  EXPECT_EQ(int_at(publish(*c, "n", "same"), "seq"), 2);
}

TEST(ServeWs, ResumeWithSinceAndEpochReplaysTheMissedMessagesInOrder) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  const auto s = subscribe(*pub, "r");
  const std::string epoch = str_at(s, "epoch");
  for (int i = 1; i <= 5; ++i)
    publish(*pub, "r", i, "r" + std::to_string(i));

  auto late = WsClient::connect(server.port());
  ASSERT_TRUE(late->send_json(resume_msg("r", 2, epoch)));
  Frame f = late->next();
  ASSERT_EQ(f.type(), "subscribed") << f.describe();
  const auto sub = f.json();
  EXPECT_EQ(int_at(sub, "seq"), 5) << f.data;
  EXPECT_EQ(str_at(sub, "epoch"), epoch) << f.data;
  ASSERT_TRUE(sub.contains("recovered")) << f.data;
  EXPECT_EQ(sub.at("recovered"), true) << f.data;
  const auto msgs = drain_messages(*late);
  ASSERT_EQ(msgs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(int_at(msgs[static_cast<std::size_t>(i)], "seq"), i + 3);
    EXPECT_EQ(str_at(msgs[static_cast<std::size_t>(i)], "id"), "r" + std::to_string(i + 3));
  }
  // Live messages continue after the replay.
  publish(*pub, "r", 6);
  const auto live = drain_messages(*late);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(int_at(live[0], "seq"), 6);
}

TEST(ServeWs, ResumeWithoutEpochIsRecoveredInsideHistory) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  for (int i = 1; i <= 3; ++i)
    publish(*pub, "q", i);
  auto late = WsClient::connect(server.port());
  const auto sub = late->request(
      json::object{{"type", "subscribe"}, {"channel", "q"}, {"since", 1}}, "subscribed");
  EXPECT_EQ(sub.at("recovered"), true) << dump(sub);
  const auto msgs = drain_messages(*late);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(int_at(msgs[0], "seq"), 2);
  EXPECT_EQ(int_at(msgs[1], "seq"), 3);
}

TEST(ServeWs, ResumeAtTheLatestSeqIsRecoveredWithNothingToReplay) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  const std::string epoch = str_at(subscribe(*pub, "z"), "epoch");
  publish(*pub, "z", 1);
  publish(*pub, "z", 2);
  auto late = WsClient::connect(server.port());
  const auto sub = late->request(resume_msg("z", 2, epoch), "subscribed");
  EXPECT_EQ(sub.at("recovered"), true) << dump(sub);
  EXPECT_EQ(int_at(sub, "seq"), 2);
  EXPECT_TRUE(drain_messages(*late).empty());
}

TEST(ServeWs, ResumeWithAWrongEpochIsNotRecoveredAndReplaysNothing) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  const std::string epoch = str_at(subscribe(*pub, "w"), "epoch");
  for (int i = 1; i <= 3; ++i)
    publish(*pub, "w", i);
  auto late = WsClient::connect(server.port());
  const auto sub = late->request(resume_msg("w", 1, epoch + "-not"), "subscribed");
  EXPECT_EQ(sub.at("recovered"), false) << dump(sub);
  EXPECT_EQ(str_at(sub, "epoch"), epoch) << "the answer names the current epoch";
  EXPECT_EQ(int_at(sub, "seq"), 3);
  EXPECT_TRUE(drain_messages(*late).empty());
  // Still subscribed: live messages arrive.
  publish(*pub, "w", 4);
  const auto live = drain_messages(*late);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(int_at(live[0], "seq"), 4);
}

TEST(ServeWs, ResumeBeyondHistoryIsNotRecoveredAndReplaysNothing) {
  ServerProcess server({"--history", "5"});
  auto pub = WsClient::connect(server.port());
  const std::string epoch = str_at(subscribe(*pub, "h"), "epoch");
  for (int i = 1; i <= 10; ++i)
    publish(*pub, "h", i);
  {
    // History holds 6..10; 2..5 are gone: no partial replay.
    auto late = WsClient::connect(server.port());
    const auto sub = late->request(resume_msg("h", 1, epoch), "subscribed");
    EXPECT_EQ(sub.at("recovered"), false) << dump(sub);
    EXPECT_EQ(int_at(sub, "seq"), 10);
    EXPECT_TRUE(drain_messages(*late).empty());
  }
  {
    // Every message after 5 is still there: recovered.
    auto late = WsClient::connect(server.port());
    const auto sub = late->request(resume_msg("h", 5, epoch), "subscribed");
    EXPECT_EQ(sub.at("recovered"), true) << dump(sub);
    const auto msgs = drain_messages(*late);
    ASSERT_EQ(msgs.size(), 5u);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(int_at(msgs[static_cast<std::size_t>(i)], "seq"), i + 6);
  }
}

TEST(ServeWs, ResumeFromTheFutureIsNotRecovered) {
  ServerProcess server;
  auto pub = WsClient::connect(server.port());
  const std::string epoch = str_at(subscribe(*pub, "f"), "epoch");
  publish(*pub, "f", 1);
  auto late = WsClient::connect(server.port());
  const auto sub = late->request(resume_msg("f", 99, epoch), "subscribed");
  EXPECT_EQ(sub.at("recovered"), false) << dump(sub);
  EXPECT_TRUE(drain_messages(*late).empty());
}

TEST(ServeWs, SessionQueryResumesTheSubscriptions) {
  ServerProcess server;
  std::string sid;
  std::string token;
  {
    auto first = WsClient::connect(server.port());
    sid = first->session_id();
    token = str_at(first->welcome(), "resumeToken");
    subscribe(*first, "s1");
    subscribe(*first, "s2");
    first->close();
    EXPECT_TRUE(first->wait_closed().is_terminal());
  }
  WsOptions o;
  o.target = "/ws?session=" + sid + "&resume=" + token;  // CONTRACT §8
  auto again = WsClient::connect(server.port(), o);
  EXPECT_EQ(again->session_id(), sid) << dump(again->welcome());
  EXPECT_EQ(again->welcome().at("resumed"), true) << dump(again->welcome());

  auto pub = WsClient::connect(server.port());
  publish(*pub, "s1", "one");
  publish(*pub, "s2", "two");
  publish(*pub, "s3", "not subscribed");
  const auto msgs = drain_messages(*again);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(str_at(msgs[0], "channel"), "s1");
  EXPECT_EQ(str_at(msgs[1], "channel"), "s2");
}

TEST(ServeWs, UnknownSessionStartsAFreshOne) {
  ServerProcess server;
  WsOptions o;
  o.target = "/ws?session=no-such-session";
  auto c = WsClient::connect(server.port(), o);
  EXPECT_EQ(c->welcome().at("resumed"), false) << dump(c->welcome());
  EXPECT_FALSE(c->session_id().empty());
}

TEST(ServeWs, RestartChangesTheEpochSoOldPositionsAreNotRecovered) {
  ServerProcess server;
  std::string epoch;
  {
    auto c = WsClient::connect(server.port());
    epoch = str_at(subscribe(*c, "e"), "epoch");
    publish(*c, "e", 1);
    publish(*c, "e", 2);
  }
  ASSERT_TRUE(server.stop());
  server.restart();
  auto c = WsClient::connect(server.port());
  publish(*c, "e", "after restart");
  auto late = WsClient::connect(server.port());
  const auto sub = late->request(resume_msg("e", 1, epoch), "subscribed");
  EXPECT_NE(str_at(sub, "epoch"), epoch) << "epoch must change when history is lost";
  EXPECT_EQ(sub.at("recovered"), false) << dump(sub);
  EXPECT_TRUE(drain_messages(*late).empty());
}

}  // namespace
}  // namespace steadyws::test
