// CONTRACT §10: the C++ client and `steadyws connect` offer Sec-WebSocket-Protocol
// steadyws.v1, and the server selects it (its `ws open` log line names the protocol).
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "client_support.hpp"
#include "process_support.hpp"

namespace steadyws::test {
namespace {

using namespace std::chrono_literals;

bool server_logged_v1(const ServerProcess& s) {
  return s.stderr_text().find("protocol=steadyws.v1") != std::string::npos;
}

TEST(ClientSubprotocol, LibraryClientOffersV1) {
  ServerProcess server;
  ASSERT_FALSE(server_logged_v1(server));
  Client c(test_options({ws_url(server)}));
  c.connect();
  ASSERT_TRUE(wait_until([&] { return c.is_connected(); }));
  EXPECT_TRUE(wait_until([&] { return server_logged_v1(server); })) << server.stderr_tail();
}

TEST(ClientSubprotocol, ConnectCliOffersV1) {
  ServerProcess server;
  CliProcess cli({"connect", ws_url(server), "--no-fallback"});
  EXPECT_TRUE(wait_until([&] { return server_logged_v1(server); }, 10s))
      << server.stderr_tail() << "\n"
      << cli.stderr_text();
}

}  // namespace
}  // namespace steadyws::test
