#include "tools/load/bench_server.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tools/common/spawn.hpp"

namespace steadyws::tools::bench {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string make_temp(const char* kind) {
  std::string path = std::string("/tmp/steadyws-bench-") + kind + "-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0)
    throw std::runtime_error("bench: mkstemp failed");
  ::close(fd);
  return path;
}

}  // namespace

ServerChild::~ServerChild() {
  kill();
  if (!out_path_.empty())
    ::unlink(out_path_.c_str());
  if (!err_path_.empty())
    ::unlink(err_path_.c_str());
}

void ServerChild::start(std::chrono::milliseconds deadline) {
  if (running())
    kill();
  if (out_path_.empty()) {
    out_path_ = make_temp("out");
    err_path_ = make_temp("err");
  }
  std::string cmd = command_;
  for (auto at = cmd.find("{port}"); at != std::string::npos; at = cmd.find("{port}"))
    cmd.replace(at, 6, std::to_string(port_));
  const std::string shell = "exec " + cmd;

  // stderr is appended: a restarted server's errors follow the first run's.
  pid_ = spawn_child({"/bin/sh", "-c", shell}, {out_path_, err_path_, true, -1});

  const auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (const auto l = find_listening(read_all(out_path_))) {
      if (l->port == 0)
        throw std::runtime_error("bench: unparsable listening line: " + l->address);
      host_ = l->host;
      port_ = l->port;
      return;
    }
    if (!running())
      throw std::runtime_error("bench: server exited before listening: `" + cmd + "`\n" +
                               stderr_tail());
    if (std::chrono::steady_clock::now() >= end) {
      kill();
      throw std::runtime_error("bench: no `listening on` line from `" + cmd + "`\n" +
                               stderr_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void ServerChild::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

bool ServerChild::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || r < 0)
    pid_ = -1;
  return pid_ > 0;
}

bool ServerChild::wait_exit(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (running()) {
    if (std::chrono::steady_clock::now() >= end)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void ServerChild::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerChild::stderr_tail() const {
  const std::string s = err_path_.empty() ? std::string() : read_all(err_path_);
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

double process_cpu_s(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = all.rfind(')');
  if (paren == std::string::npos)
    return -1;
  std::istringstream fields(all.substr(paren + 1));
  std::string f;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && (fields >> f); ++i) {  // field 3 (state) first; 14 utime, 15 stime
    if (i == 14)
      utime = std::stol(f);
    if (i == 15)
      stime = std::stol(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::uint64_t raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

long process_rss_kb(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace steadyws::tools::bench
