// LogQL tokens, read the way Loki's lexer (pkg/logql/syntax/lex.go) reads them:
//  - keywords are case-insensitive; function words (rate, sum, bytes, ip, label_replace, ...) are
//    tokens only when followed by `(` or by `by (` / `without (`, otherwise identifiers;
//  - a number directly followed by unit runes is a DURATION (model, then Go syntax) or BYTES;
//  - `-` followed by a duration is a negative DURATION; `--strict` / `--keep-empty` are flags;
//  - `[...]` is one RANGE token parsed with Prometheus' duration syntax only.
// Identifiers are ASCII only (Loki also accepts Unicode letters; we refuse them: fail closed).
// Internal to filters/logql.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::filters::logql::detail {

enum class Tok : uint8_t {
  kEof,
  kIdent,
  kString,
  kNumber,
  kDuration,
  kBytes,
  kRange,
  kFlag,
  kComma,
  kDot,
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kRBracket,
  kEq,
  kNeq,
  kRe,
  kNre,
  kNpa,
  kPipeExact,
  kPipeMatch,
  kPipePattern,
  kPipe,
  kBy,
  kWithout,
  kBool,
  kOffset,
  kOn,
  kIgnoring,
  kGroupLeft,
  kGroupRight,
  kOr,
  kAnd,
  kUnless,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kCmpEq,
  kGt,
  kGte,
  kLt,
  kLte,
  kJson,
  kRegexp,
  kLogfmt,
  kUnpack,
  kPattern,
  kLabelFmt,
  kLineFmt,
  kDecolorize,
  kDrop,
  kKeep,
  kUnwrap,
  kFunc,  // a function word followed by `(`; see Func
};

// Function words. The first 15 are range aggregations in RangeOp order, then the 12 vector
// aggregations in VectorOp order.
enum class Func : uint8_t {
  kCountOverTime,
  kRate,
  kRateCounter,
  kBytesOverTime,
  kBytesRate,
  kAvgOverTime,
  kSumOverTime,
  kMinOverTime,
  kMaxOverTime,
  kStdvarOverTime,
  kStddevOverTime,
  kQuantileOverTime,
  kFirstOverTime,
  kLastOverTime,
  kAbsentOverTime,
  kSum,
  kAvg,
  kCount,
  kMax,
  kMin,
  kStddev,
  kStdvar,
  kBottomk,
  kTopk,
  kSort,
  kSortDesc,
  kApproxTopk,
  kLabelReplace,
  kVector,
  kBytesConv,
  kDurationConv,
  kDurationSecondsConv,
  kIp,
};
constexpr int kFirstVectorFunc = static_cast<int>(Func::kSum);
constexpr int kFirstOtherFunc = static_cast<int>(Func::kLabelReplace);

struct Token {
  Tok kind = Tok::kEof;
  Func func = Func::kRate;
  bool raw = false;       // kString written with backticks
  uint32_t pos = 0;       // byte offset of the token's first byte
  std::string_view text;  // source text (identifiers, numbers, flags)
  std::string str;        // kString: the unquoted value
  int64_t dur = 0;        // kDuration, kRange (nanoseconds)
  uint64_t bytes = 0;     // kBytes
};

// Tokenizes the whole input (ending with one kEof). Errors carry the position.
Result<std::vector<Token>> lex(std::string_view input);

// "parse error at line L, col C: msg" for the byte offset pos of input.
Status error_at(std::string_view input, uint32_t pos, std::string_view msg);

// Is this word (case-insensitively) a LogQL keyword, unusable as a label name?
bool is_keyword(std::string_view word);

// Token names for error messages ("STRING", "'|='", ...).
std::string token_name(const Token& t);

}  // namespace obsgate::filters::logql::detail
