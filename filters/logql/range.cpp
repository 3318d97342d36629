// Log ranges (`{..} | p [5m] offset 1h`, in all three spellings) and range aggregations.
#include "filters/logql/parser.h"
#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {
namespace {

// Which range aggregations take an unwrap / a grouping (Loki ast.go RangeAggregationExpr).
bool range_allows_grouping(RangeOp op) {
  switch (op) {
    case RangeOp::kAvgOverTime:
    case RangeOp::kStddevOverTime:
    case RangeOp::kStdvarOverTime:
    case RangeOp::kQuantileOverTime:
    case RangeOp::kMaxOverTime:
    case RangeOp::kMinOverTime:
    case RangeOp::kFirstOverTime:
    case RangeOp::kLastOverTime: return true;
    default: return false;
  }
}
bool range_allows_unwrap(RangeOp op) {
  switch (op) {
    case RangeOp::kCountOverTime:
    case RangeOp::kBytesOverTime:
    case RangeOp::kBytesRate: return false;
    default: return true;
  }
}
bool range_needs_unwrap(RangeOp op) {
  switch (op) {
    case RangeOp::kCountOverTime:
    case RangeOp::kBytesOverTime:
    case RangeOp::kBytesRate:
    case RangeOp::kRate:
    case RangeOp::kAbsentOverTime: return false;
    default: return true;
  }
}

}  // namespace

namespace {

Status parse_offset(Parser& p, LogRange& out) {
  if (p.accept(Tok::kOffset)) {
    const Token& d = p.cur();
    if (Status st = p.expect(Tok::kDuration, "DURATION"); !st.ok()) {
      return st;
    }
    out.offset_ns = d.dur;
  }
  return {};
}

Status parse_range_token(Parser& p, LogRange& out) {
  const Token& r = p.cur();
  if (Status st = p.expect(Tok::kRange, "a range [duration]"); !st.ok()) {
    return st;
  }
  out.range_ns = r.dur;
  return {};
}

bool at_unwrap(const Parser& p) { return p.at(Tok::kPipe) && p.ahead(1).kind == Tok::kUnwrap; }

Status parse_optional_unwrap(Parser& p, LogRange& out) {
  if (at_unwrap(p)) {
    out.unwrap.emplace();
    return p.parse_unwrap(*out.unwrap);
  }
  return {};
}

// After a selector outside parentheses: `RANGE [offset] [pipeline] [unwrap]` or
// `[pipeline] [unwrap] RANGE [offset]`.
Status parse_range_tail(Parser& p, LogRange& out) {
  if (p.at(Tok::kRange)) {
    if (Status st = parse_range_token(p, out); !st.ok()) {
      return st;
    }
    if (Status st = parse_offset(p, out); !st.ok()) {
      return st;
    }
    if (Status st = p.parse_pipeline(out.log.pipeline); !st.ok()) {
      return st;
    }
    return parse_optional_unwrap(p, out);
  }
  if (Status st = p.parse_pipeline(out.log.pipeline); !st.ok()) {
    return st;
  }
  if (Status st = parse_optional_unwrap(p, out); !st.ok()) {
    return st;
  }
  if (Status st = parse_range_token(p, out); !st.ok()) {
    return st;
  }
  return parse_offset(p, out);
}

}  // namespace

Status Parser::parse_log_range(LogRange& out) {
  if (Status st = enter(); !st.ok()) {
    return st;
  }
  struct Leave {
    Parser* p;
    ~Leave() { p->leave(); }
  } guard{this};
  if (!accept(Tok::kLParen)) {
    if (Status st = parse_selector(out.log.selector); !st.ok()) {
      return st;
    }
    return parse_range_tail(*this, out);
  }
  if (!at(Tok::kLBrace)) {  // ( logRangeExpr )
    if (Status st = parse_log_range(out); !st.ok()) {
      return st;
    }
    return expect(Tok::kRParen, ")");
  }
  if (Status st = parse_selector(out.log.selector); !st.ok()) {
    return st;
  }
  if (at(Tok::kRange)) {  // ( selector RANGE ... )
    if (Status st = parse_range_tail(*this, out); !st.ok()) {
      return st;
    }
    return expect(Tok::kRParen, ")");
  }
  if (Status st = parse_pipeline(out.log.pipeline); !st.ok()) {
    return st;
  }
  if (Status st = parse_optional_unwrap(*this, out); !st.ok()) {
    return st;
  }
  if (at(Tok::kRange)) {  // ( selector pipeline [unwrap] RANGE [offset] )
    if (Status st = parse_range_token(*this, out); !st.ok()) {
      return st;
    }
    if (Status st = parse_offset(*this, out); !st.ok()) {
      return st;
    }
    return expect(Tok::kRParen, ")");
  }
  // ( selector [pipeline] [unwrap] ) RANGE [offset], and `( selector ) RANGE [offset] unwrap`.
  const bool bare = out.log.pipeline.empty() && !out.unwrap;
  if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
    return st;
  }
  if (Status st = parse_range_token(*this, out); !st.ok()) {
    return st;
  }
  if (Status st = parse_offset(*this, out); !st.ok()) {
    return st;
  }
  return bare ? parse_optional_unwrap(*this, out) : Status();
}

Result<ExprPtr> Parser::parse_range_aggregation(Func f) {
  const Token& fn = cur();
  accept(Tok::kFunc);
  RangeAggregation ra;
  ra.op = static_cast<RangeOp>(static_cast<int>(f));
  const std::string name = range_op_name(ra.op);
  if (Status st = expect(Tok::kLParen, "("); !st.ok()) {
    return st;
  }
  if (at(Tok::kNumber) && ahead(1).kind == Tok::kComma) {
    const Token& num = cur();
    if (ra.op != RangeOp::kQuantileOverTime) {
      return error(num,
                   "parameter " + std::string(num.text) + " not supported for operation " + name);
    }
    auto v = parse_float(num.text);
    if (!v) {
      return error(num, "invalid parameter for operation " + name + ": " + std::string(num.text));
    }
    ra.param = *v;
    accept(Tok::kNumber);
    accept(Tok::kComma);
  } else if (ra.op == RangeOp::kQuantileOverTime) {
    return error(fn, "parameter required for operation " + name);
  }
  if (Status st = parse_log_range(ra.range); !st.ok()) {
    return st;
  }
  if (Status st = expect(Tok::kRParen, ")"); !st.ok()) {
    return st;
  }
  if (at(Tok::kBy) || at(Tok::kWithout)) {
    ra.grouping.emplace();
    if (Status st = parse_grouping(*ra.grouping); !st.ok()) {
      return st;
    }
    if (!range_allows_grouping(ra.op)) {
      return error(fn, "grouping not allowed for " + name + " aggregation");
    }
  }
  if (ra.range.unwrap && !range_allows_unwrap(ra.op)) {
    return error(fn, "invalid aggregation " + name + " with unwrap");
  }
  if (!ra.range.unwrap && range_needs_unwrap(ra.op)) {
    return error(fn, "invalid aggregation " + name + " without unwrap");
  }
  auto e = std::make_unique<Expr>();
  e->node = std::move(ra);
  return e;
}

}  // namespace obsgate::filters::logql::detail
