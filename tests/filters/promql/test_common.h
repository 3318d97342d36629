// Shared helpers for the PromQL tests: small composable checks over parse/print results.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "filters/promql/promql.h"

namespace obsgate::filters::promql::testing {

// parse -> print -> parse must give the same tree, and printing must be idempotent. Returns
// the first print.
inline std::string check_round_trip(std::string_view input, const ParseOptions& opts = {}) {
  auto first = parse(input, opts);
  REQUIRE(first.ok());
  std::string printed = print(*first);
  CAPTURE(printed);
  auto second = parse(printed, opts);
  if (!second.ok()) {
    FAIL("printed form does not parse: " << second.status().message());
  }
  CHECK(structurally_equal(*first, first->root(), *second, second->root()));
  CHECK(print(*second) == printed);
  return printed;
}

}  // namespace obsgate::filters::promql::testing
