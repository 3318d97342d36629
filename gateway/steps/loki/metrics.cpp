#include "gateway/steps/loki/metrics.h"

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

namespace {

query_api::ApiMetricNames names() {
  query_api::ApiMetricNames n;
  n.api = "loki";
  n.requests_help = "Loki API requests by endpoint and outcome";
  for (size_t e = 0; e < kEndpointCount; ++e) {
    n.endpoints.push_back(endpoint_name(static_cast<Endpoint>(e)));
  }
  for (size_t o = 0; o < kOutcomeCount; ++o) {
    n.outcomes.push_back(outcome_name(static_cast<Outcome>(o)));
  }
  for (size_t i = 0; i < kRewriteErrorCount; ++i) {
    n.reasons.push_back(rewrite_error_name(static_cast<RewriteError>(i)));
  }
  return n;
}

}  // namespace

StepMetrics::StepMetrics(::prometheus::Registry& registry) : m_(registry, names()) {}

}  // namespace obsgate::gateway::loki_api
