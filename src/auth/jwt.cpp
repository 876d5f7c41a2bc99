#include "auth/jwt.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace steadyws::auth {

namespace json = boost::json;

namespace {

constexpr std::string_view kSubPlaceholder = "{sub}";

bool ends_with_star(std::string_view p) {
  return !p.empty() && p.back() == '*';
}

// `pattern` with every {sub} replaced by `sub`. nullopt when it uses {sub} and sub is empty.
std::optional<std::string> expand(std::string_view pattern, std::string_view sub) {
  std::string out;
  out.reserve(pattern.size() + sub.size());
  while (true) {
    const auto at = pattern.find(kSubPlaceholder);
    if (at == std::string_view::npos)
      break;
    if (sub.empty())
      return std::nullopt;
    out.append(pattern.substr(0, at));
    out.append(sub);
    pattern.remove_prefix(at + kSubPlaceholder.size());
  }
  out.append(pattern);
  return out;
}

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};

// A JSON number as Unix ms: NumericDate is seconds, possibly fractional (RFC 7519 §2).
std::optional<std::int64_t> numeric_date_ms(const json::value& v) {
  double s = 0;
  if (v.is_int64())
    s = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    s = static_cast<double>(v.get_uint64());
  else if (v.is_double())
    s = v.get_double();
  else
    return std::nullopt;
  // Far beyond any real date (year ~292,000) would overflow the ms: clamp, never UB.
  constexpr double kMaxSeconds = 9.0e15;
  if (!std::isfinite(s) || s > kMaxSeconds || s < -kMaxSeconds)
    return std::nullopt;
  return static_cast<std::int64_t>(std::floor(s * 1000.0));
}

// A JSON array of strings, or nullopt.
std::optional<std::vector<std::string>> string_list(const json::value& v) {
  if (!v.is_array())
    return std::nullopt;
  std::vector<std::string> out;
  out.reserve(v.get_array().size());
  for (const auto& e : v.get_array()) {
    if (!e.is_string())
      return std::nullopt;
    out.emplace_back(e.get_string());
  }
  return out;
}

std::optional<json::object> decode_json_object(std::string_view part) {
  auto bytes = base64url_decode(part);
  if (!bytes)
    return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.get_object());
}

Verified refuse(std::string why) {
  Verified v;
  v.error = std::move(why);
  return v;
}

bool is_b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

jwt_alg_t libjwt_alg(JwtAlg a) {
  switch (a) {
    case JwtAlg::hs256:
      return JWT_ALG_HS256;
    case JwtAlg::rs256:
      return JWT_ALG_RS256;
    case JwtAlg::es256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

}  // namespace

// ---- the matcher ---------------------------------------------------------------------------

bool channel_matches(std::string_view pattern, std::string_view channel, std::string_view sub) {
  // The wildcard is decided on the pattern as written, before {sub} is expanded, so a `sub`
  // ending in `*` cannot widen a pattern into a prefix.
  const bool prefix = ends_with_star(pattern);
  if (prefix)
    pattern.remove_suffix(1);
  const auto expanded = expand(pattern, sub);
  if (!expanded)
    return false;
  if (prefix)
    return channel.substr(0, expanded->size()) == *expanded;
  return !channel.empty() && channel == *expanded;
}

bool any_matches(const std::vector<std::string>& patterns, std::string_view channel,
                 std::string_view sub) {
  for (const auto& p : patterns) {
    if (channel_matches(p, channel, sub))
      return true;
  }
  return false;
}

bool ChannelPermissions::may_subscribe(std::string_view channel, std::string_view sub) const {
  if (!restricted)
    return true;
  return subscribe && any_matches(*subscribe, channel, sub);
}

bool ChannelPermissions::may_publish(std::string_view channel, std::string_view sub) const {
  if (!restricted)
    return true;
  return publish && any_matches(*publish, channel, sub);
}

// ---- base64url -----------------------------------------------------------------------------

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1)
    return std::nullopt;  // no whole byte ends there
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = b64url_value(c);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero (a canonical encoding): "QQ" is "A", "QR" is not.
  if (bits > 0 && (acc & ((1U << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::optional<std::int64_t> peek_exp_ms(std::string_view token) {
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos)
    return std::nullopt;
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos)
    return std::nullopt;
  const auto payload = decode_json_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload)
    return std::nullopt;
  const auto* exp = payload->if_contains("exp");
  return exp == nullptr ? std::nullopt : numeric_date_ms(*exp);
}

// ---- the verifier --------------------------------------------------------------------------

std::string_view to_string(JwtAlg a) noexcept {
  switch (a) {
    case JwtAlg::hs256:
      return "HS256";
    case JwtAlg::rs256:
      return "RS256";
    case JwtAlg::es256:
      return "ES256";
  }
  return "HS256";
}

JwtVerifier JwtVerifier::from_secret(std::string secret, std::chrono::milliseconds leeway) {
  if (secret.empty())
    throw std::invalid_argument("--jwt-secret is empty; give a secret of at least 32 bytes");
  return JwtVerifier(JwtAlg::hs256, std::move(secret), leeway);
}

JwtVerifier JwtVerifier::from_public_key_pem(std::string pem, std::chrono::milliseconds leeway) {
  // OpenSSL reads the key only to learn its type (and that it is a public key at all);
  // libjwt reads the same PEM again for each verification.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio)
    throw std::invalid_argument("out of memory reading the JWT public key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key)
    throw std::invalid_argument(
        "--jwt-public-key is not a PEM public key (-----BEGIN PUBLIC KEY-----); export it with "
        "`openssl pkey -in KEY -pubout`");
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key.get()) < 2048)
        throw std::invalid_argument("--jwt-public-key: RSA keys under 2048 bits are refused");
      return JwtVerifier(JwtAlg::rs256, std::move(pem), leeway);
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t n = 0;
      if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &n) != 1 ||
          std::string_view(group, n) != "prime256v1")
        throw std::invalid_argument(
            "--jwt-public-key: an EC key must be on P-256 (prime256v1) for ES256");
      return JwtVerifier(JwtAlg::es256, std::move(pem), leeway);
    }
    default:
      throw std::invalid_argument(
          "--jwt-public-key: only RSA (RS256) and EC P-256 (ES256) public keys are supported");
  }
}

Verified JwtVerifier::verify(std::string_view token, std::int64_t now_ms) const {
  if (token.empty())
    return refuse("no token");
  if (token.size() > kMaxTokenBytes)
    return refuse("token over " + std::to_string(kMaxTokenBytes) + " bytes");

  // header.payload.signature, each base64url (a JWS in compact form, RFC 7515 §7.1).
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse("malformed token: a JWT is three base64url parts separated by '.'");
  for (char c : token) {
    if (c != '.' && !is_b64url_char(c))
      return refuse("malformed token: a character outside base64url");
  }
  const auto header = decode_json_object(token.substr(0, dot1));
  if (!header)
    return refuse("malformed token: the header is not a base64url JSON object");
  const auto payload = decode_json_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload)
    return refuse("malformed token: the payload is not a base64url JSON object");

  // The algorithm is pinned to the key, before any signature check (see the header).
  const auto* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string())
    return refuse("malformed token: the header has no \"alg\"");
  const std::string_view alg_name = alg->get_string();
  if (alg_name.size() == 4 && (alg_name[0] | 0x20) == 'n' && (alg_name[1] | 0x20) == 'o' &&
      (alg_name[2] | 0x20) == 'n' && (alg_name[3] | 0x20) == 'e')
    return refuse("unsigned token (alg none) refused");
  if (alg_name != to_string(alg_)) {
    std::string shown(alg_name.substr(0, 16));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
        c = '?';
    }
    return refuse("alg " + shown + " refused: this server's key accepts " +
                  std::string(to_string(alg_)) + " only");
  }
  if (dot2 + 1 == token.size())
    return refuse("malformed token: no signature");

  // libjwt checks the signature with the header's alg, which we have just pinned.
  const std::string text(token);
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                            static_cast<int>(key_.size()));
  const std::unique_ptr<jwt_t, JwtDeleter> decoded(raw);
  if (rc != 0 || !decoded)
    return refuse("bad signature: the token was not signed by this server's key");
  if (jwt_get_alg(decoded.get()) != libjwt_alg(alg_))
    return refuse("bad signature: unexpected algorithm");  // cannot happen after the pin

  // The claims, from the payload whose bytes the signature covers.
  Claims c;
  const auto* exp = payload->if_contains("exp");
  if (exp == nullptr)
    return refuse("token has no exp; the server requires an expiry");
  const auto exp_ms = numeric_date_ms(*exp);
  if (!exp_ms)
    return refuse("malformed token: exp must be a number of seconds");
  c.exp_ms = *exp_ms;
  const std::int64_t leeway = leeway_.count();
  if (now_ms >= c.exp_ms + leeway)
    return refuse("token expired");
  if (const auto* nbf = payload->if_contains("nbf")) {
    const auto ms = numeric_date_ms(*nbf);
    if (!ms)
      return refuse("malformed token: nbf must be a number of seconds");
    if (now_ms < *ms - leeway)
      return refuse("token not valid yet (nbf)");
  }
  if (const auto* iat = payload->if_contains("iat")) {
    const auto ms = numeric_date_ms(*iat);
    if (!ms)
      return refuse("malformed token: iat must be a number of seconds");
    if (*ms > now_ms + leeway)
      return refuse("token issued in the future (iat)");
  }
  if (const auto* sub = payload->if_contains("sub")) {
    if (!sub->is_string())
      return refuse("malformed token: sub must be a string");
    c.sub = std::string(sub->get_string());
  }
  if (const auto* ch = payload->if_contains("channels")) {
    if (!ch->is_object())
      return refuse("malformed token: channels must be {\"subscribe\":[...],\"publish\":[...]}");
    c.channels.restricted = true;
    const auto& o = ch->get_object();
    if (const auto* s = o.if_contains("subscribe")) {
      c.channels.subscribe = string_list(*s);
      if (!c.channels.subscribe)
        return refuse("malformed token: channels.subscribe must be an array of strings");
    }
    if (const auto* p = o.if_contains("publish")) {
      c.channels.publish = string_list(*p);
      if (!c.channels.publish)
        return refuse("malformed token: channels.publish must be an array of strings");
    }
  }
  Verified v;
  v.claims = std::move(c);
  return v;
}

}  // namespace steadyws::auth
