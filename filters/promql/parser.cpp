// Expressions: precedence climbing over Prometheus's operator table, unary operators, primary
// expressions, and ParseExpr's checks on binary expressions. Postfix modifiers are in
// modifiers.cpp, calls and aggregations in calls.cpp, selectors in selector.cpp.
#include "filters/promql/parser.h"

#include <cmath>
#include <limits>

#include "filters/promql/functions.h"

namespace obsgate::filters::promql {
namespace {

// Prometheus precedence, low to high: or < and unless < comparisons < + - < * / % atan2 < ^.
constexpr int kPowPrec = 6;

bool binop_of(Tok t, BinOp& op) {
  switch (t) {
    case Tok::kAdd: op = BinOp::kAdd; return true;
    case Tok::kSub: op = BinOp::kSub; return true;
    case Tok::kMul: op = BinOp::kMul; return true;
    case Tok::kDiv: op = BinOp::kDiv; return true;
    case Tok::kMod: op = BinOp::kMod; return true;
    case Tok::kPow: op = BinOp::kPow; return true;
    case Tok::kAtan2: op = BinOp::kAtan2; return true;
    case Tok::kEqlc: op = BinOp::kEqlc; return true;
    case Tok::kNeq: op = BinOp::kNeq; return true;
    case Tok::kLss: op = BinOp::kLss; return true;
    case Tok::kGtr: op = BinOp::kGtr; return true;
    case Tok::kLte: op = BinOp::kLte; return true;
    case Tok::kGte: op = BinOp::kGte; return true;
    case Tok::kTrimUpper: op = BinOp::kTrimUpper; return true;
    case Tok::kTrimLower: op = BinOp::kTrimLower; return true;
    case Tok::kAnd: op = BinOp::kAnd; return true;
    case Tok::kOr: op = BinOp::kOr; return true;
    case Tok::kUnless: op = BinOp::kUnless; return true;
    default: return false;
  }
}

int precedence(BinOp op) {
  switch (op) {
    case BinOp::kOr: return 1;
    case BinOp::kAnd:
    case BinOp::kUnless: return 2;
    case BinOp::kAdd:
    case BinOp::kSub: return 4;
    case BinOp::kMul:
    case BinOp::kDiv:
    case BinOp::kMod:
    case BinOp::kAtan2: return 5;
    case BinOp::kPow: return kPowPrec;
    default: return 3;  // comparisons and trims
  }
}

// Words that may name a metric where an expression starts (Prometheus's metric_identifier).
bool metric_word(Tok t) {
  return t == Tok::kIdentifier || t == Tok::kMetricIdentifier || t == Tok::kAggregator ||
         t == Tok::kBy || t == Tok::kWithout || t == Tok::kOffset || t == Tok::kAnd ||
         t == Tok::kOr || t == Tok::kUnless;
}

struct DepthGuard {
  explicit DepthGuard(int& d) : d_(d) { ++d_; }
  ~DepthGuard() { --d_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  int& d_;
};

}  // namespace

// Walkers (printer, checks, enforcer) recurse over the tree, so its height is bounded too: a
// left-deep chain `a + b + c ...` nests without recursing in the parser.
NodeId Parser::add_node(const Node& n) {
  NodeId id = ast_.add(n);
  if (ast_.node(id).depth > 4 * opts_.max_depth) {
    fail(n.pos, "expression nesting too deep");
  }
  return id;
}

NodeId Parser::parse_top() {
  if (cur_.kind == Tok::kEof) {
    fail(cur_.pos, "no expression found in input");
    return kNoNode;
  }
  NodeId e = parse_expr(0);
  if (!failed_ && cur_.kind != Tok::kEof) {
    unexpected(nullptr, nullptr);
  }
  return failed_ ? kNoNode : e;
}

NodeId Parser::parse_expr(int min_prec) {
  DepthGuard guard(depth_);
  if (depth_ > opts_.max_depth) {
    fail(cur_.pos, "expression nesting too deep");
    return kNoNode;
  }
  NodeId lhs = parse_unary();
  BinOp op{};
  while (!failed_ && binop_of(cur_.kind, op)) {
    int prec = precedence(op);
    if (prec < min_prec) {
      break;
    }
    const uint32_t op_pos = cur_.pos;
    Node bn;
    bn.kind = NodeKind::kBinary;
    bn.bin = op;
    bn.pos = ast_.node(lhs).pos;
    advance();
    parse_bin_modifiers(bn);
    if (failed_) {
      return kNoNode;
    }
    // ^ is right-associative: its right operand may contain another ^.
    NodeId rhs = parse_expr(op == BinOp::kPow ? prec : prec + 1);
    if (failed_) {
      return kNoNode;
    }
    bn.a = lhs;
    bn.b = rhs;
    lhs = finish_binary(bn, op_pos);
  }
  return failed_ ? kNoNode : lhs;
}

void Parser::parse_bin_modifiers(Node& bn) {
  if (cur_.kind == Tok::kBool) {
    bn.return_bool = true;
    advance();
  }
  if (cur_.kind == Tok::kOn || cur_.kind == Tok::kIgnoring) {
    bn.on = cur_.kind == Tok::kOn;
    advance();
    bn.matching_labels = parse_label_list("grouping opts");
    if (failed_) {
      return;
    }
    if (cur_.kind == Tok::kGroupLeft || cur_.kind == Tok::kGroupRight) {
      bn.card = cur_.kind == Tok::kGroupLeft ? Card::kManyToOne : Card::kOneToMany;
      advance();
      if (cur_.kind == Tok::kLParen) {
        bn.include_labels = parse_label_list("grouping opts");
      }
    }
  }
}

// Prometheus checkAST for BinaryExpr, in the same order.
NodeId Parser::finish_binary(Node& bn, uint32_t op_pos) {
  const ValueType lt = type_of(ast_, bn.a);
  const ValueType rt = type_of(ast_, bn.b);
  const std::string op(bin_op_string(bn.bin));
  if (bn.return_bool && !is_comparison(bn.bin)) {
    fail(op_pos, "bool modifier can only be used on comparison operators");
    return kNoNode;
  }
  if (is_comparison(bn.bin) && !bn.return_bool && lt == ValueType::kScalar &&
      rt == ValueType::kScalar) {
    fail(op_pos, "comparisons between scalars must use BOOL modifier");
    return kNoNode;
  }
  if (is_set_op(bn.bin) && bn.card == Card::kOneToOne) {
    bn.card = Card::kManyToMany;
  }
  if (bn.on) {
    for (uint32_t i = 0; i < bn.matching_labels.size; ++i) {
      for (uint32_t j = 0; j < bn.include_labels.size; ++j) {
        std::string_view l = ast_.labels(bn.matching_labels)[i];
        if (l == ast_.labels(bn.include_labels)[j]) {
          fail(op_pos, "label \"" + std::string(l) + "\" must not occur in ON and GROUP clause at once");
          return kNoNode;
        }
      }
    }
  }
  auto operand_ok = [](ValueType t) { return t == ValueType::kScalar || t == ValueType::kVector; };
  if (!operand_ok(lt) || !operand_ok(rt)) {
    fail(bn.pos, "binary expression must contain only scalar and instant vector types");
    return kNoNode;
  }
  if (lt != ValueType::kVector || rt != ValueType::kVector) {
    if (bn.matching_labels.size > 0) {
      fail(op_pos, "vector matching only allowed between instant vectors");
      return kNoNode;
    }
    // Prometheus drops the (empty) matching of a scalar operation.
    bn.on = false;
    bn.card = is_set_op(bn.bin) ? Card::kManyToMany : Card::kOneToOne;
    bn.include_labels = {};
  } else if (is_set_op(bn.bin) && bn.card != Card::kManyToMany) {
    fail(op_pos, "no grouping allowed for \"" + op + "\" operation");
    return kNoNode;
  }
  if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && is_set_op(bn.bin)) {
    fail(op_pos, "set operator \"" + op + "\" not allowed in binary scalar expression");
    return kNoNode;
  }
  return add_node(bn);
}

NodeId Parser::parse_unary() {
  if (cur_.kind != Tok::kAdd && cur_.kind != Tok::kSub) {
    NodeId e = parse_primary();
    return failed_ ? kNoNode : parse_postfix(e);
  }
  const bool neg = cur_.kind == Tok::kSub;
  const uint32_t pos = cur_.pos;
  advance();
  // Unary operators bind like '*': their operand may contain only '^'.
  NodeId operand = parse_expr(kPowPrec);
  if (failed_) {
    return kNoNode;
  }
  Node& on = ast_.node(operand);
  if (on.kind == NodeKind::kNumber) {
    if (neg) {
      on.number = -on.number;
    }
    on.pos = pos;
    return operand;
  }
  ValueType t = type_of(ast_, operand);
  if (t != ValueType::kScalar && t != ValueType::kVector) {
    fail(pos, "unary expression only allowed on expressions of type scalar or instant vector, "
              "got \"" + std::string(type_name(t)) + "\"");
    return kNoNode;
  }
  Node un;
  un.kind = NodeKind::kUnary;
  un.pos = pos;
  un.negate = neg;
  un.a = operand;
  return add_node(un);
}

NodeId Parser::parse_primary() {
  Node n;
  n.pos = cur_.pos;
  switch (cur_.kind) {
    case Tok::kLParen: {
      advance();
      NodeId inner = parse_expr(0);
      if (failed_ || !expect(Tok::kRParen, "\")\"", "paren expression")) {
        return kNoNode;
      }
      n.kind = NodeKind::kParen;
      n.a = inner;
      return add_node(n);
    }
    case Tok::kNumber:
    case Tok::kDuration:
      n.kind = NodeKind::kNumber;
      if (!number_token(cur_, n.number)) {
        return kNoNode;
      }
      advance();
      return add_node(n);
    case Tok::kString: {
      n.kind = NodeKind::kString;
      if (!unquote_token(cur_, n.str)) {
        return kNoNode;
      }
      advance();
      return add_node(n);
    }
    case Tok::kLBrace: return parse_vector_selector(false);
    case Tok::kIdentifier:
      if (peek().kind == Tok::kLParen) {
        return parse_call();
      }
      if (equals_lower(cur_.text, "inf") || equals_lower(cur_.text, "nan")) {
        n.kind = NodeKind::kNumber;
        number_token(cur_, n.number);
        advance();
        return add_node(n);
      }
      return parse_vector_selector(true);
    case Tok::kAggregator: {
      Tok next = peek().kind;
      if (next == Tok::kLParen || next == Tok::kBy || next == Tok::kWithout) {
        return parse_aggregate();
      }
      return parse_vector_selector(true);
    }
    default:
      if (metric_word(cur_.kind)) {
        return parse_vector_selector(true);
      }
      unexpected(nullptr, nullptr);
      return kNoNode;
  }
}

}  // namespace obsgate::filters::promql
