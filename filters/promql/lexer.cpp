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

int hex_value(char c) {
  if (is_digit(c)) {
    return c - '0';
  }
  return lower(c) - 'a' + 10;
}

void append_utf8(std::string& out, uint32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t r = 0;
    uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1, r = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, r = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, r = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      r = (r << 6) | (cc & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool is_legacy_label_name(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!is_alnum(c)) {
      return false;
    }
  }
  return true;
}

bool is_legacy_metric_name(std::string_view s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == ':')) {
    return false;
  }
  for (char c : s) {
    if (!is_alnum(c) && c != ':') {
      return false;
    }
  }
  return true;
}

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
    case '[': return one(Tok::kLBracket);
    case ']': return one(Tok::kRBracket);
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
      if (is_alpha(n) || n == ':') {
        return word(start);
      }
      return one(Tok::kColon);
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

const char* unquote(std::string_view tok, std::string& out, bool& has_escapes) {
  out.clear();
  has_escapes = false;
  const char quote = tok.front();
  std::string_view body = tok.substr(1, tok.size() - 2);
  if (quote == '`' || body.find('\\') == std::string_view::npos) {
    return nullptr;  // the caller uses body as is
  }
  has_escapes = true;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) {
      return "unterminated escape sequence";
    }
    char e = body[i];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"':
      case '\'':
        if (e != quote) {
          return "unknown escape sequence";
        }
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t len = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (i + len >= body.size()) {
          return "illegal character in escape sequence";
        }
        uint32_t v = 0;
        for (size_t k = 1; k <= len; ++k) {
          if (!is_hex(body[i + k])) {
            return "illegal character in escape sequence";
          }
          v = v * 16 + static_cast<uint32_t>(hex_value(body[i + k]));
        }
        i += len;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            return "escape sequence is an invalid Unicode code point";
          }
          append_utf8(out, v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 >= body.size()) {
            return "illegal character in escape sequence";
          }
          uint32_t v = 0;
          for (size_t k = 0; k < 3; ++k) {
            char d = body[i + k];
            if (d < '0' || d > '7') {
              return "illegal character in escape sequence";
            }
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          if (v > 255) {
            return "octal escape value > 255";
          }
          i += 2;
          out += static_cast<char>(v);
          break;
        }
        return "unknown escape sequence";
    }
  }
  return nullptr;
}

const char* parse_duration(std::string_view s, int64_t& ms) {
  // Units in the only order allowed: y w d h m s ms.
  constexpr int64_t kUnitMs[] = {365LL * 86400000, 7LL * 86400000, 86400000, 3600000, 60000,
                                 1000, 1};
  int last = -1;
  ms = 0;
  size_t i = 0;
  if (s.empty()) {
    return "empty duration string";
  }
  while (i < s.size()) {
    size_t d0 = i;
    while (i < s.size() && is_digit(s[i])) {
      ++i;
    }
    if (i == d0) {
      return "not a valid duration string";
    }
    int64_t v = 0;
    for (size_t k = d0; k < i; ++k) {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return "duration out of range";
      }
      v = v * 10 + (s[k] - '0');
    }
    size_t u0 = i;
    while (i < s.size() && !is_digit(s[i])) {
      ++i;
    }
    std::string_view unit = s.substr(u0, i - u0);
    int idx = -1;
    constexpr std::string_view kUnits[] = {"y", "w", "d", "h", "m", "s", "ms"};
    for (int k = 0; k < 7; ++k) {
      if (unit == kUnits[k]) {
        idx = k;
      }
    }
    if (idx < 0) {
      return unit.empty() ? "missing unit in duration" : "unknown unit in duration";
    }
    if (idx <= last) {
      return "not a valid duration string";
    }
    last = idx;
    if (v > std::numeric_limits<int64_t>::max() / kUnitMs[idx] ||
        ms > std::numeric_limits<int64_t>::max() - v * kUnitMs[idx]) {
      return "duration out of range";
    }
    ms += v * kUnitMs[idx];
  }
  return nullptr;
}

}  // namespace obsgate::filters::promql
