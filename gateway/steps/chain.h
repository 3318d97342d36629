// Builds a route's step chain from its config: authentication when the route requires a
// principal, then the route's enforcer. Called once per config generation per route; a failure
// (e.g. an enforcer this route's upstream cannot serve) fails the whole (re)load.
#pragma once

#include <vector>

#include "common/status.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway {

Result<std::vector<StepFactoryPtr>> build_chain(const config::Config& cfg,
                                                const config::Route& route, Services& services);

}  // namespace obsgate::gateway
