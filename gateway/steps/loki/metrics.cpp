#include "gateway/steps/loki/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <string>

namespace obsgate::gateway::loki_api {

std::string_view outcome_name(Outcome o) noexcept {
  switch (o) {
    case Outcome::kEnforced: return "enforced";
    case Outcome::kFanout: return "fanout";
    case Outcome::kInvalid: return "invalid";
    case Outcome::kDenied: return "denied";
    case Outcome::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view rewrite_error_name(RewriteError e) noexcept {
  switch (e) {
    case RewriteError::kParams: return "params";
    case RewriteError::kQuery: return "query";
    case RewriteError::kHiddenLabelName: return "hidden_label_name";
    case RewriteError::kTenant: return "tenant";
    case RewriteError::kResponse: return "response";
    case RewriteError::kDuplicateStreams: return "duplicate_streams";
    case RewriteError::kRedactedError: return "redacted_error";
  }
  return "unknown";
}

StepMetrics::StepMetrics(::prometheus::Registry& registry) {
  auto& requests = ::prometheus::BuildCounter()
                       .Name("obsgate_loki_requests_total")
                       .Help("Loki API requests by endpoint and outcome")
                       .Register(registry);
  for (size_t e = 0; e < kEndpointCount; ++e) {
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      outcomes_[e][o] = &requests.Add(
          {{"endpoint", std::string(endpoint_name(static_cast<Endpoint>(e)))},
           {"result", std::string(outcome_name(static_cast<Outcome>(o)))}});
    }
  }
  // Shared with the prometheus step (same name and help): the registry merges the families.
  auto& errors = ::prometheus::BuildCounter()
                     .Name("obsgate_rewrite_errors_total")
                     .Help("Query and response rewrites refused, by API and reason")
                     .Register(registry);
  for (size_t i = 0; i < kRewriteErrorCount; ++i) {
    errors_[i] = &errors.Add(
        {{"api", "loki"},
         {"reason", std::string(rewrite_error_name(static_cast<RewriteError>(i)))}});
  }
}

void StepMetrics::outcome(Endpoint e, Outcome o) {
  outcomes_[static_cast<size_t>(e)][static_cast<size_t>(o)]->Increment();
}

void StepMetrics::rewrite_error(RewriteError e) {
  errors_[static_cast<size_t>(e)]->Increment();
}

}  // namespace obsgate::gateway::loki_api
