#include "server/routes.hpp"

#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

TEST(Routes, MapsEveryContractPath) {
  EXPECT_EQ(route_of("/ws"), Route::ws);
  EXPECT_EQ(route_of("/api/health"), Route::health);
  EXPECT_EQ(route_of("/api/websocket/metrics"), Route::metrics_json);
  EXPECT_EQ(route_of("/api/sessions"), Route::sessions);
  EXPECT_EQ(route_of("/api/poll"), Route::poll);
  EXPECT_EQ(route_of("/api/publish"), Route::publish);
  EXPECT_EQ(route_of("/api/ping"), Route::ping);
  EXPECT_EQ(route_of("/api/admin/disconnect"), Route::admin_disconnect);
  EXPECT_EQ(route_of("/metrics"), Route::prometheus);
  EXPECT_EQ(route_of("/"), Route::dashboard);
  EXPECT_EQ(route_of("/reliability-test"), Route::reliability_page);
  EXPECT_EQ(route_of("/api/nope"), Route::not_found);
  EXPECT_EQ(route_of("/ws/"), Route::not_found);
}

TEST(Routes, WrongMethodIsRefusedWithTheAllowedOne) {
  EXPECT_FALSE(method_allowed(Route::publish, Method::get));
  EXPECT_EQ(allowed_methods(Route::publish), "POST");
  EXPECT_FALSE(method_allowed(Route::health, Method::post));
  EXPECT_TRUE(method_allowed(Route::health, Method::head));
  EXPECT_FALSE(method_allowed(Route::ws, Method::head));
  EXPECT_TRUE(method_allowed(Route::not_found, Method::other)) << "404 wins over 405";
}

TEST(Routes, TokenGuardsApiAndWsOnly) {
  EXPECT_TRUE(needs_token(Route::ws));
  EXPECT_TRUE(needs_token(Route::poll));
  EXPECT_TRUE(needs_token(Route::admin_disconnect));
  EXPECT_FALSE(needs_token(Route::dashboard));
  EXPECT_FALSE(needs_token(Route::prometheus));
}

TEST(Routes, ParsesTargetWithDecodedParams) {
  auto t = parse_target("/api/poll?channel=a%3Ab&since=3&flag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/api/poll");
  ASSERT_EQ(t->params.size(), 3u);
  EXPECT_EQ(*t->get("channel"), "a:b");
  EXPECT_EQ(*t->get("flag"), "");
  EXPECT_FALSE(t->get("missing"));
  EXPECT_FALSE(parse_target("not a target"));
}

TEST(Routes, TokenFromBearerHeaderOrQuery) {
  auto t = *parse_target("/ws?token=q");
  EXPECT_EQ(*request_token("Bearer h", t), "h");
  EXPECT_EQ(*request_token("bearer h", t), "h");
  EXPECT_EQ(*request_token("", t), "q");
  EXPECT_FALSE(request_token("Basic xyz", *parse_target("/ws")));
  EXPECT_TRUE(token_ok("", std::nullopt));
  EXPECT_TRUE(token_ok("s3cret", std::string("s3cret")));
  EXPECT_FALSE(token_ok("s3cret", std::string("s3cre")));
  EXPECT_FALSE(token_ok("s3cret", std::string("s3creT")));
  EXPECT_FALSE(token_ok("s3cret", std::nullopt));
}

TEST(Routes, OriginCheck) {
  EXPECT_TRUE(origin_allowed({}, "https://evil.example"));
  const std::vector<std::string> allowed{"https://app.example"};
  EXPECT_TRUE(origin_allowed(allowed, "https://APP.example"));
  EXPECT_FALSE(origin_allowed(allowed, "https://evil.example"));
  EXPECT_TRUE(origin_allowed(allowed, "")) << "no Origin: not a browser";
}

TEST(Routes, PollPairsSinceAndEpochWithTheChannelBefore) {
  auto p = parse_poll(*parse_target("/api/poll?channel=a&since=4&epoch=E&channel=b&timeout=100"));
  ASSERT_TRUE(p.request) << p.error;
  ASSERT_EQ(p.request->channels.size(), 2u);
  EXPECT_EQ(p.request->channels[0].channel, "a");
  EXPECT_EQ(*p.request->channels[0].since, 4u);
  EXPECT_EQ(*p.request->channels[0].epoch, "E");
  EXPECT_EQ(p.request->channels[1].channel, "b");
  EXPECT_FALSE(p.request->channels[1].since);
  EXPECT_EQ(p.request->timeout, std::chrono::milliseconds(100));
}

TEST(Routes, PollTimeoutDefaultsAndCaps) {
  auto d = parse_poll(*parse_target("/api/poll?channel=a"));
  EXPECT_EQ(d.request->timeout, std::chrono::milliseconds(25000));
  auto c = parse_poll(*parse_target("/api/poll?channel=a&timeout=999999"));
  EXPECT_EQ(c.request->timeout, std::chrono::milliseconds(60000));
}

TEST(Routes, PollRefusesBadInputWithAHint) {
  EXPECT_FALSE(parse_poll(*parse_target("/api/poll")).request);
  EXPECT_FALSE(parse_poll(*parse_target("/api/poll?since=1&channel=a")).request);
  EXPECT_FALSE(parse_poll(*parse_target("/api/poll?channel=a&since=-1")).request);
  EXPECT_FALSE(parse_poll(*parse_target("/api/poll?channel=a&since=1x")).request);
  const auto bad = parse_poll(*parse_target("/api/poll?channel=a%20b"));
  EXPECT_FALSE(bad.request);
  EXPECT_NE(bad.error.find("A-Z"), std::string::npos);
}

TEST(Routes, RetryAfterSpreadsEvenly) {
  using std::chrono::milliseconds;
  EXPECT_EQ(retry_after_ms(0, 4, milliseconds(5000)), 0);
  EXPECT_EQ(retry_after_ms(1, 4, milliseconds(5000)), 1250);
  EXPECT_EQ(retry_after_ms(3, 4, milliseconds(5000)), 3750);
  EXPECT_EQ(retry_after_ms(1, 3, milliseconds(1000)), 333);
  EXPECT_EQ(retry_after_ms(2, 3, milliseconds(1000)), 667) << "rounded, not truncated";
  EXPECT_EQ(retry_after_ms(0, 0, milliseconds(1000)), 0);
}

TEST(Routes, ErrorBodyShape) {
  EXPECT_EQ(error_body("not_found", "no such \"x\""),
            R"({"error":"not_found","message":"no such \"x\""})");
}

}  // namespace
}  // namespace steadyws::server
