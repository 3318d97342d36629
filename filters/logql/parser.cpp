// Expressions: binary operators, aggregations, log ranges, literals.
#include "filters/logql/parser.h"

#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {
namespace {

constexpr size_t kMaxInputSize = 131072;  // Loki's maxInputSize

struct BinInfo {
  BinOp op;
  int prec;
};

bool bin_info(Tok k, BinInfo& out) {
  switch (k) {
    case Tok::kOr: out = {BinOp::kOr, 1}; return true;
    case Tok::kAnd: out = {BinOp::kAnd, 2}; return true;
    case Tok::kUnless: out = {BinOp::kUnless, 2}; return true;
    case Tok::kCmpEq: out = {BinOp::kEq, 3}; return true;
    case Tok::kNeq: out = {BinOp::kNeq, 3}; return true;
    case Tok::kGt: out = {BinOp::kGt, 3}; return true;
    case Tok::kGte: out = {BinOp::kGte, 3}; return true;
    case Tok::kLt: out = {BinOp::kLt, 3}; return true;
    case Tok::kLte: out = {BinOp::kLte, 3}; return true;
    case Tok::kAdd: out = {BinOp::kAdd, 4}; return true;
    case Tok::kSub: out = {BinOp::kSub, 4}; return true;
    case Tok::kMul: out = {BinOp::kMul, 5}; return true;
    case Tok::kDiv: out = {BinOp::kDiv, 5}; return true;
    case Tok::kMod: out = {BinOp::kMod, 5}; return true;
    case Tok::kPow: out = {BinOp::kPow, 6}; return true;
    default: return false;
  }
}

bool is_set_op(BinOp op) { return op == BinOp::kOr || op == BinOp::kAnd || op == BinOp::kUnless; }

ExprPtr make_expr() { return std::make_unique<Expr>(); }

}  // namespace

Status Parser::expect(Tok k, std::string_view what) {
  if (accept(k)) {
    return {};
  }
  return unexpected(what);
}

Status Parser::unexpected(std::string_view expecting) const {
  std::string msg = "syntax error: unexpected " + token_name(cur());
  if (!expecting.empty()) {
    msg += ", expecting ";
    msg += expecting;
  }
  return error(cur(), msg);
}

Result<ExprPtr> Parser::parse_query() {
  if (in_.size() >= kMaxInputSize) {
    return Status::invalid_argument("parse error : input size too long (" +
                                    std::to_string(in_.size()) + " > " +
                                    std::to_string(kMaxInputSize) + ")");
  }
  auto e = parse_expr(0);
  if (!e.ok()) {
    return e;
  }
  if (!at(Tok::kEof)) {
    return unexpected();
  }
  return e;
}

Result<ExprPtr> Parser::parse_expr(int min_prec) {
  if (Status st = enter(); !st.ok()) {
    return st;
  }
  auto lhs = parse_primary();
  BinInfo bi{};
  while (lhs.ok() && bin_info(cur().kind, bi) && bi.prec >= min_prec) {
    const Token& op_tok = cur();
    accept(op_tok.kind);
    BinaryOp b;
    b.op = bi.op;
    if (Status st = parse_bin_modifiers(b); !st.ok()) {
      lhs = st;
      break;
    }
    auto rhs = parse_expr(bi.op == BinOp::kPow ? bi.prec : bi.prec + 1);
    if (!rhs.ok()) {
      lhs = std::move(rhs);
      break;
    }
    const std::string op_name = bin_op_name(bi.op);
    if (lhs.value()->is_log() || rhs.value()->is_log()) {
      lhs = error(op_tok, "unexpected type for " +
                              std::string(lhs.value()->is_log() ? "left" : "right") +
                              " leg of binary operation (" + op_name + "): log query");
      break;
    }
    const bool l_lit = std::holds_alternative<Literal>(lhs.value()->node);
    const bool r_lit = std::holds_alternative<Literal>(rhs.value()->node);
    if (is_set_op(bi.op) && (l_lit || r_lit)) {
      lhs = error(op_tok, "unexpected literal for " + std::string(l_lit ? "left" : "right") +
                              " leg of logical/set binary operation (" + op_name + ")");
      break;
    }
    auto e = make_expr();
    e->height = std::max(lhs.value()->height, rhs.value()->height) + 1;
    if (e->height > kMaxDepth) {
      lhs = error(op_tok, "expression nested too deeply");
      break;
    }
    b.lhs = std::move(lhs).value();
    b.rhs = std::move(rhs).value();
    e->node = std::move(b);
    lhs = std::move(e);
  }
  leave();
  return lhs;
}

Status Parser::parse_bin_modifiers(BinaryOp& b) {
  b.return_bool = accept(Tok::kBool);
  if (!at(Tok::kOn) && !at(Tok::kIgnoring)) {
    return {};
  }
  b.on = at(Tok::kOn);
  accept(cur().kind);
  if (Status st = parse_label_list(b.matching); !st.ok()) {
    return st;
  }
  if (at(Tok::kGroupLeft) || at(Tok::kGroupRight)) {
    b.card = at(Tok::kGroupLeft) ? Card::kManyToOne : Card::kOneToMany;
    accept(cur().kind);
    // yacc shifts: a `(` right after group_x always opens its label list.
    if (at(Tok::kLParen)) {
      return parse_label_list(b.include);
    }
  }
  return {};
}

Status Parser::parse_label_list(std::vector<std::string>& out) {
  if (Status st = expect(Tok::kLParen, "("); !st.ok()) {
    return st;
  }
  if (accept(Tok::kRParen)) {
    return {};
  }
  do {
    const Token& t = cur();
    if (Status st = expect(Tok::kIdent, "IDENTIFIER"); !st.ok()) {
      return st;
    }
    out.emplace_back(t.text);
  } while (accept(Tok::kComma));
  return expect(Tok::kRParen, ")");
}

Status Parser::parse_grouping(Grouping& out) {
  out.without = at(Tok::kWithout);
  accept(cur().kind);
  return parse_label_list(out.labels);
}

Result<ExprPtr> Parser::parse_primary() {
  const Token& t = cur();
  switch (t.kind) {
    case Tok::kLParen: {
      accept(Tok::kLParen);
      auto inner = parse_expr(0);
      if (!inner.ok()) {
        return inner;
      }
      if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
        return st;
      }
      return inner;
    }
    case Tok::kLBrace: {
      LogQuery q;
      if (Status st = parse_selector(q.selector); !st.ok()) {
        return st;
      }
      if (Status st = parse_pipeline(q.pipeline); !st.ok()) {
        return st;
      }
      auto e = make_expr();
      e->node = std::move(q);
      return e;
    }
    case Tok::kNumber:
    case Tok::kAdd:
    case Tok::kSub: {
      const bool neg = t.kind == Tok::kSub;
      if (t.kind != Tok::kNumber) {
        accept(t.kind);
      }
      const Token& num = cur();
      if (!accept(Tok::kNumber)) {
        return unexpected("NUMBER");
      }
      auto v = parse_float(num.text);
      if (!v) {
        return error(num, "invalid number " + std::string(num.text));
      }
      auto e = make_expr();
      e->node = Literal{neg ? -*v : *v};
      return e;
    }
    case Tok::kFunc: {
      const int f = static_cast<int>(t.func);
      if (f < kFirstVectorFunc) {
        return parse_range_aggregation(t.func);
      }
      if (f < kFirstOtherFunc) {
        return parse_vector_aggregation(t.func);
      }
      if (t.func == Func::kLabelReplace) {
        return parse_label_replace();
      }
      if (t.func == Func::kVector) {
        return parse_vector();
      }
      return unexpected();
    }
    default: return unexpected();
  }
}

Result<ExprPtr> Parser::parse_vector_aggregation(Func f) {
  const Token& fn = cur();
  accept(Tok::kFunc);
  VectorAggregation va;
  va.op = static_cast<VectorOp>(static_cast<int>(f) - kFirstVectorFunc);
  const std::string name = vector_op_name(va.op);
  bool before = false;
  if (at(Tok::kBy) || at(Tok::kWithout)) {
    va.grouping.emplace();
    before = true;
    if (Status st = parse_grouping(*va.grouping); !st.ok()) {
      return st;
    }
  }
  if (Status st = expect(Tok::kLParen, "("); !st.ok()) {
    return st;
  }
  std::optional<Token> param;
  if (at(Tok::kNumber) && ahead(1).kind == Tok::kComma) {
    param = cur();
    accept(Tok::kNumber);
    accept(Tok::kComma);
  }
  auto arg = parse_expr(0);
  if (!arg.ok()) {
    return arg;
  }
  if (arg.value()->is_log()) {
    return error(fn, "syntax error: " + name + " expects a metric query, not a log query");
  }
  if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
    return st;
  }
  if (!before && (at(Tok::kBy) || at(Tok::kWithout))) {
    va.grouping.emplace();
    if (Status st = parse_grouping(*va.grouping); !st.ok()) {
      return st;
    }
  }
  const bool takes_k =
      va.op == VectorOp::kTopk || va.op == VectorOp::kBottomk || va.op == VectorOp::kApproxTopk;
  if (takes_k) {
    if (!param) {
      return error(fn, "parameter required for operation " + name);
    }
    auto k = parse_int(param->text);
    if (!k) {
      return error(*param, "invalid parameter " + name + "(" + std::string(param->text) + ",");
    }
    if (*k <= 0) {
      return error(*param, "invalid parameter (must be greater than 0) " + name + "(" +
                               std::string(param->text) + ",");
    }
    if (va.op == VectorOp::kApproxTopk && va.grouping) {
      return error(fn, "grouping not allowed for approx_topk aggregation");
    }
    va.param = *k;
  } else if (param) {
    return error(*param, "unsupported parameter for operation " + name + "(" +
                             std::string(param->text) + ",");
  }
  if ((va.op == VectorOp::kSort || va.op == VectorOp::kSortDesc) && va.grouping &&
      !va.grouping->labels.empty()) {
    return error(fn, "sort and sort_desc doesn't allow grouping by ");
  }
  auto e = make_expr();
  e->height = arg.value()->height + 1;
  if (e->height > kMaxDepth) {
    return error(fn, "expression nested too deeply");
  }
  va.arg = std::move(arg).value();
  e->node = std::move(va);
  return e;
}

Result<ExprPtr> Parser::parse_label_replace() {
  const Token& fn = cur();
  accept(Tok::kFunc);
  if (Status st = expect(Tok::kLParen, "("); !st.ok()) {
    return st;
  }
  auto arg = parse_expr(0);
  if (!arg.ok()) {
    return arg;
  }
  if (arg.value()->is_log()) {
    return error(fn, "syntax error: label_replace expects a metric query, not a log query");
  }
  LabelReplace lr;
  Str* fields[] = {&lr.dst, &lr.replacement, &lr.src, &lr.regex};
  for (Str* f : fields) {
    if (Status st = expect(Tok::kComma, ","); !st.ok()) {
      return st;
    }
    const Token& s = cur();
    if (Status st = expect(Tok::kString, "STRING"); !st.ok()) {
      return st;
    }
    *f = Str{s.str, s.raw};
  }
  if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
    return st;
  }
  std::string err;
  if (!regex_ok("^(?:" + lr.regex.value + ")$", &err)) {
    return error(fn, "invalid regex in label_replace: " + err);
  }
  if (!valid_label_name(lr.dst.value)) {
    return error(fn, "invalid destination label name in label_replace: " + lr.dst.value);
  }
  auto e = make_expr();
  e->height = arg.value()->height + 1;
  if (e->height > kMaxDepth) {
    return error(fn, "expression nested too deeply");
  }
  lr.arg = std::move(arg).value();
  e->node = std::move(lr);
  return e;
}

Result<ExprPtr> Parser::parse_vector() {
  accept(Tok::kFunc);
  if (Status st = expect(Tok::kLParen, "("); !st.ok()) {
    return st;
  }
  const Token& num = cur();
  if (Status st = expect(Tok::kNumber, "NUMBER"); !st.ok()) {
    return st;
  }
  auto v = parse_float(num.text);
  if (!v) {
    return error(num, "invalid number " + std::string(num.text));
  }
  if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
    return st;
  }
  auto e = make_expr();
  e->node = VectorLiteral{*v};
  return e;
}

}  // namespace obsgate::filters::logql::detail
