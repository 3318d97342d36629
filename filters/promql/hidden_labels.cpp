// Hidden labels: a query may not name one anywhere (matchers, grouping, vector matching, or
// the label-name arguments of functions and count_values).
#include <optional>
#include <string>
#include <vector>

#include "filters/promql/promql.h"

namespace obsgate::filters::promql {
namespace {

NodeId unwrap_parens(const Ast& ast, NodeId id) {
  while (ast.node(id).kind == NodeKind::kParen) {
    id = ast.node(id).a;
  }
  return id;
}

Status hidden_error(std::string_view label, std::string_view where) {
  return Status::invalid_argument("label \"" + std::string(label) + "\" is not accessible (" +
                                  std::string(where) + ")");
}

// String-literal argument i of a call, through parentheses.
std::optional<std::string_view> string_arg(const Ast& ast, const Node& call, uint32_t i) {
  if (i >= call.args.size) {
    return std::nullopt;
  }
  const Node& a = ast.node(unwrap_parens(ast, ast.ids(call.args)[i]));
  if (a.kind != NodeKind::kString) {
    return std::nullopt;
  }
  return a.str;
}

Status check_hidden_rec(const Ast& ast, NodeId id, const Scope& scope, int depth) {
  if (id == kNoNode) {
    return Status();
  }
  if (depth > 4096) {  // parsed trees are far shallower; fail closed regardless
    return Status::invalid_argument("expression nesting too deep");
  }
  const Node& n = ast.node(id);
  auto labels = [&](Span s, std::string_view where) -> Status {
    for (uint32_t i = 0; i < s.size; ++i) {
      if (scope.is_hidden(ast.labels(s)[i])) {
        return hidden_error(ast.labels(s)[i], where);
      }
    }
    return Status();
  };
  switch (n.kind) {
    case NodeKind::kVectorSelector:
      for (uint32_t i = 0; i < n.matchers.size; ++i) {
        if (scope.is_hidden(ast.matchers(n.matchers)[i].name)) {
          return hidden_error(ast.matchers(n.matchers)[i].name, "label matcher");
        }
      }
      return Status();
    case NodeKind::kAggregate: {
      if (Status s = labels(n.grouping, n.without ? "without" : "by"); !s.ok()) {
        return s;
      }
      if (n.agg == AggOp::kCountValues && n.b != kNoNode) {
        const Node& p = ast.node(unwrap_parens(ast, n.b));
        if (p.kind == NodeKind::kString && scope.is_hidden(p.str)) {
          return hidden_error(p.str, "count_values");
        }
      }
      break;
    }
    case NodeKind::kBinary: {
      if (Status s = labels(n.matching_labels, n.on ? "on" : "ignoring"); !s.ok()) {
        return s;
      }
      if (Status s = labels(n.include_labels, "group modifier"); !s.ok()) {
        return s;
      }
      break;
    }
    case NodeKind::kCall: {
      // Which string arguments are label names (no allocation: this runs per call node).
      auto is_label_arg = [&](uint32_t i) {
        if (n.str == "label_replace") {
          return i == 1 || i == 3;
        }
        if (n.str == "label_join") {
          return i == 1 || i >= 3;
        }
        if (n.str == "sort_by_label" || n.str == "sort_by_label_desc") {
          return i >= 1;
        }
        return n.str == "histogram_quantiles" && i == 1;
      };
      for (uint32_t i = 0; i < n.args.size; ++i) {
        if (!is_label_arg(i)) {
          continue;
        }
        if (auto l = string_arg(ast, n, i); l && scope.is_hidden(*l)) {
          return hidden_error(*l, std::string(n.str) + "()");
        }
      }
      for (uint32_t i = 0; i < n.args.size; ++i) {
        if (Status s = check_hidden_rec(ast, ast.ids(n.args)[i], scope, depth + 1); !s.ok()) {
          return s;
        }
      }
      return Status();
    }
    default: break;
  }
  if (Status s = check_hidden_rec(ast, n.a, scope, depth + 1); !s.ok()) {
    return s;
  }
  return check_hidden_rec(ast, n.b, scope, depth + 1);
}
}  // namespace

Status check_hidden_labels(const Ast& ast, const Scope& scope) {
  if (scope.hidden_labels.empty()) {
    return Status();
  }
  return check_hidden_rec(ast, ast.root(), scope, 0);
}
}  // namespace obsgate::filters::promql
