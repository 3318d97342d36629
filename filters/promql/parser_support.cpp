// Parser plumbing: token stream, error reporting, and literal decoding.
#include <charconv>
#include <cmath>
#include <system_error>

#include "filters/promql/parser.h"

namespace obsgate::filters::promql {

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
  // Error messages go back to clients: quote at most a bounded prefix of the token, cut on a
  // UTF-8 boundary.
  constexpr size_t kMaxQuoted = 48;
  std::string text(t.text.substr(0, kMaxQuoted));
  if (t.text.size() > kMaxQuoted) {
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) {
      text.pop_back();
    }
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) {
      text.pop_back();
    }
    text += "...";
  }
  switch (t.kind) {
    case Tok::kEof: return "end of input";
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier: return "identifier \"" + text + "\"";
    case Tok::kNumber: return "number \"" + text + "\"";
    case Tok::kDuration: return "duration \"" + text + "\"";
    case Tok::kString: return "string " + text;
    default: return "\"" + text + "\"";
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
    v = equals_lower(t.text, "nan") ? std::nan("") : HUGE_VAL;
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

}  // namespace obsgate::filters::promql
