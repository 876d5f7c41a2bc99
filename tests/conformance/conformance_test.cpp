// Replays every tests/conformance/*.json scenario through ClientEngine: the client policy as
// data, the files the JavaScript client is to replay too (issue 10 point 3). The schema is
// docs/core/client-engine.md §5; this file is its C++ reading. One gtest case per file.
//
// scenario_json.hpp turns the JSON into events and actions into JSON; this file runs the steps.
// The replayer plays the shell's part where the schema leaves it one: it serializes publish
// payloads, reads retryAfterMs out of a link_lost reason (src/client/wire.cpp's rule), and
// addresses events without "link"/"request" to the current link or request.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "conformance/scenario_json.hpp"
#include "core/client_engine.hpp"

namespace steadyws {
namespace {

using namespace conformance;
namespace json = boost::json;
namespace fs = std::filesystem;

// `want` matches `got` when every key of want is in got with a matching value (objects
// recursively, arrays element by element with the same length, numbers by value).
bool matches(const json::value& want, const json::value& got) {
  if (want.is_object()) {
    if (!got.is_object())
      return false;
    for (const auto& kv : want.as_object()) {
      const auto* g = got.as_object().if_contains(kv.key());
      if (g == nullptr || !matches(kv.value(), *g))
        return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!got.is_array() || got.as_array().size() != want.as_array().size())
      return false;
    for (std::size_t i = 0; i < want.as_array().size(); ++i) {
      if (!matches(want.as_array()[i], got.as_array()[i]))
        return false;
    }
    return true;
  }
  if (want.is_number() && got.is_number())
    return want.to_number<double>() == got.to_number<double>();
  return want == got;
}

std::string lines(const json::array& a) {
  std::string s;
  for (const auto& x : a)
    s += "    " + json::serialize(x) + "\n";
  return s.empty() ? "    (none)\n" : s;
}

// ---- checks ------------------------------------------------------------------------------

void check(const json::object& o, const ClientEngine& e, const std::string& where) {
  Fields f(o, where);
  if (f.has("state")) {
    EXPECT_EQ(to_string(e.state()), f.str("state")) << where;
  }
  if (f.has("usingFallback")) {
    EXPECT_EQ(e.is_using_fallback(), f.flag("usingFallback")) << where;
  }
  if (f.has("givenUp")) {
    EXPECT_EQ(e.has_given_up(), f.flag("givenUp")) << where;
  }
  if (f.has("queued")) {
    EXPECT_EQ(e.queued(), f.unum("queued")) << where;
  }
  if (f.has("urlIndex")) {
    EXPECT_EQ(e.url_index(), f.unum("urlIndex")) << where;
  }
  if (f.has("link")) {
    EXPECT_EQ(e.link(), f.unum("link")) << where;
  }
  if (f.has("quality")) {
    EXPECT_EQ(to_string(e.quality()), f.str("quality")) << where;
  }
  if (const auto* ts = f.find("timers")) {
    for (const auto& kv : ts->as_object()) {
      const auto t = engine_timer_from_string(kv.key());
      ASSERT_TRUE(t) << where << ": timer " << kv.key();
      const auto d = e.deadline(*t);
      if (kv.value().is_null()) {
        EXPECT_FALSE(d) << where << ": timer " << kv.key() << " armed";
      } else {
        EXPECT_EQ(d ? ms_of(*d) : -1, kv.value().to_number<std::int64_t>())
            << where << ": timer " << kv.key();
      }
    }
  }
  if (const auto* cs = f.find("cursors")) {
    for (const auto& kv : cs->as_object()) {
      const auto& c = kv.value().as_object();
      if (c.contains("seq")) {
        const auto last = e.cursors().last(kv.key());
        EXPECT_EQ(last ? static_cast<std::int64_t>(*last) : -1,
                  c.at("seq").is_null() ? -1 : c.at("seq").to_number<std::int64_t>())
            << where << ": cursor " << kv.key();
      }
      if (c.contains("epoch")) {
        EXPECT_EQ(e.cursors().epoch(kv.key()).value_or(""), std::string(c.at("epoch").as_string()))
            << where << ": epoch " << kv.key();
      }
    }
  }
}

// ---- the replay --------------------------------------------------------------------------

std::vector<fs::path> scenario_files() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(STEADYWS_CONFORMANCE_DIR)) {
    if (entry.path().extension() == ".json")
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void replay(const fs::path& file) {
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  std::stringstream buf;
  buf << in.rdbuf();
  boost::system::error_code ec;
  const json::value doc = json::parse(buf.str(), ec);
  ASSERT_FALSE(ec) << file << ": " << ec.message();
  Fields top(doc.as_object(), file.filename().string());
  const std::string name = top.str("name");
  EXPECT_EQ(name + ".json", file.filename().string()) << "name and file name differ";
  top.str("description");
  std::vector<double> draws;
  const json::object no_options;
  const auto* opts = top.find("options");
  ClientEngineConfig config = config_from(opts ? opts->as_object() : no_options, draws);
  std::size_t next_draw = 0;
  config.uniform = [&] {
    const double u = draws[std::min(next_draw, draws.size() - 1)];
    ++next_draw;
    return u;
  };
  std::set<std::string> ignore{"health", "forecast", "bandwidth"};
  if (const auto* ig = top.find("ignore")) {
    ignore.clear();
    for (const auto& x : ig->as_array())
      ignore.emplace(x.as_string());
  }

  const TimePoint t0{};
  ClientEngine engine(std::move(config), t0);
  TimePoint now = t0;
  json::array pending;  // actions since the last expect
  std::size_t index = 0;
  for (const auto& step_value : top.find("steps")->as_array()) {
    const std::string where = name + " step " + std::to_string(index++);
    Fields step(step_value.as_object(), where);
    if (const auto* ev = step.find("event")) {
      const auto* at = step.find("at");
      ASSERT_TRUE(at) << where << ": an event needs \"at\"";
      const TimePoint t = t0 + Duration{at->to_number<std::int64_t>()};
      ASSERT_GE(t, now) << where << ": time goes backwards";
      now = t;
      const auto event = event_from(ev->as_object(), engine, where);
      for (const auto& a : engine.handle(event, now)) {
        if (!ignore.contains(std::string(engine::name_of(a))))
          pending.push_back(action_json(a));
      }
    } else if (const auto* ex = step.find("expect")) {
      const auto& want = ex->as_array();
      bool ok = want.size() == pending.size();
      for (std::size_t i = 0; ok && i < want.size(); ++i)
        ok = matches(want[i], pending[i]);
      EXPECT_TRUE(ok) << where << " (t=" << std::chrono::duration_cast<Duration>(now - t0).count()
                      << " ms)\n  expected:\n"
                      << lines(want) << "  got:\n"
                      << lines(pending);
      pending.clear();
    } else if (const auto* ck = step.find("check")) {
      check(ck->as_object(), engine, where);
    } else {
      ADD_FAILURE() << where << ": a step is an event, an expect or a check";
    }
  }
  EXPECT_TRUE(pending.empty()) << name << ": actions after the last expect:\n" << lines(pending);
  EXPECT_EQ(engine.illegal_transitions(), 0u) << name;
}

class Conformance : public testing::TestWithParam<fs::path> {};

TEST_P(Conformance, Replays) {
  replay(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Conformance, testing::ValuesIn(scenario_files()),
                         [](const testing::TestParamInfo<fs::path>& p) {
                           std::string s = p.param.stem().string();
                           std::replace_if(
                               s.begin(), s.end(), [](char c) { return !std::isalnum(c); }, '_');
                           return s;
                         });

// Issue 10 asks for at least eight scenarios covering the policy's list.
TEST(Conformance, HasTheScenariosTheIssueAsksFor) {
  std::set<std::string> names;
  for (const auto& f : scenario_files())
    names.insert(f.stem().string());
  EXPECT_GE(names.size(), 8u);
  for (const char* required :
       {"backoff-give-up", "retry-after", "failover-urls", "fallback-after-budget",
        "fallback-switch-back", "critical-quality-fallback", "offline-queue-flush",
        "ack-timeout-resend", "resume-epoch-catch-up", "resume-recovered-false", "heartbeat-dead",
        "close-stops-everything"})
    EXPECT_TRUE(names.contains(required)) << required;
}

}  // namespace
}  // namespace steadyws
