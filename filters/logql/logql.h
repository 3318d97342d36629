// LogQL (Loki's query language): parse, print, and enforce a tenant's log scope.
//
// Pure code: no I/O, no globals. All functions are thread-safe; a LogsPolicy is built and
// validated once at config load and then shared read-only.
//
//   auto pol = LogsPolicy{scope, {{{"stream", MatchOp::kEq, "audit"}}}, /*auditor=*/false};
//   if (Status st = validate(pol); !st.ok()) { /* config error */ }
//   auto r = enforce_query(R"(sum(rate({app="api"} |= "err" [5m])))", pol);
//   // r->query == R"(sum(rate({app="api", tenant="a", stream!="audit"} |= "err" [5m])))"
//
// Enforcement appends matchers to every stream selector and never removes the user's own: the
// scope's matchers (the principal may only read streams matching them) and, for non-auditors,
// the negation of each audit-stream matcher. It never enforces through label-filter stages,
// which also see parsed labels and structured metadata that the log writer controls.
//
// Several scope rules (an OR of conjunctions):
//   - filters::collapse() merges them into one rule when possible (one label's values differ);
//   - metric queries: each range aggregation f(R) is lifted to `f(R∧r1) or f(R∧r2) ...`, which
//     is exact when f keeps one output series per stream: no `by`/`without`, no
//     absent_over_time, no unwrap (Loki drops the unwrapped label from the series), and no
//     label_format/drop/keep stage (any of which could merge streams). Otherwise
//     InvalidArgument;
//   - log queries: Enforced::per_rule_queries holds one query per rule and Enforced::query is
//     empty. The gateway runs each and merges, de-duplicating streams by label set (a stream
//     may match several rules).
//
// Audit streams are an OR of single-matcher rules; their negation is a conjunction of negated
// matchers (= ↔ !=, =~ ↔ !~), which is exact because a missing label reads as "". A rule of
// several matchers (a AND b) negates to (!a OR !b), which a stream selector cannot express:
// validate() refuses such policies.
//
// Hidden labels: any reference is refused with InvalidArgument naming the label: selectors,
// label filters, by/without, on/ignoring/group_*, label_format/drop/keep, unwrap, label_replace
// arguments, json/logfmt/regexp/pattern extractions producing the name, and line_format /
// label_format templates (`.name`; while any label is hidden, templates may not use the whole
// label map through a bare `.` or `$`).
//
// Where parse() knowingly differs from Loki (always by refusing more, never less):
//   - identifiers are ASCII only (Loki also takes Unicode letters);
//   - regexes are checked with RE2 when parsed, including line-filter regexes and `ip()` with
//     operators other than |= and != that Loki only rejects when it runs the query;
//   - no `xml` parser and no `variants(...) of (...)`: not in the grammar we follow
//     (shared/query-languages.md, Part 2);
//   - literal-only arithmetic is kept as written (Loki folds `1 > 1` into `0` itself);
//   - Go templates (line_format, label_format) and pattern expressions are kept verbatim and
//     not validated: Loki validates them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/logql/ast.h"
#include "filters/scope/scope.h"

namespace obsgate::filters::logql {

// Parses and validates a full LogQL expression as Loki's ParseExpr does. Errors are
// InvalidArgument "parse error at line L, col C: ...". Inputs of 131072 bytes or more, trees
// (expressions or label filters) more than 128 levels high, and more than 600 levels of
// parentheses and nesting, are refused.
Result<ExprPtr> parse(std::string_view query);

// LogQL text for the tree; parse(print(e)) == e for every tree parse() returns.
std::string print(const Expr& e);
void put_selector(std::string& out, const Selector& s);

struct LogsPolicy {
  filters::Scope scope;                      // tenant stream-label rules + hidden labels
  std::vector<filters::Rule> audit_streams;  // matchers identifying audit streams (OR of rules)
  bool auditor = false;                      // may see audit streams
};

// Config-load check: audit rules have exactly one matcher; every matcher names a label usable
// in a LogQL selector (an identifier that is not a keyword) and its regex compiles.
Status validate(const LogsPolicy& policy);

struct Enforced {
  std::string query;                          // empty when per_rule_queries is used
  bool touches_audit = false;                 // an auditor's query may return audit streams
  std::vector<std::string> per_rule_queries;  // log queries over uncollapsible scope rules
};

// Full LogQL (query, query_range, tail, detected_fields, delete). PermissionDenied when the
// scope grants nothing; InvalidArgument for parse errors, hidden labels, or a metric query whose
// scope rules cannot be combined exactly.
Result<Enforced> enforce_query(std::string_view query, const LogsPolicy& policy);

// Selector-only parameters (labels, label values, series, index stats/volume, patterns,
// detected_labels): the input must be a bare `{...}`. Scope rules that do not collapse into
// one are refused (InvalidArgument): use enforce_selector_per_rule() where results can be
// merged (series).
Result<std::string> enforce_selector(std::string_view selector, const LogsPolicy& policy);
Result<std::vector<std::string>> enforce_selector_per_rule(std::string_view selector,
                                                           const LogsPolicy& policy);

// For selector parameters the client left out (labels, label values): the scope itself as
// selectors, one per scope rule after collapse(). Empty when there is nothing to restrict (an
// unrestricted auditor). FailedPrecondition when a selector would only have matchers that
// accept "" (e.g. just `stream!="audit"`), which Loki refuses: filter the response instead.
Result<std::vector<std::string>> scope_selectors(const LogsPolicy& policy);

// AST-level entry point. `per_rule` is used exactly as Enforced::per_rule_queries.
struct EnforcedExpr {
  ExprPtr expr;
  bool touches_audit = false;
  std::vector<ExprPtr> per_rule;
};
Result<EnforcedExpr> enforce(const Expr& expr, const LogsPolicy& policy);
Result<EnforcedExpr> enforce(ExprPtr expr, const LogsPolicy& policy);  // rewrites in place

}  // namespace obsgate::filters::logql
