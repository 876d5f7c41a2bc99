// io::run_io_context (src/asio/run_loop.hpp): the loop that outlives a throwing handler.
#include "asio/run_loop.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace steadyws::io {
namespace {

namespace net = boost::asio;

TEST(RunLoop, AThrowingHandlerIsReportedAndTheOthersStillRun) {
  net::io_context ioc;
  std::vector<std::string> ran;
  net::post(ioc, [&] { ran.push_back("first"); });
  net::post(ioc, [] { throw std::runtime_error("boom"); });
  net::post(ioc, [&] { ran.push_back("after"); });
  net::post(ioc, [] { throw 42; });  // not a std::exception
  net::post(ioc, [&] { ran.push_back("last"); });
  std::vector<std::string> reported;
  run_io_context(ioc, [&](std::string_view what) {
    reported.emplace_back(what);
    return true;
  });
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "after", "last"}));
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0], "boom");
  EXPECT_NE(reported[1].find("unknown"), std::string::npos) << reported[1];
  EXPECT_TRUE(ioc.stopped());  // out of work: run() returned, and so did the loop
}

TEST(RunLoop, FalseFromTheReporterEndsTheLoopAtTheThrow) {
  net::io_context ioc;
  int ran = 0;
  net::post(ioc, [] { throw std::logic_error("bug"); });
  net::post(ioc, [&] { ++ran; });
  int reports = 0;
  run_io_context(ioc, [&](std::string_view) {
    ++reports;
    return false;
  });
  EXPECT_EQ(reports, 1);
  EXPECT_EQ(ran, 0);  // the handler behind the throw was left for whoever runs ioc next
  ioc.run();
  EXPECT_EQ(ran, 1);
}

TEST(RunLoop, NoThrowNoReport) {
  net::io_context ioc;
  int ran = 0;
  for (int i = 0; i < 3; ++i)
    net::post(ioc, [&] { ++ran; });
  int reports = 0;
  run_io_context(ioc, [&](std::string_view) { return ++reports, true; });
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(reports, 0);
}

}  // namespace
}  // namespace steadyws::io
