// Subcommand registry: each subcommand lives in its own file (serve.cpp, connect.cpp, ...)
// and registers itself with a file-scope `const AutoRegister` object, so adding a command
// touches no shared file. Exactly one subcommand runs per invocation.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
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

// Accepts a whole number of milliseconds, 0 or more (or above 0), with an error that says so.
inline CLI::Validator milliseconds(bool allow_zero = true) {
  return CLI::Validator(
      [allow_zero](std::string& in) -> std::string {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), v);
        if (ec == std::errc{} && end == in.data() + in.size() && v >= 0 && (allow_zero || v > 0))
          return {};
        return "'" + in + "' is not a whole number of milliseconds " +
               (allow_zero ? "(0 or more)" : "above 0");
      },
      allow_zero ? "MS" : "MS>0");
}

// A flag in milliseconds backed by a std::chrono::milliseconds member, non-negative, showing
// the member's current value as its default. Returns the option, so a caller can add
// ->envname(...) or a stricter ->check(...).
inline CLI::Option* ms_flag(CLI::App* sub, const std::string& name,
                            std::chrono::milliseconds& target, const std::string& help) {
  return sub
      ->add_option_function<std::int64_t>(
          name, [&target](const std::int64_t& v) { target = std::chrono::milliseconds(v); }, help)
      ->check(milliseconds())
      ->default_str(std::to_string(target.count()));
}

// --ca-file and --insecure (CONTRACT §6) for a command that connects to wss:// servers.
inline void tls_client_flags(CLI::App* sub, std::string& ca_file, bool& insecure) {
  sub->add_option("--ca-file", ca_file,
                  "wss://: verify the server against this PEM CA bundle (default: system store)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--insecure", insecure,
                "wss://: do not verify the server's certificate or host name (says so on stderr)");
}

// The one stderr line --insecure writes when it is on.
inline void warn_if_insecure(bool insecure) {
  if (insecure)
    std::fputs("warning: --insecure: TLS certificate chain and host name are NOT verified\n",
               stderr);
}

// Calls every registration, in name order.
void register_all(CLI::App& app, Registry& registry);

}  // namespace steadyws::cli
