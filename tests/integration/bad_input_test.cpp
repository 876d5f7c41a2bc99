// Issue 3 "Bad input": every kind of malformed input from the list, each followed by the
// check the contract asks for: the same connection still works where it stays open, and a
// bystander connected before it, plus a brand-new client, are still served.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

// One server, one victim connection and one bystander per test.
class ServeBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{});
    victim_ = WsClient::connect(server_->port());
    bystander_ = WsClient::connect(server_->port());
    subscribe(*bystander_, "watch");
  }

  // The bystander still gets pongs and messages, and a new client is served.
  void expect_others_served() {
    std::string why;
    EXPECT_TRUE(bystander_->alive(kDeadline, &why)) << "bystander: " << why;
    EXPECT_TRUE(server_serves(server_->port()));
    const auto r = http_post(server_->port(), "/api/publish", R"({"channel":"watch","data":1})");
    EXPECT_EQ(r.status, 200u) << r.describe();
    EXPECT_EQ(bystander_->next_of_type("message").type(), "message");
  }

  // Sends `text` on the victim; expects an error `code` and the victim still usable.
  void expect_error(const std::string& text, const std::string& code) {
    SCOPED_TRACE("input: " + text.substr(0, 200));
    ASSERT_TRUE(victim_->send_text(text));
    EXPECT_TRUE(error_then_alive(*victim_, code));
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<WsClient> victim_;
  std::unique_ptr<WsClient> bystander_;
};

TEST_F(ServeBadInput, MalformedJsonGetsBadJsonAndStaysOpen) {
  for (const char* s : {"{not json", "", "{\"type\":\"ping\",", "}{", "{\"type\":\"ping\"}}",
                        "\xef\xbb\xbf{}", "{'type':'ping'}"})
    expect_error(s, "bad_json");
  expect_others_served();
}

TEST_F(ServeBadInput, JsonThatIsNotAnObjectGetsBadMessageAndStaysOpen) {
  // Issue 12: valid JSON of the wrong shape is bad_message; bad_json is for text that does
  // not parse (CONTRACT §2).
  for (const char* s : {"[1,2]", "\"x\"", "7", "42", "\"ping\"", "null", "true", "[]"})
    expect_error(s, "bad_message");
  expect_others_served();
}

TEST_F(ServeBadInput, UnknownOrMissingTypeGetsBadMessage) {
  for (const char* s : {R"({"type":"nope"})", R"({})", R"({"type":5})", R"({"type":null})",
                        R"({"type":"PING","timestamp":1})", R"({"type":"welcome"})",
                        R"({"type":"ack","id":"x"})", R"({"kind":"ping","timestamp":1})"})
    expect_error(s, "bad_message");
  expect_others_served();
}

TEST_F(ServeBadInput, MissingOrMistypedFieldsGetBadMessage) {
  for (const char* s : {
           R"({"type":"ping"})",
           R"({"type":"ping","timestamp":"soon"})",
           R"({"type":"ping","timestamp":null})",
           R"({"type":"ping","timestamp":[1]})",
           R"({"type":"subscribe"})",
           R"({"type":"subscribe","channel":5})",
           R"({"type":"subscribe","channel":null})",
           R"({"type":"subscribe","channel":"ok","since":"3"})",
           R"({"type":"subscribe","channel":"ok","since":-1})",
           R"({"type":"subscribe","channel":"ok","since":1.5})",
           R"({"type":"subscribe","channel":"ok","since":1,"epoch":7})",
           R"({"type":"unsubscribe"})",
           R"({"type":"unsubscribe","channel":["a"]})",
           R"({"type":"publish","data":1})",
           R"({"type":"publish","channel":{},"data":1})",
           R"({"type":"publish","channel":"ok","data":1,"id":5})",
       })
    expect_error(s, "bad_message");
  expect_others_served();
}

TEST_F(ServeBadInput, UnknownFieldsAreIgnored) {
  ASSERT_TRUE(victim_->send_text(R"({"type":"ping","timestamp":5,"extra":{"x":[1]}})"));
  Frame f = victim_->next();
  EXPECT_EQ(f.type(), "pong") << f.describe();
  const auto s = victim_->request(
      json::object{{"type", "subscribe"}, {"channel", "u"}, {"whatever", true}}, "subscribed");
  EXPECT_EQ(str_at(s, "channel"), "u");
}

TEST_F(ServeBadInput, ChannelNamesOutsideTheContractGetBadMessage) {
  const std::vector<std::string> bad = {
      "",    std::string(129, 'a'), "a b", "a/b", "a*", "é", "a\nb", "a,b", "#", "a\tb", "x?y",
      "ch@n"};
  for (const auto& name : bad) {
    expect_error(dump(subscribe_msg(name)), "bad_message");
    expect_error(dump(publish_msg(name, 1)), "bad_message");
    expect_error(dump(unsubscribe_msg(name)), "bad_message");
  }
  // The edges that are allowed.
  const auto longest = subscribe(*victim_, std::string(128, 'z'));
  EXPECT_EQ(str_at(longest, "channel"), std::string(128, 'z'));
  EXPECT_EQ(str_at(subscribe(*victim_, "Az09_.:-"), "channel"), "Az09_.:-");
  EXPECT_EQ(str_at(subscribe(*victim_, "x"), "channel"), "x");
  expect_others_served();
}

TEST_F(ServeBadInput, IdLongerThan64CharactersGetsBadMessage) {
  expect_error(dump(publish_msg("ids", 1, std::string(65, 'i'))), "bad_message");
  expect_error(dump(publish_msg("ids", 1, std::string(1000, 'i'))), "bad_message");
  const auto ack = publish(*victim_, "ids", 1, std::string(64, 'i'));
  EXPECT_EQ(int_at(ack, "seq"), 1) << "the rejected publishes must not take a seq";
  expect_others_served();
}

TEST_F(ServeBadInput, ABadPublishIsNotDelivered) {
  subscribe(*bystander_, "nd");
  expect_error(R"({"type":"publish","channel":"nd","data":1,"id":5})", "bad_message");
  EXPECT_TRUE(drain_messages(*bystander_).empty());
}

TEST_F(ServeBadInput, TwoMegabyteMessageIsClosedWith1009) {
  std::string big = R"({"type":"publish","channel":"big","data":")";
  big.append(2u << 20, 'x');
  big += "\"}";
  victim_->send_text(std::move(big), 5s);  // may not finish: the server stops reading
  Frame f = victim_->wait_closed();
  EXPECT_TRUE(f.is_close()) << f.describe();
  EXPECT_EQ(f.close_code, 1009) << f.describe();
  expect_others_served();
}

TEST(ServeLimits, MessageJustOverTheConfiguredMaxIsClosedWith1009) {
  auto server = ServerProcess({"--max-message-bytes", "1000"});
  auto c = WsClient::connect(server.port());
  std::string ok = R"({"type":"publish","channel":"m","data":")";
  ok.append(1000 - ok.size() - 2, 'x');
  ok += "\"}";
  ASSERT_EQ(ok.size(), 1000u);
  ASSERT_TRUE(c->send_text(ok));
  EXPECT_EQ(c->next_of_type("ack").type(), "ack") << "exactly the max is allowed";
  std::string over = R"({"type":"publish","channel":"m","data":")";
  over.append(1001 - over.size() - 2, 'x');
  over += "\"}";
  ASSERT_TRUE(c->send_text(over));
  Frame f = c->wait_closed();
  EXPECT_EQ(f.close_code, 1009) << f.describe();
  EXPECT_TRUE(server_serves(server.port()));
}

TEST_F(ServeBadInput, BinaryFrameIsClosedWith1003) {
  ASSERT_TRUE(victim_->send_binary(R"({"type":"ping","timestamp":1})"));
  Frame f = victim_->wait_closed();
  EXPECT_TRUE(f.is_close()) << f.describe();
  EXPECT_EQ(f.close_code, 1003) << f.describe();
  expect_others_served();
}

TEST_F(ServeBadInput, InvalidUtf8IsClosedWith1007) {
  ASSERT_TRUE(victim_->send_text("{\"type\":\"ping\",\"timestamp\":1,\"x\":\"\xc3\x28\"}"));
  Frame f = victim_->wait_closed();
  EXPECT_TRUE(f.is_close()) << f.describe();
  EXPECT_EQ(f.close_code, 1007) << f.describe();
  expect_others_served();
}

TEST_F(ServeBadInput, OverlongUtf8EncodingIsClosedWith1007) {
  ASSERT_TRUE(victim_->send_text("{\"type\":\"ping\",\"timestamp\":1,\"x\":\"\xc0\xaf\"}"));
  Frame f = victim_->wait_closed();
  EXPECT_EQ(f.close_code, 1007) << f.describe();
  expect_others_served();
}

// ---- the upgrade and HTTP --------------------------------------------------------------

TEST_F(ServeBadInput, UpgradeWithoutKeyIs400) {
  RawTcp raw(server_->port());
  const auto r = raw.upgrade("/ws", std::nullopt);
  EXPECT_EQ(r.status, 400u) << r.describe();
  expect_others_served();
}

TEST_F(ServeBadInput, UpgradeWithWrongVersionIs426) {
  RawTcp raw(server_->port());
  const auto r = raw.upgrade("/ws", "dGhlIHNhbXBsZSBub25jZQ==", "8");
  EXPECT_EQ(r.status, 426u) << r.describe();
  EXPECT_EQ(r.header("sec-websocket-version"), "13") << "RFC 6455 4.4 names the version";
  // A missing version is a malformed request (400) or an unsupported one (426).
  RawTcp raw2(server_->port());
  const auto missing = raw2.upgrade("/ws", "dGhlIHNhbXBsZSBub25jZQ==", std::nullopt);
  EXPECT_TRUE(missing.status == 400u || missing.status == 426u) << missing.describe();
  expect_others_served();
}

TEST_F(ServeBadInput, PlainGetOnWsIs426) {
  const auto r = http_get(server_->port(), "/ws");
  EXPECT_EQ(r.status, 426u) << r.describe();
  EXPECT_FALSE(str_at(r.object(), "error").empty()) << r.describe();
  expect_others_served();
}

TEST_F(ServeBadInput, UpgradeOnAnotherPathIs404) {
  RawTcp raw(server_->port());
  EXPECT_EQ(raw.upgrade("/not-ws").status, 404u);
  expect_others_served();
}

TEST_F(ServeBadInput, UnknownPathsAre404WithAJsonError) {
  for (const char* p :
       {"/nope", "/api", "/api/", "/api/nope", "/ws/extra", "/api/health/x", "/index.php"}) {
    const auto r = http_get(server_->port(), p);
    EXPECT_EQ(r.status, 404u) << p << ": " << r.describe();
    EXPECT_FALSE(str_at(r.object(), "error").empty()) << p << ": " << r.describe();
    EXPECT_TRUE(r.object().contains("message")) << p << ": " << r.describe();
  }
  expect_others_served();
}

TEST_F(ServeBadInput, WrongMethodsAre405) {
  const auto port = server_->port();
  struct Case {
    http::verb verb;
    const char* path;
  };
  for (const Case& c :
       {Case{http::verb::delete_, "/api/health"}, Case{http::verb::post, "/api/health"},
        Case{http::verb::get, "/api/publish"}, Case{http::verb::put, "/api/publish"},
        Case{http::verb::get, "/api/ping"}, Case{http::verb::post, "/api/sessions"},
        Case{http::verb::post, "/api/poll"}, Case{http::verb::post, "/metrics"},
        Case{http::verb::delete_, "/"}}) {
    const auto r = http_request(port, c.verb, c.path, "{}");
    EXPECT_EQ(r.status, 405u) << http::to_string(c.verb) << " " << c.path << ": " << r.describe();
    EXPECT_FALSE(str_at(r.object(), "error").empty()) << c.path << ": " << r.describe();
  }
  expect_others_served();
}

TEST_F(ServeBadInput, PostWithABrokenBodyIs400) {
  const auto port = server_->port();
  for (const char* path : {"/api/publish", "/api/ping"}) {
    for (const char* body : {"{oops", "", "[1]", "null", "\"x\""}) {
      const auto r = http_post(port, path, body);
      EXPECT_EQ(r.status, 400u) << path << " body " << body << ": " << r.describe();
      EXPECT_FALSE(str_at(r.object(), "error").empty()) << r.describe();
    }
  }
  for (const char* body : {R"({"data":1})", R"({"channel":"a b","data":1})",
                           R"({"channel":"ok","data":1,"id":5})", R"({"channel":5,"data":1})"}) {
    const auto r = http_post(port, "/api/publish", body);
    EXPECT_EQ(r.status, 400u) << body << ": " << r.describe();
    EXPECT_EQ(str_at(r.object(), "error"), "bad_message") << r.describe();
  }
  {
    const auto r = http_post(port, "/api/ping", R"({"timestamp":"x"})");
    EXPECT_EQ(r.status, 400u) << r.describe();
  }
  {
    const auto r = http_post(port, "/api/publish", "{oops");
    EXPECT_EQ(str_at(r.object(), "error"), "bad_json") << r.describe();
  }
  expect_others_served();
}

TEST_F(ServeBadInput, PostBodyOverTheMaxIs413) {
  std::string body = R"({"channel":"big","data":")";
  body.append(2u << 20, 'x');
  body += "\"}";
  const auto r = http_post(server_->port(), "/api/publish", body);
  // The server may answer before reading the whole body and close; a 413 is what counts.
  EXPECT_EQ(r.status, 413u) << r.describe();
  expect_others_served();
}

TEST_F(ServeBadInput, PollWithoutAChannelOrWithABadOneIs400) {
  for (const char* q : {"/api/poll", "/api/poll?timeout=10", "/api/poll?channel=a%20b",
                        "/api/poll?channel=a&since=x", "/api/poll?channel=a&timeout=soon"}) {
    const auto r = http_get(server_->port(), q);
    EXPECT_EQ(r.status, 400u) << q << ": " << r.describe();
  }
  expect_others_served();
}

TEST_F(ServeBadInput, GarbageInsteadOfHttpIsRefusedAndTheServerGoesOn) {
  {
    RawTcp raw(server_->port());
    raw.write(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));  // a TLS hello
    const auto r = raw.read_http_response(5s);
    EXPECT_TRUE(r.status == 400u || r.status == 0u) << r.describe();
    EXPECT_TRUE(raw.wait_eof()) << "connection left open after garbage";
  }
  {
    RawTcp raw(server_->port());
    raw.write("GET / HTTP/9.9\r\nHost: x\r\n\r\n");
    raw.read_http_response(5s);
  }
  {
    RawTcp raw(server_->port());
    raw.write("GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n");
    raw.read_http_response(5s);
  }
  {
    RawTcp raw(server_->port());
    raw.write("GET /api/health HTTP/1.1\r\n" + std::string(100000, 'X') + ": y\r\n\r\n");
    const auto r = raw.read_http_response(5s);
    EXPECT_NE(r.status, 200u) << "a 100 kB header was accepted";
  }
  expect_others_served();
}

TEST_F(ServeBadInput, HandshakeThenRawGarbageFramesAreClosed) {
  RawTcp raw(server_->port());
  ASSERT_EQ(raw.upgrade().status, 101u);
  // An unmasked client frame is a protocol error (RFC 6455 5.1): 1002.
  raw.write(std::string("\x81\x02hi", 4));
  bool closed = false;
  for (int i = 0; i < 10 && !closed; ++i) {
    const auto f = raw.read_frame();
    if (f.kind != RawFrame::Kind::frame || f.opcode == 0x8)
      closed = true;
  }
  EXPECT_TRUE(closed);
  expect_others_served();
}

TEST_F(ServeBadInput, SilentTcpClientDoesNotBlockOthers) {
  // Opens TCP and says nothing (the handshake timeout is not a flag, so only check that the
  // rest of the server does not wait for it).
  std::vector<std::unique_ptr<RawTcp>> silent;
  for (int i = 0; i < 20; ++i)
    silent.push_back(std::make_unique<RawTcp>(server_->port()));
  RawTcp half(server_->port());
  half.write("GET /api/health HTTP/1.1\r\nHost:");  // and stalls
  RawTcp half_upgrade(server_->port());
  half_upgrade.write("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n");
  expect_others_served();
  EXPECT_TRUE(victim_->alive());
}

TEST(ServeTimeouts, SilentAndStalledHttpClientsAreClosedByTheIdleTimeout) {
  // A client that opens TCP and says nothing, or stalls mid-request, must not hold a socket
  // forever: --http-idle-timeout closes it, and everyone else is served meanwhile.
  ServerProcess server({"--http-idle-timeout", "300"});
  RawTcp silent(server.port());
  RawTcp stalled(server.port());
  stalled.write("GET /api/health HTTP/1.1\r\nHost:");
  EXPECT_TRUE(bool(server_serves(server.port())));
  EXPECT_TRUE(silent.wait_eof(10s)) << server.stderr_tail();
  EXPECT_TRUE(stalled.wait_eof(10s)) << server.stderr_tail();
  EXPECT_TRUE(bool(server_serves(server.port())));
}

TEST_F(ServeBadInput, FiveThousandConnectionsOpenedAndDroppedAtOnce) {
  constexpr int kCount = 5000;
  std::vector<std::unique_ptr<RawTcp>> conns;
  conns.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    try {
      conns.push_back(std::make_unique<RawTcp>(server_->port()));
    } catch (const std::exception& e) {
      FAIL() << "connection " << i << ": " << e.what();
    }
    // A third start a request or an upgrade they never finish.
    if (i % 3 == 1)
      conns.back()->write("GET /api/health HTTP/1.1\r\n");
    else if (i % 3 == 2)
      conns.back()->write(
          "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }
  // Half leave with RST, half with FIN, all at once.
  for (int i = 0; i < kCount; ++i)
    if (i % 2 == 0)
      conns[static_cast<std::size_t>(i)]->reset();
  conns.clear();
  // A sanitizer build on a loaded 2-core box needs seconds to work through the storm (about
  // 1,700 of them completed an upgrade); what counts is that it comes back and loses nobody.
  EXPECT_TRUE(wait_until([&] { return bool(server_serves(server_->port())); }, 60s))
      << server_serves(server_->port()).message();
  expect_others_served();
  EXPECT_TRUE(victim_->alive());
  // And it does not keep counting them as clients.
  EXPECT_TRUE(wait_until(
      [&] {
        const auto o = http_get(server_->port(), "/api/health").object();
        const auto* ws = o.if_contains("websocket");
        return ws && ws->is_object() && int_at(ws->as_object(), "clients") == 2;
      },
      20s))
      << http_get(server_->port(), "/api/health").body;
}

}  // namespace
}  // namespace steadyws::test
