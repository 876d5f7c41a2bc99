// The C++ client resumes its session (CONTRACT §8): after a dropped link it dials with
// ?session=ID&resume=TOKEN from its last welcome, gets the same session back, and loses and
// doubles nothing although the resumed subscription's live messages may overtake the answer
// to its own subscribe with since.
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

// The ids of the sessions subscribed to `channel`, and whether each is connected.
std::vector<std::pair<std::string, bool>> sessions_on(std::uint16_t port,
                                                      const std::string& channel) {
  std::vector<std::pair<std::string, bool>> out;
  const auto r = http_call(port, boost::beast::http::verb::get, "/api/sessions");
  const auto v = boost::json::parse(r.body);
  for (const auto& s : v.at("sessions").as_array()) {
    const auto& o = s.as_object();
    for (const auto& c : o.at("subscriptions").as_array())
      if (c.is_string() && c.as_string() == channel)
        out.emplace_back(std::string(o.at("sessionId").as_string()), o.at("connected").as_bool());
  }
  return out;
}

TEST(ClientSession, ADroppedLinkResumesTheSameSessionAndLosesNothingUnderLiveTraffic) {
  ServerProcess server;
  Recorder rec;
  auto o = test_options({ws_url(server)});
  rec.attach(o);
  Client c(o);
  c.subscribe("rs");
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
  std::int64_t n = 0;
  const auto publish_next = [&] {
    ++n;
    server_publish(server.port(), "rs", n, "rs-" + std::to_string(n));
  };
  // Subscribed once the first message arrives; the ones published before the server took the
  // subscribe are not the client's to receive, so the count starts at the first one it got.
  ASSERT_TRUE(wait_until([&] {
    publish_next();
    return rec.payload_count() > 0;
  }));
  const std::int64_t first = rec.payload_numbers().front();
  const auto before = sessions_on(server.port(), "rs");
  ASSERT_EQ(before.size(), 1u);
  const std::string id = before[0].first;

  // Drop its WebSocket the way a network failure would, and keep publishing meanwhile, so
  // messages are live on the resumed session while the client asks for its replay.
  const auto r = http_call(server.port(), boost::beast::http::verb::post,
                           "/api/admin/disconnect?session=" + id);
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_TRUE(wait_until(
      [&] {
        publish_next();
        return rec.connects() >= 2 && c.is_connected();
      },
      15s));
  for (int i = 0; i < 50; ++i)
    publish_next();

  const auto expected = static_cast<std::size_t>(n - first + 1);
  ASSERT_TRUE(wait_until([&] { return rec.payload_count() >= expected; }, 15s))
      << rec.payload_count() << " of " << expected << " (" << first << " to " << n << ")";
  EXPECT_EQ(rec.payload_numbers(), iota_numbers(first, n))
      << "every message once, in order, across the resume";
  const auto after = sessions_on(server.port(), "rs");
  ASSERT_EQ(after.size(), 1u) << "the same session, not a second one";
  EXPECT_EQ(after[0].first, id) << "resumed with its token";
  EXPECT_TRUE(after[0].second);
}

}  // namespace
}  // namespace steadyws::test
