// Subcommand registry: each subcommand lives in its own file (serve.cpp, connect.cpp, ...)
// and registers itself with a file-scope `const AutoRegister` object, so adding a command
// touches no shared file. Exactly one subcommand runs per invocation.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace steadyws::cli {

class Registry {
 public:
  // Remembers `run` for `sub`; run_selected() calls the one the user picked.
  void add(CLI::App* sub, std::function<int()> run) { entries_.push_back({sub, std::move(run)}); }

  int run_selected() const {
    for (const auto& e : entries_) {
      if (e.sub->parsed())
        return e.run();
    }
    return 2;
  }

 private:
  struct Entry {
    CLI::App* sub;
    std::function<int()> run;
  };
  std::vector<Entry> entries_;
};

using RegisterFn = void (*)(CLI::App& app, Registry& registry);

struct Registration {
  std::string name;  // sorts `steadyws --help`
  RegisterFn fn;
};

inline std::vector<Registration>& registrations() {
  static std::vector<Registration> all;
  return all;
}

// `const AutoRegister kRegisterServe{"serve", &register_serve};` at file scope.
struct AutoRegister {
  AutoRegister(std::string name, RegisterFn fn) {
    registrations().push_back({std::move(name), fn});
  }
};

// Calls every registration, in name order.
void register_all(CLI::App& app, Registry& registry);

}  // namespace steadyws::cli
