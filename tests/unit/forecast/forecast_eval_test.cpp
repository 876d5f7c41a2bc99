// Issue 15 part 1, the test that can fail: replays the checked-in evaluation traces
// (scripts/forecast/traces/eval-*.jsonl, recorded through `steadyws proxy`) through the C++
// QualityForecaster and scores "quality poor or worse within 30 s" beside two baselines on
// the same samples: the current level, and a threshold on the last RTT (tuned on the
// training traces by scripts/forecast/train.mjs). The model must beat both on F1 and warn a
// median of >= 10 s ahead of the degradations. Definitions: docs/prediction.md.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "steadyws/core/forecast.hpp"

namespace steadyws {
namespace {

#include "core/forecast_model.inc"

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t kHorizonMs = 30000;
constexpr int kPoor = static_cast<int>(Quality::poor);

struct Row {
  std::int64_t t = 0;
  std::optional<double> rtt;
  bool reconnected = false;
  Quality level = Quality::excellent;
};

struct Trace {
  std::string file;
  std::int64_t interval_ms = 0;
  std::vector<Row> rows;
};

std::optional<Quality> quality_from(std::string_view s) {
  for (Quality q :
       {Quality::excellent, Quality::good, Quality::fair, Quality::poor, Quality::critical}) {
    if (to_string(q) == s)
      return q;
  }
  return std::nullopt;
}

std::vector<Trace> load(const std::string& split) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(STEADYWS_FORECAST_TRACES)) {
    const auto name = e.path().filename().string();
    if (name.rfind(split + "-", 0) == 0 && e.path().extension() == ".jsonl")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Trace> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    Trace tr;
    tr.file = f.filename().string();
    std::getline(in, line);
    const json::value header = json::parse(line);
    tr.interval_ms = header.at("heartbeatIntervalMs").to_number<std::int64_t>();
    while (std::getline(in, line)) {
      if (line.empty())
        continue;
      const json::object o = json::parse(line).as_object();
      Row r;
      r.t = o.at("t").to_number<std::int64_t>();
      if (!o.at("rtt").is_null())
        r.rtt = o.at("rtt").to_number<double>();
      r.reconnected = o.contains("reconnected") && o.at("reconnected").as_bool();
      const auto q = quality_from(o.at("level").as_string());
      if (!q)
        throw std::runtime_error(tr.file + ": bad level");
      r.level = *q;
      tr.rows.push_back(r);
    }
    out.push_back(std::move(tr));
  }
  return out;
}

struct Score {
  double precision = 0, recall = 0, f1 = 0, median_lead_ms = 0;
  std::size_t events = 0;
};

// Mirrors scripts/forecast/common.mjs score().
Score score(const std::vector<Trace>& traces, const std::vector<std::vector<bool>>& preds) {
  std::size_t tp = 0, fp = 0, fn = 0;
  std::vector<double> leads;
  for (std::size_t ti = 0; ti < traces.size(); ++ti) {
    const auto& rows = traces[ti].rows;
    const auto& pred = preds[ti];
    if (rows.empty())
      continue;
    const std::int64_t end = rows.back().t;
    std::vector<int> label(rows.size(), -1);
    std::ptrdiff_t next_poor = -1;
    std::vector<std::ptrdiff_t> next(rows.size());
    for (std::size_t i = rows.size(); i-- > 0;) {
      if (static_cast<int>(rows[i].level) >= kPoor)
        next_poor = static_cast<std::ptrdiff_t>(i);
      next[i] = next_poor;
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].t + kHorizonMs > end)
        break;
      label[i] =
          next[i] >= 0 && rows[static_cast<std::size_t>(next[i])].t <= rows[i].t + kHorizonMs;
      if (pred[i] && label[i] == 1)
        ++tp;
      else if (pred[i])
        ++fp;
      else if (label[i] == 1)
        ++fn;
    }
    for (std::size_t e = 1; e < rows.size(); ++e) {
      if (!(static_cast<int>(rows[e].level) >= kPoor &&
            static_cast<int>(rows[e - 1].level) < kPoor))
        continue;
      if (label[e] == -1)
        continue;
      std::size_t a = e;
      while (a >= 1 && pred[a - 1] && rows[e].t - rows[a - 1].t <= kHorizonMs)
        --a;
      leads.push_back(static_cast<double>(rows[e].t - rows[a].t));
    }
  }
  Score s;
  s.precision = tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0;
  s.recall = tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0;
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
  s.events = leads.size();
  if (!leads.empty()) {
    std::sort(leads.begin(), leads.end());
    const std::size_t m = leads.size() / 2;
    s.median_lead_ms = leads.size() % 2 ? leads[m] : (leads[m - 1] + leads[m]) / 2;
  }
  return s;
}

std::string describe(const char* name, const Score& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%-14s precision %.3f recall %.3f F1 %.3f median lead %.0f ms (%zu events)", name,
                s.precision, s.recall, s.f1, s.median_lead_ms, s.events);
  return buf;
}

TEST(ForecastEval, ModelBeatsBothBaselinesOnTheEvaluationTraces) {
  const auto traces = load("eval");
  ASSERT_GE(traces.size(), 4u) << "no evaluation traces in " << STEADYWS_FORECAST_TRACES;
  std::vector<std::vector<bool>> model, level, rtt;
  for (const auto& tr : traces) {
    QualityForecaster f({Duration{kHorizonMs}, Duration{tr.interval_ms}});
    std::vector<bool> pm, pl, pr;
    for (const auto& r : tr.rows) {
      if (r.reconnected)
        f.on_reconnect();
      std::optional<Clock::duration> rtt_d;
      if (r.rtt)
        rtt_d = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double, std::milli>(*r.rtt));
      const Forecast fc = f.on_sample(rtt_d, r.level);
      pm.push_back(fc.risk >= 0.5);
      pl.push_back(r.level >= Quality::poor);
      pr.push_back(!r.rtt || *r.rtt > kForecastBaselineRttMs);
    }
    model.push_back(pm);
    level.push_back(pl);
    rtt.push_back(pr);
  }
  const Score m = score(traces, model);
  const Score l = score(traces, level);
  const Score r = score(traces, rtt);
  std::printf("%s\n%s\n%s (threshold %.0f ms)\n", describe("model", m).c_str(),
              describe("current level", l).c_str(), describe("last RTT", r).c_str(),
              kForecastBaselineRttMs);
  ASSERT_GE(m.events, 5u) << "too few degradations in the evaluation traces to judge";
  EXPECT_GT(m.f1, l.f1) << describe("model", m) << "\n" << describe("current level", l);
  EXPECT_GT(m.f1, r.f1) << describe("model", m) << "\n" << describe("last RTT", r);
  EXPECT_GE(m.median_lead_ms, 10000) << describe("model", m);
}

// The features and the model in C++ and in clients/js/src/forecast.js agree: train.mjs runs this
// fixed sequence through the JS predictor and writes the feature sum and the risk it got into
// forecast_model.inc (kForecastParitySum, kForecastParityLogit); the C++ one must match.
TEST(ForecastEval, FixedSequenceMatchesTheJsPredictor) {
  QualityForecaster f({Duration{30000}, Duration{500}});
  Forecast fc;
  for (int i = 0; i < 40; ++i) {
    const double rtt = 20 + i * 10;
    if (i == 25)
      f.on_reconnect();
    if (i % 7 == 3) {
      fc = f.on_sample(std::nullopt, i < 20 ? Quality::good : Quality::fair);
    } else {
      fc = f.on_sample(std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double, std::milli>(rtt)),
                       i < 20 ? Quality::good : Quality::fair);
    }
  }
  const auto& x = f.features();
  double sum = 0;
  double logit = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sum += x[i];
    logit += kForecastWeights[i] * x[i];
  }
  std::printf("features sum %.12f logit %.12f risk %.12f\n", sum, logit, fc.risk);
  EXPECT_NEAR(sum, kForecastParitySum, 1e-9);
  EXPECT_NEAR(logit, kForecastParityLogit, 1e-7);
  EXPECT_NEAR(fc.risk, QualityForecaster::risk_of(x), 1e-15);
}

}  // namespace
}  // namespace steadyws
