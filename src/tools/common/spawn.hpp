// Starting a child process the way the tools and the tests need it (POSIX, header-only so the
// test supports can use it without linking the tools library):
// - spawn_child: fork + execv with stdin from a descriptor (or /dev/null) and stdout/stderr
//   into files (files, not pipes, so a chatty child never blocks on a full pipe). The child
//   gets PR_SET_PDEATHSIG(SIGKILL): a crashed parent leaves no server behind.
// - find_listening: the `listening on HOST:PORT` line (CONTRACT §1) in what a server wrote
//   to stdout so far.
// Users: tools::bench::ServerChild (bench herd), tests/support/server_process.hpp,
// tests/integration/client/process_support.hpp.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace steadyws::tools {

struct SpawnFiles {
  std::string out_path;     // the child's stdout, truncated (created if missing, mode 0600)
  std::string err_path;     // the child's stderr (created if missing, mode 0600)
  bool append_err = false;  // keep what earlier runs wrote to err_path (a restarted server)
  int stdin_fd = -1;        // the child's stdin; < 0: /dev/null
};

// Runs argv[0] (a path, no PATH lookup) with `argv`. Returns the child's pid. Throws
// std::runtime_error naming what failed.
inline pid_t spawn_child(std::vector<std::string> argv, const SpawnFiles& files) {
  if (argv.empty())
    throw std::runtime_error("spawn_child: no program");
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  const int out_fd = ::open(files.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd =
      ::open(files.err_path.c_str(),
             O_WRONLY | O_CREAT | (files.append_err ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0600);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const auto close_all = [&] {
    for (const int fd : {out_fd, err_fd, null_fd})
      if (fd >= 0)
        ::close(fd);
  };
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
    const std::string why = std::strerror(errno);
    close_all();
    const std::string which = out_fd < 0   ? files.out_path
                              : err_fd < 0 ? files.err_path
                                           : std::string("/dev/null");
    throw std::runtime_error("spawn_child: cannot open " + which + ": " + why);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string why = std::strerror(errno);
    close_all();
    throw std::runtime_error("spawn_child: fork: " + why);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec. PDEATHSIG follows the thread that
    // forked: fork from a thread that lives as long as the child should.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    ::dup2(files.stdin_fd >= 0 ? files.stdin_fd : null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  close_all();
  return pid;
}

struct Listening {
  std::string address;     // HOST:PORT as written
  std::string host;        // empty when the address has no ':'
  std::uint16_t port = 0;  // 0 when the address is not HOST:PORT with a port in 1-65535
};

// The first complete `listening on HOST:PORT` line in `out`; nullopt until one is there.
inline std::optional<Listening> find_listening(std::string_view out) {
  constexpr std::string_view kPrefix = "listening on ";
  const auto at = out.find(kPrefix);
  if (at == std::string_view::npos)
    return std::nullopt;
  const auto eol = out.find('\n', at);
  if (eol == std::string_view::npos)
    return std::nullopt;
  Listening l;
  l.address = std::string(out.substr(at + kPrefix.size(), eol - at - kPrefix.size()));
  const auto colon = l.address.rfind(':');
  if (colon == std::string::npos)
    return l;
  l.host = l.address.substr(0, colon);
  const std::string digits = l.address.substr(colon + 1);
  char* end = nullptr;
  const unsigned long port = std::strtoul(digits.c_str(), &end, 10);
  const bool all_digits =
      !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos;
  if (all_digits && end != nullptr && *end == '\0' && port <= 65535)
    l.port = static_cast<std::uint16_t>(port);
  return l;
}

}  // namespace steadyws::tools
