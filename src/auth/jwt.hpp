// JSON Web Tokens as the client credential (CONTRACT §8): verification with libjwt, the
// claims the server uses (`sub`, `exp`, `channels`) and the channel matcher.
//
// Pure: no sockets, no clock reads (the time is an argument), no global state. The crypto is
// libjwt's (OpenSSL underneath); this file only decides what is accepted:
//   1. The algorithm is pinned to the key: --jwt-secret accepts HS256 only, an RSA public key
//      RS256 only, an EC P-256 public key ES256 only. The header's `alg` is checked before any
//      signature check, so `alg:none` and algorithm confusion (an HS256 token whose HMAC key
//      is the RSA public key's PEM text, which libjwt alone would accept) are refused.
//   2. `exp` is required; `exp`, `nbf` and `iat` are honoured with `leeway` either way
//      (clock skew between the issuer and this server).
//   3. Every refusal has a short reason fit for a log line or an error frame; a reason never
//      contains any part of the token.
//
// Thread-safety: a JwtVerifier is immutable after construction; verify() is const and
// reentrant, so one verifier is shared by every session.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steadyws::auth {

// 30 s: covers the skew of machines without NTP discipline, short enough not to keep an
// expired credential alive noticeably (docs/security.md, --jwt-leeway).
inline constexpr std::chrono::milliseconds kDefaultJwtLeeway{30000};
// A token longer than this is refused before any parsing (a JWT with a channels claim of a
// few dozen patterns is well under 2 KiB).
inline constexpr std::size_t kMaxTokenBytes = 8192;

// Which channels a token's `channels` claim lets it use (CONTRACT §8).
// A pattern is a channel name (exact match) or a prefix ending in `*` ("chat.*", or "*" for
// every channel); `{sub}` anywhere in a pattern stands for the token's `sub`. Only a final
// `*` written in the pattern is a wildcard: one that arrives through `sub` is a literal (and
// as `*` is not a channel character, matches nothing). A pattern using `{sub}` matches
// nothing when the token has no `sub`.
struct ChannelPermissions {
  bool restricted = false;  // the claim is present; false: everything is allowed
  // Each list is absent when the claim does not name it: with restricted, nothing allowed.
  std::optional<std::vector<std::string>> subscribe;
  std::optional<std::vector<std::string>> publish;

  bool may_subscribe(std::string_view channel, std::string_view sub) const;
  bool may_publish(std::string_view channel, std::string_view sub) const;
};

// True when `channel` matches `pattern` for a token whose subject is `sub` (see above).
bool channel_matches(std::string_view pattern, std::string_view channel, std::string_view sub);
// True when any of `patterns` matches.
bool any_matches(const std::vector<std::string>& patterns, std::string_view channel,
                 std::string_view sub);

// What a verified token says.
struct Claims {
  std::string sub;          // empty when the token has none
  std::int64_t exp_ms = 0;  // `exp` in Unix ms (the token's own value, without leeway)
  ChannelPermissions channels;

  bool may_subscribe(std::string_view channel) const {
    return channels.may_subscribe(channel, sub);
  }
  bool may_publish(std::string_view channel) const { return channels.may_publish(channel, sub); }
};

// The outcome of verify(): claims, or the reason for the refusal.
struct Verified {
  std::optional<Claims> claims;
  std::string error;  // set when !claims; never contains the token

  explicit operator bool() const { return claims.has_value(); }
};

enum class JwtAlg { hs256, rs256, es256 };
std::string_view to_string(JwtAlg a) noexcept;  // "HS256", "RS256", "ES256"

class JwtVerifier {
 public:
  // HS256 with a shared secret. Throws std::invalid_argument when `secret` is empty.
  static JwtVerifier from_secret(std::string secret,
                                 std::chrono::milliseconds leeway = kDefaultJwtLeeway);
  // RS256 or ES256 (P-256) from a PEM public key (SubjectPublicKeyInfo, "BEGIN PUBLIC
  // KEY"); the key type decides the one algorithm accepted. Throws std::invalid_argument
  // saying why when the PEM is not an RSA or P-256 public key.
  static JwtVerifier from_public_key_pem(std::string pem,
                                         std::chrono::milliseconds leeway = kDefaultJwtLeeway);

  // Checks `token` at wall time `now_ms` (Unix ms): header, algorithm, signature, then
  // exp (now < exp + leeway), nbf (now >= nbf - leeway), iat (iat <= now + leeway), and the
  // shape of `sub` and `channels`.
  Verified verify(std::string_view token, std::int64_t now_ms) const;

  // When a token with `exp_ms` stops being accepted (exp + leeway): the server's deadline
  // for closing a connection with 4003.
  std::int64_t deadline_ms(std::int64_t exp_ms) const { return exp_ms + leeway_.count(); }

  JwtAlg alg() const { return alg_; }
  std::chrono::milliseconds leeway() const { return leeway_; }

 private:
  JwtVerifier(JwtAlg alg, std::string key, std::chrono::milliseconds leeway)
      : alg_(alg), key_(std::move(key)), leeway_(leeway) {}

  JwtAlg alg_;
  std::string key_;  // the secret, or the PEM text libjwt reads
  std::chrono::milliseconds leeway_;
};

// The `exp` of a JWT in Unix ms, read WITHOUT verifying anything: for a client deciding when
// to ask for a new token, never for trusting one. nullopt when `token` is not a JWT or has
// no numeric exp.
std::optional<std::int64_t> peek_exp_ms(std::string_view token);

// Base64url (RFC 4648 §5) without padding, as JWTs use it. nullopt on any character outside
// the alphabet, on padding, or on an impossible length. Exposed for the tests.
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace steadyws::auth
