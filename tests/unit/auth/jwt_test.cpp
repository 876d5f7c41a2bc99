// JwtVerifier and the channel matcher (CONTRACT §8): every refusal the contract names, the
// algorithm pin, the leeway edges to the millisecond, and every edge of the patterns.
#include "auth/jwt.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "support/jwt_maker.hpp"

namespace steadyws::auth {
namespace {

using namespace std::chrono_literals;
using test::claims;
using test::ec_keys;
using test::make_jwt;
using test::rsa_keys;

constexpr std::int64_t kNowS = 1'800'000'000;  // a fixed "now": 2027-01-15
constexpr std::int64_t kNow = kNowS * 1000;
const std::string kSecret = "a-test-secret-of-at-least-32-bytes!!";

JwtVerifier hs(std::chrono::milliseconds leeway = 0ms) {
  return JwtVerifier::from_secret(kSecret, leeway);
}
JwtVerifier rs() {
  return JwtVerifier::from_public_key_pem(rsa_keys().public_pem, 0ms);
}
JwtVerifier es() {
  return JwtVerifier::from_public_key_pem(ec_keys().public_pem, 0ms);
}

// The part of a token between its dots, and a token rebuilt with one part replaced.
std::string part(const std::string& t, int i) {
  const auto a = t.find('.');
  const auto b = t.find('.', a + 1);
  if (i == 0)
    return t.substr(0, a);
  if (i == 1)
    return t.substr(a + 1, b - a - 1);
  return t.substr(b + 1);
}

std::string b64url(std::string_view s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : s) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0)
    out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

// ---- accepted tokens -----------------------------------------------------------------------

TEST(JwtVerifier, AcceptsHs256AndReadsTheClaims) {
  const auto t = make_jwt("HS256", kSecret, claims("alice", kNowS + 60));
  const auto v = hs().verify(t, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_EQ(v.claims->sub, "alice");
  EXPECT_EQ(v.claims->exp_ms, (kNowS + 60) * 1000);
  EXPECT_FALSE(v.claims->channels.restricted);
  EXPECT_TRUE(v.claims->may_subscribe("anything"));
  EXPECT_TRUE(v.claims->may_publish("anything"));
}

TEST(JwtVerifier, AcceptsRs256WithTheRsaPublicKey) {
  const auto t = make_jwt("RS256", rsa_keys().private_pem, claims("bob", kNowS + 60));
  const auto v = rs().verify(t, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_EQ(v.claims->sub, "bob");
  EXPECT_EQ(rs().alg(), JwtAlg::rs256);
}

TEST(JwtVerifier, AcceptsEs256WithTheEcPublicKey) {
  const auto t = make_jwt("ES256", ec_keys().private_pem, claims("carol", kNowS + 60));
  const auto v = es().verify(t, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_EQ(v.claims->sub, "carol");
  EXPECT_EQ(es().alg(), JwtAlg::es256);
}

TEST(JwtVerifier, SubIsOptionalAndFractionalExpIsMilliseconds) {
  const auto t = make_jwt("HS256", kSecret, R"({"exp":1800000060.5})");
  const auto v = hs().verify(t, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_EQ(v.claims->sub, "");
  EXPECT_EQ(v.claims->exp_ms, 1'800'000'060'500);
}

// ---- refused tokens ------------------------------------------------------------------------

TEST(JwtVerifier, RefusesAForgedSignature) {
  const auto t = make_jwt("HS256", kSecret, claims("alice", kNowS + 60));
  // Same header and signature, a payload that grants more: the signature no longer matches.
  const auto forged = part(t, 0) + "." + b64url(claims("admin", kNowS + 60)) + "." + part(t, 2);
  const auto v = hs().verify(forged, kNow);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error.find("bad signature"), std::string::npos) << v.error;
}

TEST(JwtVerifier, RefusesTheWrongSecretAndTheWrongKey) {
  const auto t = make_jwt("HS256", "another-secret-another-secret-123", claims("a", kNowS + 60));
  EXPECT_FALSE(hs().verify(t, kNow));
  const auto r = make_jwt("RS256", test::other_rsa_keys().private_pem, claims("a", kNowS + 60));
  const auto v = rs().verify(r, kNow);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error.find("bad signature"), std::string::npos) << v.error;
}

TEST(JwtVerifier, RefusesAnExpiredTokenAtExpExactly) {
  const auto t = make_jwt("HS256", kSecret, claims("a", kNowS));
  EXPECT_TRUE(hs().verify(t, kNow - 1));
  const auto v = hs().verify(t, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error, "token expired");
}

TEST(JwtVerifier, LeewayExtendsExpBothWaysToTheMillisecond) {
  const auto t = make_jwt("HS256", kSecret, claims("a", kNowS, R"("nbf":1800000010)"));
  const auto v = hs(10s);
  EXPECT_FALSE(v.verify(t, kNow - 1));  // nbf - leeway = kNow: not yet
  EXPECT_TRUE(v.verify(t, kNow));
  EXPECT_TRUE(v.verify(t, kNow + 9'999));
  EXPECT_FALSE(v.verify(t, kNow + 10'000));  // exp + leeway
  EXPECT_EQ(v.deadline_ms(kNow), kNow + 10'000);
}

TEST(JwtVerifier, RefusesANotYetValidToken) {
  const auto t = make_jwt("HS256", kSecret, claims("a", kNowS + 600, R"("nbf":1800000100)"));
  const auto v = hs().verify(t, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error, "token not valid yet (nbf)");
  EXPECT_TRUE(hs().verify(t, kNow + 100'000));
}

TEST(JwtVerifier, RefusesATokenIssuedInTheFuture) {
  const auto t = make_jwt("HS256", kSecret, claims("a", kNowS + 600, R"("iat":1800000001)"));
  const auto v = hs().verify(t, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error, "token issued in the future (iat)");
  EXPECT_TRUE(hs(1s).verify(t, kNow));
}

TEST(JwtVerifier, RequiresExp) {
  const auto t = make_jwt("HS256", kSecret, R"({"sub":"a"})");
  const auto v = hs().verify(t, kNow);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error.find("no exp"), std::string::npos) << v.error;
  const auto s = make_jwt("HS256", kSecret, R"({"sub":"a","exp":"tomorrow"})");
  EXPECT_FALSE(hs().verify(s, kNow));
}

TEST(JwtVerifier, RefusesAlgNoneEvenWithTheSignatureRemoved) {
  const auto t = make_jwt("none", "", claims("a", kNowS + 60));
  for (const auto& v : {hs(), rs(), es()}) {
    const auto r = v.verify(t, kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error, "unsigned token (alg none) refused");
  }
  // "None", "NONE": the same.
  const auto upper = b64url(R"({"alg":"NONE","typ":"JWT"})") + "." + part(t, 1) + ".";
  EXPECT_EQ(hs().verify(upper, kNow).error, "unsigned token (alg none) refused");
  // alg none with a signature copied from a real token.
  const auto real = make_jwt("HS256", kSecret, claims("a", kNowS + 60));
  EXPECT_FALSE(hs().verify(part(t, 0) + "." + part(t, 1) + "." + part(real, 2), kNow));
}

TEST(JwtVerifier, RefusesHs256SignedWithTheRsaPublicKeyText) {
  // The classic confusion: HMAC keyed with the public PEM the server holds. libjwt alone
  // verifies this (it uses the header's alg with whatever key it is given); the pin refuses.
  const auto t = make_jwt("HS256", rsa_keys().public_pem, claims("mallory", kNowS + 60));
  const auto v = rs().verify(t, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error, "alg HS256 refused: this server's key accepts RS256 only");
  const auto e = make_jwt("HS256", ec_keys().public_pem, claims("mallory", kNowS + 60));
  EXPECT_FALSE(es().verify(e, kNow));
}

TEST(JwtVerifier, PinsTheAlgorithmFamilyToTheKey) {
  const auto r = make_jwt("RS256", rsa_keys().private_pem, claims("a", kNowS + 60));
  const auto e = make_jwt("ES256", ec_keys().private_pem, claims("a", kNowS + 60));
  const auto h = make_jwt("HS256", kSecret, claims("a", kNowS + 60));
  const auto h512 = make_jwt("HS512", kSecret, claims("a", kNowS + 60));
  EXPECT_FALSE(hs().verify(r, kNow));
  EXPECT_FALSE(hs().verify(e, kNow));
  EXPECT_FALSE(hs().verify(h512, kNow));
  EXPECT_FALSE(rs().verify(e, kNow));
  EXPECT_FALSE(rs().verify(h, kNow));
  EXPECT_FALSE(es().verify(r, kNow));
  EXPECT_FALSE(es().verify(h, kNow));
  EXPECT_EQ(es().verify(r, kNow).error, "alg RS256 refused: this server's key accepts ES256 only");
}

TEST(JwtVerifier, MalformedTokensGetAClearReasonThatNeverEchoesTheToken) {
  const std::string secretish = "s3cr3tPart";
  const std::string cases[] = {
      "",
      secretish,
      secretish + "." + secretish,
      secretish + "." + secretish + "." + secretish + "." + secretish,
      secretish + "!." + secretish + "." + secretish,
      b64url("not json") + "." + b64url("{}") + ".sig",
      b64url("[1,2]") + "." + b64url("{}") + ".sig",
      b64url(R"({"typ":"JWT"})") + "." + b64url("{}") + ".sig",
      b64url(R"({"alg":"HS256"})") + ".AAA=.sig",
      b64url(R"({"alg":"HS256"})") + "." + b64url(R"({"exp":1})") + ".",
      b64url(R"({"alg":"HS256\u0001)") + "." + b64url("{}") + ".x",
      std::string(kMaxTokenBytes + 1, 'A'),
  };
  for (const auto& t : cases) {
    const auto v = hs().verify(t, kNow);
    ASSERT_FALSE(v) << t;
    EXPECT_FALSE(v.error.empty());
    EXPECT_EQ(v.error.find(secretish), std::string::npos) << v.error;
    if (t.size() > 8) {
      EXPECT_EQ(v.error.find(t.substr(0, 8)), std::string::npos) << v.error;
    }
  }
  EXPECT_EQ(hs().verify("", kNow).error, "no token");
  EXPECT_EQ(hs().verify(std::string(kMaxTokenBytes + 1, 'A'), kNow).error, "token over 8192 bytes");
}

TEST(JwtVerifier, MistypedClaimsAreRefused) {
  for (const char* extra : {R"("sub":7)", R"("channels":[])", R"("channels":{"subscribe":"a"})",
                            R"("channels":{"publish":[1]})", R"("nbf":"x")", R"("iat":true)"}) {
    const auto t =
        make_jwt("HS256", kSecret, "{\"exp\":" + std::to_string(kNowS + 60) + "," + extra + "}");
    const auto v = hs().verify(t, kNow);
    EXPECT_FALSE(v) << extra;
    EXPECT_NE(v.error.find("malformed token"), std::string::npos) << v.error;
  }
}

TEST(JwtVerifier, ReadsTheChannelsClaim) {
  const auto t =
      make_jwt("HS256", kSecret,
               claims("u1", kNowS + 60, R"("channels":{"subscribe":["news.*","user.{sub}"]})"));
  const auto v = hs().verify(t, kNow);
  ASSERT_TRUE(v) << v.error;
  EXPECT_TRUE(v.claims->channels.restricted);
  EXPECT_TRUE(v.claims->may_subscribe("news.sport"));
  EXPECT_TRUE(v.claims->may_subscribe("user.u1"));
  EXPECT_FALSE(v.claims->may_subscribe("user.u2"));
  // The publish list is absent: publishing is allowed nowhere.
  EXPECT_FALSE(v.claims->may_publish("news.sport"));
  EXPECT_FALSE(v.claims->may_publish("user.u1"));
}

TEST(JwtVerifier, KeysThatAreNotSupportedAreRefusedAtStartup) {
  EXPECT_THROW(JwtVerifier::from_secret(""), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::from_public_key_pem("not a pem"), std::invalid_argument);
  // A private key is not a public key.
  EXPECT_THROW(JwtVerifier::from_public_key_pem(rsa_keys().private_pem), std::invalid_argument);
  EXPECT_NO_THROW(JwtVerifier::from_public_key_pem(rsa_keys().public_pem));
}

TEST(PeekExp, ReadsExpWithoutVerifying) {
  EXPECT_EQ(peek_exp_ms(make_jwt("HS256", kSecret, claims("a", kNowS))), kNow);
  EXPECT_EQ(peek_exp_ms(make_jwt("HS256", "other-key", claims("a", kNowS))), kNow);
  EXPECT_EQ(peek_exp_ms(make_jwt("HS256", kSecret, R"({"sub":"a"})")), std::nullopt);
  EXPECT_EQ(peek_exp_ms("plain-static-token"), std::nullopt);
  EXPECT_EQ(peek_exp_ms("a.b.c"), std::nullopt);
}

TEST(Base64url, DecodesCanonicalTextOnly) {
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_EQ(base64url_decode("QQ"), "A");
  EXPECT_EQ(base64url_decode("QUI"), "AB");
  EXPECT_EQ(base64url_decode("QUJD"), "ABC");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(base64url_decode("QR"));    // non-zero leftover bits
  EXPECT_FALSE(base64url_decode("Q"));     // no whole byte
  EXPECT_FALSE(base64url_decode("QQ=="));  // padding
  EXPECT_FALSE(base64url_decode("Q+/A"));  // base64, not base64url
}

// ---- the matcher ---------------------------------------------------------------------------

TEST(ChannelMatches, ExactNames) {
  EXPECT_TRUE(channel_matches("news", "news", "u"));
  EXPECT_FALSE(channel_matches("news", "news2", "u"));
  EXPECT_FALSE(channel_matches("news", "new", "u"));
  EXPECT_FALSE(channel_matches("news", "NEWS", "u"));
  EXPECT_FALSE(channel_matches("", "", "u"));
  EXPECT_FALSE(channel_matches("", "a", "u"));
}

TEST(ChannelMatches, PrefixEndingInStar) {
  EXPECT_TRUE(channel_matches("news.*", "news.sport", "u"));
  EXPECT_TRUE(channel_matches("news.*", "news.", "u"));  // the prefix itself, dot included
  EXPECT_FALSE(channel_matches("news.*", "news", "u"));
  EXPECT_FALSE(channel_matches("news.*", "xnews.a", "u"));
  EXPECT_TRUE(channel_matches("news*", "news", "u"));
  EXPECT_TRUE(channel_matches("news*", "newsroom", "u"));
  EXPECT_TRUE(channel_matches("*", "anything", "u"));
  EXPECT_TRUE(channel_matches("*", "a", ""));
}

TEST(ChannelMatches, StarIsOnlyAWildcardAtTheEnd) {
  EXPECT_FALSE(channel_matches("a*b", "axb", "u"));
  EXPECT_FALSE(channel_matches("a*b", "ab", "u"));
  EXPECT_FALSE(channel_matches("*a", "ba", "u"));
  EXPECT_TRUE(channel_matches("a**", "a*", "u"));  // the first * is literal; no channel has one
  EXPECT_FALSE(channel_matches("a**", "ab", "u"));
}

TEST(ChannelMatches, SubPlaceholder) {
  EXPECT_TRUE(channel_matches("user.{sub}", "user.alice", "alice"));
  EXPECT_FALSE(channel_matches("user.{sub}", "user.alice", "bob"));
  EXPECT_FALSE(channel_matches("user.{sub}", "user.alice2", "alice"));
  EXPECT_TRUE(channel_matches("user.{sub}.*", "user.alice.inbox", "alice"));
  EXPECT_FALSE(channel_matches("user.{sub}.*", "user.alicex.inbox", "alice"));
  EXPECT_TRUE(channel_matches("{sub}", "alice", "alice"));
  EXPECT_TRUE(channel_matches("{sub}-{sub}", "a-a", "a"));
  EXPECT_TRUE(channel_matches("dm.{sub}*", "dm.alice-bob", "alice"));
  // {sub} inside a longer brace word is still a {sub}; other braces are literal.
  EXPECT_FALSE(channel_matches("{user}", "alice", "alice"));
  EXPECT_FALSE(channel_matches("{sub", "alice", "alice"));
}

TEST(ChannelMatches, NoSubMeansSubPatternsMatchNothing) {
  EXPECT_FALSE(channel_matches("user.{sub}", "user.", ""));
  EXPECT_FALSE(channel_matches("user.{sub}*", "user.anything", ""));
  EXPECT_FALSE(channel_matches("{sub}*", "anything", ""));
}

TEST(ChannelMatches, ASubCannotWidenAPattern) {
  // A sub ending in * (or empty-looking) is a literal, never a wildcard.
  EXPECT_FALSE(channel_matches("user.{sub}", "user.anything", "*"));
  EXPECT_FALSE(channel_matches("user.{sub}", "user.a-b", "a*"));
  EXPECT_TRUE(channel_matches("user.{sub}", "user.a*", "a*"));  // literal, never a real channel
  // A sub that itself spells {sub} is not expanded again.
  EXPECT_TRUE(channel_matches("x.{sub}", "x.{sub}", "{sub}"));
  EXPECT_FALSE(channel_matches("x.{sub}", "x.a", "{sub}"));
}

TEST(ChannelPermissions, WithoutTheClaimEverythingIsAllowed) {
  const ChannelPermissions p;
  EXPECT_TRUE(p.may_subscribe("a", ""));
  EXPECT_TRUE(p.may_publish("a", ""));
}

TEST(ChannelPermissions, AnAbsentListAllowsNothingAndAnEmptyListToo) {
  ChannelPermissions p;
  p.restricted = true;
  EXPECT_FALSE(p.may_subscribe("a", "u"));
  EXPECT_FALSE(p.may_publish("a", "u"));
  p.subscribe = std::vector<std::string>{};
  EXPECT_FALSE(p.may_subscribe("a", "u"));
  p.subscribe = std::vector<std::string>{"a", "b.*"};
  p.publish = std::vector<std::string>{"b.{sub}"};
  EXPECT_TRUE(p.may_subscribe("a", "u"));
  EXPECT_TRUE(p.may_subscribe("b.x", "u"));
  EXPECT_FALSE(p.may_subscribe("c", "u"));
  EXPECT_TRUE(p.may_publish("b.u", "u"));
  EXPECT_FALSE(p.may_publish("b.v", "u"));
  EXPECT_FALSE(p.may_publish("a", "u"));
}

}  // namespace
}  // namespace steadyws::auth
