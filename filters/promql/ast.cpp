#include "filters/promql/ast.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "filters/promql/functions.h"

namespace obsgate::filters::promql {

NodeId Ast::add(const Node& in) {
  Node n = in;
  uint32_t child_depth = 0;
  auto see = [&](NodeId c) {
    if (c != kNoNode) {
      child_depth = std::max<uint32_t>(child_depth, nodes_[c].depth);
    }
  };
  see(n.a);
  see(n.b);
  if (n.kind == NodeKind::kCall) {
    for (uint32_t i = 0; i < n.args.size; ++i) {
      see(ids_[n.args.begin + i]);
    }
  }
  n.depth = static_cast<uint16_t>(std::min<uint32_t>(child_depth + 1, UINT16_MAX));
  switch (n.kind) {
    case NodeKind::kNumber: n.type = ValueType::kScalar; break;
    case NodeKind::kString: n.type = ValueType::kString; break;
    case NodeKind::kVectorSelector:
    case NodeKind::kAggregate: n.type = ValueType::kVector; break;
    case NodeKind::kMatrixSelector:
    case NodeKind::kSubquery: n.type = ValueType::kMatrix; break;
    case NodeKind::kCall: n.type = n.fn != nullptr ? n.fn->return_type : ValueType::kNone; break;
    case NodeKind::kBinary:
      n.type = nodes_[n.a].type == ValueType::kScalar && nodes_[n.b].type == ValueType::kScalar
                   ? ValueType::kScalar
                   : ValueType::kVector;
      break;
    case NodeKind::kUnary:
    case NodeKind::kParen: n.type = nodes_[n.a].type; break;
  }
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
    // Blocks never move, so earlier views stay valid; big strings get their own block. The
    // first block stays under glibc's tcache limit (1032 B): bigger requests take malloc's
    // slow path (malloc_consolidate) on every parse of a short query.
    const size_t next = block_size_ == 0 ? kFirstBlock : std::min(block_size_ * 2, kMaxBlock);
    const size_t size = std::max(s.size(), next);
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
  // About one node per four source bytes, but no first allocation above 1 KiB (see intern()).
  const size_t guess = source_size / 4 + 4;
  nodes_.reserve(std::min(guess, size_t{1024} / sizeof(Node)));
  matchers_.reserve(std::min(guess, size_t{1024} / sizeof(LabelMatcher)));
  labels_.reserve(8);
  ids_.reserve(8);
}

void Ast::clear() {
  nodes_.clear();
  matchers_.clear();
  labels_.clear();
  ids_.clear();
  root_ = kNoNode;
  // Keep the newest (largest) block only; earlier ones were too small for the last query.
  if (blocks_.size() > 1) {
    std::unique_ptr<char[]> keep = std::move(blocks_.back());
    blocks_.clear();
    blocks_.push_back(std::move(keep));
  }
  block_used_ = 0;
  const size_t held = nodes_.capacity() * sizeof(Node) +
                      matchers_.capacity() * sizeof(LabelMatcher) +
                      labels_.capacity() * sizeof(std::string_view) +
                      ids_.capacity() * sizeof(NodeId) + (blocks_.empty() ? 0 : block_size_);
  if (held > kRetainedBytes) {
    // One huge query must not pin its memory in a long-lived scratch tree.
    *this = Ast();
  }
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
