// Internal: does a (fully anchored) PromQL regex match the empty string?
#pragma once

#include <string>
#include <string_view>

namespace obsgate::filters::promql {

// Cheap answers for what dashboards send after template expansion: literal alternations,
// ".*", ".+". `decided` is false when only RE2 can tell. Also rejects unbalanced brackets and a
// trailing backslash. Returns nullptr or a static error message.
const char* regex_quick_check(std::string_view re, bool& decided, bool& empty);

// The exact answer, compiling with RE2 (which also validates the syntax). Returns nullptr or
// an error message stored in err.
const char* regex_matches_empty(std::string_view re, bool& empty, std::string& err);

}  // namespace obsgate::filters::promql
