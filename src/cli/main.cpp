// The one binary: `steadyws <subcommand> [flags]`. Subcommands register themselves in
// commands.hpp; main parses, dispatches and turns any startup exception into one line that
// says what to do, with a non-zero exit.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

#ifndef STEADYWS_VERSION
#define STEADYWS_VERSION "0.0.0"
#endif

namespace steadyws::cli {

void register_all(CLI::App& app, Registry& registry) {
  auto all = registrations();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& r : all)
    r.fn(app, registry);
}

}  // namespace steadyws::cli

int main(int argc, char** argv) {
  CLI::App app{"steadyws: WebSocket connections that stay up.", "steadyws"};
  app.set_version_flag("--version", std::string("steadyws ") + STEADYWS_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'steadyws <command> --help' for a command's flags. Docs: README.md, docs/.");

  steadyws::cli::Registry registry;
  steadyws::cli::register_all(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return registry.run_selected();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error steadyws: %s\n", e.what());
    return 1;
  }
}
