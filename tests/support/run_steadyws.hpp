// Runs the real `steadyws` binary as a child process for the tests of its tool subcommands
// (bench, check, soak) and parses the JSON report those print on stdout with --json.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support/server_process.hpp"

namespace steadyws::test {

struct ToolRun {
  int exit_code = -1;          // -1 when the process could not run or did not exit normally
  std::string out;             // everything it wrote on stdout
  boost::json::object report;  // stdout as one JSON object; empty when it was not one
};

// Runs `steadyws <command> ARGS... <suffix>` with stderr discarded, waits for it to exit and
// parses stdout. `command` may carry fixed flags ("check --quiet"); each of ARGS is quoted.
inline ToolRun run_steadyws(const std::string& command, const std::vector<std::string>& args,
                            const std::string& suffix = "") {
  std::string cmd = std::string(kDefaultBinary) + " " + command;
  for (const auto& a : args)
    cmd += " '" + a + "'";
  cmd += " " + suffix + " 2>/dev/null";
  ToolRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.out, ec);
  if (!ec && v.is_object())
    r.report = v.as_object();
  return r;
}

// The /ws URL of a test server.
inline std::string ws_url_of(const ServerProcess& s) {
  return "ws://127.0.0.1:" + std::to_string(s.port()) + "/ws";
}

}  // namespace steadyws::test
