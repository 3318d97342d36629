// The PromQL function table (Prometheus promql/parser/functions.go): argument types, arity and
// whether a function is experimental. Static constant data; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "filters/promql/ast.h"

namespace obsgate::filters::promql {

struct FunctionInfo {
  std::string_view name;
  ValueType arg_types[5];
  uint8_t arg_count;  // entries used in arg_types
  // 0: exactly arg_count args. n > 0: the last type may repeat 0..n times (so arg_count - 1 ..
  // arg_count - 1 + n args). -1: the last type may repeat any number of times.
  int8_t variadic;
  ValueType return_type;
  bool experimental;
};

// nullptr when there is no function of that (case-sensitive) name.
const FunctionInfo* find_function(std::string_view name);
// Every function, sorted by name.
std::span<const FunctionInfo> all_functions();

}  // namespace obsgate::filters::promql
