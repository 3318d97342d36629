// Self-metrics of the loki step, declared once (CONVENTIONS #11):
//   obsgate_loki_requests_total{endpoint, result}     one outcome per request
//   obsgate_rewrite_errors_total{api="loki", reason}  rewrites refused (400/403/502)
// Both families are built by query_api::ApiMetrics (gateway/steps/query_api/metrics.h), which
// the prometheus step uses too: obsgate_rewrite_errors_total is one family for both APIs.
// Labels come from bounded enums only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/steps/loki/endpoints.h"
#include "gateway/steps/query_api/metrics.h"

namespace obsgate::gateway::loki_api {

enum class Outcome : uint8_t {
  kEnforced,  // rewritten and forwarded
  kFanout,    // one upstream query per scope rule, merged by the gateway
  kInvalid,   // 400
  kDenied,    // 401/403
  kFailed,    // 502/504 (fan-out upstream failures, unfilterable responses)
};
inline constexpr size_t kOutcomeCount = 5;

enum class RewriteError : uint8_t {
  kParams,           // malformed or duplicated parameters
  kQuery,            // query/selector refused: parse error, hidden label, no exact rewrite
  kHiddenLabelName,  // label/{hidden}/values
  kTenant,           // no usable X-Scope-OrgID (several tenants on a tail, bad mapping)
  kResponse,         // the upstream body could not be filtered or merged (502)
  kDuplicateStreams, // hiding a label would merge streams/series (400)
  kRedactedError,    // an upstream error quoting a hidden label was replaced
};
inline constexpr size_t kRewriteErrorCount = 7;

std::string_view outcome_name(Outcome o) noexcept;
std::string_view rewrite_error_name(RewriteError e) noexcept;

class StepMetrics {
 public:
  explicit StepMetrics(::prometheus::Registry& registry);
  void outcome(Endpoint e, Outcome o) {
    m_.outcome(static_cast<size_t>(e), static_cast<size_t>(o));
  }
  void rewrite_error(RewriteError e) { m_.rewrite_error(static_cast<size_t>(e)); }

 private:
  query_api::ApiMetrics m_;
};

}  // namespace obsgate::gateway::loki_api
