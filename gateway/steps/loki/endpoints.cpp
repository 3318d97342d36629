#include "gateway/steps/loki/endpoints.h"

#include <algorithm>
#include <array>
#include <utility>

#include "config/config.h"
#include "gateway/steps/query_api/endpoints.h"

namespace obsgate::gateway::loki_api {

namespace {

namespace logql = filters::logql;

// Label values is the one pattern with a path parameter: "/loki/api/v1/label/{name}/values".
constexpr query_api::EndpointTable<Endpoint, 12> kTable{
    {{
        {"/loki/api/v1/query", Endpoint::kQuery, "query"},
        {"/loki/api/v1/query_range", Endpoint::kQueryRange, "query_range"},
        {"/loki/api/v1/labels", Endpoint::kLabels, "labels"},
        {"/loki/api/v1/label", Endpoint::kLabels, "labels"},
        {"/loki/api/v1/series", Endpoint::kSeries, "series"},
        {"/loki/api/v1/index/stats", Endpoint::kIndexStats, "index_stats"},
        {"/loki/api/v1/index/volume", Endpoint::kIndexVolume, "index_volume"},
        {"/loki/api/v1/index/volume_range", Endpoint::kIndexVolumeRange, "index_volume_range"},
        {"/loki/api/v1/patterns", Endpoint::kPatterns, "patterns"},
        {"/loki/api/v1/detected_labels", Endpoint::kDetectedLabels, "detected_labels"},
        {"/loki/api/v1/detected_fields", Endpoint::kDetectedFields, "detected_fields"},
        {"/loki/api/v1/tail", Endpoint::kTail, "tail"},
    }},
    "/loki/api/v1/label/{",
    Endpoint::kLabelValues,
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Loki reads a lone `{}` as "no matcher" (series, volume's match-any).
bool is_match_any(std::string_view s) { return trim(s) == "{}"; }

Status with_param(const Status& st, std::string_view param) {
  return Status(st.code(), "invalid parameter \"" + std::string(param) + "\": " + st.message());
}

const char* const kNarrowHint =
    "the principal's log scope has rules that cannot be combined into one selector for this "
    "endpoint; name one tenant with the X-Obsgate-Tenant header";

// The scope as one selector, for endpoints whose selector is optional or match-any.
// Empty: nothing to restrict (an unrestricted auditor).
Result<std::string> single_scope_selector(const logql::LogsPolicy& policy) {
  auto sel = logql::scope_selectors(policy);
  if (!sel.ok()) {
    if (sel.status().code() == Code::kFailedPrecondition) {
      return Status::invalid_argument("a stream selector is required (parameter \"query\")");
    }
    return sel.status();
  }
  if (sel->empty()) {
    return std::string();
  }
  if (sel->size() > 1) {
    return Status::invalid_argument(kNarrowHint);
  }
  return std::move(sel->front());
}

// A selector parameter: enforced when given, the scope's selector when absent (or `{}` where
// Loki reads that as match-any). Empty result: leave the parameter as the client sent it.
Result<std::string> selector_param(const routing::Params& in, const logql::LogsPolicy& policy,
                                   bool required, bool match_any_ok) {
  const auto q = in.first("query");
  if (!q || trim(*q).empty() || (match_any_ok && is_match_any(*q))) {
    if (required && !q && !match_any_ok) {
      return Status::invalid_argument("invalid parameter \"query\": missing");
    }
    return single_scope_selector(policy);
  }
  auto out = logql::enforce_selector(*q, policy);
  if (!out.ok()) {
    return with_param(out.status(), "query");
  }
  return out;
}

Status check_target_labels(const routing::Params& in, const logql::LogsPolicy& policy) {
  for (std::string_view v : in.get_all("targetLabels")) {
    while (!v.empty()) {
      const size_t comma = v.find(',');
      const std::string_view name = trim(v.substr(0, comma));
      if (policy.scope.is_hidden(name)) {
        return Status::invalid_argument("invalid parameter \"targetLabels\": label \"" +
                                        std::string(name) + "\" is hidden");
      }
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
  }
  return {};
}

Result<Plan> full_query(Endpoint e, const routing::Params& in, const logql::LogsPolicy& policy) {
  const auto q = in.first("query");
  if (!q) {
    return Status::invalid_argument("invalid parameter \"query\": missing");
  }
  auto enforced = logql::enforce_query(*q, policy);
  if (!enforced.ok()) {
    return with_param(enforced.status(), "query");
  }
  Plan plan;
  plan.touches_audit = enforced->touches_audit;
  plan.params = in;
  if (!enforced->per_rule_queries.empty()) {
    if (e != Endpoint::kQueryRange) {
      return Status::invalid_argument(std::string(kNarrowHint) +
                                      (e == Endpoint::kQuery
                                           ? " (log queries also need query_range)"
                                           : ""));
    }
    plan.per_rule_queries = std::move(enforced->per_rule_queries);
    plan.params.set("query", plan.per_rule_queries.front());
    return plan;
  }
  std::string query = std::move(enforced->query);
  if (e == Endpoint::kDetectedFields || e == Endpoint::kTail) {
    auto ast = logql::parse(query);
    if (!ast.ok() || !(*ast)->is_log()) {
      return Status::invalid_argument("invalid parameter \"query\": a log query is required");
    }
  }
  if (e == Endpoint::kTail && !policy.scope.hidden_labels.empty()) {
    // Tail frames are relayed as they come: hidden labels are removed by Loki itself.
    query += " | drop ";
    for (size_t i = 0; i < policy.scope.hidden_labels.size(); ++i) {
      query += (i == 0 ? "" : ", ") + policy.scope.hidden_labels[i];
    }
  }
  plan.params.set("query", std::move(query));
  return plan;
}

Result<Plan> series(const routing::Params& in, const logql::LogsPolicy& policy) {
  std::vector<std::string> matches;
  for (const auto& [k, v] : in) {
    if (k != "match[]" && k != "match") {
      continue;
    }
    if (is_match_any(v)) {
      continue;  // only `{}`: every stream of the scope (below)
    }
    auto narrowed = logql::enforce_selector_per_rule(v, policy);
    if (!narrowed.ok()) {
      return with_param(narrowed.status(), k);
    }
    for (auto& s : *narrowed) {
      matches.push_back(std::move(s));
    }
  }
  if (matches.empty()) {
    auto sel = logql::scope_selectors(policy);
    if (!sel.ok()) {
      if (sel.status().code() == Code::kFailedPrecondition) {
        return Status::invalid_argument("a match[] selector is required");
      }
      return sel.status();
    }
    if (sel->empty()) {
      sel->emplace_back("{}");  // unrestricted auditor: Loki's own match-any
    }
    matches = std::move(sel).value();
  }
  Plan plan;
  for (const auto& [k, v] : in) {
    if (k != "match[]" && k != "match") {
      plan.params.add(k, v);
    }
  }
  for (auto& m : matches) {
    plan.params.add("match[]", std::move(m));
  }
  return plan;
}

}  // namespace

std::optional<Endpoint> endpoint_for_path(std::string_view route_path) {
  return kTable.find(route_path);
}

std::string_view endpoint_name(Endpoint e) noexcept { return kTable.name(e); }

std::string label_param_name(std::string_view route_path) {
  return kTable.label_param_name(route_path);
}

const routing::ParamPolicy& single_valued_params() {
  static const routing::ParamPolicy kPolicy{{
      "query", "time", "start", "end", "since", "step", "interval", "limit", "direction",
      "delay_for", "targetLabels", "aggregateBy", "line_limit", "field_limit", "regexp"}};
  return kPolicy;
}

Result<Plan> enforce_params(Endpoint e, const routing::Params& in,
                            const logql::LogsPolicy& policy, std::string_view label_name) {
  if (policy.scope.denies_everything()) {
    return Status::permission_denied("the principal's scope grants no log streams");
  }
  switch (e) {
    case Endpoint::kQuery:
    case Endpoint::kQueryRange:
    case Endpoint::kTail:
    case Endpoint::kDetectedFields:
      return full_query(e, in, policy);
    case Endpoint::kSeries:
      return series(in, policy);
    case Endpoint::kLabelValues:
      if (label_name.empty()) {
        return Status::invalid_argument("missing label name");
      }
      if (policy.scope.is_hidden(label_name)) {
        return Status::permission_denied("label \"" + std::string(label_name) + "\" is hidden");
      }
      [[fallthrough]];
    case Endpoint::kLabels:
    case Endpoint::kIndexStats:
    case Endpoint::kIndexVolume:
    case Endpoint::kIndexVolumeRange:
    case Endpoint::kPatterns:
    case Endpoint::kDetectedLabels: {
      if (Status st = check_target_labels(in, policy); !st.ok()) {
        return st;
      }
      const bool optional = e == Endpoint::kLabels || e == Endpoint::kLabelValues ||
                            e == Endpoint::kDetectedLabels;
      const bool match_any = e == Endpoint::kIndexVolume || e == Endpoint::kIndexVolumeRange;
      auto sel = selector_param(in, policy, !optional, match_any || optional);
      if (!sel.ok()) {
        return sel.status();
      }
      Plan plan;
      plan.params = in;
      if (!sel->empty()) {
        plan.params.set("query", std::move(sel).value());
      }
      return plan;
    }
  }
  return Status::internal("unknown endpoint");
}

Result<std::string> org_id(const config::Upstream& up, const std::vector<std::string>& tenants,
                           bool single) {
  std::vector<std::string> ids;
  for (const std::string& t : tenants) {
    auto it = std::find_if(up.tenant_ids.begin(), up.tenant_ids.end(),
                           [&](const auto& kv) { return kv.first == t; });
    std::string id = it == up.tenant_ids.end() ? t : it->second;
    if (id.empty() || id.find('|') != std::string::npos) {
      return Status::invalid_argument("tenant '" + t + "' has no usable " + up.tenant_header +
                                      " value");
    }
    ids.push_back(std::move(id));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) {
    return Status::invalid_argument("no tenant to send as " + up.tenant_header);
  }
  if (single && ids.size() > 1) {
    return Status::invalid_argument(
        "this principal reads several tenants; a tail serves one: name it with the "
        "X-Obsgate-Tenant header");
  }
  std::string out;
  for (const auto& id : ids) {
    out += (out.empty() ? "" : "|") + id;
  }
  return out;
}

}  // namespace obsgate::gateway::loki_api
