// Vector selectors, label lists, and the parse entry points.
#include "filters/promql/parser.h"
#include "filters/promql/regex_check.h"

namespace obsgate::filters::promql {
namespace {

constexpr std::string_view kMetricName = "__name__";

bool match_op_of(Tok t, MatchOp& op) {
  switch (t) {
    case Tok::kEql: op = MatchOp::kEq; return true;
    case Tok::kNeq: op = MatchOp::kNeq; return true;
    case Tok::kEqlRegex: op = MatchOp::kRe; return true;
    case Tok::kNeqRegex: op = MatchOp::kNre; return true;
    default: return false;
  }
}

}  // namespace

Span Parser::parse_label_list(const char* context) {
  if (cur_.kind != Tok::kLParen) {
    unexpected(context, "\"(\"");
    return {};
  }
  advance();
  const uint32_t begin = ast_.label_count();
  while (!failed_ && cur_.kind != Tok::kRParen) {
    std::string_view label;
    if (cur_.kind == Tok::kString) {
      if (!unquote_token(cur_, label)) {
        return {};
      }
      if (label.empty() || !valid_utf8(label)) {
        fail(cur_.pos, "invalid label name");
        return {};
      }
    } else if (cur_.kind == Tok::kIdentifier || is_word_keyword(cur_.kind)) {
      label = cur_.text;
    } else {
      unexpected(context, "label");
      return {};
    }
    ast_.push_label(label);
    advance();
    if (cur_.kind == Tok::kComma) {
      advance();
    } else if (cur_.kind != Tok::kRParen) {
      unexpected(context, "\",\" or \")\"");
      return {};
    }
  }
  if (failed_) {
    return {};
  }
  advance();
  return Span{begin, ast_.label_count() - begin};
}

NodeId Parser::parse_vector_selector(bool named) {
  Node n;
  n.kind = NodeKind::kVectorSelector;
  n.pos = cur_.pos;
  const uint32_t begin = ast_.matcher_count();
  bool name_given = false;
  uint32_t name_pos = cur_.pos;
  if (named) {
    ast_.push_matcher(LabelMatcher{kMetricName, MatchOp::kEq, cur_.text});
    name_given = true;
    advance();
  }
  if (!failed_ && cur_.kind == Tok::kLBrace) {
    advance();
    while (!failed_ && cur_.kind != Tok::kRBrace) {
      LabelMatcher m;
      const Token first = cur_;
      if (first.kind == Tok::kString) {
        if (!unquote_token(first, m.name)) {
          return kNoNode;
        }
        advance();
        if (!failed_ && !match_op_of(cur_.kind, m.op)) {
          // A bare string: the metric name (Prometheus 3).
          if (name_given) {
            fail(first.pos, "metric name must not be set twice");
            return kNoNode;
          }
          name_given = true;
          name_pos = first.pos;
          ast_.push_matcher(LabelMatcher{kMetricName, MatchOp::kEq, m.name});
          if (cur_.kind == Tok::kComma) {
            advance();
          } else if (cur_.kind != Tok::kRBrace) {
            unexpected("label matching", "\",\" or \"}\"");
          }
          continue;
        }
        if (m.name.empty() || !valid_utf8(m.name)) {
          fail(first.pos, "invalid label name");
          return kNoNode;
        }
      } else if (first.kind == Tok::kIdentifier || is_word_keyword(first.kind)) {
        m.name = first.text;
        advance();
      } else {
        unexpected("label matching", "identifier or \"}\"");
        return kNoNode;
      }
      if (failed_) {
        return kNoNode;
      }
      if (!match_op_of(cur_.kind, m.op)) {
        unexpected("label matching", "label matching operator");
        return kNoNode;
      }
      advance();
      if (failed_ || cur_.kind != Tok::kString) {
        unexpected("label matching", "string");
        return kNoNode;
      }
      if (!unquote_token(cur_, m.value)) {
        return kNoNode;
      }
      ast_.push_matcher(m);
      advance();
      if (cur_.kind == Tok::kComma) {
        advance();
      } else if (cur_.kind != Tok::kRBrace) {
        unexpected("label matching", "\",\" or \"}\"");
      }
    }
    if (failed_) {
      return kNoNode;
    }
    advance();
  }
  if (failed_) {
    return kNoNode;
  }
  n.matchers = Span{begin, ast_.matcher_count() - begin};
  check_selector(n, name_given, name_pos);
  return failed_ ? kNoNode : add_node(n);
}

void Parser::check_selector(Node& vs, bool name_given, uint32_t name_pos) {
  uint32_t name_count = 0;
  uint32_t name_index = 0;
  bool non_empty = false;
  bool pending_regex = false;  // a regex whose empty-match answer needs RE2
  std::string err;
  for (uint32_t i = 0; i < vs.matchers.size; ++i) {
    const LabelMatcher& m = ast_.matchers(vs.matchers)[i];
    if (m.name == kMetricName) {
      ++name_count;
      name_index = i;
    }
    switch (m.op) {
      case MatchOp::kEq: non_empty = non_empty || !m.value.empty(); break;
      case MatchOp::kNeq: non_empty = non_empty || m.value.empty(); break;
      case MatchOp::kRe:
      case MatchOp::kNre: {
        bool empty = false;
        bool decided = false;
        if (const char* e = regex_quick_check(m.value, decided, empty)) {
          fail(vs.pos, e);
          return;
        }
        if (decided) {
          non_empty = non_empty || (m.op == MatchOp::kRe ? !empty : empty);
        } else {
          pending_regex = true;
        }
        break;
      }
    }
  }
  // Compiling a regex costs microseconds, so RE2 runs only when its answer decides the
  // non-empty rule (no other matcher already does). Syntax errors in other regexes are left to
  // Prometheus, which rejects them: the gateway's narrowing does not depend on them.
  for (uint32_t i = 0; pending_regex && !non_empty && i < vs.matchers.size; ++i) {
    const LabelMatcher& m = ast_.matchers(vs.matchers)[i];
    if (m.op != MatchOp::kRe && m.op != MatchOp::kNre) {
      continue;
    }
    bool empty = false;
    if (const char* e = regex_matches_empty(m.value, empty, err)) {
      fail(vs.pos, e);
      return;
    }
    non_empty = m.op == MatchOp::kRe ? !empty : empty;
  }
  if (name_given && name_count > 1) {
    fail(name_pos, "metric name must not be set twice");
    return;
  }
  if (!non_empty) {
    fail(vs.pos, "vector selector must contain at least one non-empty matcher");
    return;
  }
  // Canonical form: a lone `__name__=` matcher goes first (the printer prints it as a prefix).
  if (name_count == 1 && name_index != 0 &&
      ast_.matchers(vs.matchers)[name_index].op == MatchOp::kEq) {
    LabelMatcher name = ast_.matchers(vs.matchers)[name_index];
    for (uint32_t i = name_index; i > 0; --i) {
      ast_.matcher_at(vs.matchers.begin + i) = ast_.matcher_at(vs.matchers.begin + i - 1);
    }
    ast_.matcher_at(vs.matchers.begin) = name;
  }
}

NodeId Parser::parse_selector() {
  NodeId e = kNoNode;
  if (cur_.kind == Tok::kLBrace) {
    e = parse_vector_selector(false);
  } else if (cur_.kind == Tok::kIdentifier || cur_.kind == Tok::kMetricIdentifier ||
             is_word_keyword(cur_.kind)) {
    e = parse_vector_selector(true);
  } else {
    unexpected(nullptr, "vector selector");
  }
  if (!failed_ && cur_.kind != Tok::kEof) {
    unexpected(nullptr, nullptr);
  }
  return failed_ ? kNoNode : e;
}

namespace {

template <typename F>
Status run_into(std::string_view query, Ast& ast, const ParseOptions& opts, F entry) {
  ast.clear();
  if (query.size() > opts.max_input_bytes) {
    return Status::resource_exhausted("query of " + std::to_string(query.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(opts.max_input_bytes));
  }
  ast.reserve(query.size());
  std::string_view src = ast.intern(query);
  Parser p(ast, src, opts);
  NodeId root = entry(p);
  if (p.failed()) {
    Status st = p.error_status();
    ast.clear();
    return st;
  }
  ast.set_root(root);
  return Status();
}

template <typename F>
Result<Ast> run(std::string_view query, const ParseOptions& opts, F entry) {
  Ast ast;
  if (Status st = run_into(query, ast, opts, entry); !st.ok()) {
    return st;
  }
  return ast;
}

}  // namespace

Result<Ast> parse(std::string_view query, const ParseOptions& opts) {
  return run(query, opts, [](Parser& p) { return p.parse_top(); });
}

Status parse_into(std::string_view query, Ast& ast, const ParseOptions& opts) {
  return run_into(query, ast, opts, [](Parser& p) { return p.parse_top(); });
}

Result<Ast> parse_selector(std::string_view selector, const ParseOptions& opts) {
  return run(selector, opts, [](Parser& p) { return p.parse_selector(); });
}

}  // namespace obsgate::filters::promql
