// Tenant policy resolution: scopes by principal and tenant header, union across tenants, no
// scope = no access, unrestricted roles, auditors, writes resolving to exactly one tenant.
#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "authz/policy/policy.h"

namespace {

using obsgate::Code;
using obsgate::authz::Policy;
using obsgate::authz::PolicyPtr;
using obsgate::authz::Principal;
using obsgate::filters::MatchOp;
using obsgate::filters::Rule;
namespace config = obsgate::config;

const Rule kRuleA{{"namespace", MatchOp::kRe, "team-a|team-a-staging"},
                  {"cluster", MatchOp::kEq, "prod"}};
const Rule kRuleA2{{"team", MatchOp::kEq, "a"}};
const Rule kRuleB{{"namespace", MatchOp::kEq, "team-b"}};
const Rule kRuleC{{"namespace", MatchOp::kEq, "team-c"}};
const Rule kAudit{{"stream", MatchOp::kEq, "audit"}};

config::TenantsConfig make_config() {
  config::TenantsConfig c;
  config::Tenant a{"team-a", config::ReadScope{{kRuleA, kRuleA2}, {"client_ip"}},
                   config::ReadScope{{kRuleA2}, {}}, std::nullopt};
  a.write.emplace();
  a.write->policy.tenant_label = "tenant";
  a.write->policy.tenant_value = "team-a";
  config::Tenant b{"team-b", config::ReadScope{{kRuleB}, {"user_id"}}, std::nullopt,
                   std::nullopt};
  b.write.emplace();
  b.write->policy.tenant_label = "tenant";
  b.write->policy.tenant_value = "team-b";
  config::Tenant c_logs_only{"team-c", std::nullopt, config::ReadScope{{kRuleC}, {}},
                             std::nullopt};
  c.tenants = {b, a, c_logs_only};  // out of order on purpose
  c.unrestricted_roles = {"platform-admin"};
  c.audit.streams = {kAudit};
  c.audit.auditor_roles = {"auditor"};
  c.audit.shipper = config::AuditShipper{"https://idp", "shipper", ""};
  return c;
}

const Policy& policy() {
  static const PolicyPtr p = [] {
    auto r = Policy::compile(make_config());
    REQUIRE(r.ok());
    return *r;
  }();
  return *p;
}

Principal who(std::vector<std::string> tenants, std::vector<std::string> roles = {}) {
  Principal p;
  p.issuer = "https://idp";
  p.subject = "user";
  p.tenants = std::move(tenants);
  p.roles = std::move(roles);
  return p;
}

using MetricsCheck = std::function<void(const obsgate::Result<obsgate::authz::MetricsAccess>&)>;

MetricsCheck denied() {
  return [](const auto& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kPermissionDenied);
  };
}
MetricsCheck rules_are(std::vector<Rule> rules, std::vector<std::string> hidden = {}) {
  return [rules, hidden](const auto& r) {
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    CHECK_FALSE(r->scope.unrestricted);
    CHECK(r->scope.rules == rules);
    CHECK(r->scope.hidden_labels == hidden);
  };
}
MetricsCheck unrestricted() {
  return [](const auto& r) {
    REQUIRE(r.ok());
    CHECK(r->scope.unrestricted);
    CHECK(r->scope.hidden_labels.empty());
    CHECK(r->tenants.empty());
  };
}

struct Case {
  std::string name;
  Principal principal;
  std::optional<std::string> header;
  MetricsCheck check;
};

TEST_CASE("policy: metrics scope by principal and tenant header", "[policy]") {
  const std::vector<Case> cases = {
      {"one tenant", who({"team-a"}), std::nullopt,
       rules_are({kRuleA, kRuleA2}, {"client_ip"})},
      {"union of two tenants, hidden labels united", who({"team-a", "team-b"}), std::nullopt,
       rules_are({kRuleA, kRuleA2, kRuleB}, {"client_ip", "user_id"})},
      {"header narrows to one tenant", who({"team-a", "team-b"}), "team-b",
       rules_are({kRuleB}, {"user_id"})},
      {"header naming a tenant the principal lacks", who({"team-a"}), "team-b", denied()},
      {"header naming an unknown tenant", who({"team-a"}), "nope", denied()},
      {"empty header value is a tenant name too", who({"team-a"}), "", denied()},
      {"no tenants: no access", who({}), std::nullopt, denied()},
      {"unknown tenant only: no access", who({"ghost"}), std::nullopt, denied()},
      {"tenant without a metrics section: no access", who({"team-c"}), std::nullopt, denied()},
      {"tenant without metrics does not widen others", who({"team-b", "team-c"}), std::nullopt,
       rules_are({kRuleB}, {"user_id"})},
      {"header to a tenant without metrics", who({"team-c"}), "team-c", denied()},
      {"unrestricted role", who({}, {"platform-admin"}), std::nullopt, unrestricted()},
      {"unrestricted role beats tenants", who({"team-a"}, {"platform-admin"}), std::nullopt,
       unrestricted()},
      {"unrestricted role narrows to any configured tenant", who({}, {"platform-admin"}),
       "team-b", rules_are({kRuleB}, {"user_id"})},
      {"unrestricted role: unknown tenant in header", who({}, {"platform-admin"}), "ghost",
       denied()},
      {"other roles do not matter", who({"team-b"}, {"auditor", "reader"}), std::nullopt,
       rules_are({kRuleB}, {"user_id"})},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::optional<std::string_view> h;
      if (c.header) {
        h = *c.header;
      }
      c.check(policy().metrics(c.principal, h));
    }
  }
}

TEST_CASE("policy: logs carry audit rules and the auditor flag", "[policy]") {
  auto a = policy().logs(who({"team-a"}), std::nullopt);
  REQUIRE(a.ok());
  CHECK(a->policy.scope.rules == std::vector<Rule>{kRuleA2});
  CHECK(a->policy.audit_streams == std::vector<Rule>{kAudit});
  CHECK_FALSE(a->policy.auditor);
  CHECK(a->tenants == std::vector<std::string>{"team-a"});

  auto aud = policy().logs(who({"team-c"}, {"auditor"}), std::nullopt);
  REQUIRE(aud.ok());
  CHECK(aud->policy.auditor);
  CHECK(aud->policy.scope.rules == std::vector<Rule>{kRuleC});

  auto b = policy().logs(who({"team-b"}), std::nullopt);  // team-b has no logs section
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().code() == Code::kPermissionDenied);

  auto admin = policy().logs(who({}, {"platform-admin"}), std::nullopt);
  REQUIRE(admin.ok());
  CHECK(admin->policy.scope.unrestricted);
  CHECK_FALSE(admin->policy.auditor);  // unrestricted is not auditor: audit stays apart
}

TEST_CASE("policy: writes resolve to exactly one of the principal's own tenants", "[policy]") {
  // team-a and team-b have write sections, team-c has none, team-x is not configured.
  auto shipper = [](std::vector<std::string> tenants, std::vector<std::string> roles = {}) {
    Principal p = who(std::move(tenants), std::move(roles));
    p.subject = "shipper";
    return p;
  };
  struct WCase {
    std::string name;
    Principal principal;
    std::optional<std::string> header;
    std::optional<std::string> tenant;  // nullopt: error
    Code code = Code::kOk;
    bool audit_shipper = false;
  };
  const std::vector<WCase> cases = {
      // own tenant
      {"own tenant", who({"team-a"}), std::nullopt, "team-a"},
      {"own tenant named by the header", who({"team-a"}), "team-a", "team-a"},
      {"own tenant listed twice is still one tenant", who({"team-a", "team-a"}), std::nullopt,
       "team-a"},
      {"own tenants without a write section are skipped", who({"team-a", "team-c"}),
       std::nullopt, "team-a"},
      {"own tenant unknown to the config is skipped", who({"team-x", "team-b"}), std::nullopt,
       "team-b"},
      // other tenant
      {"header names another tenant", who({"team-a"}), "team-b", std::nullopt,
       Code::kPermissionDenied},
      {"header names a tenant the config does not know", who({"team-a"}), "team-x",
       std::nullopt, Code::kPermissionDenied},
      {"header names an own tenant without write section", who({"team-c"}), "team-c",
       std::nullopt, Code::kPermissionDenied},
      {"header names an own tenant unknown to the config", who({"team-x"}), "team-x",
       std::nullopt, Code::kPermissionDenied},
      // several tenants + X-Obsgate-Tenant
      {"several writer tenants without header are ambiguous", who({"team-a", "team-b"}),
       std::nullopt, std::nullopt, Code::kInvalidArgument},
      {"several writer tenants: the header picks team-b", who({"team-a", "team-b"}), "team-b",
       "team-b"},
      {"several writer tenants: the header picks team-a", who({"team-b", "team-a"}), "team-a",
       "team-a"},
      {"several tenants, header to a third", who({"team-a", "team-b"}), "team-c", std::nullopt,
       Code::kPermissionDenied},
      // unrestricted role
      {"unrestricted role without tenants may not write", who({}, {"platform-admin"}),
       std::nullopt, std::nullopt, Code::kPermissionDenied},
      {"unrestricted role may not name a tenant it does not belong to",
       who({}, {"platform-admin"}), "team-a", std::nullopt, Code::kPermissionDenied},
      {"unrestricted role with a tenant writes as that tenant",
       who({"team-b"}, {"platform-admin"}), std::nullopt, "team-b"},
      {"unrestricted role with a tenant may not name another",
       who({"team-b"}, {"platform-admin"}), "team-a", std::nullopt, Code::kPermissionDenied},
      // the audit shipper
      {"the shipper writes as its tenant, marked", shipper({"team-a"}), std::nullopt, "team-a",
       Code::kOk, true},
      {"the shipper with the header, marked", shipper({"team-a", "team-b"}), "team-b", "team-b",
       Code::kOk, true},
      {"the shipper may not name a tenant it does not belong to", shipper({"team-a"}), "team-b",
       std::nullopt, Code::kPermissionDenied},
      {"the shipper without tenants may not write", shipper({}), std::nullopt, std::nullopt,
       Code::kPermissionDenied},
      {"another subject of the shipper's issuer is not marked", who({"team-a"}), std::nullopt,
       "team-a", Code::kOk, false},
      {"an unrestricted role does not make the shipper", who({"team-a"}, {"platform-admin"}),
       std::nullopt, "team-a", Code::kOk, false},
      // no tenant
      {"no tenants at all", who({}), std::nullopt, std::nullopt, Code::kPermissionDenied},
      {"no tenants, header given", who({}), "team-a", std::nullopt, Code::kPermissionDenied},
      {"only tenants without write", who({"team-c"}), std::nullopt, std::nullopt,
       Code::kPermissionDenied},
      {"only unknown tenants", who({"team-x"}), std::nullopt, std::nullopt,
       Code::kPermissionDenied},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::optional<std::string_view> h;
      if (c.header) {
        h = *c.header;
      }
      auto w = policy().write(c.principal, h);
      if (c.tenant) {
        INFO(w.status().to_string());
        REQUIRE(w.ok());
        CHECK(w->tenant == *c.tenant);
        REQUIRE(w->enforcer != nullptr);
        CHECK(w->enforcer->policy().tenant_value == *c.tenant);
        CHECK(w->audit_shipper == c.audit_shipper);
      } else {
        REQUIRE_FALSE(w.ok());
        CHECK(w.status().code() == c.code);
      }
    }
  }
}

TEST_CASE("policy: a refused tenant header is quoted back printable and bounded", "[policy]") {
  struct Row {
    std::string name;
    std::string header;
    std::string quoted;  // what the error says between the quotes
  };
  const std::vector<Row> rows = {
      {"a configured tenant", "team-b", "team-b"},
      {"control bytes replaced", std::string("x\r\nSet-Cookie: a\0", 17), "x??Set-Cookie: a?"},
      {"non-ASCII replaced byte by byte", "t\xc3\xa9", "t??"},
      {"long values cut at 64 bytes", std::string(100, 'a'), std::string(64, 'a') + "..."},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      auto w = policy().write(who({"team-a"}), std::string_view(r.header));
      REQUIRE_FALSE(w.ok());
      CHECK(w.status().code() == Code::kPermissionDenied);
      CHECK(w.status().message().find("tenant '" + r.quoted + "'") != std::string::npos);
    }
  }
}

TEST_CASE("policy: audit shipper and role predicates", "[policy]") {
  auto with = [](std::string issuer, std::string subject, std::string cert) {
    Principal p = who({});
    p.issuer = std::move(issuer);
    p.subject = std::move(subject);
    p.cert_identity = std::move(cert);
    return p;
  };
  struct SCase {
    std::string name;
    Principal p;
    bool shipper;
  };
  const std::vector<SCase> cases = {
      {"issuer and subject match", with("https://idp", "shipper", ""), true},
      {"other subject", with("https://idp", "user", ""), false},
      {"other issuer", with("https://evil", "shipper", ""), false},
      {"certificate principal with the same name", with("", "shipper", "cn:shipper"), false},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { CHECK(policy().is_audit_shipper(c.p) == c.shipper); }
  }
  CHECK(policy().is_auditor(who({}, {"auditor"})));
  CHECK_FALSE(policy().is_auditor(who({}, {"platform-admin"})));
  CHECK(policy().is_unrestricted(who({}, {"a", "platform-admin"})));

  config::TenantsConfig none;
  auto empty = Policy::compile(none);
  REQUIRE(empty.ok());
  CHECK_FALSE((*empty)->is_audit_shipper(with("https://idp", "shipper", "")));
  CHECK((*empty)->metrics(who({"team-a"}), std::nullopt).status().code() ==
        Code::kPermissionDenied);
}

}  // namespace
