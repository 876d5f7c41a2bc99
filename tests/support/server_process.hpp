// Runs the real `steadyws` binary as a child process for black-box tests.
//
// ServerProcess starts `steadyws serve --host 127.0.0.1 --port 0 <args...>`, waits (with a
// deadline) for the `listening on HOST:PORT` line of CONTRACT §1 and exposes the port. The
// child's stdout and stderr go to temp files, so a chatty server never blocks on a full pipe
// and a failing test can print what the server said. It is stopped with SIGTERM (graceful
// drain, exit status returned) or SIGKILL, and can be restarted on the same port. The child
// gets PR_SET_PDEATHSIG, so a crashed test binary leaves no server behind.
//
// Not thread-safe: one test thread owns a ServerProcess. Throws std::runtime_error when the
// server does not start, with its stderr in the message.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tools/common/spawn.hpp"

namespace steadyws::test {

#ifdef STEADYWS_BINARY
inline constexpr const char* kDefaultBinary = STEADYWS_BINARY;
#else
inline constexpr const char* kDefaultBinary = "build/release/steadyws";
#endif

// How a child ended: exited(code) or killed by signal.
struct ExitStatus {
  bool exited = false;  // true: `code` is valid; false: `signal` is
  int code = -1;
  int signal = 0;
  bool ok() const { return exited && code == 0; }
  std::string describe() const {
    return exited ? "exit " + std::to_string(code) : "signal " + std::to_string(signal);
  }
};

class ServerProcess {
 public:
  // Startup can be slow under AddressSanitizer on a loaded 2-core box; a started server
  // prints its line in milliseconds, so this only bounds a failure.
  static constexpr std::chrono::seconds kStartDeadline{30};

  // Starts `binary serve --host 127.0.0.1 --port 0 args...` and waits for `listening on`.
  explicit ServerProcess(std::vector<std::string> args = {}, std::string binary = kDefaultBinary)
      : binary_(std::move(binary)), args_(std::move(args)) {
    start(0);
  }

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  ~ServerProcess() {
    if (running())
      kill();
    remove_files();
  }

  std::uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }
  pid_t pid() const { return pid_; }

  // True while the child has not been reaped.
  bool running() {
    if (pid_ <= 0)
      return false;
    reap(false);
    return pid_ > 0;
  }

  // Sends `sig` to the running child.
  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  // Waits up to `deadline` for the child to exit; nullopt if it is still running.
  std::optional<ExitStatus> wait_exit(std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (pid_ > 0) {
      reap(false);
      if (pid_ <= 0)
        break;
      if (std::chrono::steady_clock::now() >= end)
        return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return last_status_;
  }

  // SIGTERM, then waits up to `deadline` for the drain to finish. Returns the exit status,
  // or nullopt when the child was still running at the deadline (it is then SIGKILLed so
  // the test never leaks a server).
  std::optional<ExitStatus> stop(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    if (pid_ <= 0)
      return last_status_;
    signal(SIGTERM);
    auto status = wait_exit(deadline);
    if (!status)
      kill();
    return status;
  }

  // SIGKILL and reap: a crash, no drain.
  void kill() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    reap(true);
  }

  // Starts the server again on the same port (after stop() or kill()); the port is free
  // again at once because the server binds with SO_REUSEADDR.
  // Retried for up to 5 s while the port is taken: a client reconnecting meanwhile can be
  // given the dead server's port as its own ephemeral port (a TCP self-connect) and hold it
  // until its attempt fails.
  void restart() {
    if (running())
      kill();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      try {
        start(port_);
        return;
      } catch (const std::runtime_error&) {
        if (running() || stderr_text().find("in use") == std::string::npos ||
            std::chrono::steady_clock::now() >= end)
          throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // What the server wrote to stderr / stdout so far (for failure messages).
  std::string stderr_text() const { return read_file(err_path_); }
  std::string stdout_text() const { return read_file(out_path_); }

  // The last `n` characters of stderr, for gtest failure messages.
  std::string stderr_tail(std::size_t n = 4000) const {
    std::string s = stderr_text();
    return s.size() > n ? s.substr(s.size() - n) : s;
  }

 private:
  void start(std::uint16_t port) {
    remove_files();
    out_path_ = make_temp("out");
    err_path_ = make_temp("err");

    std::vector<std::string> argv{binary_,     "serve",  "--host",
                                  "127.0.0.1", "--port", std::to_string(port)};
    argv.insert(argv.end(), args_.begin(), args_.end());
    const pid_t pid = tools::spawn_child(std::move(argv), {out_path_, err_path_});
    pid_ = pid;
    last_status_.reset();
    wait_listening();
  }

  // Polls the stdout file for `listening on HOST:PORT`.
  void wait_listening() {
    const auto end = std::chrono::steady_clock::now() + kStartDeadline;
    for (;;) {
      if (const auto l = tools::find_listening(stdout_text())) {
        if (l->port == 0)
          fail("unparsable listening line: " + l->address);
        host_ = l->host;
        port_ = l->port;
        return;
      }
      if (!running())
        fail("server exited before listening (" + last_status_->describe() + ")");
      if (std::chrono::steady_clock::now() >= end) {
        kill();
        fail("no `listening on` line within the start deadline");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("ServerProcess(" + binary_ + "): " + what + "\nstdout:\n" +
                             stdout_text() + "\nstderr:\n" + stderr_tail());
  }

  void reap(bool block) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      ExitStatus s;
      if (WIFEXITED(status)) {
        s.exited = true;
        s.code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        s.signal = WTERMSIG(status);
      }
      last_status_ = s;
      pid_ = -1;
    } else if (r < 0) {
      pid_ = -1;
    }
  }

  static std::string make_temp(const char* kind) {
    std::string path = std::string("/tmp/steadyws-test-") + kind + "-XXXXXX";
    const int fd = ::mkstemp(path.data());
    if (fd < 0)
      throw std::runtime_error("ServerProcess: mkstemp failed");
    ::close(fd);
    return path;
  }

  static std::string read_file(const std::string& path) {
    if (path.empty())
      return {};
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void remove_files() {
    if (!out_path_.empty())
      ::unlink(out_path_.c_str());
    if (!err_path_.empty())
      ::unlink(err_path_.c_str());
    out_path_.clear();
    err_path_.clear();
  }

  std::string binary_;
  std::vector<std::string> args_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;  // -1 once reaped
  std::optional<ExitStatus> last_status_;
  std::string out_path_;
  std::string err_path_;
};

}  // namespace steadyws::test
