// Enforcement tables: exact rewritten queries, hidden labels, and audit-stream isolation.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "filters/logql/logql.h"

using obsgate::Code;
using obsgate::filters::Matcher;
using obsgate::filters::MatchOp;
using obsgate::filters::Rule;
using obsgate::filters::Scope;
using namespace obsgate::filters::logql;

namespace {

Matcher eq(std::string n, std::string v) { return {std::move(n), MatchOp::kEq, std::move(v)}; }
Matcher re(std::string n, std::string v) { return {std::move(n), MatchOp::kRe, std::move(v)}; }

LogsPolicy tenant(std::vector<Rule> rules, bool auditor = false) {
  LogsPolicy p;
  p.scope.rules = std::move(rules);
  p.scope.hidden_labels = {"__tenant_secret", "internal_id"};
  p.audit_streams = {{eq("stream", "audit")}};
  p.auditor = auditor;
  return p;
}

const LogsPolicy kTeamA = tenant({{eq("tenant", "a")}});

// Composable checks on enforce_query's result.
using Check = std::function<void(const obsgate::Result<Enforced>&)>;

Check query_is(std::string want) {
  return [want](const obsgate::Result<Enforced>& r) {
    REQUIRE(r.ok());
    CHECK(r->query == want);
    CHECK(r->per_rule_queries.empty());
    // The output is itself valid LogQL.
    CHECK(parse(r->query).ok());
  };
}

Check per_rule_are(std::vector<std::string> want) {
  return [want](const obsgate::Result<Enforced>& r) {
    REQUIRE(r.ok());
    CHECK(r->query.empty());
    CHECK(r->per_rule_queries == want);
  };
}

Check fails(Code code, std::string needle) {
  return [code, needle](const obsgate::Result<Enforced>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == code);
    CHECK_THAT(r.status().message(), Catch::Contains(needle));
  };
}

Check touches(bool want) {
  return [want](const obsgate::Result<Enforced>& r) {
    REQUIRE(r.ok());
    CHECK(r->touches_audit == want);
  };
}

struct Case {
  const char* name;
  LogsPolicy policy;
  const char* input;
  std::vector<Check> checks;
};

void run(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      auto r = enforce_query(c.input, c.policy);
      for (const Check& check : c.checks) {
        check(r);
      }
    }
  }
}

}  // namespace

TEST_CASE("scope and audit matchers are appended to every selector") {
  LogsPolicy unrestricted = kTeamA;
  unrestricted.scope.unrestricted = true;
  LogsPolicy auditor_unrestricted = unrestricted;
  auditor_unrestricted.auditor = true;
  run({
      {"log query", kTeamA, R"({app="api"} |= "err")",
       {query_is(R"({app="api", tenant="a", stream!="audit"} |= "err")"), touches(false)}},
      {"user matchers kept", kTeamA, R"({app="api", tenant="b"})",
       {query_is(R"({app="api", tenant="b", tenant="a", stream!="audit"})")}},
      {"duplicate not repeated", kTeamA, R"({tenant="a", app="x"})",
       {query_is(R"({tenant="a", app="x", stream!="audit"})")}},
      {"metric", kTeamA, R"(sum by (level) (count_over_time({app="api"} | json [5m])))",
       {query_is(R"(sum by (level) (count_over_time({app="api", tenant="a", stream!="audit"} | json [5m])))")}},
      {"binary both sides", kTeamA, R"(sum(rate({app="x"}[5m])) / sum(rate({app="y"}[5m])))",
       {query_is(R"(sum(rate({app="x", tenant="a", stream!="audit"}[5m])) / sum(rate({app="y", tenant="a", stream!="audit"}[5m])))")}},
      {"label_replace inner", kTeamA, R"~(label_replace(rate({app="x"}[5m]), "d", "$1", "app", "(.*)"))~",
       {query_is(R"~(label_replace(rate({app="x", tenant="a", stream!="audit"}[5m]), "d", "$1", "app", "(.*)"))~")}},
      {"label filter on tenant is not enforcement", kTeamA, R"({app="x"} | tenant="b")",
       {query_is(R"({app="x", tenant="a", stream!="audit"} | tenant="b")")}},
      {"unrestricted non-auditor gets only the audit negation", unrestricted, R"({app="x"})",
       {query_is(R"({app="x", stream!="audit"})")}},
      {"unrestricted auditor unchanged", auditor_unrestricted, R"({app="x"} |= "y")",
       {query_is(R"({app="x"} |= "y")"), touches(true)}},
      {"collapsible rules merge", tenant({{eq("tenant", "a")}, {eq("tenant", "b")}}), R"({app="x"})",
       {query_is(R"({app="x", tenant=~"a|b", stream!="audit"})")}},
      {"scope values are quoted", tenant({{eq("tenant", "a\"}|~\\\n\xff")}}), R"({app="x"})",
       {query_is(R"({app="x", tenant="a\"}|~\\\n\xff", stream!="audit"})")}},
      {"multi matcher rule", tenant({{eq("tenant", "a"), re("env", "prod|stage")}}), R"({app="x"})",
       {query_is(R"({app="x", tenant="a", env=~"prod|stage", stream!="audit"})")}},
  });
}

TEST_CASE("several uncollapsible rules: per-rule log queries, or-lifted metric queries") {
  const LogsPolicy two = tenant({{eq("tenant", "a")}, {eq("team", "b")}});
  run({
      {"log query per rule", two, R"({app="x"} |= "e")",
       {per_rule_are({R"({app="x", tenant="a", stream!="audit"} |= "e")",
                      R"({app="x", team="b", stream!="audit"} |= "e")"})}},
      {"range aggregation lifted", two, R"(sum(rate({app="x"}[5m])))",
       {query_is(R"(sum(rate({app="x", tenant="a", stream!="audit"}[5m]) or rate({app="x", team="b", stream!="audit"}[5m])))")}},
      {"lifted per side", two, R"(count_over_time({app="x"}[1m]) > 5)",
       {query_is(R"((count_over_time({app="x", tenant="a", stream!="audit"}[1m]) or count_over_time({app="x", team="b", stream!="audit"}[1m])) > 5)")}},
      {"grouping not exact", two, R"(avg_over_time({app="x"} | unwrap l [5m]) by (h))",
       {fails(Code::kInvalidArgument, "cannot be split per rule")}},
      {"unwrap not exact", two, R"(sum_over_time({app="x"} | unwrap l [5m]))",
       {fails(Code::kInvalidArgument, "cannot be split")}},
      {"absent not exact", two, R"(absent_over_time({app="x"}[5m]))",
       {fails(Code::kInvalidArgument, "cannot be split")}},
      {"drop not exact", two, R"(sum(count_over_time({app="x"} | drop pod [5m])))",
       {fails(Code::kInvalidArgument, "cannot be split")}},
      {"label_format not exact", two, R"(count_over_time({app="x"} | label_format a=b [5m]))",
       {fails(Code::kInvalidArgument, "cannot be split")}},
  });
}

TEST_CASE("hidden labels are refused wherever they are referenced") {
  const char* refs[] = {
      R"({internal_id="1"})",
      R"({app="x"} | internal_id="1")",
      R"({app="x"} | a="1" or (b > 2 and internal_id=~"x"))",
      R"(sum by (internal_id) (rate({app="x"}[5m])))",
      R"(sum without (internal_id) (rate({app="x"}[5m])))",
      R"(max_over_time({app="x"} | unwrap l [5m]) by (internal_id))",
      R"(rate({app="x"}[5m]) / on(internal_id) rate({app="y"}[5m]))",
      R"(rate({app="x"}[5m]) / ignoring(internal_id) rate({app="y"}[5m]))",
      R"(rate({app="x"}[5m]) * on(a) group_left(internal_id) rate({app="y"}[5m]))",
      R"({app="x"} | label_format internal_id="x")",
      R"({app="x"} | label_format y=internal_id)",
      R"({app="x"} | label_format y="{{ .internal_id }}")",
      R"({app="x"} | line_format "{{.internal_id}}")",
      R"({app="x"} | line_format "{{ . }}")",
      R"({app="x"} | line_format "{{ range $k, $v := . }}{{$k}}{{end}}")",
      R"({app="x"} | line_format "{{ index $ \"internal_id\" }}")",
      R"({app="x"} | drop internal_id)",
      R"({app="x"} | keep internal_id="1")",
      R"(sum_over_time({app="x"} | unwrap internal_id [5m]))",
      R"(sum_over_time({app="x"} | unwrap l | internal_id="" [5m]))",
      R"~(label_replace(rate({app="x"}[5m]), "internal_id", "$1", "a", "(.*)"))~",
      R"~(label_replace(rate({app="x"}[5m]), "d", "$1", "internal_id", "(.*)"))~",
      R"({app="x"} | json internal_id="id")",
      R"({app="x"} | logfmt internal_id)",
      R"~({app="x"} | regexp "(?P<internal_id>\\d+)")~",
      R"({app="x"} | pattern "<_> <internal_id> <_>")",
      R"({app="x", __tenant_secret=~".+"})",
  };
  for (const char* q : refs) {
    DYNAMIC_SECTION(q) {
      auto r = enforce_query(q, kTeamA);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kInvalidArgument);
      const std::string m = r.status().message();
      const bool names_label = m.find("internal_id") != std::string::npos ||
                               m.find("__tenant_secret") != std::string::npos ||
                               m.find("whole label set") != std::string::npos;
      CHECK(names_label);
    }
  }
  // Near misses are fine.
  const char* fine[] = {
      R"({app="x"} | json id="internal_id")",
      R"({app="x"} | line_format "{{.internal_id_x}} {{ printf \"%.2f\" 1.5 }}")",
      R"({app="x"} |= "internal_id")",
  };
  for (const char* q : fine) {
    DYNAMIC_SECTION(q) { CHECK(enforce_query(q, kTeamA).ok()); }
  }
}

TEST_CASE("a non-auditor cannot reach audit streams by any query form") {
  const char* attempts[] = {
      R"({stream="audit"})",
      R"({stream=~"aud.*"})",
      R"({stream=~".+", app=~".*"})",
      R"({app="x"} |= "a" or "b")",
      R"({app="x"} | stream="audit")",
      R"({app="x"} | label_format stream="audit")",
      R"(sum(rate({stream=~"audit|app"}[5m])))",
      R"(rate({app="x"}[5m]) or rate({stream="audit"}[5m]))",
      R"(label_replace(rate({stream="audit"}[5m]), "stream", "x", "stream", ".*"))",
      R"(count_over_time(({stream!="app", app="x"} |= "x")[5m]))",
  };
  for (const char* q : attempts) {
    DYNAMIC_SECTION(q) {
      auto r = enforce_query(q, kTeamA);
      REQUIRE(r.ok());
      CHECK_FALSE(r->touches_audit);
      // Every selector of the rewritten query carries the negation and the scope.
      auto e = parse(r->query);
      REQUIRE(e.ok());
      size_t selectors = 0;
      size_t pos = 0;
      while ((pos = r->query.find('{', pos)) != std::string::npos) {
        const size_t end = r->query.find('}', pos);
        const std::string sel = r->query.substr(pos, end - pos + 1);
        if (sel.find("tenant=") != std::string::npos) {
          ++selectors;
          CHECK_THAT(sel, Catch::Contains(R"(stream!="audit")"));
          CHECK_THAT(sel, Catch::Contains(R"(tenant="a")"));
        }
        pos = end;
      }
      CHECK(selectors >= 1);
    }
  }
}

TEST_CASE("audit negation per matcher operator, and touches_audit for auditors") {
  LogsPolicy p = tenant({{eq("tenant", "a")}});
  p.audit_streams = {{eq("job", "openbao-audit")}, {re("stream", "audit|audit-.*")}};
  run({
      {"= and =~ negate", p, R"({app="x"})",
       {query_is(R"({app="x", tenant="a", job!="openbao-audit", stream!~"audit|audit-.*"})")}},
  });
  LogsPolicy a = tenant({{eq("tenant", "a")}}, /*auditor=*/true);
  run({
      {"auditor unconstrained selector", a, R"({app="x"})",
       {query_is(R"({app="x", tenant="a"})"), touches(true)}},
      {"auditor explicit other stream", a, R"({app="x", stream="app"})", {touches(false)}},
      {"auditor excluded by regex", a, R"({app="x", stream=~"app|web"})", {touches(false)}},
      {"auditor regex matching audit", a, R"({stream=~"aud.*"})", {touches(true)}},
      {"auditor negative excludes", a, R"({app="x", stream!="audit"})", {touches(false)}},
      {"auditor binop any side", a, R"(rate({stream="app"}[1m]) + rate({app="y"}[1m]))", {touches(true)}},
  });
}

TEST_CASE("policy validation and empty scopes") {
  LogsPolicy multi = kTeamA;
  multi.audit_streams = {{eq("stream", "audit"), eq("env", "prod")}};
  auto st = validate(multi);
  CHECK(st.code() == Code::kInvalidArgument);
  CHECK_THAT(st.message(), Catch::Contains("single-matcher"));
  // enforce fails closed even if validate() was skipped.
  CHECK_FALSE(enforce_query(R"({app="x"})", multi).ok());

  LogsPolicy keyword = kTeamA;
  keyword.scope.rules = {{eq("json", "x")}};
  CHECK_FALSE(validate(keyword).ok());
  LogsPolicy dotted = kTeamA;
  dotted.scope.rules = {{eq("k8s.ns", "x")}};
  CHECK_FALSE(validate(dotted).ok());
  LogsPolicy badre = kTeamA;
  badre.audit_streams = {{re("stream", "(")}};
  CHECK_FALSE(validate(badre).ok());
  CHECK(validate(kTeamA).ok());

  LogsPolicy none;
  auto r = enforce_query(R"({app="x"})", none);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kPermissionDenied);

  auto bad = enforce_query(R"~({app="x"} |~ "(")~", kTeamA);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
}

TEST_CASE("selector-only parameters") {
  struct SelCase {
    const char* name;
    LogsPolicy policy;
    const char* input;
    bool ok;
    const char* want;
  };
  const LogsPolicy two = tenant({{eq("tenant", "a")}, {eq("team", "b")}});
  const SelCase cases[] = {
      {"selector", kTeamA, R"({app="x"})", true, R"({app="x", tenant="a", stream!="audit"})"},
      {"pipeline refused", kTeamA, R"({app="x"} |= "y")", false, "only label matchers"},
      {"metric refused", kTeamA, R"(rate({app="x"}[1m]))", false, "only label matchers"},
      {"hidden refused", kTeamA, R"({internal_id="x"})", false, "internal_id"},
      {"empty-compatible refused", kTeamA, R"({app=~".*"})", false, "empty-compatible"},
      {"uncollapsible refused", two, R"({app="x"})", false, "several rules"},
  };
  for (const SelCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = enforce_selector(c.input, c.policy);
      REQUIRE(r.ok() == c.ok);
      if (c.ok) {
        CHECK(*r == c.want);
      } else {
        CHECK_THAT(r.status().message(), Catch::Contains(c.want));
      }
    }
  }
  auto all = enforce_selector_per_rule(R"({app="x"})", two);
  REQUIRE(all.ok());
  CHECK(*all == std::vector<std::string>{R"({app="x", tenant="a", stream!="audit"})",
                                         R"({app="x", team="b", stream!="audit"})"});
}

TEST_CASE("golden: the realistic corpus enforced for one tenant") {
  LogsPolicy p;
  p.scope.rules = {{eq("tenant", "team-a")}};
  p.scope.hidden_labels = {"internal_id"};
  p.audit_streams = {{eq("stream", "audit")}};
  std::ifstream queries(OBSGATE_TESTDATA_DIR "/logql/queries.txt");
  std::ifstream golden(OBSGATE_TESTDATA_DIR "/logql/enforced.golden");
  REQUIRE(queries);
  REQUIRE(golden);
  std::string q;
  std::string want;
  int n = 0;
  while (std::getline(queries, q)) {
    if (q.empty() || q[0] == ';') {
      continue;
    }
    REQUIRE(std::getline(golden, want));
    CAPTURE(q);
    auto r = enforce_query(q, p);
    REQUIRE(r.ok());
    CHECK(r->query == want);
    ++n;
  }
  CHECK_FALSE(std::getline(golden, want));
  CHECK(n >= 40);
}

TEST_CASE("scope_selectors stand in for a missing selector parameter") {
  LogsPolicy unrestricted_auditor = kTeamA;
  unrestricted_auditor.scope.unrestricted = true;
  unrestricted_auditor.auditor = true;
  LogsPolicy unrestricted = kTeamA;
  unrestricted.scope.unrestricted = true;
  struct SelCase {
    const char* name;
    LogsPolicy policy;
    std::vector<std::string> want;
    Code code;
  };
  const SelCase cases[] = {
      {"one rule", kTeamA, {R"({tenant="a", stream!="audit"})"}, Code::kOk},
      {"collapsed", tenant({{eq("tenant", "a")}, {eq("tenant", "b")}}),
       {R"({tenant=~"a|b", stream!="audit"})"}, Code::kOk},
      {"per rule", tenant({{eq("tenant", "a")}, {eq("team", "b")}}),
       {R"({tenant="a", stream!="audit"})", R"({team="b", stream!="audit"})"}, Code::kOk},
      {"auditor", tenant({{eq("tenant", "a")}}, true), {R"({tenant="a"})"}, Code::kOk},
      {"nothing to restrict", unrestricted_auditor, {}, Code::kOk},
      {"negation only is not a selector", unrestricted, {}, Code::kFailedPrecondition},
      {"no access", LogsPolicy{}, {}, Code::kPermissionDenied},
  };
  for (const SelCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = scope_selectors(c.policy);
      CHECK(r.status().code() == c.code);
      if (r.ok()) {
        CHECK(*r == c.want);
        for (const std::string& s : *r) {
          CHECK(parse(s).ok());
        }
      }
    }
  }
}

TEST_CASE("AST-level enforce leaves the input tree untouched") {
  const char* queries[] = {
      R"({app="x"} |= "e")",
      R"(sum(rate({app="x"}[5m])) / sum(rate({app="y"}[5m])))",
  };
  for (const char* q : queries) {
    DYNAMIC_SECTION(q) {
      auto tree = parse(q);
      REQUIRE(tree.ok());
      const std::string before = print(**tree);
      auto e = enforce(**tree, kTeamA);
      REQUIRE(e.ok());
      CHECK(print(**tree) == before);
      auto via_text = enforce_query(q, kTeamA);
      REQUIRE(via_text.ok());
      CHECK(print(*e->expr) == via_text->query);
    }
  }
}
