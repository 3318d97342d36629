// The strict text-format parser: accepted inputs (with the samples they hold), refused inputs
// (with the line and reason), limits, numbers, and print -> parse round trips.
#include <cmath>
#include <limits>

#include "filters/exposition/number.h"
#include "tests/filters/exposition/test_common.h"

namespace obsgate::filters::exposition {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

struct Case {
  std::string name;
  std::string input;
  Check check;
};

const std::vector<Case>& parse_cases() {
  static const std::vector<Case> kCases = {
      {"empty body", "", all({is_ok(), samples_are({})})},
      {"blank lines and comments only", "\n  \n# just a comment\n#\n", samples_are({})},
      {"untyped sample", "up 1\n", all({samples_are({"up{} 1"}), families_are({"up:untyped"})})},
      {"help and type", "# HELP up Whether it is up.\n# TYPE up gauge\nup 1\n",
       all({families_are({"up:gauge"}), help_is(0, "Whether it is up.")})},
      {"help after type and samples of the same family",
       "# TYPE x counter\nx 1\n# HELP x late help\n", help_is(0, "late help")},
      {"help escapes", "# HELP x a\\\\b\\nc \"q\"\nx 1\n", help_is(0, "a\\b\nc \"q\"")},
      {"help without text", "# HELP x\nx 1\n", help_is(0, "")},
      {"help trailing blanks trimmed", "# HELP x  two  words \t\nx 1\n", help_is(0, "two  words")},
      {"labels", "a{x=\"1\",y=\"two\"} 3\n", samples_are({"a{x=\"1\",y=\"two\"} 3"})},
      {"empty label set", "a{} 3\n", samples_are({"a{} 3"})},
      {"trailing comma", "a{x=\"1\",} 3\n", samples_are({"a{x=\"1\"} 3"})},
      {"blanks around label tokens", "a { x = \"1\" , y=\"2\" }\t3\n",
       samples_are({"a{x=\"1\",y=\"2\"} 3"})},
      {"no blank after brace", "a{x=\"1\"}3\n", samples_are({"a{x=\"1\"} 3"})},
      {"label escapes", "a{x=\"q\\\"b\\\\n\\n\"} 1\n", samples_are({"a{x=\"q\\\"b\\\\n\\n\"} 1"})},
      {"label value with utf-8 and braces", "a{x=\"h\xc3\xa9llo } {,\"} 1\n",
       samples_are({"a{x=\"h\xc3\xa9llo } {,\"} 1"})},
      {"timestamp", "a 1 1700000000000\n", samples_are({"a{} 1 @1700000000000"})},
      {"negative timestamp", "a 1 -5\n", samples_are({"a{} 1 @-5"})},
      {"leading and trailing blanks", "  \ta 1  \t\n", samples_are({"a{} 1"})},
      {"special values", "a{k=\"1\"} NaN\na{k=\"2\"} +Inf\na{k=\"3\"} -Inf\na{k=\"4\"} inf\n",
       samples_are({"a{k=\"1\"} NaN", "a{k=\"2\"} +Inf", "a{k=\"3\"} -Inf", "a{k=\"4\"} +Inf"})},
      {"float forms", "a{k=\"1\"} 1.5e3\na{k=\"2\"} .5\na{k=\"3\"} -0.25\na{k=\"4\"} 5.\n",
       samples_are({"a{k=\"1\"} 1500", "a{k=\"2\"} 0.5", "a{k=\"3\"} -0.25", "a{k=\"4\"} 5"})},
      {"metric name with colons", "job:rate:5m 2\n", samples_are({"job:rate:5m{} 2"})},
      {"histogram",
       "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\n"
       "h_count 2\n",
       all({families_are({"h:histogram"}),
            samples_are({"h_bucket{le=\"0.1\"} 1", "h_bucket{le=\"+Inf\"} 2", "h_sum{} 0.3",
                         "h_count{} 2"})})},
      {"summary",
       "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.99\"} 4\ns_sum 9\ns_count 3\n",
       all({families_are({"s:summary"}), samples_are({"s{quantile=\"0.5\"} 1",
                                                      "s{quantile=\"0.99\"} 4", "s_sum{} 9",
                                                      "s_count{} 3"})})},
      {"untyped _sum next to an untyped family", "x 1\nx_sum 2\n",
       families_are({"x:untyped", "x_sum:untyped"})},
      {"TYPE untyped", "# TYPE x untyped\nx 1\n", families_are({"x:untyped"})},
      {"empty-valued label next to a non-empty one",
       "a{x=\"\"} 1\na{x=\"y\"} 2\n", samples_are({"a{x=\"\"} 1", "a{x=\"y\"} 2"})},
      {"HELP-only family is kept without samples", "# HELP a doc\nb 1\n",
       families_are({"a:untyped", "b:untyped"})},
      {"comment between a family's lines", "# TYPE a gauge\n# note\na 1\n", samples_are({"a{} 1"})},
      // Refused inputs.
      {"missing final newline", "a 1\nb 2", fails_with("line 2: last line does not end")},
      {"carriage return", "a 1\r\n", fails_with("line 1: carriage return")},
      {"no value", "a\n", fails_with("line 1: sample 'a' has no value")},
      {"no value after labels", "a{x=\"1\"}\n", fails_with("has no value")},
      {"bad value", "a 1x\n", fails_with("invalid sample value '1x'")},
      {"hex value", "a 0x10\n", fails_with("invalid sample value")},
      {"signed nan", "a -NaN\n", fails_with("invalid sample value")},
      {"underscore value", "a 1_000\n", fails_with("invalid sample value")},
      {"value overflow", "a 1e400\n", fails_with("invalid sample value")},
      {"bad timestamp", "a 1 12.5\n", fails_with("line 1: invalid timestamp '12.5'")},
      {"timestamp overflow", "a 1 99999999999999999999\n", fails_with("invalid timestamp")},
      {"text after timestamp", "a 1 2 3\n", fails_with("unexpected text after the timestamp")},
      {"bad metric name", "1a 1\n", fails_with("expected a metric name")},
      {"name glued to garbage", "a-b 1\n", fails_with("unexpected character '-'")},
      {"bad label name", "a{1x=\"1\"} 1\n", fails_with("expected a label name")},
      {"reserved label name", "a{__name__=\"b\"} 1\n", fails_with("is reserved")},
      {"label without value", "a{x} 1\n", fails_with("expected '=' after label name 'x'")},
      {"unquoted label value", "a{x=1} 1\n", fails_with("expected '\"' to start")},
      {"unterminated label value", "a{x=\"1} 1\n", fails_with("label value is not closed")},
      {"unterminated label set", "a{x=\"1\"\n", fails_with("expected ',' or '}'")},
      {"missing comma", "a{x=\"1\" y=\"2\"} 1\n", fails_with("expected ',' or '}'")},
      {"leading comma", "a{,x=\"1\"} 1\n", fails_with("expected a label name")},
      {"bad label escape", "a{x=\"\\t\"} 1\n", fails_with("invalid escape sequence '\\t'")},
      {"invalid utf-8 label", "a{x=\"\xff\"} 1\n", fails_with("not valid UTF-8")},
      {"duplicate label", "a{x=\"1\",x=\"2\"} 1\n", fails_with("label 'x' appears twice")},
      {"duplicate series", "a{x=\"1\"} 1\na{x=\"1\"} 2\n",
       fails_with("line 2: duplicate series 'a'")},
      {"duplicate series by label order", "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
       fails_with("duplicate series")},
      {"empty label equals absent label", "a 1\na{x=\"\"} 2\n", fails_with("duplicate series")},
      {"help bad escape", "# HELP a x\\ty\n", fails_with("invalid escape sequence")},
      {"help lone backslash", "# HELP a x\\\n", fails_with("lone backslash")},
      {"help invalid utf-8", "# HELP a \xc3\x28\n", fails_with("not valid UTF-8")},
      {"help without name", "# HELP\n", fails_with("HELP line without a metric name")},
      {"type without name", "# TYPE \n", fails_with("TYPE line without a metric name")},
      {"help bad name", "# HELP 9a text\n", fails_with("invalid metric name '9a'")},
      {"second help", "# HELP a x\n# HELP a y\n", fails_with("line 2: second HELP line")},
      {"second type", "# TYPE a gauge\n# TYPE a gauge\n", fails_with("second TYPE line")},
      {"type after samples", "a 1\n# TYPE a gauge\n", fails_with("after its samples")},
      {"unknown type", "# TYPE a info\n", fails_with("unknown metric type 'info'")},
      {"type trailing text", "# TYPE a gauge x\n", fails_with("unexpected text after the type")},
      {"family not contiguous", "a 1\nb 1\na{x=\"1\"} 2\n",
       fails_with("line 3: lines of family 'a' are not together")},
      {"histogram parts not contiguous",
       "# TYPE h histogram\nh_sum 1\nother 1\nh_count 1\n", fails_with("line 4: lines of family")},
      {"histogram bucket without le", "# TYPE h histogram\nh_bucket 1\n",
       fails_with("'h_bucket' needs a 'le' label")},
      {"histogram bad le", "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
       fails_with("invalid le value 'x'")},
      {"histogram bare sample", "# TYPE h histogram\nh 1\n",
       fails_with("does not belong to histogram 'h'")},
      {"summary without quantile", "# TYPE s summary\ns 1\n", fails_with("needs a 'quantile'")},
      {"family claims another's sample name", "# TYPE h histogram\nh_sum 1\n# TYPE h_sum gauge\n",
       fails_with("clashes with 'h'")},
      {"untyped family then histogram claiming it", "x_count 1\n# TYPE x summary\n",
       fails_with("clashes with 'x_count'")},
      {"control character in a line", "a\x01 1\n", fails_with("unexpected character")},
  };
  return kCases;
}

TEST_CASE("exposition parse table") {
  for (const Case& c : parse_cases()) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      c.check(parse(c.input));
    }
  }
}

TEST_CASE("exposition print round trip of every accepted case") {
  for (const Case& c : parse_cases()) {
    const auto first = parse(c.input);
    if (!first.ok()) {
      continue;
    }
    DYNAMIC_SECTION(c.name) {
      const std::string printed = print(*first);
      CAPTURE(printed);
      const auto second = parse(printed);
      if (!second.ok()) {
        FAIL("printed form does not parse: " << second.status().message());
      }
      CHECK(render_all(*second) == render_all(*first));
      CHECK(print(*second) == printed);
    }
  }
}

TEST_CASE("exposition parse limits") {
  struct LimitCase {
    std::string name;
    std::string input;
    Limits limits;
    Check check;
  };
  const std::vector<LimitCase> cases = {
      {"bytes", "a 1\n", Limits{3, 10, 10}, fails_with("exceeds 3 bytes", Code::kResourceExhausted)},
      {"bytes at the cap", "a 1\n", Limits{4, 10, 10}, is_ok()},
      {"samples", "a 1\nb 1\nc 1\n", Limits{1000, 2, 10},
       fails_with("more than 2 samples", Code::kResourceExhausted)},
      {"labels", "a{x=\"1\",y=\"1\",z=\"1\"} 1\n", Limits{1000, 10, 2},
       fails_with("more than 2 labels", Code::kResourceExhausted)},
      {"labels at the cap", "a{x=\"1\",y=\"1\"} 1\n", Limits{1000, 10, 2}, is_ok()},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { c.check(parse(c.input, c.limits)); }
  }
}

TEST_CASE("exposition numbers") {
  const double kInf = std::numeric_limits<double>::infinity();
  struct NumCase {
    std::string input;
    bool ok;
    double want;
  };
  const std::vector<NumCase> cases = {
      {"0", true, 0},          {"-0", true, -0.0},       {"+1", true, 1},
      {"1e3", true, 1000},     {"1E-3", true, 0.001},    {"2.5e+2", true, 250},
      {"Inf", true, kInf},     {"+inf", true, kInf},     {"-Infinity", true, -kInf},
      {"1e-400", true, 0},     {"-1e-400", true, -0.0},  {"1e400", false, 0},
      {"-1e400", false, 0},    {"", false, 0},           {"+", false, 0},
      {".", false, 0},         {"e5", false, 0},         {"1e", false, 0},
      {"1e+", false, 0},       {"0x1p3", false, 0},      {"nan(1)", false, 0},
      {"+NaN", false, 0},      {"1.2.3", false, 0},      {" 1", false, 0},
      {"infinit", false, 0},   {"--1", false, 0},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION("'" << c.input << "'") {
      double v = 12345;
      REQUIRE(parse_float(c.input, v) == c.ok);
      if (c.ok) {
        CHECK(v == c.want);
        CHECK(std::signbit(v) == std::signbit(c.want));
      }
    }
  }
  double v = 0;
  CHECK(parse_float("NaN", v));
  CHECK(std::isnan(v));
  CHECK(parse_float("nan", v));
}

TEST_CASE("exposition value printing round-trips doubles") {
  const std::vector<double> values = {0.1, 1.0 / 3, 1e21, 5e-324, -2.5, 123456789012345678.0,
                                      std::numeric_limits<double>::max()};
  for (const double d : values) {
    std::string s;
    append_value(d, s);
    double back = 0;
    REQUIRE(parse_float(s, back));
    CHECK(back == d);
  }
}

TEST_CASE("exposition parses an OpenBao body and prints it back") {
  const std::string body = read_testdata("openbao_active.prom");
  const auto e = parse(body);
  if (!e.ok()) {
    FAIL(e.status().message());
  }
  CHECK(e->families.size() >= 8);
  const auto again = parse(print(*e));
  REQUIRE(again.ok());
  CHECK(render_all(*again) == render_all(*e));
}

}  // namespace
}  // namespace obsgate::filters::exposition
