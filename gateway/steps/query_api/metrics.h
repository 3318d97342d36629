// The self-metrics every query API step declares (CONVENTIONS #11), built in one place:
//   obsgate_<api>_requests_total{endpoint, result}   one outcome per request
//   obsgate_rewrite_errors_total{api, reason}         rewrites refused (400/403/502)
// obsgate_rewrite_errors_total is one family shared by every API: each step registers it with
// the same name and help (kRewriteErrorsHelp), and prometheus-cpp's registry hands the second
// builder the existing family, to which its own `api` label sets are added.
//
// A step wraps ApiMetrics in its own typed StepMetrics (enums for endpoint, outcome, reason);
// the label values come from those bounded enums only. Construction throws what prometheus-cpp
// throws on a registry conflict (load time only); counting never throws. Counters are atomic:
// thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace obsgate::gateway::query_api {

inline constexpr std::string_view kRewriteErrorsName = "obsgate_rewrite_errors_total";
inline constexpr std::string_view kRewriteErrorsHelp =
    "Query and response rewrites refused, by API and reason";

struct ApiMetricNames {
  std::string_view api;            // "prometheus", "loki": the family prefix and `api` label
  std::string_view requests_help;  // help of obsgate_<api>_requests_total
  std::vector<std::string_view> endpoints;  // index = the step's endpoint enum value
  std::vector<std::string_view> outcomes;   // index = the step's outcome enum value
  std::vector<std::string_view> reasons;    // index = the step's rewrite-error enum value
};

class ApiMetrics {
 public:
  ApiMetrics(::prometheus::Registry& registry, const ApiMetricNames& names);
  void outcome(size_t endpoint, size_t outcome);
  void rewrite_error(size_t reason);

 private:
  size_t outcome_count_ = 0;
  std::vector<::prometheus::Counter*> outcomes_;  // [endpoint * outcome_count_ + outcome]
  std::vector<::prometheus::Counter*> errors_;
};

}  // namespace obsgate::gateway::query_api
