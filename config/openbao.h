// The `openbao:` section: OpenBao nodes (name, base URL, TLS, unauthenticated metrics
// listener) and the metrics token file. Parsed once at load; see config/openbao.md.
//
// Used by the openbao_active, openbao_node and openbao_fanout steps (gateway/steps/openbao/).
// The token itself is never in the config: only the path of a file holding it, which the
// gateway re-reads when it changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/upstream_tls.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::config {

class YamlReader;

struct OpenBaoNode {
  std::string name;  // [A-Za-z0-9_.-]+, unique: the {node} path parameter and the node label
  std::string url;   // as written: http(s)://host[:port][/base]
  bool https = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // "" or "/x" (no trailing '/')
  std::optional<UpstreamTls> tls;
  // The listener at `url` has unauthenticated_metrics_access: its /v1/sys/metrics is scraped
  // without a token (per-node and fan-out routes). Health checks never send a token.
  bool unauthenticated_metrics = false;
};

struct OpenBaoConfig {
  std::vector<OpenBaoNode> nodes;  // empty: the section is absent
  // File holding the OpenBao token sent as X-Vault-Token; required when a node's metrics need
  // a token (some node without unauthenticated_metrics). Re-read when it changes.
  std::string token_file;
  std::chrono::milliseconds health_cache{std::chrono::seconds(2)};  // 0: check every request
  std::chrono::milliseconds scrape_timeout{std::chrono::seconds(5)};  // per node, > 0

  [[nodiscard]] bool configured() const { return !nodes.empty(); }
  [[nodiscard]] const OpenBaoNode* find_node(std::string_view name) const;
};

// Parses `openbao:` (node may be undefined: the section is optional). Errors go to `r`.
void load_openbao(YamlReader& r, const YAML::Node& n, OpenBaoConfig& out);

}  // namespace obsgate::config
