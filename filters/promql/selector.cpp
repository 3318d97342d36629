// Selectors, label lists, literals, error reporting, and the parse entry points.
#include <re2/re2.h>

#include <cmath>
#include <charconv>
#include <cstdlib>

#include "filters/promql/parser.h"

namespace obsgate::filters::promql {
namespace {

constexpr std::string_view kMetricName = "__name__";

bool ieq(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != lower_b[i]) {
      return false;
    }
  }
  return true;
}

bool match_op_of(Tok t, MatchOp& op) {
  switch (t) {
    case Tok::kEql: op = MatchOp::kEq; return true;
    case Tok::kNeq: op = MatchOp::kNeq; return true;
    case Tok::kEqlRegex: op = MatchOp::kRe; return true;
    case Tok::kNeqRegex: op = MatchOp::kNre; return true;
    default: return false;
  }
}

// Cheap answers for what dashboards send after template expansion: literal alternations,
// ".*", ".+", and patterns with an obviously non-empty literal prefix. `decided` is false when
// only RE2 can tell. Also rejects unbalanced brackets and a trailing backslash.
const char* regex_quick_check(std::string_view re, bool& decided, bool& empty) {
  decided = true;
  if (re == ".*") {
    empty = true;
    return nullptr;
  }
  if (re == ".+") {
    empty = false;
    return nullptr;
  }
  bool literal = true;
  bool alt_empty = true;
  int parens = 0;
  bool in_class = false;
  empty = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 >= re.size()) {
        return "error parsing regexp: trailing backslash at end of expression";
      }
      char n = re[++i];
      bool alnum = (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9');
      literal = literal && !alnum && static_cast<unsigned char>(n) < 0x80;
      alt_empty = false;
      continue;
    }
    if (in_class) {
      in_class = c != ']';
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        literal = false;
        // A leading ']' (or '^]') is a literal inside the class.
        if (i + 1 < re.size() && re[i + 1] == '^') {
          ++i;
        }
        if (i + 1 < re.size() && re[i + 1] == ']') {
          ++i;
        }
        break;
      case '(': ++parens; literal = false; break;
      case ')':
        if (--parens < 0) {
          return "error parsing regexp: unexpected )";
        }
        literal = false;
        break;
      case '|':
        empty = empty || alt_empty;
        alt_empty = true;
        break;
      case '.': case '^': case '$': case '*': case '+': case '?': case '{': case '}':
        literal = false;
        break;
      default: alt_empty = false; break;
    }
  }
  if (parens != 0) {
    return "error parsing regexp: missing closing )";
  }
  if (in_class) {
    return "error parsing regexp: missing closing ]";
  }
  if (literal) {
    empty = empty || alt_empty;
    return nullptr;
  }
  decided = false;
  return nullptr;
}

// The exact answer, compiling with RE2 (which also validates the syntax).
const char* regex_matches_empty(std::string_view re, bool& empty, std::string& err) {
  std::string pattern = "^(?s:";
  pattern.append(re);
  pattern += ")$";
  RE2 compiled(pattern, RE2::Quiet);
  if (!compiled.ok()) {
    err = "error parsing regexp: " + compiled.error();
    return err.c_str();
  }
  empty = RE2::FullMatch("", compiled);
  return nullptr;
}

}  // namespace

void Parser::advance() {
  cur_ = lex_.next();
  if (cur_.kind == Tok::kError) {
    fail(cur_.pos, cur_.error);
  }
}

Token Parser::peek() {
  Lexer copy = lex_;
  return copy.next();
}

bool Parser::expect(Tok k, const char* what, const char* context) {
  if (cur_.kind != k) {
    unexpected(context, what);
    return false;
  }
  advance();
  return !failed_;
}

void Parser::fail(uint32_t pos, std::string msg) {
  if (failed_) {
    return;
  }
  failed_ = true;
  err_pos_ = pos;
  err_ = std::move(msg);
}

std::string Parser::describe(const Token& t) const {
  switch (t.kind) {
    case Tok::kEof: return "end of input";
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier: return "identifier \"" + std::string(t.text) + "\"";
    case Tok::kNumber: return "number \"" + std::string(t.text) + "\"";
    case Tok::kDuration: return "duration \"" + std::string(t.text) + "\"";
    case Tok::kString: return "string " + std::string(t.text);
    default: return "\"" + std::string(t.text) + "\"";
  }
}

void Parser::unexpected(const char* context, const char* expected) {
  if (cur_.kind == Tok::kError) {
    fail(cur_.pos, cur_.error);
    return;
  }
  std::string msg = "unexpected " + describe(cur_);
  if (context != nullptr) {
    msg += " in ";
    msg += context;
  }
  if (expected != nullptr) {
    msg += ", expected ";
    msg += expected;
  }
  fail(cur_.pos, std::move(msg));
}

Status Parser::error_status() const {
  uint32_t line = 1;
  uint32_t line_start = 0;
  for (uint32_t i = 0; i < err_pos_ && i < src_.size(); ++i) {
    if (src_[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return Status::invalid_argument(std::to_string(line) + ":" +
                                  std::to_string(err_pos_ - line_start + 1) +
                                  ": parse error: " + err_);
}

bool Parser::unquote_token(const Token& t, std::string_view& out) {
  bool escaped = false;
  if (const char* err = unquote(t.text, scratch_, escaped)) {
    fail(t.pos, err);
    return false;
  }
  out = escaped ? ast_.intern(scratch_) : t.text.substr(1, t.text.size() - 2);
  return true;
}

// Prometheus: strconv.ParseInt(s, 0, 64) first (so 0x.. is hex, a leading 0 is octal), then
// ParseFloat. Inf/NaN words and durations (as seconds) are numbers too.
bool Parser::number_token(const Token& t, double& v) {
  if (t.kind == Tok::kIdentifier) {
    v = ieq(t.text, "nan") ? std::nan("") : HUGE_VAL;
    return true;
  }
  if (t.kind == Tok::kDuration) {
    int64_t ms = 0;
    if (const char* err = parse_duration(t.text, ms)) {
      fail(t.pos, err);
      return false;
    }
    v = static_cast<double>(ms) / 1000.0;
    return true;
  }
  std::string_view s = t.text;
  if (s.find('_') != std::string_view::npos) {
    scratch_.clear();
    for (char c : t.text) {
      if (c != '_') {
        scratch_ += c;
      }
    }
    s = scratch_;
  }
  auto all_of = [&](size_t from, auto pred) {
    for (size_t i = from; i < s.size(); ++i) {
      if (!pred(s[i])) {
        return false;
      }
    }
    return true;
  };
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    unsigned long long u = 0;
    for (size_t i = 2; i < s.size(); ++i) {
      char c = s[i];
      int d = (c >= '0' && c <= '9') ? c - '0' : ((c | 0x20) - 'a' + 10);
      if (u > (0x7fffffffffffffffULL - static_cast<unsigned>(d)) / 16) {
        fail(t.pos, "invalid number \"" + std::string(t.text) + "\"");
        return false;
      }
      u = u * 16 + static_cast<unsigned>(d);
    }
    v = static_cast<double>(u);
    return true;
  }
  if (s.size() > 1 && s[0] == '0' && all_of(1, [](char c) { return c >= '0' && c <= '7'; })) {
    unsigned long long u = 0;
    bool overflow = false;
    for (size_t i = 1; i < s.size(); ++i) {
      overflow = overflow || u > 0x0fffffffffffffffULL;
      u = u * 8 + static_cast<unsigned>(s[i] - '0');
    }
    if (!overflow) {
      v = static_cast<double>(u);
      return true;
    }
  }
  // from_chars: locale-independent, no copy. It rejects a leading '+', which the lexer never
  // produces, and parses the decimal forms the lexer accepts (".5", "5.", "1e3").
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // Go's ParseFloat: overflow is an error (ErrRange), underflow rounds to 0.
    const size_t e = s.find_first_of("eE");
    if (e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-') {
      v = 0.0;
      return true;
    }
    fail(t.pos, "error parsing number: value out of range");
    return false;
  }
  if (ec != std::errc() || end != s.data() + s.size()) {
    fail(t.pos, "invalid number \"" + std::string(t.text) + "\"");
    return false;
  }
  return true;
}

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
Result<Ast> run(std::string_view query, const ParseOptions& opts, F entry) {
  if (query.size() > opts.max_input_bytes) {
    return Status::resource_exhausted("query of " + std::to_string(query.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(opts.max_input_bytes));
  }
  Ast ast;
  ast.reserve(query.size());
  std::string_view src = ast.intern(query);
  Parser p(ast, src, opts);
  NodeId root = entry(p);
  if (p.failed()) {
    return p.error_status();
  }
  ast.set_root(root);
  return ast;
}

}  // namespace

Result<Ast> parse(std::string_view query, const ParseOptions& opts) {
  return run(query, opts, [](Parser& p) { return p.parse_top(); });
}

Result<Ast> parse_selector(std::string_view selector, const ParseOptions& opts) {
  return run(selector, opts, [](Parser& p) { return p.parse_selector(); });
}

}  // namespace obsgate::filters::promql
