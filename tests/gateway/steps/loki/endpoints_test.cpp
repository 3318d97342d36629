// The pure half of the loki step: endpoint table, parameter enforcement per endpoint, and the
// X-Scope-OrgID value.
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/steps/loki/endpoints.h"

namespace {

namespace la = obsgate::gateway::loki_api;
namespace logql = obsgate::filters::logql;
using obsgate::Code;
using obsgate::Result;
using obsgate::filters::MatchOp;
using obsgate::routing::Params;

logql::LogsPolicy policy_a(bool auditor = false) {
  logql::LogsPolicy p;
  p.scope.rules = {{{"namespace", MatchOp::kEq, "a"}}};
  p.scope.hidden_labels = {"client_ip"};
  p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
  p.auditor = auditor;
  return p;
}

// Two rules that do not collapse (they differ in two labels).
logql::LogsPolicy policy_two_rules() {
  logql::LogsPolicy p = policy_a();
  p.scope.rules = {{{"namespace", MatchOp::kEq, "a"}}, {{"team", MatchOp::kEq, "b"}}};
  return p;
}

logql::LogsPolicy policy_unrestricted(bool auditor) {
  logql::LogsPolicy p;
  p.scope.unrestricted = true;
  p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
  p.auditor = auditor;
  return p;
}

Params params(std::string_view q) {
  auto p = obsgate::routing::parse_params(q);
  REQUIRE(p.ok());
  return *p;
}

using Check = std::function<void(const Result<la::Plan>&)>;

Check ok() {
  return [](const Result<la::Plan>& r) {
    INFO(r.status().to_string());
    REQUIRE(r.ok());
  };
}
Check fails(Code code, std::string text = {}) {
  return [code, text](const Result<la::Plan>& r) {
    REQUIRE_FALSE(r.ok());
    CAPTURE(r.status().message());
    CHECK(r.status().code() == code);
    CHECK(r.status().message().find(text) != std::string::npos);
  };
}
Check param(std::string key, std::vector<std::string> want) {
  return [key, want](const Result<la::Plan>& r) {
    REQUIRE(r.ok());
    std::vector<std::string> got;
    for (auto v : r->params.get_all(key)) {
      got.emplace_back(v);
    }
    CHECK(got == want);
  };
}
Check per_rule(std::vector<std::string> want) {
  return [want](const Result<la::Plan>& r) {
    REQUIRE(r.ok());
    CHECK(r->per_rule_queries == want);
  };
}
Check audit(bool touches) {
  return [touches](const Result<la::Plan>& r) {
    REQUIRE(r.ok());
    CHECK(r->touches_audit == touches);
  };
}

struct Case {
  std::string name;
  la::Endpoint endpoint;
  std::string query;
  logql::LogsPolicy policy;
  std::string label;
  std::vector<Check> checks;
};

TEST_CASE("loki endpoints: enforce_params", "[loki][endpoints]") {
  using E = la::Endpoint;
  const std::string kScoped = R"({namespace="a", stream!="audit"})";
  const std::vector<Case> cases = {
      {"query_range narrowed, audit negated",
       E::kQueryRange,
       R"(query={app="x"} |= "err"&limit=10)",
       policy_a(),
       "",
       {ok(), param("query", {R"({app="x", namespace="a", stream!="audit"} |= "err")"}),
        param("limit", {"10"}), audit(false)}},
      {"regex on the stream label cannot reach audit",
       E::kQueryRange,
       R"(query={stream=~"aud.*"})",
       policy_a(),
       "",
       {param("query", {R"({stream=~"aud.*", namespace="a", stream!="audit"})"})}},
      {"metric query narrowed everywhere",
       E::kQuery,
       R"(query=sum(rate({app="x"}[5m])) or sum(rate({stream="audit"}[5m])))",
       policy_a(),
       "",
       {param("query", {R"(sum(rate({app="x", namespace="a", stream!="audit"}[5m])) or )"
                        R"(sum(rate({stream="audit", namespace="a", stream!="audit"}[5m])))"})}},
      {"auditor: no negation, audit touched",
       E::kQueryRange,
       R"(query={stream="audit"})",
       policy_a(/*auditor=*/true),
       "",
       {param("query", {R"({stream="audit", namespace="a"})"}), audit(true)}},
      {"hidden label in query", E::kQueryRange, R"(query={client_ip="1"})", policy_a(), "",
       {fails(Code::kInvalidArgument, "client_ip")}},
      {"hidden label in a by clause", E::kQuery,
       R"(query=sum by (client_ip) (rate({app="x"}[1m])))", policy_a(), "",
       {fails(Code::kInvalidArgument, "client_ip")}},
      {"missing query", E::kQueryRange, "limit=1", policy_a(), "",
       {fails(Code::kInvalidArgument, "query")}},
      {"parse error", E::kQueryRange, "query={app=", policy_a(), "",
       {fails(Code::kInvalidArgument, "parse error")}},
      {"uncollapsible rules: per-rule queries for query_range",
       E::kQueryRange,
       R"(query={app="x"})",
       policy_two_rules(),
       "",
       {per_rule({R"({app="x", namespace="a", stream!="audit"})",
                  R"({app="x", team="b", stream!="audit"})"}),
        param("query", {R"({app="x", namespace="a", stream!="audit"})"})}},
      {"uncollapsible rules: tail refused", E::kTail, R"(query={app="x"})", policy_two_rules(),
       "", {fails(Code::kInvalidArgument, "X-Obsgate-Tenant")}},
      {"uncollapsible rules: metric query lifted with or",
       E::kQuery,
       R"(query=count_over_time({app="x"}[1m]))",
       policy_two_rules(),
       "",
       {per_rule({}),
        param("query", {R"(count_over_time({app="x", namespace="a", stream!="audit"}[1m]) or )"
                        R"(count_over_time({app="x", team="b", stream!="audit"}[1m]))"})}},
      {"tail drops hidden labels",
       E::kTail,
       R"(query={app="x"})",
       policy_a(),
       "",
       {param("query", {R"({app="x", namespace="a", stream!="audit"} | drop client_ip)"})}},
      {"tail of a metric query refused", E::kTail, R"(query=rate({app="x"}[1m]))", policy_a(),
       "", {fails(Code::kInvalidArgument, "log query")}},
      {"detected_fields keeps the pipeline",
       E::kDetectedFields,
       R"(query={app="x"} | json)",
       policy_a(),
       "",
       {param("query", {R"({app="x", namespace="a", stream!="audit"} | json)"})}},
      {"labels without a selector get the scope's", E::kLabels, "start=1", policy_a(), "",
       {param("query", {kScoped}), param("start", {"1"})}},
      {"labels with a selector", E::kLabels, R"(query={app="x"})", policy_a(), "",
       {param("query", {R"({app="x", namespace="a", stream!="audit"})"})}},
      {"labels: a pipeline is not a selector", E::kLabels, R"(query={app="x"} |= "y")",
       policy_a(), "", {fails(Code::kInvalidArgument)}},
      {"labels: two uncollapsible rules", E::kLabels, "", policy_two_rules(), "",
       {fails(Code::kInvalidArgument, "X-Obsgate-Tenant")}},
      {"labels: unrestricted non-auditor must give a selector", E::kLabels, "",
       policy_unrestricted(false), "", {fails(Code::kInvalidArgument, "selector")}},
      {"labels: unrestricted non-auditor with a selector", E::kLabels, R"(query={app="x"})",
       policy_unrestricted(false), "", {param("query", {R"({app="x", stream!="audit"})"})}},
      {"labels: unrestricted auditor untouched", E::kLabels, "start=5", policy_unrestricted(true),
       "", {param("query", {}), param("start", {"5"})}},
      {"label values of a hidden label", E::kLabelValues, "", policy_a(), "client_ip",
       {fails(Code::kPermissionDenied, "client_ip")}},
      {"label values scoped", E::kLabelValues, "", policy_a(), "app",
       {param("query", {kScoped})}},
      {"series: match[] and match narrowed, forwarded as match[]",
       E::kSeries,
       R"(match[]={app="x"}&match={app="y"}&start=1)",
       policy_a(),
       "",
       {param("match[]", {R"({app="x", namespace="a", stream!="audit"})",
                          R"({app="y", namespace="a", stream!="audit"})"}),
        param("match", {}), param("start", {"1"})}},
      {"series: one selector per rule",
       E::kSeries,
       R"(match[]={app="x"})",
       policy_two_rules(),
       "",
       {param("match[]", {R"({app="x", namespace="a", stream!="audit"})",
                          R"({app="x", team="b", stream!="audit"})"})}},
      {"series: {} is the scope", E::kSeries, "match[]={}", policy_a(), "",
       {param("match[]", {kScoped})}},
      {"series: none is the scope", E::kSeries, "", policy_a(), "",
       {param("match[]", {kScoped})}},
      {"series: hidden label", E::kSeries, R"(match[]={client_ip="1"})", policy_a(), "",
       {fails(Code::kInvalidArgument, "client_ip")}},
      {"index/stats needs a selector", E::kIndexStats, "start=1", policy_a(), "",
       {fails(Code::kInvalidArgument, "query")}},
      {"index/stats scoped", E::kIndexStats, R"(query={app="x"})", policy_a(), "",
       {param("query", {R"({app="x", namespace="a", stream!="audit"})"})}},
      {"volume match-any is the scope", E::kIndexVolume, "query={}", policy_a(), "",
       {param("query", {kScoped})}},
      {"volume targetLabels hidden", E::kIndexVolumeRange,
       R"(query={app="x"}&targetLabels=app,client_ip)", policy_a(), "",
       {fails(Code::kInvalidArgument, "client_ip")}},
      {"patterns scoped", E::kPatterns, R"(query={app="x"})", policy_a(), "",
       {param("query", {R"({app="x", namespace="a", stream!="audit"})"})}},
      {"detected_labels without a selector", E::kDetectedLabels, "", policy_a(), "",
       {param("query", {kScoped})}},
      {"no rules: nothing", E::kQueryRange, R"(query={app="x"})", logql::LogsPolicy{}, "",
       {fails(Code::kPermissionDenied)}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const auto r = la::enforce_params(c.endpoint, params(c.query), c.policy, c.label);
      for (const auto& check : c.checks) {
        check(r);
      }
    }
  }
}

TEST_CASE("loki endpoints: paths", "[loki][endpoints]") {
  using E = la::Endpoint;
  CHECK(la::endpoint_for_path("/loki/api/v1/query_range") == E::kQueryRange);
  CHECK(la::endpoint_for_path("/loki/api/v1/label") == E::kLabels);
  CHECK(la::endpoint_for_path("/loki/api/v1/label/{n}/values") == E::kLabelValues);
  CHECK(la::label_param_name("/loki/api/v1/label/{n}/values") == "n");
  CHECK(la::endpoint_for_path("/loki/api/v1/index/volume_range") == E::kIndexVolumeRange);
  CHECK(la::endpoint_for_path("/loki/api/v1/tail") == E::kTail);
  CHECK_FALSE(la::endpoint_for_path("/loki/api/v1/push"));
  CHECK_FALSE(la::endpoint_for_path("/loki/api/v1/delete"));
  CHECK_FALSE(la::endpoint_for_path("/loki/api/v1/label/{n}/x/values"));
  CHECK(la::endpoint_name(E::kLabelValues) == "label_values");
}

TEST_CASE("loki endpoints: org_id", "[loki][endpoints]") {
  obsgate::config::Upstream up;
  up.tenant_header = "X-Scope-OrgID";
  up.tenant_ids = {{"team-a", "1001"}, {"bad", "x|y"}};
  struct OrgCase {
    std::string name;
    std::vector<std::string> tenants;
    bool single;
    std::string want;  // empty: an error
  };
  const std::vector<OrgCase> cases = {
      {"mapped", {"team-a"}, true, "1001"},
      {"unmapped: own name", {"team-b"}, true, "team-b"},
      {"several: multi-tenant form, sorted", {"team-b", "team-a"}, false, "1001|team-b"},
      {"several on a tail", {"team-b", "team-a"}, true, ""},
      {"same id twice is one", {"team-a", "team-a"}, true, "1001"},
      {"an id with |", {"bad"}, false, ""},
      {"none", {}, false, ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = la::org_id(up, c.tenants, c.single);
      if (c.want.empty()) {
        CHECK_FALSE(r.ok());
      } else {
        REQUIRE(r.ok());
        CHECK(*r == c.want);
      }
    }
  }
}

}  // namespace
