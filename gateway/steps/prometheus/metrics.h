// Self-metrics of the prometheus step, declared once (CONVENTIONS #11):
//   obsgate_prometheus_requests_total{endpoint, result}  one outcome per request
//   obsgate_rewrite_errors_total{api="prometheus", reason} rewrites refused (400/403/502)
// Both families are built by query_api::ApiMetrics (gateway/steps/query_api/metrics.h), which
// the loki step uses too. Labels come from bounded enums only. Counters live in the registry the
// server owns; every route and config generation shares them (the registry merges families of
// the same name).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/steps/prometheus/endpoints.h"
#include "gateway/steps/query_api/metrics.h"

namespace obsgate::gateway::prom_api {

enum class Outcome : uint8_t {
  kEnforced,      // rewritten for a restricted scope and forwarded
  kUnrestricted,  // forwarded untouched (unrestricted role)
  kPassthrough,   // buildinfo: nothing to enforce
  kInvalid,       // 400
  kDenied,        // 401/403
};
inline constexpr size_t kOutcomeCount = 5;

enum class RewriteError : uint8_t {
  kParams,            // malformed or duplicated parameters
  kQuery,             // query refused: parse error, hidden label, no exact rewrite
  kMatch,             // a match[] value refused
  kHiddenLabelName,   // label/{hidden}/values
  kResponse,          // the upstream body could not be filtered (502)
  kDuplicateSeries,   // hiding a label would merge series (400)
  kRedactedError,     // an upstream error quoting a hidden label was replaced
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

}  // namespace obsgate::gateway::prom_api
