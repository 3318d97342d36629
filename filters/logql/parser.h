// The recursive-descent LogQL parser. Internal to filters/logql: use logql::parse().
//
// It accepts what Loki's yacc grammar (pkg/logql/syntax/syntax.y) accepts and applies the
// semantic checks Loki applies while building its AST (ast.go, parser.go): regexes compile,
// aggregation parameters and groupings are allowed, binary operands are metric queries, and
// every selector has a matcher that does not match the empty string.
#pragma once

#include <string_view>
#include <vector>

#include "filters/logql/ast.h"
#include "filters/logql/lexer.h"

namespace obsgate::filters::logql::detail {

// Two limits keep recursion (here, in the printer, the enforcer and destructors) bounded:
//  - kMaxDepth: the height of the expression tree and of each label-filter tree;
//  - kMaxRecursion: parser recursion, which parentheses also consume without adding height.
// The printer's output of a tree of height h re-parses within about 2h levels of recursion,
// so 2 * (128 + 128) + a few < 600 keeps parse(print(x)) accepted whenever x was.
constexpr int kMaxDepth = 128;
constexpr int kMaxRecursion = 600;

class Parser {
 public:
  Parser(std::string_view input, std::vector<Token> tokens)
      : in_(input), toks_(std::move(tokens)) {}

  // The whole input as one expression.
  Result<ExprPtr> parse_query();

  // ---- pipeline.cpp ----
  Status parse_selector(Selector& out);
  // Stages until something that is not a stage (`| unwrap` included: the caller takes it).
  Status parse_pipeline(std::vector<Stage>& out);
  Status parse_unwrap(Unwrap& out);  // at `| unwrap`
  Result<LabelFilterPtr> parse_label_filter(int min_prec);

  // ---- parser.cpp ----
  Result<ExprPtr> parse_expr(int min_prec);
  Result<ExprPtr> parse_primary();
  Status parse_log_range(LogRange& out);
  Result<ExprPtr> parse_range_aggregation(Func f);
  Result<ExprPtr> parse_vector_aggregation(Func f);
  Result<ExprPtr> parse_label_replace();
  Result<ExprPtr> parse_vector();
  Status parse_grouping(Grouping& out);
  Status parse_label_list(std::vector<std::string>& out);  // `( a, b )`, may be empty
  Status parse_bin_modifiers(BinaryOp& b);

  // ---- helpers ----
  const Token& cur() const { return toks_[p_]; }
  const Token& ahead(size_t k) const {
    return p_ + k < toks_.size() ? toks_[p_ + k] : toks_.back();
  }
  bool at(Tok k) const { return cur().kind == k; }
  bool accept(Tok k) {
    if (at(k)) {
      ++p_;
      return true;
    }
    return false;
  }
  Status expect(Tok k, std::string_view what);
  Status unexpected(std::string_view expecting = {}) const;
  Status error(const Token& t, std::string_view msg) const { return error_at(in_, t.pos, msg); }
  Status enter() {
    if (++depth_ > kMaxRecursion) {
      return error(cur(), "expression nested too deeply");
    }
    return {};
  }
  void leave() { --depth_; }

 private:
  std::string_view in_;
  std::vector<Token> toks_;
  size_t p_ = 0;
  int depth_ = 0;
};

inline bool match_op(Tok k, MatchOp& op) {
  switch (k) {
    case Tok::kEq: op = MatchOp::kEq; return true;
    case Tok::kNeq: op = MatchOp::kNeq; return true;
    case Tok::kRe: op = MatchOp::kRe; return true;
    case Tok::kNre: op = MatchOp::kNre; return true;
    default: return false;
  }
}

inline Str str_of(const Token& t) { return Str{t.str, t.raw}; }

// Does the matcher accept the empty string (Prometheus semantics, anchored regex)?
bool matches_empty(MatchOp op, const std::string& value);
// Does the pattern compile as an RE2 regex (Go syntax subset)?
bool regex_ok(const std::string& pattern, std::string* error);
bool valid_label_name(std::string_view s);

}  // namespace obsgate::filters::logql::detail
