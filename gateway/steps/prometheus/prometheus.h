// The `enforcer: prometheus` step: the Prometheus HTTP API, scoped per tenant (issue 4).
//
// Per request (after the authentication step set Request::principal):
//   1. The tenant policy (authz::Policy) resolves the principal and its X-Obsgate-Tenant header
//      to a metrics scope; no scope -> 403. Unrestricted roles pass through untouched.
//   2. The parameters are read once: URL query + urlencoded form body, merged by
//      routing::merge_url_and_form (a single-valued parameter given twice, e.g. `query` in the
//      URL and in the body, is a 400). endpoints.h's enforce_params() rewrites them, and the
//      forwarded request is rebuilt from the result alone: a GET gets a new query string, a
//      POST a new form body (and an empty query string). The client's own text never reaches
//      the backend.
//   3. Responses are buffered and filtered (filters/response) when the endpoint needs it:
//      rules, alerts and metadata always (for restricted principals); query, series, labels,
//      label values, exemplars and federate only when the scope has hidden labels. Anything
//      else streams untouched. Accept-Encoding is dropped (and federate's Accept pinned to the
//      text format) on requests whose response will be filtered; a compressed or unexpected
//      body then fails closed with 502.
//   4. Error bodies of a tenant with hidden labels that mention a hidden label are replaced by
//      a generic message (Prometheus quotes label sets in some errors).
// Errors are StepReply messages in Prometheus's error format (the session wraps them per the
// upstream's api flavour): 400 bad_data, 403 forbidden, 502 unavailable. Self-metrics:
// obsgate_prometheus_requests_total{endpoint,result} (one outcome per request) and
// obsgate_rewrite_errors_total{api="prometheus",reason}.
//
// /api/v1/metadata needs the metric names visible in the scope: the step asks the upstream
// (`/api/v1/label/__name__/values` with the scope's match[]) through the VisibleNamesFetcher:
// by default upstream_visible_names() (visible_names.h), a fake in tests.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway::prom_api {

// The metric names that the given match[] selectors select on the route's upstream.
using VisibleNamesFetcher = std::function<boost::asio::awaitable<Result<std::set<std::string>>>(
    const config::Config& cfg, const config::Route& route,
    const std::vector<std::string>& selectors)>;

struct PrometheusStepOptions {
  VisibleNamesFetcher visible_names;  // empty: upstream_visible_names()
};

// Validates the route (a known Prometheus API path, `auth: required`) and compiles the tenant
// policy of this config generation. Errors name the route.
Result<StepFactoryPtr> make_prometheus_step(const config::Config& cfg, const config::Route& route,
                                            Services& services,
                                            PrometheusStepOptions options = {});

}  // namespace obsgate::gateway::prom_api
