// The `tenants:` section: per-tenant metrics and logs scopes, hidden labels, write policy,
// plus the roles that are unrestricted and the audit-stream rules. Parsed once at load; see
// config/README.md.
#pragma once

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::config {

class YamlReader;

struct TenantsConfig {};

// Parses `tenants:` (node may be undefined: the section is optional). Errors go to `r`.
void load_tenants(YamlReader& r, const YAML::Node& n, TenantsConfig& out);

}  // namespace obsgate::config
