// The `enforcer: loki` and `enforcer: loki_tail` steps: the Loki query API, scoped per tenant,
// with the audit stream kept apart (issue 5). Routes are matched by path (endpoints.h lists
// them); `loki_tail` serves /loki/api/v1/tail only, `loki` everything else.
//
// Per request (after the authentication step set Request::principal):
//   1. authz::Policy::logs() resolves the principal and its X-Obsgate-Tenant header to a
//      LogsPolicy (scope, hidden labels, audit rules, auditor flag); no scope -> 403. Unlike
//      the prometheus step there is no untouched pass-through: an unrestricted principal who is
//      not an auditor still gets the audit-stream negation.
//   2. Parameters: URL query + urlencoded form body merged once (routing::merge_url_and_form;
//      a single-valued key given twice -> 400), enforced by endpoints.h's enforce_params(), and
//      the forwarded request rebuilt from the result alone (GET: query string; POST: form body).
//   3. Towards an upstream with `tenant_header` (X-Scope-OrgID; the client's value is already
//      stripped by the session), the header is set from the resolved tenants, mapped through
//      `tenant_ids`. A principal reading several tenants (no X-Obsgate-Tenant) sends Loki's
//      multi-tenant form `a|b` (the scope is their union anyway, and the enforced selectors
//      still narrow every stream; Loki needs multi_tenant_queries_enabled for it). An
//      unrestricted principal without the header sends every configured tenant with a logs
//      section. A tail serves one tenant: several -> 400 asking for X-Obsgate-Tenant.
//   4. An auditor's query that may read audit streams adds {"audit_access","true"} to the
//      decision-log line.
//   5. Log queries over scope rules that do not collapse (query_range): one upstream query per
//      rule through the UpstreamFetcher (gateway/client by default), run concurrently (at most
//      LokiStepOptions::max_fanout_in_flight at once), merged with filters/response
//      merge_loki_streams (limit, direction) and answered locally. The first failing rule in
//      rule order decides the error reply, as if they had run one after the other.
//   6. Responses carrying label names are buffered and have hidden labels removed only when the
//      principal has hidden labels (streams, series, label lists, volume series, detected
//      labels/fields); error bodies naming a hidden label are withheld. Tail frames are relayed
//      as they are: the enforced tail query ends with `| drop <hidden labels>` instead.
// Errors are StepReply messages (the session writes Loki's plain-text error format): 400, 403,
// 502. Self-metrics: see metrics.h.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway::loki_api {

// One request the step sends itself (fan-out), to the route's upstream.
struct UpstreamCall {
  std::string method;  // "GET" (query string) or "POST" (form body)
  std::string path;    // e.g. "/loki/api/v1/query_range" (the upstream's base path is added)
  std::string query;   // without '?'
  std::string body;    // urlencoded form, for POST
  std::vector<std::pair<std::string, std::string>> headers;
};

struct UpstreamAnswer {
  unsigned status = 0;
  std::string body;
};

using UpstreamFetcher = std::function<boost::asio::awaitable<Result<UpstreamAnswer>>(
    const config::Config& cfg, const config::Route& route, UpstreamCall call)>;

// The default bound on concurrent sub-queries of one fan-out: enough to overlap the usual two to
// four tenant rules at once, small enough that one request cannot open many upstream
// connections.
inline constexpr size_t kDefaultFanoutInFlight = 4;

struct LokiStepOptions {
  UpstreamFetcher fetch;  // empty: upstream_fetcher() (fanout.h)
  // Per-rule fan-out: sub-queries of one request in flight at once (fanout.h); 0 means 1.
  size_t max_fanout_in_flight = kDefaultFanoutInFlight;
};

// Validates the route (a known Loki API path matching the enforcer, `auth: required`) and
// compiles the tenant policy of this config generation. Errors name the route.
Result<StepFactoryPtr> make_loki_step(const config::Config& cfg, const config::Route& route,
                                      Services& services, LokiStepOptions options = {});

}  // namespace obsgate::gateway::loki_api
