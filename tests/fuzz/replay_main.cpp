// Replays a libFuzzer target's corpus without libFuzzer, so that `make test` (gcc, release and
// ASan+UBSan builds) runs every seed and every regression input of tests/fuzz/corpus/<target>/
// through the target's own checks on each run, not only when someone runs `make fuzz`.
//
// Usage: <target>_replay DIR|FILE...   Each file is fed as it is, then every prefix of it
// (truncated input is the commonest malformed frame), then kMutations copies with a few bytes
// changed by a fixed-seed generator: the same inputs on every run, so a failure reproduces.
// A target signals a violation with __builtin_trap() (or a sanitizer report): the process
// dies and the test fails. Exit 1 when no input was found (a wrong path must not pass).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

constexpr int kMutations = 2000;

void run(const std::string& bytes) {
  // A copy in its own allocation of exactly this size, so ASan sees any read past the end.
  const std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

void replay(const std::string& bytes, std::mt19937& rng) {
  run(bytes);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    run(bytes.substr(0, n));
  if (bytes.empty())
    return;
  std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> count(1, 4);
  for (int m = 0; m < kMutations; ++m) {
    std::string mutated = bytes;
    for (int k = count(rng); k > 0; --k)
      mutated[pos(rng)] = static_cast<char>(byte(rng));
    run(mutated);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    } else if (std::filesystem::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", argv[i]);
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no input files; pass the corpus directory\n");
    return 1;
  }
  // Each file's mutations come from a generator seeded by its name alone: the same inputs on
  // every run and every machine, whatever order the directory lists the files in.
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string name = f.filename().string();
    std::seed_seq seed(name.begin(), name.end());
    std::mt19937 rng(seed);
    replay(bytes, rng);
  }
  std::printf("replay: %zu inputs, each with its prefixes and %d mutations: no violation\n",
              files.size(), kMutations);
  return 0;
}
