// Self-metrics of the loki step, declared once (CONVENTIONS #11):
//   obsgate_loki_requests_total{endpoint, result}     one outcome per request
//   obsgate_rewrite_errors_total{api="loki", reason}  rewrites refused (400/403/502)
// obsgate_rewrite_errors_total is shared with the prometheus step (api="prometheus"): both
// build it with the same name and help, and prometheus-cpp's registry (InsertBehavior::Merge,
// the default) hands the second builder the existing family, to which we add our label sets.
// Labels come from bounded enums only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/steps/loki/endpoints.h"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

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
  void outcome(Endpoint e, Outcome o);
  void rewrite_error(RewriteError e);

 private:
  std::array<std::array<::prometheus::Counter*, kOutcomeCount>, kEndpointCount> outcomes_{};
  std::array<::prometheus::Counter*, kRewriteErrorCount> errors_{};
};

}  // namespace obsgate::gateway::loki_api
