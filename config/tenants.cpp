#include "config/tenants.h"

#include "config/yaml_reader.h"

namespace obsgate::config {

void load_tenants(YamlReader& r, const YAML::Node& n, TenantsConfig& /*out*/) {
  if (!n.IsDefined()) {
    return;
  }
  r.expect_map(n, "tenants", {});
}

}  // namespace obsgate::config
