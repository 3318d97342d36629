// Scope enforcement over the LogQL tree: see the contract in logql.h.
#include <re2/re2.h>

#include "filters/logql/hidden.h"
#include "filters/logql/lexer.h"
#include "filters/logql/logql.h"
#include "filters/logql/parser.h"

namespace obsgate::filters::logql {
namespace {

MatchOp negate(MatchOp op) {
  switch (op) {
    case MatchOp::kEq: return MatchOp::kNeq;
    case MatchOp::kNeq: return MatchOp::kEq;
    case MatchOp::kRe: return MatchOp::kNre;
    case MatchOp::kNre: return MatchOp::kRe;
  }
  return MatchOp::kNeq;
}

LabelMatcher to_label_matcher(const Matcher& m) { return {m.name, m.op, Str{m.value, false}}; }

// What to append to every selector of one variant of the query.
struct Additions {
  std::vector<LabelMatcher> matchers;
};

// Could a selector match a stream of this (single-matcher or conjunctive) audit rule? False
// only when one of the rule's equality matchers is contradicted by a selector matcher.
bool may_match_rule(const Selector& sel, const Rule& rule) {
  for (const Matcher& a : rule) {
    if (a.op != MatchOp::kEq) {
      continue;
    }
    for (const LabelMatcher& m : sel.matchers) {
      if (m.name != a.name) {
        continue;
      }
      bool excludes = false;
      switch (m.op) {
        case MatchOp::kEq: excludes = m.value.value != a.value; break;
        case MatchOp::kNeq: excludes = m.value.value == a.value; break;
        case MatchOp::kRe:
        case MatchOp::kNre: {
          RE2 re("^(?:" + m.value.value + ")$", RE2::Quiet);
          const bool hit = re.ok() && RE2::FullMatch(a.value, re);
          excludes = (m.op == MatchOp::kRe) ? !hit : hit;
          break;
        }
      }
      if (excludes) {
        return false;
      }
    }
  }
  return true;
}

class Rewriter {
 public:
  Rewriter(const LogsPolicy& p, const Additions& add) : policy_(p), add_(add) {}

  bool touches_audit = false;

  void selector(Selector& sel) {
    for (const LabelMatcher& m : add_.matchers) {
      bool present = false;
      for (const LabelMatcher& have : sel.matchers) {
        present = present ||
                  (have.name == m.name && have.op == m.op && have.value.value == m.value.value);
      }
      if (!present) {
        sel.matchers.push_back(m);
      }
    }
    if (policy_.auditor && !touches_audit) {
      for (const Rule& r : policy_.audit_streams) {
        touches_audit = touches_audit || may_match_rule(sel, r);
      }
    }
  }

  // std::visit with one overload per node type: a new node type fails to compile here rather
  // than escaping enforcement.
  void expr(Expr& e) {
    struct V {
      Rewriter& rw;
      void operator()(LogQuery& q) const { rw.selector(q.selector); }
      void operator()(RangeAggregation& r) const { rw.selector(r.range.log.selector); }
      void operator()(VectorAggregation& v) const { rw.expr(*v.arg); }
      void operator()(BinaryOp& b) const {
        rw.expr(*b.lhs);
        rw.expr(*b.rhs);
      }
      void operator()(LabelReplace& l) const { rw.expr(*l.arg); }
      void operator()(Literal&) const {}
      void operator()(VectorLiteral&) const {}
    };
    std::visit(V{*this}, e.node);
  }

 private:
  const LogsPolicy& policy_;
  const Additions& add_;
};

Additions additions_for(const Rule* rule, const std::vector<LabelMatcher>& negations) {
  Additions a;
  if (rule != nullptr) {
    for (const Matcher& m : *rule) {
      a.matchers.push_back(to_label_matcher(m));
    }
  }
  a.matchers.insert(a.matchers.end(), negations.begin(), negations.end());
  return a;
}

bool stage_may_merge_streams(const Stage& s) {
  return std::holds_alternative<LabelFormat>(s) || std::holds_alternative<DropKeep>(s);
}

// Replaces each range aggregation by the `or` of one copy per rule (see logql.h for when this
// is exact); fails on the first one where it is not.
Status lift(ExprPtr& e, const LogsPolicy& p, const std::vector<Rule>& rules,
            const std::vector<LabelMatcher>& negations, bool& touches) {
  if (auto* v = std::get_if<VectorAggregation>(&e->node)) {
    return lift(v->arg, p, rules, negations, touches);
  }
  if (auto* b = std::get_if<BinaryOp>(&e->node)) {
    if (Status st = lift(b->lhs, p, rules, negations, touches); !st.ok()) {
      return st;
    }
    return lift(b->rhs, p, rules, negations, touches);
  }
  if (auto* l = std::get_if<LabelReplace>(&e->node)) {
    return lift(l->arg, p, rules, negations, touches);
  }
  const auto* r = std::get_if<RangeAggregation>(&e->node);
  if (r == nullptr) {
    if (std::holds_alternative<Literal>(e->node) ||
        std::holds_alternative<VectorLiteral>(e->node)) {
      return {};
    }
    return Status::internal("unexpected node while splitting a metric query per scope rule");
  }
  // Loki drops the unwrapped label from each series, which may merge streams too.
  bool exact = !r->grouping && r->op != RangeOp::kAbsentOverTime && !r->range.unwrap;
  for (const Stage& s : r->range.log.pipeline) {
    exact = exact && !stage_may_merge_streams(s);
  }
  if (!exact) {
    return Status::invalid_argument(
        std::string("the principal's log scope has several rules that cannot be merged, and ") +
        range_op_name(r->op) +
        " here (grouping, unwrap, absent_over_time, label_format, drop or keep) cannot be split "
        "per rule exactly; query each scope separately");
  }
  ExprPtr chain;
  for (const Rule& rule : rules) {
    ExprPtr c = e->clone();
    Additions add = additions_for(&rule, negations);
    Rewriter rw(p, add);
    rw.expr(*c);
    touches = touches || rw.touches_audit;
    if (!chain) {
      chain = std::move(c);
      continue;
    }
    auto node = std::make_unique<Expr>();
    node->height = std::max(chain->height, c->height) + 1;
    BinaryOp b;
    b.op = BinOp::kOr;
    b.lhs = std::move(chain);
    b.rhs = std::move(c);
    node->node = std::move(b);
    chain = std::move(node);
  }
  if (chain->height > detail::kMaxDepth) {
    return Status::invalid_argument("query too deeply nested to split per scope rule");
  }
  e = std::move(chain);
  return {};
}

Status check_policy_matcher(const Matcher& m, const char* what) {
  if (!detail::valid_label_name(m.name) || detail::is_keyword(m.name)) {
    return Status::invalid_argument(std::string(what) + " matcher label '" + m.name +
                                    "' cannot be written in a LogQL stream selector");
  }
  if (m.op == MatchOp::kRe || m.op == MatchOp::kNre) {
    std::string err;
    if (!detail::regex_ok("^(?:" + m.value + ")$", &err)) {
      return Status::invalid_argument(std::string(what) + " matcher on '" + m.name +
                                      "': invalid regex: " + err);
    }
  }
  return {};
}

}  // namespace

Status validate(const LogsPolicy& policy) {
  for (const Rule& r : policy.scope.rules) {
    for (const Matcher& m : r) {
      if (Status st = check_policy_matcher(m, "scope"); !st.ok()) {
        return st;
      }
    }
  }
  for (size_t i = 0; i < policy.audit_streams.size(); ++i) {
    const Rule& r = policy.audit_streams[i];
    if (r.size() != 1) {
      return Status::invalid_argument(
          "audit_streams[" + std::to_string(i) + "] has " + std::to_string(r.size()) +
          " matchers: only single-matcher audit rules can be negated exactly into a stream "
          "selector (NOT (a AND b) is an OR); identify audit streams by one label, or list "
          "several single-matcher rules");
    }
    if (Status st = check_policy_matcher(r[0], "audit_streams"); !st.ok()) {
      return st;
    }
  }
  return {};
}

Result<EnforcedExpr> enforce(const Expr& expr, const LogsPolicy& policy) {
  return enforce(expr.clone(), policy);
}

Result<EnforcedExpr> enforce(ExprPtr owned, const LogsPolicy& policy) {
  const Expr& expr = *owned;
  const Scope& scope = policy.scope;
  if (scope.denies_everything()) {
    return Status::permission_denied("the principal's scope grants no log streams");
  }
  if (Status st = detail::check_hidden(expr, scope); !st.ok()) {
    return st;
  }
  std::vector<LabelMatcher> negations;
  if (!policy.auditor) {
    for (const Rule& r : policy.audit_streams) {
      if (r.size() != 1) {  // validate() refuses these; fail closed if it was skipped
        return Status::failed_precondition("audit stream rule with several matchers");
      }
      negations.push_back({r[0].name, negate(r[0].op), Str{r[0].value, false}});
    }
  }
  EnforcedExpr out;
  std::optional<Rule> single;
  if (!scope.unrestricted) {
    single = collapse(scope.rules);
  }
  if (scope.unrestricted || single) {
    out.expr = std::move(owned);
    Additions add = additions_for(single ? &*single : nullptr, negations);
    Rewriter rw(policy, add);
    rw.expr(*out.expr);
    out.touches_audit = rw.touches_audit;
    return out;
  }
  if (expr.is_log()) {
    for (const Rule& rule : scope.rules) {
      ExprPtr c = expr.clone();
      Additions add = additions_for(&rule, negations);
      Rewriter rw(policy, add);
      rw.expr(*c);
      out.touches_audit = out.touches_audit || rw.touches_audit;
      out.per_rule.push_back(std::move(c));
    }
    return out;
  }
  out.expr = std::move(owned);
  if (Status st = lift(out.expr, policy, scope.rules, negations, out.touches_audit); !st.ok()) {
    return st;
  }
  return out;
}

Result<Enforced> enforce_query(std::string_view query, const LogsPolicy& policy) {
  auto parsed = parse(query);
  if (!parsed.ok()) {
    return parsed.status();
  }
  auto e = enforce(std::move(parsed).value(), policy);
  if (!e.ok()) {
    return e.status();
  }
  Enforced out;
  out.touches_audit = e->touches_audit;
  if (e->expr) {
    out.query = print(*e->expr);
  }
  for (const ExprPtr& r : e->per_rule) {
    out.per_rule_queries.push_back(print(*r));
  }
  return out;
}

Result<std::vector<std::string>> enforce_selector_per_rule(std::string_view selector,
                                                           const LogsPolicy& policy) {
  auto parsed = parse(selector);
  if (!parsed.ok()) {
    return parsed.status();
  }
  const auto* q = std::get_if<LogQuery>(&parsed.value()->node);
  if (q == nullptr || !q->pipeline.empty()) {
    return Status::invalid_argument("only label matchers are supported here: " +
                                    std::string(selector.substr(0, 64)));
  }
  auto e = enforce(std::move(parsed).value(), policy);
  if (!e.ok()) {
    return e.status();
  }
  std::vector<std::string> out;
  if (e->expr) {
    out.push_back(print(*e->expr));
  }
  for (const ExprPtr& r : e->per_rule) {
    out.push_back(print(*r));
  }
  return out;
}

Result<std::string> enforce_selector(std::string_view selector, const LogsPolicy& policy) {
  auto all = enforce_selector_per_rule(selector, policy);
  if (!all.ok()) {
    return all.status();
  }
  if (all->size() != 1) {
    return Status::invalid_argument(
        "the principal's log scope has several rules that cannot be merged into one selector");
  }
  return std::move(all.value().front());
}

Result<std::vector<std::string>> scope_selectors(const LogsPolicy& policy) {
  const Scope& scope = policy.scope;
  if (scope.denies_everything()) {
    return Status::permission_denied("the principal's scope grants no log streams");
  }
  std::vector<Rule> rules;
  if (scope.unrestricted) {
    rules.emplace_back();
  } else if (auto single = collapse(scope.rules)) {
    rules.push_back(std::move(*single));
  } else {
    rules = scope.rules;
  }
  std::vector<std::string> out;
  for (const Rule& rule : rules) {
    Rule all = rule;
    if (!policy.auditor) {
      for (const Rule& a : policy.audit_streams) {
        if (a.size() != 1) {
          return Status::failed_precondition("audit stream rule with several matchers");
        }
        all.push_back({a[0].name, negate(a[0].op), a[0].value});
      }
    }
    if (all.empty()) {
      continue;  // nothing to restrict
    }
    Selector sel;
    bool selective = false;
    for (const Matcher& m : all) {
      sel.matchers.push_back(to_label_matcher(m));
      selective = selective || !detail::matches_empty(m.op, m.value);
    }
    if (!selective) {
      return Status::failed_precondition(
          "the scope has no matcher Loki accepts as a stream selector on its own");
    }
    std::string text;
    put_selector(text, sel);
    out.push_back(std::move(text));
  }
  return out;
}

Result<ExprPtr> parse(std::string_view query) {
  if (query.size() >= 131072) {
    return Status::invalid_argument("parse error : input size too long (" +
                                    std::to_string(query.size()) + " > 131072)");
  }
  auto toks = detail::lex(query);
  if (!toks.ok()) {
    return toks.status();
  }
  detail::Parser p(query, std::move(toks).value());
  return p.parse_query();
}

}  // namespace obsgate::filters::logql
