// Label filters (`| status >= 500 and method="GET"`) and the unwrap stage.
#include "filters/logql/parser.h"
#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {
namespace {

bool cmp_op(Tok k, CmpOp& op) {
  switch (k) {
    case Tok::kEq:
    case Tok::kCmpEq: op = CmpOp::kEq; return true;
    case Tok::kNeq: op = CmpOp::kNeq; return true;
    case Tok::kGt: op = CmpOp::kGt; return true;
    case Tok::kGte: op = CmpOp::kGte; return true;
    case Tok::kLt: op = CmpOp::kLt; return true;
    case Tok::kLte: op = CmpOp::kLte; return true;
    default: return false;
  }
}

}  // namespace

Status Parser::parse_unwrap(Unwrap& out) {
  if (Status st = expect(Tok::kPipe, "|"); !st.ok()) {
    return st;
  }
  if (Status st = expect(Tok::kUnwrap, "unwrap"); !st.ok()) {
    return st;
  }
  const Token& t = cur();
  if (t.kind == Tok::kFunc && (t.func == Func::kBytesConv || t.func == Func::kDurationConv ||
                               t.func == Func::kDurationSecondsConv)) {
    out.conv = t.func == Func::kBytesConv      ? ConvOp::kBytes
               : t.func == Func::kDurationConv ? ConvOp::kDuration
                                               : ConvOp::kDurationSeconds;
    accept(Tok::kFunc);
    if (Status st = expect(Tok::kLParen, "("); !st.ok()) {
      return st;
    }
    const Token& name = cur();
    if (Status st = expect(Tok::kIdent, "IDENTIFIER"); !st.ok()) {
      return st;
    }
    out.label = std::string(name.text);
    if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
      return st;
    }
  } else {
    if (Status st = expect(Tok::kIdent, "IDENTIFIER"); !st.ok()) {
      return st;
    }
    out.label = std::string(t.text);
  }
  // Post-unwrap label filters: `| unwrap x | __error__=""`.
  while (at(Tok::kPipe) && (ahead(1).kind == Tok::kIdent || ahead(1).kind == Tok::kLParen)) {
    accept(Tok::kPipe);
    auto f = parse_label_filter(0);
    if (!f.ok()) {
      return f.status();
    }
    out.post_filters.emplace_back(std::move(f).value());
  }
  return {};
}

namespace {

LabelFilterPtr combine(LabelFilter::Kind k, LabelFilterPtr l, LabelFilterPtr r) {
  auto n = std::make_unique<LabelFilter>();
  n->kind = k;
  n->height = std::max(l->height, r->height) + 1;
  n->left = std::move(l);
  n->right = std::move(r);
  return n;
}

}  // namespace

// One comparison, or a parenthesized filter.
static Result<LabelFilterPtr> parse_label_filter_primary(Parser& p) {
  if (p.accept(Tok::kLParen)) {
    auto inner = p.parse_label_filter(0);
    if (!inner.ok()) {
      return inner;
    }
    if (Status st = p.expect(Tok::kRParen, ")"); !st.ok()) {
      return st;
    }
    return inner;
  }
  const Token& name = p.cur();
  if (!p.accept(Tok::kIdent)) {
    return p.unexpected("a label filter");
  }
  auto f = std::make_unique<LabelFilter>();
  f->name = std::string(name.text);
  const Token& op = p.cur();
  const Token& v = p.ahead(1);
  // String matchers: = != =~ !~ followed by a string.
  if (v.kind == Tok::kString && match_op(op.kind, f->match)) {
    p.accept(op.kind);
    p.accept(Tok::kString);
    f->kind = LabelFilter::Kind::kString;
    f->value = str_of(v);
    if (f->match == MatchOp::kRe || f->match == MatchOp::kNre) {
      std::string err;
      if (!regex_ok("^(?:" + f->value.value + ")$", &err)) {
        return p.error(v, "invalid regex in label filter on " + f->name + ": " + err);
      }
    }
    return f;
  }
  if (!cmp_op(op.kind, f->cmp)) {
    return p.unexpected("a comparison operator");
  }
  p.accept(op.kind);
  if (v.kind == Tok::kFunc && v.func == Func::kIp) {
    if (op.kind != Tok::kEq && op.kind != Tok::kNeq) {
      return p.error(op, "ip() label filters only support = and !=");
    }
    p.accept(Tok::kFunc);
    if (Status st = p.expect(Tok::kLParen, "("); !st.ok()) {
      return st;
    }
    const Token& s = p.cur();
    if (Status st = p.expect(Tok::kString, "STRING"); !st.ok()) {
      return st;
    }
    if (Status st = p.expect(Tok::kRParen, ")"); !st.ok()) {
      return st;
    }
    f->kind = LabelFilter::Kind::kIp;
    f->value = str_of(s);
    return f;
  }
  if (p.accept(Tok::kDuration)) {
    f->kind = LabelFilter::Kind::kDuration;
    f->duration_ns = v.dur;
    return f;
  }
  if (p.accept(Tok::kBytes)) {
    f->kind = LabelFilter::Kind::kBytes;
    f->bytes = v.bytes;
    return f;
  }
  bool neg = false;
  if (p.at(Tok::kAdd) || p.at(Tok::kSub)) {
    neg = p.at(Tok::kSub);
    p.accept(p.cur().kind);
  }
  const Token& num = p.cur();
  if (!p.accept(Tok::kNumber)) {
    return p.unexpected("NUMBER, DURATION or BYTES");
  }
  auto d = parse_float(num.text);
  if (!d) {
    return p.error(num, "invalid number " + std::string(num.text));
  }
  f->kind = LabelFilter::Kind::kNumber;
  f->number = neg ? -*d : *d;
  return f;
}

// Precedence as Loki's yacc resolves it: `or` < `and`; `,` and juxtaposition take everything to
// their right (the grammar gives them no precedence, so yacc always shifts).
Result<LabelFilterPtr> Parser::parse_label_filter(int min_prec) {
  if (Status st = enter(); !st.ok()) {
    return st;
  }
  auto lhs = parse_label_filter_primary(*this);
  while (lhs.ok()) {
    int prec = 0;
    LabelFilter::Kind kind = LabelFilter::Kind::kAnd;
    if (at(Tok::kComma) || at(Tok::kIdent) || at(Tok::kLParen)) {
      accept(Tok::kComma);
      prec = 0;  // right operand: all the rest
    } else if (at(Tok::kOr) && min_prec <= 1) {
      accept(Tok::kOr);
      kind = LabelFilter::Kind::kOr;
      prec = 2;
    } else if (at(Tok::kAnd) && min_prec <= 2) {
      accept(Tok::kAnd);
      prec = 3;
    } else {
      break;
    }
    auto rhs = parse_label_filter(prec);
    if (!rhs.ok()) {
      lhs = std::move(rhs);
      break;
    }
    auto node = combine(kind, std::move(lhs).value(), std::move(rhs).value());
    if (node->height > kMaxDepth) {
      lhs = error(cur(), "label filter nested too deeply");
      break;
    }
    lhs = std::move(node);
  }
  leave();
  return lhs;
}

}  // namespace obsgate::filters::logql::detail
