// Round-trip and error tables for the LogQL parser and printer.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "filters/logql/logql.h"

using obsgate::Code;
using obsgate::filters::logql::parse;
using obsgate::filters::logql::print;

namespace {

struct RoundTrip {
  const char* name;
  const char* input;
  const char* printed;  // print(parse(input))
};

// Every construct of the language, with the canonical form the printer gives it.
const RoundTrip kRoundTrips[] = {
    // Stream selectors.
    {"selector", R"({app="foo"})", R"({app="foo"})"},
    {"selector ops", R"({a="1",b!="2",c=~"x.*",d!~"y"})", R"({a="1", b!="2", c=~"x.*", d!~"y"})"},
    {"raw string kept", R"({a=~`\d+`})", R"({a=~`\d+`})"},
    {"escapes", R"({a="tab\there \"q\" \u00e9 \x41"})", R"({a="tab\there \"q\" é A"})"},
    {"comment", "{a=\"b\"} # trailing comment", R"({a="b"})"},
    {"newlines", "{a=\"b\"}\n|= \"x\"\n| json", R"({a="b"} |= "x" | json)"},
    {"parenthesized log", R"(({app="foo"} |= "x"))", R"({app="foo"} |= "x")"},
    {"unreserved variants", R"({variants="a", of="b"})", R"({variants="a", of="b"})"},
    {"function word as label", R"({rate="a", ip="b", bytes="c"})", R"({rate="a", ip="b", bytes="c"})"},
    // Line filters.
    {"line filters", R"({a="b"} |= "err" != "dbg" |~ "e.r" !~ "x" |> "<_> x" !> "y")",
     R"({a="b"} |= "err" != "dbg" |~ "e.r" !~ "x" |> "<_> x" !> "y")"},
    {"line filter or", R"({a="b"} |= "a" or "b" or ip("10.0.0.0/8"))",
     R"({a="b"} |= "a" or "b" or ip("10.0.0.0/8"))"},
    {"negative or", R"({a="b"} != "a" or "b")", R"({a="b"} != "a" or "b")"},
    {"ip line filter", R"({a="b"} != ip("192.168.0.1-192.168.0.9"))",
     R"({a="b"} != ip("192.168.0.1-192.168.0.9"))"},
    {"regex or", R"({a="b"} |~ "a.*" or `b\d`)", R"({a="b"} |~ "a.*" or `b\d`)"},
    // Parsers.
    {"json", R"({a="b"} | json)", R"({a="b"} | json)"},
    {"json params", R"({a="b"} | json first="x.y[0]", b, c="c")", R"({a="b"} | json first="x.y[0]", b, c)"},
    {"logfmt flags", R"({a="b"} | logfmt --strict --keep-empty)", R"({a="b"} | logfmt --strict --keep-empty)"},
    {"logfmt params", R"({a="b"} | logfmt --keep-empty a, b="c")", R"({a="b"} | logfmt --keep-empty a, b="c")"},
    {"regexp", R"~({a="b"} | regexp "(?P<m>\\w+) (?P<p>\\S+)")~", R"~({a="b"} | regexp "(?P<m>\\w+) (?P<p>\\S+)")~"},
    {"pattern", R"({a="b"} | pattern `<ip> - <_> "<method> <path>"`)",
     R"({a="b"} | pattern `<ip> - <_> "<method> <path>"`)"},
    {"unpack", R"({a="b"} | unpack)", R"({a="b"} | unpack)"},
    {"keywords any case", R"({a="b"} | JSON | Logfmt)", R"({a="b"} | json | logfmt)"},
    // Label filters.
    {"string label filters", R"({a="b"} | x="1" | y!="2" | z=~"3" | w!~"4")",
     R"({a="b"} | x="1" | y!="2" | z=~"3" | w!~"4")"},
    {"number filters", R"({a="b"} | l > -1 | l >= +2 | l == 4.00 | l = 5 | l != 5 | l < 1e3 | l <= .5)",
     R"({a="b"} | l > -1 | l >= 2 | l == 4 | l == 5 | l != 5 | l < 1000 | l <= 0.5)"},
    {"duration filters", R"({a="b"} | d > 250ms | d <= 1h15m30.918273645s | d != -1s | d == 1d)",
     R"({a="b"} | d > 250ms | d <= 1h15m30s918ms273us645ns | d != -1s | d == 1d)"},
    {"bytes filters", R"({a="b"} | s <= 10GB | s > 2.5KiB | s = 42B | s == 1MiB)",
     R"({a="b"} | s <= 10000000000B | s > 2560B | s == 42B | s == 1048576B)"},
    {"zero bytes", R"({a="b"} | s > 0kB | s > 0KiB)", R"({a="b"} | s > 0KB | s > 0KB)"},
    {"ip label filters", R"({a="b"} | addr = ip("10.0.0.0/8") | addr != ip("::1"))",
     R"({a="b"} | addr=ip("10.0.0.0/8") | addr!=ip("::1"))"},
    {"and binds tighter than or", R"({a="b"} | x="1" or y="2" and z="3")",
     R"({a="b"} | x="1" or (y="2" and z="3"))"},
    {"and before or", R"({a="b"} | x="1" and y="2" or z="3")",
     R"({a="b"} | (x="1" and y="2") or z="3")"},
    {"parentheses", R"({a="b"} | (d > 1s or status==200) and method="POST")",
     R"({a="b"} | (d > 1s or status == 200) and method="POST")"},
    {"comma takes the rest", R"({a="b"} | x="1" or y="2", z="3")",
     R"({a="b"} | x="1" or (y="2" and z="3"))"},
    {"juxtaposition", R"({a="b"} | x="1" y="2" z="3")", R"({a="b"} | x="1" and (y="2" and z="3"))"},
    {"error labels", R"({a="b"} | json | __error__="" | __error_details__!="x")",
     R"({a="b"} | json | __error__="" | __error_details__!="x")"},
    // Formatting stages.
    {"line_format", R"({a="b"} | line_format "{{.a}} {{ .b | upper }}")",
     R"({a="b"} | line_format "{{.a}} {{ .b | upper }}")"},
    {"line_format raw", "{a=\"b\"} | line_format `{{.a}}\n\"q\"`", "{a=\"b\"} | line_format `{{.a}}\n\"q\"`"},
    {"label_format", R"({a="b"} | label_format dst=src, t="{{.x}}-{{.y}}")",
     R"({a="b"} | label_format dst=src, t="{{.x}}-{{.y}}")"},
    {"decolorize drop keep", R"({a="b"} | decolorize | drop x, y="v", z=~"r" | keep x, y!="v")",
     R"({a="b"} | decolorize | drop x, y="v", z=~"r" | keep x, y!="v")"},
    {"stages anywhere", R"({a="b"} | json |= "x" | level="error" != "y")",
     R"({a="b"} | json |= "x" | level="error" != "y")"},
    // Log ranges.
    {"range", R"(count_over_time({a="b"}[5m]))", R"(count_over_time({a="b"}[5m]))"},
    {"range after pipeline", R"(count_over_time({a="b"} |= "x" [5m]))", R"(count_over_time({a="b"} |= "x" [5m]))"},
    {"range before pipeline", R"(count_over_time({a="b"}[5m] |= "x"))", R"(count_over_time({a="b"} |= "x" [5m]))"},
    {"parenthesized range", R"(count_over_time(({a="b"} |= "x")[5m]))", R"(count_over_time({a="b"} |= "x" [5m]))"},
    {"parenthesized selector", R"(count_over_time(({a="b"})[5m]))", R"(count_over_time({a="b"}[5m]))"},
    {"range in parens", R"(count_over_time(({a="b"}[5m])))", R"(count_over_time({a="b"}[5m]))"},
    {"offset", R"(count_over_time({a="b"}[5m] offset 1h))", R"(count_over_time({a="b"}[5m] offset 1h))"},
    {"offset then pipeline", R"(rate({a="b"}[1h30m] offset -5m | json))", R"(rate({a="b"} | json [1h30m] offset -5m))"},
    {"range units", R"(rate({a="b"}[1w2d3h4m5s6ms]))", R"(rate({a="b"}[1w2d3h4m5s6ms]))"},
    {"range 90s", R"(rate({a="b"}[90s]))", R"(rate({a="b"}[1m30s]))"},
    // Unwrap.
    {"unwrap", R"(sum_over_time({a="b"} | logfmt | unwrap size [5m]))", R"(sum_over_time({a="b"} | logfmt | unwrap size [5m]))"},
    {"unwrap conversions", R"(sum_over_time({a="b"} | unwrap bytes(s) [5m]) + avg_over_time({a="b"} | unwrap duration(d) [5m]) + max_over_time({a="b"} | unwrap duration_seconds(d) [5m]))",
     R"((sum_over_time({a="b"} | unwrap bytes(s) [5m]) + avg_over_time({a="b"} | unwrap duration(d) [5m])) + max_over_time({a="b"} | unwrap duration_seconds(d) [5m]))"},
    {"unwrap post filters", R"(sum_over_time({a="b"} | json | unwrap x | __error__="" | x > 0 [5m]))",
     R"(sum_over_time({a="b"} | json | unwrap x | __error__="" | x > 0 [5m]))"},
    {"unwrap after range", R"(sum_over_time({a="b"}[5m] | unwrap x))", R"(sum_over_time({a="b"} | unwrap x [5m]))"},
    {"unwrap after offset", R"(sum_over_time({a="b"}[5m] offset 1m | json | unwrap x))",
     R"(sum_over_time({a="b"} | json | unwrap x [5m] offset 1m))"},
    {"unwrap in parens", R"(sum_over_time(({a="b"} | unwrap x)[5m]))", R"(sum_over_time({a="b"} | unwrap x [5m]))"},
    {"unwrap after parens", R"(sum_over_time(({a="b"})[5m] offset 1m | unwrap x))",
     R"(sum_over_time({a="b"} | unwrap x [5m] offset 1m))"},
    {"rate with unwrap", R"(rate({a="b"} | unwrap x [1m]))", R"(rate({a="b"} | unwrap x [1m]))"},
    {"rate_counter", R"(rate_counter({a="b"} | unwrap x [1m]))", R"(rate_counter({a="b"} | unwrap x [1m]))"},
    {"absent", R"(absent_over_time({a="b"}[1m]))", R"(absent_over_time({a="b"}[1m]))"},
    {"bytes", R"(bytes_over_time({a="b"}[1m]) + bytes_rate({a="b"}[1m]))", R"(bytes_over_time({a="b"}[1m]) + bytes_rate({a="b"}[1m]))"},
    // Range aggregations with parameters and grouping.
    {"quantile", R"(quantile_over_time(0.99, {a="b"} | unwrap d [5m]) by (host))",
     R"(quantile_over_time(0.99, {a="b"} | unwrap d [5m]) by (host))"},
    {"range grouping without", R"(avg_over_time({a="b"} | unwrap l [5m]) without (pod))",
     R"(avg_over_time({a="b"} | unwrap l [5m]) without (pod))"},
    {"range grouping others", R"(min_over_time({a="b"} | unwrap l [5m]) by () + first_over_time({a="b"} | unwrap l [5m]) by (x))",
     R"(min_over_time({a="b"} | unwrap l [5m]) by () + first_over_time({a="b"} | unwrap l [5m]) by (x))"},
    // Vector aggregations.
    {"grouping before", R"(sum by (app) (rate({a="b"}[5m])))", R"(sum by (app) (rate({a="b"}[5m])))"},
    {"grouping after", R"(sum(rate({a="b"}[5m])) by (app))", R"(sum by (app) (rate({a="b"}[5m])))"},
    {"without", R"(avg without (pod, ns) (rate({a="b"}[5m])))", R"(avg without (pod, ns) (rate({a="b"}[5m])))"},
    {"all vector ops", R"~(count(min(max(stddev(stdvar(sort(sort_desc(rate({a="b"}[5m])))))))))~",
     R"~(count(min(max(stddev(stdvar(sort(sort_desc(rate({a="b"}[5m])))))))))~"},
    {"topk", R"(topk(5, sum by (app) (rate({a="b"}[5m]))))", R"(topk(5, sum by (app) (rate({a="b"}[5m]))))"},
    {"topk grouped", R"(topk by (app) (5, rate({a="b"}[5m])))", R"(topk by (app) (5, rate({a="b"}[5m])))"},
    {"bottomk grouped after", R"(bottomk(2, rate({a="b"}[5m])) without (x))", R"(bottomk without (x) (2, rate({a="b"}[5m])))"},
    {"approx_topk", R"(approx_topk(3, rate({a="b"}[5m])))", R"(approx_topk(3, rate({a="b"}[5m])))"},
    {"sort empty grouping", R"(sort by () (rate({a="b"}[5m])))", R"(sort by () (rate({a="b"}[5m])))"},
    {"case-insensitive functions", R"(SUM(RATE({a="b"}[5m])) BY (x))", R"(sum by (x) (rate({a="b"}[5m])))"},
    // Binary operations.
    {"precedence", "1 + 2 * 3 ^ 2 ^ 2", "1 + (2 * (3 ^ (2 ^ 2)))"},
    {"left assoc", "1 - 2 - 3", "(1 - 2) - 3"},
    {"comparison below arithmetic", "1 + 2 > bool 3 * 4", "(1 + 2) > bool (3 * 4)"},
    {"set ops", R"(rate({a="b"}[5m]) and rate({a="c"}[5m]) unless rate({a="d"}[5m]) or rate({a="e"}[5m]))",
     R"(((rate({a="b"}[5m]) and rate({a="c"}[5m])) unless rate({a="d"}[5m])) or rate({a="e"}[5m]))"},
    {"literals", "-1 + +2.5 - 1e3", "(-1 + 2.5) - 1000"},
    {"negative zero", "-0.0 * 1", "-0.0 * 1"},
    {"vector matching", R"(sum(rate({a="b"}[5m])) / on(x, y) group_left(z) sum(rate({a="c"}[5m])))",
     R"(sum(rate({a="b"}[5m])) / on(x, y) group_left(z) sum(rate({a="c"}[5m])))"},
    {"ignoring group_right", R"(rate({a="b"}[5m]) * ignoring(x) group_right rate({a="c"}[5m]))",
     R"(rate({a="b"}[5m]) * ignoring(x) group_right() rate({a="c"}[5m]))"},
    {"on empty", R"(rate({a="b"}[5m]) + on() rate({a="c"}[5m]))", R"(rate({a="b"}[5m]) + on() rate({a="c"}[5m]))"},
    {"ignoring empty is nothing", R"(rate({a="b"}[5m]) + ignoring() rate({a="c"}[5m]))", R"(rate({a="b"}[5m]) + rate({a="c"}[5m]))"},
    {"bool", R"(sum(rate({a="b"}[5m])) > bool 10)", R"(sum(rate({a="b"}[5m])) > bool 10)"},
    {"all comparisons", "1 == bool 1 != bool 2 >= bool 3 < bool 4 <= bool 5 % 6",
     "((((1 == bool 1) != bool 2) >= bool 3) < bool 4) <= bool (5 % 6)"},
    {"parenthesized metric", R"((sum(rate({a="b"}[5m]))))", R"(sum(rate({a="b"}[5m])))"},
    // Spacing and nesting as people write them.
    {"tight pipes", R"(sum_over_time({ns="x"} |= "e" | json |a>=5,b<25ms|unwrap l [5m]))",
     R"(sum_over_time({ns="x"} |= "e" | json | a >= 5 and b < 25ms | unwrap l [5m]))"},
    {"spaced parens", R"(rate( ( {job="db"} |="err" !="tmo" ) [10s] offset 10d ))",
     R"(rate({job="db"} |= "err" != "tmo" [10s] offset 1w3d))"},
    {"nested label filter parens", R"({a="b"} | ( ( x<5.01 , y>20ms ) or z="w" ))",
     R"({a="b"} | (x < 5.01 and y > 20ms) or z="w")"},
    {"range glued to unwrap", R"(avg(min_over_time({a="b"} |= "GET" | unwrap f[10s])) by (r))",
     R"(avg by (r) (min_over_time({a="b"} |= "GET" | unwrap f [10s])))"},
    {"absent with unwrap", R"(absent_over_time({a="b"} | unwrap l | __error__!~".*" | l >5[5m]))",
     R"(absent_over_time({a="b"} | unwrap l | __error__!~".*" | l > 5 [5m]))"},
    {"or on empty", R"((sum(rate({a="b"}[5m])) / 60) or on () (sum(rate({a="c"}[5m])) / 15))",
     R"((sum(rate({a="b"}[5m])) / 60) or on() (sum(rate({a="c"}[5m])) / 15))"},
    {"multiline", "sum by (job) (\n\tcount_over_time({ns=\"x\"} |= \"e\"[5m])\n/\n\tcount_over_time({ns=\"x\"}[5m])\n)",
     R"(sum by (job) (count_over_time({ns="x"} |= "e" [5m]) / count_over_time({ns="x"}[5m])))"},
    {"literals are not folded", "1 > 1 > bool 1", "(1 > 1) > bool 1"},
    // Other functions.
    {"label_replace", R"~(label_replace(rate({a="b"}[5m]), "dst", "$1", "src", "(.*)"))~",
     R"~(label_replace(rate({a="b"}[5m]), "dst", "$1", "src", "(.*)"))~"},
    {"vector", R"(rate({a="b"}[5m]) or vector(0))", R"(rate({a="b"}[5m]) or vector(0))"},
    {"vector fraction", "vector(1.5)", "vector(1.5)"},
};

struct Bad {
  const char* name;
  const char* input;
  const char* error;  // substring of the message
};

const Bad kErrors[] = {
    {"empty selector", "{}", "at least one regexp or equality matcher"},
    {"only negative", R"({foo!="bar"})", "empty-compatible"},
    {"matches empty regex", R"({app=~".*"})", "empty-compatible"},
    {"empty selector in metric", R"(rate({a=~".*"}[5m]))", "empty-compatible"},
    {"trailing comma", R"({a="b",})", "syntax error"},
    {"quoted label name", R"({"a.b"="x"})", "syntax error"},
    {"keyword label name", R"({json="x"})", "syntax error"},
    {"single quotes", "{a='b'}", "unexpected character"},
    {"unterminated string", R"({a="b)", "not terminated"},
    {"bad escape", R"({a="\q"})", "invalid syntax"},
    {"bad regex matcher", R"~({a=~"("})~", "invalid regex"},
    {"bad line regex", R"~({a="b"} |~ "(")~", "invalid regex"},
    {"ip with regex filter", R"({a="b"} |~ ip("1.2.3.4"))", "ip()"},
    {"ip label filter cmp", R"({a="b"} | x > ip("1.2.3.4"))", "ip()"},
    {"regexp without names", R"~({a="b"} | regexp "(\\w+)")~", "named capture"},
    {"hex number", R"({a="b"} | x > 0x10)", "decimal"},
    {"bad range unit", R"(rate({a="b"}[5minutes]))", "not a valid duration"},
    {"range with spaces", R"(rate({a="b"}[ 5m ]))", "not a valid duration"},
    {"unterminated range", R"(rate({a="b"}[5m)", "missing closing ']'"},
    {"range alone", R"({a="b"}[5m])", "syntax error"},
    {"subquery", R"(rate({a="b"}[5m:1m]))", "not a valid duration"},
    {"range arithmetic", R"(rate({a="b"}[5m+1m]))", "not a valid duration"},
    {"at modifier", R"(rate({a="b"}[5m] @ 100))", "unexpected character '@'"},
    {"no unwrap", R"(sum_over_time({a="b"}[5m]))", "without unwrap"},
    {"unwrap not allowed", R"(count_over_time({a="b"} | unwrap x [5m]))", "with unwrap"},
    {"range grouping", R"(count_over_time({a="b"}[5m]) by (x))", "grouping not allowed"},
    {"rate grouping", R"(rate({a="b"}[5m]) by ())", "grouping not allowed"},
    {"range parameter", R"(sum_over_time(50, {a="b"} | unwrap x [5m]))", "parameter 50 not supported"},
    {"quantile parameter missing", R"(quantile_over_time({a="b"} | unwrap x [5m]))", "parameter required"},
    {"topk zero", R"(topk(0, rate({a="b"}[5m])))", "greater than 0"},
    {"topk fraction", R"(topk(1.5, rate({a="b"}[5m])))", "invalid parameter"},
    {"topk missing k", R"(topk(rate({a="b"}[5m])))", "parameter required"},
    {"sum parameter", R"(sum(5, rate({a="b"}[5m])))", "unsupported parameter"},
    {"sort grouping", R"(sort by (a) (rate({a="b"}[5m])))", "sort and sort_desc"},
    {"approx_topk grouping", R"(approx_topk by (a) (3, rate({a="b"}[5m])))", "grouping not allowed"},
    {"log in binop", R"({a="b"} + 1)", "left leg"},
    {"log in aggregation", R"(sum({a="b"}))", "log query"},
    {"set op literal", R"(rate({a="b"}[5m]) or 1)", "unexpected literal"},
    {"unary minus on expression", R"(-rate({a="b"}[5m]))", "expecting NUMBER"},
    {"label_replace bad dst", R"(label_replace(rate({a="b"}[5m]), "1x", "", "src", ""))", "destination label"},
    {"label_replace bad regex", R"~(label_replace(rate({a="b"}[5m]), "d", "", "s", "("))~", "invalid regex"},
    {"atan2", R"(rate({a="b"}[5m]) atan2 rate({a="b"}[5m]))", "syntax error"},
    {"promql function", R"(abs(rate({a="b"}[5m])))", "syntax error"},
    {"trailing garbage", R"({a="b"} x)", "syntax error"},
    {"group_left takes the paren", R"(rate({a="b"}[5m]) + on(x) group_left (rate({a="c"}[5m])))", "syntax error"},
    {"non-ascii identifier", "{ñ=\"x\"}", "non-ASCII"},
    {"invalid utf8", "{a=\"\xff\"}", "UTF-8"},
    {"unwrap after pipeline paren", R"(sum_over_time(({a="b"} | json)[5m] | unwrap x))", "syntax error"},
    {"double parens selector", R"(count_over_time((({a="b"}))[5m]))", "syntax error"},
    {"json flags", R"({a="b"} | json --strict)", "syntax error"},
    {"label filter string cmp", R"({a="b"} | x == "1")", "NUMBER, DURATION or BYTES"},
    {"empty input", "", "syntax error"},
};

}  // namespace

TEST_CASE("print(parse(x)) is canonical and parses back to the same tree") {
  for (const RoundTrip& c : kRoundTrips) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      auto r = parse(c.input);
      REQUIRE(r.ok());
      const std::string printed = print(**r);
      CHECK(printed == c.printed);
      auto again = parse(printed);
      REQUIRE(again.ok());
      CHECK(**again == **r);
      CHECK(print(**again) == printed);
    }
  }
}

TEST_CASE("invalid LogQL is refused with a positioned InvalidArgument") {
  for (const Bad& c : kErrors) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      auto r = parse(c.input);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kInvalidArgument);
      CHECK_THAT(r.status().message(), Catch::Contains(c.error));
      CHECK_THAT(r.status().message(), Catch::StartsWith("parse error"));
    }
  }
}

TEST_CASE("error positions are line and column of the offending token") {
  struct Case {
    const char* input;
    const char* prefix;
  };
  const Case cases[] = {
      {R"(sum(rate({a="b"}[5m])) by (x) +)", "parse error at line 1, col 32:"},
      {"{a=\"b\"}\n  | json\n  | x > 0x1", "parse error at line 3, col 9:"},
      {R"({a="é"} | x > 0x1)", "parse error at line 1, col 15:"},
  };
  for (const Case& c : cases) {
    auto r = parse(c.input);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::StartsWith(c.prefix));
  }
}

TEST_CASE("limits: input size and nesting depth are bounded without crashing") {
  std::string big = R"({a="b"} |= ")" + std::string(131072, 'x') + "\"";
  auto r = parse(big);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("input size too long"));

  std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  CHECK_FALSE(parse(deep).ok());

  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) {
    chain += " + 1";
  }
  auto c = parse(chain);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.status().message(), Catch::Contains("nested too deeply"));

  std::string filters = R"({a="b"} | )";
  for (int i = 0; i < 5000; ++i) {
    filters += "x=\"1\" ";
  }
  CHECK_FALSE(parse(filters).ok());

  // Near the limits, the printed form (which adds parentheses) still parses back.
  std::string juxtaposed = R"({a="b"} | )";
  for (int i = 0; i < 120; ++i) {
    juxtaposed += "x=\"1\" ";
  }
  std::string left_nested = R"(rate({a="b"} | )" + std::string(120, '(') + "x=\"1\"";
  for (int i = 0; i < 120; ++i) {
    left_nested += " and y=\"2\")";
  }
  left_nested += " [5m])";
  for (const std::string& q : {juxtaposed, left_nested}) {
    auto p = parse(q);
    REQUIRE(p.ok());
    auto back = parse(print(**p));
    REQUIRE(back.ok());
    CHECK(**back == **p);
  }

  std::string ok_chain = "1";
  for (int i = 0; i < 100; ++i) {
    ok_chain += " + 1";
  }
  CHECK(parse(ok_chain).ok());
}

TEST_CASE("the realistic query corpus round-trips") {
  std::ifstream in(OBSGATE_TESTDATA_DIR "/logql/queries.txt");
  REQUIRE(in);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') {
      continue;
    }
    CAPTURE(line);
    auto r = parse(line);
    REQUIRE(r.ok());
    auto again = parse(print(**r));
    REQUIRE(again.ok());
    CHECK(**again == **r);
    ++n;
  }
  CHECK(n >= 40);
}
