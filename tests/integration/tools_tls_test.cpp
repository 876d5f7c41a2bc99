// `steadyws check`, `steadyws soak` and `steadyws bench herd` over wss:// (CONTRACT §6), black
// box: the real binary against a real TLS server with certificates the test makes
// (support/test_pki.hpp). Each tool connects and verifies the chain and host name with
// --ca-file; a wrong host name or an untrusted CA is refused with an error naming the reason;
// --insecure connects anyway and says so on stderr. No throughput goals: short runs, counts.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/run_steadyws.hpp"
#include "support/server_process.hpp"
#include "support/test_pki.hpp"

namespace steadyws::test {
namespace {

namespace json = boost::json;

// A tool's run with its stderr kept (run_steadyws discards it): the --insecure warning and the
// refusal reasons are written there.
struct Run : ToolRun {
  std::string err;

  // check: the status of the scenario row `name`, or "missing".
  std::string status(const std::string& name) const {
    if (const auto* s = report.if_contains("scenarios"); s != nullptr && s->is_array())
      for (const auto& r : s->as_array())
        if (r.as_object().at("name").as_string() == name)
          return std::string(r.as_object().at("status").as_string());
    return "missing";
  }
  std::string detail(const std::string& name) const {
    if (const auto* s = report.if_contains("scenarios"); s != nullptr && s->is_array())
      for (const auto& r : s->as_array())
        if (r.as_object().at("name").as_string() == name)
          return std::string(r.as_object().at("detail").as_string());
    return {};
  }
};

// Runs `steadyws ARGS...` with stdout parsed as run_steadyws does and stderr into a file.
Run run_tool(const std::vector<std::string>& args) {
  char tmpl[] = "/tmp/steadyws-tools-tls-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd >= 0)
    ::close(fd);
  const std::string err_path = tmpl;
  Run r;
  static_cast<ToolRun&>(r) = run_steadyws("", args, "2>" + err_path + " #");
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  ::unlink(err_path.c_str());
  return r;
}

std::string wss_url(const ServerProcess& s, const std::string& host = "127.0.0.1") {
  return "wss://" + host + ":" + std::to_string(s.port()) + "/ws";
}

std::vector<std::string> tls_args(const TestPki::Pair& p) {
  return {"--tls-cert", p.cert, "--tls-key", p.key, "--log-level", "warn"};
}

std::int64_t number_at(const json::object& o, const char* key) {
  return o.at(key).to_number<std::int64_t>();
}

// Small counts so that every scenario runs in a few seconds; what is asserted is pass/skip.
const std::vector<std::string> kShortCheck{"--json",
                                           "--quiet",
                                           "--duration",
                                           "2",
                                           "--disconnects",
                                           "2",
                                           "--messages",
                                           "400",
                                           "--latency-samples",
                                           "40",
                                           "--continuity-messages",
                                           "60",
                                           "--continuity-disconnects",
                                           "1",
                                           "--memory-connections",
                                           "20"};

TEST(ToolsTls, CheckOverWssPassesEveryScenarioThatApplies) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x2001)));
  // By name: the proxy listens on the loopback address `localhost` resolves to and the probes
  // behind it verify the certificate for `localhost` (its DNS SAN).
  std::vector<std::string> args{"check", wss_url(server, "localhost"), "--ca-file", pki.ca_file()};
  args.insert(args.end(), kShortCheck.begin(), kShortCheck.end());
  const auto r = run_tool(args);
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(r.report.at("proxy").as_bool());
  for (const char* name : {"basic-connectivity", "latency", "high-frequency-messaging",
                           "connection-stability", "reconnection-resilience", "message-continuity",
                           "half-open-detection", "memory-per-connection"})
    EXPECT_EQ(r.status(name), "pass") << name << ": " << r.out;
  // The proxy forwards TLS as is: it cannot block the upgrade inside it.
  EXPECT_EQ(r.status("fallback-activation"), "skip") << r.out;
  EXPECT_NE(r.detail("fallback-activation").find("TLS"), std::string::npos) << r.out;
  EXPECT_NE(r.detail("memory-per-connection").find("idle TLS connections"), std::string::npos)
      << r.out;
  EXPECT_TRUE(server.running()) << server.stderr_tail();
}

TEST(ToolsTls, CheckWithoutTheProxyUsesTheAdminApiOverHttps) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("server", 0x2002)));
  const auto r =
      run_tool({"check", wss_url(server), "--ca-file", pki.ca_file(), "--json", "--quiet",
                "--no-proxy", "--scenario", "reconnection-resilience", "--disconnects", "2"});
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.status("reconnection-resilience"), "pass") << r.out;
  EXPECT_NE(r.detail("reconnection-resilience").find("POST /api/admin/disconnect"),
            std::string::npos)
      << r.out;
}

TEST(ToolsTls, CheckRefusesAWrongHostNameAndAnUntrustedCaNamingWhy) {
  TestPki pki;
  {
    ServerProcess server(tls_args(pki.server("wrong", 0x2003, "DNS:wrong.example")));
    const auto r = run_tool({"check", wss_url(server, "localhost"), "--ca-file", pki.ca_file(),
                             "--json", "--quiet", "--scenario", "basic-connectivity"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(r.status("basic-connectivity"), "fail") << r.out;
    EXPECT_NE(r.detail("basic-connectivity").find("hostname mismatch"), std::string::npos) << r.out;
  }
  {
    ServerProcess server(
        tls_args(pki.server("stranger", 0x2004, "IP:127.0.0.1", -60, 86400, true)));
    const auto r = run_tool({"check", wss_url(server), "--ca-file", pki.ca_file(), "--json",
                             "--quiet", "--scenario", "basic-connectivity"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.detail("basic-connectivity").find("unable to get local issuer certificate"),
              std::string::npos)
        << r.out;
  }
}

TEST(ToolsTls, CheckInsecureConnectsToAnUntrustedServerAndSaysSo) {
  TestPki pki;
  ServerProcess server(
      tls_args(pki.server("stranger", 0x2005, "DNS:wrong.example", -60, 86400, true)));
  const auto r = run_tool({"check", wss_url(server), "--insecure", "--json", "--quiet",
                           "--scenario", "basic-connectivity"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.status("basic-connectivity"), "pass") << r.out;
  EXPECT_NE(r.err.find("--insecure"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NOT verified"), std::string::npos) << r.err;
}

std::vector<std::string> short_soak(const ServerProcess& server, const std::string& host) {
  return {"soak",      "--url",      wss_url(server, host),
          "--clients", "24",         "--publishers",
          "2",         "--channels", "2",
          "--rate",    "20",         "--duration",
          "3",         "--json",     "--no-progress"};
}

TEST(ToolsTls, SoakOverWssThroughProxyFaultsConnectsEveryClientAndDeliversEverything) {
  // The proxy forwards TLS unchanged: its resets (seed 3 picks resets first) cut TLS links,
  // and the clients come back over TLS, verifying the certificate for `localhost` each time.
  TestPki pki;
  auto server_args = tls_args(pki.server("server", 0x2006));
  server_args.insert(server_args.end(), {"--history", "300"});
  ServerProcess server(server_args);
  auto args = short_soak(server, "localhost");
  args.insert(args.end(),
              {"--ca-file", pki.ca_file(), "--faults", "--fault-interval", "1", "--seed", "3",
               "--reconnect-interval", "300", "--jitter", "200", "--history", "300"});
  const auto r = run_tool(args);
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(r.report.at("tls").as_bool());
  EXPECT_EQ(r.report.at("verdict").as_string(), "pass") << r.out;
  const auto& errors = r.report.at("errors").as_object();
  EXPECT_EQ(number_at(errors, "total"), 0) << r.out;
  EXPECT_EQ(number_at(errors, "not_subscribed"), 0) << r.out;  // all 22 subscribers connected
  EXPECT_GT(number_at(r.report, "published"), 0) << r.out;
  // Every subscriber got every message once: 11 per channel.
  EXPECT_EQ(number_at(r.report, "deliveries"), number_at(r.report, "published") * 11) << r.out;
  EXPECT_GT(number_at(r.report.at("faults").as_object(), "resets"), 0) << r.out;
  EXPECT_GT(number_at(r.report, "reconnects"), 0) << r.out;
}

TEST(ToolsTls, SoakRefusesAnUntrustedServerBeforeItStartsAndInsecureSaysSo) {
  TestPki pki;
  ServerProcess server(tls_args(pki.server("stranger", 0x2007, "IP:127.0.0.1", -60, 86400, true)));
  auto refused = short_soak(server, "127.0.0.1");
  refused.insert(refused.end(), {"--ca-file", pki.ca_file()});
  const auto r = run_tool(refused);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("unable to get local issuer certificate"), std::string::npos) << r.err;

  auto insecure = short_soak(server, "127.0.0.1");
  insecure.push_back("--insecure");
  const auto ok = run_tool(insecure);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.err.find("--insecure"), std::string::npos) << ok.err;
}

// `bench herd --tls`: it starts the TLS server itself ({port}: the same port on restarts).
std::vector<std::string> herd_args(const TestPki::Pair& cert) {
  const std::string cmd = std::string(kDefaultBinary) +
                          " serve --host 127.0.0.1 --port {port} --threads 1 --log-level warn"
                          " --tls-cert " +
                          cert.cert + " --tls-key " + cert.key;
  return {"bench", "herd",          "--tls", "--clients", "20",           "--server-cmd",
          cmd,     "--jitter-mode", "full",  "--cut",     "kill",         "--reconnect-interval",
          "200",   "--timeout",     "20",    "--json",    "--no-progress"};
}

TEST(ToolsTls, HerdOverWssComesBackAfterAKill) {
  TestPki pki;
  auto args = herd_args(pki.server("server", 0x2008));
  args.insert(args.end(), {"--ca-file", pki.ca_file(), "--server-name", "localhost"});
  const auto r = run_tool(args);
  ASSERT_FALSE(r.report.empty()) << "not JSON: " << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(r.report.at("tls").as_bool());
  EXPECT_EQ(number_at(r.report.at("errors").as_object(), "total"), 0) << r.out;
  const auto& cases = r.report.at("cases").as_array();
  ASSERT_EQ(cases.size(), 1u) << r.out;
  EXPECT_EQ(number_at(cases[0].as_object(), "back"), 20) << r.out;
}

TEST(ToolsTls, HerdRefusesAWrongServerNameAndInsecureSaysSo) {
  TestPki pki;
  const auto cert = pki.server("server", 0x2009);
  auto wrong = herd_args(cert);
  wrong.insert(wrong.end(), {"--ca-file", pki.ca_file(), "--server-name", "wrong.example"});
  const auto r = run_tool(wrong);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("hostname mismatch"), std::string::npos) << r.err;

  auto insecure = herd_args(cert);
  insecure.insert(insecure.end(), {"--insecure", "--server-name", "wrong.example"});
  const auto ok = run_tool(insecure);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.err.find("--insecure"), std::string::npos) << ok.err;
}

}  // namespace
}  // namespace steadyws::test
