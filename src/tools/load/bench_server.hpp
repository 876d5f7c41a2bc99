// A server child process for `steadyws bench herd` (which cuts and restarts it) and helpers
// that read a process's memory and CPU from /proc and raise the file limit (bench, herd, soak).
//
// ServerChild runs a shell command line (`/bin/sh -c "exec CMD"`, so the child's PID is the
// server's own), with every `{port}` in CMD replaced by the port: 0 on the first start, then
// the port the server reported, so a restart comes back on the same address. It waits for the
// CONTRACT §1 line `listening on HOST:PORT` on the child's stdout (a temp file, so a chatty
// server never blocks on a pipe); stderr goes to another temp file, quoted in errors. The child
// gets PR_SET_PDEATHSIG(SIGKILL): a crashed bench leaves no server behind.
//
// Not thread-safe: one thread owns a ServerChild. Throws std::runtime_error when the server
// does not start.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace steadyws::tools::bench {

class ServerChild {
 public:
  explicit ServerChild(std::string command) : command_(std::move(command)) {}
  ~ServerChild();
  ServerChild(const ServerChild&) = delete;
  ServerChild& operator=(const ServerChild&) = delete;

  // Starts the command (port 0 the first time, the reported port afterwards) and waits up to
  // `deadline` for its `listening on` line.
  void start(std::chrono::milliseconds deadline = std::chrono::seconds(30));
  // Sends `sig`; no-op when not running.
  void signal(int sig);
  // Waits up to `deadline` for the child to exit; true once it has (it is then reaped).
  bool wait_exit(std::chrono::milliseconds deadline);
  // SIGKILL and reap.
  void kill();
  bool running();

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }
  // The last ~2000 characters the server wrote to stderr.
  std::string stderr_tail() const;

 private:
  std::string command_;
  pid_t pid_ = -1;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  std::string out_path_;
  std::string err_path_;
};

// VmRSS of `pid` in KiB, or -1 when it cannot be read.
long process_rss_kb(long pid);

// utime + stime of `pid` (all its threads) in seconds, or -1 when it cannot be read.
double process_cpu_s(long pid);

// Raises RLIMIT_NOFILE to its hard limit; returns the soft limit now in force (0 if unknown).
std::uint64_t raise_fd_limit();

}  // namespace steadyws::tools::bench
