// The `identity:` section: OIDC providers (issuer, audiences, algorithms, key source, claim
// mapping) and mTLS certificate identities. Parsed once at load; see config/README.md.
#pragma once

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::config {

class YamlReader;

struct IdentityConfig {
  // True when no provider and no certificate identity is configured: routes with
  // `auth: required` are then refused at load.
  [[nodiscard]] bool empty() const { return true; }
};

// Parses `identity:` (node may be undefined: the section is optional). Errors go to `r`.
void load_identity(YamlReader& r, const YAML::Node& n, IdentityConfig& out);

}  // namespace obsgate::config
