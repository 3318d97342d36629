// Fuzz target for the LogQL parser, printer and enforcer.
// Properties: whatever parses prints to text that parses back to the same tree (and prints the
// same again); enforcement never crashes, what it returns is valid LogQL, and an injected scope
// value of arbitrary bytes comes back intact in every selector.
// Run (from the repository root), scratch folder first:
//   logql_fuzz -dict=tests/fuzz/logql/logql.dict -max_len=4096 /tmp/new tests/fuzz/logql/corpus
// New inputs go to the first (scratch) folder; copy only regressions into corpus/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filters/logql/logql.h"

using namespace obsgate::filters;
using namespace obsgate::filters::logql;

namespace {

[[noreturn]] void fail(const char* what, std::string_view in, const std::string& out) {
  std::fprintf(stderr, "%s\ninput:  %.*s\noutput: %s\n", what, static_cast<int>(in.size()),
               in.data(), out.c_str());
  std::abort();
}

LogsPolicy make_policy(int variant) {
  LogsPolicy p;
  p.scope.hidden_labels = {"internal_id", "secret"};
  p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}, {{"job", MatchOp::kRe, "bao-.*"}}};
  switch (variant) {
    case 0: p.scope.rules = {{{"tenant", MatchOp::kEq, "a"}}}; break;
    case 1:  // uncollapsible: per-rule queries or `or` lifting
      p.scope.rules = {{{"tenant", MatchOp::kEq, "a"}}, {{"team", MatchOp::kRe, "b|c"}}};
      break;
    default:
      p.scope.unrestricted = true;
      p.auditor = true;
      break;
  }
  return p;
}

// Every selector of the tree carries `name op value` exactly (the injected matcher survived
// quoting and re-parsing, whatever bytes its value holds).
bool all_selectors_have(const Expr& e, const LabelMatcher& want) {
  const auto has = [&](const Selector& s) {
    for (const LabelMatcher& m : s.matchers) {
      if (m.name == want.name && m.op == want.op && m.value.value == want.value.value) {
        return true;
      }
    }
    return false;
  };
  if (const auto* q = std::get_if<LogQuery>(&e.node)) {
    return has(q->selector);
  }
  if (const auto* r = std::get_if<RangeAggregation>(&e.node)) {
    return has(r->range.log.selector);
  }
  if (const auto* v = std::get_if<VectorAggregation>(&e.node)) {
    return all_selectors_have(*v->arg, want);
  }
  if (const auto* b = std::get_if<BinaryOp>(&e.node)) {
    return all_selectors_have(*b->lhs, want) && all_selectors_have(*b->rhs, want);
  }
  if (const auto* l = std::get_if<LabelReplace>(&e.node)) {
    return all_selectors_have(*l->arg, want);
  }
  return true;
}

void check_output(std::string_view in, const std::string& q) {
  auto r = parse(q);
  if (!r.ok()) {
    fail(("enforced query does not parse: " + r.status().message()).c_str(), in, q);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parsed = parse(in);
  if (!parsed.ok()) {
    return 0;
  }
  const std::string printed = print(**parsed);
  auto again = parse(printed);
  if (!again.ok()) {
    fail(("printed query does not parse: " + again.status().message()).c_str(), in, printed);
  }
  if (!(**again == **parsed)) {
    fail("round trip changed the tree", in, printed);
  }
  if (print(**again) != printed) {
    fail("printing is not stable", in, print(**again));
  }
  // A scope value made of arbitrary bytes (the input's last 8) must come back intact.
  {
    const std::string value(in.substr(in.size() > 8 ? in.size() - 8 : 0));
    LogsPolicy p;
    p.scope.rules = {{{"tenant", MatchOp::kEq, value}}};
    auto e = enforce_query(in, p);
    if (e.ok()) {
      auto back = parse(e->query);
      if (!back.ok()) {
        fail(("enforced query does not parse: " + back.status().message()).c_str(), in, e->query);
      }
      if (!all_selectors_have(**back, LabelMatcher{"tenant", MatchOp::kEq, Str{value, false}})) {
        fail("injected matcher lost", in, e->query);
      }
    }
  }
  for (int v = 0; v < 3; ++v) {
    auto e = enforce_query(in, make_policy(v));
    if (!e.ok()) {
      continue;
    }
    if (!e->query.empty()) {
      check_output(in, e->query);
    }
    for (const std::string& q : e->per_rule_queries) {
      check_output(in, q);
    }
  }
  return 0;
}
