// `steadyws connect` as a real process against a real server (CONTRACT §1): messages published
// with POST /api/publish come out on stdout as JSON lines, one message object each, in order;
// --events writes state (from/to/reason/time) and reconnect_attempt lines on stderr, and a
// server restart shows up there; a stdin line is published (another subscriber gets it); stdin
// EOF exits 0 once everything is acked. A bad flag or URL is a clear error and a non-zero exit.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// The complete lines of `text` parsed as JSON objects; a line that is not one fails the test
// (and is skipped).
std::vector<json::object> json_lines(const std::string& text) {
  std::vector<json::object> out;
  for (const auto& line : CliProcess::lines(text)) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    EXPECT_TRUE(!ec && v.is_object()) << "not a JSON object line: " << line;
    if (!ec && v.is_object())
      out.push_back(std::move(v.as_object()));
  }
  return out;
}

std::vector<json::object> events(const CliProcess& cli, const std::string& kind) {
  std::vector<json::object> out;
  for (auto& e : json_lines(cli.stderr_text())) {
    if (e.at("event").as_string() == kind)
      out.push_back(std::move(e));
  }
  return out;
}

int connected_events(const CliProcess& cli) {
  int n = 0;
  for (const auto& e : events(cli, "state"))
    n += e.at("to").as_string() == "connected" ? 1 : 0;
  return n;
}

// The data.n of every stdout message line, in order.
std::vector<std::int64_t> stdout_numbers(const CliProcess& cli) {
  std::vector<std::int64_t> out;
  for (const auto& m : json_lines(cli.stdout_text()))
    out.push_back(m.at("data").as_object().at("n").to_number<std::int64_t>());
  return out;
}

TEST(ConnectCli, StdoutMessagesStderrEventsStdinPublishesAcrossARestart) {
  ServerProcess server;
  CliProcess cli({"connect", ws_url(server), "--channel", "c", "--events", "--reconnect-interval",
                  "100", "--max-backoff-delay", "400", "--jitter", "0", "--max-reconnect-attempts",
                  "0", "--no-fallback", "--heartbeat-interval", "500"});
  ASSERT_TRUE(wait_until([&] { return connected_events(cli) == 1; }, 10s)) << cli.stderr_text();
  int probe = 0;
  ASSERT_TRUE(wait_until([&] {
    server_publish(server.port(), "c", 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return !cli.stdout_text().empty(); }, 300ms);
  })) << cli.stderr_text();

  for (int n = 1; n <= 20; ++n)
    server_publish(server.port(), "c", n, "m-" + std::to_string(n));
  ASSERT_TRUE(wait_until([&] { return stdout_numbers(cli).size() >= 21; }));
  {
    auto nums = stdout_numbers(cli);
    std::erase(nums, 0);
    EXPECT_EQ(nums, iota_numbers(1, 20));
    // Each line is the message object as the server sent it.
    const auto lines = json_lines(cli.stdout_text());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      EXPECT_EQ(lines[i].at("type").as_string(), "message");
      EXPECT_EQ(lines[i].at("channel").as_string(), "c");
      EXPECT_TRUE(lines[i].at("timestamp").is_number());
      if (i > 0) {
        EXPECT_EQ(lines[i].at("seq").to_number<std::int64_t>(),
                  lines[i - 1].at("seq").to_number<std::int64_t>() + 1);
      }
    }
  }

  // A stdin line is published: another subscriber (a library client) receives it.
  Recorder other_rec;
  auto oo = test_options({ws_url(server)});
  other_rec.attach(oo);
  Client other(oo);
  other.subscribe("c");
  other.connect();
  ASSERT_TRUE(wait_until([&] {
    server_publish(server.port(), "c", 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return other_rec.message_count() > 0; }, 300ms);
  }));
  cli.write_line(R"({"n":1000})");
  ASSERT_TRUE(wait_until([&] {
    const auto nums = other_rec.numbers();
    return std::find(nums.begin(), nums.end(), 1000) != nums.end();
  })) << cli.stderr_text();

  // The server dies and comes back on the same port: events on stderr, then messages again.
  server.kill();
  ASSERT_TRUE(wait_until([&] { return !events(cli, "reconnect_attempt").empty(); }, 5s))
      << cli.stderr_text();
  server.restart();
  ASSERT_TRUE(wait_until([&] { return connected_events(cli) == 2; }, 10s)) << cli.stderr_text();
  const auto before = stdout_numbers(cli).size();
  ASSERT_TRUE(wait_until([&] {
    server_publish(server.port(), "c", 0, "probe-" + std::to_string(++probe));
    return wait_until([&] { return stdout_numbers(cli).size() > before; }, 300ms);
  }));
  for (int n = 21; n <= 30; ++n)
    server_publish(server.port(), "c", n, "m-" + std::to_string(n));
  ASSERT_TRUE(wait_until([&] {
    const auto nums = stdout_numbers(cli);
    return !nums.empty() && nums.back() == 30;
  }));
  {
    auto nums = stdout_numbers(cli);
    std::erase(nums, 0);
    std::erase(nums, 1000);
    EXPECT_EQ(nums, iota_numbers(1, 30));
  }

  // Every stderr line is an event object; the state events carry from/to/reason/time.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto states = events(cli, "state");
  ASSERT_GE(states.size(), 4u);
  for (const auto& s : states) {
    EXPECT_TRUE(s.at("from").is_string());
    EXPECT_TRUE(s.at("to").is_string());
    EXPECT_FALSE(s.at("reason").as_string().empty()) << json::serialize(s);
    const auto t = s.at("time").to_number<std::int64_t>();
    EXPECT_LE(now_ms - t, 60000);
    EXPECT_GE(now_ms - t, 0);
  }
  // The kill: connected -> error (or disconnected), then reconnecting, then connected.
  bool lost = false;
  for (const auto& s : states)
    lost = lost || (s.at("from").as_string() == "connected" && s.at("to").as_string() != "closed");
  EXPECT_TRUE(lost);
  const auto attempts = events(cli, "reconnect_attempt");
  ASSERT_FALSE(attempts.empty());
  EXPECT_EQ(attempts.front().at("attempt").to_number<int>(), 1);
  EXPECT_EQ(attempts.front().at("delay").to_number<int>(), 100);
  // The restart lost the history: said so, never hidden.
  const auto recovered = events(cli, "recovered");
  ASSERT_FALSE(recovered.empty());
  EXPECT_EQ(recovered.front().at("channel").as_string(), "c");
  EXPECT_FALSE(recovered.front().at("recovered").as_bool());

  // stdin EOF: exit 0 once every publish is acked, and the last state is closed.
  cli.close_stdin();
  const auto status = cli.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << status->describe() << "\n" << cli.stderr_text();
  EXPECT_EQ(events(cli, "state").back().at("to").as_string(), "closed");
}

TEST(ConnectCli, BadFlagIsAClearErrorAndNonZeroExit) {
  CliProcess cli({"connect", "ws://127.0.0.1:1/ws", "--no-such-flag"});
  const auto status = cli.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->exited);
  EXPECT_NE(status->code, 0);
  const std::string err = cli.stderr_text() + cli.stdout_text();
  EXPECT_NE(err.find("--no-such-flag"), std::string::npos) << err;

  CliProcess negative({"connect", "ws://127.0.0.1:1/ws", "--heartbeat-interval", "-5"});
  const auto s2 = negative.wait_exit(10s);
  ASSERT_TRUE(s2.has_value());
  EXPECT_NE(s2->code, 0);
  const std::string err2 = negative.stderr_text() + negative.stdout_text();
  EXPECT_NE(err2.find("--heartbeat-interval"), std::string::npos) << err2;
}

TEST(ConnectCli, UnsupportedUrlExitsOneWithAMessage) {
  CliProcess cli({"connect", "ftp://127.0.0.1:1/ws"});
  const auto status = cli.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->exited);
  EXPECT_EQ(status->code, 1);
  const std::string err = cli.stderr_text();
  EXPECT_NE(err.find("ws://"), std::string::npos) << err;
}

}  // namespace
}  // namespace steadyws::test
