// What steps share beyond one config generation, owned by the server and passed to every
// StepFactory when a generation is built: the metrics registry, the decision log, and the
// long-lived state of individual steps (key sets, OpenBao node health, token files). Each
// member is owned by the module named in its comment; the server creates them at start and
// keeps them across reloads.
#pragma once

#include <memory>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace obsgate::gateway {

class LogSink;

namespace identity {
class KeyRegistry;  // gateway/identity/: one KeyProvider per configured OIDC provider
}  // namespace identity

namespace openbao {
class NodeState;  // gateway/steps/openbao/: active-node cache, token file, node health
}  // namespace openbao

struct Services {
  prometheus::Registry* registry = nullptr;
  LogSink* decision_log = nullptr;
  identity::KeyRegistry* keys = nullptr;
  openbao::NodeState* openbao = nullptr;
};

}  // namespace obsgate::gateway
