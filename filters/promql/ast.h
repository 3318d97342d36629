// PromQL abstract syntax tree, stored in flat vectors (no per-node heap allocation).
//
// An Ast owns every node, matcher and label list of one parsed expression; nodes refer to each
// other by index (NodeId). Strings are std::string_view into memory owned by the Ast (a copy of
// the source, plus an arena for unescaped or added strings), so an Ast may be moved freely but
// its views die with it.
//
// Shapes mirror Prometheus's parser (promql/parser/ast.go) closely enough that printing and
// re-parsing is structure-preserving:
//   - a metric name is stored as a `__name__` equality matcher; the parser moves it to the front
//     when it is the selector's only `__name__` matcher (the printer prints that one as a prefix);
//   - offset and @ of a range selector live on its inner vector selector, as in Prometheus;
//   - parentheses are kept as kParen nodes; unary minus on a number literal is folded.
// Thread-safety: a value type; const access from several threads is safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "filters/scope/scope.h"

namespace obsgate::filters::promql {

struct FunctionInfo;

using NodeId = uint32_t;
inline constexpr NodeId kNoNode = UINT32_MAX;

enum class ValueType : uint8_t { kNone, kScalar, kVector, kMatrix, kString };

enum class NodeKind : uint8_t {
  kNumber,          // number
  kString,          // str
  kVectorSelector,  // matchers, offset_ms, at
  kMatrixSelector,  // a = vector selector, range_ms
  kSubquery,        // a = expr, range_ms, step_ms, offset_ms, at
  kCall,            // str = function name, args
  kAggregate,       // agg, a = expr, b = parameter (or kNoNode), grouping
  kBinary,          // bin, a, b, return_bool, matching
  kUnary,           // negate, a
  kParen,           // a
};

enum class BinOp : uint8_t {
  kAdd, kSub, kMul, kDiv, kMod, kPow, kAtan2,
  kEqlc, kNeq, kLss, kGtr, kLte, kGte, kTrimUpper, kTrimLower,
  kAnd, kOr, kUnless,
};

enum class AggOp : uint8_t {
  kSum, kAvg, kCount, kMin, kMax, kGroup, kStddev, kStdvar,
  kTopk, kBottomk, kQuantile, kCountValues, kLimitk, kLimitRatio,
};

enum class AtKind : uint8_t { kNone, kTimestamp, kStart, kEnd };
enum class Card : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// A half-open range [begin, begin + size) into one of the Ast side tables.
struct Span {
  uint32_t begin = 0;
  uint32_t size = 0;
};

struct LabelMatcher {
  std::string_view name;
  MatchOp op = MatchOp::kEq;
  std::string_view value;  // unescaped
};

struct Node {
  NodeKind kind = NodeKind::kNumber;
  // Set by Ast::add from the node's children (children are always added first).
  ValueType type = ValueType::kNone;
  uint16_t depth = 1;  // height of the subtree, saturating
  uint32_t pos = 0;  // byte offset of the node's first token in the source (0 if synthetic)
  AtKind at = AtKind::kNone;  // time modifiers (below); here to pack the flags together
  bool has_offset = false;  // parser bookkeeping only (`offset 0s` prints as nothing)
  // Operators.
  BinOp bin = BinOp::kAdd;
  AggOp agg = AggOp::kSum;
  bool negate = false;       // kUnary: '-' (else '+')
  bool return_bool = false;  // kBinary
  // Vector matching (kBinary), as in Prometheus's VectorMatching.
  Card card = Card::kOneToOne;
  bool on = false;            // on(...) given (else ignoring(...) or nothing)
  bool without = false;       // kAggregate
  bool has_grouping = false;  // kAggregate: by/without was written
  Span matching_labels;       // labels table
  Span include_labels;        // labels table: group_left/group_right(...)
  Span grouping;              // labels table: by/without(...)
  // Values.
  double number = 0;
  std::string_view str;  // kString value, kCall function name
  const FunctionInfo* fn = nullptr;  // kCall
  Span matchers;         // matchers table (kVectorSelector)
  Span args;             // ids table (kCall)
  NodeId a = kNoNode;
  NodeId b = kNoNode;
  // Time modifiers, milliseconds.
  int64_t range_ms = 0;
  int64_t step_ms = 0;
  int64_t offset_ms = 0;
  int64_t at_ms = 0;  // with `at`
};

class Ast {
 public:
  Ast() = default;
  Ast(Ast&&) noexcept = default;
  Ast& operator=(Ast&&) noexcept = default;
  Ast(const Ast&) = delete;
  Ast& operator=(const Ast&) = delete;

  [[nodiscard]] const Node& node(NodeId id) const { return nodes_[id]; }
  [[nodiscard]] Node& node(NodeId id) { return nodes_[id]; }
  [[nodiscard]] NodeId root() const { return root_; }
  void set_root(NodeId id) { root_ = id; }
  [[nodiscard]] size_t node_count() const { return nodes_.size(); }

  [[nodiscard]] const LabelMatcher* matchers(Span s) const { return matchers_.data() + s.begin; }
  [[nodiscard]] const std::string_view* labels(Span s) const { return labels_.data() + s.begin; }
  [[nodiscard]] const NodeId* ids(Span s) const { return ids_.data() + s.begin; }

  // Builders (used by the parser and the enforcer). add() computes type and depth from the
  // node's children, which must already be in the tree.
  NodeId add(const Node& n);
  Span add_matchers(const LabelMatcher* m, size_t count);
  void push_matcher(const LabelMatcher& m) { matchers_.push_back(m); }
  [[nodiscard]] uint32_t matcher_count() const { return static_cast<uint32_t>(matchers_.size()); }
  void push_label(std::string_view l) { labels_.push_back(l); }
  [[nodiscard]] uint32_t label_count() const { return static_cast<uint32_t>(labels_.size()); }
  void push_id(NodeId id) { ids_.push_back(id); }
  [[nodiscard]] uint32_t id_count() const { return static_cast<uint32_t>(ids_.size()); }
  LabelMatcher& matcher_at(uint32_t i) { return matchers_[i]; }
  // Copies bytes into Ast-owned memory; the view lives as long as the Ast.
  std::string_view intern(std::string_view s);
  void reserve(size_t source_size);
  // Empties the tree (every view into it dies) but keeps its memory for the next parse, up to
  // kRetainedBytes in total: a per-thread scratch tree then parses without allocating.
  void clear();
  static constexpr size_t kRetainedBytes = 64 * 1024;

 private:
  std::vector<Node> nodes_;
  std::vector<LabelMatcher> matchers_;
  std::vector<std::string_view> labels_;
  std::vector<NodeId> ids_;
  static constexpr size_t kFirstBlock = 512;
  static constexpr size_t kMaxBlock = 8192;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = 0;
  size_t block_size_ = 0;
  NodeId root_ = kNoNode;
};

// The static type of an expression node (Prometheus's Expr.Type()); O(1).
inline ValueType type_of(const Ast& ast, NodeId id) { return ast.node(id).type; }
std::string_view type_name(ValueType t);

// Structural equality of two subtrees (numbers compare by value, NaN equal to NaN; positions
// ignored). This is the round-trip property's notion of "the same expression".
bool structurally_equal(const Ast& x, NodeId a, const Ast& y, NodeId b);

// Operator spellings.
std::string_view bin_op_string(BinOp op);
std::string_view agg_op_string(AggOp op);
bool is_comparison(BinOp op);
bool is_set_op(BinOp op);
bool agg_has_param(AggOp op);

}  // namespace obsgate::filters::promql
