// hub::Frame: the serialized text reads as before, and its permessage-deflate form is built
// once per window size and shared (the same bytes, the same object, for every caller, from
// any thread), and inflates back to the text.
#include "hub/frame.hpp"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/permessage_deflate.hpp"

namespace steadyws::hub {
namespace {

std::string sample() {
  std::string s = R"({"type":"message","channel":"c","seq":1,"data":[)";
  for (int i = 0; i < 100; ++i)
    s += R"({"id":)" + std::to_string(i) + R"(,"name":"item"},)";
  s += "0]}";
  return s;
}

TEST(HubFrame, IsItsTextAndDeflatesOncePerWindowSize) {
  const std::string text = sample();
  const Frame f = make_frame(std::string(text));
  EXPECT_EQ(*f, text);
  const std::string* a = f->deflated(15);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(f->deflated(15), a) << "the second subscriber gets the same bytes";
  EXPECT_LT(a->size(), text.size() / 3);
  std::string back;
  ASSERT_EQ(protocol::inflate_message(*a, back, 0), protocol::InflateResult::ok);
  EXPECT_EQ(back, text);
  const std::string* b = f->deflated(10);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(b, a);
  back.clear();
  ASSERT_EQ(protocol::inflate_message(*b, back, 0), protocol::InflateResult::ok);
  EXPECT_EQ(back, text);
}

TEST(HubFrame, ConcurrentCallersAllSeeOneResult) {
  const Frame f = make_frame(sample());
  std::vector<const std::string*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&, i] { seen[i] = f->deflated(15); });
  for (auto& t : threads)
    t.join();
  for (const auto* p : seen)
    EXPECT_EQ(p, seen[0]);
  ASSERT_NE(seen[0], nullptr);
}

}  // namespace
}  // namespace steadyws::hub
