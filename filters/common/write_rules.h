// Scope rules compiled for the write path: shared by filters/remote_write and filters/loki_push,
// which check every received series or stream against a tenant's write scope.
//
// A rule (filters::Rule: a conjunction of matchers) is compiled once at config load: regexes
// are built in RE2, fully anchored as in Prometheus and Loki (`^(?:pattern)$`). Compiled rules
// are immutable and thread-safe to read; matching allocates nothing.
//
//   auto rule = compile_rule(policy.write_scope[0], "write_scope[0]");
//   if (!rule.ok()) -> config error, e.g. "write_scope[0][1] (ns): invalid RE2 pattern '(': ..."
//   bool in = rule_matches(*rule, [&](std::string_view name) { return value_of(name); });
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "filters/scope/scope.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace obsgate::filters {

struct CompiledMatcher {
  std::string name;
  MatchOp op = MatchOp::kEq;
  std::string value;
  std::unique_ptr<re2::RE2> re;  // kRe / kNre only, anchored

  CompiledMatcher(std::string n, MatchOp o, std::string v);
  CompiledMatcher(CompiledMatcher&&) noexcept;
  CompiledMatcher& operator=(CompiledMatcher&&) noexcept;
  ~CompiledMatcher();

  // Does a label value satisfy the matcher? The caller passes "" for a missing label.
  [[nodiscard]] bool matches(std::string_view v) const {
    switch (op) {
      case MatchOp::kEq: return v == value;
      case MatchOp::kNeq: return v != value;
      case MatchOp::kRe:
      case MatchOp::kNre: break;
    }
    return regex_matches(v) == (op == MatchOp::kRe);
  }

 private:
  [[nodiscard]] bool regex_matches(std::string_view v) const;
};

using CompiledRule = std::vector<CompiledMatcher>;

// Compiles one rule. `where` names it in errors, which are InvalidArgument:
//   "<where>: a rule needs at least one matcher"
//   "<where>[j]: matcher has an empty label name"
//   "<where>[j] (<name>): invalid RE2 pattern '<value>': <RE2's error>"
Result<CompiledRule> compile_rule(const Rule& rule, const std::string& where);

// Is every matcher of `rule` satisfied? `value_of(name)` gives a label's value ("" if absent).
template <typename ValueOf>
[[nodiscard]] bool rule_matches(const CompiledRule& rule, ValueOf&& value_of) {
  for (const CompiledMatcher& m : rule) {
    if (!m.matches(value_of(std::string_view(m.name)))) {
      return false;
    }
  }
  return true;
}

// Every named limit must be > 0: "limits.<name>: must be > 0" (InvalidArgument) for the first
// that is not, in the given order.
Status limits_positive(const std::vector<std::pair<const char*, std::size_t>>& fields);

// Sorts and removes duplicates (forbidden-label lists are binary-searched).
void sort_unique(std::vector<std::string>& names);

}  // namespace obsgate::filters
