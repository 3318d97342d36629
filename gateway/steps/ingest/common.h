// Shared by the two ingest steps (internal to gateway/steps/ingest): write-tenant resolution,
// the upstream tenant header, local replies and decision-log lines.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authz/policy/policy.h"
#include "common/status.h"
#include "config/config.h"
#include "gateway/steps/ingest/metrics.h"
#include "gateway/steps/step.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace obsgate::gateway::ingest {

// What one route's steps share in one config generation; immutable.
struct Common {
  Api api = Api::kRemoteWrite;
  authz::PolicyPtr policy;
  std::optional<config::Upstream> upstream;  // the route's upstream (tenant header mapping)
  std::shared_ptr<::prometheus::Registry> own_registry;  // when Services has none (tests)
  std::unique_ptr<IngestMetrics> metrics;

  // Validates the route and builds policy, upstream copy and metrics. Errors name the route.
  static Result<std::shared_ptr<Common>> build(const config::Config& cfg,
                                               const config::Route& route, Services& services,
                                               Api api);
};

// A local reply: status, message for the client, reason "<module>_denied{<reason>}".
Action respond(Request& r, Api api, unsigned status, std::string message,
               std::string_view reason);

// The write tenant of this request: authz::Policy::write() on the principal and its
// X-Obsgate-Tenant header (which tenants may be written as, unrestricted roles and the audit
// shipper are decided there alone), after checking that the request is authenticated and the
// header given once. Maps the answer to a local reply: InvalidArgument (several tenants, no
// header) 400, anything else 403. On failure the reply is set and the decision recorded;
// returns nullopt.
std::optional<authz::WriteAccess> resolve_tenant(Request& r, const Common& c);

// Sets the upstream's tenant header (X-Scope-OrgID) from the tenant, mapped through
// tenant_ids. No-op when the upstream has no tenant header. An unusable mapping (checked at
// load already) sets a 500 reply and returns false.
bool set_tenant_header(Request& r, const Common& c, const std::string& tenant);
// The header value for `tenant` (mapped, else the name); InvalidArgument when unusable.
Result<std::string> tenant_header_value(const config::Upstream& up, const std::string& tenant);

// The HTTP status of a filter Status: InvalidArgument 400, PermissionDenied 403,
// ResourceExhausted 413, anything else 500.
unsigned http_status(const Status& s) noexcept;

// The reason of a rejection message "<module>_denied{<reason>}: ..." ("" if none).
std::string_view denied_reason(std::string_view message) noexcept;

}  // namespace obsgate::gateway::ingest
