// The files of web/ (dashboard, reliability test page, browser client) and the vendored uPlot
// chart library, compiled into the binary so the server is one file to deploy. The definition
// is generated at build time (cmake/SteadywsWebAssets.cmake); nothing is read from disk at
// run time. Not a general static file server: the set is fixed when the binary is built.
// Thread-safe: immutable data.
#pragma once

#include <string_view>

namespace steadyws::server {

// One embedded file: the Content-Type to send and the exact bytes.
struct WebAsset {
  std::string_view content_type;
  std::string_view body;
};

// The asset served at `path` (the request path without its query): "/" (index.html),
// "/reliability-test" (reliability-test.html), "/steadyws.js", "/vendor/uPlot.min.js", …
// Returns nullptr for any other path. The pointer is valid for the life of the program.
const WebAsset* find_web_asset(std::string_view path) noexcept;

}  // namespace steadyws::server
