// Positive paths of verify(): every algorithm, every claim shape we accept.
#include "authz/jwt/verify.h"

#include <boost/json/object.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "authz/jwt/base64url.h"
#include "tests/authz/jwt/test_keys.h"

namespace obsgate::authz::jwt {
namespace {

using testing::claims_json;
using testing::Fixture;
using testing::fixture;
using testing::now_tp;
using testing::sign_token;
using testing::sign_token_as;

std::string header(Alg alg, std::string_view kid, std::string_view extra = "") {
  return "{\"alg\":\"" + std::string(alg_name(alg)) + "\",\"kid\":\"" + std::string(kid) + "\"" +
         std::string(extra) + "}";
}

TEST_CASE("verify accepts every supported algorithm", "[verify]") {
  const Fixture& f = fixture();
  struct Case {
    std::string name;
    Alg alg;
    const testing::TestKey* key;
  };
  const std::vector<Case> cases = {
      {"RS256", Alg::kRs256, &f.rsa},
      {"RS384", Alg::kRs384, &f.rsa},
      {"RS512", Alg::kRs512, &f.rsa},
      {"PS256", Alg::kPs256, &f.rsa},
      {"PS384", Alg::kPs384, &f.rsa},
      {"PS512", Alg::kPs512, &f.rsa},
      {"ES256", Alg::kEs256, &f.p256},
      {"ES384", Alg::kEs384, &f.p384},
      {"ES512", Alg::kEs512, &f.p521},
      {"EdDSA", Alg::kEdDsa, &f.ed},
      {"RS256 key with alg", Alg::kRs256, &f.rsa_rs256},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::string token =
          sign_token_as(c.alg, c.key->priv.get(), header(c.alg, c.key->kid), claims_json({}));
      Result<VerifiedToken> r = verify(token, *f.keys, f.opts, now_tp(), std::nullopt);
      INFO(r.status().to_string());
      REQUIRE(r.ok());
      CHECK(r->alg == c.alg);
      CHECK(r->kid == c.key->kid);
      CHECK(r->issuer == testing::kIssuer);
      CHECK(r->subject == "user-1");
      CHECK(r->audiences == std::vector<std::string>{std::string(testing::kAudience)});
      CHECK(r->expires_at == now_tp(300));
      CHECK(r->issued_at == now_tp(-10));
      REQUIRE(r->claims != nullptr);
      CHECK(r->claims->at("sub").as_string() == "user-1");
      CHECK(rejection_of(r.status()) == Rejection::kNone);
    }
  }
}

TEST_CASE("verify accepts the claim shapes the RFCs allow", "[verify]") {
  const Fixture& f = fixture();
  const std::string thumb = cert_thumbprint_sha256(std::span<const std::uint8_t>());
  struct Case {
    std::string name;
    std::string header;
    std::string claims;
    std::function<void(VerifyOptions&)> tweak;
    std::optional<std::string> cert;
    std::function<void(const VerifiedToken&)> check;
  };
  auto none = [](VerifyOptions&) {};
  auto nothing = [](const VerifiedToken&) {};
  const std::vector<Case> cases = {
      {"aud array containing ours", header(Alg::kEs256, "p256"),
       claims_json({{"aud", R"(["other","obsgate"])"}}), none, std::nullopt,
       [](const VerifiedToken& t) { CHECK(t.audiences.size() == 2); }},
      {"second accepted audience", header(Alg::kEs256, "p256"),
       claims_json({{"aud", R"("grafana")"}}),
       [](VerifyOptions& o) { o.audiences.push_back("grafana"); }, std::nullopt, nothing},
      {"fractional NumericDate", header(Alg::kEs256, "p256"),
       claims_json({{"exp", std::to_string(testing::kNow + 100) + ".75"}}), none, std::nullopt,
       [](const VerifiedToken& t) {
         CHECK(t.expires_at == now_tp(100) + std::chrono::milliseconds(750));
       }},
      {"expired but within skew", header(Alg::kEs256, "p256"),
       claims_json({{"exp", std::to_string(testing::kNow - 30)}}), none, std::nullopt, nothing},
      {"nbf within skew", header(Alg::kEs256, "p256"),
       claims_json({{"nbf", std::to_string(testing::kNow + 30)}}), none, std::nullopt,
       [](const VerifiedToken& t) { CHECK(t.not_before == now_tp(30)); }},
      {"no iat: lifetime from now", header(Alg::kEs256, "p256"), claims_json({{"iat", ""}}), none,
       std::nullopt, [](const VerifiedToken& t) { CHECK(!t.issued_at); }},
      {"no sub", header(Alg::kEs256, "p256"), claims_json({{"sub", ""}}), none, std::nullopt,
       [](const VerifiedToken& t) { CHECK(t.subject.empty()); }},
      {"at+jwt required and present", header(Alg::kEs256, "p256", R"(,"typ":"at+jwt")"),
       claims_json({}), [](VerifyOptions& o) { o.require_at_jwt = true; }, std::nullopt,
       [](const VerifiedToken& t) { CHECK(t.typ == "at+jwt"); }},
      {"application/AT+JWT accepted", header(Alg::kEs256, "p256", R"(,"typ":"application/AT+JWT")"),
       claims_json({}), [](VerifyOptions& o) { o.require_at_jwt = true; }, std::nullopt, nothing},
      {"cnf bound to the presented cert", header(Alg::kEs256, "p256"),
       claims_json({{"cnf", "{\"x5t#S256\":\"" + thumb + "\"}"}}), none, thumb,
       [&](const VerifiedToken& t) { CHECK(t.cnf_x5t_s256 == thumb); }},
      {"cert presented, token unbound", header(Alg::kEs256, "p256"), claims_json({}), none, thumb,
       [](const VerifiedToken& t) { CHECK(t.cnf_x5t_s256.empty()); }},
      {"x5c/x5t headers ignored", header(Alg::kEs256, "p256", R"(,"x5t":"abc","x5c":["AAAA"])"),
       claims_json({}), none, std::nullopt, nothing},
      {"no kid, single compatible key", R"({"alg":"EdDSA"})", claims_json({}), none, std::nullopt,
       [](const VerifiedToken& t) { CHECK(t.kid.empty()); }},
      {"nested claims kept", header(Alg::kEs256, "p256"),
       claims_json({{"realm_access", R"({"roles":["a","b"]})"}}), none, std::nullopt,
       [](const VerifiedToken& t) {
         CHECK(t.claims->at("realm_access").as_object().at("roles").as_array().size() == 2);
       }},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      VerifyOptions opts = f.opts;
      c.tweak(opts);
      // The header names the key: sign with the fixture key of that kid (or Ed25519).
      const testing::TestKey& key = c.header.find("p256") != std::string::npos ? f.p256 : f.ed;
      const std::string token = sign_token(key, c.header, c.claims);
      Result<VerifiedToken> r = verify(token, *f.keys, opts, now_tp(), c.cert);
      INFO(r.status().to_string());
      REQUIRE(r.ok());
      c.check(*r);
    }
  }
}

TEST_CASE("cert_thumbprint_sha256 is base64url SHA-256", "[verify]") {
  // SHA-256("") = e3b0c442...b855, the RFC 4648 test vector family.
  CHECK(cert_thumbprint_sha256(std::span<const std::uint8_t>()) ==
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  const std::uint8_t abc[] = {'a', 'b', 'c'};
  CHECK(cert_thumbprint_sha256(abc) == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST_CASE("VerifyOptions::validate names the field", "[verify]") {
  struct Case {
    std::string name;
    std::function<void(VerifyOptions&)> tweak;
    std::string message_part;  // empty: valid
  };
  const std::vector<Case> cases = {
      {"fixture options are valid", [](VerifyOptions&) {}, ""},
      {"no issuer", [](VerifyOptions& o) { o.issuer.clear(); }, "issuer"},
      {"no audience", [](VerifyOptions& o) { o.audiences.clear(); }, "audiences"},
      {"empty audience", [](VerifyOptions& o) { o.audiences.push_back(""); }, "audiences"},
      {"no algs", [](VerifyOptions& o) { o.allowed_algs.clear(); }, "allowed_algs"},
      {"negative skew", [](VerifyOptions& o) { o.clock_skew = std::chrono::seconds(-1); },
       "clock_skew"},
      {"huge skew", [](VerifyOptions& o) { o.clock_skew = std::chrono::hours(1); }, "clock_skew"},
      {"zero lifetime", [](VerifyOptions& o) { o.max_lifetime = std::chrono::seconds(0); },
       "max_lifetime"},
      {"tiny token cap", [](VerifyOptions& o) { o.max_token_bytes = 10; }, "max_token_bytes"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      VerifyOptions o = fixture().opts;
      c.tweak(o);
      const Status s = o.validate();
      CHECK(s.ok() == c.message_part.empty());
      if (!s.ok()) {
        CHECK(s.code() == Code::kInvalidArgument);
        CHECK(s.message().find(c.message_part) == 0);
      }
    }
  }
}

TEST_CASE("parse_alg_list refuses none and HS*", "[verify]") {
  CHECK(parse_alg_list({"RS256", "EdDSA"}).ok());
  CHECK(parse_alg_list({"RS256", "EdDSA"})->size() == 2);
  for (const std::string bad : {"none", "HS256", "hs512", "rs256", "ES256K", ""}) {
    CAPTURE(bad);
    Result<std::vector<Alg>> r = parse_alg_list({"RS256", bad});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("allowed_algs") == 0);
  }
}

TEST_CASE("rejection names are stable metric labels", "[verify]") {
  for (int i = 0; i < kRejectionCount; ++i) {
    const auto r = static_cast<Rejection>(i);
    const std::string_view name = rejection_name(r);
    CAPTURE(i, name);
    CHECK(!name.empty());
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos);
    if (r != Rejection::kNone) {
      CHECK(rejection_of(Status::unauthenticated(std::string(name) + ": x")) == r);
    }
  }
  CHECK(rejection_of(Status()) == Rejection::kNone);
  CHECK(rejection_of(Status::internal("weird")) == Rejection::kMalformed);
}

}  // namespace
}  // namespace obsgate::authz::jwt
