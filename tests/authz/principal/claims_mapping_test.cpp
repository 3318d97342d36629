#include "authz/principal/claims_mapping.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "authz/jwt/verify.h"
#include "tests/authz/jwt/test_keys.h"

namespace obsgate::authz {
namespace {

// The mapping the cases run against (what a Keycloak-fronted deployment would configure).
constexpr const char* kMappingYaml = R"(
tenants:
  - claim: groups
    values:
      /team-a: [team-a]
      /platform: [team-a, team-b]
  - claim: [https://example.com/claims, tenant]
    values: {acme: acme}
roles:
  - claim: realm_access.roles
    values:
      obs-admin: [admin]
      obs-viewer: [viewer]
  - claim: resource_access.obsgate.roles
    values: {writer: [writer]}
  - claim: scope
    split: space
    values:
      metrics:write: [writer]
      metrics:read: [viewer]
)";

const PrincipalMapping& mapping() {
  static const PrincipalMapping m = [] {
    Result<PrincipalMapping> r = PrincipalMapping::parse(YAML::Load(kMappingYaml));
    REQUIRE(r.ok());
    return *r;
  }();
  return m;
}

struct Case {
  std::string name;
  std::string claims;
  std::vector<std::string> tenants;
  std::vector<std::string> roles;
};

TEST_CASE("map_claims maps configured values and denies everything else", "[principal]") {
  const std::vector<Case> cases = {
      {"nothing mapped", R"({"sub":"u"})", {}, {}},
      {"group array", R"({"groups":["/team-a","/other"]})", {"team-a"}, {}},
      {"group fan-out sorted unique",
       R"({"groups":["/platform","/team-a"]})",
       {"team-a", "team-b"},
       {}},
      {"group as a single string", R"({"groups":"/team-a"})", {"team-a"}, {}},
      {"nested realm roles",
       R"({"realm_access":{"roles":["obs-viewer","offline_access"]}})",
       {},
       {"viewer"}},
      {"two-level nested client roles",
       R"({"resource_access":{"obsgate":{"roles":["writer"]},"other":{"roles":["obs-admin"]}}})",
       {},
       {"writer"}},
      {"claim name with dots", R"({"https://example.com/claims":{"tenant":"acme"}})", {"acme"}, {}},
      {"space-separated scope",
       R"({"scope":"openid metrics:write  metrics:read"})",
       {},
       {"viewer", "writer"}},
      {"roles from several claims merged",
       R"({"scope":"metrics:read","realm_access":{"roles":["obs-viewer","obs-admin"]}})",
       {},
       {"admin", "viewer"}},
      {"case matters", R"({"groups":["/TEAM-A"],"realm_access":{"roles":["OBS-ADMIN"]}})", {}, {}},
      {"non-string values ignored", R"({"groups":[1,true,{"a":"/team-a"},["/team-a"]]})", {}, {}},
      {"path through a non-object stops", R"({"realm_access":["obs-admin"]})", {}, {}},
      {"scope not split without split", R"({"groups":"/team-a /platform"})", {}, {}},
      {"prefix is not a match", R"({"groups":["/team-a/sub"]})", {}, {}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const boost::json::value v = boost::json::parse(c.claims);
      const Principal p = map_claims(mapping(), v.as_object(), "https://idp", "u-1");
      CHECK(p.issuer == "https://idp");
      CHECK(p.subject == "u-1");
      CHECK(p.tenants == c.tenants);
      CHECK(p.roles == c.roles);
      CHECK(p.cert_identity.empty());
    }
  }
}

TEST_CASE("PrincipalMapping::parse names the bad field", "[principal]") {
  struct Bad {
    std::string name;
    std::string yaml;
    std::string message_part;
  };
  const std::vector<Bad> cases = {
      {"not a map", "[1]", "expected a map"},
      {"unknown top-level field", "groups: []", "unknown field \"groups\""},
      {"sources not a list", "roles: {claim: x}", "roles: expected a list"},
      {"claim missing", "roles: [{values: {a: [b]}}]", "roles[0].claim: required"},
      {"empty path segment", "roles: [{claim: a..b, values: {a: [b]}}]", "empty path segment"},
      {"values missing", "tenants: [{claim: groups}]", "tenants[0].values"},
      {"values empty list", "tenants: [{claim: groups, values: {x: []}}]", "empty list"},
      {"bad split", "roles: [{claim: scope, split: comma, values: {a: b}}]", "only \"space\""},
      {"unknown source field", "roles: [{claim: a, values: {a: b}, regex: true}]",
       "unknown field \"regex\""},
      {"value maps to a map", "roles: [{claim: a, values: {a: {b: c}}}]", "roles[0].values[\"a\"]"},
  };
  for (const Bad& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Result<PrincipalMapping> r = PrincipalMapping::parse(YAML::Load(c.yaml));
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kInvalidArgument);
      INFO(r.status().message());
      CHECK(r.status().message().find(c.message_part) != std::string::npos);
    }
  }
}

TEST_CASE("an empty mapping maps nobody", "[principal]") {
  Result<PrincipalMapping> r = PrincipalMapping::parse(YAML::Load("{}"));
  REQUIRE(r.ok());
  const boost::json::value v = boost::json::parse(R"({"groups":["/team-a"]})");
  const Principal p = map_claims(*r, v.as_object(), "i", "s");
  CHECK(p.tenants.empty());
  CHECK(p.roles.empty());
}

TEST_CASE("map_token: a verified token end to end", "[principal]") {
  namespace t = jwt::testing;
  const t::Fixture& f = t::fixture();
  const std::string token =
      t::sign_token(f.ed, R"({"alg":"EdDSA","kid":"ed"})",
                    t::claims_json({{"groups", R"(["/platform","/unknown"])"},
                                    {"realm_access", R"({"roles":["obs-admin","obs-viewer"]})"}}));
  Result<jwt::VerifiedToken> v = jwt::verify(token, *f.keys, f.opts, t::now_tp(), std::nullopt);
  REQUIRE(v.ok());
  const Principal p = map_token(mapping(), *v);
  CHECK(p.issuer == t::kIssuer);
  CHECK(p.subject == "user-1");
  CHECK(p.tenants == std::vector<std::string>{"team-a", "team-b"});
  CHECK(p.roles == std::vector<std::string>{"admin", "viewer"});
  CHECK(map_token(mapping(), jwt::VerifiedToken{}).roles.empty());
}

}  // namespace
}  // namespace obsgate::authz
