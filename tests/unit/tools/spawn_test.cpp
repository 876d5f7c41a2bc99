// src/tools/common/spawn.hpp: the `listening on` line parser, and spawn_child's files, stdin and
// errors with /bin/sh as the child.
#include "tools/common/spawn.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace steadyws::tools {
namespace {

TEST(FindListening, NothingUntilTheWholeLineIsThere) {
  EXPECT_FALSE(find_listening(""));
  EXPECT_FALSE(find_listening("starting\n"));
  EXPECT_FALSE(find_listening("listening on 127.0.0.1:60"));  // no newline yet
}

TEST(FindListening, HostAndPort) {
  const auto l = find_listening("info: x\nlistening on 127.0.0.1:6011\nmore\n");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->address, "127.0.0.1:6011");
  EXPECT_EQ(l->host, "127.0.0.1");
  EXPECT_EQ(l->port, 6011);
  const auto v6 = find_listening("listening on [::1]:443\n");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "[::1]");
  EXPECT_EQ(v6->port, 443);
}

TEST(FindListening, AnUnparsablePortIsZero) {
  for (const char* out : {"listening on somewhere\n", "listening on h:\n", "listening on h:x1\n",
                          "listening on h:65536\n", "listening on h:80 extra\n",
                          "listening on h: 80\n", "listening on h:+80\n", "listening on h:-1\n"}) {
    const auto l = find_listening(out);
    ASSERT_TRUE(l) << out;
    EXPECT_EQ(l->port, 0) << out;
  }
}

std::string temp_path() {
  std::string path = "/tmp/steadyws-spawn-test-XXXXXX";
  const int fd = ::mkstemp(path.data());
  EXPECT_GE(fd, 0);
  ::close(fd);
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A stdout and a stderr file per test, removed afterwards whatever the test did.
class SpawnChild : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unlink(out.c_str());
    ::unlink(err.c_str());
  }
  const std::string out = temp_path();
  const std::string err = temp_path();
};

int exit_code(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(SpawnChild, StdoutStderrStdinAndExitCode) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid =
      spawn_child({"/bin/sh", "-c", "read line; echo out:$line; echo err >&2; exit 3"},
                  {out, err, false, fds[0]});
  ::close(fds[0]);
  ASSERT_EQ(::write(fds[1], "hello\n", 6), 6);
  ::close(fds[1]);
  EXPECT_EQ(exit_code(pid), 3);
  EXPECT_EQ(slurp(out), "out:hello\n");
  EXPECT_EQ(slurp(err), "err\n");
}

TEST_F(SpawnChild, StderrIsAppendedOnlyWhenAsked) {
  EXPECT_EQ(exit_code(spawn_child({"/bin/sh", "-c", "echo one >&2"}, {out, err})), 0);
  EXPECT_EQ(exit_code(spawn_child({"/bin/sh", "-c", "echo two >&2"}, {out, err, true})), 0);
  EXPECT_EQ(slurp(err), "one\ntwo\n");
  EXPECT_EQ(exit_code(spawn_child({"/bin/sh", "-c", "echo three >&2"}, {out, err})), 0);
  EXPECT_EQ(slurp(err), "three\n");
}

TEST_F(SpawnChild, WithoutStdinTheChildReadsEndOfFile) {
  EXPECT_EQ(exit_code(spawn_child({"/bin/sh", "-c", "cat; echo done"}, {out, err})), 0);
  EXPECT_EQ(slurp(out), "done\n");
}

TEST_F(SpawnChild, AMissingProgramExits127AndBadPathsThrow) {
  EXPECT_EQ(exit_code(spawn_child({"/no/such/program"}, {out, err})), 127);
  EXPECT_THROW(spawn_child({"/bin/true"}, {"/no/such/dir/out", err}), std::runtime_error);
  try {
    spawn_child({"/bin/true"}, {out, "/no/such/dir/err"});
    ADD_FAILURE() << "no throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/dir/err"), std::string::npos) << e.what();
  }
  EXPECT_THROW(spawn_child({}, {out, err}), std::runtime_error);
}

}  // namespace
}  // namespace steadyws::tools
