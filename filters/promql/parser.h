// Internal: the recursive-descent / precedence-climbing PromQL parser. Errors stop the parse at
// the first problem (Prometheus collects several; the first one is what users act on).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "filters/promql/ast.h"
#include "filters/promql/lexer.h"
#include "filters/promql/promql.h"

namespace obsgate::filters::promql {

class Parser {
 public:
  Parser(Ast& ast, std::string_view src, const ParseOptions& opts)
      : ast_(ast), src_(src), lex_(src), opts_(opts) {
    advance();
  }

  NodeId parse_top();       // a full expression, then end of input
  NodeId parse_selector();  // a vector selector, then end of input
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] Status error_status() const;

 private:
  // parser.cpp: expressions.
  NodeId parse_expr(int min_prec);
  NodeId parse_unary();
  NodeId parse_primary();
  NodeId parse_postfix(NodeId e);
  NodeId parse_call();
  NodeId parse_aggregate();
  void parse_bin_modifiers(Node& bn);
  NodeId finish_binary(Node& bn, uint32_t op_pos);
  void parse_range_or_subquery(NodeId& e);
  void parse_offset(NodeId e);
  void parse_at(NodeId e);
  bool duration_token(int64_t& ms, bool allow_sign);
  void check_call(NodeId call);

  // selector.cpp: selectors, label lists, literals.
  NodeId parse_vector_selector(bool named);
  Span parse_label_list(const char* context);
  bool unquote_token(const Token& t, std::string_view& out);
  bool number_token(const Token& t, double& v);
  void check_selector(Node& vs, bool name_given, uint32_t name_pos);

  // Helpers.
  NodeId add_node(const Node& n);  // ast_.add + the tree-height limit
  void advance();
  Token peek();
  bool expect(Tok k, const char* what, const char* context);
  void fail(uint32_t pos, std::string msg);
  void unexpected(const char* context, const char* expected);
  std::string describe(const Token& t) const;

  Ast& ast_;
  std::string_view src_;
  Lexer lex_;
  const ParseOptions& opts_;
  Token cur_;
  int depth_ = 0;
  bool failed_ = false;
  uint32_t err_pos_ = 0;
  std::string err_;
  std::string scratch_;
  std::vector<NodeId> arg_stack_;
};

}  // namespace obsgate::filters::promql
