#include "filters/logql/lexer.h"

#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {
namespace {

// unicode.IsSpace (ASCII part): where Loki's lookahead stops.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
// text/scanner's GoWhitespace: what separates tokens.
bool is_go_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ident(char c) { return is_ident_start(c) || is_digit(c); }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_duration_rune(char c) {
  return c == 'n' || c == 'u' || c == 'm' || c == 's' || c == 'h' || c == 'd' || c == 'w' ||
         c == 'y';
}
bool is_bytes_rune(char c) {
  return c == 'B' || c == 'i' || c == 'k' || c == 'K' || c == 'M' || c == 'G' || c == 'T' ||
         c == 'P';
}

struct Word {
  std::string_view name;
  Tok tok;
};
constexpr Word kKeywords[] = {
    {"by", Tok::kBy},
    {"without", Tok::kWithout},
    {"bool", Tok::kBool},
    {"offset", Tok::kOffset},
    {"on", Tok::kOn},
    {"ignoring", Tok::kIgnoring},
    {"group_left", Tok::kGroupLeft},
    {"group_right", Tok::kGroupRight},
    {"or", Tok::kOr},
    {"and", Tok::kAnd},
    {"unless", Tok::kUnless},
    {"json", Tok::kJson},
    {"regexp", Tok::kRegexp},
    {"logfmt", Tok::kLogfmt},
    {"unpack", Tok::kUnpack},
    {"pattern", Tok::kPattern},
    {"label_format", Tok::kLabelFmt},
    {"line_format", Tok::kLineFmt},
    {"decolorize", Tok::kDecolorize},
    {"drop", Tok::kDrop},
    {"keep", Tok::kKeep},
    {"unwrap", Tok::kUnwrap},
};

struct FuncWord {
  std::string_view name;
  Func func;
};

// Lower-cases a word that could be a keyword (they are all shorter than 20 bytes) into buf.
std::string_view lower_word(std::string_view w, char (&buf)[24]) {
  if (w.size() >= sizeof(buf)) {
    return {};
  }
  for (size_t i = 0; i < w.size(); ++i) {
    const char c = w[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {buf, w.size()};
}
constexpr FuncWord kFuncs[] = {
    {"count_over_time", Func::kCountOverTime},
    {"rate", Func::kRate},
    {"rate_counter", Func::kRateCounter},
    {"bytes_over_time", Func::kBytesOverTime},
    {"bytes_rate", Func::kBytesRate},
    {"avg_over_time", Func::kAvgOverTime},
    {"sum_over_time", Func::kSumOverTime},
    {"min_over_time", Func::kMinOverTime},
    {"max_over_time", Func::kMaxOverTime},
    {"stdvar_over_time", Func::kStdvarOverTime},
    {"stddev_over_time", Func::kStddevOverTime},
    {"quantile_over_time", Func::kQuantileOverTime},
    {"first_over_time", Func::kFirstOverTime},
    {"last_over_time", Func::kLastOverTime},
    {"absent_over_time", Func::kAbsentOverTime},
    {"sum", Func::kSum},
    {"avg", Func::kAvg},
    {"count", Func::kCount},
    {"max", Func::kMax},
    {"min", Func::kMin},
    {"stddev", Func::kStddev},
    {"stdvar", Func::kStdvar},
    {"bottomk", Func::kBottomk},
    {"topk", Func::kTopk},
    {"sort", Func::kSort},
    {"sort_desc", Func::kSortDesc},
    {"approx_topk", Func::kApproxTopk},
    {"label_replace", Func::kLabelReplace},
    {"vector", Func::kVector},
    {"bytes", Func::kBytesConv},
    {"duration", Func::kDurationConv},
    {"duration_seconds", Func::kDurationSecondsConv},
    {"ip", Func::kIp},
};

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    out.reserve(in_.size() / 3 + 2);
    while (true) {
      skip_space_and_comments();
      Token t;
      t.pos = static_cast<uint32_t>(i_);
      if (i_ >= in_.size()) {
        out.push_back(std::move(t));
        return out;
      }
      Status st = next(t);
      if (!st.ok()) {
        return st;
      }
      t.text = in_.substr(t.pos, i_ - t.pos);
      out.push_back(std::move(t));
    }
  }

 private:
  char peek(size_t k = 0) const { return i_ + k < in_.size() ? in_[i_ + k] : '\0'; }

  void skip_space_and_comments() {
    while (i_ < in_.size()) {
      if (is_go_ws(in_[i_])) {
        ++i_;
      } else if (in_[i_] == '#') {
        while (i_ < in_.size() && in_[i_] != '\n') {
          ++i_;
        }
      } else {
        return;
      }
    }
  }

  Status fail(std::string_view msg) const {
    return error_at(in_, static_cast<uint32_t>(start_), msg);
  }

  // Loki's isFunction: after spaces, `(`, or `by`/`without` then spaces then `(`.
  bool followed_by_call(size_t j) const {
    while (j < in_.size() && is_space(in_[j])) {
      ++j;
    }
    if (j < in_.size() && in_[j] == '(') {
      return true;
    }
    for (std::string_view w : {std::string_view("by"), std::string_view("without")}) {
      char buf[24];
      if (j + w.size() <= in_.size() && lower_word(in_.substr(j, w.size()), buf) == w) {
        size_t k = j + w.size();
        while (k < in_.size() && is_space(in_[k])) {
          ++k;
        }
        return k < in_.size() && in_[k] == '(';
      }
    }
    return false;
  }

  // Runes after a number that may continue it as a duration or a byte size (Loki scans up to
  // the next space). `micro` allows the two-byte µ sign.
  size_t scan_suffix(size_t j, bool duration) const {
    while (j < in_.size() && !is_space(in_[j])) {
      const char c = in_[j];
      if (is_digit(c) || c == '.' || (duration ? is_duration_rune(c) : is_bytes_rune(c))) {
        ++j;
      } else if (duration && c == '\xC2' && j + 1 < in_.size() && in_[j + 1] == '\xB5') {
        j += 2;
      } else {
        break;
      }
    }
    return j;
  }

  // After a number (or a lone '-') spanning [start_, i_): a duration, a byte size, or neither.
  bool try_unit(Token& t, bool allow_bytes) {
    const size_t d_end = scan_suffix(i_, true);
    if (d_end > i_) {
      if (auto d = parse_duration(in_.substr(start_, d_end - start_))) {
        t.kind = Tok::kDuration;
        t.dur = *d;
        i_ = d_end;
        return true;
      }
    }
    if (!allow_bytes) {
      return false;
    }
    const size_t b_end = scan_suffix(i_, false);
    if (b_end > i_) {
      if (auto b = parse_bytes(in_.substr(start_, b_end - start_))) {
        t.kind = Tok::kBytes;
        t.bytes = *b;
        i_ = b_end;
        return true;
      }
    }
    return false;
  }

  Status number(Token& t) {
    if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X' || peek(1) == 'b' || peek(1) == 'B' ||
                          peek(1) == 'o' || peek(1) == 'O')) {
      return fail("invalid number: only decimal literals are supported");
    }
    while (is_digit(peek())) {
      ++i_;
    }
    if (peek() == '.') {
      ++i_;
      while (is_digit(peek())) {
        ++i_;
      }
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
      i_ += 2;
      while (is_digit(peek())) {
        ++i_;
      }
    }
    t.text = in_.substr(start_, i_ - start_);
    if (try_unit(t, true)) {
      t.text = in_.substr(start_, i_ - start_);
      return {};
    }
    t.kind = Tok::kNumber;
    return {};
  }

  Status string_lit(Token& t) {
    const char q = in_[i_];
    size_t j = i_ + 1;
    if (q == '`') {
      while (j < in_.size() && in_[j] != '`') {
        ++j;
      }
      if (j >= in_.size()) {
        return fail("literal not terminated");
      }
      t.str.assign(in_.substr(i_ + 1, j - i_ - 1));
      t.raw = true;
    } else {
      while (j < in_.size() && in_[j] != '"' && in_[j] != '\n') {
        j += (in_[j] == '\\') ? 2 : 1;
      }
      if (j >= in_.size() || in_[j] != '"') {
        return fail("literal not terminated");
      }
      auto v = unquote(in_.substr(i_, j - i_ + 1));
      if (!v) {
        return fail("invalid syntax in string literal");
      }
      t.str = std::move(*v);
    }
    if (!valid_utf8(in_.substr(i_, j - i_ + 1))) {
      return fail("invalid UTF-8 rune");
    }
    t.kind = Tok::kString;
    i_ = j + 1;
    return {};
  }

  Status range(Token& t) {
    const size_t close = in_.find(']', i_ + 1);
    if (close == std::string_view::npos) {
      return fail("missing closing ']' in duration");
    }
    auto d = parse_model_duration(in_.substr(i_ + 1, close - i_ - 1));
    if (!d) {
      return fail("not a valid duration string: \"" +
                  std::string(in_.substr(i_ + 1, close - i_ - 1)) + "\"");
    }
    t.kind = Tok::kRange;
    t.dur = *d;
    i_ = close + 1;
    return {};
  }

  Status word(Token& t) {
    while (is_ident(peek())) {
      ++i_;
    }
    t.text = in_.substr(start_, i_ - start_);
    char buf[24];
    const std::string_view lw = lower_word(t.text, buf);
    if (lw.empty()) {
      t.kind = Tok::kIdent;
      return {};
    }
    for (const FuncWord& f : kFuncs) {
      if (lw == f.name) {
        if (followed_by_call(i_)) {
          t.kind = Tok::kFunc;
          t.func = f.func;
        } else {
          t.kind = Tok::kIdent;
        }
        return {};
      }
    }
    for (const Word& w : kKeywords) {
      if (lw == w.name) {
        t.kind = w.tok;
        return {};
      }
    }
    t.kind = Tok::kIdent;
    return {};
  }

  Status next(Token& t) {
    start_ = i_;
    const char c = in_[i_];
    const char n = peek(1);
    if (is_digit(c) || (c == '.' && is_digit(n))) {
      return number(t);
    }
    if (is_ident_start(c)) {
      return word(t);
    }
    if (c == '"' || c == '`') {
      return string_lit(t);
    }
    if (c == '[') {
      return range(t);
    }
    auto two = [&](Tok k) {
      t.kind = k;
      i_ += 2;
      return Status();
    };
    auto one = [&](Tok k) {
      t.kind = k;
      i_ += 1;
      return Status();
    };
    switch (c) {
      case '-': {
        if (n == '-') {
          size_t j = i_ + 1;
          while (j < in_.size() && (is_letter(in_[j]) || in_[j] == '-')) {
            ++j;
          }
          std::string_view flag = in_.substr(i_, j - i_);
          if (flag == "--strict" || flag == "--keep-empty") {
            t.kind = Tok::kFlag;
            t.text = flag;
            i_ = j;
            return {};
          }
        }
        ++i_;
        if (try_unit(t, false)) {
          t.text = in_.substr(start_, i_ - start_);
          return {};
        }
        t.kind = Tok::kSub;
        return {};
      }
      case '!':
        if (n == '=') return two(Tok::kNeq);
        if (n == '~') return two(Tok::kNre);
        if (n == '>') return two(Tok::kNpa);
        break;
      case '|':
        if (n == '=') return two(Tok::kPipeExact);
        if (n == '~') return two(Tok::kPipeMatch);
        if (n == '>') return two(Tok::kPipePattern);
        return one(Tok::kPipe);
      case '=':
        if (n == '~') return two(Tok::kRe);
        if (n == '=') return two(Tok::kCmpEq);
        return one(Tok::kEq);
      case '>':
        if (n == '=') return two(Tok::kGte);
        return one(Tok::kGt);
      case '<':
        if (n == '=') return two(Tok::kLte);
        return one(Tok::kLt);
      case ',': return one(Tok::kComma);
      case '.': return one(Tok::kDot);
      case '{': return one(Tok::kLBrace);
      case '}': return one(Tok::kRBrace);
      case '(': return one(Tok::kLParen);
      case ')': return one(Tok::kRParen);
      case ']': return one(Tok::kRBracket);
      case '+': return one(Tok::kAdd);
      case '*': return one(Tok::kMul);
      case '/': return one(Tok::kDiv);
      case '%': return one(Tok::kMod);
      case '^': return one(Tok::kPow);
      default: break;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return fail("unexpected non-ASCII character (only ASCII identifiers are supported)");
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  std::string_view in_;
  size_t i_ = 0;
  size_t start_ = 0;
};

}  // namespace

Result<std::vector<Token>> lex(std::string_view input) { return Lexer(input).run(); }

Status error_at(std::string_view input, uint32_t pos, std::string_view msg) {
  int line = 1;
  int col = 1;
  for (size_t i = 0; i < pos && i < input.size(); ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    if (c == '\n') {
      ++line;
      col = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++col;  // count runes, not bytes
    }
  }
  std::string m =
      "parse error at line " + std::to_string(line) + ", col " + std::to_string(col) + ": ";
  m += msg;
  return Status::invalid_argument(std::move(m));
}

bool is_keyword(std::string_view word) {
  char buf[24];
  const std::string_view lw = lower_word(word, buf);
  if (lw.empty()) {
    return false;
  }
  for (const Word& w : kKeywords) {
    if (lw == w.name) {
      return true;
    }
  }
  return false;
}

std::string token_name(const Token& t) {
  switch (t.kind) {
    case Tok::kEof: return "end of input";
    case Tok::kIdent: return "IDENTIFIER " + std::string(t.text);
    case Tok::kString: return "STRING";
    case Tok::kNumber: return "NUMBER " + std::string(t.text);
    case Tok::kDuration: return "DURATION";
    case Tok::kBytes: return "BYTES";
    case Tok::kRange: return "RANGE";
    case Tok::kFlag: return "flag " + std::string(t.text);
    case Tok::kFunc: return "function";
    default: break;
  }
  if (!t.text.empty()) {
    return "'" + std::string(t.text) + "'";
  }
  return "token";
}

}  // namespace obsgate::filters::logql::detail
