// Test helpers: keys generated at test time, their JWKs, and a JOSE signer, so that every
// token in the tests is made here (no token fixtures that could silently go stale).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/alg.h"
#include "authz/jwt/jwks.h"
#include "authz/jwt/verify.h"

namespace obsgate::authz::jwt::testing {

struct TestKey {
  Alg alg = Alg::kRs256;
  std::string kid;
  PkeyPtr priv;  // private key (holds the public half too)
};

// Generates a fresh key for `alg` (RSA: `rsa_bits`, default 2048).
TestKey make_key(Alg alg, std::string kid, int rsa_bits = 2048);
// Generates an EC key on an explicit curve ("P-256", "P-384", "P-521").
TestKey make_ec_key(std::string_view crv, Alg alg, std::string kid);

// The public JWK of `k`, as a JSON object text; `extra` (",\"use\":\"sig\"" ...) is appended
// inside the braces verbatim. `with_alg` adds "alg".
std::string public_jwk(const TestKey& k, std::string_view extra = "", bool with_alg = true);
// {"keys":[...]} from JWK texts.
std::string jwks(const std::vector<std::string>& jwk_texts);

// JOSE signature (RSA PKCS#1/PSS, ECDSA r||s, Ed25519) of `input` with `alg`.
std::string sign_raw(Alg alg, EVP_PKEY* priv, std::string_view input);
// HMAC-SHA256 with an arbitrary secret, for the RS/HS confusion attack.
std::string hmac_sha256(std::string_view secret, std::string_view input);

// base64url(header).base64url(payload).base64url(sig(alg)) with raw JSON texts.
std::string sign_token(const TestKey& k, std::string_view header_json,
                       std::string_view payload_json);
// Same, with the signature computed for `alg` instead of the key's own.
std::string sign_token_as(Alg alg, EVP_PKEY* priv, std::string_view header_json,
                          std::string_view payload_json);

// The fixed "now" of the tests and its epoch seconds.
inline constexpr long long kNow = 1800000000;
inline std::chrono::system_clock::time_point now_tp(long long delta = 0) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(kNow + delta));
}
inline constexpr std::string_view kIssuer = "https://idp.test/realms/obs";
inline constexpr std::string_view kAudience = "obsgate";

// {"alg":A,"kid":K,"typ":"JWT"} for the key.
std::string std_header(const TestKey& k);
// Valid claims: iss, sub, aud, iat = now - 10, exp = now + 300, plus `extra` members appended.
std::string std_claims(std::string_view extra = "");

// Claims built from the defaults of std_claims() with members replaced (name -> raw JSON
// text) or removed (name -> "" ), in a stable order; new names are appended.
std::string claims_json(const std::vector<std::pair<std::string, std::string>>& overrides);

// The RSA public key as PEM/DER SubjectPublicKeyInfo (what a careless HS verifier would use as
// the HMAC secret).
std::string public_pem(EVP_PKEY* key);

// Keys shared by a test binary (generated once per process):
//   rsa       RSA-2048, JWK without alg (verifies RS* and PS*)
//   rsa-rs256 RSA-2048, JWK with "alg":"RS256"
//   p256/p384/p521  EC keys for ES256/ES384/ES512
//   ed        Ed25519
//   evil_*    keys the attacker holds; not in the JWKS (kids "rsa" and "p256" when used)
struct Fixture {
  TestKey rsa, rsa_rs256, p256, p384, p521, ed, evil_rsa, evil_p256;
  std::string jwks_json;
  KeySetPtr keys;
  VerifyOptions opts;  // every alg allowed, kIssuer, kAudience
};
const Fixture& fixture();

}  // namespace obsgate::authz::jwt::testing
