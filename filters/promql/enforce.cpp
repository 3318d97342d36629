// Scope enforcement on a parsed query.
//
// What "enforced" means: the rewritten query, run against the whole TSDB, returns exactly what
// the original query would return if the TSDB held only the series in scope. A scope is a
// union of rules R1 ∪ ... ∪ Rn; each rule is a conjunction of matchers.
//
// One rule (or rules that filters::collapse() merges into one): append the rule's matchers to
// every vector selector, instant or range, wherever it sits. Matchers are ANDed, so each
// selector selects exactly (its series) ∩ R, and every function, aggregation and operator then
// sees only in-scope input: exact by construction. The user's matchers are never touched.
// (absent(foo) becomes absent(foo{tenant="a"}), whose output then also carries tenant="a":
// Prometheus derives absent()'s labels from the selector's equality matchers.)
//
// Several rules: a selector cannot express a union, so the union is lifted with `or` to the
// nearest point where it is exact:
//   - an instant vector selector X becomes (X{r1} or X{r2} ...);
//   - a range selector X[d] is not a value `or` accepts, so the union moves to the enclosing
//     per-series range function: rate(X[d]) becomes (rate(X{r1}[d]) or rate(X{r2}[d]));
//   - timestamp(X) is special-cased by the engine (sample timestamps of a bare selector), so
//     it lifts at the call: (timestamp(X{r1}) or timestamp(X{r2})).
// Why that is exact: `A or B` returns all of A plus the elements of B whose matching signature
// (all labels except __name__) is not in A. Each branch computes, per series, the same value
// the original would (range functions and timestamp() are per series). The union is exact iff
// every dropped element of B is a series already in A. That holds when either
//   (C1) the selector pins one metric name (`__name__="x"`, from the query or from every
//        rule): two series with the same name and the same other labels are the same series; or
//   (C2) every pair of rules requires different values of the same label L != __name__ with
//        `=`: elements of different branches then differ in L, which survives every function
//        we lift over, so nothing is dropped.
// Otherwise -- and wherever the engine looks at the syntax of its argument (absent and
// absent_over_time derive output labels from the selector's matchers; info() joins on its
// selector) or a range selector sits outside a per-series function -- we refuse with
// InvalidArgument rather than approximate.
//
// Subqueries need no special case: the inner expression is evaluated at each step, and its
// lifted form is exact at every step.
#include <algorithm>
#include <optional>

#include "filters/promql/functions.h"
#include "filters/promql/promql.h"

namespace obsgate::filters::promql {
namespace {

constexpr std::string_view kMetricName = "__name__";

using InternedRule = std::vector<LabelMatcher>;

InternedRule intern_rule(Ast& ast, const Rule& rule) {
  InternedRule out;
  out.reserve(rule.size());
  for (const Matcher& m : rule) {
    out.push_back(LabelMatcher{ast.intern(m.name), m.op, ast.intern(m.value)});
  }
  return out;
}

// Appends the rule's matchers to a vector selector (skipping ones it already has) and keeps
// the parser's canonical form (a lone `__name__=` matcher first).
void narrow(Ast& ast, NodeId vs_id, const InternedRule& rule) {
  const Span old = ast.node(vs_id).matchers;
  const uint32_t begin = ast.matcher_count();
  for (uint32_t i = 0; i < old.size; ++i) {
    ast.push_matcher(ast.matchers(old)[i]);
  }
  for (const LabelMatcher& m : rule) {
    bool dup = false;
    for (uint32_t i = 0; i < old.size && !dup; ++i) {
      const LabelMatcher& o = ast.matchers(old)[i];
      dup = o.name == m.name && o.op == m.op && o.value == m.value;
    }
    if (!dup) {
      ast.push_matcher(m);
    }
  }
  const Span now{begin, ast.matcher_count() - begin};
  uint32_t names = 0;
  uint32_t name_index = 0;
  for (uint32_t i = 0; i < now.size; ++i) {
    if (ast.matchers(now)[i].name == kMetricName) {
      ++names;
      name_index = i;
    }
  }
  if (names == 1 && name_index != 0 && ast.matchers(now)[name_index].op == MatchOp::kEq) {
    LabelMatcher name = ast.matchers(now)[name_index];
    for (uint32_t i = name_index; i > 0; --i) {
      ast.matcher_at(begin + i) = ast.matcher_at(begin + i - 1);
    }
    ast.matcher_at(begin) = name;
  }
  ast.node(vs_id).matchers = now;
}

NodeId unwrap_parens(const Ast& ast, NodeId id) {
  while (ast.node(id).kind == NodeKind::kParen) {
    id = ast.node(id).a;
  }
  return id;
}

// Deep copy of a subtree; label spans are immutable and shared, matcher spans are copied so
// that narrowing the copy leaves the original alone.
NodeId clone(Ast& ast, NodeId id) {
  Node n = ast.node(id);
  if (n.kind == NodeKind::kVectorSelector) {
    const Span old = n.matchers;
    const uint32_t begin = ast.matcher_count();
    for (uint32_t i = 0; i < old.size; ++i) {
      ast.push_matcher(ast.matchers(old)[i]);
    }
    n.matchers = Span{begin, old.size};
  }
  if (n.a != kNoNode) {
    n.a = clone(ast, n.a);
  }
  if (n.b != kNoNode) {
    n.b = clone(ast, n.b);
  }
  if (n.kind == NodeKind::kCall && n.args.size > 0) {
    std::vector<NodeId> args(ast.ids(n.args), ast.ids(n.args) + n.args.size);
    for (NodeId& a : args) {
      a = clone(ast, a);
    }
    n.args.begin = ast.id_count();
    for (NodeId a : args) {
      ast.push_id(a);
    }
  }
  return ast.add(n);
}

std::string selector_text(const Ast& ast, NodeId vs) { return print(ast, vs); }

class Lifter {
 public:
  // Lifting copies subtrees once per rule, and lifts nested in the scalar arguments of a
  // lifted call multiply; the node budget keeps a hostile query from growing exponentially.
  Lifter(Ast& ast, std::vector<InternedRule> rules)
      : ast_(ast),
        rules_(std::move(rules)),
        node_budget_(ast.node_count() * 4 * (rules_.size() + 1) + 1024) {}

  [[nodiscard]] bool over_budget() const { return over_budget_; }

  // Rewrites the subtree at id; *out is its replacement. `bare` is true where an `or` chain
  // needs no parentheses (the root, a call or aggregation argument, inside parentheses).
  Status rewrite(NodeId id, bool bare, NodeId* out) {
    *out = id;
    if (over_budget_) {
      return Status();  // enforce() reports it
    }
    const Node n = ast_.node(id);
    switch (n.kind) {
      case NodeKind::kNumber:
      case NodeKind::kString: return Status();
      case NodeKind::kVectorSelector: {
        const auto rules = applicable(id);
        if (Status s = check_exact(id, rules); !s.ok()) {
          return s;
        }
        *out = lift(id, bare, rules,
                    [&](NodeId copy, const InternedRule& r) { narrow(ast_, copy, r); });
        return Status();
      }
      case NodeKind::kMatrixSelector:
        return Status::invalid_argument(
            "range selector " + print(ast_, id) +
            " cannot be narrowed exactly to a multi-rule scope outside a per-series range "
            "function");
      case NodeKind::kSubquery:
      case NodeKind::kUnary:
      case NodeKind::kParen: {
        NodeId a = kNoNode;
        if (Status s = rewrite(n.a, n.kind == NodeKind::kParen, &a); !s.ok()) {
          return s;
        }
        ast_.node(id).a = a;
        return Status();
      }
      case NodeKind::kBinary:
      case NodeKind::kAggregate: {
        const bool agg = n.kind == NodeKind::kAggregate;
        NodeId a = kNoNode;
        NodeId b = kNoNode;
        if (Status s = rewrite(n.a, agg, &a); !s.ok()) {
          return s;
        }
        if (n.b != kNoNode) {
          if (Status s = rewrite(n.b, agg, &b); !s.ok()) {
            return s;
          }
        }
        ast_.node(id).a = a;
        ast_.node(id).b = b;
        return Status();
      }
      case NodeKind::kCall: return rewrite_call(id, bare, out);
    }
    return Status::internal("unknown PromQL node");  // fail closed
  }

 private:
  Status rewrite_call(NodeId id, bool bare, NodeId* out) {
    const Node n = ast_.node(id);
    const std::string_view name = n.str;
    // The argument whose selector defines the lift point, if any.
    std::optional<uint32_t> lift_arg;
    for (uint32_t i = 0; i < n.args.size; ++i) {
      NodeId arg = unwrap_parens(ast_, ast_.ids(n.args)[i]);
      NodeKind k = ast_.node(arg).kind;
      if (name == "absent" || name == "absent_over_time") {
        if (k == NodeKind::kVectorSelector || k == NodeKind::kMatrixSelector) {
          return Status::invalid_argument(
              std::string(name) + "() derives its output labels from the selector " +
              print(ast_, arg) + "; it cannot be enforced exactly with a multi-rule scope");
        }
      } else if (k == NodeKind::kMatrixSelector ||
                 (name == "timestamp" && k == NodeKind::kVectorSelector)) {
        lift_arg = i;  // per-series range function (or timestamp of a bare selector)
      }
    }
    if (lift_arg) {
      NodeId sel = unwrap_parens(ast_, ast_.ids(n.args)[*lift_arg]);
      NodeId vs = ast_.node(sel).kind == NodeKind::kMatrixSelector ? ast_.node(sel).a : sel;
      const auto rules = applicable(vs);
      if (Status s = check_exact(vs, rules); !s.ok()) {
        return s;
      }
      Status inner;
      const uint32_t which = *lift_arg;
      *out = lift(id, bare, rules, [&](NodeId copy, const InternedRule& r) {
        const Node c = ast_.node(copy);
        for (uint32_t i = 0; i < c.args.size; ++i) {
          NodeId arg = ast_.ids(c.args)[i];
          if (i == which) {
            NodeId s = unwrap_parens(ast_, arg);
            narrow(ast_, ast_.node(s).kind == NodeKind::kMatrixSelector ? ast_.node(s).a : s, r);
          } else if (inner.ok()) {
            NodeId replaced = kNoNode;
            inner = rewrite(arg, true, &replaced);
            // Argument spans are owned by this (cloned) call, so patch in place.
            const_cast<NodeId*>(ast_.ids(ast_.node(copy).args))[i] = replaced;
          }
        }
      });
      return inner;
    }
    for (uint32_t i = 0; i < n.args.size; ++i) {
      NodeId replaced = kNoNode;
      if (Status s = rewrite(ast_.ids(n.args)[i], true, &replaced); !s.ok()) {
        return s;
      }
      const_cast<NodeId*>(ast_.ids(ast_.node(id).args))[i] = replaced;
    }
    return Status();
  }

  using RuleSet = std::vector<const InternedRule*>;

  // The rules a selector can intersect: a rule requiring L="x" cannot meet a selector that
  // requires L="y", so its branch would be empty and is left out (an exact simplification).
  // If none is left, one (empty) branch is kept so that the query keeps its shape.
  RuleSet applicable(NodeId vs) const {
    RuleSet out;
    const Node& n = ast_.node(vs);
    for (const InternedRule& r : rules_) {
      bool conflict = false;
      for (const LabelMatcher& m : r) {
        for (uint32_t i = 0; i < n.matchers.size && !conflict; ++i) {
          const LabelMatcher& u = ast_.matchers(n.matchers)[i];
          conflict = m.op == MatchOp::kEq && u.op == MatchOp::kEq && m.name == u.name &&
                     m.value != u.value;
        }
      }
      if (!conflict) {
        out.push_back(&r);
      }
    }
    if (out.empty()) {
      out.push_back(&rules_.front());
    }
    return out;
  }

  // (copy_1 or copy_2 or ...), each copy narrowed to one rule by `apply`.
  template <typename F>
  NodeId lift(NodeId id, bool bare, const RuleSet& rules, F apply) {
    NodeId chain = kNoNode;
    for (const InternedRule* r : rules) {
      if (ast_.node_count() > node_budget_) {
        over_budget_ = true;
        return id;
      }
      NodeId copy = clone(ast_, id);
      apply(copy, *r);
      if (chain == kNoNode) {
        chain = copy;
        continue;
      }
      Node orn;
      orn.kind = NodeKind::kBinary;
      orn.bin = BinOp::kOr;
      orn.card = Card::kManyToMany;
      orn.a = chain;
      orn.b = copy;
      chain = ast_.add(orn);
    }
    if (bare || rules.size() < 2) {
      return chain;
    }
    Node paren;
    paren.kind = NodeKind::kParen;
    paren.a = chain;
    return ast_.add(paren);
  }

  Status check_exact(NodeId vs, const RuleSet& rules) const {
    if (rules.size() < 2 || pairwise_disjoint(rules) || common_name(rules)) {
      return Status();
    }
    const Node& n = ast_.node(vs);
    for (uint32_t i = 0; i < n.matchers.size; ++i) {
      const LabelMatcher& m = ast_.matchers(n.matchers)[i];
      if (m.name == kMetricName && m.op == MatchOp::kEq) {
        return Status();
      }
    }
    return Status::invalid_argument(
        "selector " + selector_text(ast_, vs) +
        " may match several metric names, and the scope's rules overlap: the union cannot be "
        "expressed exactly (select one metric name)");
  }

  // C2: every pair of rules has a label L != __name__ with `=` matchers of different values.
  static bool pairwise_disjoint(const RuleSet& rules) {
    for (size_t i = 0; i < rules.size(); ++i) {
      for (size_t j = i + 1; j < rules.size(); ++j) {
        bool found = false;
        for (const LabelMatcher& a : *rules[i]) {
          for (const LabelMatcher& b : *rules[j]) {
            found = found || (a.name == b.name && a.name != kMetricName &&
                              a.op == MatchOp::kEq && b.op == MatchOp::kEq && a.value != b.value);
          }
        }
        if (!found) {
          return false;
        }
      }
    }
    return true;
  }

  // C1 from the scope: every rule pins the same metric name.
  static bool common_name(const RuleSet& rules) {
    std::optional<std::string_view> name;
    for (const InternedRule* r : rules) {
      std::optional<std::string_view> mine;
      for (const LabelMatcher& m : *r) {
        if (m.name == kMetricName && m.op == MatchOp::kEq) {
          mine = m.value;
        }
      }
      if (!mine || (name && *name != *mine)) {
        return false;
      }
      name = mine;
    }
    return name.has_value();
  }

  Ast& ast_;
  std::vector<InternedRule> rules_;
  size_t node_budget_;
  bool over_budget_ = false;
};

}  // namespace

Status enforce(Ast& ast, const Scope& scope) {
  if (Status s = check_hidden_labels(ast, scope); !s.ok()) {
    return s;
  }
  if (scope.unrestricted) {
    return Status();
  }
  if (scope.denies_everything()) {
    return Status::permission_denied("the scope grants access to no series");
  }
  for (NodeId id = 0; id < ast.node_count(); ++id) {
    // info() selects info series by its own rules (identifying labels of its input plus the
    // selector's data-label matchers); narrowing that selector is not provably the same as
    // restricting the info series to the scope, so restricted scopes fail closed on it.
    const Node& n = ast.node(id);
    if (n.kind == NodeKind::kCall && n.str == "info") {
      return Status::invalid_argument("info() is not supported with a restricted scope");
    }
  }
  // One rule is used in place (no per-query copy of its matchers); several may collapse.
  std::optional<Rule> collapsed;
  const Rule* one = nullptr;
  if (scope.rules.size() == 1) {
    one = &scope.rules.front();
  } else if ((collapsed = collapse(scope.rules))) {
    one = &*collapsed;
  }
  if (one != nullptr) {
    const InternedRule rule = intern_rule(ast, *one);
    const size_t count = ast.node_count();  // every node of a parsed tree is reachable
    for (NodeId id = 0; id < count; ++id) {
      if (ast.node(id).kind == NodeKind::kVectorSelector) {
        narrow(ast, id, rule);
      }
    }
    return Status();
  }
  std::vector<InternedRule> rules;
  rules.reserve(scope.rules.size());
  for (const Rule& r : scope.rules) {
    rules.push_back(intern_rule(ast, r));
  }
  Lifter lifter(ast, std::move(rules));
  NodeId root = kNoNode;
  if (Status s = lifter.rewrite(ast.root(), true, &root); !s.ok()) {
    return s;
  }
  if (lifter.over_budget()) {
    return Status::invalid_argument("the query is too large once lifted over " +
                                    std::to_string(scope.rules.size()) + " scope rules");
  }
  ast.set_root(root);
  return Status();
}

Result<std::string> enforce_query(std::string_view query, const Scope& scope,
                                  const ParseOptions& opts) {
  Ast ast;
  return enforce_query(query, scope, ast, opts);
}

Result<std::string> enforce_query(std::string_view query, const Scope& scope, Ast& scratch,
                                  const ParseOptions& opts) {
  if (Status s = parse_into(query, scratch, opts); !s.ok()) {
    return s;
  }
  if (Status s = enforce(scratch, scope); !s.ok()) {
    return s;
  }
  return print(scratch);
}

Result<std::vector<std::string>> enforce_selectors(std::string_view match_param,
                                                   const Scope& scope,
                                                   const ParseOptions& opts) {
  auto ast = parse_selector(match_param, opts);
  if (!ast.ok()) {
    return ast.status();
  }
  if (Status s = check_hidden_labels(*ast, scope); !s.ok()) {
    return s;
  }
  if (scope.unrestricted) {
    return std::vector<std::string>{print(*ast)};
  }
  if (scope.denies_everything()) {
    return Status::permission_denied("the scope grants access to no series");
  }
  std::vector<Rule> rules = scope.rules;
  if (std::optional<Rule> one = collapse(scope.rules)) {
    rules = {*one};
  }
  std::vector<std::string> out;
  out.reserve(rules.size());
  for (const Rule& r : rules) {
    // Each output is the user's selector narrowed to one rule: repeated match[] values are
    // unioned by series identity upstream, which is exactly the scope's union.
    const Span original = ast->node(ast->root()).matchers;
    narrow(*ast, ast->root(), intern_rule(*ast, r));
    out.push_back(print(*ast));
    ast->node(ast->root()).matchers = original;
  }
  return out;
}

Result<std::string> enforce_selector(std::string_view match_param, const Scope& scope,
                                     const ParseOptions& opts) {
  auto all = enforce_selectors(match_param, scope, opts);
  if (!all.ok()) {
    return all.status();
  }
  if (all->size() != 1) {
    return Status::invalid_argument(
        "the scope's rules do not collapse into one selector; send one match[] per rule");
  }
  return std::move(all->front());
}

}  // namespace obsgate::filters::promql
