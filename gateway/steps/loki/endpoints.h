// The Loki query API as the `loki` and `loki_tail` enforcers see it: which endpoint a route
// serves, the pure rewrite of one request's parameters for a principal's logs policy, and the
// X-Scope-OrgID value towards a multi-tenant Loki.
//
// enforce_params() takes the parameters after the URL/body merge (routing::merge_url_and_form
// with single_valued_params()) and returns what to forward:
//   - query, query_range, tail, detected_fields: `query` (required) is full LogQL, enforced with
//     filters/logql (scope matchers and, for non-auditors, the audit-stream negation added to
//     every selector; hidden labels refused). A log query over scope rules that do not collapse
//     into one selector comes back as Plan::per_rule_queries for query_range (the step runs one
//     upstream query per rule and merges); elsewhere it is refused with a 400 that says how to
//     narrow (X-Obsgate-Tenant). detected_fields needs a log query. tail of a principal with
//     hidden labels gets `| drop <hidden...>` appended: frames are relayed, not filtered.
//   - labels, label/{name}/values: `query` is an optional stream selector; enforced when given,
//     else the scope's own selector is added (one; several uncollapsible rules are a 400). An
//     unrestricted non-auditor must give a selector (the audit negation alone is not a valid
//     Loki selector). label/{hidden}/values is PermissionDenied (403).
//   - series: every `match[]` and `match` value is narrowed per scope rule (Loki unions match
//     groups, so this is exact) and forwarded as `match[]`; none (or a lone `{}`): the scope's
//     selectors.
//   - index/stats, index/volume, index/volume_range, patterns, detected_labels: `query` is a
//     stream selector, enforced (`{}` or absent: the scope's selector). Volume's
//     `targetLabels` may not name a hidden label.
// Other parameters are kept in order. Errors: InvalidArgument (400), PermissionDenied (403).
// Pure: no I/O; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/logql/logql.h"
#include "gateway/routing/params.h"

namespace obsgate::config {
struct Upstream;
}  // namespace obsgate::config

namespace obsgate::gateway::loki_api {

enum class Endpoint {
  kQuery,
  kQueryRange,
  kLabels,
  kLabelValues,  // /loki/api/v1/label/{name}/values
  kSeries,
  kIndexStats,
  kIndexVolume,
  kIndexVolumeRange,
  kPatterns,
  kDetectedLabels,
  kDetectedFields,
  kTail,
};
inline constexpr size_t kEndpointCount = static_cast<size_t>(Endpoint::kTail) + 1;

// The endpoint a route path pattern serves; nullopt for anything else (refused at load).
std::optional<Endpoint> endpoint_for_path(std::string_view route_path);
std::string_view endpoint_name(Endpoint e) noexcept;  // "query_range", "label_values", ...
// The path parameter's name in a label-values route pattern ("name" for ".../{name}/values").
std::string label_param_name(std::string_view route_path);

// Parameters that may appear at most once across URL and body (a duplicate is a 400).
const routing::ParamPolicy& single_valued_params();

struct Plan {
  routing::Params params;                     // what to forward
  std::vector<std::string> per_rule_queries;  // query_range: run each, merge (params' query
                                              // is then the first of them)
  bool touches_audit = false;                 // an auditor's query may read audit streams
};

Result<Plan> enforce_params(Endpoint e, const routing::Params& in,
                            const filters::logql::LogsPolicy& policy,
                            std::string_view label_name = {});

// The X-Scope-OrgID value for these tenants on this upstream: each tenant mapped through
// Upstream::tenant_ids (unmapped: its own name), sorted, de-duplicated, joined with '|' (Loki's
// multi-tenant query syntax). `single`: more than one is InvalidArgument (tail serves one
// tenant). Empty tenants is InvalidArgument. An id containing '|' is refused (it would name
// several tenants).
Result<std::string> org_id(const config::Upstream& up, const std::vector<std::string>& tenants,
                           bool single);

}  // namespace obsgate::gateway::loki_api
