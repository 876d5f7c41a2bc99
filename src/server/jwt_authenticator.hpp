// The JWT as the client credential (CONTRACT §8): auth::JwtVerifier behind the policy's
// Authenticator seam (policy.hpp), so a request is checked in one place whatever the token.
// The verified claims ride along in Credential::permissions for the handlers (channels claim,
// `sub`, `exp`). Thread-safe: the verifier is immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/jwt.hpp"
#include "server/policy.hpp"

namespace steadyws::server {

// What a JWT credential may do on channels: its verified claims.
struct Permissions {
  auth::Claims claims;
};

class JwtAuthenticator final : public Authenticator {
 public:
  explicit JwtAuthenticator(const auth::JwtVerifier& verifier) : verifier_(verifier) {}

  Result authenticate(const std::optional<std::string>& token, std::int64_t now_ms) const override {
    auto v = verifier_.verify(token.value_or(std::string()), now_ms);
    if (!v)
      return {std::nullopt,
              "JWT refused: " + v.error + "; pass ?token=JWT or Authorization: Bearer JWT"};
    Credential c;
    c.kind = CredentialKind::client;
    c.subject = v.claims->sub;
    c.expires_ms = v.claims->exp_ms;
    c.permissions = std::make_shared<const Permissions>(Permissions{std::move(*v.claims)});
    return {std::move(c), {}};
  }

 private:
  const auth::JwtVerifier& verifier_;  // ServerState::jwt, which outlives the policy
};

// The claims a credential carries, when it is a JWT.
inline std::optional<auth::Claims> claims_of(const Credential& c) {
  if (!c.permissions)
    return std::nullopt;
  return c.permissions->claims;
}

}  // namespace steadyws::server
