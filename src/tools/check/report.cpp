// Rendering of `steadyws check` verdicts: the human table and the JSON object (check.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <boost/json.hpp>

#include "protocol/json_text.hpp"
#include "tools/check/check.hpp"

namespace steadyws::tools {
namespace {

namespace json = boost::json;

// A value in its unit, with as many decimals as the unit deserves.
std::string format_value(const ScenarioResult& r) {
  if (!r.measured)
    return "n/a";
  char buf[64];
  const double v = r.value;
  if (r.unit == "%")
    std::snprintf(buf, sizeof buf, "%.2f %%", v);
  else if (r.unit == "ms")
    std::snprintf(buf, sizeof buf, v < 100 ? "%.2f ms" : "%.0f ms", v);
  else if (r.unit == "KiB")
    std::snprintf(buf, sizeof buf, "%.1f KiB", v);
  else
    std::snprintf(buf, sizeof buf, "%.0f %s", v, r.unit.c_str());
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

const char* to_string(ScenarioResult::Status s) {
  switch (s) {
    case ScenarioResult::Status::pass:
      return "pass";
    case ScenarioResult::Status::fail:
      return "fail";
    case ScenarioResult::Status::skip:
      return "skip";
  }
  return "fail";
}

bool CheckReport::pass() const {
  return std::none_of(scenarios.begin(), scenarios.end(), [](const ScenarioResult& r) {
    return r.status == ScenarioResult::Status::fail;
  });
}

std::string format_table(const CheckReport& report) {
  std::size_t w_name = 8, w_value = 8, w_crit = 9, w_target = 6;
  for (const auto& r : report.scenarios) {
    w_name = std::max(w_name, r.name.size());
    w_value = std::max(w_value, format_value(r).size());
    w_crit = std::max(w_crit, r.criterion.size());
    w_target = std::max(w_target, r.target.size() + 7);  // "+ (met)"
  }
  std::string out;
  out += pad("scenario", w_name) + "  " + pad("measured", w_value) + "  " +
         pad("criterion", w_crit) + "  " + pad("target", w_target) + "  result  detail\n";
  for (const auto& r : report.scenarios) {
    std::string target = "-";
    if (!r.target.empty())
      target = r.target + (r.measured ? (r.target_met ? " (met)" : " (missed)") : "");
    out += pad(r.name, w_name) + "  " + pad(format_value(r), w_value) + "  " +
           pad(r.criterion.empty() ? "-" : r.criterion, w_crit) + "  " + pad(target, w_target) +
           "  " + pad(to_string(r.status), 6) + "  " + r.detail + "\n";
  }
  std::size_t passed = 0, failed = 0, skipped = 0;
  for (const auto& r : report.scenarios) {
    passed += r.status == ScenarioResult::Status::pass;
    failed += r.status == ScenarioResult::Status::fail;
    skipped += r.status == ScenarioResult::Status::skip;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s: %zu passed, %zu failed, %zu skipped in %.1f s (%s%s)\n",
                report.pass() ? "PASS" : "FAIL", passed, failed, skipped, report.elapsed_s,
                report.url.c_str(), report.proxy ? ", through the fault proxy" : ", no proxy");
  out += line;
  return out;
}

std::string format_json(const CheckReport& report) {
  json::array rows;
  json::array skipped;
  for (const auto& r : report.scenarios) {
    json::object o;
    o["name"] = r.name;
    if (r.measured && std::isfinite(r.value))
      o["measured"] = r.value;
    else
      o["measured"] = nullptr;
    o["unit"] = r.unit;
    o["criterion"] = r.criterion;
    o["target"] = r.target;
    o["pass"] = r.status == ScenarioResult::Status::pass;
    o["detail"] = r.detail;
    o["status"] = to_string(r.status);
    o["targetMet"] = r.measured && r.target_met;
    rows.emplace_back(std::move(o));
    if (r.status == ScenarioResult::Status::skip)
      skipped.emplace_back(json::string(r.name));
  }
  json::object top;
  top["scenarios"] = std::move(rows);
  top["pass"] = report.pass();
  top["skipped"] = std::move(skipped);
  top["url"] = report.url;
  top["proxy"] = report.proxy;
  top["elapsedS"] = report.elapsed_s;
  return protocol::to_json_text(top);
}

}  // namespace steadyws::tools
