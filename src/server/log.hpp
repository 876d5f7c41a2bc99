// One-line key=value logs on stderr (STYLE 3.4.6), filtered by --log-level.
//
// Each line is built in a local string and written with one fwrite, so lines from different
// I/O threads never interleave. Not on the message path: logs are per connection event, not
// per message. Thread-safe.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "server/config.hpp"

namespace steadyws::server {

class Log {
 public:
  explicit Log(LogLevel level) : level_(level) {}

  bool enabled(LogLevel level) const { return level >= level_; }

  // Writes "<level> <text>\n" when `level` passes the filter.
  void write(LogLevel level, std::string_view text) const;

  void debug(std::string_view text) const { write(LogLevel::debug, text); }
  void info(std::string_view text) const { write(LogLevel::info, text); }
  void warn(std::string_view text) const { write(LogLevel::warn, text); }
  void error(std::string_view text) const { write(LogLevel::error, text); }

 private:
  LogLevel level_;
};

// `s` quoted for a key="value" field: `"` and `\` escaped, control bytes as spaces.
std::string quoted(std::string_view s);

}  // namespace steadyws::server
