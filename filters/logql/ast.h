// The LogQL syntax tree, as produced by logql::parse() and consumed by logql::print() and the
// enforcer.
//
// The tree follows Loki's own structure (pkg/logql/syntax/ast.go) where that structure decides
// meaning, and drops what is only spelling: the three log-range forms (`{..} | p [5m]`,
// `{..}[5m] | p`, `({..} | p)[5m]`) give one LogRange; grouping before or after an aggregation's
// arguments gives one Grouping; `and`, `,` and juxtaposition of label filters give one kAnd node.
// String literals keep whether they were written as raw backtick strings, so templates and
// regexes are printed back byte-for-byte in the form the user chose.
//
// Equality (operator==) is structural and is what the round-trip property is stated in:
// parse(print(parse(x))) == parse(x).
//
// Values only: no sharing, deep copies are explicit (clone()). Thread-safe to read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "filters/scope/scope.h"

namespace obsgate::filters::logql {

// A string literal: its unquoted value, and whether it was a raw `...` string.
struct Str {
  std::string value;
  bool raw = false;
  friend bool operator==(const Str&, const Str&) = default;
};

struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kEq;
  Str value;
  friend bool operator==(const LabelMatcher&, const LabelMatcher&) = default;
};

struct Selector {
  std::vector<LabelMatcher> matchers;
  friend bool operator==(const Selector&, const Selector&) = default;
};

// ---- Pipeline stages ----------------------------------------------------------------------

enum class LineOp { kContains, kNotContains, kRegex, kNotRegex, kPattern, kNotPattern };

struct LineFilterTerm {
  bool ip = false;  // ip("...")
  Str value;
  friend bool operator==(const LineFilterTerm&, const LineFilterTerm&) = default;
};

// `|= "a" or "b" or ip("c")`: one operator over alternatives. For a negative operator the
// alternatives are all excluded (Loki prints `!= "a" or "b"` as `!= "a" != "b"`).
struct LineFilter {
  LineOp op = LineOp::kContains;
  std::vector<LineFilterTerm> terms;  // never empty
  friend bool operator==(const LineFilter&, const LineFilter&) = default;
};

struct Extraction {  // json/logfmt parameter: label="expression"; a bare `b` means b="b"
  std::string label;
  Str expr;
  friend bool operator==(const Extraction&, const Extraction&) = default;
};

enum class ParserKind { kJson, kLogfmt, kRegexp, kPattern, kUnpack };

struct ParserStage {
  ParserKind kind = ParserKind::kJson;
  Str param;                            // regexp / pattern expression
  std::vector<Extraction> extractions;  // json / logfmt
  bool strict = false;                  // logfmt --strict
  bool keep_empty = false;              // logfmt --keep-empty
  std::vector<std::string> captures;    // regexp: its named groups (derived from param)
  friend bool operator==(const ParserStage&, const ParserStage&) = default;
};

enum class CmpOp { kEq, kNeq, kGt, kGte, kLt, kLte };

struct LabelFilter;
using LabelFilterPtr = std::unique_ptr<LabelFilter>;

// A label filter tree. Leaves compare one label; kAnd / kOr combine two subtrees.
struct LabelFilter {
  enum class Kind { kString, kNumber, kDuration, kBytes, kIp, kAnd, kOr };
  Kind kind = Kind::kString;
  std::string name;              // leaves
  MatchOp match = MatchOp::kEq;  // kString
  CmpOp cmp = CmpOp::kEq;        // kNumber, kDuration, kBytes, kIp (= or != only)
  Str value;                     // kString, kIp
  double number = 0;             // kNumber
  int64_t duration_ns = 0;       // kDuration
  uint64_t bytes = 0;            // kBytes
  LabelFilterPtr left, right;    // kAnd, kOr
  int height = 1;                // nesting depth, not part of equality

  [[nodiscard]] LabelFilterPtr clone() const;
  friend bool operator==(const LabelFilter& a, const LabelFilter& b);
};

struct LabelFilterStage {
  LabelFilterPtr filter;
  LabelFilterStage() = default;
  explicit LabelFilterStage(LabelFilterPtr f) : filter(std::move(f)) {}
  LabelFilterStage(const LabelFilterStage& o) : filter(o.filter ? o.filter->clone() : nullptr) {}
  LabelFilterStage& operator=(const LabelFilterStage& o) {
    filter = o.filter ? o.filter->clone() : nullptr;
    return *this;
  }
  LabelFilterStage(LabelFilterStage&&) = default;
  LabelFilterStage& operator=(LabelFilterStage&&) = default;
  friend bool operator==(const LabelFilterStage& a, const LabelFilterStage& b) {
    return *a.filter == *b.filter;
  }
};

struct LineFormat {
  Str tmpl;
  friend bool operator==(const LineFormat&, const LineFormat&) = default;
};

struct LabelFormatItem {
  std::string dst;
  bool rename = false;  // dst=src (src in `source`) rather than dst="template"
  std::string source;
  Str tmpl;
  friend bool operator==(const LabelFormatItem&, const LabelFormatItem&) = default;
};

struct LabelFormat {
  std::vector<LabelFormatItem> items;
  friend bool operator==(const LabelFormat&, const LabelFormat&) = default;
};

struct Decolorize {
  friend bool operator==(const Decolorize&, const Decolorize&) = default;
};

struct NamedMatcher {  // drop/keep item: a bare name, or a matcher
  std::optional<LabelMatcher> matcher;
  std::string name;  // the bare name, or the matcher's name
  friend bool operator==(const NamedMatcher&, const NamedMatcher&) = default;
};

struct DropKeep {
  bool keep = false;
  std::vector<NamedMatcher> items;
  friend bool operator==(const DropKeep&, const DropKeep&) = default;
};

using Stage = std::variant<LineFilter, ParserStage, LabelFilterStage, LineFormat, LabelFormat,
                           Decolorize, DropKeep>;

// A log query: `{selector} stage stage ...`.
struct LogQuery {
  Selector selector;
  std::vector<Stage> pipeline;
  friend bool operator==(const LogQuery&, const LogQuery&) = default;
};

// ---- Metric queries ------------------------------------------------------------------------

enum class ConvOp { kNone, kBytes, kDuration, kDurationSeconds };

struct Unwrap {
  std::string label;
  ConvOp conv = ConvOp::kNone;
  std::vector<LabelFilterStage> post_filters;  // `| unwrap x | __error__=""`
  friend bool operator==(const Unwrap&, const Unwrap&) = default;
};

struct LogRange {
  LogQuery log;
  int64_t range_ns = 0;
  std::optional<Unwrap> unwrap;
  std::optional<int64_t> offset_ns;
  friend bool operator==(const LogRange&, const LogRange&) = default;
};

struct Grouping {
  bool without = false;
  std::vector<std::string> labels;
  friend bool operator==(const Grouping&, const Grouping&) = default;
};

enum class RangeOp {
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
};

enum class VectorOp {
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
};

enum class BinOp {
  kOr,
  kAnd,
  kUnless,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEq,
  kNeq,
  kGt,
  kGte,
  kLt,
  kLte,
};

enum class Card { kOneToOne, kManyToOne /*group_left*/, kOneToMany /*group_right*/ };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct RangeAggregation {
  RangeOp op = RangeOp::kCountOverTime;
  std::optional<double> param;  // quantile_over_time's φ
  LogRange range;
  std::optional<Grouping> grouping;
  friend bool operator==(const RangeAggregation&, const RangeAggregation&) = default;
};

struct VectorAggregation {
  VectorOp op = VectorOp::kSum;
  std::optional<int64_t> param;  // topk / bottomk / approx_topk k
  ExprPtr arg;
  std::optional<Grouping> grouping;
};

struct BinaryOp {
  BinOp op = BinOp::kAdd;
  bool return_bool = false;
  bool on = false;                    // on(...) rather than ignoring(...)
  std::vector<std::string> matching;  // on/ignoring labels
  Card card = Card::kOneToOne;
  std::vector<std::string> include;  // group_left/group_right labels
  ExprPtr lhs, rhs;
};

struct Literal {
  double value = 0;
  friend bool operator==(const Literal&, const Literal&) = default;
};

struct VectorLiteral {  // vector(n)
  double value = 0;
  friend bool operator==(const VectorLiteral&, const VectorLiteral&) = default;
};

struct LabelReplace {
  ExprPtr arg;
  Str dst, replacement, src, regex;
};

struct Expr {
  std::variant<LogQuery, RangeAggregation, VectorAggregation, BinaryOp, Literal, VectorLiteral,
               LabelReplace>
      node;
  int height = 1;  // nesting depth, not part of equality

  [[nodiscard]] bool is_log() const { return std::holds_alternative<LogQuery>(node); }
  [[nodiscard]] ExprPtr clone() const;
  friend bool operator==(const Expr& a, const Expr& b);
};

// Names as Loki spells them.
const char* range_op_name(RangeOp op);
const char* vector_op_name(VectorOp op);
const char* bin_op_name(BinOp op);

}  // namespace obsgate::filters::logql
