// PromQL lexer (internal). Produces tokens on demand as views into the source; never allocates.
// Strings are returned with their quotes; unquote() decodes them. Words are returned as
// kIdentifier / kMetricIdentifier or a keyword kind; whether a word is a label name, a metric
// name, `inf`/`nan` or a keyword in context is the parser's decision.
#pragma once

#include "common/utf8.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/promql/ast.h"

namespace obsgate::filters::promql {

enum class Tok : uint8_t {
  kEof, kError,
  kIdentifier, kMetricIdentifier, kNumber, kDuration, kString,
  kLBrace, kRBrace, kLParen, kRParen, kLBracket, kRBracket, kComma, kColon, kAt,
  // Operators.
  kAdd, kSub, kMul, kDiv, kMod, kPow, kEqlc, kNeq, kLss, kGtr, kLte, kGte, kTrimUpper,
  kTrimLower, kEql, kEqlRegex, kNeqRegex,
  // Keywords (case-insensitive words).
  kAnd, kOr, kUnless, kAtan2, kAggregator, kOffset, kBy, kWithout, kOn, kIgnoring, kGroupLeft,
  kGroupRight, kBool, kAnchored, kSmoothed,
};

struct Token {
  Tok kind = Tok::kEof;
  uint32_t pos = 0;
  std::string_view text;
  AggOp agg = AggOp::kSum;  // kAggregator
  const char* error = nullptr;  // kError: a static message
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}
  Token next();

 private:
  Token lex_number(uint32_t start);
  Token lex_string(uint32_t start, char quote);
  Token word(uint32_t start);
  Token make(Tok k, uint32_t start) const {
    return Token{k, start, src_.substr(start, i_ - start), AggOp::kSum, nullptr};
  }
  Token error(uint32_t start, const char* msg) const {
    return Token{Tok::kError, start, src_.substr(start, i_ - start), AggOp::kSum, msg};
  }

  std::string_view src_;
  uint32_t i_ = 0;
  bool bracket_open_ = false;
};

// Decodes a string token (with quotes) into out: Go escapes for "..." and '...', none for
// `...`. Validates UTF-8. Returns nullptr or a static error message.
const char* unquote(std::string_view token, std::string& out, bool& has_escapes);

// Parses a compound duration token ("1h30m", "5m", "100ms") into milliseconds. Returns nullptr
// or a static error message.
const char* parse_duration(std::string_view text, int64_t& ms);

bool is_word_keyword(Tok t);
// ASCII case-insensitive equality against an already lower-case word.
bool equals_lower(std::string_view s, std::string_view lower);
using ::obsgate::valid_utf8;  // common/utf8.h
// [a-zA-Z_][a-zA-Z0-9_]*
bool is_legacy_label_name(std::string_view s);
// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_legacy_metric_name(std::string_view s);

}  // namespace obsgate::filters::promql
