#include "tools/bench_frame.hpp"

#include <cstring>

namespace steadyws::tools::bench {

void append_frame(std::vector<char>& out, Opcode op, std::string_view payload, std::uint32_t mask) {
  const std::size_t n = payload.size();
  const std::size_t header = n < 126 ? 6 : (n <= 0xFFFF ? 8 : 14);
  const std::size_t at = out.size();
  out.resize(at + header + n);  // amortized: capacity is kept across clear()
  auto* p = reinterpret_cast<unsigned char*>(out.data() + at);
  p[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(op));
  std::size_t i = 2;
  if (n < 126) {
    p[1] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    p[1] = 0x80 | 126;
    p[2] = static_cast<unsigned char>(n >> 8);
    p[3] = static_cast<unsigned char>(n);
    i = 4;
  } else {
    p[1] = 0x80 | 127;
    for (int k = 0; k < 8; ++k)
      p[2 + k] = static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (56 - 8 * k));
    i = 10;
  }
  unsigned char key[4];
  std::memcpy(key, &mask, 4);
  std::memcpy(p + i, key, 4);
  i += 4;
  const auto* src = reinterpret_cast<const unsigned char*>(payload.data());
  for (std::size_t k = 0; k < n; ++k)
    p[i + k] = static_cast<unsigned char>(src[k] ^ key[k & 3]);
}

ParseStatus parse_frame(const char* data, std::size_t n, FrameView& frame, std::size_t& consumed) {
  consumed = 0;
  if (n < 2)
    return ParseStatus::need_more;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  if ((p[0] & 0x70) != 0 || (p[1] & 0x80) != 0)  // RSV bits (no extensions), masked
    return ParseStatus::bad;
  const bool fin = (p[0] & 0x80) != 0;
  const auto op = static_cast<Opcode>(p[0] & 0x0F);
  std::uint64_t len = p[1] & 0x7F;
  std::size_t header = 2;
  if (len == 126) {
    if (n < 4)
      return ParseStatus::need_more;
    len = (std::uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (len == 127) {
    if (n < 10)
      return ParseStatus::need_more;
    len = 0;
    for (int k = 0; k < 8; ++k)
      len = (len << 8) | p[2 + k];
    header = 10;
    if (len > (std::uint64_t{1} << 40))
      return ParseStatus::bad;
  }
  const bool control = (static_cast<unsigned>(op) & 0x8) != 0;
  if (control && (len > 125 || !fin))
    return ParseStatus::bad;
  const std::size_t total = header + static_cast<std::size_t>(len);
  if (n < total) {
    consumed = total;
    return ParseStatus::need_more;
  }
  frame.op = op;
  frame.fin = fin;
  frame.payload = std::string_view(data + header, static_cast<std::size_t>(len));
  consumed = total;
  return ParseStatus::ok;
}

std::string upgrade_request(std::string_view host_port, std::string_view path) {
  std::string r;
  r.reserve(200);
  r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_port);
  r.append(
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  return r;
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
