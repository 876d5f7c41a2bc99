// permessage-deflate negotiation and zlib streams. See permessage_deflate.hpp.
#include "protocol/permessage_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace steadyws::protocol {
namespace {

// ---- Sec-WebSocket-Extensions grammar (RFC 6455 §9.1, RFC 7230 tokens) -------------------

bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

struct Param {
  std::string name;
  std::optional<std::string> value;  // unquoted
};

struct Offer {
  std::string name;
  std::vector<Param> params;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  // The whole list, or nullopt on any syntax error. Empty list elements (", ,") are allowed
  // as RFC 7230 §7 asks of a recipient.
  std::optional<std::vector<Offer>> parse() {
    std::vector<Offer> out;
    while (true) {
      skip_ws();
      if (at_end())
        return out;
      if (peek() == ',') {
        ++i_;
        continue;
      }
      Offer o;
      if (!token(o.name))
        return std::nullopt;
      skip_ws();
      while (!at_end() && peek() == ';') {
        ++i_;
        skip_ws();
        Param p;
        if (!token(p.name))
          return std::nullopt;
        skip_ws();
        if (!at_end() && peek() == '=') {
          ++i_;
          skip_ws();
          std::string v;
          if (!at_end() && peek() == '"') {
            if (!quoted(v))
              return std::nullopt;
          } else if (!token(v)) {
            return std::nullopt;
          }
          p.value = std::move(v);
          skip_ws();
        }
        o.params.push_back(std::move(p));
      }
      out.push_back(std::move(o));
      if (at_end())
        return out;
      if (peek() != ',')
        return std::nullopt;
      ++i_;
    }
  }

 private:
  bool at_end() const noexcept { return i_ >= s_.size(); }
  char peek() const noexcept { return s_[i_]; }
  void skip_ws() noexcept {
    while (!at_end() && (peek() == ' ' || peek() == '\t'))
      ++i_;
  }
  bool token(std::string& out) {
    const std::size_t start = i_;
    while (!at_end() && is_tchar(peek()))
      ++i_;
    if (i_ == start)
      return false;
    out.assign(s_.substr(start, i_ - start));
    return true;
  }
  bool quoted(std::string& out) {
    ++i_;  // the opening quote
    while (!at_end()) {
      const char c = s_[i_++];
      if (c == '"')
        return true;
      if (c == '\\') {
        if (at_end())
          return false;
        out.push_back(s_[i_++]);
      } else {
        out.push_back(c);
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

// RFC 7692 §7.1.2: 1*DIGIT, no leading zero, 8..15 ("8" / "9" / "1" %x30-35).
std::optional<int> window_bits(const std::string& v) noexcept {
  if (v.empty() || v.size() > 2 || v[0] == '0')
    return std::nullopt;
  int n = 0;
  for (const char c : v) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15)
    return std::nullopt;
  return n;
}

// The agreement for one permessage-deflate offer, or nullopt when it is malformed or asks for
// something we cannot do.
std::optional<DeflateAgreement> accept(const Offer& o, const DeflatePolicy& policy) {
  bool server_nct = false;
  bool client_nct = false;
  bool has_server_bits = false;
  bool has_client_bits = false;
  int server_bits = 15;
  for (const Param& p : o.params) {
    if (p.name == "server_no_context_takeover") {
      if (server_nct || p.value)
        return std::nullopt;
      server_nct = true;
    } else if (p.name == "client_no_context_takeover") {
      if (client_nct || p.value)
        return std::nullopt;
      client_nct = true;
    } else if (p.name == "server_max_window_bits") {
      if (has_server_bits || !p.value)
        return std::nullopt;
      const auto bits = window_bits(*p.value);
      if (!bits)
        return std::nullopt;
      has_server_bits = true;
      server_bits = *bits;
    } else if (p.name == "client_max_window_bits") {
      if (has_client_bits)
        return std::nullopt;
      if (p.value && !window_bits(*p.value))
        return std::nullopt;
      has_client_bits = true;
    } else {
      return std::nullopt;  // RFC 7692 §7.1: an unknown parameter: decline this offer
    }
  }
  // zlib turns a raw deflate window of 8 bits into 9 (zlib.h, deflateInit2): answering 8 and
  // then writing with a 512-byte window would be answering wrong.
  if (server_bits < 9)
    return std::nullopt;

  DeflateAgreement a;
  a.params.server_no_context_takeover = server_nct || !policy.context_takeover;
  a.params.client_no_context_takeover = client_nct || !policy.context_takeover;
  a.params.server_max_window_bits = server_bits;
  a.response = "permessage-deflate";
  if (a.params.server_no_context_takeover)
    a.response += "; server_no_context_takeover";
  if (a.params.client_no_context_takeover)
    a.response += "; client_no_context_takeover";
  if (has_server_bits)
    a.response += "; server_max_window_bits=" + std::to_string(server_bits);
  return a;
}

// The 4 bytes a sync flush ends with (an empty stored block), removed from each message and
// fed back before inflating (RFC 7692 §7.2.1, §7.2.2).
constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers,
                                                  const DeflatePolicy& policy) {
  if (!policy.enabled)
    return std::nullopt;
  const auto list = Parser(offers).parse();
  if (!list)
    return std::nullopt;
  for (const Offer& o : *list) {
    if (!iequals(o.name, "permessage-deflate"))
      continue;
    if (auto a = accept(o, policy))
      return a;
  }
  return std::nullopt;
}

// ---- Deflater ------------------------------------------------------------------------------

Deflater::Deflater(int window_bits, int level) : z_(std::make_unique<z_stream_s>()) {
  std::memset(z_.get(), 0, sizeof(z_stream_s));
  ok_ = deflateInit2(z_.get(), level, Z_DEFLATED, -window_bits, kDeflateMemLevel,
                     Z_DEFAULT_STRATEGY) == Z_OK;
}

Deflater::~Deflater() {
  if (ok_)
    deflateEnd(z_.get());
}

bool Deflater::compress(std::string_view in, std::string& out, bool keep_context) {
  if (!ok_)
    return false;
  z_stream_s& z = *z_;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  const std::size_t start = out.size();
  bool good = true;
  while (true) {
    // deflateBound is for a whole stream; a sync flush adds a few bytes. Grow in steps after.
    const std::size_t room =
        out.size() == start ? deflateBound(&z, static_cast<uLong>(in.size())) + 16 : 4096;
    const std::size_t used = out.size();
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    out.resize(used + room - z.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      good = false;
      break;
    }
    if (z.avail_in == 0 && z.avail_out != 0)
      break;  // everything in and flushed
  }
  if (good) {
    // A sync flush always ends with 00 00 ff ff.
    if (out.size() - start < 4 || std::memcmp(out.data() + out.size() - 4, kTail, 4) != 0)
      good = false;
    else
      out.resize(out.size() - 4);
  }
  if (!keep_context || !good)
    deflateReset(&z);
  return good;
}

Deflater& shared_deflater(int window_bits) {
  window_bits = std::clamp(window_bits, 9, 15);
  thread_local std::unique_ptr<Deflater> streams[7];
  auto& d = streams[window_bits - 9];
  if (!d)
    d = std::make_unique<Deflater>(window_bits);
  return *d;
}

// ---- Inflater ------------------------------------------------------------------------------

Inflater::Inflater() : z_(std::make_unique<z_stream_s>()) {
  std::memset(z_.get(), 0, sizeof(z_stream_s));
  ok_ = inflateInit2(z_.get(), -15) == Z_OK;
}

Inflater::~Inflater() {
  if (ok_)
    inflateEnd(z_.get());
}

void Inflater::reset() {
  message_input_ = 0;
  if (ok_)
    inflateReset(z_.get());
}

InflateResult Inflater::run(const unsigned char* in, std::size_t n, std::string& out,
                            std::size_t limit) {
  z_stream_s& z = *z_;
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = static_cast<uInt>(n);
  const std::size_t cap = limit == 0 ? SIZE_MAX : limit + 1;  // one byte over: too big
  while (true) {
    if (out.size() >= cap)
      return InflateResult::too_big;
    // Grow with what the input suggests (deflate rarely beats 1:8 on text), never past cap.
    std::size_t room = std::max<std::size_t>(4096, std::min<std::size_t>(out.size(), 1 << 20));
    room = std::max(room, std::min<std::size_t>(n * 4, 1 << 20));
    room = std::min(room, cap - out.size());
    const std::size_t used = out.size();
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int rc = ::inflate(&z, Z_SYNC_FLUSH);
    out.resize(used + room - z.avail_out);
    if (rc == Z_STREAM_END) {
      // A block with BFINAL set (allowed, RFC 7692 §7.2.3.?): what follows starts afresh.
      inflateReset(&z);
      if (z.avail_in == 0)
        return out.size() >= cap ? InflateResult::too_big : InflateResult::ok;
      continue;
    }
    if (rc == Z_BUF_ERROR) {  // no progress possible: input used up (or output full)
      if (z.avail_in == 0)
        return InflateResult::ok;
      continue;  // output was full: the loop checks cap and grows
    }
    if (rc != Z_OK)
      return InflateResult::bad_data;
    if (z.avail_in == 0 && z.avail_out != 0)
      return out.size() >= cap ? InflateResult::too_big : InflateResult::ok;
  }
}

InflateResult Inflater::inflate(std::string_view in, bool last, std::string& out,
                                std::size_t limit) {
  if (!ok_)
    return InflateResult::bad_data;
  message_input_ = last ? 0 : message_input_ + in.size();
  InflateResult r = run(reinterpret_cast<const unsigned char*>(in.data()), in.size(), out, limit);
  if (r == InflateResult::ok && last)
    r = run(kTail, sizeof(kTail), out, limit);
  if (r == InflateResult::ok && limit != 0 && out.size() > limit)
    r = InflateResult::too_big;
  if (r != InflateResult::ok)
    inflateReset(z_.get());
  return r;
}

InflateResult inflate_message(std::string_view in, std::string& out, std::size_t limit) {
  thread_local Inflater inflater;
  const InflateResult r = inflater.inflate(in, true, out, limit);
  inflater.reset();
  return r;
}

}  // namespace steadyws::protocol
