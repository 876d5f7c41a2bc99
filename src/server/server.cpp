#include <cstdio>
#include <stdexcept>

#include "server/config.hpp"

namespace steadyws::server {

// Replaced by the Beast server (issue 3); until then `serve` says so plainly.
int run(const ServerConfig&) {
  throw std::runtime_error("serve is not built yet in this revision; see issue 3");
}

}  // namespace steadyws::server
