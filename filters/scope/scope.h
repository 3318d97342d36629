// The label scope a principal may see or write: the policy vocabulary shared by the PromQL,
// LogQL, remote-write and push enforcers.
//
// Semantics (the ones Grafana's label-based access control taught users):
//   - a Rule is a conjunction of label matchers (AND within a rule);
//   - a series/stream is in scope when it satisfies at least one rule (OR across rules);
//   - an unrestricted scope sees everything; an empty, restricted scope sees nothing.
//   - hidden labels are never queryable and never returned.
// Values are plain data: build once at config load, share as const, thread-safe to read.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::filters {

enum class MatchOp { kEq, kNeq, kRe, kNre };

// "=", "!=", "=~", "!~"
std::string_view match_op_string(MatchOp op) noexcept;

struct Matcher {
  std::string name;
  MatchOp op = MatchOp::kEq;
  std::string value;  // for kRe/kNre: an RE2 pattern, implicitly anchored as in Prometheus

  friend bool operator==(const Matcher&, const Matcher&) = default;
};

using Rule = std::vector<Matcher>;  // conjunction

struct Scope {
  bool unrestricted = false;
  std::vector<Rule> rules;                 // disjunction; empty + restricted => no access
  std::vector<std::string> hidden_labels;  // sorted, unique

  [[nodiscard]] bool is_hidden(std::string_view label) const;
  [[nodiscard]] bool denies_everything() const { return !unrestricted && rules.empty(); }
};

// Renders a list of literal values as one anchored-by-Prometheus RE2 alternation of escaped
// values: {"a.b", "c"} -> "a\.b|c". One value renders as itself escaped.
std::string values_regex(const std::vector<std::string>& values);

// Builds a matcher from a config entry that may carry a list of values. With one value and an
// equality op the matcher stays literal; with several, = becomes =~ and != becomes !~ over
// values_regex(). Regex ops take exactly one pattern, which must compile in RE2.
Result<Matcher> make_matcher(std::string name, MatchOp op, const std::vector<std::string>& values);

// Union of several scopes (a principal with several tenants): rules are concatenated, hidden
// labels united; unrestricted if any is.
Scope union_of(const std::vector<const Scope*>& scopes);

// When every rule is identical except for one label whose matchers are all equalities (=) or
// all positive regexes over literal alternations, returns the single equivalent rule (that
// label's values merged into one =~ alternation). Otherwise nullopt: the caller must lift the
// union with `or` or refuse. A single rule is returned as is.
std::optional<Rule> collapse(const std::vector<Rule>& rules);

// Does this label set (name -> value) satisfy the matcher / rule / scope? Regexes are fully
// anchored, as in Prometheus and Loki. A missing label has the value "".
bool matches(const Matcher& m, const std::map<std::string, std::string, std::less<>>& labels);
bool matches(const Rule& r, const std::map<std::string, std::string, std::less<>>& labels);
bool matches(const Scope& s, const std::map<std::string, std::string, std::less<>>& labels);

}  // namespace obsgate::filters
