// Expressions: precedence climbing over Prometheus's operator table, postfix modifiers
// ([range], [range:step], offset, @), calls and aggregations, with ParseExpr's semantic checks.
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

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != b[i]) {
      return false;
    }
  }
  return true;
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
      if (ieq(cur_.text, "inf") || ieq(cur_.text, "nan")) {
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

NodeId Parser::parse_postfix(NodeId e) {
  while (!failed_) {
    switch (cur_.kind) {
      case Tok::kLBracket: parse_range_or_subquery(e); break;
      case Tok::kOffset: parse_offset(e); break;
      case Tok::kAt: parse_at(e); break;
      case Tok::kAnchored:
      case Tok::kSmoothed:
        fail(cur_.pos, std::string(cur_.kind == Tok::kAnchored ? "anchored" : "smoothed") +
                           " modifier is experimental and not enabled");
        break;
      default: return e;
    }
  }
  return kNoNode;
}

// A duration literal where Prometheus takes number_duration_literal: "5m", or a plain number of
// seconds. Rounded to milliseconds (Prometheus's printing precision).
bool Parser::duration_token(int64_t& ms, bool allow_sign) {
  bool neg = false;
  if (allow_sign && (cur_.kind == Tok::kSub || cur_.kind == Tok::kAdd)) {
    neg = cur_.kind == Tok::kSub;
    advance();
  }
  if (cur_.kind == Tok::kDuration) {
    if (const char* err = parse_duration(cur_.text, ms)) {
      fail(cur_.pos, err);
      return false;
    }
  } else if (cur_.kind == Tok::kNumber) {
    double v = 0;
    if (!number_token(cur_, v)) {
      return false;
    }
    double m = std::round(v * 1000);
    if (!std::isfinite(m) || m < 0 || m >= 9.2e18) {
      fail(cur_.pos, "duration out of range");
      return false;
    }
    ms = static_cast<int64_t>(m);
  } else {
    unexpected(nullptr, "duration");
    return false;
  }
  if (neg) {
    ms = -ms;
  }
  advance();
  return true;
}

void Parser::parse_range_or_subquery(NodeId& e) {
  const uint32_t lb = cur_.pos;
  advance();
  int64_t range = 0;
  if (!duration_token(range, false)) {
    return;
  }
  if (range <= 0) {
    fail(lb, "duration must be greater than 0");
    return;
  }
  Node n;
  n.pos = ast_.node(e).pos;
  n.range_ms = range;
  n.a = e;
  if (cur_.kind == Tok::kRBracket) {
    const Node& vs = ast_.node(e);
    if (vs.kind != NodeKind::kVectorSelector) {
      fail(lb, "ranges only allowed for vector selectors");
      return;
    }
    if (vs.has_offset) {
      fail(lb, "no offset modifiers allowed before range");
      return;
    }
    if (vs.at != AtKind::kNone) {
      fail(lb, "no @ modifiers allowed before range");
      return;
    }
    advance();
    n.kind = NodeKind::kMatrixSelector;
    e = add_node(n);
    return;
  }
  if (cur_.kind != Tok::kColon) {
    unexpected("subquery or range", "\":\" or \"]\"");
    return;
  }
  advance();
  if (cur_.kind != Tok::kRBracket) {
    if (!duration_token(n.step_ms, false)) {
      return;
    }
  }
  if (!expect(Tok::kRBracket, "\"]\"", "subquery selector")) {
    return;
  }
  ValueType t = type_of(ast_, e);
  if (t != ValueType::kVector) {
    fail(lb, "subquery is only allowed on instant vector, got " + std::string(type_name(t)));
    return;
  }
  n.kind = NodeKind::kSubquery;
  e = add_node(n);
}

void Parser::parse_offset(NodeId e) {
  const uint32_t pos = cur_.pos;
  advance();
  int64_t off = 0;
  if (!duration_token(off, true)) {
    return;
  }
  Node* target = &ast_.node(e);
  if (target->kind == NodeKind::kMatrixSelector) {
    target = &ast_.node(target->a);
  }
  if (target->kind != NodeKind::kVectorSelector && target->kind != NodeKind::kSubquery) {
    fail(pos, "offset modifier must be preceded by an instant vector selector or range vector "
              "selector or a subquery");
    return;
  }
  if (target->has_offset) {
    fail(pos, "offset may not be set multiple times");
    return;
  }
  target->has_offset = true;
  target->offset_ms = off;
}

void Parser::parse_at(NodeId e) {
  const uint32_t pos = cur_.pos;
  advance();
  AtKind kind = AtKind::kTimestamp;
  int64_t at_ms = 0;
  if (cur_.kind == Tok::kIdentifier && (ieq(cur_.text, "start") || ieq(cur_.text, "end"))) {
    kind = ieq(cur_.text, "start") ? AtKind::kStart : AtKind::kEnd;
    advance();
    if (!expect(Tok::kLParen, "\"(\"", "@") || !expect(Tok::kRParen, "\")\"", "@")) {
      return;
    }
  } else {
    bool neg = false;
    if (cur_.kind == Tok::kSub || cur_.kind == Tok::kAdd) {
      neg = cur_.kind == Tok::kSub;
      advance();
    }
    double v = 0;
    if (cur_.kind != Tok::kNumber && cur_.kind != Tok::kDuration &&
        cur_.kind != Tok::kIdentifier) {
      unexpected("@", "timestamp");
      return;
    }
    if (cur_.kind == Tok::kIdentifier && !ieq(cur_.text, "inf") && !ieq(cur_.text, "nan")) {
      unexpected("@", "timestamp");
      return;
    }
    if (!number_token(cur_, v)) {
      return;
    }
    v = neg ? -v : v;
    double m = std::round(v * 1000);
    if (!std::isfinite(m) || m >= 9.2e18 || m <= -9.2e18) {
      fail(cur_.pos, "timestamp out of bounds for @ modifier");
      return;
    }
    at_ms = static_cast<int64_t>(m);
    advance();
  }
  Node* target = &ast_.node(e);
  if (target->kind == NodeKind::kMatrixSelector) {
    target = &ast_.node(target->a);
  }
  if (target->kind != NodeKind::kVectorSelector && target->kind != NodeKind::kSubquery) {
    fail(pos, "@ modifier must be preceded by an instant vector selector or range vector "
              "selector or a subquery");
    return;
  }
  if (target->at != AtKind::kNone) {
    fail(pos, "@ <timestamp> may not be set multiple times");
    return;
  }
  target->at = kind;
  target->at_ms = at_ms;
}

NodeId Parser::parse_call() {
  Node n;
  n.kind = NodeKind::kCall;
  n.pos = cur_.pos;
  n.str = cur_.text;
  n.fn = find_function(cur_.text);
  if (n.fn == nullptr) {
    fail(n.pos, "unknown function with name \"" + std::string(cur_.text) + "\"");
    return kNoNode;
  }
  if (n.fn->experimental && !opts_.experimental_functions) {
    fail(n.pos, "function \"" + std::string(cur_.text) + "\" is not enabled");
    return kNoNode;
  }
  advance();  // name
  advance();  // (
  const size_t base = arg_stack_.size();
  if (cur_.kind != Tok::kRParen) {
    while (true) {
      NodeId arg = parse_expr(0);
      if (failed_) {
        return kNoNode;
      }
      arg_stack_.push_back(arg);
      if (cur_.kind != Tok::kComma) {
        break;
      }
      advance();
      if (cur_.kind == Tok::kRParen) {
        fail(cur_.pos, "trailing commas not allowed in function call args");
        return kNoNode;
      }
    }
  }
  if (!expect(Tok::kRParen, "\",\" or \")\"", "function call")) {
    return kNoNode;
  }
  n.args = Span{ast_.id_count(), static_cast<uint32_t>(arg_stack_.size() - base)};
  for (size_t i = base; i < arg_stack_.size(); ++i) {
    ast_.push_id(arg_stack_[i]);
  }
  arg_stack_.resize(base);
  NodeId id = add_node(n);
  check_call(id);
  return failed_ ? kNoNode : id;
}

// Prometheus checkAST for Call: arity, then each argument's type.
void Parser::check_call(NodeId id) {
  const Node& n = ast_.node(id);
  const FunctionInfo& f = *n.fn;
  const std::string name(f.name);
  const int nargs = f.arg_count;
  const int got = static_cast<int>(n.args.size);
  if (f.variadic == 0) {
    if (got != nargs) {
      fail(n.pos, "expected " + std::to_string(nargs) + " argument(s) in call to \"" + name +
                      "\", got " + std::to_string(got));
      return;
    }
  } else {
    const int min = nargs - 1;
    if (got < min) {
      fail(n.pos, "expected at least " + std::to_string(min) + " argument(s) in call to \"" +
                      name + "\", got " + std::to_string(got));
      return;
    }
    if (f.variadic > 0 && got > min + f.variadic) {
      fail(n.pos, "expected at most " + std::to_string(min + f.variadic) +
                      " argument(s) in call to \"" + name + "\", got " + std::to_string(got));
      return;
    }
  }
  for (int i = 0; i < got; ++i) {
    NodeId arg = ast_.ids(n.args)[i];
    ValueType want = f.arg_types[i < nargs ? i : nargs - 1];
    ValueType have = type_of(ast_, arg);
    if (have != want) {
      fail(ast_.node(arg).pos, "expected type " + std::string(type_name(want)) +
                                   " in call to function \"" + name + "\", got " +
                                   std::string(type_name(have)));
      return;
    }
  }
  if (name == "info" && got == 2 && ast_.node(ast_.ids(n.args)[1]).kind !=
                                        NodeKind::kVectorSelector) {
    fail(ast_.node(ast_.ids(n.args)[1]).pos,
         "expected label selectors as the second argument to \"info\" function");
  }
}

NodeId Parser::parse_aggregate() {
  Node n;
  n.kind = NodeKind::kAggregate;
  n.pos = cur_.pos;
  n.agg = cur_.agg;
  if ((n.agg == AggOp::kLimitk || n.agg == AggOp::kLimitRatio) && !opts_.experimental_functions) {
    fail(n.pos, std::string(agg_op_string(n.agg)) +
                    "() is experimental and must be enabled with "
                    "--enable-feature=promql-experimental-functions");
    return kNoNode;
  }
  advance();
  auto grouping = [&]() {
    n.has_grouping = true;
    n.without = cur_.kind == Tok::kWithout;
    advance();
    n.grouping = parse_label_list("grouping opts");
  };
  if (cur_.kind == Tok::kBy || cur_.kind == Tok::kWithout) {
    grouping();
    if (failed_) {
      return kNoNode;
    }
  }
  const uint32_t lp = cur_.pos;
  if (!expect(Tok::kLParen, "\"(\"", "aggregation")) {
    return kNoNode;
  }
  if (cur_.kind == Tok::kRParen) {
    fail(lp, "no arguments for aggregate expression provided");
    return kNoNode;
  }
  NodeId args[2] = {kNoNode, kNoNode};
  int count = 0;
  while (true) {
    NodeId arg = parse_expr(0);
    if (failed_) {
      return kNoNode;
    }
    if (count < 2) {
      args[count] = arg;
    }
    ++count;
    if (cur_.kind != Tok::kComma) {
      break;
    }
    advance();
    if (cur_.kind == Tok::kRParen) {
      fail(cur_.pos, "trailing commas not allowed in function call args");
      return kNoNode;
    }
  }
  if (!expect(Tok::kRParen, "\",\" or \")\"", "aggregation")) {
    return kNoNode;
  }
  if (!n.has_grouping && (cur_.kind == Tok::kBy || cur_.kind == Tok::kWithout)) {
    grouping();
    if (failed_) {
      return kNoNode;
    }
  }
  const int want = agg_has_param(n.agg) ? 2 : 1;
  if (count != want) {
    fail(lp, "wrong number of arguments for aggregate expression provided, expected " +
                 std::to_string(want) + ", got " + std::to_string(count));
    return kNoNode;
  }
  n.a = args[want - 1];
  n.b = want == 2 ? args[0] : kNoNode;
  ValueType et = type_of(ast_, n.a);
  if (et != ValueType::kVector) {
    fail(ast_.node(n.a).pos, "expected type instant vector in aggregation expression, got " +
                                 std::string(type_name(et)));
    return kNoNode;
  }
  if (n.b != kNoNode) {
    ValueType pt = type_of(ast_, n.b);
    ValueType want_t = n.agg == AggOp::kCountValues ? ValueType::kString : ValueType::kScalar;
    if (pt != want_t) {
      fail(ast_.node(n.b).pos, "expected type " + std::string(type_name(want_t)) +
                                   " in aggregation parameter, got " + std::string(type_name(pt)));
      return kNoNode;
    }
  }
  return add_node(n);
}

}  // namespace obsgate::filters::promql
