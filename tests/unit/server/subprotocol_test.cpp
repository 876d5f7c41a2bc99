#include "server/subprotocol.hpp"

#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace steadyws::server {
namespace {

using Kind = SubprotocolChoice::Kind;

SubprotocolChoice choose(std::vector<std::string_view> offers) {
  return choose_subprotocol(offers);
}

TEST(Subprotocol, NothingOfferedIsV1WithoutSelection) {
  EXPECT_EQ(choose({}).kind, Kind::none);
  EXPECT_EQ(choose({""}).kind, Kind::none);
  EXPECT_EQ(choose({" , ,"}).kind, Kind::none);
}

TEST(Subprotocol, SelectsV1WhenOffered) {
  struct Case {
    std::vector<std::string_view> offers;
  };
  const Case cases[] = {
      {{"steadyws.v1"}},
      {{"steadyws.v2, steadyws.v1"}},
      {{" chat ,steadyws.v1 "}},
      {{"chat", "steadyws.v1"}},  // two header lines
  };
  for (const auto& c : cases) {
    const auto r = choose(c.offers);
    EXPECT_EQ(r.kind, Kind::selected) << c.offers.front();
    EXPECT_EQ(r.name, "steadyws.v1");
  }
}

TEST(Subprotocol, UnknownVersionsOnlyAreRefusedNamingWhatWeSpeak) {
  for (const auto& offers : std::vector<std::vector<std::string_view>>{
           {"steadyws.v2"}, {"steadyws.v9, mqtt"}, {"STEADYWS.V1"}, {"steadyws.v1x"}}) {
    const auto r = choose(offers);
    EXPECT_EQ(r.kind, Kind::unsupported) << offers.front();
    EXPECT_NE(r.message.find("steadyws.v1"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(std::string(offers.front().substr(0, 5))), std::string::npos)
        << "names what was offered: " << r.message;
  }
}

TEST(Subprotocol, RefusalMessageStaysShortForAHugeOffer) {
  const std::string big(10000, 'x');
  std::string many;
  for (int i = 0; i < 200; ++i)
    many += "v" + std::to_string(i) + ",";
  const auto a = choose({big});
  const auto b = choose({many});
  EXPECT_EQ(a.kind, Kind::unsupported);
  EXPECT_LT(a.message.size(), 500u);
  EXPECT_LT(b.message.size(), 500u);
}

TEST(Subprotocol, SupportedListNamesV1) {
  EXPECT_EQ(supported_subprotocols(), "steadyws.v1");
}

}  // namespace
}  // namespace steadyws::server
