// Fuzzes the loki step's pure request rewrite and its detected_labels/detected_fields response
// filter: parameters from the network (URL query and form body) merged with the step's
// single-valued policy and enforced per endpoint for one of four logs policies, and an upstream
// body run through filter_detected(). Invariants (a violation aborts):
//   - every enforced `query` (and each per-rule query) parses again as LogQL, and every stream
//     selector in it carries one of the scope's matchers (restricted policies) and the audit
//     negation (non-auditors); a `match[]` of series likewise; no hidden label survives;
//   - a label-values request for a hidden label is PermissionDenied;
//   - filter_detected() never keeps an entry whose label is hidden, and what it returns is
//     JSON that it accepts again unchanged.
//
// Input: byte 0 picks the endpoint, byte 1 the policy, then "<url query>\n<form body>\n<body>"
// (the label name for label values is the merged `name` parameter). Run: build with
// -DOBSGATE_FUZZ=ON, then
//   ./loki_params_fuzz -max_total_time=300 /tmp/scratch tests/fuzz/loki_params/corpus
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "filters/logql/logql.h"
#include "gateway/routing/params.h"
#include "gateway/steps/loki/detected.h"
#include "gateway/steps/loki/endpoints.h"

namespace {

namespace la = obsgate::gateway::loki_api;
namespace logql = obsgate::filters::logql;
using obsgate::filters::MatchOp;

constexpr std::string_view kHidden = "client_ip";

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void require(bool cond, const char* what, std::string_view detail) {
  if (!cond) {
    fail(what, detail);
  }
}

// 0: one rule; 1: two rules that do not collapse; 2: unrestricted non-auditor; 3: auditor with
// one rule. All hide client_ip; the audit streams are {stream="audit"}.
const logql::LogsPolicy& policy(uint8_t variant) {
  static const std::vector<logql::LogsPolicy> kPolicies = [] {
    std::vector<logql::LogsPolicy> out(4);
    for (auto& p : out) {
      p.scope.hidden_labels = {std::string(kHidden)};
      p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
    }
    out[0].scope.rules = {{{"namespace", MatchOp::kEq, "team-a"}}};
    out[1].scope.rules = {{{"namespace", MatchOp::kEq, "team-a"}}, {{"team", MatchOp::kRe, "x|y"}}};
    out[2].scope.unrestricted = true;
    out[3].scope.rules = {{{"namespace", MatchOp::kEq, "team-a"}}};
    out[3].auditor = true;
    return out;
  }();
  return kPolicies[variant % kPolicies.size()];
}

bool has(const logql::Selector& s, std::string_view name, MatchOp op, std::string_view value) {
  for (const auto& m : s.matchers) {
    if (m.name == name && m.op == op && m.value.value == value) {
      return true;
    }
  }
  return false;
}

void check_selector(const logql::Selector& s, const logql::LogsPolicy& p, std::string_view q) {
  for (const auto& m : s.matchers) {
    require(m.name != kHidden, "hidden label in an enforced selector", q);
  }
  if (!p.auditor) {
    require(has(s, "stream", MatchOp::kNeq, "audit"), "audit negation missing", q);
  }
  if (!p.scope.unrestricted) {
    bool scoped = false;
    for (const auto& rule : p.scope.rules) {
      bool all = true;
      for (const auto& m : rule) {
        all = all && has(s, m.name, m.op, m.value);
      }
      // Collapsed rules show up as one =~ over the values: accept any namespace/team matcher.
      scoped = scoped || all;
    }
    scoped = scoped || has(s, "namespace", MatchOp::kRe, "team\\-a");
    require(scoped, "scope matcher missing", q);
  }
}

void check_tree(const logql::Expr& e, const logql::LogsPolicy& p, std::string_view q) {
  if (const auto* l = std::get_if<logql::LogQuery>(&e.node)) {
    check_selector(l->selector, p, q);
  } else if (const auto* r = std::get_if<logql::RangeAggregation>(&e.node)) {
    check_selector(r->range.log.selector, p, q);
  } else if (const auto* v = std::get_if<logql::VectorAggregation>(&e.node)) {
    check_tree(*v->arg, p, q);
  } else if (const auto* b = std::get_if<logql::BinaryOp>(&e.node)) {
    check_tree(*b->lhs, p, q);
    check_tree(*b->rhs, p, q);
  } else if (const auto* lr = std::get_if<logql::LabelReplace>(&e.node)) {
    check_tree(*lr->arg, p, q);
  }
}

void check_query(std::string_view q, const logql::LogsPolicy& p) {
  auto ast = logql::parse(q);
  require(ast.ok(), "enforced query does not parse", q);
  check_tree(**ast, p, q);
}

void check_detected(std::string_view body, std::string_view key) {
  const std::vector<std::string> hidden = {std::string(kHidden)};
  auto out = la::filter_detected(body, key, hidden);
  if (!out.ok()) {
    return;
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(*out, ec);
  require(!ec && v.is_object(), "filter_detected returned no JSON object", *out);
  if (const auto* arr = v.get_object().if_contains(key); arr != nullptr && arr->is_array()) {
    for (const auto& entry : arr->get_array()) {
      const auto* label = entry.get_object().if_contains("label");
      require(label != nullptr && label->get_string() != kHidden, "hidden entry kept", *out);
    }
  }
  auto again = la::filter_detected(*out, key, hidden);
  require(again.ok() && *again == *out, "filter_detected is not idempotent", *out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const auto e = static_cast<la::Endpoint>(data[0] % la::kEndpointCount);
  const logql::LogsPolicy& p = policy(data[1]);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t nl1 = rest.find('\n');
  const std::string_view url = rest.substr(0, nl1);
  std::string_view form;
  std::string_view body;
  if (nl1 != std::string_view::npos) {
    const std::string_view tail = rest.substr(nl1 + 1);
    const size_t nl2 = tail.find('\n');
    form = tail.substr(0, nl2);
    body = nl2 == std::string_view::npos ? std::string_view() : tail.substr(nl2 + 1);
  }
  check_detected(body, data[1] & 0x80 ? "fields" : "detectedLabels");

  auto u = obsgate::routing::parse_params(url);
  auto f = obsgate::routing::parse_params(form);
  if (!u.ok() || !f.ok()) {
    return 0;
  }
  auto merged = obsgate::routing::merge_url_and_form(*u, *f, la::single_valued_params());
  if (!merged.ok()) {
    return 0;
  }
  const std::string_view label = merged->first("name").value_or("");
  auto plan = la::enforce_params(e, *merged, p, label);
  if (!plan.ok()) {
    return 0;
  }
  require(!(e == la::Endpoint::kLabelValues && label == kHidden), "hidden label values allowed",
          label);
  for (const std::string& q : plan->per_rule_queries) {
    check_query(q, p);
  }
  switch (e) {
    case la::Endpoint::kSeries:
      require(plan->params.count("match[]") >= 1, "series without match[]", url);
      for (auto v : plan->params.get_all("match[]")) {
        if (v != "{}") {  // an unrestricted auditor's match-any
          check_query(v, p);
        }
      }
      break;
    case la::Endpoint::kQuery:
    case la::Endpoint::kQueryRange:
    case la::Endpoint::kTail:
    case la::Endpoint::kDetectedFields:
      require(plan->params.count("query") == 1, "not one query", url);
      check_query(*plan->params.first("query"), p);
      break;
    default:
      // Selector endpoints (labels, label values, index stats/volume, patterns,
      // detected_labels): without a query Loki answers for the whole X-Scope-OrgID tenant, so
      // a restricted policy (p is never unrestricted here) must always forward exactly one,
      // enforced, unless the plan runs one query per rule.
      if (plan->per_rule_queries.empty()) {
        require(plan->params.count("query") == 1, "selector endpoint without one query", url);
      }
      if (auto q = plan->params.first("query")) {
        check_query(*q, p);
      }
      break;
  }
  return 0;
}
