// Tenant policy resolution: which metrics, logs and writes a principal may touch.
//
// A Policy is compiled once per config generation from the `tenants:` section and is then
// frozen: every method is const, pure (no I/O, no clock, no globals) and thread-safe.
//
//   auto policy = Policy::compile(cfg.tenants);                 // at load; errors name fields
//   auto m = (*policy)->metrics(principal, tenant_header);       // per request
//   if (!m.ok()) -> 403 (PermissionDenied)                       // never "full access"
//   promql::enforce_query(q, m->scope);
//
// Rules of resolution for reads (metrics and logs):
//   - A principal whose roles include one of `unrestricted_roles` is unrestricted for reads
//     (Scope::unrestricted, no hidden labels) unless it narrows the request with the tenant
//     header, in which case it gets that configured tenant's scope.
//   - Otherwise the principal's tenants that are configured and have the signal's section give
//     the union of their rules and of their hidden labels. Tenants the config does not know, or
//     that lack the section, contribute nothing.
//   - The tenant header (X-Obsgate-Tenant), when present, must name one of the principal's
//     tenants (any configured tenant for an unrestricted principal) that has the section: the
//     request is narrowed to that tenant alone. Anything else is PermissionDenied.
//   - No scope means no access: a principal that ends up with no rules is PermissionDenied.
//
// Writes (remote-write and Loki push): write() is the one place that decides which tenant a
// principal writes as; the ingest steps only act on its answer.
//   - Only the principal's own tenants that have a `write:` section can be written as.
//     Unrestricted roles do not grant writes: an admin writes as its own tenants like anyone
//     else (config/tenants.md), so the header naming another tenant is PermissionDenied for
//     every principal.
//   - A write resolves to exactly one tenant: the X-Obsgate-Tenant header's, or else the
//     principal's only tenant with a write section. Several and no header: InvalidArgument
//     (ask for the header). None (no tenants, unknown tenants, no write sections):
//     PermissionDenied.
//   - The audit shipper (is_audit_shipper) resolves its tenant by the same rules; the answer
//     marks it (WriteAccess::audit_shipper), and only then may a push write audit streams.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authz/principal/principal.h"
#include "common/status.h"
#include "config/tenants.h"
#include "filters/logql/logql.h"
#include "filters/remote_write/remote_write.h"
#include "filters/scope/scope.h"

namespace obsgate::authz {

// The request header that narrows a request to one of the principal's tenants.
inline constexpr std::string_view kTenantHeader = "X-Obsgate-Tenant";

struct MetricsAccess {
  filters::Scope scope;              // unrestricted, or rules (never empty) + hidden labels
  std::vector<std::string> tenants;  // whose rules make the scope; empty when unrestricted
};

// The scope of metrics(), borrowed: `scope` points into the Policy (a single tenant's compiled
// scope, or the Policy's unrestricted scope) or into `owned` (the union of several tenants').
// Valid as long as the Policy that returned it; the per-request path copies nothing.
struct MetricsScopeRef {
  const filters::Scope* scope = nullptr;  // never null in a returned value
  std::shared_ptr<const filters::Scope> owned;
};

struct LogsAccess {
  filters::logql::LogsPolicy policy;  // scope + audit stream rules + auditor flag
  std::vector<std::string> tenants;
};

struct WriteAccess {
  std::string tenant;  // one of the principal's own tenants, with a write section
  // Owned by the Policy: valid as long as the Policy that returned it.
  const filters::remote_write::Enforcer* enforcer = nullptr;
  bool audit_shipper = false;  // the principal may write `tenants.audit.streams` (Loki push)
};

class Policy;
using PolicyPtr = std::shared_ptr<const Policy>;

class Policy final {
 public:
  // Compiles scopes and write enforcers; InvalidArgument naming the tenant on failure (the
  // config loader has validated the same things with positions already).
  static Result<PolicyPtr> compile(const config::TenantsConfig& cfg);

  // `tenant_header`: the X-Obsgate-Tenant value, nullopt when the request has none.
  [[nodiscard]] Result<MetricsAccess> metrics(const Principal& p,
                                              std::optional<std::string_view> tenant_header) const;
  // The same decision as metrics(), without copying the scope (for the per-request path).
  [[nodiscard]] Result<MetricsScopeRef> metrics_scope(
      const Principal& p, std::optional<std::string_view> tenant_header) const;
  [[nodiscard]] Result<LogsAccess> logs(const Principal& p,
                                        std::optional<std::string_view> tenant_header) const;
  [[nodiscard]] Result<WriteAccess> write(const Principal& p,
                                          std::optional<std::string_view> tenant_header) const;

  [[nodiscard]] bool is_unrestricted(const Principal& p) const;
  [[nodiscard]] bool is_auditor(const Principal& p) const;
  // The configured audit shipper (every non-empty field of it matches); false when none.
  [[nodiscard]] bool is_audit_shipper(const Principal& p) const;
  [[nodiscard]] const std::vector<filters::Rule>& audit_streams() const { return audit_streams_; }

  struct Compiled;  // one tenant, compiled (policy.cpp)
  ~Policy();
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

 private:
  Policy();
  enum class Signal { kMetrics, kLogs };
  [[nodiscard]] Result<MetricsScopeRef> read(Signal s, const Principal& p,
                                             std::optional<std::string_view> header,
                                             std::vector<std::string>* tenants) const;
  [[nodiscard]] const Compiled* find(std::string_view tenant) const;

  std::vector<Compiled> tenants_;  // sorted by name
  filters::Scope unrestricted_scope_;  // Scope::unrestricted, no hidden labels
  std::vector<std::string> unrestricted_roles_;
  std::vector<std::string> auditor_roles_;
  std::vector<filters::Rule> audit_streams_;
  std::optional<config::AuditShipper> shipper_;
};

}  // namespace obsgate::authz
