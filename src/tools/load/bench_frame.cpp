#include "tools/load/bench_frame.hpp"

#include <cstring>

namespace steadyws::tools::bench {

void append_frame(std::vector<char>& out, Opcode op, std::string_view payload, std::uint32_t mask) {
  const std::size_t n = payload.size();
  unsigned char key[4];
  std::memcpy(key, &mask, 4);
  unsigned char h[protocol::kMaxFrameHeader];
  const std::size_t header =
      protocol::encode_frame_header(h, static_cast<unsigned>(op), n, false, key);
  const std::size_t at = out.size();
  out.resize(at + header + n);  // amortized: capacity is kept across clear()
  char* p = out.data() + at;
  std::memcpy(p, h, header);
  if (n != 0)
    std::memcpy(p + header, payload.data(), n);
  protocol::apply_mask(p + header, n, key);
}

ParseStatus parse_frame(const char* data, std::size_t n, FrameView& frame, std::size_t& consumed,
                        bool allow_rsv1) {
  consumed = 0;
  if (n < 2)
    return ParseStatus::need_more;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const protocol::FrameStart s = protocol::decode_frame_start(p[0], p[1]);
  const bool rsv1_ok = allow_rsv1 && s.rsv == protocol::kRsv1Bit &&
                       (s.opcode == static_cast<unsigned>(Opcode::text) ||
                        s.opcode == static_cast<unsigned>(Opcode::binary));
  if ((s.rsv != 0 && !rsv1_ok) || s.masked)  // RSV bits (only RSV1, only when allowed), masked
    return ParseStatus::bad;
  if (n < s.header)
    return ParseStatus::need_more;
  const std::uint64_t len = protocol::decode_payload_length(p, s);
  if (s.len7 == 127 && len > (std::uint64_t{1} << 40))
    return ParseStatus::bad;
  if (protocol::is_control(s.opcode) && (len > protocol::kMaxControlPayload || !s.fin))
    return ParseStatus::bad;
  const std::size_t total = s.header + static_cast<std::size_t>(len);
  if (n < total) {
    consumed = total;
    return ParseStatus::need_more;
  }
  frame.op = static_cast<Opcode>(s.opcode);
  frame.fin = s.fin;
  frame.rsv1 = s.rsv != 0;
  frame.payload = std::string_view(data + s.header, static_cast<std::size_t>(len));
  consumed = total;
  return ParseStatus::ok;
}

std::string upgrade_request(std::string_view host_port, std::string_view path,
                            std::string_view extensions) {
  std::string r;
  r.reserve(200 + extensions.size());
  r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_port);
  r.append(
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
  if (!extensions.empty())
    r.append("Sec-WebSocket-Extensions: ").append(extensions).append("\r\n");
  r.append("\r\n");
  return r;
}

DeflateAnswer parse_deflate_answer(std::string_view head) {
  constexpr std::string_view kName = "\r\nsec-websocket-extensions:";
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  DeflateAnswer a;
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;
       at = head.find("\r\n", at + 2)) {
    if (head.size() - at < kName.size())
      break;
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i)
      match = lower(head[at + i]) == kName[i];
    if (!match)
      continue;
    const std::size_t from = at + kName.size();
    const std::size_t end = head.find("\r\n", from);
    const std::string_view value =
        head.substr(from, end == std::string_view::npos ? head.size() - from : end - from);
    a.accepted = a.accepted || value.find("permessage-deflate") != std::string_view::npos;
    a.server_no_context_takeover =
        a.server_no_context_takeover ||
        value.find("server_no_context_takeover") != std::string_view::npos;
  }
  return a;
}

std::optional<std::size_t> parse_upgrade_response(const char* data, std::size_t n) {
  const std::string_view s(data, n);
  const auto end = s.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return std::nullopt;
  if (s.substr(0, 13) != "HTTP/1.1 101 " && s.substr(0, 12) != "HTTP/1.1 101")
    return std::size_t{0};
  return end + 4;
}

std::optional<std::uint64_t> find_u64(std::string_view json, std::string_view key) {
  auto at = json.find(key);
  if (at == std::string_view::npos)
    return std::nullopt;
  at += key.size();
  while (at < json.size() && json[at] == ' ')
    ++at;
  if (at >= json.size() || json[at] < '0' || json[at] > '9')
    return std::nullopt;
  std::uint64_t v = 0;
  while (at < json.size() && json[at] >= '0' && json[at] <= '9')
    v = v * 10 + static_cast<std::uint64_t>(json[at++] - '0');
  return v;
}

std::string_view find_type(std::string_view json) {
  constexpr std::string_view kKey = "\"type\":";
  auto at = json.find(kKey);
  if (at == std::string_view::npos)
    return {};
  at += kKey.size();
  while (at < json.size() && json[at] == ' ')
    ++at;
  if (at >= json.size() || json[at] != '"')
    return {};
  const auto end = json.find('"', at + 1);
  if (end == std::string_view::npos)
    return {};
  return json.substr(at + 1, end - at - 1);
}

}  // namespace steadyws::tools::bench
