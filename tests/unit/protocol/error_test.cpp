// steadyws::errc: wire spelling, HTTP status, Boost.System registration and the inverse
// lookup the client uses on a server's error frame.
#include "steadyws/error.hpp"

#include <string>

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

namespace steadyws {
namespace {

struct Row {
  errc code;
  const char* wire;
  unsigned status;
};

constexpr Row kRows[] = {
    {errc::bad_json, "bad_json", 400},         {errc::bad_message, "bad_message", 400},
    {errc::too_large, "too_large", 413},       {errc::rate_limited, "rate_limited", 429},
    {errc::unauthorized, "unauthorized", 401}, {errc::internal, "internal", 500},
    {errc::forbidden, "forbidden", 403},
};

TEST(Error, WireSpellingAndHttpStatusTable) {
  for (const Row& row : kRows) {
    EXPECT_EQ(to_string(row.code), row.wire);
    EXPECT_EQ(http_status(row.code), row.status) << row.wire;
  }
}

TEST(Error, FromStringIsTheInverseOfToString) {
  for (const Row& row : kRows) {
    EXPECT_EQ(errc_from_string(row.wire), row.code);
  }
  EXPECT_EQ(errc_from_string(""), std::nullopt);
  EXPECT_EQ(errc_from_string("BAD_JSON"), std::nullopt);
  EXPECT_EQ(errc_from_string("bad_json "), std::nullopt);
}

TEST(Error, RegisteredWithBoostSystem) {
  const boost::system::error_code ec = errc::too_large;  // implicit: is_error_code_enum
  EXPECT_EQ(ec.value(), static_cast<int>(errc::too_large));
  EXPECT_EQ(&ec.category(), &steadyws_category());
  EXPECT_STREQ(ec.category().name(), "steadyws");
  EXPECT_EQ(ec.message(), "too_large");
  EXPECT_TRUE(ec == errc::too_large);
  EXPECT_FALSE(ec == errc::bad_json);
  EXPECT_TRUE(static_cast<bool>(ec));
  const boost::system::system_error thrown(make_error_code(errc::unauthorized), "token");
  EXPECT_EQ(thrown.code(), errc::unauthorized);
}

TEST(Error, CodesStartAtOneSoNoneIsSuccess) {
  for (const Row& row : kRows) {
    EXPECT_NE(static_cast<int>(row.code), 0) << row.wire;
  }
}

TEST(Error, CloseCodesMatchTheContract) {
  EXPECT_EQ(static_cast<unsigned>(CloseCode::going_away), 1001u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::unsupported_data), 1003u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::invalid_payload), 1007u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::policy_violation), 1008u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::message_too_big), 1009u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::internal_error), 1011u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::heartbeat_timeout), 4000u);
  EXPECT_EQ(static_cast<unsigned>(CloseCode::slow_consumer), 4001u);
}

}  // namespace
}  // namespace steadyws
