// `steadyws connect URL [URL...]`: the reconnecting client as a CLI (CONTRACT §1).
//
//   stdout  each received `message` frame, as the JSON object it is, one per line, in delivery
//           order, flushed per line.
//   stdin   each non-empty line is published to --publish-channel (default: the first
//           --channel): as JSON when it parses, else as a JSON string.
//   stderr  with --events, JSON lines: state, reconnect_attempt, quality, forecast, fallback,
//           recovered, bandwidth (and error); without, one human log line per state change
//           and error.
//   --forecast-trace FILE: every heartbeat sample and its forecast as a JSON line (the
//           traces of docs/prediction.md are recorded with it).
//
// Exit codes: 0 on stdin EOF once every publish was acked, or on SIGINT/SIGTERM; 1 on a bad
// URL or another startup error; 3 when the client gave up (retry budget spent with
// --no-fallback). CLI11 usage errors exit with CLI11's codes.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "steadyws/client.hpp"

#include "cli/commands.hpp"
#include "protocol/json_text.hpp"

namespace steadyws::cli {
namespace {

namespace json = boost::json;

std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  g_signal.store(sig);
}

struct ConnectArgs {
  std::vector<std::string> urls;
  std::vector<std::string> channels;
  std::string publish_channel;
  bool events = false;
  bool quiet = false;
  bool keep_running = false;
  std::string token_file;
  std::string forecast_trace;
  ClientOptions options;
};

// --token-file: the file's content (trailing whitespace trimmed), read again before each
// connect and each refresh, so whatever renews the token only has to rewrite the file.
std::string read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string t((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back())))
    t.pop_back();
  if (!in.good() && !in.eof())
    throw std::runtime_error("cannot read --token-file " + path);
  if (t.empty())
    throw std::runtime_error("--token-file " + path + " is empty");
  return t;
}

// One writer at a time per stream: callbacks run on the client's thread, warnings on main.
std::mutex g_out_mu;

void write_line(std::FILE* f, const std::string& line) {
  std::lock_guard lock(g_out_mu);
  std::fwrite(line.data(), 1, line.size(), f);
  std::fputc('\n', f);
  std::fflush(f);
}

std::int64_t wall_ms() {
  return to_unix_ms(std::chrono::system_clock::now());
}

void event(const json::object& o) {
  write_line(stderr, protocol::to_json_text(o));
}

void install_callbacks(ConnectArgs& a) {
  ClientOptions& o = a.options;
  const bool ev = a.events;
  const bool quiet = a.quiet;
  o.on_message = [](const ReceivedMessage& m) {
    write_line(stdout, m.json);
  };
  o.on_state_change = [ev, quiet](const Transition& t) {
    if (ev) {
      event({{"event", "state"},
             {"from", to_string(t.from)},
             {"to", to_string(t.to)},
             {"reason", t.reason},
             {"time", wall_ms()}});
    } else if (!quiet) {
      write_line(stderr, "info connect state " + std::string(to_string(t.from)) + "->" +
                             std::string(to_string(t.to)) +
                             " reason=" + json::serialize(json::value(t.reason)));
    }
  };
  o.on_reconnect_attempt = [ev, quiet](std::uint32_t attempt, Duration delay) {
    if (ev) {
      event({{"event", "reconnect_attempt"}, {"attempt", attempt}, {"delay", delay.count()}});
    } else if (!quiet) {
      write_line(stderr, "info connect reconnect attempt=" + std::to_string(attempt) +
                             " delay_ms=" + std::to_string(delay.count()));
    }
  };
  // The level alone is the change; the metrics ride along so a reader needs no second line.
  auto last = std::make_shared<QualityMetrics>();
  o.on_health_update = [last](const QualityMetrics& m) {
    *last = m;
  };
  o.on_quality_change = [ev, quiet, last](Quality q) {
    if (ev) {
      event({{"event", "quality"},
             {"level", to_string(q)},
             {"latency", last->latency},
             {"jitter", last->jitter},
             {"packetLoss", last->packet_loss},
             {"reliability", last->reliability},
             {"time", wall_ms()}});
    } else if (!quiet) {
      write_line(stderr, "info connect quality level=" + std::string(to_string(q)) +
                             " latency_ms=" + std::to_string(last->latency));
    }
  };
  // CONTRACT §10: a forecast line when predictedLevel changes or the risk crosses 0.5 (the
  // first forecast counts as a change).
  std::shared_ptr<std::FILE> trace;
  if (!a.forecast_trace.empty()) {
    trace.reset(std::fopen(a.forecast_trace.c_str(), "w"), [](std::FILE* f) {
      if (f)
        std::fclose(f);
    });
    if (!trace)
      throw std::runtime_error("--forecast-trace: cannot open " + a.forecast_trace);
  }
  struct Reported {
    bool any = false;
    Quality level = Quality::excellent;
    bool high = false;
  };
  auto reported = std::make_shared<Reported>();
  const auto started = Clock::now();
  o.on_forecast = [ev, reported, trace, started](const ForecastSample& s) {
    const Forecast& f = s.forecast;
    if (trace) {
      json::object line{
          {"t", std::chrono::duration_cast<Duration>(Clock::now() - started).count()},
          {"rtt", s.rtt_ms ? json::value(std::round(*s.rtt_ms * 1000) / 1000) : json::value()},
          {"level", to_string(s.level)},
          {"risk", std::round(f.risk * 1e6) / 1e6}};
      if (s.reconnected)
        line.emplace("reconnected", true);
      const std::string text = protocol::to_json_text(line) + "\n";
      std::fwrite(text.data(), 1, text.size(), trace.get());
      std::fflush(trace.get());
    }
    const bool high = f.risk >= 0.5;
    if (reported->any && reported->level == f.predicted_level && reported->high == high)
      return;
    reported->any = true;
    reported->level = f.predicted_level;
    reported->high = high;
    if (ev) {
      event({{"event", "forecast"},
             {"risk", std::round(f.risk * 1000) / 1000},
             {"predictedLevel", to_string(f.predicted_level)},
             {"horizonMs", f.horizon.count()},
             {"time", wall_ms()}});
    }
  };
  // CONTRACT §10: when throttled changes, and at most every 5 s while it holds.
  o.on_bandwidth = [ev, quiet](const BandwidthEstimate& b) {
    const auto bps = static_cast<std::uint64_t>(b.bytes_per_second);
    if (ev) {
      event({{"event", "bandwidth"},
             {"bytesPerSecond", bps},
             {"throttled", b.throttled},
             {"time", wall_ms()}});
    } else if (!quiet) {
      write_line(stderr, std::string("info connect bandwidth throttled=") +
                             (b.throttled ? "true" : "false") +
                             " bytes_per_sec=" + std::to_string(bps));
    }
  };
  o.on_fallback_activated = [ev, quiet](bool active) {
    if (ev) {
      event({{"event", "fallback"}, {"active", active}, {"time", wall_ms()}});
    } else if (!quiet) {
      write_line(stderr, std::string("info connect fallback active=") +
                             (active ? "true (HTTP long polling)" : "false (back on WebSocket)"));
    }
  };
  o.on_recovered = [ev, quiet](const std::string& channel, bool recovered) {
    if (ev) {
      event({{"event", "recovered"},
             {"channel", channel},
             {"recovered", recovered},
             {"time", wall_ms()}});
    } else if (!quiet) {
      write_line(stderr, "info connect resume channel=" + channel +
                             (recovered ? " recovered=true"
                                        : " recovered=false (messages were missed: the "
                                          "server no longer had them)"));
    }
  };
  o.on_error = [ev, quiet](const ClientError& e) {
    if (ev) {
      event({{"event", "error"}, {"where", e.where}, {"message", e.message}, {"time", wall_ms()}});
    } else if (!quiet) {
      write_line(stderr, "warn connect " + e.where + ": " + e.message);
    }
  };
}

// The value a stdin line publishes: JSON when it parses, else the line as a string.
json::value line_value(const std::string& line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec)
    return json::value(line);
  return v;
}

int run_connect(ConnectArgs& a) {
  a.options.urls = a.urls;
  warn_if_insecure(a.options.insecure);
  if (!a.token_file.empty()) {
    read_token_file(a.token_file);  // a startup error (exit 1) rather than a retry loop
    a.options.token_provider = [path = a.token_file] {
      return read_token_file(path);
    };
  }
  install_callbacks(a);
  std::string publish_channel = a.publish_channel;
  if (publish_channel.empty() && !a.channels.empty())
    publish_channel = a.channels.front();

  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const std::size_t max_queue_bytes = a.options.queue.max_bytes;
  Client client(std::move(a.options));  // throws std::invalid_argument on a bad URL
  for (const auto& c : a.channels)
    client.subscribe(c);
  client.connect();

  // stdin is read with poll() so a signal or a give-up is noticed within 100 ms even while
  // no line arrives; std::getline would block through both.
  std::string pending;
  bool stdin_open = true;
  bool warned_no_channel = false;
  char buf[65536];
  while (g_signal.load() == 0) {
    if (client.has_given_up())
      return 3;
    if (!stdin_open) {
      if (!a.keep_running && client.queued() == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    const int r = ::poll(&pfd, 1, 100);
    if (r <= 0)
      continue;  // timeout, or EINTR from our own signal
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0)
      continue;
    if (n == 0) {
      stdin_open = false;
    } else {
      pending.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = pending.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line.empty())
        continue;
      if (publish_channel.empty()) {
        if (!warned_no_channel)
          write_line(stderr,
                     "warn connect: stdin line ignored; pass --publish-channel C (or --channel C)");
        warned_no_channel = true;
        continue;
      }
      if (line.size() + 256 > max_queue_bytes) {
        write_line(stderr, "warn connect: line of " + std::to_string(line.size()) +
                               " bytes dropped: over --queue-max-bytes");
        continue;
      }
      // A full offline queue pushes back on stdin instead of dropping the line.
      while (client.publish(publish_channel, line_value(line)).status == Enqueue::full) {
        if (g_signal.load() != 0 || client.has_given_up())
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    pending.erase(0, start);
    if (!stdin_open && !pending.empty()) {
      // A last line without a newline still counts.
      if (!publish_channel.empty())
        client.publish(publish_channel, line_value(pending));
      pending.clear();
    }
  }
  client.disconnect();
  // Let the close frame and the `closed` state event out before the destructor silences
  // callbacks; bounded, because the peer may be gone.
  for (int i = 0; i < 100 && client.connection_status() != State::closed; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return 0;
}

void ms_opt(CLI::App* sub, const std::string& name, Duration& target, const std::string& help) {
  sub->add_option_function<std::int64_t>(
         name, [&target](const std::int64_t& v) { target = Duration(v); }, help)
      ->check(CLI::NonNegativeNumber)
      ->default_str(std::to_string(target.count()));
}

void register_connect(CLI::App& app, Registry& registry) {
  auto a = std::make_shared<ConnectArgs>();
  ClientOptions& o = a->options;
  auto* sub = app.add_subcommand(
      "connect",
      "Stay connected: received messages as JSON lines on stdout, each stdin line published "
      "(CONTRACT §1). Exit 0 on stdin EOF once all is acked or on SIGINT; 3 when giving up.");
  sub->add_option("urls", a->urls, "ws://host:port/ws; more URLs are failover servers")->required();
  sub->add_option("--channel", a->channels, "Subscribe to this channel (repeatable)");
  sub->add_option("--publish-channel", a->publish_channel,
                  "Channel for stdin lines (default: the first --channel)");
  sub->add_flag("--events", a->events, "JSON event lines on stderr");
  sub->add_flag("--quiet", a->quiet, "No human log lines on stderr (without --events)");
  sub->add_flag("--keep-running", a->keep_running, "Do not exit on stdin EOF; run until SIGINT");
  sub->add_option("--max-reconnect-attempts", o.max_reconnect_attempts,
                  "Reconnect attempts before the fallback (or giving up); 0 = unlimited")
      ->capture_default_str();
  ms_opt(sub, "--reconnect-interval", o.reconnect_interval, "First backoff delay, ms");
  ms_opt(sub, "--max-backoff-delay", o.max_backoff_delay, "Backoff cap, ms");
  ms_opt(sub, "--jitter", o.jitter, "Symmetric jitter, ± ms");
  sub->add_option_function<std::string>(
         "--jitter-mode",
         [&o](const std::string& s) {
           auto m = jitter_mode_from_string(s);
           if (!m)
             throw CLI::ValidationError("--jitter-mode", "none, symmetric, full or decorrelated");
           o.jitter_mode = *m;
         },
         "none, symmetric, full or decorrelated")
      ->default_str("symmetric");
  sub->add_flag_callback(
      "--no-exponential-backoff", [&o] { o.exponential_backoff = false; },
      "Every delay is --reconnect-interval");
  sub->add_flag_callback(
      "--no-fallback", [&o] { o.enable_fallback = false; },
      "Never fall back to HTTP long polling (give up instead, exit 3)");
  sub->add_flag("--compression", o.compression,
                "Offer permessage-deflate (used when the server runs with --compression)");
  ms_opt(sub, "--fallback-poll-interval", o.fallback_poll_interval,
         "First pause between two long polls, ms");
  ms_opt(sub, "--long-poll-timeout", o.long_poll_timeout, "How long the server may hold a poll");
  ms_opt(sub, "--heartbeat-interval", o.heartbeat_interval, "App-level ping interval, ms");
  ms_opt(sub, "--heartbeat-timeout", o.heartbeat_timeout, "Pong deadline, ms");
  sub->add_option("--max-missed-heartbeats", o.max_missed_heartbeats,
                  "Unanswered pings before reconnecting")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ms_opt(sub, "--connect-timeout", o.connect_timeout, "Connect + upgrade + welcome, ms");
  ms_opt(sub, "--critical-quality-fallback-after", o.critical_quality_fallback_after,
         "Fall back when quality stays critical this long, ms; 0 = never");
  ms_opt(sub, "--forecast-horizon", o.forecast_horizon,
         "Forecast: the risk is P(quality poor or worse within this), ms");
  sub->add_option("--forecast-failover-risk", o.forecast_failover_risk,
                  "Move to the next URL when the forecast risk reaches this (0-1); 0 = off")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--forecast-trace", a->forecast_trace,
                  "Write every heartbeat sample and its forecast to FILE (JSON lines)");
  sub->add_option_function<std::uint64_t>(
      "--seed", [&o](const std::uint64_t& s) { o.seed = s; },
      "Jitter RNG seed (deterministic delays)");
  sub->add_option("--queue-max-messages", o.queue.max_messages, "Offline queue bound")
      ->capture_default_str();
  sub->add_option("--queue-max-bytes", o.queue.max_bytes, "Offline queue bound, bytes")
      ->capture_default_str();
  ms_opt(sub, "--ack-timeout", o.ack_timeout, "Resend unacked publishes after this, ms; 0 = off");
  tls_client_flags(sub, o.ca_file, o.insecure);
  sub->add_option("--token-file", a->token_file,
                  "Client token (a JWT, say) read from this file before each connect and "
                  "before exp; sent as Authorization: Bearer and by refresh (CONTRACT §8)")
      ->check(CLI::ExistingFile);
  ms_opt(sub, "--token-refresh-margin", o.token_refresh_margin,
         "Refresh a JWT this long before exp (at most half its remaining life), ms");
  registry.add(sub, [a] { return run_connect(*a); });
}

const AutoRegister kRegisterConnect{"connect", &register_connect};

}  // namespace
}  // namespace steadyws::cli
