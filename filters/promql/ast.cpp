#include "filters/promql/ast.h"

#include <cmath>
#include <cstring>

#include "filters/promql/functions.h"

namespace obsgate::filters::promql {

NodeId Ast::add(const Node& n) {
  nodes_.push_back(n);
  return static_cast<NodeId>(nodes_.size() - 1);
}

Span Ast::add_matchers(const LabelMatcher* m, size_t count) {
  Span s{static_cast<uint32_t>(matchers_.size()), static_cast<uint32_t>(count)};
  matchers_.insert(matchers_.end(), m, m + count);
  return s;
}

std::string_view Ast::intern(std::string_view s) {
  if (s.empty()) {
    return {};
  }
  if (blocks_.empty() || block_size_ - block_used_ < s.size()) {
    // Blocks never move, so earlier views stay valid; big strings get their own block.
    size_t size = s.size() > 1024 ? s.size() : 2048;
    blocks_.push_back(std::unique_ptr<char[]>(new char[size]));  // no zero-fill
    block_size_ = size;
    block_used_ = 0;
  }
  char* dst = blocks_.back().get() + block_used_;
  std::memcpy(dst, s.data(), s.size());
  block_used_ += s.size();
  return {dst, s.size()};
}

void Ast::reserve(size_t source_size) {
  size_t guess = source_size / 4 + 4;
  nodes_.reserve(guess);
  matchers_.reserve(guess);
  labels_.reserve(8);
  ids_.reserve(8);
}

ValueType type_of(const Ast& ast, NodeId id) {
  const Node& n = ast.node(id);
  switch (n.kind) {
    case NodeKind::kNumber: return ValueType::kScalar;
    case NodeKind::kString: return ValueType::kString;
    case NodeKind::kVectorSelector: return ValueType::kVector;
    case NodeKind::kMatrixSelector:
    case NodeKind::kSubquery: return ValueType::kMatrix;
    case NodeKind::kCall: return n.fn != nullptr ? n.fn->return_type : ValueType::kNone;
    case NodeKind::kAggregate: return ValueType::kVector;
    case NodeKind::kBinary:
      return type_of(ast, n.a) == ValueType::kScalar && type_of(ast, n.b) == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
    case NodeKind::kUnary:
    case NodeKind::kParen: return type_of(ast, n.a);
  }
  return ValueType::kNone;
}

std::string_view type_name(ValueType t) {
  switch (t) {
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "instant vector";
    case ValueType::kMatrix: return "range vector";
    case ValueType::kString: return "string";
    case ValueType::kNone: break;
  }
  return "none";
}

namespace {

bool same_labels(const Ast& x, Span a, const Ast& y, Span b) {
  if (a.size != b.size) {
    return false;
  }
  for (uint32_t i = 0; i < a.size; ++i) {
    if (x.labels(a)[i] != y.labels(b)[i]) {
      return false;
    }
  }
  return true;
}

bool same_number(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

}  // namespace

bool structurally_equal(const Ast& x, NodeId a, const Ast& y, NodeId b) {
  if (a == kNoNode || b == kNoNode) {
    return a == b;
  }
  const Node& m = x.node(a);
  const Node& n = y.node(b);
  if (m.kind != n.kind) {
    return false;
  }
  switch (m.kind) {
    case NodeKind::kNumber: return same_number(m.number, n.number);
    case NodeKind::kString: return m.str == n.str;
    case NodeKind::kVectorSelector: {
      if (m.matchers.size != n.matchers.size || m.offset_ms != n.offset_ms || m.at != n.at ||
          m.at_ms != n.at_ms) {
        return false;
      }
      for (uint32_t i = 0; i < m.matchers.size; ++i) {
        const LabelMatcher& p = x.matchers(m.matchers)[i];
        const LabelMatcher& q = y.matchers(n.matchers)[i];
        if (p.name != q.name || p.op != q.op || p.value != q.value) {
          return false;
        }
      }
      return true;
    }
    case NodeKind::kMatrixSelector:
      return m.range_ms == n.range_ms && structurally_equal(x, m.a, y, n.a);
    case NodeKind::kSubquery:
      return m.range_ms == n.range_ms && m.step_ms == n.step_ms && m.offset_ms == n.offset_ms &&
             m.at == n.at && m.at_ms == n.at_ms && structurally_equal(x, m.a, y, n.a);
    case NodeKind::kCall: {
      if (m.str != n.str || m.args.size != n.args.size) {
        return false;
      }
      for (uint32_t i = 0; i < m.args.size; ++i) {
        if (!structurally_equal(x, x.ids(m.args)[i], y, y.ids(n.args)[i])) {
          return false;
        }
      }
      return true;
    }
    case NodeKind::kAggregate:
      return m.agg == n.agg && m.without == n.without && m.has_grouping == n.has_grouping &&
             same_labels(x, m.grouping, y, n.grouping) && structurally_equal(x, m.a, y, n.a) &&
             structurally_equal(x, m.b, y, n.b);
    case NodeKind::kBinary:
      return m.bin == n.bin && m.return_bool == n.return_bool && m.card == n.card &&
             m.on == n.on && same_labels(x, m.matching_labels, y, n.matching_labels) &&
             same_labels(x, m.include_labels, y, n.include_labels) &&
             structurally_equal(x, m.a, y, n.a) && structurally_equal(x, m.b, y, n.b);
    case NodeKind::kUnary:
      return m.negate == n.negate && structurally_equal(x, m.a, y, n.a);
    case NodeKind::kParen: return structurally_equal(x, m.a, y, n.a);
  }
  return false;
}

std::string_view bin_op_string(BinOp op) {
  constexpr std::string_view kNames[] = {"+",  "-",  "*",  "/",  "%",   "^",  "atan2",
                                         "==", "!=", "<",  ">",  "<=",  ">=", "</",
                                         ">/", "and", "or", "unless"};
  return kNames[static_cast<int>(op)];
}

std::string_view agg_op_string(AggOp op) {
  constexpr std::string_view kNames[] = {"sum",  "avg",     "count",    "min",
                                         "max",  "group",   "stddev",   "stdvar",
                                         "topk", "bottomk", "quantile", "count_values",
                                         "limitk", "limit_ratio"};
  return kNames[static_cast<int>(op)];
}

bool is_comparison(BinOp op) { return op >= BinOp::kEqlc && op <= BinOp::kGte; }
bool is_set_op(BinOp op) { return op >= BinOp::kAnd; }
bool agg_has_param(AggOp op) { return op >= AggOp::kTopk; }

}  // namespace obsgate::filters::promql
