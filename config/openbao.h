// The `openbao:` section: OpenBao nodes (name, base URL, TLS, unauthenticated metrics
// listener) and the metrics token file. Parsed once at load; see config/README.md.
#pragma once

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::config {

class YamlReader;

struct OpenBaoConfig {};

// Parses `openbao:` (node may be undefined: the section is optional). Errors go to `r`.
void load_openbao(YamlReader& r, const YAML::Node& n, OpenBaoConfig& out);

}  // namespace obsgate::config
