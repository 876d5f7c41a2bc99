// Per-frame cost of the server's frame reader: 16 masked ~45-byte text frames (the size of a
// publish or ping) read from one buffer, as after one socket read. Each iteration first
// copies the masked bytes back into the work buffer (the reader unmasks in place); the copy
// is included, ~800 bytes per 16 frames, as a socket read would be. Report: `time_per_frame`.
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "protocol/ws_frame_reader.hpp"

namespace {

namespace protocol = steadyws::protocol;

constexpr int kFrames = 16;

std::string masked_text_frame(std::string_view payload, std::array<unsigned char, 4> key) {
  std::string out;
  out.push_back(static_cast<char>(0x81));
  out.push_back(static_cast<char>(0x80U | payload.size()));  // REQUIRES: size < 126
  out.append(key.begin(), key.end());
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]));
  }
  return out;
}

void BM_FrameReader_Text45x16(benchmark::State& state) {
  std::string wire;
  for (int i = 0; i < kFrames; ++i) {
    // 45 bytes of JSON, each frame with its own mask.
    std::string payload = R"({"type":"publish","channel":"c","data":)" + std::to_string(10 + i);
    payload += "}";
    payload.resize(45, ' ');
    const auto k = static_cast<unsigned char>(i * 29 + 7);
    wire += masked_text_frame(
        payload, {k, static_cast<unsigned char>(k ^ 0x5A), 0xC3, static_cast<unsigned char>(~k)});
  }
  std::string work(wire.size(), '\0');
  protocol::FrameReader reader(1 << 20);
  std::size_t payload_bytes = 0;
  for (auto _ : state) {
    std::memcpy(work.data(), wire.data(), wire.size());
    std::span<char> rest(work.data(), work.size());
    for (int i = 0; i < kFrames; ++i) {
      const protocol::WsEvent ev = reader.next(rest);
      if (ev.kind != protocol::WsEventKind::text) {
        state.SkipWithError("unexpected event");
        return;
      }
      payload_bytes += ev.payload.size();
      rest = rest.subspan(ev.consumed);
    }
    benchmark::DoNotOptimize(payload_bytes);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kFrames);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
  // Inverted rate: CPU seconds per frame, printed with its SI prefix (e.g. "18ns").
  state.counters["time_per_frame"] = benchmark::Counter(
      kFrames, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["frame_bytes"] = static_cast<double>(wire.size()) / kFrames;
}
BENCHMARK(BM_FrameReader_Text45x16);

}  // namespace
