// RFC 6455 §5 framing shared by the server, the reader and the bench clients. See ws_frame.hpp.
#include "protocol/ws_frame.hpp"

namespace steadyws::protocol {

bool is_valid_wire_close_code(std::uint16_t code) noexcept {
  // Beast 1.81 detail::is_valid_close_code: RFC 6455 §7.4 plus the IANA codes 1012 and 1013;
  // everything from 3000 up is accepted (the RFC defines none above 4999 but forbids none).
  if (code >= 1000 && code <= 1003) {
    return true;
  }
  if (code >= 1007 && code <= 1013) {
    return true;
  }
  return code >= 3000;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  if (code == 0)
    return out;
  reason = reason.substr(0, kMaxCloseReason);  // RFC 6455 §5.5: control payloads <= 125 bytes
  out.reserve(2 + reason.size());
  out.push_back(static_cast<char>(code >> 8U));
  out.push_back(static_cast<char>(code & 0xFFU));
  out.append(reason);
  return out;
}

std::string make_close_frame(std::uint16_t code, std::string_view reason) {
  if (code == 0)  // no status: an empty close frame (the echo of a peer's empty close)
    return std::string{'\x88', '\x00'};
  reason = reason.substr(0, kMaxCloseReason);
  unsigned char h[kMaxFrameHeader];
  const std::size_t n =
      encode_frame_header(h, static_cast<unsigned>(Opcode::close), 2 + reason.size());
  std::string out(reinterpret_cast<const char*>(h), n);
  out.append(close_payload(code, reason));
  return out;
}

}  // namespace steadyws::protocol
