// is_valid_utf8 against RFC 3629: every boundary of every sequence length, overlongs,
// surrogates, values past U+10FFFF and truncations, plus the 8-byte ASCII fast path.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "protocol/codec.hpp"

namespace steadyws::protocol {
namespace {

struct Row {
  const char* name;
  std::string bytes;
  bool valid;
};

TEST(Utf8, TableOfBoundaries) {
  const Row rows[] = {
      {"empty", "", true},
      {"ascii", "hello, world", true},
      {"NUL", std::string("\0", 1), true},
      {"DEL", "\x7F", true},
      {"U+0080 first 2-byte", "\xC2\x80", true},
      {"U+07FF last 2-byte", "\xDF\xBF", true},
      {"U+0800 first 3-byte", "\xE0\xA0\x80", true},
      {"U+D7FF before surrogates", "\xED\x9F\xBF", true},
      {"U+E000 after surrogates", "\xEE\x80\x80", true},
      {"U+FFFD replacement", "\xEF\xBF\xBD", true},
      {"U+FFFF last 3-byte", "\xEF\xBF\xBF", true},
      {"U+10000 first 4-byte", "\xF0\x90\x80\x80", true},
      {"U+10FFFF last code point", "\xF4\x8F\xBF\xBF", true},
      {"mixed", "a\xC3\xA9z\xE2\x82\xAC\xF0\x9F\x98\x80!", true},
      // overlongs
      {"overlong slash C0 AF", "\xC0\xAF", false},
      {"overlong NUL C0 80", "\xC0\x80", false},
      {"overlong C1 BF", "\xC1\xBF", false},
      {"overlong 3-byte E0 80 AF", "\xE0\x80\xAF", false},
      {"overlong 3-byte E0 9F BF", "\xE0\x9F\xBF", false},
      {"overlong 4-byte F0 80 80 AF", "\xF0\x80\x80\xAF", false},
      {"overlong 4-byte F0 8F BF BF", "\xF0\x8F\xBF\xBF", false},
      // surrogates
      {"U+D800 high surrogate", "\xED\xA0\x80", false},
      {"U+DBFF", "\xED\xAF\xBF", false},
      {"U+DC00 low surrogate", "\xED\xB0\x80", false},
      {"U+DFFF", "\xED\xBF\xBF", false},
      {"surrogate pair as CESU-8", "\xED\xA0\xBD\xED\xB8\x80", false},
      // beyond U+10FFFF and invalid lead bytes
      {"U+110000", "\xF4\x90\x80\x80", false},
      {"F5 lead", "\xF5\x80\x80\x80", false},
      {"F8 five-byte form", "\xF8\x88\x80\x80\x80", false},
      {"FC six-byte form", "\xFC\x84\x80\x80\x80\x80", false},
      {"FE", "\xFE", false},
      {"FF", "\xFF", false},
      // stray and truncated
      {"lone continuation", "\x80", false},
      {"continuation after ascii", "a\xBF", false},
      {"2-byte truncated at end", "ab\xC3", false},
      {"3-byte missing last", "\xE2\x82", false},
      {"3-byte missing two", "\xE2", false},
      {"4-byte missing last", "\xF0\x9F\x98", false},
      {"lead then ascii", "\xC3(", false},
      {"3-byte with ascii inside", "\xE2\x28\xA1", false},
      {"4-byte with bad third", "\xF0\x9F\x28\x80", false},
      {"4-byte with bad fourth", "\xF0\x9F\x98\x28", false},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(is_valid_utf8(row.bytes), row.valid) << row.name;
    // The same bytes after a run of ASCII: exercises the 8-byte fast path handing over.
    EXPECT_EQ(is_valid_utf8("0123456789abcdef" + row.bytes), row.valid)
        << "after ascii: " << row.name;
    EXPECT_EQ(is_valid_utf8(row.bytes + "0123456789abcdef"), row.valid)
        << "before ascii: " << row.name;
  }
}

TEST(Utf8, EveryCodePointEncodesValidly) {
  for (char32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 97)) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    EXPECT_EQ(is_valid_utf8(s), !surrogate) << std::hex << static_cast<unsigned>(cp);
  }
}

TEST(Utf8, LongAsciiWithOneBadByteAnywhere) {
  const std::string ascii(100, 'a');
  EXPECT_TRUE(is_valid_utf8(ascii));
  for (std::size_t i = 0; i < ascii.size(); ++i) {
    std::string s = ascii;
    s[i] = '\x80';
    EXPECT_FALSE(is_valid_utf8(s)) << i;
  }
}

}  // namespace
}  // namespace steadyws::protocol
