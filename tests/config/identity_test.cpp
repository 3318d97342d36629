// The `identity:` section: defaults shared with `obsgate verify-token`, every field parsed, and
// every bad value reported at file:line:col with its key path.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

#include "config/config.h"

namespace {

using obsgate::config::Config;
using obsgate::config::KeySource;
using obsgate::config::load_string;
namespace jwt = obsgate::authz::jwt;

// Writes a scratch file under the build's temp dir; removed at exit of the test case.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/obsgate_identity_test_XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    path_ = name;
    std::ofstream(path_, std::ios::binary) << content;
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr const char* kHead = R"(server:
  listeners:
    - name: public
      port: 8080
admin:
  port: 9090
upstreams:
  - name: prom
    url: http://127.0.0.1:9091
routes:
  - name: query
    methods: [GET]
    path: /api/v1/query
    upstream: prom
)";

// kHead is 14 lines: the identity section starts at line 15.
std::string with_identity(const std::string& identity) {
  return std::string(kHead) + "identity:\n" + identity;
}

const char* const kProvider = R"(  providers:
    - name: idp
      issuer: https://idp.example/realms/obs
      audiences: [obsgate]
      keys: {discovery: true}
)";

std::string provider_with(const std::string& extra_lines) {
  return with_identity(std::string(kProvider) + extra_lines);
}

using Check = std::function<void(const Config&)>;

}  // namespace

TEST_CASE("identity: valid sections and their defaults") {
  TempFile jwks(R"({"keys":[]})");
  TempFile key("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
  struct Case {
    const char* name;
    std::string yaml;
    Check check;
  };
  const Case cases[] = {
      {"no identity section: empty, auth: required refused elsewhere",
       std::string(kHead) + "    auth: unsafe_none\n",
       [](const Config& c) {
         CHECK(c.identity.empty());
         CHECK(c.identity.decision_fingerprint_key.empty());
       }},
      {"provider defaults match verify-token's", provider_with(""),
       [](const Config& c) {
         REQUIRE(c.identity.providers.size() == 1);
         const auto& p = c.identity.providers[0];
         CHECK_FALSE(c.identity.empty());
         CHECK(p.name == "idp");
         CHECK(p.verify.issuer == "https://idp.example/realms/obs");
         CHECK(p.verify.audiences == std::vector<std::string>{"obsgate"});
         CHECK(p.verify.allowed_algs == obsgate::config::default_provider_algorithms());
         CHECK(obsgate::config::default_provider_algorithm_names() == "RS256 PS256 ES256 EdDSA");
         const jwt::VerifyOptions d;
         CHECK(p.verify.clock_skew == d.clock_skew);
         CHECK(p.verify.max_lifetime == d.max_lifetime);
         CHECK(p.verify.max_token_bytes == d.max_token_bytes);
         CHECK_FALSE(p.verify.require_at_jwt);
         CHECK(p.keys.kind == KeySource::Kind::kDiscovery);
         CHECK(p.keys.location ==
               "https://idp.example/realms/obs/.well-known/openid-configuration");
         CHECK(p.refetch_interval == std::chrono::seconds(30));
         CHECK(p.fetch_timeout == std::chrono::seconds(2));
         CHECK(p.refresh.min <= p.refresh.fallback);
         CHECK(p.refresh.fallback <= p.refresh.max);
         CHECK(p.mapping.tenants.empty());
         CHECK(c.identity.token_cache_max_entries == 10000);
         CHECK(c.identity.find_provider("https://idp.example/realms/obs") == &p);
         CHECK(c.identity.find_provider("https://idp.example/realms/obs/") == nullptr);
       }},
      {"every provider field",
       with_identity(R"(  providers:
    - name: local
      issuer: http://127.0.0.1:4000
      audiences: [obsgate, grafana]
      algorithms: [ES384, RS512]
      keys: {jwks_file: )" +
                     jwks.path() + R"(}
      require_typ_at_jwt: true
      clock_skew: 10s
      max_token_bytes: 8KiB
      max_lifetime: 1h
      refresh: {min: 30s, max: 2h, default: 5m}
      refetch_interval: 10s
      fetch_timeout: 500ms
      mapping:
        tenants: [{claim: groups, values: {/a: [team-a]}}]
        roles: [{claim: realm_access.roles, values: {admin: [admin]}}]
  token_cache: {max_entries: 50}
  decision_fingerprint_key_file: )" +
                     key.path() + "\n"),
       [&](const Config& c) {
         REQUIRE(c.identity.providers.size() == 1);
         const auto& p = c.identity.providers[0];
         CHECK(p.verify.audiences.size() == 2);
         CHECK(p.verify.allowed_algs == std::vector<jwt::Alg>{jwt::Alg::kEs384, jwt::Alg::kRs512});
         CHECK(p.keys.kind == KeySource::Kind::kJwksFile);
         CHECK(p.keys.location == jwks.path());
         CHECK(p.verify.require_at_jwt);
         CHECK(p.verify.clock_skew == std::chrono::seconds(10));
         CHECK(p.verify.max_token_bytes == 8192);
         CHECK(p.verify.max_lifetime == std::chrono::hours(1));
         CHECK(p.refresh.min == std::chrono::seconds(30));
         CHECK(p.refresh.max == std::chrono::hours(2));
         CHECK(p.refresh.fallback == std::chrono::minutes(5));
         CHECK(p.refetch_interval == std::chrono::seconds(10));
         CHECK(p.fetch_timeout == std::chrono::milliseconds(500));
         REQUIRE(p.mapping.tenants.size() == 1);
         CHECK(p.mapping.roles.at(0).path == std::vector<std::string>{"realm_access", "roles"});
         CHECK(c.identity.token_cache_max_entries == 50);
         CHECK(c.identity.decision_fingerprint_key.size() == 64);  // newline removed
       }},
      {"jwks_uri",
       provider_with("").replace(provider_with("").find("{discovery: true}"), 17,
                                 "{jwks_uri: 'https://idp.example/keys'}"),
       [](const Config& c) {
         const auto& p = c.identity.providers.at(0);
         CHECK(p.keys.kind == KeySource::Kind::kJwksUri);
         CHECK(p.keys.location == "https://idp.example/keys");
       }},
      {"certificates only", with_identity(R"(  certificates:
    - uri_san: spiffe://prod.example/ns/obs/sa/collector
      name: collector
      roles: [writer]
      tenants: [team-a]
    - subject_cn: legacy
      name: legacy
)"),
       [](const Config& c) {
         CHECK_FALSE(c.identity.empty());
         CHECK(c.identity.providers.empty());
         REQUIRE(c.identity.certificates.rules.size() == 2);
         CHECK(c.identity.certificates.rules[0].name == "collector");
         CHECK(c.identity.certificates.rules[1].match == obsgate::authz::CertMatch::kSubjectCn);
       }},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto cfg = load_string(c.yaml, "t.yaml");
      INFO((cfg.ok() ? std::string() : std::string(cfg.status().message())));
      REQUIRE(cfg.ok());
      c.check(**cfg);
    }
  }
}

TEST_CASE("identity: errors name file:line:col and the key path") {
  TempFile short_key("too short\n");
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    const auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
  };
  const std::string base = provider_with("");
  struct Case {
    const char* name;
    std::string yaml;
    const char* want;  // substring of the error
  };
  const Case cases[] = {
      {"not a map", with_identity("  - a\n"), "t.yaml:16:3: identity: expected a map"},
      {"unknown key", with_identity("  providerz: []\n"),
       "t.yaml:16:3: identity.providerz: unknown key"},
      {"unknown provider key", provider_with("      audience: x\n"),
       "t.yaml:21:7: identity.providers[0].audience: unknown key"},
      {"missing issuer", replace(base, "      issuer: https://idp.example/realms/obs\n", ""),
       "identity.providers[0].issuer: required key is missing"},
      {"missing audiences", replace(base, "      audiences: [obsgate]\n", ""),
       "identity.providers[0].audiences: required key is missing"},
      {"empty audiences", replace(base, "[obsgate]", "[]"),
       "t.yaml:19:18: identity.providers[0].audiences: at least one audience is required"},
      {"alg none", provider_with("      algorithms: [RS256, none]\n"),
       "t.yaml:21:19: identity.providers[0].algorithms: "},
      {"alg HS256", provider_with("      algorithms: [HS256]\n"), "HS256"},
      {"alg lower case", provider_with("      algorithms: [rs256]\n"), "rs256"},
      {"missing keys", replace(base, "      keys: {discovery: true}\n", ""),
       "identity.providers[0].keys: required key is missing"},
      {"two key sources", replace(base, "{discovery: true}", "{discovery: true, jwks_file: x}"),
       "t.yaml:20:13: identity.providers[0].keys: exactly one of discovery, jwks_uri, jwks_file"},
      {"discovery false", replace(base, "{discovery: true}", "{discovery: false}"),
       "identity.providers[0].keys.discovery: must be true"},
      {"discovery needs URL issuer", replace(base, "https://idp.example/realms/obs", "idp"),
       "identity.providers[0].keys.discovery: needs an https issuer URL"},
      {"jwks_uri not a URL", replace(base, "{discovery: true}", "{jwks_uri: 'keys.json'}"),
       "identity.providers[0].keys.jwks_uri: expected an absolute https URL"},
      {"jwks_uri plain http off loopback",
       replace(base, "{discovery: true}", "{jwks_uri: 'http://idp.example/keys'}"),
       "(http only on a loopback host), got 'http://idp.example/keys'"},
      {"jwks_file missing", replace(base, "{discovery: true}", "{jwks_file: /nonexistent.json}"),
       "identity.providers[0].keys.jwks_file: cannot read file '/nonexistent.json'"},
      {"ca_file missing", provider_with("      ca_file: /nonexistent.pem\n"),
       "t.yaml:21:16: identity.providers[0].ca_file: cannot read file"},
      {"skew too large", provider_with("      clock_skew: 1h\n"),
       "t.yaml:21:19: identity.providers[0].clock_skew: "},
      {"bad duration", provider_with("      max_lifetime: forever\n"),
       "identity.providers[0].max_lifetime: expected a duration"},
      {"zero lifetime", provider_with("      max_lifetime: 0s\n"),
       "identity.providers[0].max_lifetime: must be at least 1s"},
      {"token cap too small", provider_with("      max_token_bytes: 100\n"),
       "identity.providers[0].max_token_bytes: "},
      {"bad bool", provider_with("      require_typ_at_jwt: yes\n"),
       "identity.providers[0].require_typ_at_jwt: expected true or false"},
      {"refresh max below min", provider_with("      refresh: {min: 1h, max: 1m}\n"),
       "identity.providers[0].refresh.max: must not be below min"},
      {"refresh default outside", provider_with("      refresh: {default: 1s}\n"),
       "identity.providers[0].refresh.default: must lie between min and max"},
      {"refresh unknown key", provider_with("      refresh: {every: 1m}\n"),
       "identity.providers[0].refresh.every: unknown key"},
      {"refetch too often", provider_with("      refetch_interval: 10ms\n"),
       "identity.providers[0].refetch_interval: must be at least 1s"},
      {"fetch timeout too long", provider_with("      fetch_timeout: 5m\n"),
       "identity.providers[0].fetch_timeout: must lie between 100ms and 1m"},
      {"mapping error points into the mapping",
       provider_with("      mapping:\n        roles:\n          - claim: groups\n"
                     "            values: {}\n"),
       "t.yaml:24:21: identity.providers[0].mapping.roles[0].values: required non-empty map"},
      {"mapping unknown field", provider_with("      mapping: {groups: []}\n"),
       "t.yaml:21:16: identity.providers[0].mapping: unknown field \"groups\""},
      {"bad provider name", replace(base, "name: idp", "name: 'my idp'"),
       "identity.providers[0].name: expected 1-64 characters"},
      {"duplicate name", with_identity(std::string(kProvider) + R"(    - name: idp
      issuer: https://other.example
      audiences: [obsgate]
      keys: {discovery: true}
)"),
       "t.yaml:21:13: identity.providers[1].name: duplicate provider name 'idp'"},
      {"duplicate issuer", with_identity(std::string(kProvider) + R"(    - name: idp2
      issuer: https://idp.example/realms/obs
      audiences: [obsgate]
      keys: {discovery: true}
)"),
       "t.yaml:22:15: identity.providers[1].issuer: duplicate issuer"},
      {"certificate rule without matcher", with_identity("  certificates:\n    - name: x\n"),
       "t.yaml:17:7: identity.certificates[0]: exactly one of subject_cn, dns_san, uri_san"},
      {"certificate rule without name",
       with_identity("  certificates:\n    - {subject_cn: a}\n    - {dns_san: b}\n"),
       "t.yaml:17:7: identity.certificates[0].name: required"},
      {"certificates not a list", with_identity("  certificates: {a: 1}\n"),
       "t.yaml:16:17: identity.certificates: expected a list of rules"},
      {"cache size zero",
       with_identity(std::string(kProvider) + "  token_cache: {max_entries: 0}\n"),
       "identity.token_cache.max_entries: value 0 out of range"},
      {"fingerprint key missing",
       with_identity(std::string(kProvider) + "  decision_fingerprint_key_file: /nonexistent\n"),
       "identity.decision_fingerprint_key_file: cannot read file '/nonexistent'"},
      {"fingerprint key short",
       with_identity(std::string(kProvider) +
                     "  decision_fingerprint_key_file: " + short_key.path() + "\n"),
       "identity.decision_fingerprint_key_file: the key must be 32 to 4096 bytes"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto cfg = load_string(c.yaml, "t.yaml");
      REQUIRE_FALSE(cfg.ok());
      CAPTURE(cfg.status().message());
      CHECK(cfg.status().message().find(c.want) != std::string::npos);
    }
  }
}

TEST_CASE("identity: the short key's bytes never appear in the error") {
  TempFile short_key("s3cr3t-bytes\n");
  auto cfg =
      load_string(with_identity(std::string(kProvider) +
                                "  decision_fingerprint_key_file: " + short_key.path() + "\n"),
                  "t.yaml");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().message().find("s3cr3t") == std::string::npos);
}

TEST_CASE("identity: auth: required routes load once an identity exists") {
  auto cfg = load_string(provider_with(""), "t.yaml");
  INFO((cfg.ok() ? std::string() : std::string(cfg.status().message())));
  REQUIRE(cfg.ok());
  CHECK((*cfg)->routes.at(0).auth == obsgate::config::AuthMode::kRequired);
}
