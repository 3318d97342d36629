#include "filters/logql/ast.h"

namespace obsgate::filters::logql {
namespace {

bool ptr_eq(const LabelFilterPtr& a, const LabelFilterPtr& b) {
  if (!a || !b) {
    return !a && !b;
  }
  return *a == *b;
}

bool ptr_eq(const ExprPtr& a, const ExprPtr& b) {
  if (!a || !b) {
    return !a && !b;
  }
  return *a == *b;
}

ExprPtr clone_ptr(const ExprPtr& e) { return e ? e->clone() : nullptr; }

struct NodeEq {
  const Expr& other;
  template <typename T>
  bool operator()(const T& a) const {
    const T* b = std::get_if<T>(&other.node);
    return b != nullptr && eq(a, *b);
  }
  static bool eq(const LogQuery& a, const LogQuery& b) { return a == b; }
  static bool eq(const RangeAggregation& a, const RangeAggregation& b) { return a == b; }
  static bool eq(const Literal& a, const Literal& b) { return a == b; }
  static bool eq(const VectorLiteral& a, const VectorLiteral& b) { return a == b; }
  static bool eq(const VectorAggregation& a, const VectorAggregation& b) {
    return a.op == b.op && a.param == b.param && a.grouping == b.grouping && ptr_eq(a.arg, b.arg);
  }
  static bool eq(const BinaryOp& a, const BinaryOp& b) {
    return a.op == b.op && a.return_bool == b.return_bool && a.on == b.on &&
           a.matching == b.matching && a.card == b.card && a.include == b.include &&
           ptr_eq(a.lhs, b.lhs) && ptr_eq(a.rhs, b.rhs);
  }
  static bool eq(const LabelReplace& a, const LabelReplace& b) {
    return a.dst == b.dst && a.replacement == b.replacement && a.src == b.src &&
           a.regex == b.regex && ptr_eq(a.arg, b.arg);
  }
};

struct NodeClone {
  Expr& out;
  template <typename T>
  void operator()(const T& a) const {
    out.node = a;
  }
  void operator()(const VectorAggregation& a) const {
    VectorAggregation c;
    c.op = a.op;
    c.param = a.param;
    c.grouping = a.grouping;
    c.arg = clone_ptr(a.arg);
    out.node = std::move(c);
  }
  void operator()(const BinaryOp& a) const {
    BinaryOp c;
    c.op = a.op;
    c.return_bool = a.return_bool;
    c.on = a.on;
    c.matching = a.matching;
    c.card = a.card;
    c.include = a.include;
    c.lhs = clone_ptr(a.lhs);
    c.rhs = clone_ptr(a.rhs);
    out.node = std::move(c);
  }
  void operator()(const LabelReplace& a) const {
    LabelReplace c;
    c.dst = a.dst;
    c.replacement = a.replacement;
    c.src = a.src;
    c.regex = a.regex;
    c.arg = clone_ptr(a.arg);
    out.node = std::move(c);
  }
};

}  // namespace

LabelFilterPtr LabelFilter::clone() const {
  auto c = std::make_unique<LabelFilter>();
  c->kind = kind;
  c->name = name;
  c->match = match;
  c->cmp = cmp;
  c->value = value;
  c->number = number;
  c->duration_ns = duration_ns;
  c->bytes = bytes;
  c->height = height;
  if (left) {
    c->left = left->clone();
  }
  if (right) {
    c->right = right->clone();
  }
  return c;
}

bool operator==(const LabelFilter& a, const LabelFilter& b) {
  if (a.kind != b.kind) {
    return false;
  }
  switch (a.kind) {
    case LabelFilter::Kind::kAnd:
    case LabelFilter::Kind::kOr: return ptr_eq(a.left, b.left) && ptr_eq(a.right, b.right);
    case LabelFilter::Kind::kString:
      return a.name == b.name && a.match == b.match && a.value == b.value;
    case LabelFilter::Kind::kIp: return a.name == b.name && a.cmp == b.cmp && a.value == b.value;
    case LabelFilter::Kind::kNumber:
      return a.name == b.name && a.cmp == b.cmp && a.number == b.number;
    case LabelFilter::Kind::kDuration:
      return a.name == b.name && a.cmp == b.cmp && a.duration_ns == b.duration_ns;
    case LabelFilter::Kind::kBytes: return a.name == b.name && a.cmp == b.cmp && a.bytes == b.bytes;
  }
  return false;
}

ExprPtr Expr::clone() const {
  auto c = std::make_unique<Expr>();
  c->height = height;
  std::visit(NodeClone{*c}, node);
  return c;
}

bool operator==(const Expr& a, const Expr& b) { return std::visit(NodeEq{b}, a.node); }

const char* range_op_name(RangeOp op) {
  static constexpr const char* kNames[] = {
      "count_over_time",  "rate",
      "rate_counter",     "bytes_over_time",
      "bytes_rate",       "avg_over_time",
      "sum_over_time",    "min_over_time",
      "max_over_time",    "stdvar_over_time",
      "stddev_over_time", "quantile_over_time",
      "first_over_time",  "last_over_time",
      "absent_over_time",
  };
  return kNames[static_cast<int>(op)];
}

const char* vector_op_name(VectorOp op) {
  static constexpr const char* kNames[] = {
      "sum",    "avg",     "count", "max",  "min",       "stddev",
      "stdvar", "bottomk", "topk",  "sort", "sort_desc", "approx_topk",
  };
  return kNames[static_cast<int>(op)];
}

const char* bin_op_name(BinOp op) {
  static constexpr const char* kNames[] = {
      "or", "and", "unless", "+", "-", "*", "/", "%", "^", "==", "!=", ">", ">=", "<", "<=",
  };
  return kNames[static_cast<int>(op)];
}

}  // namespace obsgate::filters::logql
