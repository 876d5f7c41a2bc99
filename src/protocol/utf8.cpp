// UTF-8 validation (RFC 3629, table 3-7 of the Unicode standard) and the id length rule.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "protocol/codec.hpp"

namespace steadyws::protocol {
namespace {

constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

bool is_cont(unsigned char c) noexcept {
  return (c & 0xC0U) == 0x80U;
}

// Length of the well-formed sequence starting at p[0] (p[0] >= 0x80), or 0 when it is not
// one. `left` is the number of bytes available from p.
std::size_t sequence_length(const unsigned char* p, std::size_t left) noexcept {
  const unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF) {
    return left >= 2 && is_cont(p[1]) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !is_cont(p[1]) || !is_cont(p[2])) {
      return 0;
    }
    if (c == 0xE0 && p[1] < 0xA0) {
      return 0;  // overlong: below U+0800
    }
    if (c == 0xED && p[1] > 0x9F) {
      return 0;  // U+D800-DFFF: surrogates are not characters
    }
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !is_cont(p[1]) || !is_cont(p[2]) || !is_cont(p[3])) {
      return 0;
    }
    if (c == 0xF0 && p[1] < 0x90) {
      return 0;  // overlong: below U+10000
    }
    if (c == 0xF4 && p[1] > 0x8F) {
      return 0;  // above U+10FFFF
    }
    return 4;
  }
  return 0;  // a continuation byte first, C0/C1 (always overlong) or F5-FF
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // Most frames are ASCII: skip 8 bytes at a time while no byte has its high bit set.
    while (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      if ((word & kHighBits) != 0) {
        break;
      }
      i += 8;
    }
    if (i >= n) {
      break;
    }
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = sequence_length(p + i, n - i);
    if (len == 0) {
      return false;
    }
    i += len;
  }
  return true;
}

bool is_valid_id(std::string_view id) noexcept {
  // CONTRACT §2: id <= 64 characters. Counting code points, not bytes, so that a client in
  // any script gets the same 64 the contract promises; an ASCII id is simply 1-64 bytes.
  if (id.empty() || id.size() > 4 * kMaxIdLength) {
    return false;
  }
  if (id.size() <= kMaxIdLength) {
    return true;  // 1-64 bytes is at most 64 code points whatever they are
  }
  std::size_t chars = 0;
  for (const char c : id) {
    chars += is_cont(static_cast<unsigned char>(c)) ? 0 : 1;
  }
  return chars <= kMaxIdLength;
}

}  // namespace steadyws::protocol
