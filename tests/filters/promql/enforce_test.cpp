// Scope enforcement: exact outputs for one-rule, collapsible and multi-rule scopes, refusals,
// hidden-label rejections, match[] selectors, and a no-leak property over dashboard queries.
#include <fstream>
#include <functional>
#include <vector>

#include "tests/filters/promql/test_common.h"

namespace obsgate::filters::promql {
namespace {

Matcher eq(std::string n, std::string v) { return Matcher{std::move(n), MatchOp::kEq, std::move(v)}; }
Matcher re(std::string n, std::string v) { return Matcher{std::move(n), MatchOp::kRe, std::move(v)}; }

Scope restricted(std::vector<Rule> rules, std::vector<std::string> hidden = {}) {
  Scope s;
  s.rules = std::move(rules);
  s.hidden_labels = std::move(hidden);
  return s;
}

const Scope kTenantA = restricted({{eq("tenant", "a")}}, {"secret"});
const Scope kTenantsAB = restricted({{eq("tenant", "a")}, {eq("tenant", "b")}});  // collapses
const Scope kOverlap = restricted({{eq("tenant", "a")}, {eq("team", "x")}});
const Scope kDisjoint = restricted({{eq("tenant", "a"), eq("env", "prod")}, {eq("tenant", "b")}});
const Scope kNamePinned =
    restricted({{eq("__name__", "up"), eq("tenant", "a")}, {eq("__name__", "up"), eq("team", "x")}});
const Scope kNameRegex = restricted({{re("__name__", "node_.*"), eq("tenant", "a")}});
const Scope kDenyAll = restricted({});
Scope unrestricted_hiding(std::vector<std::string> hidden) {
  Scope s;
  s.unrestricted = true;
  s.hidden_labels = std::move(hidden);
  return s;
}

// A check is a named predicate over the result.
using Check = std::function<void(const Result<std::string>&)>;
Check gives(std::string want) {
  return [want](const Result<std::string>& r) {
    if (!r.ok()) {
      FAIL(r.status().to_string());
    }
    CHECK(*r == want);
  };
}
Check fails(Code code, std::string substring) {
  return [code, substring](const Result<std::string>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == code);
    CHECK_THAT(r.status().message(), Catch::Contains(substring));
  };
}

struct Case {
  std::string name;
  std::string query;
  const Scope* scope;
  Check check;
};

TEST_CASE("promql enforce_query") {
  static const Scope kUnrestricted = unrestricted_hiding({"secret"});
  const std::vector<Case> cases = {
      // One rule: appended to every selector, wherever it sits.
      {"bare", "foo", &kTenantA, gives(R"(foo{tenant="a"})")},
      {"keeps user matchers", R"(foo{a="b", c=~"d.*"})", &kTenantA,
       gives(R"(foo{a="b", c=~"d.*", tenant="a"})")},
      {"user already narrower", R"(foo{tenant="a"})", &kTenantA, gives(R"(foo{tenant="a"})")},
      {"user conflicting stays a conjunction", R"(foo{tenant="b"})", &kTenantA,
       gives(R"(foo{tenant="b", tenant="a"})")},
      {"user regex on scope label", R"(foo{tenant=~".*"})", &kTenantA,
       gives(R"(foo{tenant=~".*", tenant="a"})")},
      {"no name", R"({job="x"})", &kTenantA, gives(R"({job="x", tenant="a"})")},
      {"range", "rate(foo[5m])", &kTenantA, gives(R"(rate(foo{tenant="a"}[5m]))")},
      {"offset and @", "foo[5m] offset 1h @ 100", &kTenantA,
       gives(R"(foo{tenant="a"}[5m] @ 100 offset 1h)")},
      {"subquery", "max_over_time(rate(foo[5m])[1h:1m])", &kTenantA,
       gives(R"(max_over_time(rate(foo{tenant="a"}[5m])[1h:1m]))")},
      {"binary both sides", "foo / on(x) group_left(y) bar", &kTenantA,
       gives(R"(foo{tenant="a"} / on(x) group_left(y) bar{tenant="a"})")},
      {"aggregation", "sum by (job) (rate(foo[5m]))", &kTenantA,
       gives(R"(sum by (job) (rate(foo{tenant="a"}[5m])))")},
      {"aggregation parameter", "topk(scalar(k), foo)", &kTenantA,
       gives(R"(topk(scalar(k{tenant="a"}), foo{tenant="a"}))")},
      {"absent", "absent(foo)", &kTenantA, gives(R"(absent(foo{tenant="a"}))")},
      {"absent_over_time", "absent_over_time(foo[5m])", &kTenantA,
       gives(R"(absent_over_time(foo{tenant="a"}[5m]))")},
      {"label_replace", R"~(label_replace(foo, "d", "$1", "s", "(.*)"))~", &kTenantA,
       gives(R"~(label_replace(foo{tenant="a"}, "d", "$1", "s", "(.*)"))~")},
      {"histogram_quantile", "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
       &kTenantA, gives(R"(histogram_quantile(0.9, sum by (le) (rate(x_bucket{tenant="a"}[5m]))))")},
      {"unary and parens", "-(foo offset 5m)", &kTenantA, gives(R"(-(foo{tenant="a"} offset 5m))")},
      {"scalars only", "1 + time()", &kTenantA, gives("1 + time()")},
      {"utf8 metric", R"({"my.metric"})", &kTenantA, gives(R"({__name__="my.metric", tenant="a"})")},
      {"comments dropped", "foo # note", &kTenantA, gives(R"(foo{tenant="a"})")},
      // Collapsible rules: one regex matcher.
      {"collapsed", "rate(foo[5m])", &kTenantsAB, gives(R"(rate(foo{tenant=~"a|b"}[5m]))")},
      // Scope matching on __name__ is an ordinary matcher.
      {"name regex in scope", "foo", &kNameRegex, gives(R"({__name__="foo", __name__=~"node_.*", tenant="a"})")},
      {"name regex in scope, no name", R"({job="x"})", &kNameRegex,
       gives(R"({job="x", __name__=~"node_.*", tenant="a"})")},
      // Several rules: the union lifted with `or`.
      {"lift instant selector", "foo", &kOverlap, gives(R"(foo{tenant="a"} or foo{team="x"})")},
      {"lift in binary", "foo + bar", &kOverlap,
       gives(R"((foo{tenant="a"} or foo{team="x"}) + (bar{tenant="a"} or bar{team="x"}))")},
      {"lift in aggregation", "sum(foo)", &kOverlap, gives(R"(sum(foo{tenant="a"} or foo{team="x"}))")},
      {"lift at range function", "sum by (job) (rate(foo[5m]))", &kOverlap,
       gives(R"(sum by (job) (rate(foo{tenant="a"}[5m]) or rate(foo{team="x"}[5m])))")},
      {"lift keeps modifiers", "rate(foo[5m] offset 1h)", &kOverlap,
       gives(R"(rate(foo{tenant="a"}[5m] offset 1h) or rate(foo{team="x"}[5m] offset 1h))")},
      {"lift range function with scalar arg", "quantile_over_time(0.9, foo[5m])", &kOverlap,
       gives(R"(quantile_over_time(0.9, foo{tenant="a"}[5m]) or quantile_over_time(0.9, foo{team="x"}[5m]))")},
      {"lift inside subquery", "max_over_time(rate(foo[5m])[1h:])", &kOverlap,
       gives(R"(max_over_time((rate(foo{tenant="a"}[5m]) or rate(foo{team="x"}[5m]))[1h:]))")},
      {"lift under unary", "-foo", &kOverlap, gives(R"(-(foo{tenant="a"} or foo{team="x"}))")},
      {"lift timestamp at the call", "timestamp(foo)", &kOverlap,
       gives(R"(timestamp(foo{tenant="a"}) or timestamp(foo{team="x"}))")},
      {"absent over an expression is fine", "absent(sum(foo))", &kOverlap,
       gives(R"(absent(sum(foo{tenant="a"} or foo{team="x"})))")},
      {"disjoint rules allow nameless selectors", R"(rate({job="x"}[5m]))", &kDisjoint,
       gives(R"(rate({job="x", tenant="a", env="prod"}[5m]) or rate({job="x", tenant="b"}[5m]))")},
      {"rules pinning one name", R"({job="x"})", &kNamePinned,
       gives(R"(up{job="x", tenant="a"} or up{job="x", team="x"})")},
      {"branch pruned by user matcher", R"(foo{tenant="b"})", &kDisjoint, gives(R"(foo{tenant="b"})")},
      {"branch pruned leaves a single rule", R"(foo{tenant="c"})", &kOverlap,
       gives(R"(foo{tenant="c", team="x"})")},
      // Refusals: no exact rewrite.
      {"absent of a selector", "absent(foo)", &kOverlap,
       fails(Code::kInvalidArgument, "absent() derives its output labels")},
      {"absent_over_time of a selector", "absent_over_time(foo[5m])", &kOverlap,
       fails(Code::kInvalidArgument, "absent_over_time()")},
      {"top-level range selector", "foo[5m]", &kOverlap,
       fails(Code::kInvalidArgument, "outside a per-series range function")},
      {"nameless selector with overlapping rules", R"({job="x"})", &kOverlap,
       fails(Code::kInvalidArgument, "may match several metric names")},
      {"name regex with overlapping rules", R"(rate({__name__=~"a|b"}[5m]))", &kOverlap,
       fails(Code::kInvalidArgument, "may match several metric names")},
      {"info refused when restricted", "info(foo)", &kTenantA,
       fails(Code::kInvalidArgument, "info() is not supported")},
      // Scope edge cases.
      {"deny all", "foo", &kDenyAll, fails(Code::kPermissionDenied, "no series")},
      {"deny all still parses first", "foo{", &kDenyAll, fails(Code::kInvalidArgument, "parse error")},
      {"unrestricted passes through canonically", "sum(rate(foo[5m])) by (job)", &kUnrestricted,
       gives("sum by (job) (rate(foo[5m]))")},
      {"unrestricted allows info", "info(foo)", &kUnrestricted, gives("info(foo)")},
      {"unrestricted still rejects hidden labels", "sum by (secret) (foo)", &kUnrestricted,
       fails(Code::kInvalidArgument, "\"secret\"")},
      {"invalid query", "sum(", &kTenantA, fails(Code::kInvalidArgument, "1:5: parse error")},
  };
  ParseOptions exp;
  exp.experimental_functions = true;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name << ": " << c.query) {
      auto r = enforce_query(c.query, *c.scope, exp);
      c.check(r);
      if (r.ok()) {
        testing::check_round_trip(*r, exp);  // the output is valid PromQL
      }
    }
  }
}

TEST_CASE("promql hidden labels are rejected wherever they are referenced") {
  const Scope scope = restricted({{eq("tenant", "a")}}, {"secret", "tenant"});
  const std::vector<std::string> rejected = {
      R"(foo{secret="x"})",
      R"(foo{secret=~".+"})",
      R"({"secret"="x", a="b"})",
      "sum by (secret) (foo)",
      "sum without (secret) (foo)",
      "sum(foo) by (a, secret)",
      "foo / on(secret) bar",
      "foo / ignoring(secret) bar",
      "foo / on(a) group_left(secret) bar",
      "foo * ignoring(a) group_right(secret) bar",
      R"(count_values("secret", foo))",
      R"(count_values(("secret"), foo))",
      R"~(label_replace(foo, "secret", "$1", "a", "(.*)"))~",
      R"~(label_replace(foo, "a", "$1", "secret", "(.*)"))~",
      R"(label_join(foo, "secret", ",", "a"))",
      R"(label_join(foo, "a", ",", "b", "secret"))",
      R"(sort_by_label(foo, "a", "secret"))",
      R"(sort_by_label_desc(foo, "secret"))",
      R"(rate(foo{tenant="b"}[5m]))",
      R"(sum(rate(x[5m])) + on(tenant) sum(y))",
  };
  ParseOptions exp;
  exp.experimental_functions = true;
  for (const std::string& q : rejected) {
    DYNAMIC_SECTION(q) {
      auto r = enforce_query(q, scope, exp);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kInvalidArgument);
      CHECK_THAT(r.status().message(), Catch::Contains("is not accessible"));
    }
  }
  // Label-valued strings that are not label names are fine, and the scope's own matcher on a
  // hidden label is what narrows the query.
  auto ok = enforce_query(R"(label_replace(foo, "a", "secret", "b", "secret"))", scope);
  REQUIRE(ok.ok());
  CHECK(*ok == R"(label_replace(foo{tenant="a"}, "a", "secret", "b", "secret"))");
}

TEST_CASE("promql enforce_selector and enforce_selectors (match[])") {
  struct SelCase {
    std::string name;
    std::string input;
    const Scope* scope;
    std::vector<std::string> want;  // empty: expect an error
    Code code = Code::kOk;
  };
  static const Scope kUnrestricted = unrestricted_hiding({"secret"});
  const std::vector<SelCase> cases = {
      {"one rule", R"(up{job="x"})", &kTenantA, {R"(up{job="x", tenant="a"})"}},
      {"collapsed", "up", &kTenantsAB, {R"(up{tenant=~"a|b"})"}},
      {"one per rule", R"({job="x"})", &kOverlap, {R"({job="x", tenant="a"})", R"({job="x", team="x"})"}},
      {"unrestricted", "{job=\"x\"}", &kUnrestricted, {R"({job="x"})"}},
      {"hidden", "{secret=\"x\"}", &kTenantA, {}, Code::kInvalidArgument},
      {"deny", "up", &kDenyAll, {}, Code::kPermissionDenied},
      {"full expression refused", "rate(up[5m])", &kTenantA, {}, Code::kInvalidArgument},
      {"empty selector refused", "{}", &kTenantA, {}, Code::kInvalidArgument},
  };
  for (const SelCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto all = enforce_selectors(c.input, *c.scope);
      auto one = enforce_selector(c.input, *c.scope);
      if (c.want.empty()) {
        REQUIRE_FALSE(all.ok());
        CHECK(all.status().code() == c.code);
        CHECK_FALSE(one.ok());
      } else {
        REQUIRE(all.ok());
        CHECK(*all == c.want);
        CHECK(one.ok() == (c.want.size() == 1));
        if (one.ok()) {
          CHECK(*one == c.want.front());
        } else {
          CHECK_THAT(one.status().message(), Catch::Contains("one match[] per rule"));
        }
      }
    }
  }
}

TEST_CASE("promql rewrite_for_cli is enforce_query") {
  auto r = rewrite_for_cli("rate(foo[5m])", kTenantA);
  REQUIRE(r.ok());
  CHECK(*r == R"(rate(foo{tenant="a"}[5m]))");
  CHECK_FALSE(rewrite_for_cli("limitk(1, foo)", kTenantA).ok());
  ParseOptions exp;
  exp.experimental_functions = true;
  auto e = rewrite_for_cli("limitk(1, foo)", kTenantA, exp);
  REQUIRE(e.ok());
  CHECK(*e == R"(limitk(1, foo{tenant="a"}))");
}

TEST_CASE("promql nested lifts stay within a size budget") {
  // Each level's scalar argument is lifted again inside every copy of the enclosing call:
  // without a budget the output would grow as rules^depth.
  std::string q = "foo";
  for (int i = 0; i < 40; ++i) {
    q = "quantile_over_time(scalar(" + q + "), bar[5m])";
  }
  auto r = enforce_query(q, kOverlap);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains("too large"));
  // Two levels are fine.
  auto small = enforce_query("quantile_over_time(scalar(rate(foo[5m])), bar[5m])", kOverlap);
  REQUIRE(small.ok());
  CHECK(*small ==
        "quantile_over_time(scalar(rate(foo{tenant=\"a\"}[5m]) or rate(foo{team=\"x\"}[5m])), "
        "bar{tenant=\"a\"}[5m]) or quantile_over_time(scalar(rate(foo{tenant=\"a\"}[5m]) or "
        "rate(foo{team=\"x\"}[5m])), bar{team=\"x\"}[5m])");
}

// No-leak property: every vector selector of the enforced query carries every matcher of at
// least one rule (so it selects a subset of the scope), and the output is valid PromQL.
// (A collapsible scope is checked against its collapsed rule.)
void check_every_selector_narrowed(const Ast& ast, NodeId id, const std::vector<Rule>& rules) {
  const Node& n = ast.node(id);
  if (n.kind == NodeKind::kVectorSelector) {
    bool covered = false;
    for (const Rule& rule : rules) {
      bool all = true;
      for (const Matcher& m : rule) {
        bool has = false;
        for (uint32_t i = 0; i < n.matchers.size; ++i) {
          const LabelMatcher& x = ast.matchers(n.matchers)[i];
          has = has || (x.name == m.name && x.op == m.op && x.value == m.value);
        }
        all = all && has;
      }
      covered = covered || all;
    }
    CHECK(covered);
  }
  for (NodeId child : {n.a, n.b}) {
    if (child != kNoNode) {
      check_every_selector_narrowed(ast, child, rules);
    }
  }
  for (uint32_t i = 0; n.kind == NodeKind::kCall && i < n.args.size; ++i) {
    check_every_selector_narrowed(ast, ast.ids(n.args)[i], rules);
  }
}

TEST_CASE("promql dashboard queries: golden enforcement outputs") {
  std::ifstream in(std::string(OBSGATE_TESTDATA_DIR) + "/promql/enforce_dashboards.golden");
  REQUIRE(in.good());
  std::string query;
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("query: ", 0) == 0) {
      query = line.substr(7);
      continue;
    }
    const bool one = line.rfind("one:   ", 0) == 0;
    const bool two = line.rfind("two:   ", 0) == 0;
    if (!one && !two) {
      continue;
    }
    const std::string want = line.substr(7);
    DYNAMIC_SECTION((one ? "one rule: " : "two rules: ") << query) {
      auto r = enforce_query(query, one ? kTenantA : kOverlap);
      const std::string got = r.ok() ? *r : "ERROR " + r.status().message();
      CHECK(got == want);
    }
    ++checked;
  }
  CHECK(checked >= 100);
}

// The realistic dashboard queries of tests/testdata/promql (comment lines skipped).
std::vector<std::string> load_dashboard_queries() {
  std::ifstream in(std::string(OBSGATE_TESTDATA_DIR) + "/promql/dashboard_queries.txt");
  std::vector<std::string> queries;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.rfind("//", 0) != 0) {
      queries.push_back(line);
    }
  }
  return queries;
}

TEST_CASE("promql dashboard queries: enforced output never leaves the scope") {
  std::vector<std::string> queries = load_dashboard_queries();
  REQUIRE(queries.size() >= 50);
  const std::vector<const Scope*> scopes = {&kTenantA, &kTenantsAB, &kOverlap, &kDisjoint,
                                            &kNamePinned};
  int lifted = 0;
  int refused = 0;
  for (const std::string& q : queries) {
    for (const Scope* scope : scopes) {
      CAPTURE(q, scope->rules.size());
      auto r = enforce_query(q, *scope);
      if (!r.ok()) {
        // Only multi-rule scopes may refuse, and only with InvalidArgument.
        CHECK(scope->rules.size() > 1);
        CHECK(r.status().code() == Code::kInvalidArgument);
        ++refused;
        continue;
      }
      auto ast = parse(*r);
      REQUIRE(ast.ok());
      auto one = collapse(scope->rules);
      check_every_selector_narrowed(*ast, ast->root(), one ? std::vector<Rule>{*one} : scope->rules);
      lifted += r->find(" or ") != std::string::npos ? 1 : 0;
    }
  }
  CHECK(lifted > 50);
  CHECK(refused < 10);
}

// One scratch tree reused over a mixed sequence (dashboard queries under every scope, parse
// errors, refusals, an oversized input, a query bigger than Ast::kRetainedBytes): each result
// must equal the one-shot overload's, so nothing of an earlier query leaks into a later one.
TEST_CASE("promql a reused scratch tree gives the one-shot results") {
  std::vector<std::string> queries = load_dashboard_queries();
  REQUIRE(queries.size() >= 50);
  std::string big = "foo";
  while (big.size() < 2 * Ast::kRetainedBytes / 10) {  // ~10 bytes of source per node
    big += " + foo{a=\"b\"}";
  }
  queries.insert(queries.begin() + 3, "sum(");
  queries.insert(queries.begin() + 7, big);
  queries.insert(queries.begin() + 8, std::string(200 * 1024, 'x'));  // over max_input_bytes
  queries.insert(queries.begin() + 9, "info(foo)");
  queries.emplace_back("up{job=\"x\"}");
  const std::vector<const Scope*> scopes = {&kTenantA, &kOverlap, &kDenyAll, &kNamePinned};
  Ast scratch;
  int compared = 0;
  for (const Scope* scope : scopes) {
    for (const std::string& q : queries) {
      CAPTURE(q.substr(0, 80), scope->rules.size());
      const auto want = enforce_query(q, *scope);
      const auto got = enforce_query(q, *scope, scratch);
      REQUIRE(got.ok() == want.ok());
      if (want.ok()) {
        CHECK(*got == *want);
      } else {
        CHECK(got.status().code() == want.status().code());
        CHECK(got.status().message() == want.status().message());
      }
      ++compared;
    }
  }
  CHECK(compared == static_cast<int>(scopes.size() * queries.size()));
}

TEST_CASE("promql parse_into leaves an empty tree on error") {
  struct IntoCase {
    std::string name;
    std::string query;
    bool ok;
  };
  const std::vector<IntoCase> cases = {
      {"valid", "sum(rate(foo[5m]))", true},
      {"parse error", "sum(", false},
      {"semantic error", "rate(foo)", false},
      {"empty", "", false},
  };
  for (const IntoCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Ast ast;
      REQUIRE(parse_into("a + b{c=\"d\"}", ast).ok());  // leftovers to be cleared
      const Status st = parse_into(c.query, ast);
      CHECK(st.ok() == c.ok);
      if (c.ok) {
        auto fresh = parse(c.query);
        REQUIRE(fresh.ok());
        CHECK(structurally_equal(ast, ast.root(), *fresh, fresh->root()));
        CHECK(print(ast) == print(*fresh));
      } else {
        CHECK(ast.node_count() == 0);
        CHECK(ast.root() == kNoNode);
      }
    }
  }
}

}  // namespace
}  // namespace obsgate::filters::promql
