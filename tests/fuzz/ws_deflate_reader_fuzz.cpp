// libFuzzer target for protocol::FrameReader with permessage-deflate agreed (the inflating
// reader), fed as WsSession::consume feeds it. Untrusted client bytes reach zlib here, so each
// event is checked against the reader's contract: consumed within the input, an inflated
// message never over max_message_bytes, control payloads within 125 bytes, a failed reader
// stays failed with a 1002/1007/1009 close code. A violation is __builtin_trap().
//
// Input layout: byte 0 picks max_message_bytes (1 << (b % 24), so both tiny limits and ones
// a deflate bomb must hit are exercised); byte 1 bit 0 picks client_no_context_takeover, bits
// 1-7 where the stream is split into two reads; the rest is the byte stream from the client.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "protocol/ws_frame_reader.hpp"

namespace {

using steadyws::protocol::FrameReader;
using steadyws::protocol::WsEvent;
using steadyws::protocol::WsEventKind;

void check(bool ok) {
  if (!ok)
    __builtin_trap();
}

// Feeds input until need_more or failure; returns bytes consumed.
std::size_t feed(FrameReader& r, char* input, std::size_t size, std::size_t limit, bool& failed) {
  std::size_t off = 0;
  while (!failed) {
    const WsEvent ev = r.next(std::span<char>(input + off, size - off));
    check(ev.consumed <= size - off);
    switch (ev.kind) {
      case WsEventKind::need_more:
        check(ev.consumed == 0);
        return off;
      case WsEventKind::error:
        check(ev.close_code == 1002 || ev.close_code == 1007 || ev.close_code == 1009);
        check(r.failed());
        check(r.next(std::span<char>(input + off, size - off)).kind == WsEventKind::error);
        failed = true;
        return off;
      case WsEventKind::text:
      case WsEventKind::binary:
        check(ev.payload.size() <= limit);
        break;
      case WsEventKind::ping:
      case WsEventKind::pong:
      case WsEventKind::close:
        check(ev.payload.size() <= 125);
        break;
      case WsEventKind::progress:
        check(r.buffered() <= limit);
        break;
    }
    check(ev.consumed > 0);
    off += ev.consumed;
  }
  return off;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  const std::size_t limit = std::size_t{1} << (data[0] % 24);
  const bool client_nct = (data[1] & 1U) != 0;
  const std::size_t stream_size = size - 2;
  const std::size_t split = stream_size == 0 ? 0 : (data[1] >> 1U) % (stream_size + 1);

  FrameReader reader(limit);
  reader.enable_deflate(client_nct);
  auto first = std::make_unique<char[]>(split + 1);
  std::memcpy(first.get(), data + 2, split);
  bool failed = false;
  const std::size_t used = feed(reader, first.get(), split, limit, failed);
  if (failed)
    return 0;
  // The unconsumed tail plus the rest, in a fresh buffer; the first one is freed.
  const std::size_t tail = split - used;
  std::string rest(first.get() + used, tail);
  first.reset();
  rest.append(reinterpret_cast<const char*>(data + 2 + split), stream_size - split);
  feed(reader, rest.data(), rest.size(), limit, failed);
  return 0;
}
