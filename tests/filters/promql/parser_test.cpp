// Parser and printer: the golden round-trip table (tests/testdata/promql/roundtrip.txt), every
// function of the table, operator/modifier combinations, selector-only parsing, and limits.
#include <fstream>
#include <sstream>
#include <vector>

#include "filters/promql/functions.h"
#include "tests/filters/promql/test_common.h"

namespace obsgate::filters::promql {
namespace {

using testing::check_round_trip;

struct GoldenCase {
  int line = 0;
  std::string input;
  std::string printed;  // expected print; empty with !error.empty()
  std::string error;
};

std::vector<GoldenCase> load_golden(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<GoldenCase> cases;
  std::string line;
  std::string pending;
  int line_no = 0;
  int start_line = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (pending.empty() && line.rfind("//", 0) == 0) {
      continue;
    }
    if (pending.empty()) {
      start_line = line_no;
    }
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, " \\") == 0) {
      pending += line.substr(0, line.size() - 2) + "\n";
      continue;
    }
    std::string text = pending + line;
    pending.clear();
    if (text.empty()) {
      continue;
    }
    GoldenCase c;
    c.line = start_line;
    if (auto p = text.find(" !!! "); p != std::string::npos) {
      c.input = text.substr(0, p);
      c.error = text.substr(p + 5);
    } else if (auto q = text.find(" ==> "); q != std::string::npos) {
      c.input = text.substr(0, q);
      c.printed = text.substr(q + 5);
    } else {
      c.input = text;
      c.printed = text;
      while (!c.printed.empty() && c.printed.back() == ' ') {
        c.printed.pop_back();
      }
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST_CASE("promql golden round-trip table") {
  const auto cases = load_golden(std::string(OBSGATE_TESTDATA_DIR) + "/promql/roundtrip.txt");
  REQUIRE(cases.size() > 300);
  for (const GoldenCase& c : cases) {
    DYNAMIC_SECTION("line " << c.line << ": " << c.input) {
      auto r = parse(c.input);
      if (!c.error.empty()) {
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == Code::kInvalidArgument);
        CHECK(r.status().message() == c.error);
      } else {
        if (!r.ok()) {
          FAIL(r.status().message());
        }
        CHECK(check_round_trip(c.input) == c.printed);
      }
    }
  }
}

// Arguments of each type that satisfy the function table.
std::string sample_arg(ValueType t, size_t index) {
  switch (t) {
    case ValueType::kScalar: return index == 0 ? "0.5" : "2";
    case ValueType::kVector: return index == 0 ? "foo{a=\"b\"}" : "{job=\"x\"}";
    case ValueType::kMatrix: return "foo[5m]";
    case ValueType::kString: return "\"l" + std::to_string(index) + "\"";
    case ValueType::kNone: break;
  }
  return "?";
}

TEST_CASE("promql every function in the table parses, round-trips and is gated") {
  REQUIRE(all_functions().size() == 90);
  for (const FunctionInfo& f : all_functions()) {
    DYNAMIC_SECTION(f.name) {
      CHECK(find_function(f.name) == &f);  // the table is sorted
      std::string call(f.name);
      call += '(';
      for (size_t i = 0; i < f.arg_count; ++i) {
        call += (i > 0 ? ", " : "") + sample_arg(f.arg_types[i], i);
      }
      call += ')';
      CAPTURE(call);
      ParseOptions exp;
      exp.experimental_functions = true;
      CHECK(check_round_trip(call, exp) == call);
      auto plain = parse(call);
      CHECK(plain.ok() == !f.experimental);
      if (f.experimental) {
        CHECK(plain.status().message() ==
              "1:1: parse error: function \"" + std::string(f.name) + "\" is not enabled");
      }
      if (f.variadic < 0 || f.variadic > 1) {
        // More of the last declared type are allowed.
        std::string more = call.substr(0, call.size() - 1) + (f.arg_count > 0 ? ", " : "") +
                           sample_arg(f.arg_types[f.arg_count - 1], 7) + ")";
        CHECK(check_round_trip(more, exp) == more);
      }
      if (f.arg_count > 0) {
        std::string wrong = call.substr(0, call.size() - 1) + ", \"x\", \"y\", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)";
        CHECK_FALSE(parse(wrong, exp).ok());
      }
    }
  }
}

TEST_CASE("promql experimental aggregations and functions round-trip when enabled") {
  ParseOptions exp;
  exp.experimental_functions = true;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"limitk(2, foo)", "limitk(2, foo)"},
      {"limit_ratio(0.5, foo) by (a)", "limit_ratio by (a) (0.5, foo)"},
      {"sort_by_label(foo, \"a\", \"b\")", "sort_by_label(foo, \"a\", \"b\")"},
      {"info(foo, {k8s_cluster=~\".+\"})", "info(foo, {k8s_cluster=~\".+\"})"},
      {"start() + end() - step() * range()", "start() + end() - step() * range()"},
      {"histogram_quantiles(foo, \"q\", 0.5, 0.9, 0.99)", "histogram_quantiles(foo, \"q\", 0.5, 0.9, 0.99)"},
      {"foo @ start() + min_of(1, 2)", "foo @ start() + min_of(1, 2)"},
  };
  for (const auto& [in, want] : cases) {
    DYNAMIC_SECTION(in) { CHECK(check_round_trip(in, exp) == want); }
  }
  CHECK(parse("info(foo, bar + 1)", exp).status().message() ==
        "1:11: parse error: expected label selectors as the second argument to \"info\" function");
}

TEST_CASE("promql binary operators with every modifier combination round-trip") {
  const std::vector<std::string> ops = {"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", "<",
                                        ">", "<=", ">=", "and", "or", "unless"};
  const std::vector<std::string> bools = {"", " bool"};
  const std::vector<std::string> matchings = {"", " on(a)", " ignoring(a, b)", " on()"};
  const std::vector<std::string> groups = {"", " group_left", " group_right(c)"};
  int accepted = 0;
  int rejected = 0;
  for (const auto& op : ops) {
    for (const auto& b : bools) {
      for (const auto& m : matchings) {
        for (const auto& g : groups) {
          if (m.empty() && !g.empty()) {
            continue;  // not in the grammar
          }
          const std::string q = "x" + std::string(" ") + op + b + m + g + " y";
          DYNAMIC_SECTION(q) {
            const bool cmp = op == "==" || op == "!=" || op == "<" || op == ">" || op == "<=" ||
                             op == ">=";
            const bool set = op == "and" || op == "or" || op == "unless";
            const bool ok = (b.empty() || cmp) && (!set || g.empty());
            auto r = parse(q);
            CHECK(r.ok() == ok);
            if (r.ok()) {
              check_round_trip(q);
              ++accepted;
            } else {
              ++rejected;
            }
          }
          // Nested, to exercise precedence in both directions.
          const std::string nested = "a + x " + op + b + m + g + " y * c ^ d";
          if (auto r = parse(nested); r.ok()) {
            check_round_trip(nested);
          }
        }
      }
    }
  }
  CHECK(accepted + rejected > 0);
}

TEST_CASE("promql precedence matches Prometheus") {
  struct Case {
    std::string input;
    std::string same_as;  // explicit parenthesisation
  };
  const std::vector<Case> cases = {
      {"a + b * c", "a + (b * c)"},
      {"a * b + c", "(a * b) + c"},
      {"a - b - c", "(a - b) - c"},
      {"a ^ b ^ c", "a ^ (b ^ c)"},
      {"-a ^ b", "-(a ^ b)"},
      {"-a * b", "(-a) * b"},
      {"a or b and c", "a or (b and c)"},
      {"a and b unless c", "(a and b) unless c"},
      {"a == b + c", "a == (b + c)"},
      {"a + b offset 5m", "a + (b offset 5m)"},
      {"a atan2 b + c", "(a atan2 b) + c"},
      {"a < b or c > d", "(a < b) or (c > d)"},
      {"a % b ^ c * d", "(a % (b ^ c)) * d"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.input) {
      auto x = parse(c.input);
      auto y = parse(c.same_as);
      REQUIRE(x.ok());
      REQUIRE(y.ok());
      // The explicit form has kParen nodes; compare the printed shape with parens removed.
      std::string px = print(*x);
      std::string py = print(*y);
      std::string stripped;
      for (char ch : py) {
        if (ch != '(' && ch != ')') {
          stripped += ch;
        }
      }
      CHECK(px == stripped);
      CHECK_FALSE(structurally_equal(*x, x->root(), *y, y->root()));  // parens are kept
    }
  }
}

TEST_CASE("promql selector-only grammar (match[])") {
  struct Case {
    std::string input;
    std::string want;  // printed, or "!" + error
  };
  const std::vector<Case> cases = {
      {"foo", "foo"},
      {"foo{a=\"b\"}", "foo{a=\"b\"}"},
      {"{a=~\"x.*\"}", "{a=~\"x.*\"}"},
      {"{\"my.metric\"}", "{__name__=\"my.metric\"}"},
      {"sum", "{__name__=\"sum\"}"},
      {"up{job=\"a\"} # comment", "up{job=\"a\"}"},
      {"rate(foo[5m])", "!1:5: parse error: unexpected \"(\""},
      {"foo[5m]", "!1:4: parse error: unexpected \"[\""},
      {"foo offset 5m", "!1:5: parse error: unexpected \"offset\""},
      {"foo + bar", "!1:5: parse error: unexpected \"+\""},
      {"1", "!1:1: parse error: unexpected number \"1\", expected vector selector"},
      {"{}", "!1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"", "!1:1: parse error: unexpected end of input, expected vector selector"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.input) {
      auto r = parse_selector(c.input);
      if (c.want.front() == '!') {
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().message() == c.want.substr(1));
      } else {
        REQUIRE(r.ok());
        CHECK(print(*r) == c.want);
      }
    }
  }
}

TEST_CASE("promql limits: nesting depth and input size fail cleanly") {
  std::string deep(300, '(');
  deep += "foo";
  deep += std::string(300, ')');
  auto r = parse(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("expression nesting too deep") != std::string::npos);

  std::string unary(1000, '-');
  unary += "foo";
  CHECK_FALSE(parse(unary).ok());

  std::string ok_depth(100, '(');
  ok_depth += "foo";
  ok_depth += std::string(100, ')');
  CHECK(parse(ok_depth).ok());

  // Operator chains nest without parser recursion; the tree height is capped (4 * max_depth)
  // so that every recursive walker stays shallow, and building them is linear.
  auto chain = [](int terms) {
    std::string q = "a";
    for (int i = 1; i < terms; ++i) {
      q += " + a";
    }
    return q;
  };
  CHECK(parse(chain(1000)).ok());
  auto too_long = parse(chain(1100));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().message().find("expression nesting too deep") != std::string::npos);
  CHECK(check_round_trip(chain(3)) == "a + a + a");

  ParseOptions small;
  small.max_input_bytes = 16;
  auto big = parse("foo{a=\"0123456789\"}", small);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == Code::kResourceExhausted);
}

}  // namespace
}  // namespace obsgate::filters::promql
