// Load-time checks of a route's identity requirements, and the key registry's view of the
// identity section (key_configs(), declared in authn.h). Pure functions over config values.
#pragma once

#include "common/status.h"

namespace obsgate::config {
struct Config;
struct Route;
}  // namespace obsgate::config

namespace obsgate::gateway::authn {

// InvalidArgument naming the route when no configured identity could ever pass it: accept:
// names nothing usable, or none of its `roles` is granted by any provider mapping or
// certificate rule that the route accepts.
Status validate_route(const config::Config& cfg, const config::Route& route);

}  // namespace obsgate::gateway::authn
