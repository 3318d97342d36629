#include "filters/promql/functions.h"

#include <algorithm>
#include <iterator>

namespace obsgate::filters::promql {
namespace {

constexpr ValueType kS = ValueType::kScalar;
constexpr ValueType kV = ValueType::kVector;
constexpr ValueType kM = ValueType::kMatrix;
constexpr ValueType kStr = ValueType::kString;
constexpr ValueType kX = ValueType::kNone;

// Sorted by name (checked by a unit test through find_function on every entry).
constexpr FunctionInfo kFunctions[] = {
    {"abs", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"absent", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"absent_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"acos", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"acosh", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"asin", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"asinh", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"atan", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"atanh", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"avg_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"ceil", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"changes", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"clamp", {kV, kS, kS, kX}, 3, 0, kV, false},
    {"clamp_max", {kV, kS, kX, kX}, 2, 0, kV, false},
    {"clamp_min", {kV, kS, kX, kX}, 2, 0, kV, false},
    {"cos", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"cosh", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"count_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"day_of_month", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"day_of_week", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"day_of_year", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"days_in_month", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"deg", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"delta", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"deriv", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"double_exponential_smoothing", {kM, kS, kS, kX}, 3, 0, kV, true},
    {"end", {kX, kX, kX, kX}, 0, 0, kS, true},
    {"exp", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"first_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"floor", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"histogram_avg", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"histogram_count", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"histogram_fraction", {kS, kS, kV, kX}, 3, 0, kV, false},
    {"histogram_quantile", {kS, kV, kX, kX}, 2, 0, kV, false},
    {"histogram_quantiles", {kV, kStr, kS, kS}, 4, 9, kV, true},
    {"histogram_stddev", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"histogram_stdvar", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"histogram_sum", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"hour", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"idelta", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"increase", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"info", {kV, kV, kX, kX}, 2, 1, kV, true},
    {"irate", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"label_join", {kV, kStr, kStr, kStr}, 4, -1, kV, false},
    {"label_replace", {kV, kStr, kStr, kStr, kStr}, 5, 0, kV, false},
    {"last_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"ln", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"log10", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"log2", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"mad_over_time", {kM, kX, kX, kX}, 1, 0, kV, true},
    {"max_of", {kS, kS, kX, kX}, 2, 0, kS, true},
    {"max_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"min_of", {kS, kS, kX, kX}, 2, 0, kS, true},
    {"min_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"minute", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"month", {kV, kX, kX, kX}, 1, 1, kV, false},
    {"pi", {kX, kX, kX, kX}, 0, 0, kS, false},
    {"predict_linear", {kM, kS, kX, kX}, 2, 0, kV, false},
    {"present_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"quantile_over_time", {kS, kM, kX, kX}, 2, 0, kV, false},
    {"rad", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"range", {kX, kX, kX, kX}, 0, 0, kS, true},
    {"rate", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"resets", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"round", {kV, kS, kX, kX}, 2, 1, kV, false},
    {"scalar", {kV, kX, kX, kX}, 1, 0, kS, false},
    {"sgn", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"sin", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"sinh", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"sort", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"sort_by_label", {kV, kStr, kX, kX}, 2, -1, kV, true},
    {"sort_by_label_desc", {kV, kStr, kX, kX}, 2, -1, kV, true},
    {"sort_desc", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"sqrt", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"start", {kX, kX, kX, kX}, 0, 0, kS, true},
    {"start_timestamp", {kV, kX, kX, kX}, 1, 0, kV, true},
    {"stddev_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"stdvar_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"step", {kX, kX, kX, kX}, 0, 0, kS, true},
    {"sum_over_time", {kM, kX, kX, kX}, 1, 0, kV, false},
    {"tan", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"tanh", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"time", {kX, kX, kX, kX}, 0, 0, kS, false},
    {"timestamp", {kV, kX, kX, kX}, 1, 0, kV, false},
    {"ts_of_first_over_time", {kM, kX, kX, kX}, 1, 0, kV, true},
    {"ts_of_last_over_time", {kM, kX, kX, kX}, 1, 0, kV, true},
    {"ts_of_max_over_time", {kM, kX, kX, kX}, 1, 0, kV, true},
    {"ts_of_min_over_time", {kM, kX, kX, kX}, 1, 0, kV, true},
    {"vector", {kS, kX, kX, kX}, 1, 0, kV, false},
    {"year", {kV, kX, kX, kX}, 1, 1, kV, false},
};

}  // namespace

const FunctionInfo* find_function(std::string_view name) {
  const auto* first = std::begin(kFunctions);
  const auto* last = std::end(kFunctions);
  const auto* it = std::lower_bound(
      first, last, name, [](const FunctionInfo& f, std::string_view n) { return f.name < n; });
  if (it == last || it->name != name) {
    return nullptr;
  }
  return it;
}

std::span<const FunctionInfo> all_functions() { return kFunctions; }

}  // namespace obsgate::filters::promql
