#include "filters/scope/scope.h"

#include <catch2/catch.hpp>

using obsgate::filters::collapse;
using obsgate::filters::make_matcher;
using obsgate::filters::Matcher;
using obsgate::filters::MatchOp;
using obsgate::filters::Rule;

namespace {
Matcher eq(std::string n, std::string v) { return {std::move(n), MatchOp::kEq, std::move(v)}; }
Matcher re(std::string n, std::string v) { return {std::move(n), MatchOp::kRe, std::move(v)}; }
}  // namespace

TEST_CASE("make_matcher renders value lists as escaped alternations") {
  struct Case {
    const char* name;
    MatchOp op;
    std::vector<std::string> values;
    MatchOp want_op;
    const char* want_value;
  };
  const Case cases[] = {
      {"single eq stays literal", MatchOp::kEq, {"a.b"}, MatchOp::kEq, "a.b"},
      {"list eq becomes regex", MatchOp::kEq, {"team-a", "team.b"}, MatchOp::kRe, "team\\-a|team\\.b"},
      {"list neq becomes negative regex", MatchOp::kNeq, {"x", "y"}, MatchOp::kNre, "x|y"},
      {"regex kept", MatchOp::kRe, {"a.*"}, MatchOp::kRe, "a.*"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto m = make_matcher("ns", c.op, c.values);
      REQUIRE(m.ok());
      CHECK(m->op == c.want_op);
      CHECK(m->value == c.want_value);
    }
  }
}

TEST_CASE("make_matcher rejects bad input with the label named") {
  CHECK_FALSE(make_matcher("", MatchOp::kEq, {"a"}).ok());
  CHECK_FALSE(make_matcher("ns", MatchOp::kEq, {}).ok());
  auto bad = make_matcher("ns", MatchOp::kRe, {"(unclosed"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("ns") != std::string::npos);
  CHECK_FALSE(make_matcher("ns", MatchOp::kRe, {"a", "b"}).ok());
}

TEST_CASE("collapse merges rules differing in one label's literal values") {
  struct Case {
    const char* name;
    std::vector<Rule> rules;
    bool collapsible;
    Rule want;
  };
  const Case cases[] = {
      {"one rule", {{eq("a", "1")}}, true, {eq("a", "1")}},
      {"values merge", {{eq("ns", "a"), eq("c", "p")}, {eq("c", "p"), eq("ns", "b")}}, true,
       {eq("c", "p"), re("ns", "a|b")}},
      {"regex alternation merges", {{re("ns", "a|b")}, {eq("ns", "c")}}, true, {re("ns", "a|b|c")}},
      {"identical rules", {{eq("a", "1")}, {eq("a", "1")}}, true, {eq("a", "1")}},
      {"two labels differ", {{eq("a", "1"), eq("b", "1")}, {eq("a", "2"), eq("b", "2")}}, false, {}},
      {"different label sets", {{eq("a", "1")}, {eq("b", "1")}}, false, {}},
      {"real regex not merged", {{re("a", "x.*")}, {eq("a", "y")}}, false, {}},
      {"negative not merged", {{{"a", MatchOp::kNeq, "x"}}, {eq("a", "y")}}, false, {}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto got = collapse(c.rules);
      REQUIRE(got.has_value() == c.collapsible);
      if (c.collapsible) {
        CHECK(*got == c.want);
      }
    }
  }
}

TEST_CASE("matches evaluates anchored regexes and missing labels as empty") {
  std::map<std::string, std::string, std::less<>> labels{{"ns", "team-a"}, {"c", "prod"}};
  CHECK(obsgate::filters::matches(re("ns", "team-.*"), labels));
  CHECK_FALSE(obsgate::filters::matches(re("ns", "team"), labels));  // anchored
  CHECK(obsgate::filters::matches(eq("missing", ""), labels));
  obsgate::filters::Scope s;
  CHECK_FALSE(obsgate::filters::matches(s, labels));  // empty restricted scope: nothing
  s.rules = {{eq("ns", "team-b")}, {eq("c", "prod")}};
  CHECK(obsgate::filters::matches(s, labels));
  s.unrestricted = true;
  s.rules.clear();
  CHECK(obsgate::filters::matches(s, labels));
}
