// The negative suite: attacks and malformations, each with the exact Rejection it must get.
// Adding a case means adding a row.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "authz/jwt/base64url.h"
#include "authz/jwt/verify.h"
#include "tests/authz/jwt/test_keys.h"

namespace obsgate::authz::jwt {
namespace {

using testing::claims_json;
using testing::Fixture;
using testing::fixture;
using testing::kNow;
using testing::now_tp;
using testing::sign_token;
using testing::sign_token_as;

std::string b64(std::string_view s) { return base64url_encode(s); }
std::string num(long long delta) { return std::to_string(kNow + delta); }

// A valid ES256 token of the fixture's p256 key with the given header/claims texts.
std::string es256(std::string_view header, std::string_view claims) {
  return sign_token(fixture().p256, header, claims);
}
const std::string kEsHeader = R"({"alg":"ES256","kid":"p256"})";
const std::string kRsHeader = R"({"alg":"RS256","kid":"rsa"})";

// An unsigned token with the given alg spelling.
std::string unsigned_token(std::string_view alg) {
  return b64("{\"alg\":\"" + std::string(alg) + "\"}") + "." + b64(claims_json({})) + ".";
}

std::string replace_segment(const std::string& token, int index, const std::string& seg) {
  const std::size_t d1 = token.find('.');
  const std::size_t d2 = token.find('.', d1 + 1);
  std::string parts[3] = {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1),
                          token.substr(d2 + 1)};
  parts[index] = seg;
  return parts[0] + "." + parts[1] + "." + parts[2];
}
std::string segment(const std::string& token, int index) {
  const std::size_t d1 = token.find('.');
  const std::size_t d2 = token.find('.', d1 + 1);
  return index == 0   ? token.substr(0, d1)
         : index == 1 ? token.substr(d1 + 1, d2 - d1 - 1)
                      : token.substr(d2 + 1);
}

std::string depth_bomb(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') + "1" +
         std::string(static_cast<std::size_t>(depth), ']');
}

// Key sets some rows verify against instead of the fixture's.
KeySetPtr keys_from(const std::vector<std::string>& jwks) {
  Result<KeySetPtr> r = KeySet::parse(testing::jwks(jwks));
  REQUIRE(r.ok());
  return *r;
}

struct Case {
  std::string name;
  std::function<std::string()> token;
  Rejection want;
  std::function<void(VerifyOptions&)> tweak = nullptr;
  std::optional<std::string> cert = std::nullopt;
  std::function<KeySetPtr()> keys = nullptr;
};

TEST_CASE("verify rejects attacks and malformed tokens with the exact reason", "[attacks]") {
  const Fixture& f = fixture();
  const std::string thumb = cert_thumbprint_sha256(std::span<const std::uint8_t>());
  const std::string long_kid(5000, 'k');
  const std::vector<Case> cases = {
      // --- alg confusion ---------------------------------------------------------------------
      {"alg none", [] { return unsigned_token("none"); }, Rejection::kAlgNotAllowed},
      {"alg None", [] { return unsigned_token("None"); }, Rejection::kAlgNotAllowed},
      {"alg NONE", [] { return unsigned_token("NONE"); }, Rejection::kAlgNotAllowed},
      {"alg nOnE", [] { return unsigned_token("nOnE"); }, Rejection::kAlgNotAllowed},
      {"alg none with a real signature attached",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         return replace_segment(t, 0, b64(R"({"alg":"none","kid":"p256"})"));
       },
       Rejection::kAlgNotAllowed},
      {"HS256 keyed with the RSA public key (RS/HS confusion)",
       [&] {
         const std::string input =
             b64(R"({"alg":"HS256","kid":"rsa"})") + "." + b64(claims_json({}));
         return input + "." +
                b64(testing::hmac_sha256(testing::public_pem(f.rsa.priv.get()), input));
       },
       Rejection::kAlgNotAllowed},
      {"HS512 even with every alg allowed", [] { return unsigned_token("HS512"); },
       Rejection::kAlgNotAllowed},
      {"alg in lower case rs256",
       [&] {
         return replace_segment(sign_token(f.rsa, kRsHeader, claims_json({})), 0,
                                b64(R"({"alg":"rs256","kid":"rsa"})"));
       },
       Rejection::kAlgNotAllowed},
      {"alg not on the provider allowlist", [&] { return es256(kEsHeader, claims_json({})); },
       Rejection::kAlgNotAllowed, [](VerifyOptions& o) { o.allowed_algs = {Alg::kRs256}; }},
      {"empty allowlist", [&] { return es256(kEsHeader, claims_json({})); },
       Rejection::kAlgNotAllowed, [](VerifyOptions& o) { o.allowed_algs.clear(); }},
      {"alg is a number", [&] { return es256(R"({"alg":256,"kid":"p256"})", claims_json({})); },
       Rejection::kMalformed},
      {"alg missing", [&] { return es256(R"({"kid":"p256"})", claims_json({})); },
       Rejection::kMalformed},
      // --- key selection ---------------------------------------------------------------------
      {"unknown kid", [&] { return es256(R"({"alg":"ES256","kid":"nope"})", claims_json({})); },
       Rejection::kUnknownKid},
      {"kid path traversal",
       [&] { return es256(R"({"alg":"ES256","kid":"../../dev/null"})", claims_json({})); },
       Rejection::kUnknownKid},
      {"kid SQL injection",
       [&] { return es256(R"({"alg":"ES256","kid":"x' OR '1'='1"})", claims_json({})); },
       Rejection::kUnknownKid},
      {"kid with an embedded NUL",
       [&] { return es256(R"({"alg":"ES256","kid":"p256\u0000evil"})", claims_json({})); },
       Rejection::kUnknownKid},
      {"alg with trailing space",
       [&] { return es256(R"({"alg":"ES256 ","kid":"p256"})", claims_json({})); },
       Rejection::kAlgNotAllowed},
      {"Bearer prefix left on the token",
       [&] { return "Bearer " + es256(kEsHeader, claims_json({})); }, Rejection::kMalformed},
      {"very long kid",
       [&] { return es256("{\"alg\":\"ES256\",\"kid\":\"" + long_kid + "\"}", claims_json({})); },
       Rejection::kMalformed},
      {"kid is an object",
       [&] { return es256(R"({"alg":"ES256","kid":{"a":1}})", claims_json({})); },
       Rejection::kMalformed},
      {"embedded jwk header with the attacker's key",
       [&] {
         const std::string h =
             "{\"alg\":\"RS256\",\"kid\":\"rsa\",\"jwk\":" + testing::public_jwk(f.evil_rsa) + "}";
         return sign_token(f.evil_rsa, h, claims_json({}));
       },
       Rejection::kBadSignature},
      {"embedded jwk header without kid",
       [&] {
         const std::string h =
             "{\"alg\":\"ES256\",\"jwk\":" + testing::public_jwk(f.evil_p256) + "}";
         return sign_token(f.evil_p256, h, claims_json({}));
       },
       Rejection::kBadSignature},
      {"jku header pointing at the attacker",
       [&] {
         return sign_token(f.evil_rsa,
                           R"({"alg":"RS256","kid":"evil","jku":"https://evil.test/jwks"})",
                           claims_json({}));
       },
       Rejection::kUnknownKid},
      {"x5u header pointing at the attacker",
       [&] {
         return sign_token(f.evil_rsa,
                           R"({"alg":"RS256","kid":"evil","x5u":"https://evil.test/c.pem"})",
                           claims_json({}));
       },
       Rejection::kUnknownKid},
      {"x5c header with the attacker's chain",
       [&] {
         return sign_token(f.evil_rsa, R"({"alg":"RS256","kid":"rsa","x5c":["MIIBIjAN"]})",
                           claims_json({}));
       },
       Rejection::kBadSignature},
      {"ES256 token naming the P-384 key (wrong curve)",
       [&] {
         return sign_token_as(Alg::kEs256, f.p384.priv.get(), R"({"alg":"ES256","kid":"p384"})",
                              claims_json({}));
       },
       Rejection::kKeyMismatch},
      {"RS256 token naming an EC key",
       [&] { return sign_token(f.rsa, R"({"alg":"RS256","kid":"p256"})", claims_json({})); },
       Rejection::kKeyMismatch},
      {"EdDSA token naming the RSA key",
       [&] { return sign_token(f.ed, R"({"alg":"EdDSA","kid":"rsa"})", claims_json({})); },
       Rejection::kKeyMismatch},
      {"PS256 with a key restricted to RS256",
       [&] {
         return sign_token_as(Alg::kPs256, f.rsa_rs256.priv.get(),
                              R"({"alg":"PS256","kid":"rsa-rs256"})", claims_json({}));
       },
       Rejection::kKeyMismatch},
      {"no kid and two compatible RSA keys",
       [&] { return sign_token(f.rsa, R"({"alg":"RS256"})", claims_json({})); },
       Rejection::kMalformed},
      {"key with use enc is never used", [&] { return es256(kEsHeader, claims_json({})); },
       Rejection::kUnknownKid, nullptr, std::nullopt,
       [&] {
         return keys_from(
             {testing::public_jwk(f.p256, R"(,"use":"enc")"), testing::public_jwk(f.ed)});
       }},
      {"RSA key below 2048 bits is never used",
       [&] {
         static const testing::TestKey weak = testing::make_key(Alg::kRs256, "weak", 1024);
         return sign_token(weak, R"({"alg":"RS256","kid":"weak"})", claims_json({}));
       },
       Rejection::kUnknownKid, nullptr, std::nullopt,
       [&] {
         static const testing::TestKey weak2 = testing::make_key(Alg::kRs256, "weak", 1024);
         return keys_from({testing::public_jwk(weak2), testing::public_jwk(f.ed)});
       }},
      // --- signatures ------------------------------------------------------------------------
      {"empty signature", [&] { return replace_segment(es256(kEsHeader, claims_json({})), 2, ""); },
       Rejection::kBadSignature},
      {"truncated signature (whole base64 groups)",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));  // 86 signature chars
         return t.substr(0, t.size() - 6);                         // 60 bytes remain
       },
       Rejection::kBadSignature},
      {"padded signature", [&] { return es256(kEsHeader, claims_json({})) + "="; },
       Rejection::kMalformed},
      {"ES256 signature of 63 bytes",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         std::string sig;
         REQUIRE(base64url_decode(segment(t, 2), sig));
         return replace_segment(t, 2, b64(sig.substr(1)));
       },
       Rejection::kBadSignature},
      {"ES256 signature of all zeros",
       [&] {
         return replace_segment(es256(kEsHeader, claims_json({})), 2, b64(std::string(64, '\0')));
       },
       Rejection::kBadSignature},
      {"ES256 signature DER-encoded instead of r||s",
       [&] {
         const std::string input = b64(kEsHeader) + "." + b64(claims_json({}));
         // A DER ECDSA-Sig-Value is 70-72 bytes: the length check must refuse it.
         return input + "." +
                b64(std::string("\x30\x44\x02\x20", 4) + std::string(32, 'a') +
                    std::string("\x02\x20", 2) + std::string(32, 'b'));
       },
       Rejection::kBadSignature},
      {"RSA signature one byte short",
       [&] {
         const std::string t = sign_token(f.rsa, kRsHeader, claims_json({}));
         std::string sig;
         REQUIRE(base64url_decode(segment(t, 2), sig));
         return replace_segment(t, 2, b64(sig.substr(1)));
       },
       Rejection::kBadSignature},
      {"tampered header",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         return replace_segment(t, 0, b64(R"({"alg":"ES256","kid":"p256","typ":"JWT"})"));
       },
       Rejection::kBadSignature},
      {"tampered payload",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         return replace_segment(t, 1, b64(claims_json({{"sub", R"("admin")"}})));
       },
       Rejection::kBadSignature},
      {"tampered signature bit",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         std::string sig;
         REQUIRE(base64url_decode(segment(t, 2), sig));
         sig[10] = static_cast<char>(sig[10] ^ 0x01);
         return replace_segment(t, 2, b64(sig));
       },
       Rejection::kBadSignature},
      {"signed by the attacker's key under our kid",
       [&] { return sign_token(f.evil_p256, kEsHeader, claims_json({})); },
       Rejection::kBadSignature},
      {"Ed25519 signature of wrong length",
       [&] {
         const std::string t = sign_token(f.ed, R"({"alg":"EdDSA","kid":"ed"})", claims_json({}));
         return replace_segment(t, 2, b64(std::string(63, 'x')));
       },
       Rejection::kBadSignature},
      // --- time ------------------------------------------------------------------------------
      {"expired",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", num(-120)}}));
       },
       Rejection::kExpired},
      {"expired long ago",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", "1"}, {"iat", "0"}}));
       },
       Rejection::kExpired},
      {"not yet valid",
       [&] {
         return es256(kEsHeader, claims_json({{"nbf", num(300)}}));
       },
       Rejection::kNotYetValid},
      {"iat in the future beyond skew",
       [&] {
         return es256(kEsHeader, claims_json({{"iat", num(600)}, {"exp", num(900)}}));
       },
       Rejection::kNotYetValid},
      {"exp as string",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", "\"" + num(300) + "\""}}));
       },
       Rejection::kMalformed},
      {"exp missing",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", ""}}));
       },
       Rejection::kMalformed},
      {"exp negative",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", "-5"}}));
       },
       Rejection::kMalformed},
      {"exp boolean",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", "true"}}));
       },
       Rejection::kMalformed},
      {"exp absurdly large",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", "1e300"}}));
       },
       Rejection::kMalformed},
      {"nbf as string",
       [&] {
         return es256(kEsHeader, claims_json({{"nbf", "\"0\""}}));
       },
       Rejection::kMalformed},
      {"lifetime too long",
       [&] {
         return es256(kEsHeader, claims_json({{"exp", num(2 * 86400)}}));
       },
       Rejection::kLifetimeTooLong},
      {"lifetime too long without iat",
       [&] {
         return es256(kEsHeader, claims_json({{"iat", ""}, {"exp", num(2 * 86400)}}));
       },
       Rejection::kLifetimeTooLong},
      // --- issuer / audience -----------------------------------------------------------------
      {"wrong issuer",
       [&] {
         return es256(kEsHeader, claims_json({{"iss", R"("https://evil.test")"}}));
       },
       Rejection::kWrongIssuer},
      {"issuer with trailing slash",
       [&] {
         return es256(kEsHeader, claims_json({{"iss", R"("https://idp.test/realms/obs/")"}}));
       },
       Rejection::kWrongIssuer},
      {"issuer missing",
       [&] {
         return es256(kEsHeader, claims_json({{"iss", ""}}));
       },
       Rejection::kWrongIssuer},
      {"issuer is an array",
       [&] {
         return es256(kEsHeader, claims_json({{"iss", R"(["https://idp.test/realms/obs"])"}}));
       },
       Rejection::kMalformed},
      {"wrong audience",
       [&] {
         return es256(kEsHeader, claims_json({{"aud", R"("other")"}}));
       },
       Rejection::kWrongAudience},
      {"aud array without ours",
       [&] {
         return es256(kEsHeader, claims_json({{"aud", R"(["a","b"])"}}));
       },
       Rejection::kWrongAudience},
      {"aud empty array",
       [&] {
         return es256(kEsHeader, claims_json({{"aud", "[]"}}));
       },
       Rejection::kWrongAudience},
      {"aud missing",
       [&] {
         return es256(kEsHeader, claims_json({{"aud", ""}}));
       },
       Rejection::kWrongAudience},
      {"aud array holding a number",
       [&] {
         return es256(kEsHeader, claims_json({{"aud", R"(["obsgate",1])"}}));
       },
       Rejection::kMalformed},
      {"no audience configured rejects every token",
       [&] { return es256(kEsHeader, claims_json({})); }, Rejection::kWrongAudience,
       [](VerifyOptions& o) { o.audiences.clear(); }},
      {"no issuer configured rejects every token",
       [&] { return es256(kEsHeader, claims_json({})); }, Rejection::kWrongIssuer,
       [](VerifyOptions& o) { o.issuer.clear(); }},
      {"empty issuer claim with empty configured issuer",
       [&] {
         return es256(kEsHeader, claims_json({{"iss", R"("")"}}));
       },
       Rejection::kWrongIssuer, [](VerifyOptions& o) { o.issuer.clear(); }},
      {"sub is a number",
       [&] {
         return es256(kEsHeader, claims_json({{"sub", "7"}}));
       },
       Rejection::kMalformed},
      // --- JSON ------------------------------------------------------------------------------
      {"duplicate alg in header",
       [&] { return es256(R"({"alg":"ES256","kid":"p256","alg":"none"})", claims_json({})); },
       Rejection::kMalformed},
      {"duplicate kid in header",
       [&] { return es256(R"({"alg":"ES256","kid":"p256","kid":"p384"})", claims_json({})); },
       Rejection::kMalformed},
      {"duplicate sub in payload",
       [&] {
         return es256(kEsHeader, claims_json({{"sub2", "1"}}).insert(1, R"("sub":"admin",)"));
       },
       Rejection::kMalformed},
      {"duplicate nested key in payload",
       [&] {
         return es256(kEsHeader,
                      claims_json({{"realm_access", R"({"roles":[],"roles":["admin"]})"}}));
       },
       Rejection::kMalformed},
      {"header is a JSON array",
       [&] { return replace_segment(es256(kEsHeader, claims_json({})), 0, b64(R"(["ES256"])")); },
       Rejection::kMalformed},
      {"header is a JSON string",
       [&] { return replace_segment(es256(kEsHeader, claims_json({})), 0, b64(R"("ES256")")); },
       Rejection::kMalformed},
      {"payload is a JSON array", [&] { return es256(kEsHeader, R"(["iss"])"); },
       Rejection::kMalformed},
      {"payload is a JSON string", [&] { return es256(kEsHeader, R"("x")"); },
       Rejection::kMalformed},
      {"payload depth bomb",
       [&] {
         return es256(kEsHeader, claims_json({{"x", depth_bomb(5000)}}));
       },
       Rejection::kMalformed},
      {"header depth bomb",
       [&] {
         return es256("{\"alg\":\"ES256\",\"kid\":\"p256\",\"x\":" + depth_bomb(100) + "}",
                      claims_json({}));
       },
       Rejection::kMalformed},
      {"payload with invalid UTF-8",
       [&] {
         return es256(kEsHeader, claims_json({{"name", "\"\xc3\x28\""}}));
       },
       Rejection::kMalformed},
      {"payload with trailing garbage", [&] { return es256(kEsHeader, claims_json({}) + "x"); },
       Rejection::kMalformed},
      {"header not JSON",
       [&] { return replace_segment(es256(kEsHeader, claims_json({})), 0, b64("alg=ES256")); },
       Rejection::kMalformed},
      // --- token shape -----------------------------------------------------------------------
      {"oversize token",
       [&] {
         return es256(kEsHeader, claims_json({{"pad", "\"" + std::string(17000, 'a') + "\""}}));
       },
       Rejection::kTooLarge},
      {"empty token", [] { return std::string(); }, Rejection::kMalformed},
      {"only dots", [] { return std::string(".."); }, Rejection::kMalformed},
      {"empty header segment",
       [&] { return replace_segment(es256(kEsHeader, claims_json({})), 0, ""); },
       Rejection::kMalformed},
      {"empty payload segment",
       [&] { return replace_segment(es256(kEsHeader, claims_json({})), 1, ""); },
       Rejection::kMalformed},
      {"two segments", [&] { return b64(kEsHeader) + "." + b64(claims_json({})); },
       Rejection::kMalformed},
      {"four segments", [&] { return es256(kEsHeader, claims_json({})) + ".AAAA"; },
       Rejection::kMalformed},
      {"five segments (JWE shape)", [] { return std::string("a.b.c.d.e"); }, Rejection::kMalformed},
      {"standard base64 characters in header",
       [&] {
         std::string t = es256(kEsHeader, claims_json({}));
         t[2] = '+';
         return t;
       },
       Rejection::kMalformed},
      {"padding in header",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         return replace_segment(t, 0, segment(t, 0) + "=");
       },
       Rejection::kMalformed},
      {"padding in payload (signed as sent)",
       [&] {
         const std::string input = b64(kEsHeader) + "." + b64(claims_json({})) + "==";
         return input + "." + b64(testing::sign_raw(Alg::kEs256, f.p256.priv.get(), input));
       },
       Rejection::kMalformed},
      {"whitespace inside the token",
       [&] {
         const std::string t = es256(kEsHeader, claims_json({}));
         return t.substr(0, 5) + " " + t.substr(5);
       },
       Rejection::kMalformed},
      // --- crit / typ ------------------------------------------------------------------------
      {"crit unknown extension",
       [&] {
         return es256(R"({"alg":"ES256","kid":"p256","crit":["exp"],"exp":1})", claims_json({}));
       },
       Rejection::kCritUnsupported},
      {"crit b64 (unencoded payload)",
       [&] {
         return es256(R"({"alg":"ES256","kid":"p256","crit":["b64"],"b64":false})",
                      claims_json({}));
       },
       Rejection::kCritUnsupported},
      {"crit empty array",
       [&] { return es256(R"({"alg":"ES256","kid":"p256","crit":[]})", claims_json({})); },
       Rejection::kMalformed},
      {"typ JWT while at+jwt required",
       [&] { return es256(R"({"alg":"ES256","kid":"p256","typ":"JWT"})", claims_json({})); },
       Rejection::kTypMismatch, [](VerifyOptions& o) { o.require_at_jwt = true; }},
      {"typ missing while at+jwt required", [&] { return es256(kEsHeader, claims_json({})); },
       Rejection::kTypMismatch, [](VerifyOptions& o) { o.require_at_jwt = true; }},
      {"typ at+jwt+evil while at+jwt required",
       [&] { return es256(R"({"alg":"ES256","kid":"p256","typ":"at+jwtx"})", claims_json({})); },
       Rejection::kTypMismatch, [](VerifyOptions& o) { o.require_at_jwt = true; }},
      // --- RFC 8705 cnf ----------------------------------------------------------------------
      {"cnf bound to another certificate",
       [&] {
         return es256(kEsHeader, claims_json({{"cnf", R"({"x5t#S256":"AAAA"})"}}));
       },
       Rejection::kCnfMismatch, nullptr, thumb},
      {"cnf bound but no client certificate",
       [&] {
         return es256(kEsHeader, claims_json({{"cnf", "{\"x5t#S256\":\"" + thumb + "\"}"}}));
       },
       Rejection::kCnfMismatch},
      {"cnf with an unsupported method (DPoP jkt)",
       [&] {
         return es256(kEsHeader, claims_json({{"cnf", R"({"jkt":"abc"})"}}));
       },
       Rejection::kCnfMismatch, nullptr, thumb},
      {"cnf not an object",
       [&] {
         return es256(kEsHeader, claims_json({{"cnf", R"("x")"}}));
       },
       Rejection::kMalformed, nullptr, thumb},
  };
  REQUIRE(cases.size() >= 40);
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      VerifyOptions opts = f.opts;
      if (c.tweak) {
        c.tweak(opts);
      }
      const KeySetPtr keys = c.keys ? c.keys() : f.keys;
      const std::string token = c.token();
      Result<VerifiedToken> r = verify(token, *keys, opts, now_tp(), c.cert);
      INFO(r.status().to_string());
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kUnauthenticated);
      CHECK(rejection_name(rejection_of(r.status())) == rejection_name(c.want));
      // The message never echoes the token or any of its segments.
      std::size_t start = 0;
      while (start < token.size()) {
        const std::size_t end = std::min(token.find('.', start), token.size());
        const std::string seg = token.substr(start, end - start);
        if (seg.size() >= 8) {
          CHECK(r.status().message().find(seg) == std::string::npos);
        }
        start = end + 1;
      }
    }
  }
}

}  // namespace
}  // namespace obsgate::authz::jwt
