// The pure part of the prometheus step: which endpoint a route serves, and how each endpoint's
// parameters are rewritten for a scope (CONVENTIONS #13: rows + composable checks).
#include "gateway/steps/prometheus/endpoints.h"
#include "gateway/steps/prometheus/visible_names.h"

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using obsgate::Code;
using obsgate::Result;
using obsgate::filters::MatchOp;
using obsgate::filters::Scope;
using obsgate::routing::Params;
namespace pa = obsgate::gateway::prom_api;
using pa::Endpoint;

Scope scope_a() {  // one rule, one hidden label
  Scope s;
  s.rules = {{{"namespace", MatchOp::kEq, "a"}}};
  s.hidden_labels = {"client_ip"};
  return s;
}
Scope scope_two() {  // two rules that do not collapse
  Scope s;
  s.rules = {{{"namespace", MatchOp::kEq, "a"}}, {{"team", MatchOp::kEq, "x"}}};
  return s;
}

Params params(std::string_view q) {
  auto p = obsgate::routing::parse_params(q);
  REQUIRE(p.ok());
  return *p;
}

using Check = std::function<void(const Result<Params>&)>;

Check is_ok() {
  return [](const Result<Params>& r) {
    INFO(r.status().to_string());
    REQUIRE(r.ok());
  };
}
Check has_code(Code c, std::string text = {}) {
  return [c, text](const Result<Params>& r) {
    REQUIRE_FALSE(r.ok());
    CAPTURE(r.status().message());
    CHECK(r.status().code() == c);
    CHECK(r.status().message().find(text) != std::string::npos);
  };
}
Check values(std::string key, std::vector<std::string> want) {
  return [key, want](const Result<Params>& r) {
    REQUIRE(r.ok());
    std::vector<std::string> got;
    for (auto v : r->get_all(key)) {
      got.emplace_back(v);
    }
    CHECK(got == want);
  };
}
Check all(std::vector<Check> checks) {
  return [checks](const Result<Params>& r) {
    for (const auto& c : checks) {
      c(r);
    }
  };
}

struct Case {
  std::string name;
  Endpoint endpoint;
  std::string query;
  Scope scope;
  std::string label = {};
  Check check;
};

TEST_CASE("enforce_params: each endpoint's parameters narrowed to the scope",
          "[prometheus][params]") {
  const std::vector<Case> cases = {
      {"query narrowed, other params kept in order",
       Endpoint::kQuery,
       "time=10&query=up&timeout=5s",
       scope_a(),
       {},
       all({values("query", {"up{namespace=\"a\"}"}), values("time", {"10"}),
            values("timeout", {"5s"}),
            [](const Result<Params>& r) {
              REQUIRE(r.ok());
              CHECK(r->entries().at(1).first == "query");  // position kept
            }})},
      {"query_range",
       Endpoint::kQueryRange,
       "query=sum(rate(x[5m]))&start=1&end=2&step=1",
       scope_a(),
       {},
       values("query", {"sum(rate(x{namespace=\"a\"}[5m]))"})},
      {"exemplars",
       Endpoint::kQueryExemplars,
       "query=x",
       scope_a(),
       {},
       values("query", {"x{namespace=\"a\"}"})},
      {"two rules lift with or",
       Endpoint::kQuery,
       "query=x",
       scope_two(),
       {},
       values("query", {"x{namespace=\"a\"} or x{team=\"x\"}"})},
      {"user matcher never removed",
       Endpoint::kQuery,
       "query=x{namespace=\"b\"}",
       scope_a(),
       {},
       values("query", {"x{namespace=\"b\", namespace=\"a\"}"})},
      {"missing query",
       Endpoint::kQuery,
       "time=1",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "invalid parameter \"query\"")},
      {"parse error positioned",
       Endpoint::kQuery,
       "query=sum(",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "parse error")},
      {"hidden label in query",
       Endpoint::kQuery,
       "query=sum by (client_ip) (x)",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "client_ip")},
      {"hidden label in matcher",
       Endpoint::kQueryRange,
       "query=x{client_ip=\"1\"}",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "client_ip")},
      {"series: each match[] narrowed",
       Endpoint::kSeries,
       "match[]=up&match[]={job=\"j\"}",
       scope_a(),
       {},
       values("match[]", {"up{namespace=\"a\"}", "{job=\"j\", namespace=\"a\"}"})},
      {"series: one match[] per rule",
       Endpoint::kSeries,
       "match[]=up",
       scope_two(),
       {},
       values("match[]", {"up{namespace=\"a\"}", "up{team=\"x\"}"})},
      {"series: match[] required",
       Endpoint::kSeries,
       "start=1",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "no match[]")},
      {"series: bad selector",
       Endpoint::kSeries,
       "match[]=sum(x)",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "invalid parameter \"match[]\"")},
      {"series: hidden label in match[]",
       Endpoint::kSeries,
       "match[]={client_ip=\"1\"}",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "client_ip")},
      {"federate: narrowed",
       Endpoint::kFederate,
       "match[]={job=\"j\"}",
       scope_a(),
       {},
       values("match[]", {"{job=\"j\", namespace=\"a\"}"})},
      {"federate: match[] required",
       Endpoint::kFederate,
       "",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument)},
      {"labels: scope added when none",
       Endpoint::kLabels,
       "start=1",
       scope_a(),
       {},
       all({values("match[]", {"{__name__=~\".+\", namespace=\"a\"}"}), values("start", {"1"})})},
      {"labels: scope per rule",
       Endpoint::kLabels,
       "",
       scope_two(),
       {},
       values("match[]",
              {"{__name__=~\".+\", namespace=\"a\"}", "{__name__=~\".+\", team=\"x\"}"})},
      {"labels: given match[] narrowed",
       Endpoint::kLabels,
       "match[]=up",
       scope_a(),
       {},
       values("match[]", {"up{namespace=\"a\"}"})},
      {"label values: scope added", Endpoint::kLabelValues, "", scope_a(), "job",
       values("match[]", {"{__name__=~\".+\", namespace=\"a\"}"})},
      {"label values: hidden name", Endpoint::kLabelValues, "", scope_a(), "client_ip",
       has_code(Code::kPermissionDenied, "client_ip")},
      {"label values: hidden name, U__ escaped", Endpoint::kLabelValues, "", scope_a(),
       "U__client__ip", has_code(Code::kPermissionDenied, "client_ip")},
      {"label values: malformed escape", Endpoint::kLabelValues, "", scope_a(), "U__a_zz_",
       has_code(Code::kInvalidArgument)},
      {"rules: match[] kept as given",
       Endpoint::kRules,
       "match[]={alertname=\"x\"}&type=alert",
       scope_a(),
       {},
       values("match[]", {"{alertname=\"x\"}"})},
      {"rules: hidden label in match[]",
       Endpoint::kRules,
       "match[]={client_ip=\"1\"}",
       scope_a(),
       {},
       has_code(Code::kInvalidArgument, "client_ip")},
      {"alerts untouched", Endpoint::kAlerts, "", scope_a(), {}, is_ok()},
      {"metadata: metric kept",
       Endpoint::kMetadata,
       "metric=up&limit=1",
       scope_a(),
       {},
       values("metric", {"up"})},
      {"metadata: a positive limit is applied by the gateway, not forwarded",
       Endpoint::kMetadata,
       "limit=2&limit_per_metric=1",
       scope_a(),
       {},
       [](const Result<Params>& r) {
         REQUIRE(r.ok());
         CHECK(r->get_all("limit").empty());
         CHECK(r->get_all("limit_per_metric") == std::vector<std::string_view>{"1"});
       }},
      {"metadata: limit 0 (Prometheus answers nothing) forwarded",
       Endpoint::kMetadata, "limit=0", scope_a(), {}, values("limit", {"0"})},
      {"metadata: a negative limit (none) forwarded",
       Endpoint::kMetadata, "limit=-1", scope_a(), {}, values("limit", {"-1"})},
      {"metadata: a limit that is not a number is Prometheus's to refuse",
       Endpoint::kMetadata, "limit=5x", scope_a(), {}, values("limit", {"5x"})},
      {"no rules: denied",
       Endpoint::kQuery,
       "query=up",
       Scope{},
       {},
       has_code(Code::kPermissionDenied)},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      c.check(pa::enforce_params(c.endpoint, params(c.query), c.scope, c.label));
    }
  }
}

TEST_CASE("endpoint_for_path: only the Prometheus API paths the step serves",
          "[prometheus][params]") {
  struct PCase {
    std::string path;
    std::optional<Endpoint> want;
  };
  const std::vector<PCase> cases = {
      {"/api/v1/query", Endpoint::kQuery},
      {"/api/v1/query_range", Endpoint::kQueryRange},
      {"/api/v1/query_exemplars", Endpoint::kQueryExemplars},
      {"/api/v1/series", Endpoint::kSeries},
      {"/api/v1/labels", Endpoint::kLabels},
      {"/api/v1/label/{name}/values", Endpoint::kLabelValues},
      {"/api/v1/label/{label}/values", Endpoint::kLabelValues},
      {"/federate", Endpoint::kFederate},
      {"/api/v1/rules", Endpoint::kRules},
      {"/api/v1/alerts", Endpoint::kAlerts},
      {"/api/v1/metadata", Endpoint::kMetadata},
      {"/api/v1/status/buildinfo", Endpoint::kBuildinfo},
      {"/api/v1/admin/tsdb/delete_series", std::nullopt},
      {"/api/v1/label/job/values", std::nullopt},  // a fixed label: not a pattern we serve
      {"/api/v1/label/{a}/{b}/values", std::nullopt},
      {"/api/v1/query/", std::nullopt},
      {"/api/v1/targets", std::nullopt},
      {"/api/v1/read", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.path) { CHECK(pa::endpoint_for_path(c.path) == c.want); }
  }
  CHECK(pa::label_param_name("/api/v1/label/{label}/values") == "label");
}

TEST_CASE("unescape_label_name: Prometheus 3 U__ escaping", "[prometheus][params]") {
  struct UCase {
    std::string in;
    std::optional<std::string> want;  // nullopt: InvalidArgument
  };
  const std::vector<UCase> cases = {
      {"job", "job"},
      {"U__job", "job"},
      {"U__client__ip", "client_ip"},
      {"U__http_2e_status", "http.status"},
      {"U___1f600_", "\xF0\x9F\x98\x80"},
      {"U__a_", std::nullopt},
      {"U__a_x_", std::nullopt},
      {"U__a__", "a_"},
      {"U__a_d800_", std::nullopt},
      {"U__a_0_", std::nullopt},
      {"U__a_110000_", std::nullopt},
      {"U__a_ffffffffff_", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.in) {
      auto r = pa::unescape_label_name(c.in);
      if (c.want) {
        REQUIRE(r.ok());
        CHECK(*r == *c.want);
      } else {
        CHECK_FALSE(r.ok());
      }
    }
  }
}

TEST_CASE("parse_label_values: the names list, or Unavailable", "[prometheus][params]") {
  struct LCase {
    std::string body;
    std::optional<std::set<std::string>> want;
  };
  const std::vector<LCase> cases = {
      {R"({"status":"success","data":["up","b"]})", std::set<std::string>{"b", "up"}},
      {R"({"status":"success","data":[]})", std::set<std::string>{}},
      {R"({"status":"error","data":["x"]})", std::nullopt},
      {R"({"status":"success","data":[1]})", std::nullopt},
      {R"({"status":"success"})", std::nullopt},
      {"[]", std::nullopt},
      {"not json", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.body) {
      auto r = pa::parse_label_values(c.body);
      if (c.want) {
        REQUIRE(r.ok());
        CHECK(*r == *c.want);
      } else {
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == Code::kUnavailable);
      }
    }
  }
}

}  // namespace
