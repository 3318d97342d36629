#include "authz/principal/cert_mapping.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace obsgate::authz {
namespace {

constexpr const char* kRulesYaml = R"(
- uri_san: spiffe://prod.example/ns/obs/sa/promtail
  name: promtail
  roles: [writer, writer]
  tenants: [team-b, team-a]
- dns_san: grafana.internal.example
  name: grafana
  roles: [reader]
- subject_cn: legacy-exporter
  name: legacy
  roles: [writer]
- dns_san: shadowed.example
  name: first
  roles: [a]
- dns_san: shadowed.example
  name: second
  roles: [b]
)";

const CertMapping& rules() {
  static const CertMapping m = [] {
    Result<CertMapping> r = CertMapping::parse(YAML::Load(kRulesYaml));
    REQUIRE(r.ok());
    return *r;
  }();
  return m;
}

struct Case {
  std::string name;
  CertFields fields;
  std::optional<std::string> subject;  // nullopt: no principal
  std::string identity;
  std::vector<std::string> roles;
  std::vector<std::string> tenants;
};

TEST_CASE("map_certificate: first matching rule names the client", "[principal][mtls]") {
  const std::vector<Case> cases = {
      {"SPIFFE URI SAN",
       {"ignored", {}, {"spiffe://prod.example/ns/obs/sa/promtail"}},
       "promtail",
       "uri:spiffe://prod.example/ns/obs/sa/promtail",
       {"writer"},
       {"team-a", "team-b"}},
      {"DNS SAN among several",
       {"", {"x.example", "grafana.internal.example"}, {}},
       "grafana",
       "dns:grafana.internal.example",
       {"reader"},
       {}},
      {"subject CN", {"legacy-exporter", {}, {}}, "legacy", "cn:legacy-exporter", {"writer"}, {}},
      {"first rule wins",
       {"", {"shadowed.example"}, {}},
       "first",
       "dns:shadowed.example",
       {"a"},
       {}},
      {"CN value in a DNS SAN does not match a CN rule",
       {"", {"legacy-exporter"}, {}},
       std::nullopt,
       "",
       {},
       {}},
      {"URI prefix is not a match",
       {"", {}, {"spiffe://prod.example/ns/obs/sa/promtail/extra"}},
       std::nullopt,
       "",
       {},
       {}},
      {"case matters", {"", {"GRAFANA.internal.example"}, {}}, std::nullopt, "", {}, {}},
      {"nothing at all", {}, std::nullopt, "", {}, {}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::optional<Principal> p = map_certificate(rules(), c.fields);
      REQUIRE(p.has_value() == c.subject.has_value());
      if (p) {
        CHECK(p->subject == *c.subject);
        CHECK(p->issuer.empty());
        CHECK(p->cert_identity == c.identity);
        CHECK(p->roles == c.roles);
        CHECK(p->tenants == c.tenants);
      }
    }
  }
}

TEST_CASE("CertMapping::parse names the bad rule", "[principal][mtls]") {
  struct Bad {
    std::string name;
    std::string yaml;
    std::string message_part;
  };
  const std::vector<Bad> cases = {
      {"not a list", "{a: b}", "expected a list"},
      {"no matcher", "[{name: x}]", "exactly one of"},
      {"two matchers", "[{name: x, dns_san: a, uri_san: b}]", "exactly one of"},
      {"empty value", "[{name: x, dns_san: ''}]", "empty match value"},
      {"no name", "[{dns_san: a}]", "cert_principals[0].name"},
      {"unknown field", "[{dns_san: a, name: x, wildcard: true}]", "unknown field"},
      {"roles not a list", "[{dns_san: a, name: x, roles: admin}]", "roles: expected a list"},
  };
  for (const Bad& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Result<CertMapping> r = CertMapping::parse(YAML::Load(c.yaml));
      REQUIRE_FALSE(r.ok());
      INFO(r.status().message());
      CHECK(r.status().message().find(c.message_part) != std::string::npos);
    }
  }
}

// A self-signed certificate built at test time.
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr make_cert(const std::vector<std::string>& cns, const std::string& san_conf,
                  bool duplicate_san = false) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key != nullptr);
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("obsgate"), -1, -1, 0);
  for (const std::string& cn : cns) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.data()),
                               static_cast<int>(cn.size()), -1, 0);
  }
  X509_set_issuer_name(x.get(), name);
  if (!san_conf.empty()) {
    for (int i = 0; i < (duplicate_san ? 2 : 1); ++i) {
      X509V3_CTX ctx;
      X509V3_set_ctx_nodb(&ctx);
      X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
      X509_EXTENSION* ext =
          X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san_conf.c_str());
      REQUIRE(ext != nullptr);
      X509_add_ext(x.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  REQUIRE(X509_sign(x.get(), key, EVP_sha256()) > 0);
  EVP_PKEY_free(key);
  return x;
}

TEST_CASE("extract_cert_fields reads CN and SANs and refuses ambiguous names",
          "[principal][mtls]") {
  struct XCase {
    std::string name;
    std::vector<std::string> cns;
    std::string san_conf;
    bool duplicate_san;
    bool ok;
    CertFields want;
  };
  const std::vector<XCase> cases = {
      {"CN and mixed SANs",
       {"svc-a"},
       "DNS:a.example,URI:spiffe://td/ns/x/sa/y,IP:127.0.0.1,DNS:b.example",
       false,
       true,
       {"svc-a", {"a.example", "b.example"}, {"spiffe://td/ns/x/sa/y"}}},
      {"no CN, URI only", {}, "URI:spiffe://td/w", false, true, {"", {}, {"spiffe://td/w"}}},
      {"CN only", {"only-cn"}, "", false, true, {"only-cn", {}, {}}},
      {"two CNs refused", {"a", "b"}, "", false, false, {}},
      {"CN with embedded NUL refused", {std::string("good\0evil", 9)}, "", false, false, {}},
      {"two SAN extensions refused", {"x"}, "DNS:a.example", true, false, {}},
  };
  for (const XCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      X509Ptr x = make_cert(c.cns, c.san_conf, c.duplicate_san);
      Result<CertFields> r = extract_cert_fields(x.get());
      INFO(r.status().to_string());
      REQUIRE(r.ok() == c.ok);
      if (c.ok) {
        CHECK(r->subject_cn == c.want.subject_cn);
        CHECK(r->dns_sans == c.want.dns_sans);
        CHECK(r->uri_sans == c.want.uri_sans);
      }
    }
  }
  CHECK_FALSE(extract_cert_fields(nullptr).ok());
}

}  // namespace
}  // namespace obsgate::authz
