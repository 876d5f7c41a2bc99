// More child processes and HTTP for the client suites: the fault proxy (`steadyws proxy`) with
// its control API, a blocking HTTP/1.1 call (POST /api/publish on a server, POST /mode on a
// proxy), and `steadyws connect` run as a real process with its stdin on a pipe and its stdout
// and stderr in temp files.
//
// tests/support/server_process.hpp runs `serve`; these follow its habits (temp files, so a
// chatty child never blocks on a full pipe; PR_SET_PDEATHSIG, so a crashed test leaves nothing
// behind; deadlines that only bound a failure). Not thread-safe: one test thread owns each.
// Throws std::runtime_error when a child does not start or a call fails.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "support/server_process.hpp"
#include "support/wait_until.hpp"
#include "support/ws_test_client.hpp"
#include "tools/common/spawn.hpp"

namespace steadyws::test {

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

// One blocking HTTP/1.1 request to 127.0.0.1:port, bounded by `deadline` (connect, write and
// read together). Throws on an I/O error or the deadline. (support/ws_test_client's
// http_request, with the throw these suites want.)
inline HttpAnswer http_call(std::uint16_t port, boost::beast::http::verb method,
                            const std::string& target, const std::string& body = "",
                            std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  const HttpResponse r = http_request(port, method, target, body, {}, deadline);
  if (r.status == 0)
    throw std::runtime_error("HTTP " + target + " on port " + std::to_string(port) + ": " +
                             r.error);
  return {r.status, r.body};
}

// POST /api/publish {"channel","data":{"n":n},"id"} on a server; returns the ack's seq.
inline std::uint64_t server_publish(std::uint16_t port, const std::string& channel, std::int64_t n,
                                    const std::string& id) {
  boost::json::object o{{"channel", channel}, {"data", boost::json::object{{"n", n}}}, {"id", id}};
  const auto r =
      http_call(port, boost::beast::http::verb::post, "/api/publish", boost::json::serialize(o));
  if (r.status != 200)
    throw std::runtime_error("POST /api/publish answered " + std::to_string(r.status) + ": " +
                             r.body);
  return boost::json::parse(r.body).as_object().at("seq").to_number<std::uint64_t>();
}

inline std::string temp_file(const char* kind) {
  std::string path = std::string("/tmp/steadyws-client-test-") + kind + "-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0)
    throw std::runtime_error("mkstemp failed");
  ::close(fd);
  return path;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `steadyws proxy --listen 0 --upstream 127.0.0.1:PORT --control-port 0`: port() is what
// clients connect to; mode()/reset() drive the control API (docs/proxy.md).
class ProxyProcess {
 public:
  explicit ProxyProcess(std::uint16_t upstream_port, std::string binary = kDefaultBinary)
      : out_path_(temp_file("proxy-out")), err_path_(temp_file("proxy-err")) {
    pid_ = tools::spawn_child({binary, "proxy", "--listen", "0", "--upstream",
                               "127.0.0.1:" + std::to_string(upstream_port), "--control-port", "0"},
                              {out_path_, err_path_});
    std::string line;
    const bool ok = wait_until(
        [&] {
          line = slurp(out_path_);
          return line.find('\n') != std::string::npos;
        },
        std::chrono::seconds(30));
    unsigned p = 0;
    unsigned c = 0;
    if (!ok ||
        std::sscanf(line.c_str(), "listening on 127.0.0.1:%u control 127.0.0.1:%u", &p, &c) != 2) {
      stop();
      throw std::runtime_error("proxy did not start; stdout: " + line +
                               " stderr: " + slurp(err_path_));
    }
    port_ = static_cast<std::uint16_t>(p);
    control_port_ = static_cast<std::uint16_t>(c);
  }
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;
  ~ProxyProcess() {
    stop();
    ::unlink(out_path_.c_str());
    ::unlink(err_path_.c_str());
  }

  std::uint16_t port() const { return port_; }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws"; }

  // POST /mode with a JSON body such as {"mode":"blackhole"}; throws unless 200.
  void mode(const std::string& body) {
    const auto r = http_call(control_port_, boost::beast::http::verb::post, "/mode", body);
    if (r.status != 200)
      throw std::runtime_error("proxy POST /mode " + body + ": " + std::to_string(r.status) + " " +
                               r.body);
  }
  // POST /reset: every current connection pair gets an RST. Returns how many were reset.
  int reset() {
    const auto r = http_call(control_port_, boost::beast::http::verb::post, "/reset");
    return static_cast<int>(boost::json::parse(r.body).as_object().at("reset").as_int64());
  }
  boost::json::object state() {
    return boost::json::parse(
               http_call(control_port_, boost::beast::http::verb::get, "/state").body)
        .as_object();
  }
  std::string stderr_text() const { return slurp(err_path_); }

 private:
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t control_port_ = 0;
};

// `steadyws <args...>` with stdin on a pipe the test writes to, stdout and stderr in files.
class CliProcess {
 public:
  explicit CliProcess(std::vector<std::string> args, std::string binary = kDefaultBinary)
      : out_path_(temp_file("cli-out")), err_path_(temp_file("cli-err")) {
    // A child that died must turn a write into EPIPE, not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    args.insert(args.begin(), binary);
    pid_ = tools::spawn_child(std::move(args), {out_path_, err_path_, false, fds[0]});
    ::close(fds[0]);
    stdin_fd_ = fds[1];
  }
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::unlink(out_path_.c_str());
    ::unlink(err_path_.c_str());
  }

  // Writes `line` and a newline to the child's stdin.
  void write_line(const std::string& line) {
    const std::string s = line + "\n";
    if (::write(stdin_fd_, s.data(), s.size()) != static_cast<ssize_t>(s.size()))
      throw std::runtime_error("write to the child's stdin failed");
  }
  void close_stdin() {
    if (stdin_fd_ >= 0)
      ::close(stdin_fd_);
    stdin_fd_ = -1;
  }

  // Waits up to `deadline` for the exit; nullopt while still running.
  std::optional<ExitStatus> wait_exit(std::chrono::milliseconds deadline) {
    std::optional<ExitStatus> out;
    wait_until(
        [&] {
          if (pid_ <= 0)
            return true;
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) != pid_)
            return false;
          ExitStatus s;
          if (WIFEXITED(status)) {
            s.exited = true;
            s.code = WEXITSTATUS(status);
          } else {
            s.signal = WTERMSIG(status);
          }
          status_ = s;
          pid_ = -1;
          return true;
        },
        deadline);
    return status_;
  }

  std::string stdout_text() const { return slurp(out_path_); }
  std::string stderr_text() const { return slurp(err_path_); }

  // Complete lines only (a line still being written is left for the next call).
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      out.push_back(text.substr(start, nl - start));
    return out;
  }

 private:
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<ExitStatus> status_;
};

}  // namespace steadyws::test
