#include "config/identity.h"

#include "config/yaml_reader.h"

namespace obsgate::config {

void load_identity(YamlReader& r, const YAML::Node& n, IdentityConfig& /*out*/) {
  if (!n.IsDefined()) {
    return;
  }
  r.expect_map(n, "identity", {});
}

}  // namespace obsgate::config
