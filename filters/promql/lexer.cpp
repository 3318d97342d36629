#include "filters/promql/lexer.h"

#include <limits>

namespace obsgate::filters::promql {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_unit_start(char c) {
  return c == 'y' || c == 'w' || c == 'd' || c == 'h' || c == 'm' || c == 's';
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct Keyword {
  std::string_view word;
  Tok tok;
  AggOp agg;
};

constexpr Keyword kKeywords[] = {
    {"and", Tok::kAnd, AggOp::kSum},
    {"or", Tok::kOr, AggOp::kSum},
    {"unless", Tok::kUnless, AggOp::kSum},
    {"atan2", Tok::kAtan2, AggOp::kSum},
    {"offset", Tok::kOffset, AggOp::kSum},
    {"by", Tok::kBy, AggOp::kSum},
    {"without", Tok::kWithout, AggOp::kSum},
    {"on", Tok::kOn, AggOp::kSum},
    {"ignoring", Tok::kIgnoring, AggOp::kSum},
    {"group_left", Tok::kGroupLeft, AggOp::kSum},
    {"group_right", Tok::kGroupRight, AggOp::kSum},
    {"bool", Tok::kBool, AggOp::kSum},
    {"anchored", Tok::kAnchored, AggOp::kSum},
    {"smoothed", Tok::kSmoothed, AggOp::kSum},
    {"sum", Tok::kAggregator, AggOp::kSum},
    {"avg", Tok::kAggregator, AggOp::kAvg},
    {"count", Tok::kAggregator, AggOp::kCount},
    {"min", Tok::kAggregator, AggOp::kMin},
    {"max", Tok::kAggregator, AggOp::kMax},
    {"group", Tok::kAggregator, AggOp::kGroup},
    {"stddev", Tok::kAggregator, AggOp::kStddev},
    {"stdvar", Tok::kAggregator, AggOp::kStdvar},
    {"topk", Tok::kAggregator, AggOp::kTopk},
    {"bottomk", Tok::kAggregator, AggOp::kBottomk},
    {"quantile", Tok::kAggregator, AggOp::kQuantile},
    {"count_values", Tok::kAggregator, AggOp::kCountValues},
    {"limitk", Tok::kAggregator, AggOp::kLimitk},
    {"limit_ratio", Tok::kAggregator, AggOp::kLimitRatio},
};

}  // namespace

bool is_word_keyword(Tok t) { return t >= Tok::kAnd; }

Token Lexer::next() {
  // Skip whitespace and comments.
  while (i_ < src_.size()) {
    char c = src_[i_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i_;
    } else if (c == '#') {
      while (i_ < src_.size() && src_[i_] != '\n') {
        ++i_;
      }
    } else {
      break;
    }
  }
  const uint32_t start = i_;
  if (i_ >= src_.size()) {
    return make(Tok::kEof, start);
  }
  const char c = src_[i_];
  const char n = i_ + 1 < src_.size() ? src_[i_ + 1] : '\0';
  auto one = [&](Tok k) {
    ++i_;
    return make(k, start);
  };
  auto two = [&](Tok k) {
    i_ += 2;
    return make(k, start);
  };
  switch (c) {
    case '{': return one(Tok::kLBrace);
    case '}': return one(Tok::kRBrace);
    case '(': return one(Tok::kLParen);
    case ')': return one(Tok::kRParen);
    case '[':
      bracket_open_ = true;
      return one(Tok::kLBracket);
    case ']':
      bracket_open_ = false;
      return one(Tok::kRBracket);
    case ',': return one(Tok::kComma);
    case '@': return one(Tok::kAt);
    case '+': return one(Tok::kAdd);
    case '-': return one(Tok::kSub);
    case '*': return one(Tok::kMul);
    case '/': return one(Tok::kDiv);
    case '%': return one(Tok::kMod);
    case '^': return one(Tok::kPow);
    case '=':
      if (n == '=') {
        return two(Tok::kEqlc);
      }
      if (n == '~') {
        return two(Tok::kEqlRegex);
      }
      return one(Tok::kEql);
    case '!':
      if (n == '=') {
        return two(Tok::kNeq);
      }
      if (n == '~') {
        return two(Tok::kNeqRegex);
      }
      ++i_;
      return error(start, "unexpected character after '!'");
    case '<':
      if (n == '=') {
        return two(Tok::kLte);
      }
      if (n == '/') {
        return two(Tok::kTrimUpper);
      }
      return one(Tok::kLss);
    case '>':
      if (n == '=') {
        return two(Tok::kGte);
      }
      if (n == '/') {
        return two(Tok::kTrimLower);
      }
      return one(Tok::kGtr);
    case '"':
    case '\'':
    case '`': return lex_string(start, c);
    case ':':
      // As in Prometheus: a colon inside [...] separates a subquery's range and step; anywhere
      // else it starts a metric identifier (":", ":1" and "::" are metric names).
      if (bracket_open_) {
        return one(Tok::kColon);
      }
      return word(start);
    default: break;
  }
  if (is_digit(c) || (c == '.' && is_digit(n))) {
    return lex_number(start);
  }
  if (is_alpha(c)) {
    return word(start);
  }
  ++i_;
  return error(start, "unexpected character");
}

Token Lexer::word(uint32_t start) {
  bool colon = false;
  while (i_ < src_.size() && (is_alnum(src_[i_]) || src_[i_] == ':')) {
    colon = colon || src_[i_] == ':';
    ++i_;
  }
  Token t = make(colon ? Tok::kMetricIdentifier : Tok::kIdentifier, start);
  if (!colon && t.text.size() <= 12) {
    char buf[12];
    for (size_t k = 0; k < t.text.size(); ++k) {
      buf[k] = lower(t.text[k]);
    }
    std::string_view low(buf, t.text.size());
    for (const Keyword& kw : kKeywords) {
      if (kw.word[0] == low[0] && kw.word == low) {
        t.kind = kw.tok;
        t.agg = kw.agg;
        break;
      }
    }
  }
  return t;
}

// Digits with single '_' separators between digits; returns false on a misplaced '_'.
static bool scan_digits(std::string_view s, uint32_t& i, bool hex) {
  bool prev_digit = false;
  while (i < s.size()) {
    char c = s[i];
    if (hex ? is_hex(c) : is_digit(c)) {
      prev_digit = true;
      ++i;
    } else if (c == '_') {
      if (!prev_digit || i + 1 >= s.size() || !(hex ? is_hex(s[i + 1]) : is_digit(s[i + 1]))) {
        return false;
      }
      prev_digit = false;
      ++i;
    } else {
      break;
    }
  }
  return true;
}

Token Lexer::lex_number(uint32_t start) {
  const char* bad = "bad number or duration syntax";
  auto finish_bad = [&]() {
    while (i_ < src_.size() && (is_alnum(src_[i_]) || src_[i_] == '.')) {
      ++i_;
    }
    return error(start, bad);
  };
  if (src_[i_] == '0' && i_ + 1 < src_.size() && (src_[i_ + 1] == 'x' || src_[i_ + 1] == 'X')) {
    i_ += 2;
    uint32_t digits_start = i_;
    if (!scan_digits(src_, i_, true) || i_ == digits_start || src_[digits_start] == '_') {
      return finish_bad();
    }
    if (i_ < src_.size() && (is_alnum(src_[i_]) || src_[i_] == '.')) {
      return finish_bad();
    }
    return make(Tok::kNumber, start);
  }
  bool integer = true;
  if (!scan_digits(src_, i_, false)) {
    return finish_bad();
  }
  if (i_ < src_.size() && src_[i_] == '.') {
    integer = false;
    ++i_;
    if (i_ < src_.size() && src_[i_] == '_') {
      return finish_bad();
    }
    if (!scan_digits(src_, i_, false)) {
      return finish_bad();
    }
  }
  if (i_ < src_.size() && (src_[i_] == 'e' || src_[i_] == 'E')) {
    integer = false;
    ++i_;
    if (i_ < src_.size() && (src_[i_] == '+' || src_[i_] == '-')) {
      ++i_;
    }
    if (i_ >= src_.size() || !is_digit(src_[i_]) || !scan_digits(src_, i_, false)) {
      return finish_bad();
    }
  }
  if (integer && i_ < src_.size() && is_unit_start(src_[i_])) {
    // A duration: the whole alphanumeric run, validated unit by unit.
    while (i_ < src_.size() && is_alnum(src_[i_])) {
      ++i_;
    }
    Token t = make(Tok::kDuration, start);
    int64_t ms = 0;
    if (const char* err = parse_duration(t.text, ms)) {
      return error(start, err);
    }
    return t;
  }
  if (i_ < src_.size() && (is_alnum(src_[i_]) || src_[i_] == '.')) {
    return finish_bad();
  }
  return make(Tok::kNumber, start);
}

Token Lexer::lex_string(uint32_t start, char quote) {
  ++i_;
  while (i_ < src_.size()) {
    char c = src_[i_];
    if (c == quote) {
      ++i_;
      Token t = make(Tok::kString, start);
      if (!valid_utf8(t.text)) {
        return error(start, "invalid UTF-8 rune");
      }
      return t;
    }
    if (quote != '`') {
      if (c == '\n') {
        break;
      }
      if (c == '\\' && i_ + 1 < src_.size()) {
        ++i_;
      }
    }
    ++i_;
  }
  i_ = static_cast<uint32_t>(src_.size());
  return error(start, quote == '`' ? "unterminated raw string" : "unterminated quoted string");
}

}  // namespace obsgate::filters::promql
