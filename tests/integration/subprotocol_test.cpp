// CONTRACT §10, protocol versioning: a client that offers Sec-WebSocket-Protocol steadyws.v1
// gets it selected in the 101; one that offers nothing works as before (no header back); one
// that offers only versions the server does not speak gets HTTP 400 bad_message naming the
// versions it speaks, and the server keeps serving everyone else.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"
#include "support/wait_until.hpp"

namespace steadyws::test {
namespace {

class ServeSubprotocol : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{});
    bystander_ = WsClient::connect(server_->port());
  }
  void expect_others_served() {
    std::string why;
    EXPECT_TRUE(bystander_->alive(kDeadline, &why)) << "bystander: " << why;
    EXPECT_TRUE(server_serves(server_->port()));
  }
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<WsClient> bystander_;
};

TEST_F(ServeSubprotocol, OfferedV1IsSelected) {
  for (const std::string offer : {"steadyws.v1", "steadyws.v2, steadyws.v1", "chat,steadyws.v1"}) {
    SCOPED_TRACE(offer);
    RawTcp raw(server_->port());
    const auto r = raw.upgrade("/ws", "dGhlIHNhbXBsZSBub25jZQ==", "13",
                               "Sec-WebSocket-Protocol: " + offer + "\r\n");
    ASSERT_EQ(r.status, 101u) << r.describe();
    EXPECT_EQ(r.header("sec-websocket-protocol"), "steadyws.v1") << r.describe();
  }
  // And the connection speaks v1 as usual.
  WsOptions o;
  o.headers = {{"Sec-WebSocket-Protocol", "steadyws.v1"}};
  auto c = WsClient::connect(server_->port(), o);
  EXPECT_EQ(c->request(ping_msg(7), "pong").at("timestamp").as_int64(), 7);
  EXPECT_NE(server_->stderr_text().find("protocol=steadyws.v1"), std::string::npos)
      << "the ws open line names the protocol";
  expect_others_served();
}

TEST_F(ServeSubprotocol, NoOfferWorksAsBeforeWithoutTheHeader) {
  RawTcp raw(server_->port());
  const auto r = raw.upgrade();
  ASSERT_EQ(r.status, 101u) << r.describe();
  EXPECT_EQ(r.headers.count("sec-websocket-protocol"), 0u) << r.describe();
  auto c = WsClient::connect(server_->port());
  EXPECT_EQ(c->request(ping_msg(8), "pong").at("timestamp").as_int64(), 8);
}

TEST_F(ServeSubprotocol, UnknownVersionsOnlyGet400NamingTheSupportedOnes) {
  for (const std::string offer : {"steadyws.v2", "steadyws.v7, mqtt", "STEADYWS.V1"}) {
    SCOPED_TRACE(offer);
    RawTcp raw(server_->port());
    const auto r = raw.upgrade("/ws", "dGhlIHNhbXBsZSBub25jZQ==", "13",
                               "Sec-WebSocket-Protocol: " + offer + "\r\n");
    EXPECT_EQ(r.status, 400u) << r.describe();
    const auto o = r.object();
    EXPECT_EQ(str_at(o, "error"), "bad_message") << r.describe();
    const auto msg = str_at(o, "message");
    EXPECT_NE(msg.find("steadyws.v1"), std::string::npos) << msg;
    EXPECT_NE(msg.find(offer.substr(0, offer.find(','))), std::string::npos)
        << "names what was offered: " << msg;
  }
  // Our gtest client too: the upgrade is refused, not half-made.
  WsOptions o;
  o.headers = {{"Sec-WebSocket-Protocol", "steadyws.v2"}};
  const auto r = WsClient::try_connect(server_->port(), o);
  EXPECT_FALSE(r.upgraded);
  EXPECT_EQ(r.status, 400u) << r.error << " " << r.body;
  expect_others_served();
}

}  // namespace
}  // namespace steadyws::test
