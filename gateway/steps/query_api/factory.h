// Load-time helpers shared by the query API steps (prometheus, loki) (their StepFactory is
// gateway::SharedStateFactory, in step.h):
//   - build_metrics<M>(): the step's StepMetrics in the server's registry, or in a registry of
//     its own (`own`, kept alive by the shared state) when Services has none, as in unit tests.
//     prometheus-cpp reports registry conflicts by throwing: caught here (load time only) and
//     returned as Internal naming `where`.
#pragma once

#include <prometheus/registry.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "common/status.h"
#include "gateway/steps/services.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway::query_api {

template <typename M>
Result<std::unique_ptr<M>> build_metrics(const Services& services,
                                         std::shared_ptr<::prometheus::Registry>& own,
                                         const std::string& where) {
  try {
    ::prometheus::Registry* reg = services.registry;
    if (reg == nullptr) {
      own = std::make_shared<::prometheus::Registry>();
      reg = own.get();
    }
    return std::make_unique<M>(*reg);
  } catch (const std::exception& ex) {
    return Status::internal(where + "metrics: " + ex.what());
  }
}

}  // namespace obsgate::gateway::query_api
