// Per-message cost of the protocol codec: parse + dispatch of the frames the server reads
// most (ping, publish) and serialization of the frames it writes most (pong, message).
// Target (issue 2): parse + dispatch of a 100-byte ping well under 1 us.
#include <cstdint>
#include <string>
#include <variant>

#include <benchmark/benchmark.h>
#include <boost/json/parse.hpp>

#include "protocol/codec.hpp"

namespace {

namespace json = boost::json;
namespace protocol = steadyws::protocol;

// A 100-byte ping as a browser might send it: a fractional timestamp plus fields we ignore.
std::string ping_100() {
  std::string s = R"({"type":"ping","timestamp":1712345678901.125,"client":"web-7f3a9c",)";
  s += R"("pad":")";
  s += std::string(100 - s.size() - 2, 'x');
  s += R"("})";
  return s;
}

// 64 bytes of JSON application data.
const char* const kData64 = R"({"symbol":"EURUSD","bid":1.08421,"ask":1.08433,"ts":17123456})";

// The dispatch the server does after parsing: which message, and one field of it.
struct Dispatch {
  std::size_t operator()(const protocol::Ping& m) const { return m.timestamp.is_number() ? 1 : 0; }
  std::size_t operator()(const protocol::Subscribe& m) const { return m.channel.size(); }
  std::size_t operator()(const protocol::Unsubscribe& m) const { return m.channel.size(); }
  std::size_t operator()(const protocol::Publish& m) const { return m.channel.size(); }
  std::size_t operator()(const protocol::Refresh& m) const { return m.token.size(); }
};

void BM_Codec_ParsePing(benchmark::State& state) {
  const std::string text = ping_100();
  for (auto _ : state) {
    auto r = protocol::parse_client(text);
    benchmark::DoNotOptimize(std::visit(Dispatch{}, *r));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["frame_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_Codec_ParsePing);

void BM_Codec_ParsePublish(benchmark::State& state) {
  const std::string text = std::string(R"({"type":"publish","channel":"ticker:EURUSD","data":)") +
                           kData64 + R"(,"id":"m-000000042"})";
  for (auto _ : state) {
    auto r = protocol::parse_client(text);
    benchmark::DoNotOptimize(std::visit(Dispatch{}, *r));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["frame_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_Codec_ParsePublish);

// A 100 KB publish: over the 1 KiB arena threshold, so parsed on the heap and moved out.
void BM_Codec_ParsePublishLarge(benchmark::State& state) {
  const std::string text = std::string(R"({"type":"publish","channel":"c","data":{"blob":")") +
                           std::string(100000, 'b') + R"("}})";
  for (auto _ : state) {
    auto r = protocol::parse_client(text);
    benchmark::DoNotOptimize(std::visit(Dispatch{}, *r));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Codec_ParsePublishLarge);

void BM_Codec_SerializePong(benchmark::State& state) {
  const protocol::Pong pong{json::value(1712345678901.125), 1712345678950};
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();  // reused buffer: what a session's write path does
    protocol::serialize(pong, out);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Codec_SerializePong);

// The hub's call once per publish: a fresh string per frame (it is shared by subscribers and
// history), so the one allocation is included.
void BM_Codec_SerializeMessage(benchmark::State& state) {
  const json::value data = json::parse(kData64);
  std::size_t bytes = 0;
  std::uint64_t seq = 1;
  for (auto _ : state) {
    std::string out;
    protocol::serialize_message(out, "ticker:EURUSD", seq++, "m-000000042", data, 1712345678901);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Codec_SerializeMessage);

void BM_Codec_IsValidUtf8(benchmark::State& state) {
  std::string text = std::string(R"({"type":"publish","channel":"c","data":")");
  while (text.size() < static_cast<std::size_t>(state.range(0))) {
    text += "caf\xC3\xA9 au lait, ";
  }
  text.resize(static_cast<std::size_t>(state.range(0)) - 2);
  while (static_cast<unsigned char>(text.back()) >= 0x80) {
    text.back() = 'x';  // never cut a sequence in two: the input must stay valid
  }
  text += "\"}";
  for (auto _ : state) {
    benchmark::DoNotOptimize(protocol::is_valid_utf8(text));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_Codec_IsValidUtf8)->Arg(100)->Arg(64 << 10);

}  // namespace
