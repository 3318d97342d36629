// The `tenants:` section: what loads, what it loads into, and the precise error of what doesn't
// (file:line:col, key path, and for selectors the PromQL/LogQL parser's message).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace {

using obsgate::config::ConfigPtr;
using obsgate::config::TenantsConfig;
using obsgate::filters::MatchOp;
using obsgate::filters::Matcher;
using obsgate::filters::Rule;
namespace rw = obsgate::filters::remote_write;

constexpr const char* kBase = R"(server:
  listeners:
    - name: public
      port: 8080
upstreams:
  - name: prom
    url: http://127.0.0.1:9091
    api: prometheus
routes:
  - name: query
    methods: [GET]
    path: /api/v1/query
    upstream: prom
    auth: unsafe_none
admin:
  port: 9090
)";

obsgate::Result<ConfigPtr> load(const std::string& tenants) {
  return obsgate::config::load_string(std::string(kBase) + tenants, "t.yaml");
}

using Check = std::function<void(const TenantsConfig&)>;

struct Case {
  std::string name;
  std::string yaml;
  Check check;
};

TEST_CASE("tenants: valid sections load into plain values", "[config][tenants]") {
  const std::vector<Case> cases = {
      {"no section", "", [](const TenantsConfig& t) { CHECK(t.tenants.empty()); }},
      {"selector rules, hidden labels sorted",
       R"(tenants:
  unrestricted_roles: [platform-admin, ops, ops]
  tenants:
    - name: team-a
      metrics:
        rules: ['{namespace=~"team-a|team-a-staging", cluster="prod"}', '{team="a"}']
        hidden_labels: [user_id, client_ip]
)",
       [](const TenantsConfig& t) {
         REQUIRE(t.tenants.size() == 1);
         const auto& a = t.tenants[0];
         CHECK(a.name == "team-a");
         REQUIRE(a.metrics);
         CHECK_FALSE(a.logs);
         CHECK_FALSE(a.write);
         REQUIRE(a.metrics->rules.size() == 2);
         CHECK(a.metrics->rules[0] == Rule{{"namespace", MatchOp::kRe, "team-a|team-a-staging"},
                                           {"cluster", MatchOp::kEq, "prod"}});
         CHECK(a.metrics->rules[1] == Rule{{"team", MatchOp::kEq, "a"}});
         CHECK(a.metrics->hidden_labels == std::vector<std::string>{"client_ip", "user_id"});
         CHECK(t.unrestricted_roles == std::vector<std::string>{"ops", "platform-admin"});
         CHECK(t.find("team-a") == &a);
         CHECK(t.find("team-b") == nullptr);
       }},
      {"structured matchers with value lists",
       R"(tenants:
  tenants:
    - name: b
      metrics:
        rules:
          - matchers:
              - {label: namespace, values: [team-b, "b.staging"]}
              - {label: cluster, op: "!=", values: [dev, test]}
              - {label: env, op: "=~", value: "prod-.*"}
              - {label: zone, value: "eu\"1"}
)",
       [](const TenantsConfig& t) {
         REQUIRE(t.tenants.size() == 1);
         CHECK(t.tenants[0].metrics->rules.at(0) ==
               Rule{{"namespace", MatchOp::kRe,
                     obsgate::filters::values_regex({"team-b", "b.staging"})},
                    {"cluster", MatchOp::kNre, "dev|test"},
                    {"env", MatchOp::kRe, "prod-.*"},
                    {"zone", MatchOp::kEq, "eu\"1"}});
       }},
      {"metric name in a rule is a __name__ matcher",
       R"(tenants:
  tenants:
    - name: c
      metrics: {rules: ['up{job="x"}']}
)",
       [](const TenantsConfig& t) {
         CHECK(t.tenants[0].metrics->rules.at(0) ==
               Rule{{"__name__", MatchOp::kEq, "up"}, {"job", MatchOp::kEq, "x"}});
       }},
      {"logs, audit and shipper",
       R"(tenants:
  audit:
    streams: ['{stream="audit"}', '{source=~"audit-.*"}']
    auditor_roles: [auditor]
    shipper: {subject: audit-shipper, cert_identity: "uri:spiffe://x/shipper"}
  tenants:
    - name: a
      logs:
        rules: ['{namespace="a"}']
        hidden_labels: [client_ip]
)",
       [](const TenantsConfig& t) {
         REQUIRE(t.tenants[0].logs);
         CHECK(t.tenants[0].logs->rules.at(0) == Rule{{"namespace", MatchOp::kEq, "a"}});
         REQUIRE(t.audit.streams.size() == 2);
         CHECK(t.audit.streams[1] == Rule{{"source", MatchOp::kRe, "audit-.*"}});
         CHECK(t.audit.auditor_roles == std::vector<std::string>{"auditor"});
         REQUIRE(t.audit.shipper);
         CHECK(t.audit.shipper->subject == "audit-shipper");
         CHECK(t.audit.shipper->cert_identity == "uri:spiffe://x/shipper");
       }},
      {"write policy into remote_write types",
       R"(tenants:
  tenants:
    - name: team-a
      write:
        tenant_label: tenant
        rules: ['{namespace=~"team-a.*"}']
        forbidden_labels: [user_id, request_id]
        on_violation: drop
        limits: {max_series: 1000, max_compressed_bytes: 4MiB, max_label_value_bytes: 1KiB}
)",
       [](const TenantsConfig& t) {
         REQUIRE(t.tenants[0].write);
         const rw::WritePolicy& w = t.tenants[0].write->policy;
         CHECK(w.tenant_label == "tenant");
         CHECK(w.tenant_value == "team-a");  // defaults to the tenant's name
         CHECK(w.write_scope.at(0) == Rule{{"namespace", MatchOp::kRe, "team-a.*"}});
         CHECK(w.forbidden_labels == std::vector<std::string>{"request_id", "user_id"});
         CHECK(w.on_violation == rw::WritePolicy::OnViolation::kDrop);
         CHECK(w.limits.max_series == 1000);
         CHECK(w.limits.max_compressed_bytes == 4u << 20);
         CHECK(w.limits.max_label_value_bytes == 1024);
         CHECK(w.limits.max_samples == rw::Limits{}.max_samples);  // default kept
         CHECK_FALSE(w.schema);
       }},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto cfg = load(c.yaml);
      INFO(cfg.status().message());
      REQUIRE(cfg.ok());
      c.check((*cfg)->tenants);
    }
  }
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::vector<std::string> expect;  // substrings of the error message
};

TEST_CASE("tenants: invalid sections name file:line:col, key path and reason",
          "[config][tenants]") {
  // kBase is 16 lines: the tenants section starts at line 17.
  const std::vector<ErrorCase> cases = {
      {"not a map", "tenants: [a]\n", {"t.yaml:17:10: tenants: expected a map"}},
      {"unknown key",
       "tenants:\n  tenant: []\n",
       {"t.yaml:18:3: tenants.tenant: unknown key"}},
      {"bad PromQL selector",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules: ['{a=~\"(\"}']\n",
       {"t.yaml:21:17: tenants.tenants[0].metrics.rules[0]: invalid PromQL selector",
        "missing closing )"}},
      {"selector matching everything",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules: ['{a!=\"x\"}']\n",
       {"tenants.tenants[0].metrics.rules[0]", "at least one non-empty matcher"}},
      {"bad LogQL selector",
       "tenants:\n  tenants:\n    - name: a\n      logs:\n        rules: ['{a=\"x\"} |= \"y\"']\n",
       {"t.yaml:21:17: tenants.tenants[0].logs.rules[0]: invalid LogQL selector",
        "no pipeline"}},
      {"section without rules",
       "tenants:\n  tenants:\n    - name: a\n      metrics: {hidden_labels: [x]}\n",
       {"tenants.tenants[0].metrics.rules: at least one rule is required"}},
      {"duplicate tenant",
       "tenants:\n  tenants:\n    - name: a\n    - name: a\n",
       {"t.yaml:20:13: tenants.tenants[1].name: duplicate tenant name 'a'"}},
      {"missing name", "tenants:\n  tenants:\n    - metrics: {rules: ['{a=\"b\"}']}\n",
       {"tenants.tenants[0].name"}},
      {"duplicate hidden label",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules: ['{a=\"b\"}']\n"
       "        hidden_labels: [x, x]\n",
       {"t.yaml:22:28: tenants.tenants[0].metrics.hidden_labels[1]: duplicate label 'x'"}},
      {"structured: bad op",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules:\n"
       "          - matchers: [{label: a, op: '==', value: b}]\n",
       {"tenants.tenants[0].metrics.rules[0].matchers[0].op: expected =, !=, =~ or !~"}},
      {"structured: value and values",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules:\n"
       "          - matchers: [{label: a, value: b, values: [c]}]\n",
       {"give exactly one of value and values"}},
      {"structured: regex list",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules:\n"
       "          - matchers: [{label: a, op: '=~', values: ['x', 'y']}]\n",
       {"takes exactly one pattern"}},
      {"structured: bad regex",
       "tenants:\n  tenants:\n    - name: a\n      metrics:\n        rules:\n"
       "          - matchers: [{label: a, op: '=~', value: '[z'}]\n",
       {"invalid RE2 pattern"}},
      {"audit rule with two matchers",
       "tenants:\n  audit:\n    streams: ['{a=\"x\", b=\"y\"}']\n",
       {"t.yaml:19:15: tenants.audit.streams[0]", "single-matcher"}},
      {"shipper without identity",
       "tenants:\n  audit:\n    shipper: {issuer: x}\n",
       {"tenants.audit.shipper: give subject or cert_identity"}},
      {"write: bad on_violation",
       "tenants:\n  tenants:\n    - name: a\n      write: {on_violation: ignore}\n",
       {"tenants.tenants[0].write.on_violation: expected reject or drop, got 'ignore'"}},
      {"write: zero limit",
       "tenants:\n  tenants:\n    - name: a\n      write: {limits: {max_series: 0}}\n",
       {"tenants.tenants[0].write.limits.max_series"}},
      {"write: missing schema file",
       "tenants:\n  tenants:\n    - name: a\n      write: {schema: /nonexistent/schema.yaml}\n",
       {"tenants.tenants[0].write.schema"}},
      {"write: metadata switch without schema",
       "tenants:\n  tenants:\n    - name: a\n      write: {drop_metadata_outside_schema: true}\n",
       {"drop_metadata_outside_schema: needs a schema"}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto cfg = load(c.yaml);
      REQUIRE_FALSE(cfg.ok());
      CAPTURE(cfg.status().message());
      for (const auto& e : c.expect) {
        CHECK(cfg.status().message().find(e) != std::string::npos);
      }
    }
  }
}

TEST_CASE("tenants: write schema contracts are read at load", "[config][tenants]") {
  const auto dir = std::filesystem::temp_directory_path() / "obsgate_tenants_test_schema";
  std::filesystem::create_directories(dir);
  const auto file = dir / "a.yaml";
  {
    std::ofstream f(file);
    f << "metrics:\n  http_requests: [method, code]\n";
  }
  auto cfg = load("tenants:\n  tenants:\n    - name: a\n      write:\n        schema: " +
                  dir.string() + "\n");
  std::filesystem::remove_all(dir);
  INFO(cfg.status().message());
  REQUIRE(cfg.ok());
  const auto& w = (*cfg)->tenants.tenants.at(0).write;
  REQUIRE(w);
  CHECK(w->schema_path == dir.string());
  REQUIRE(w->policy.schema);
  CHECK(w->policy.schema->resolve("http_requests_total") != nullptr);
}

TEST_CASE("tenants: rule parsers accept both syntaxes' selectors", "[config][tenants]") {
  struct RuleCase {
    std::string name;
    std::string selector;
    bool logs;
    bool ok;
  };
  const std::vector<RuleCase> cases = {
      {"promql plain", R"({a="b"})", false, true},
      {"promql quoted UTF-8 name", R"({"a.b"="c"})", false, true},
      {"promql offset refused", R"({a="b"} offset 5m)", false, false},
      {"promql expression refused", R"(sum({a="b"}))", false, false},
      {"logql plain", R"({a="b", c=~"d|e"})", true, true},
      {"logql metric query refused", R"(count_over_time({a="b"}[5m]))", true, false},
      {"logql empty-matching refused", R"({a=~".*"})", true, false},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = c.logs ? obsgate::config::parse_logs_rule(c.selector)
                      : obsgate::config::parse_metrics_rule(c.selector);
      CAPTURE(r.status().message());
      CHECK(r.ok() == c.ok);
    }
  }
}

}  // namespace
