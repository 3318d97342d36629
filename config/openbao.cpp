#include "config/openbao.h"

#include "config/yaml_reader.h"

namespace obsgate::config {

void load_openbao(YamlReader& r, const YAML::Node& n, OpenBaoConfig& /*out*/) {
  if (!n.IsDefined()) {
    return;
  }
  r.expect_map(n, "openbao", {});
}

}  // namespace obsgate::config
