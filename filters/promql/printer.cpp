// AST -> PromQL text that Prometheus parses back into the same tree. Parentheses are printed
// only where the tree has kParen nodes (the parser keeps them, and the enforcer adds its own),
// so precedence never needs to be recomputed here.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/go_string.h"
#include "filters/promql/lexer.h"
#include "filters/promql/promql.h"

namespace obsgate::filters::promql {
namespace {

constexpr std::string_view kMetricName = "__name__";

using go_string::append_quoted;

void append_label(std::string& out, std::string_view name) {
  if (is_legacy_label_name(name)) {
    out += name;
  } else {
    append_quoted(out, name);
  }
}

// Words the lexer would not read back as a plain metric name.
bool reserved_word(std::string_view s) {
  constexpr std::string_view kWords[] = {
      "and",      "or",           "unless",      "atan2",     "offset",  "by",
      "without",  "on",           "ignoring",    "group_left", "group_right", "bool",
      "anchored", "smoothed",     "sum",         "avg",       "count",   "min",
      "max",      "group",        "stddev",      "stdvar",    "topk",    "bottomk",
      "quantile", "count_values", "limitk",      "limit_ratio", "inf",   "nan",
      "start",    "end",          "step",        "range",     "min_of",  "max_of",
      "fill",     "fill_left",    "fill_right"};
  if (s.size() > 12) {
    return false;
  }
  char buf[12];
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view low(buf, s.size());
  for (std::string_view w : kWords) {
    if (w[0] == low[0] && w == low) {
      return true;
    }
  }
  return false;
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "Inf" : "-Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, r.ptr);
  }
}

void append_duration(std::string& out, int64_t ms) {
  if (ms == 0) {
    out += "0s";
    return;
  }
  uint64_t u = ms < 0 ? static_cast<uint64_t>(-(ms + 1)) + 1 : static_cast<uint64_t>(ms);
  if (ms < 0) {
    out += '-';
  }
  constexpr struct {
    uint64_t ms;
    const char* unit;
  } kUnits[] = {{365ULL * 86400000, "y"}, {7ULL * 86400000, "w"}, {86400000, "d"},
                {3600000, "h"},           {60000, "m"},           {1000, "s"},
                {1, "ms"}};
  for (const auto& unit : kUnits) {
    if (u >= unit.ms) {
      out += std::to_string(u / unit.ms);
      out += unit.unit;
      u %= unit.ms;
    }
  }
}

void append_at_offset(std::string& out, AtKind at, int64_t at_ms, int64_t offset_ms) {
  switch (at) {
    case AtKind::kNone: break;
    case AtKind::kStart: out += " @ start()"; break;
    case AtKind::kEnd: out += " @ end()"; break;
    case AtKind::kTimestamp: {
      out += " @ ";
      uint64_t u = at_ms < 0 ? static_cast<uint64_t>(-(at_ms + 1)) + 1 : static_cast<uint64_t>(at_ms);
      if (at_ms < 0) {
        out += '-';
      }
      out += std::to_string(u / 1000);
      if (u % 1000 != 0) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), ".%03u", static_cast<unsigned>(u % 1000));
        std::string_view frac(buf);
        while (frac.back() == '0') {
          frac.remove_suffix(1);
        }
        out += frac;
      }
      break;
    }
  }
  if (offset_ms != 0) {
    out += " offset ";
    append_duration(out, offset_ms);
  }
}

void append_labels(std::string& out, const Ast& ast, Span s) {
  out += '(';
  for (uint32_t i = 0; i < s.size; ++i) {
    if (i > 0) {
      out += ", ";
    }
    append_label(out, ast.labels(s)[i]);
  }
  out += ')';
}

class Printer {
 public:
  Printer(const Ast& ast, std::string& out) : ast_(ast), out_(out) {}

  void print(NodeId id) {
    const Node& n = ast_.node(id);
    switch (n.kind) {
      case NodeKind::kNumber: append_number(out_, n.number); break;
      case NodeKind::kString: append_quoted(out_, n.str); break;
      case NodeKind::kVectorSelector:
        selector(n);
        append_at_offset(out_, n.at, n.at_ms, n.offset_ms);
        break;
      case NodeKind::kMatrixSelector: {
        const Node& vs = ast_.node(n.a);
        selector(vs);
        out_ += '[';
        append_duration(out_, n.range_ms);
        out_ += ']';
        append_at_offset(out_, vs.at, vs.at_ms, vs.offset_ms);
        break;
      }
      case NodeKind::kSubquery:
        print(n.a);
        out_ += '[';
        append_duration(out_, n.range_ms);
        out_ += ':';
        if (n.step_ms != 0) {
          append_duration(out_, n.step_ms);
        }
        out_ += ']';
        append_at_offset(out_, n.at, n.at_ms, n.offset_ms);
        break;
      case NodeKind::kCall:
        out_ += n.str;
        out_ += '(';
        for (uint32_t i = 0; i < n.args.size; ++i) {
          if (i > 0) {
            out_ += ", ";
          }
          print(ast_.ids(n.args)[i]);
        }
        out_ += ')';
        break;
      case NodeKind::kAggregate:
        out_ += agg_op_string(n.agg);
        if (n.has_grouping) {
          out_ += n.without ? " without " : " by ";
          append_labels(out_, ast_, n.grouping);
          out_ += ' ';
        }
        out_ += '(';
        if (n.b != kNoNode) {
          print(n.b);
          out_ += ", ";
        }
        print(n.a);
        out_ += ')';
        break;
      case NodeKind::kBinary: binary(n); break;
      case NodeKind::kUnary:
        out_ += n.negate ? '-' : '+';
        print(n.a);
        break;
      case NodeKind::kParen:
        out_ += '(';
        print(n.a);
        out_ += ')';
        break;
    }
  }

 private:
  void binary(const Node& n) {
    print(n.a);
    out_ += ' ';
    out_ += bin_op_string(n.bin);
    if (n.return_bool) {
      out_ += " bool";
    }
    const bool grouped = n.card == Card::kManyToOne || n.card == Card::kOneToMany;
    if (n.on || n.matching_labels.size > 0 || grouped) {
      out_ += n.on ? " on" : " ignoring";
      append_labels(out_, ast_, n.matching_labels);
      if (grouped) {
        // Always with parentheses: a bare `group_left` followed by a parenthesised right-hand
        // side would read the operand as the label list.
        out_ += n.card == Card::kManyToOne ? " group_left" : " group_right";
        append_labels(out_, ast_, n.include_labels);
      }
    }
    out_ += ' ';
    print(n.b);
  }

  void selector(const Node& n) {
    const LabelMatcher* m = ast_.matchers(n.matchers);
    uint32_t names = 0;
    for (uint32_t i = 0; i < n.matchers.size; ++i) {
      names += m[i].name == kMetricName ? 1 : 0;
    }
    uint32_t first = 0;
    // Prefix form for the lone `__name__=` matcher (canonically first), when the lexer would
    // read it back as a metric name; otherwise it stays a `__name__` matcher, which both
    // Prometheus 2 and 3 accept.
    if (names == 1 && n.matchers.size > 0 && m[0].name == kMetricName &&
        m[0].op == MatchOp::kEq && is_legacy_metric_name(m[0].value) &&
        !reserved_word(m[0].value)) {
      out_ += m[0].value;
      first = 1;
      if (n.matchers.size == 1) {
        return;
      }
    }
    out_ += '{';
    for (uint32_t i = first; i < n.matchers.size; ++i) {
      if (i > first) {
        out_ += ", ";
      }
      append_label(out_, m[i].name);
      out_ += match_op_string(m[i].op);
      append_quoted(out_, m[i].value);
    }
    out_ += '}';
  }

  const Ast& ast_;
  std::string& out_;
};

}  // namespace

std::string print(const Ast& ast, NodeId id) {
  std::string out;
  out.reserve(128);
  if (id != kNoNode) {
    Printer(ast, out).print(id);
  }
  return out;
}

std::string print(const Ast& ast) { return print(ast, ast.root()); }

}  // namespace obsgate::filters::promql
