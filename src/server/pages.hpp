// The HTML pages served at / and /reliability-test. Placeholders until the dashboard issue
// replaces them with the real pages under web/.
#pragma once

#include <string_view>

namespace steadyws::server {

std::string_view dashboard_html();
std::string_view reliability_page_html();

}  // namespace steadyws::server
