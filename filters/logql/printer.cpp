// AST -> LogQL text that Loki (and logql::parse) reads back into the same tree.
//
// Binary operands and binary label filters that are themselves binary are always parenthesized,
// so no precedence reasoning is needed to read the output back. `group_left`/`group_right`
// always carry their (possibly empty) label list: a `(` right after them would otherwise be
// taken as that list.
#include "filters/logql/logql.h"
#include "filters/logql/values.h"

namespace obsgate::filters::logql {
namespace {

using detail::append_quoted;

void put_str(std::string& out, const Str& s) {
  if (s.raw && s.value.find('`') == std::string::npos) {
    out += '`';
    out += s.value;
    out += '`';
  } else {
    append_quoted(out, s.value);
  }
}

void put_matcher(std::string& out, const std::string& name, MatchOp op, const Str& v) {
  out += name;
  out += match_op_string(op);
  put_str(out, v);
}

void put_labels(std::string& out, const std::vector<std::string>& labels) {
  out += '(';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += labels[i];
  }
  out += ')';
}

const char* cmp_string(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return "==";
    case CmpOp::kNeq: return "!=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGte: return ">=";
    case CmpOp::kLt: return "<";
    case CmpOp::kLte: return "<=";
  }
  return "==";
}

const char* line_op_string(LineOp op) {
  switch (op) {
    case LineOp::kContains: return "|=";
    case LineOp::kNotContains: return "!=";
    case LineOp::kRegex: return "|~";
    case LineOp::kNotRegex: return "!~";
    case LineOp::kPattern: return "|>";
    case LineOp::kNotPattern: return "!>";
  }
  return "|=";
}

void put_label_filter(std::string& out, const LabelFilter& f) {
  using K = LabelFilter::Kind;
  switch (f.kind) {
    case K::kAnd:
    case K::kOr: {
      const auto side = [&](const LabelFilter& c) {
        const bool wrap = c.kind == K::kAnd || c.kind == K::kOr;
        if (wrap) {
          out += '(';
        }
        put_label_filter(out, c);
        if (wrap) {
          out += ')';
        }
      };
      side(*f.left);
      out += f.kind == K::kAnd ? " and " : " or ";
      side(*f.right);
      return;
    }
    case K::kString: put_matcher(out, f.name, f.match, f.value); return;
    case K::kIp:
      out += f.name;
      out += f.cmp == CmpOp::kNeq ? "!=" : "=";
      out += "ip(";
      put_str(out, f.value);
      out += ')';
      return;
    default: break;
  }
  out += f.name;
  out += ' ';
  out += cmp_string(f.cmp);
  out += ' ';
  if (f.kind == K::kNumber) {
    out += detail::format_number(f.number);
  } else if (f.kind == K::kDuration) {
    out += detail::format_duration(f.duration_ns);
  } else if (f.bytes == 0) {
    out += "0KB";  // "0B" would read as a binary-literal prefix
  } else {
    out += std::to_string(f.bytes);
    out += 'B';
  }
}

struct StagePrinter {
  std::string& out;
  void operator()(const LineFilter& f) const {
    out += line_op_string(f.op);
    out += ' ';
    for (size_t i = 0; i < f.terms.size(); ++i) {
      if (i > 0) {
        out += " or ";
      }
      if (f.terms[i].ip) {
        out += "ip(";
        put_str(out, f.terms[i].value);
        out += ')';
      } else {
        put_str(out, f.terms[i].value);
      }
    }
  }
  void operator()(const ParserStage& p) const {
    static constexpr const char* kNames[] = {"json", "logfmt", "regexp", "pattern", "unpack"};
    out += "| ";
    out += kNames[static_cast<int>(p.kind)];
    if (p.strict) {
      out += " --strict";
    }
    if (p.keep_empty) {
      out += " --keep-empty";
    }
    if (p.kind == ParserKind::kRegexp || p.kind == ParserKind::kPattern) {
      out += ' ';
      put_str(out, p.param);
    }
    for (size_t i = 0; i < p.extractions.size(); ++i) {
      out += i == 0 ? " " : ", ";
      const Extraction& e = p.extractions[i];
      out += e.label;
      if (e.expr.raw || e.expr.value != e.label) {
        out += '=';
        put_str(out, e.expr);
      }
    }
  }
  void operator()(const LabelFilterStage& s) const {
    out += "| ";
    put_label_filter(out, *s.filter);
  }
  void operator()(const LineFormat& f) const {
    out += "| line_format ";
    put_str(out, f.tmpl);
  }
  void operator()(const LabelFormat& f) const {
    out += "| label_format ";
    for (size_t i = 0; i < f.items.size(); ++i) {
      if (i > 0) {
        out += ", ";
      }
      out += f.items[i].dst;
      out += '=';
      if (f.items[i].rename) {
        out += f.items[i].source;
      } else {
        put_str(out, f.items[i].tmpl);
      }
    }
  }
  void operator()(const Decolorize&) const { out += "| decolorize"; }
  void operator()(const DropKeep& d) const {
    out += d.keep ? "| keep " : "| drop ";
    for (size_t i = 0; i < d.items.size(); ++i) {
      if (i > 0) {
        out += ", ";
      }
      if (d.items[i].matcher) {
        const LabelMatcher& m = *d.items[i].matcher;
        put_matcher(out, m.name, m.op, m.value);
      } else {
        out += d.items[i].name;
      }
    }
  }
};

void put_log(std::string& out, const LogQuery& q) {
  put_selector(out, q.selector);
  for (const Stage& s : q.pipeline) {
    out += ' ';
    std::visit(StagePrinter{out}, s);
  }
}

void put_range(std::string& out, const LogRange& r) {
  put_log(out, r.log);
  if (r.unwrap) {
    static constexpr const char* kConv[] = {"", "bytes", "duration", "duration_seconds"};
    out += " | unwrap ";
    if (r.unwrap->conv == ConvOp::kNone) {
      out += r.unwrap->label;
    } else {
      out += kConv[static_cast<int>(r.unwrap->conv)];
      out += '(';
      out += r.unwrap->label;
      out += ')';
    }
    for (const LabelFilterStage& f : r.unwrap->post_filters) {
      out += " | ";
      put_label_filter(out, *f.filter);
    }
  }
  if (!r.log.pipeline.empty() || r.unwrap) {
    out += ' ';
  }
  out += '[';
  out += detail::format_range(r.range_ns);
  out += ']';
  if (r.offset_ns) {
    out += " offset ";
    out += detail::format_duration(*r.offset_ns);
  }
}

void put_grouping(std::string& out, const Grouping& g) {
  out += g.without ? "without " : "by ";
  put_labels(out, g.labels);
}

void put_expr(std::string& out, const Expr& e);

struct ExprPrinter {
  std::string& out;
  void operator()(const LogQuery& q) const { put_log(out, q); }
  void operator()(const RangeAggregation& r) const {
    out += range_op_name(r.op);
    out += '(';
    if (r.param) {
      out += detail::format_number(*r.param);
      out += ", ";
    }
    put_range(out, r.range);
    out += ')';
    if (r.grouping) {
      out += ' ';
      put_grouping(out, *r.grouping);
    }
  }
  void operator()(const VectorAggregation& v) const {
    out += vector_op_name(v.op);
    if (v.grouping) {
      out += ' ';
      put_grouping(out, *v.grouping);
      out += ' ';
    }
    out += '(';
    if (v.param) {
      out += std::to_string(*v.param);
      out += ", ";
    }
    put_expr(out, *v.arg);
    out += ')';
  }
  void operator()(const BinaryOp& b) const {
    const auto side = [&](const Expr& c) {
      const bool wrap = std::holds_alternative<BinaryOp>(c.node);
      if (wrap) {
        out += '(';
      }
      put_expr(out, c);
      if (wrap) {
        out += ')';
      }
    };
    side(*b.lhs);
    out += ' ';
    out += bin_op_name(b.op);
    if (b.return_bool) {
      out += " bool";
    }
    if (b.on || !b.matching.empty() || b.card != Card::kOneToOne) {
      out += b.on ? " on" : " ignoring";
      put_labels(out, b.matching);
      if (b.card != Card::kOneToOne) {
        out += b.card == Card::kManyToOne ? " group_left" : " group_right";
        put_labels(out, b.include);
      }
    }
    out += ' ';
    side(*b.rhs);
  }
  void operator()(const Literal& l) const { out += detail::format_number(l.value); }
  void operator()(const VectorLiteral& v) const {
    out += "vector(";
    out += detail::format_number(v.value);
    out += ')';
  }
  void operator()(const LabelReplace& l) const {
    out += "label_replace(";
    put_expr(out, *l.arg);
    for (const Str* s : {&l.dst, &l.replacement, &l.src, &l.regex}) {
      out += ", ";
      put_str(out, *s);
    }
    out += ')';
  }
};

void put_expr(std::string& out, const Expr& e) { std::visit(ExprPrinter{out}, e.node); }

}  // namespace

void put_selector(std::string& out, const Selector& s) {
  out += '{';
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    put_matcher(out, s.matchers[i].name, s.matchers[i].op, s.matchers[i].value);
  }
  out += '}';
}

std::string print(const Expr& e) {
  std::string out;
  out.reserve(128);
  put_expr(out, e);
  return out;
}

}  // namespace obsgate::filters::logql
