// The `tenants:` section: per-tenant metrics and logs scopes, hidden labels and write policy,
// plus the roles that are unrestricted and the audit-stream rules. Parsed and validated once at
// load (selectors with the PromQL / LogQL parsers, write policies with the remote-write
// enforcer, schema files read); see config/tenants.md for the schema with examples.
//
// These are plain values. authz/policy compiles them into a frozen Policy that answers "what
// may this principal see"; nothing here decides access.
//
//   tenants:
//     unrestricted_roles: [platform-admin]
//     audit: {streams: ['{stream="audit"}'], auditor_roles: [auditor]}
//     tenants:
//       - name: team-a
//         metrics:
//           rules: ['{namespace=~"team-a|team-a-staging", cluster="prod"}', '{team="a"}']
//           hidden_labels: [client_ip]
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/remote_write/remote_write.h"
#include "filters/scope/scope.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::config {

class YamlReader;

// What one tenant may read of one signal (metrics or logs). A present section with no rules is
// refused at load: "no scope" is expressed by leaving the section out, and means no access.
struct ReadScope {
  std::vector<filters::Rule> rules;        // OR of conjunctions; never empty
  std::vector<std::string> hidden_labels;  // sorted, unique
};

// The write policy of one tenant (remote-write and Loki push). `policy.tenant_value` defaults to
// the tenant's name; `policy.schema` is loaded from `schema_path` at load.
struct WriteScope {
  filters::remote_write::WritePolicy policy;
  std::string schema_path;  // as written; empty when no schema contract is configured
};

struct Tenant {
  std::string name;
  std::optional<ReadScope> metrics;  // absent: no metrics access
  std::optional<ReadScope> logs;     // absent: no logs access
  std::optional<WriteScope> write;   // absent: may not write
};

// The principal allowed to write audit streams (the audit log shipper). Every non-empty field
// must match the principal.
struct AuditShipper {
  std::string issuer;
  std::string subject;
  std::string cert_identity;  // "uri:spiffe://...", "dns:...", "cn:..."
};

struct AuditConfig {
  std::vector<filters::Rule> streams;      // each rule exactly one matcher (LogsPolicy rule)
  std::vector<std::string> auditor_roles;  // sorted, unique
  std::optional<AuditShipper> shipper;
};

struct TenantsConfig {
  std::vector<Tenant> tenants;                  // names unique
  std::vector<std::string> unrestricted_roles;  // sorted, unique
  AuditConfig audit;

  [[nodiscard]] const Tenant* find(std::string_view name) const;
};

// Parses `tenants:` (node may be undefined: the section is optional). Errors go to `r`, each
// naming file:line:col, the key path and (for selectors) the PromQL/LogQL parser's message.
// Schema contracts are read relative to the working directory, as given.
void load_tenants(YamlReader& r, const YAML::Node& n, TenantsConfig& out);

// One selector rule such as `{namespace=~"a|b", cluster="prod"}` (PromQL selector syntax, the
// grammar of Prometheus `match[]`), as a conjunction of matchers. Every rule must hold at least
// one matcher that does not match the empty string. Used by `obsgate rewrite --scope` too.
Result<filters::Rule> parse_metrics_rule(std::string_view selector);
// The same in LogQL stream-selector syntax (a bare `{...}`, no pipeline).
Result<filters::Rule> parse_logs_rule(std::string_view selector);

}  // namespace obsgate::config
