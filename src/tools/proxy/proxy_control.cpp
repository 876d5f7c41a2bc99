#include "tools/proxy/proxy_control.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>

#include <boost/json.hpp>

namespace steadyws::tools {
namespace {

namespace json = boost::json;

// 10 min: far beyond any test, small enough that send_at arithmetic cannot overflow.
constexpr std::int64_t kMaxDelayMs = 600'000;

// Reads an optional non-negative integer field; a double is accepted only when integral.
// Returns nullopt with `error` set when the field is present but wrong.
std::optional<std::int64_t> read_count(const json::object& obj, std::string_view key,
                                       std::int64_t fallback, std::int64_t max,
                                       std::string& error) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr)
    return fallback;
  boost::system::error_code ec;
  const auto n = v->to_number<std::int64_t>(ec);
  if (ec || n < 0 || n > max) {
    error = "\"" + std::string(key) + "\" must be an integer from 0 to " + std::to_string(max);
    return std::nullopt;
  }
  return n;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size())
    return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle))
      return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "GET /path HTTP/1.1": a token of capitals, a target, an HTTP version.
bool looks_like_request_line(std::string_view line) {
  const auto sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos)
    return false;
  for (char c : line.substr(0, sp)) {
    if (c < 'A' || c > 'Z')
      return false;
  }
  return line.find(" HTTP/1.", sp) != std::string_view::npos;
}

}  // namespace

std::variant<Faults, std::string> apply_mode_request(std::string_view body, const Faults& current) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec)
    return std::string("body is not JSON: ") + ec.message();
  const auto* obj = doc.if_object();
  if (obj == nullptr)
    return std::string("body must be a JSON object like {\"mode\":\"pass\"}");
  const auto* mode_v = obj->if_contains("mode");
  if (mode_v == nullptr || !mode_v->is_string())
    return std::string("\"mode\" (a string) is required");
  const std::string_view mode = mode_v->get_string();

  Faults next = current;
  std::string error;
  if (mode == "pass")
    return Faults{};
  if (mode == "delay") {
    if (!obj->contains("ms"))
      return std::string("delay needs \"ms\"");
    const auto ms = read_count(*obj, "ms", 0, kMaxDelayMs, error);
    if (!ms)
      return error;
    const auto jitter = read_count(*obj, "jitter", 0, kMaxDelayMs, error);
    if (!jitter)
      return error;
    next.delay = std::chrono::milliseconds(*ms);
    next.jitter = std::chrono::milliseconds(*jitter);
    return next;
  }
  if (mode == "bandwidth") {
    if (!obj->contains("bytesPerSec"))
      return std::string("bandwidth needs \"bytesPerSec\"");
    const auto bps =
        read_count(*obj, "bytesPerSec", 0, std::numeric_limits<std::int64_t>::max(), error);
    if (!bps)
      return error;
    next.bytes_per_sec = static_cast<std::uint64_t>(*bps);
    return next;
  }
  bool* flag = nullptr;
  if (mode == "refuse")
    flag = &next.refuse;
  else if (mode == "blackhole")
    flag = &next.blackhole;
  else if (mode == "block_upgrades")
    flag = &next.block_upgrades;
  if (flag == nullptr) {
    return "unknown mode \"" + std::string(mode) +
           "\"; use pass, delay, bandwidth, refuse, blackhole or block_upgrades";
  }
  bool enabled = true;
  if (const auto* e = obj->if_contains("enabled")) {
    if (!e->is_bool())
      return std::string("\"enabled\" must be true or false");
    enabled = e->get_bool();
  }
  *flag = enabled;
  return next;
}

std::string describe_faults(const Faults& f) {
  std::string out;
  auto add = [&out](const char* name) {
    if (!out.empty())
      out += ',';
    out += name;
  };
  if (f.delay.count() > 0 || f.jitter.count() > 0)
    add("delay");
  if (f.bytes_per_sec > 0)
    add("bandwidth");
  if (f.refuse)
    add("refuse");
  if (f.blackhole)
    add("blackhole");
  if (f.block_upgrades)
    add("block_upgrades");
  return out.empty() ? "pass" : out;
}

std::string state_json(const Faults& f, const ProxyStats& s, std::string_view listen,
                       std::string_view upstream) {
  json::array modes;
  std::string names = describe_faults(f);
  for (std::size_t start = 0; start <= names.size();) {
    const auto comma = std::min(names.find(',', start), names.size());
    modes.emplace_back(names.substr(start, comma - start));
    start = comma + 1;
  }
  const json::object doc{
      {"modes", std::move(modes)},
      {"faults",
       {{"delayMs", f.delay.count()},
        {"jitterMs", f.jitter.count()},
        {"bytesPerSec", f.bytes_per_sec},
        {"refuse", f.refuse},
        {"blackhole", f.blackhole},
        {"blockUpgrades", f.block_upgrades}}},
      {"connections", {{"active", s.connections_active}, {"total", s.connections_total}}},
      {"bytes",
       {{"clientToUpstream", s.bytes_client_to_upstream},
        {"upstreamToClient", s.bytes_upstream_to_client},
        {"discarded", s.bytes_discarded}}},
      {"resets", s.resets},
      {"refused", s.refused},
      {"upgradesBlocked", s.upgrades_blocked},
      {"upstreamErrors", s.upstream_errors},
      {"listen", listen},
      {"upstream", upstream},
  };
  return json::serialize(doc);
}

std::string error_json(std::string_view code, std::string_view message) {
  return json::serialize(json::object{{"error", code}, {"message", message}});
}

FirstRequest inspect_first_request(std::string_view data) {
  if (data.empty())
    return FirstRequest::need_more;
  if (data.front() < 'A' || data.front() > 'Z')
    return FirstRequest::other;
  const auto eol = data.find("\r\n");
  if (eol == std::string_view::npos)
    return data.size() >= kMaxInspectBytes ? FirstRequest::other : FirstRequest::need_more;
  if (!looks_like_request_line(data.substr(0, eol)))
    return FirstRequest::other;
  const auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return data.size() >= kMaxInspectBytes ? FirstRequest::other : FirstRequest::need_more;
  std::string_view headers = data.substr(eol + 2, end - eol);
  while (!headers.empty()) {
    const auto next = headers.find("\r\n");
    const std::string_view line = headers.substr(0, next);
    headers = next == std::string_view::npos ? std::string_view{} : headers.substr(next + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    if (iequals(trim(line.substr(0, colon)), "upgrade") &&
        icontains(line.substr(colon + 1), "websocket"))
      return FirstRequest::websocket_upgrade;
  }
  return FirstRequest::other;
}

}  // namespace steadyws::tools
