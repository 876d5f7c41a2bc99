// The server's own RFC 6455 frame handling (src/server/ws_session.cpp over
// protocol::FrameReader and FrameWriter), seen from a raw TCP socket against the real binary:
// fragmentation with an interleaved ping, input split at every byte and pipelined in one
// write, frames sent together with the upgrade request, protocol violations (1002), an
// oversized header (1009), and both directions of the close handshake.
//
// Every frame here is built by hand (RawTcp plus client_frame below), so the tests can send
// what no WebSocket library would; server frames are read with RawTcp::read_frame. Each test
// starts its own `steadyws serve --port 0` and waits on conditions with deadlines.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "integration/helpers.hpp"

namespace steadyws::test {
namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kRsv1 = 0x40;
constexpr std::uint8_t kContinuation = 0x0;
constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kClose = 0x8;
constexpr std::uint8_t kPing = 0x9;
constexpr std::uint8_t kPong = 0xA;

// How a frame spells its payload length (RFC 6455 §5.2): the shortest form, or a longer one
// on purpose (which a server must refuse: "the minimal number of bytes MUST be used").
enum class LengthForm { minimal, sixteen_bit, sixty_four_bit };

struct FrameSpec {
  bool masked = true;
  LengthForm form = LengthForm::minimal;
  std::uint64_t declared = UINT64_MAX;  // a length other than the payload's (a lie), or MAX
};

// One client frame: `b0` is the first byte as on the wire (FIN, RSV bits, opcode), then the
// length, a fixed mask (unless unmasked) and the payload, masked.
std::string client_frame(std::uint8_t b0, std::string_view payload, FrameSpec spec = {}) {
  std::string f;
  f.push_back(static_cast<char>(b0));
  const std::uint64_t n = spec.declared != UINT64_MAX ? spec.declared : payload.size();
  const char mask_bit = spec.masked ? static_cast<char>(0x80) : 0;
  LengthForm form = spec.form;
  if (form == LengthForm::minimal)
    form = n < 126 ? LengthForm::minimal
                   : (n < 65536 ? LengthForm::sixteen_bit : LengthForm::sixty_four_bit);
  switch (form) {
    case LengthForm::minimal:
      f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
      break;
    case LengthForm::sixteen_bit:
      f.push_back(static_cast<char>(mask_bit | 126));
      f.push_back(static_cast<char>((n >> 8) & 0xff));
      f.push_back(static_cast<char>(n & 0xff));
      break;
    case LengthForm::sixty_four_bit:
      f.push_back(static_cast<char>(mask_bit | 127));
      for (int i = 7; i >= 0; --i)
        f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
      break;
  }
  const char mask[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};
  if (spec.masked)
    f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(spec.masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i]);
  return f;
}

std::string text_frame(std::string_view s) {
  return client_frame(kFin | kText, s);
}

// The payload of a close frame: a 2-byte status code, then the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xff));
  p.append(reason);
  return p;
}

std::string ping_json(std::int64_t timestamp) {
  return R"({"type":"ping","timestamp":)" + std::to_string(timestamp) + "}";
}

std::string describe(const RawFrame& f) {
  switch (f.kind) {
    case RawFrame::Kind::eof:
      return "eof";
    case RawFrame::Kind::timeout:
      return "timeout";
    case RawFrame::Kind::frame:
      break;
  }
  std::string s = "opcode " + std::to_string(f.opcode) + (f.fin ? "" : " (FIN=0)");
  if (f.opcode == kClose)
    return s + " close " + std::to_string(f.close_code()) + " \"" +
           (f.payload.size() > 2 ? f.payload.substr(2) : std::string()) + "\"";
  return s + " \"" + (f.payload.size() > 200 ? f.payload.substr(0, 200) + "..." : f.payload) + "\"";
}

bool is_text(const RawFrame& f) {
  return f.kind == RawFrame::Kind::frame && f.opcode == kText;
}

// The next frame that is not one of the server's heartbeat pings (30 s apart by default, so
// rare here, but a slow run must not trip on one).
RawFrame next_frame(RawTcp& raw, std::chrono::milliseconds d = kDeadline) {
  for (;;) {
    RawFrame f = raw.read_frame(d);
    if (f.kind != RawFrame::Kind::frame || f.opcode != kPing)
      return f;
  }
}

// The next text frame as a JSON object; fails the test (and returns {}) on anything else.
json::object next_json(RawTcp& raw) {
  const RawFrame f = next_frame(raw);
  EXPECT_TRUE(is_text(f)) << "expected a text frame, got " << describe(f);
  return is_text(f) ? parse_object(f.payload) : json::object{};
}

// Reads until a close frame, which it returns; data frames before it are counted in
// `skipped`. A non-frame (eof, timeout) is returned as it is.
RawFrame wait_close_frame(RawTcp& raw, std::vector<RawFrame>* skipped = nullptr) {
  for (;;) {
    RawFrame f = next_frame(raw);
    if (f.kind != RawFrame::Kind::frame || f.opcode == kClose)
      return f;
    if (skipped)
      skipped->push_back(std::move(f));
  }
}

// One `steadyws serve` per test, plus a bystander that must keep being served.
class WsFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{});
    bystander_ = WsClient::connect(server_->port());
  }

  // A raw connection, upgraded, with its welcome read.
  std::unique_ptr<RawTcp> open_raw() {
    auto raw = std::make_unique<RawTcp>(server_->port());
    const auto r = raw->upgrade();
    if (r.status != 101)
      throw std::runtime_error("upgrade refused: " + r.describe());
    const RawFrame w = raw->read_frame();
    if (!is_text(w) || str_at(parse_object(w.payload), "type") != "welcome")
      throw std::runtime_error("first frame is not welcome: " + describe(w));
    return raw;
  }

  ::testing::AssertionResult bystander_served() {
    std::string why;
    if (!bystander_->alive(kDeadline, &why))
      return ::testing::AssertionFailure() << "bystander got no pong: " << why;
    return ::testing::AssertionSuccess();
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<WsClient> bystander_;
};

// ---- fragmentation and reassembly --------------------------------------------------------

TEST_F(WsFrames, FragmentedTextWithAPingBetweenFragmentsIsReassembledAndThePingAnswered) {
  // RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message.
  const std::string msg = ping_json(1700000000123);
  const std::string parts[3] = {msg.substr(0, 10), msg.substr(10, 9), msg.substr(19)};
  const std::string frames[4] = {
      client_frame(kText, parts[0]),                 // text, FIN=0
      client_frame(kFin | kPing, "are-you-there?"),  // ping in between
      client_frame(kContinuation, parts[1]),         // continuation, FIN=0
      client_frame(kFin | kContinuation, parts[2]),  // continuation, FIN=1
  };
  for (const bool one_write : {false, true}) {
    SCOPED_TRACE(one_write ? "all four frames in one TCP write" : "one TCP write per frame");
    auto raw = open_raw();
    if (one_write) {
      ASSERT_TRUE(raw->write(frames[0] + frames[1] + frames[2] + frames[3]));
    } else {
      for (const auto& f : frames)
        ASSERT_TRUE(raw->write(f));
    }
    // The pong frame carries the ping's payload and, as the ping was read first, comes
    // before the answer to the reassembled message.
    const RawFrame pong = next_frame(*raw);
    ASSERT_EQ(pong.kind, RawFrame::Kind::frame) << describe(pong);
    EXPECT_EQ(pong.opcode, kPong) << describe(pong);
    EXPECT_TRUE(pong.fin);
    EXPECT_EQ(pong.payload, "are-you-there?");
    const RawFrame answer = next_frame(*raw);
    ASSERT_TRUE(is_text(answer)) << describe(answer);
    const auto o = parse_object(answer.payload);
    EXPECT_EQ(str_at(o, "type"), "pong") << answer.payload;
    EXPECT_EQ(int_at(o, "timestamp"), 1700000000123) << answer.payload;
    EXPECT_NE(answer.payload.find("\"timestamp\":1700000000123"), std::string::npos)
        << answer.payload;
  }
}

TEST_F(WsFrames, FragmentedPublishIsAckedAndDeliveredAsOneMessage) {
  subscribe(*bystander_, "frag");
  auto raw = open_raw();
  const std::string msg = R"({"type":"publish","channel":"frag","data":"abcdefghij","id":"f1"})";
  ASSERT_TRUE(raw->write(client_frame(kText, msg.substr(0, 1))));
  ASSERT_TRUE(raw->write(client_frame(kContinuation, "")));  // an empty fragment is legal
  ASSERT_TRUE(raw->write(client_frame(kContinuation, msg.substr(1, 40))));
  ASSERT_TRUE(raw->write(client_frame(kFin | kContinuation, msg.substr(41))));
  const auto ack = next_json(*raw);
  EXPECT_EQ(str_at(ack, "type"), "ack") << dump(ack);
  EXPECT_EQ(str_at(ack, "id"), "f1") << dump(ack);
  EXPECT_EQ(int_at(ack, "seq"), 1) << dump(ack);
  const auto m = bystander_->next_of_type("message").json();
  EXPECT_EQ(str_at(m, "data"), "abcdefghij") << dump(m);
  EXPECT_TRUE(drain_messages(*bystander_).empty()) << "delivered more than once";
}

// ---- split and pipelined input ----------------------------------------------------------

TEST_F(WsFrames, MessageWrittenOneBytePerTcpWriteIsAnswered) {
  auto raw = open_raw();
  // Over 125 bytes, so the 16-bit extended length is split across reads too.
  const std::string msg =
      R"({"type":"ping","timestamp":4242,"pad":")" + std::string(200, 'p') + "\"}";
  const std::string frame = text_frame(msg);
  ASSERT_EQ(static_cast<std::uint8_t>(frame[1]) & 0x7f, 126) << "expected the 16-bit form";
  // TCP_NODELAY is on (RawTcp), so each one-byte send goes out as its own segment.
  for (const char c : frame)
    ASSERT_TRUE(raw->write(std::string_view(&c, 1)));
  const auto o = next_json(*raw);
  EXPECT_EQ(str_at(o, "type"), "pong") << dump(o);
  EXPECT_EQ(int_at(o, "timestamp"), 4242) << dump(o);

  // A short frame, byte by byte, right after: the connection keeps parsing from a clean state.
  for (const char c : text_frame(ping_json(4343)))
    ASSERT_TRUE(raw->write(std::string_view(&c, 1)));
  const auto o2 = next_json(*raw);
  EXPECT_EQ(int_at(o2, "timestamp"), 4343) << dump(o2);
}

TEST_F(WsFrames, FiftyPipelinedMessagesInOneWriteAreAllAnsweredInOrder) {
  auto raw = open_raw();
  std::string batch;
  for (int i = 1; i <= 50; ++i)
    batch += text_frame(ping_json(i));
  ASSERT_TRUE(raw->write(batch));
  for (int i = 1; i <= 50; ++i) {
    const auto o = next_json(*raw);
    ASSERT_EQ(str_at(o, "type"), "pong") << "answer " << i << ": " << dump(o);
    ASSERT_EQ(int_at(o, "timestamp"), i) << "answers out of order: " << dump(o);
  }
}

// ---- frames sent before the 101 ----------------------------------------------------------

std::string upgrade_request() {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

TEST_F(WsFrames, FramesInTheSameWriteAsTheUpgradeRequestAreHandledAfterTheWelcome) {
  RawTcp raw(server_->port());
  ASSERT_TRUE(raw.write(upgrade_request() + text_frame(ping_json(777)) +
                        text_frame(R"({"type":"subscribe","channel":"early"})")));
  const auto r = raw.read_http_response();
  ASSERT_EQ(r.status, 101u) << r.describe();
  EXPECT_EQ(str_at(next_json(raw), "type"), "welcome");
  const auto pong = next_json(raw);
  EXPECT_EQ(str_at(pong, "type"), "pong") << dump(pong);
  EXPECT_EQ(int_at(pong, "timestamp"), 777) << dump(pong);
  const auto sub = next_json(raw);
  EXPECT_EQ(str_at(sub, "type"), "subscribed") << dump(sub);
  EXPECT_EQ(str_at(sub, "channel"), "early") << dump(sub);
}

TEST_F(WsFrames, HalfAFrameWithTheUpgradeRequestIsCompletedByTheNextWrite) {
  RawTcp raw(server_->port());
  const std::string frame = text_frame(ping_json(888));
  ASSERT_TRUE(raw.write(upgrade_request() + frame.substr(0, 9)));
  const auto r = raw.read_http_response();
  ASSERT_EQ(r.status, 101u) << r.describe();
  EXPECT_EQ(str_at(next_json(raw), "type"), "welcome");
  ASSERT_TRUE(raw.write(frame.substr(9)));
  const auto pong = next_json(raw);
  EXPECT_EQ(str_at(pong, "type"), "pong") << dump(pong);
  EXPECT_EQ(int_at(pong, "timestamp"), 888) << dump(pong);
}

// ---- protocol violations -----------------------------------------------------------------

TEST_F(WsFrames, ProtocolViolationsCloseWith1002AndAReasonWhileOthersAreServed) {
  struct Case {
    const char* name;
    std::string bytes;
  };
  const std::string ok = ping_json(1);
  const std::vector<Case> cases = {
      {"unmasked client frame", client_frame(kFin | kText, ok, {.masked = false})},
      {"RSV1 set without an extension", client_frame(kFin | kRsv1 | kText, ok)},
      {"unknown data opcode 3", client_frame(kFin | 0x3, ok)},
      {"unknown control opcode 11", client_frame(kFin | 0xB, "x")},
      {"continuation without a start", client_frame(kFin | kContinuation, ok)},
      {"new text frame inside a fragmented message",
       client_frame(kText, ok.substr(0, 5)) + client_frame(kFin | kText, ok)},
      {"ping with 126 bytes", client_frame(kFin | kPing, std::string(126, 'x'))},
      {"fragmented ping (FIN=0)", client_frame(kPing, "x")},
      {"length 5 in the 16-bit form",
       client_frame(kFin | kText, "hello", {.form = LengthForm::sixteen_bit})},
      {"length 300 in the 64-bit form",
       client_frame(kFin | kText,
                    R"({"type":"ping","timestamp":1,"p":")" + std::string(263, 'p') + "\"}",
                    {.form = LengthForm::sixty_four_bit})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto raw = open_raw();
    ASSERT_TRUE(raw->write(c.bytes));
    std::vector<RawFrame> before;
    const RawFrame f = wait_close_frame(*raw, &before);
    ASSERT_EQ(f.kind, RawFrame::Kind::frame) << "no close frame: " << describe(f);
    EXPECT_EQ(f.close_code(), 1002) << describe(f);
    EXPECT_GT(f.payload.size(), 2u) << "close without a reason: " << describe(f);
    for (const auto& b : before)
      ADD_FAILURE() << "answered before closing: " << describe(b);
    // The server is done sending; TCP ends without the client having to send its close.
    EXPECT_TRUE(raw->wait_eof()) << "TCP still open after the 1002";
    EXPECT_TRUE(bystander_served());
  }
  EXPECT_TRUE(server_serves(server_->port()));
}

TEST_F(WsFrames, HeaderDeclaringTwoMegabytesIsClosedWith1009WithoutThePayload) {
  auto raw = open_raw();
  // 2 MiB declared (default --max-message-bytes is 1 MiB), 1000 bytes sent; the rest never is.
  const std::string part = R"({"type":"publish","channel":"big","data":")" + std::string(958, 'x');
  ASSERT_EQ(part.size(), 1000u);
  std::string frame = client_frame(kFin | kText, part, {.declared = 2u << 20});
  ASSERT_TRUE(raw->write(frame));
  const RawFrame f = wait_close_frame(*raw);
  ASSERT_EQ(f.kind, RawFrame::Kind::frame) << "no close frame: " << describe(f);
  EXPECT_EQ(f.close_code(), 1009) << describe(f);
  EXPECT_TRUE(bystander_served());
  EXPECT_TRUE(server_serves(server_->port()));
}

TEST_F(WsFrames, FragmentsAddingUpToOverTheMaxAreClosedWith1009BeforeTheLastOne) {
  ServerProcess small({"--max-message-bytes", "1000"});
  RawTcp raw(small.port());
  ASSERT_EQ(raw.upgrade().status, 101u);
  EXPECT_EQ(str_at(next_json(raw), "type"), "welcome");
  // 600 + 600 bytes, neither frame final: the sum is over 1000 before any FIN arrives.
  const std::string head = R"({"type":"publish","channel":"f","data":")";
  ASSERT_TRUE(raw.write(client_frame(kText, head + std::string(600 - head.size(), 'x')) +
                        client_frame(kContinuation, std::string(600, 'x'))));
  const RawFrame f = wait_close_frame(raw);
  ASSERT_EQ(f.kind, RawFrame::Kind::frame) << "no close frame: " << describe(f);
  EXPECT_EQ(f.close_code(), 1009) << describe(f);
  EXPECT_TRUE(server_serves(small.port()));
}

// ---- the close handshake -----------------------------------------------------------------

TEST_F(WsFrames, PeerCloseWithACodeIsEchoedThenTcpEnds) {
  auto raw = open_raw();
  ASSERT_TRUE(raw->write(client_frame(kFin | kClose, close_payload(1000, "bye"))));
  const RawFrame f = next_frame(*raw);
  ASSERT_EQ(f.kind, RawFrame::Kind::frame) << describe(f);
  EXPECT_EQ(f.opcode, kClose) << describe(f);
  EXPECT_EQ(f.close_code(), 1000) << describe(f);
  const RawFrame after = raw->read_frame();
  EXPECT_EQ(after.kind, RawFrame::Kind::eof) << "after the close echo: " << describe(after);
}

TEST_F(WsFrames, PeerCloseWithAnotherValidCodeIsEchoedWithThatCode) {
  auto raw = open_raw();
  ASSERT_TRUE(raw->write(client_frame(kFin | kClose, close_payload(4321, "app"))));
  const RawFrame f = next_frame(*raw);
  EXPECT_EQ(f.opcode, kClose) << describe(f);
  EXPECT_EQ(f.close_code(), 4321) << describe(f);
  EXPECT_EQ(raw->read_frame().kind, RawFrame::Kind::eof);
}

TEST_F(WsFrames, EmptyPeerCloseGetsAnEmptyCloseBack) {
  auto raw = open_raw();
  ASSERT_TRUE(raw->write(client_frame(kFin | kClose, "")));
  const RawFrame f = next_frame(*raw);
  ASSERT_EQ(f.kind, RawFrame::Kind::frame) << describe(f);
  EXPECT_EQ(f.opcode, kClose) << describe(f);
  EXPECT_TRUE(f.payload.empty()) << "expected an empty close, got " << describe(f);
  const RawFrame after = raw->read_frame();
  EXPECT_EQ(after.kind, RawFrame::Kind::eof) << "after the close echo: " << describe(after);
}

TEST_F(WsFrames, PeerCloseWithAnInvalidCodeOrPayloadGets1002) {
  struct Case {
    const char* name;
    std::string payload;
  };
  const std::vector<Case> cases = {
      {"1005 on the wire", close_payload(1005)},
      {"1006 on the wire", close_payload(1006)},
      {"999", close_payload(999, "x")},
      {"1004", close_payload(1004)},
      {"2999", close_payload(2999)},
      {"a one-byte payload", std::string(1, '\x03')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto raw = open_raw();
    ASSERT_TRUE(raw->write(client_frame(kFin | kClose, c.payload)));
    const RawFrame f = wait_close_frame(*raw);
    ASSERT_EQ(f.kind, RawFrame::Kind::frame) << "no close frame: " << describe(f);
    EXPECT_EQ(f.close_code(), 1002) << describe(f);
    EXPECT_TRUE(raw->wait_eof()) << "TCP still open after the 1002";
  }
  EXPECT_TRUE(bystander_served());
}

TEST_F(WsFrames, AfterOurCloseDataIsIgnoredAndThePeersCloseEndsTcpPromptly) {
  auto raw = open_raw();
  ASSERT_TRUE(raw->write(client_frame(kFin | kBinary, "\x01\x02")));
  const RawFrame ours = wait_close_frame(*raw);
  ASSERT_EQ(ours.kind, RawFrame::Kind::frame) << describe(ours);
  ASSERT_EQ(ours.close_code(), 1003) << describe(ours);
  const auto got_close = std::chrono::steady_clock::now();

  // A message the client sent before it saw our close: read, and dropped. TCP order makes
  // the close reply a barrier: any answer would arrive before the EOF.
  ASSERT_TRUE(raw->write(text_frame(ping_json(55))));
  ASSERT_TRUE(raw->write(client_frame(kFin | kClose, close_payload(1003))));
  RawFrame after;
  for (;;) {
    after = raw->read_frame();
    if (after.kind != RawFrame::Kind::frame)
      break;
    ADD_FAILURE() << "answered after our close: " << describe(after);
  }
  EXPECT_EQ(after.kind, RawFrame::Kind::eof) << "TCP did not end: " << describe(after);
  // Promptly: the reply ends the handshake, not the server's 3 s close deadline.
  const auto took = std::chrono::steady_clock::now() - got_close;
  EXPECT_LT(took, std::chrono::milliseconds(2000))
      << "TCP ended " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
      << " ms after our close: waited for the deadline instead of the peer's close";
  EXPECT_TRUE(bystander_served());
}

TEST_F(WsFrames, BadCloseAfterOurCloseEndsTcpPromptly) {
  auto raw = open_raw();
  ASSERT_TRUE(raw->write(client_frame(kFin | kBinary, "\x01")));
  const RawFrame ours = wait_close_frame(*raw);
  ASSERT_EQ(ours.close_code(), 1003) << describe(ours);
  const auto got_close = std::chrono::steady_clock::now();
  // The client's reply is unparsable (its reason is not UTF-8): the server cannot see the
  // handshake end, so it must end its side at once instead of waiting for its deadline.
  ASSERT_TRUE(raw->write(client_frame(kFin | kClose, close_payload(1000, "\xff\xfe"))));
  RawFrame after = raw->read_frame();
  while (after.kind == RawFrame::Kind::frame)
    after = raw->read_frame();
  EXPECT_EQ(after.kind, RawFrame::Kind::eof) << describe(after);
  const auto took = std::chrono::steady_clock::now() - got_close;
  EXPECT_LT(took, std::chrono::milliseconds(2000))
      << "TCP ended " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
      << " ms after our close: waited for the 3 s deadline";
  EXPECT_TRUE(bystander_served());
}

// ---- large input and hostile pacing ------------------------------------------------------

TEST_F(WsFrames, MessageOverTheScratchBufferThenASmallOneInOneWriteAreBothAnswered) {
  // 200 KB: more than one 64 KiB read, so the frame is carried across reads and completed
  // behind what came first, with the next frame right behind it.
  auto raw = open_raw();
  const std::string big =
      R"({"type":"ping","timestamp":777,"pad":")" + std::string(200 * 1000, 'b') + "\"}";
  ASSERT_TRUE(raw->write(text_frame(big) + text_frame(ping_json(778))));
  const auto first = next_json(*raw);
  EXPECT_EQ(int_at(first, "timestamp"), 777) << dump(first).substr(0, 200);
  const auto second = next_json(*raw);
  EXPECT_EQ(int_at(second, "timestamp"), 778) << dump(second).substr(0, 200);
  EXPECT_TRUE(bystander_served());
}

TEST_F(WsFrames, PingFloodGetsOnlyTheLatestPongPerWrite) {
  // RFC 6455 §5.5.3: a pong may answer only the most recent ping. A peer that floods pings
  // gets one pong per batch the server reads, not one per ping (which would queue without
  // bound while the peer does not read).
  auto raw = open_raw();
  constexpr int kPings = 20000;
  std::string flood;
  for (int i = 0; i < kPings; ++i)
    flood += client_frame(kFin | kPing, "p" + std::to_string(i));
  flood += text_frame(ping_json(99));  // its JSON pong is on the data lane, after the pongs
  ASSERT_TRUE(raw->write(flood));
  std::vector<std::string> pongs;
  for (;;) {
    const RawFrame f = raw->read_frame();
    ASSERT_EQ(f.kind, RawFrame::Kind::frame) << describe(f);
    if (f.opcode == kPong) {
      pongs.push_back(f.payload);
      continue;
    }
    if (f.opcode == kPing)
      continue;  // the server's heartbeat
    ASSERT_TRUE(is_text(f)) << describe(f);
    EXPECT_EQ(int_at(parse_object(f.payload), "timestamp"), 99) << f.payload;
    break;
  }
  ASSERT_FALSE(pongs.empty()) << "no pong at all";
  EXPECT_LT(pongs.size(), 200u) << "one pong per ping: the control lane is unbounded";
  EXPECT_EQ(pongs.back(), "p" + std::to_string(kPings - 1))
      << "the last pong answers the last ping";
  EXPECT_TRUE(bystander_served());
}

TEST(WsFramesLiveness, TricklingAnUnfinishedFrameDoesNotKeepTheConnectionAlive) {
  // Only whole frames prove life: a peer stuck in the middle of a frame cannot answer pings,
  // and one byte every 50 ms must not reset the missed-heartbeat count.
  ServerProcess server({"--heartbeat-interval", "200", "--heartbeat-timeout", "200",
                        "--max-missed-heartbeats", "2"});
  RawTcp raw(server.port());
  ASSERT_EQ(raw.upgrade().status, 101u);
  ASSERT_TRUE(is_text(raw.read_frame()));  // welcome
  const std::string frame = text_frame(std::string(5000, 't'));
  ASSERT_TRUE(raw.write(frame.substr(0, 20)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t sent = 20;
  RawFrame end;
  while (std::chrono::steady_clock::now() < deadline && sent < frame.size()) {
    ASSERT_TRUE(raw.write(frame.substr(sent++, 1)));
    end = raw.read_frame(std::chrono::milliseconds(50));  // the pacing, and the server's word
    if (end.kind == RawFrame::Kind::eof ||
        (end.kind == RawFrame::Kind::frame && end.opcode == kClose))
      break;
  }
  ASSERT_TRUE(end.kind == RawFrame::Kind::eof ||
              (end.kind == RawFrame::Kind::frame && end.opcode == kClose))
      << "still open after " << sent << " bytes of an unfinished frame: " << describe(end);
  if (end.kind == RawFrame::Kind::frame) {
    EXPECT_EQ(end.close_code(), 4000) << describe(end);
  }
}

// ---- metrics -----------------------------------------------------------------------------

// The server-wide steadyws_messages_in_total from /metrics, or nullopt when absent.
std::optional<std::int64_t> metric_in_total(std::uint16_t port) {
  const auto r = http_get(port, "/metrics");
  if (r.status != 200)
    return std::nullopt;
  const std::string name = "\nsteadyws_messages_in_total ";
  const auto at = r.body.find(name);
  if (at == std::string::npos)
    return std::nullopt;
  return std::stoll(r.body.substr(at + name.size()));
}

TEST_F(WsFrames, FragmentedMessageCountsAsOneMessageReceived) {
  auto raw = open_raw();
  const auto before = metric_in_total(server_->port());
  ASSERT_TRUE(before.has_value()) << "no steadyws_messages_in_total in /metrics";
  const std::string msg = ping_json(99);
  ASSERT_TRUE(raw->write(client_frame(kText, msg.substr(0, 5)) + client_frame(kFin | kPing, "p") +
                         client_frame(kContinuation, msg.substr(5, 5)) +
                         client_frame(kFin | kContinuation, msg.substr(10))));
  const RawFrame pong_frame = next_frame(*raw);
  EXPECT_EQ(pong_frame.opcode, kPong) << describe(pong_frame);
  EXPECT_EQ(int_at(next_json(*raw), "timestamp"), 99);

  const auto after = metric_in_total(server_->port());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after - *before, 1) << "a message in 3 fragments (plus a ping frame) must count once";

  // Per connection, in /api/websocket/metrics: the raw client received exactly one message;
  // the bystander (connected in SetUp, silent since) none.
  const auto r = http_get(server_->port(), "/api/websocket/metrics");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const auto details = r.object().at("connectionDetails").as_array();
  ASSERT_EQ(details.size(), 2u) << r.body;
  std::vector<std::int64_t> counts;
  for (const auto& d : details)
    counts.push_back(int_at(d.as_object(), "messagesReceived").value_or(-1));
  std::sort(counts.begin(), counts.end());
  EXPECT_EQ(counts, (std::vector<std::int64_t>{0, 1})) << r.body;
}

}  // namespace
}  // namespace steadyws::test
