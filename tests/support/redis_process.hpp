// A real redis-server (Debian's) for the cluster tests, started and stopped by the test.
//
// RedisProcess starts `redis-server --port P --dir D --save '' --appendonly no` (or with
// --appendonly yes, `persistent`, for a test that restarts Redis with its data) on a free
// port, with its data folder under the current directory (the build tree when run by ctest),
// and waits for PING. The destructor kills it (SIGKILL) and removes the folder, also when an
// assertion stopped the test early. kill() / restart() simulate a crash and a restart on the
// same port; command() sends one command and returns the first line of the reply.
//
// Not thread-safe: owned by one test thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tools/common/spawn.hpp"

namespace steadyws::test {

class RedisProcess {
 public:
  explicit RedisProcess(bool persistent = false) : persistent_(persistent) {
    std::random_device rd;
    dir_ = std::filesystem::current_path() / "redis-test" /
           ("r" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    for (int attempt = 0; attempt < 20; ++attempt) {
      port_ = free_port();
      if (start())
        return;
    }
    throw std::runtime_error(
        "RedisProcess: redis-server did not start; is it installed "
        "(scripts/install-deps.sh)?\n" +
        log());
  }
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;
  ~RedisProcess() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  // SIGKILL: a crash. Without persistence the data is gone.
  void kill() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // Starts it again on the same port (with its data if persistent).
  void restart() {
    kill();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!start()) {
      if (std::chrono::steady_clock::now() > end)
        throw std::runtime_error("RedisProcess: restart failed\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // Sends one command; returns the first line of the reply ("+OK", ":3", "$5"...), or "" on
  // a connection failure. A bulk reply's value is appended after a newline.
  std::string command(const std::vector<std::string>& args,
                      std::chrono::milliseconds deadline = std::chrono::seconds(5)) const {
    std::string req = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args)
      req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    const int fd = connect_fd(deadline);
    if (fd < 0)
      return "";
    std::string out;
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
          break;
        out.append(buf, static_cast<std::size_t>(n));
        const auto eol = out.find("\r\n");
        if (eol == std::string::npos)
          continue;
        if (out[0] == '$' && out != "$-1\r\n") {
          const std::size_t len = std::stoul(out.substr(1, eol - 1));
          if (out.size() < eol + 2 + len + 2)
            continue;
          out = out.substr(0, eol) + "\n" + out.substr(eol + 2, len);
        } else {
          out.resize(eol);
        }
        break;
      }
    }
    ::close(fd);
    return out;
  }
  std::string log() const {
    std::ifstream f(dir_ / "redis.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  int connect_fd(std::chrono::milliseconds deadline) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(deadline.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((deadline.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  // Starts redis-server and waits (10 s at most) for PONG; false if it exited (port taken).
  bool start() {
    std::vector<std::string> argv{"/usr/bin/redis-server",
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--dir",
                                  dir_.string(),
                                  "--save",
                                  "",
                                  "--appendonly",
                                  persistent_ ? "yes" : "no",
                                  "--appendfsync",
                                  "always",
                                  "--logfile",
                                  (dir_ / "redis.log").string(),
                                  "--daemonize",
                                  "no",
                                  "--enable-debug-command",  // DEBUG SLEEP (off by default in 7)
                                  "yes"};
    pid_ = tools::spawn_child(argv, {(dir_ / "out").string(), (dir_ / "err").string()});
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (command({"PING"}, std::chrono::milliseconds(500)) == "+PONG")
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill();
    return false;
  }

  bool persistent_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace steadyws::test
