// PromQL for obsgate: parse, print, and enforce a label scope on a query.
//
// Everything here is a pure function of its arguments (no I/O, no globals); thread-safe.
//
//   Scope scope;                                   // one rule: tenant="a"
//   scope.rules = {{{"tenant", MatchOp::kEq, "a"}}};
//   auto r = obsgate::filters::promql::enforce_query(
//       "sum by (pod) (rate(http_requests_total[5m]))", scope);
//   // r.value() == R"(sum by (pod) (rate(http_requests_total{tenant="a"}[5m])))"
//   // With rules tenant="a" | team="x" (not collapsible) the union is lifted exactly:
//   //   sum by (pod) (rate(http_requests_total{tenant="a"}[5m])
//   //                 or rate(http_requests_total{team="x"}[5m]))
//
// Errors: a query that Prometheus would reject is InvalidArgument with a positioned message in
// Prometheus's format ("1:14: parse error: unexpected ..."); an input over the size cap is
// ResourceExhausted; a query the scope cannot be enforced on exactly is InvalidArgument; a scope
// that allows nothing is PermissionDenied.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/promql/ast.h"
#include "filters/scope/scope.h"

namespace obsgate::filters::promql {

struct ParseOptions {
  // Prometheus --enable-feature=promql-experimental-functions: experimental functions and the
  // limitk / limit_ratio aggregators. Duration expressions, anchored/smoothed and fill()
  // modifiers are not supported (Prometheus's defaults reject them too).
  bool experimental_functions = false;
  size_t max_input_bytes = 128 * 1024;
  // Nesting of sub-expressions; the tree's height (which also counts operator chains such as
  // `a + b + c`) is capped at 4 * max_depth.
  int max_depth = 256;
};

// A full expression (Prometheus ParseExpr, including its semantic checks).
Result<Ast> parse(std::string_view query, const ParseOptions& opts = {});
// The same into a caller's tree, reusing the memory an earlier parse left in it (Ast::clear()):
// for a caller that parses many queries on one thread. On error `ast` is empty.
Status parse_into(std::string_view query, Ast& ast, const ParseOptions& opts = {});
// A vector selector only (Prometheus ParseMetricSelector: the grammar of `match[]`).
Result<Ast> parse_selector(std::string_view selector, const ParseOptions& opts = {});

// Prints an expression that Prometheus parses back into the same tree. Input written in
// Prometheus 2 syntax prints as Prometheus 2.42-compatible text (names are quoted only when
// they are not legacy names).
std::string print(const Ast& ast);
std::string print(const Ast& ast, NodeId id);

// InvalidArgument naming the label if the tree references a hidden label anywhere: matchers,
// by/without, on/ignoring, group_left/right, label arguments of label_replace, label_join,
// count_values, sort_by_label(_desc), histogram_quantiles.
Status check_hidden_labels(const Ast& ast, const Scope& scope);

// Checks hidden labels, then narrows every selector of the tree to the scope (AST level; the
// tree is modified in place and its new strings are owned by the Ast). Unrestricted scopes
// only get the hidden-label check. Restricted scopes refuse info(). See enforce.cpp for the
// exactness argument of the multi-rule rewrite and its refusals.
Status enforce(Ast& ast, const Scope& scope);

// parse + enforce + print. The upstream should be sent this output (canonical, comments
// dropped), never the original text.
Result<std::string> enforce_query(std::string_view query, const Scope& scope,
                                  const ParseOptions& opts = {});
// The same with a caller-owned scratch tree whose memory is reused (its content afterwards is
// unspecified). Same result as the overload above, for every input.
//   thread_local Ast scratch;   // per worker thread: no allocation for the tree once warm
//   auto q = enforce_query(text, scope, scratch);
Result<std::string> enforce_query(std::string_view query, const Scope& scope, Ast& scratch,
                                  const ParseOptions& opts = {});

// For one `match[]` value. A scope that collapses to one rule yields one selector; otherwise
// InvalidArgument (use enforce_selectors, whose results the caller sends as repeated match[]).
Result<std::string> enforce_selector(std::string_view match_param, const Scope& scope,
                                     const ParseOptions& opts = {});
// One selector per rule (Prometheus unions repeated match[] values exactly).
Result<std::vector<std::string>> enforce_selectors(std::string_view match_param,
                                                   const Scope& scope,
                                                   const ParseOptions& opts = {});

// What `obsgate rewrite --promql` prints.
inline Result<std::string> rewrite_for_cli(std::string_view query, const Scope& scope,
                                           const ParseOptions& opts = {}) {
  return enforce_query(query, scope, opts);
}

}  // namespace obsgate::filters::promql
