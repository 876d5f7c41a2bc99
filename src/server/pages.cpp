#include "server/pages.hpp"

namespace steadyws::server {

// TODO(dashboard): replace with web/index.html (CONTRACT §4).
std::string_view dashboard_html() {
  return R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>steadyws</title></head>
<body>
<h1>steadyws</h1>
<p>The dashboard is not built yet. The server is up: see
<a href="/api/health">/api/health</a>, <a href="/api/websocket/metrics">/api/websocket/metrics</a>,
<a href="/api/sessions">/api/sessions</a> and <a href="/metrics">/metrics</a>.
WebSocket endpoint: <code>/ws</code>.</p>
<p>Connection: <span data-testid="connection-status">disconnected</span></p>
</body></html>
)";
}

// TODO(dashboard): replace with web/reliability-test.html (CONTRACT §4).
std::string_view reliability_page_html() {
  return R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>steadyws reliability test</title></head>
<body>
<h1>Reliability test</h1>
<p>Not built yet. <code>POST /api/admin/disconnect?session=ID</code> drops a session's
connection for the reconnection scenario.</p>
</body></html>
)";
}

}  // namespace steadyws::server
