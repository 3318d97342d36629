// The Prometheus HTTP API as the `prometheus` enforcer sees it: which endpoint a route serves,
// and the pure rewrite of one request's parameters for a tenant's scope.
//
// enforce_params() takes the request's parameters after the URL/body merge (routing::
// merge_url_and_form with kSingleValued()) and returns the parameters to forward:
//   - query, query_range, query_exemplars: `query` is parsed, checked for hidden labels and
//     narrowed to the scope (filters::promql::enforce_query); it is required.
//   - series, federate: every `match[]` value is narrowed (enforce_selectors: one selector per
//     scope rule, which Prometheus unions exactly); at least one is required, as Prometheus
//     itself requires for series (federate would return nothing).
//   - labels, label/{name}/values: the same; with no `match[]` the scope's own selectors are
//     added, so the answer covers only the tenant's series. label/{name}/values with a hidden
//     `name` is PermissionDenied; names in Prometheus 3's U__ escaping are decoded first.
//   - rules: `match[]` values (rule labels) are checked for hidden labels and kept as given;
//     the response is filtered by scope instead. alerts, metadata: no selectors to narrow; a
//     positive metadata `limit` is removed (metadata_limit(): the step applies it after the
//     scope, or Prometheus would cut the list before the scope does).
//   - buildinfo: unchanged.
// Every other parameter is kept in order (the route's query_params allowlist has already
// limited them). Errors: InvalidArgument (400) with a Prometheus-style message, PermissionDenied
// (403). Pure: no I/O; thread-safe. enforce_params keeps one PromQL tree per thread as scratch
// memory (cleared before each use, so results never depend on it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/scope/scope.h"
#include "gateway/routing/params.h"

namespace obsgate::gateway::prom_api {

enum class Endpoint {
  kQuery,
  kQueryRange,
  kQueryExemplars,
  kSeries,
  kLabels,
  kLabelValues,  // /api/v1/label/{name}/values
  kFederate,
  kRules,
  kAlerts,
  kMetadata,
  kBuildinfo,
};

// The endpoint a route path pattern serves ("/api/v1/query", "/api/v1/label/{name}/values");
// nullopt for anything else (the step refuses such routes at load: deny by default). The
// pattern's parameter may have any name for label values.
std::optional<Endpoint> endpoint_for_path(std::string_view route_path);
// For metrics labels: "query", "query_range", "label_values", ...
std::string_view endpoint_name(Endpoint e) noexcept;
// The path parameter's name in a label-values route pattern ("name" for ".../{name}/values").
std::string label_param_name(std::string_view route_path);

// Parameters that may appear at most once across URL and body (a duplicate is a 400).
const routing::ParamPolicy& single_valued_params();

// Prometheus 3 label-name escaping in /api/v1/label/<name>/values: "U__" + name where '_' is
// "__" and any other non-legacy rune is "_<hex code point>_". Other names are returned as they
// are. InvalidArgument for a malformed escape.
Result<std::string> unescape_label_name(std::string_view name);

// metadata's `limit` when it is a positive integer (the one case the gateway applies itself);
// nullopt otherwise (absent, 0, negative or not a number: forwarded for Prometheus to answer).
std::optional<size_t> metadata_limit(const routing::Params& params);

// Which request parts a rewrite looks at, for the step: a restricted scope.
// `in` by value: the step moves its merged parameters in, and the result reuses them.
Result<routing::Params> enforce_params(Endpoint e, routing::Params in,
                                       const filters::Scope& scope,
                                       std::string_view label_name = {});

// The scope as `match[]` selectors (one per rule after filters::collapse): added where an
// endpoint's `match[]` is optional and the client gave none.
Result<std::vector<std::string>> scope_selectors(const filters::Scope& scope);

}  // namespace obsgate::gateway::prom_api
