#include "gateway/steps/query_api/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <string>

namespace obsgate::gateway::query_api {

ApiMetrics::ApiMetrics(::prometheus::Registry& registry, const ApiMetricNames& names)
    : outcome_count_(names.outcomes.size()) {
  const std::string api(names.api);
  auto& requests = ::prometheus::BuildCounter()
                       .Name("obsgate_" + api + "_requests_total")
                       .Help(std::string(names.requests_help))
                       .Register(registry);
  for (std::string_view endpoint : names.endpoints) {
    for (std::string_view outcome : names.outcomes) {
      outcomes_.push_back(&requests.Add(
          {{"endpoint", std::string(endpoint)}, {"result", std::string(outcome)}}));
    }
  }
  // Shared by every API (same name and help): the registry merges the families.
  auto& errors = ::prometheus::BuildCounter()
                     .Name(std::string(kRewriteErrorsName))
                     .Help(std::string(kRewriteErrorsHelp))
                     .Register(registry);
  for (std::string_view reason : names.reasons) {
    errors_.push_back(&errors.Add({{"api", api}, {"reason", std::string(reason)}}));
  }
}

void ApiMetrics::outcome(size_t endpoint, size_t outcome) {
  outcomes_[endpoint * outcome_count_ + outcome]->Increment();
}

void ApiMetrics::rewrite_error(size_t reason) { errors_[reason]->Increment(); }

}  // namespace obsgate::gateway::query_api
