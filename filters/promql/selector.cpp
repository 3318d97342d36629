// Selectors, label lists, literals, error reporting, and the parse entry points.
#include <re2/re2.h>

#include <cmath>
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

// Does the (fully anchored) regex match ""? Literal alternations -- what dashboards send
// after template expansion -- are answered without compiling; anything else compiles with RE2
// (which also validates it). Returns nullptr or an error message.
const char* regex_matches_empty(std::string_view re, bool& empty, std::string& err) {
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
  empty = false;
  for (size_t i = 0; i < re.size() && literal; ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 >= re.size()) {
        literal = false;
        break;
      }
      char n = re[++i];
      bool alnum = (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9');
      literal = !alnum && static_cast<unsigned char>(n) < 0x80;
      alt_empty = false;
    } else if (c == '|') {
      empty = empty || alt_empty;
      alt_empty = true;
    } else if (std::string_view(".^$*+?()[]{}").find(c) != std::string_view::npos) {
      literal = false;
    } else {
      alt_empty = false;
    }
  }
  if (literal) {
    empty = empty || alt_empty;
    return nullptr;
  }
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
  scratch_.clear();
  for (char c : t.text) {
    if (c != '_') {
      scratch_ += c;
    }
  }
  const std::string& s = scratch_;
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
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) {
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
  return failed_ ? kNoNode : ast_.add(n);
}

void Parser::check_selector(Node& vs, bool name_given, uint32_t name_pos) {
  uint32_t name_count = 0;
  uint32_t name_index = 0;
  bool non_empty = false;
  std::string err;
  for (uint32_t i = 0; i < vs.matchers.size; ++i) {
    const LabelMatcher& m = ast_.matchers(vs.matchers)[i];
    if (m.name == kMetricName) {
      ++name_count;
      name_index = i;
    }
    bool matches_empty = false;
    switch (m.op) {
      case MatchOp::kEq: matches_empty = m.value.empty(); break;
      case MatchOp::kNeq: matches_empty = !m.value.empty(); break;
      case MatchOp::kRe:
      case MatchOp::kNre: {
        bool empty = false;
        if (const char* e = regex_matches_empty(m.value, empty, err)) {
          fail(vs.pos, e);
          return;
        }
        matches_empty = m.op == MatchOp::kRe ? empty : !empty;
        break;
      }
    }
    non_empty = non_empty || !matches_empty;
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
