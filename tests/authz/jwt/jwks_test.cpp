#include "authz/jwt/jwks.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "authz/jwt/base64url.h"
#include "tests/authz/jwt/test_keys.h"

namespace obsgate::authz::jwt {
namespace {

using testing::fixture;
using testing::jwks;
using testing::public_jwk;

// Replaces the value of a base64url member of a JWK text with `bytes`, encoded.
std::string with_member(std::string jwk, const std::string& name, const std::string& bytes) {
  const std::string key = "\"" + name + "\":\"";
  const std::size_t at = jwk.find(key);
  REQUIRE(at != std::string::npos);
  const std::size_t start = at + key.size();
  const std::size_t end = jwk.find('"', start);
  return jwk.replace(start, end - start, base64url_encode(bytes));
}
std::string member_bytes(const std::string& jwk, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const std::size_t start = jwk.find(key) + key.size();
  std::string out;
  REQUIRE(base64url_decode(jwk.substr(start, jwk.find('"', start) - start), out));
  return out;
}

struct Case {
  std::string name;
  std::function<std::string()> doc;
  std::vector<std::string> usable_kids;  // empty: the whole parse must fail
  std::string reason_part;               // in the first skipped reason, or the error message
};

TEST_CASE("KeySet::parse keeps usable keys and records why others are skipped", "[jwks]") {
  const auto& f = fixture();
  const std::string ed = public_jwk(f.ed);
  const std::vector<Case> cases = {
      {"every supported kind",
       [&] { return f.jwks_json; },
       {"rsa", "rsa-rs256", "p256", "p384", "p521", "ed"},
       ""},
      {"use enc skipped",
       [&] {
         return jwks({public_jwk(f.p256, R"(,"use":"enc")"), ed});
       },
       {"ed"},
       "use"},
      {"key_ops without verify skipped",
       [&] {
         return jwks({public_jwk(f.p256, R"(,"key_ops":["encrypt"])"), ed});
       },
       {"ed"},
       "key_ops"},
      {"key_ops with verify kept",
       [&] {
         return jwks({public_jwk(f.p256, R"(,"key_ops":["verify"])"), ed});
       },
       {"p256", "ed"},
       ""},
      {"RSA 1024 bits skipped",
       [&] {
         static const testing::TestKey weak = testing::make_key(Alg::kRs256, "weak", 1024);
         return jwks({public_jwk(weak), ed});
       },
       {"ed"},
       "1024 bits is below 2048"},
      {"RSA even exponent skipped",
       [&] {
         return jwks({with_member(public_jwk(f.rsa), "e", std::string("\x01\x00", 2)), ed});
       },
       {"ed"},
       "exponent"},
      {"RSA even modulus skipped",
       [&] {
         const std::string j = public_jwk(f.rsa);
         std::string n = member_bytes(j, "n");
         n.back() = static_cast<char>(n.back() & ~1);
         return jwks({with_member(j, "n", n), ed});
       },
       {"ed"},
       "modulus is even"},
      {"RSA n not base64url skipped",
       [&] {
         std::string j = public_jwk(f.rsa);
         j.replace(j.find("\"n\":\"") + 5, 1, "+");
         return jwks({j, ed});
       },
       {"ed"},
       "base64url"},
      {"EC point not on the curve skipped",
       [&] {
         const std::string j = public_jwk(f.p256);
         std::string y = member_bytes(j, "y");
         y[31] = static_cast<char>(y[31] ^ 1);
         return jwks({with_member(j, "y", y), ed});
       },
       {"ed"},
       "OpenSSL rejected"},
      {"EC x of wrong length skipped",
       [&] {
         const std::string j = public_jwk(f.p256);
         return jwks({with_member(j, "x", member_bytes(j, "x").substr(1)), ed});
       },
       {"ed"},
       "wrong length"},
      {"EC unsupported curve skipped",
       [&] {
         std::string j = public_jwk(f.p256, "", false);
         j.replace(j.find("P-256"), 5, "P-192");
         return jwks({j, ed});
       },
       {"ed"},
       "unsupported EC curve"},
      {"Ed25519 key of 31 bytes skipped",
       [&] {
         return jwks({with_member(ed, "x", std::string(31, 'a')), public_jwk(f.p256)});
       },
       {"p256"},
       "32 bytes"},
      {"Ed448 skipped",
       [&] {
         return jwks({R"({"kty":"OKP","crv":"Ed448","x":"AAAA"})", ed});
       },
       {"ed"},
       "unsupported OKP curve"},
      {"symmetric key skipped",
       [&] {
         return jwks({R"({"kty":"oct","kid":"h","k":"c2VjcmV0"})", ed});
       },
       {"ed"},
       "\"k\""},
      {"private member skipped",
       [&] {
         return jwks({public_jwk(f.p256, R"(,"d":"AAAA")"), ed});
       },
       {"ed"},
       "\"d\""},
      {"alg HS256 on an RSA key skipped",
       [&] {
         return jwks({public_jwk(f.rsa, R"(,"alg":"HS256")", false), ed});
       },
       {"ed"},
       "not supported"},
      {"alg ES384 on a P-256 key skipped",
       [&] {
         return jwks({public_jwk(f.p256, R"(,"alg":"ES384")", false), ed});
       },
       {"ed"},
       "does not fit"},
      {"kty missing skipped",
       [&] {
         return jwks({R"({"kid":"x","n":"AQAB"})", ed});
       },
       {"ed"},
       "unsupported kty"},
      {"kid not a string skipped",
       [&] {
         std::string j = public_jwk(f.p256);
         j.replace(j.find("\"p256\""), 6, "7");
         return jwks({j, ed});
       },
       {"ed"},
       "strings"},
      {"key not an object skipped",
       [&] {
         return jwks({"\"x\"", ed});
       },
       {"ed"},
       "not a JSON"},
      {"duplicate kid of the same type skipped",
       [&] {
         return jwks({public_jwk(f.p256), public_jwk(f.evil_p256), ed});
       },
       {"p256", "ed"},
       "duplicate kid"},
      {"unknown members ignored",
       [&] { return jwks({public_jwk(f.p256, R"(,"x5t":"abc","ext":{"a":[1]})")}); },
       {"p256"},
       ""},
      {"Keycloak-shaped set: sig key with x5c kept, RSA-OAEP enc key skipped",
       [&] {
         return jwks({public_jwk(f.rsa_rs256, R"(,"use":"sig","x5c":["MIIC"],"x5t":"abc",)"
                                              R"("x5t#S256":"def")"),
                      public_jwk(f.rsa, R"(,"use":"enc","alg":"RSA-OAEP")", false)});
       },
       {"rsa-rs256"}, "use"},
      // Fatal cases.
      {"no usable key",
       [&] { return jwks({public_jwk(f.p256, R"(,"use":"enc")")}); },
       {},
       "no usable key"},
      {"empty keys", [] { return std::string(R"({"keys":[]})"); }, {}, "no usable key"},
      {"keys missing", [] { return std::string(R"({"other":[]})"); }, {}, "\"keys\""},
      {"keys not an array", [] { return std::string(R"({"keys":{}})"); }, {}, "\"keys\""},
      {"top-level array", [] { return std::string("[]"); }, {}, "not an object"},
      {"not JSON", [] { return std::string("<html>"); }, {}, "not an object"},
      {"duplicate keys member",
       [&] { return "{\"keys\":[" + ed + "],\"keys\":[]}"; },
       {},
       "duplicate"},
      {"too many keys",
       [&] {
         std::vector<std::string> many(101, ed);
         return jwks(many);
       },
       {},
       "more than 100"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Result<KeySetPtr> r = KeySet::parse(c.doc());
      INFO(r.status().to_string());
      if (c.usable_kids.empty()) {
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == Code::kInvalidArgument);
        CHECK(r.status().message().find(c.reason_part) != std::string::npos);
        continue;
      }
      REQUIRE(r.ok());
      std::vector<std::string> kids;
      for (const Jwk& k : (*r)->keys()) {
        kids.push_back(k.kid);
        CHECK(k.pkey != nullptr);
      }
      CHECK(kids == c.usable_kids);
      if (c.reason_part.empty()) {
        CHECK((*r)->skipped().empty());
      } else {
        REQUIRE_FALSE((*r)->skipped().empty());
        CHECK((*r)->skipped()[0].reason.find(c.reason_part) != std::string::npos);
      }
    }
  }
}

TEST_CASE("Jwk keeps kid/alg/use/kty/crv and bits", "[jwks]") {
  const auto& f = fixture();
  const auto& keys = f.keys->keys();
  auto find = [&](std::string_view kid) -> const Jwk& {
    return *std::find_if(keys.begin(), keys.end(), [&](const Jwk& k) { return k.kid == kid; });
  };
  CHECK(find("rsa").kty == "RSA");
  CHECK(find("rsa").use == "sig");
  CHECK(find("rsa").alg.empty());
  CHECK(find("rsa").bits == 2048);
  CHECK(find("rsa-rs256").alg == "RS256");
  CHECK(find("p384").crv == "P-384");
  CHECK(find("p521").bits == 521);
  CHECK(find("ed").kty == "OKP");
  CHECK(find("rsa").compatible_with(Alg::kPs512));
  CHECK_FALSE(find("rsa-rs256").compatible_with(Alg::kPs256));
  CHECK_FALSE(find("p256").compatible_with(Alg::kEs384));
  CHECK(find("ed").compatible_with(Alg::kEdDsa));
}

}  // namespace
}  // namespace obsgate::authz::jwt
