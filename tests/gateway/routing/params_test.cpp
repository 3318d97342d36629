// Table-driven tests for parse_params / encode_params / merge_url_and_form.
#include "gateway/routing/params.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

using obsgate::Code;
using obsgate::Result;
using obsgate::routing::encode_params;
using obsgate::routing::is_valid_utf8;
using obsgate::routing::merge_url_and_form;
using obsgate::routing::ParamPolicy;
using obsgate::routing::Params;
using obsgate::routing::parse_params;
namespace reason = obsgate::routing::reason;

namespace {

using Entries = std::vector<Params::Entry>;
using Check = std::function<void(const Result<Params>&)>;

Check entries_are(Entries want) {
  return [want](const Result<Params>& r) {
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    CHECK(r->entries() == want);
  };
}
Check utf8_flag(bool invalid) {
  return [invalid](const Result<Params>& r) {
    REQUIRE(r.ok());
    CHECK(r->has_invalid_utf8() == invalid);
  };
}
Check fails_with(std::string why) {
  return [why](const Result<Params>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message() == why);
  };
}
Check all(std::vector<Check> checks) {
  return [checks](const Result<Params>& r) {
    for (const auto& c : checks) {
      c(r);
    }
  };
}

struct Case {
  const char* name;
  std::string input;
  Check check;
};

}  // namespace

TEST_CASE("parse_params decodes query strings and form bodies") {
  std::string nul_raw = "a=b";
  nul_raw.push_back('\0');
  const Case cases[] = {
      {"empty", "", entries_are({})},
      {"one pair", "query=up", entries_are({{"query", "up"}})},
      {"order kept", "b=2&a=1&c=3", entries_are({{"b", "2"}, {"a", "1"}, {"c", "3"}})},
      {"duplicate keys kept", "a=1&a=2", entries_are({{"a", "1"}, {"a", "2"}})},
      {"plus is space", "q=a+b++c", entries_are({{"q", "a b  c"}})},
      {"encoded plus is plus", "q=a%2Bb", entries_are({{"q", "a+b"}})},
      {"plus in key", "a+b=1", entries_are({{"a b", "1"}})},
      {"key without value", "a&b=1", entries_are({{"a", ""}, {"b", "1"}})},
      {"key with empty value", "a=", entries_are({{"a", ""}})},
      {"empty key", "=v", entries_are({{"", "v"}})},
      {"lone equals", "=", entries_are({{"", ""}})},
      {"only first equals splits", "a=b=c", entries_are({{"a", "b=c"}})},
      {"empty pairs skipped", "a=1&&b=2&", entries_are({{"a", "1"}, {"b", "2"}})},
      {"only ampersands", "&&&", entries_are({})},
      {"escapes any case", "k=%7b%7D%3d%22", entries_are({{"k", "{}=\""}})},
      {"match brackets encoded", "match%5B%5D=up&match[]=down",
       entries_are({{"match[]", "up"}, {"match[]", "down"}})},
      {"promql query", "query=sum(rate(x%7Bjob%3D%22a%22%7D%5B5m%5D))",
       entries_are({{"query", "sum(rate(x{job=\"a\"}[5m]))"}})},
      {"encoded ampersand stays in value", "a=x%26b%3D1", entries_are({{"a", "x&b=1"}})},
      {"utf8 value", "v=caf%C3%A9", all({entries_are({{"v", "caf\xC3\xA9"}}), utf8_flag(false)})},
      {"raw utf8 value", "v=caf\xC3\xA9",
       all({entries_are({{"v", "caf\xC3\xA9"}}), utf8_flag(false)})},
      {"invalid utf8 flagged", "v=%FF%FE",
       all({entries_are({{"v", "\xFF\xFE"}}), utf8_flag(true)})},
      {"overlong utf8 flagged", "v=%C0%AF", utf8_flag(true)},
      {"surrogate flagged", "v=%ED%A0%80", utf8_flag(true)},
      {"truncated utf8 in key flagged", "%E2%82=1", utf8_flag(true)},
      {"invalid escape", "a=%zz", fails_with(std::string(reason::kParamsInvalidEscape))},
      {"short escape", "a=%4", fails_with(std::string(reason::kParamsInvalidEscape))},
      {"trailing percent", "a=1&b=%", fails_with(std::string(reason::kParamsInvalidEscape))},
      {"invalid escape in key", "%g0=1", fails_with(std::string(reason::kParamsInvalidEscape))},
      {"decoded nul", "a=x%00y", fails_with(std::string(reason::kParamsNul))},
      {"raw nul", nul_raw, fails_with(std::string(reason::kParamsNul))},
      {"semicolon separator", "a=1;b=2", fails_with(std::string(reason::kParamsSemicolon))},
      {"encoded semicolon fine", "a=1%3Bb", entries_are({{"a", "1;b"}})},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      c.check(parse_params(c.input));
    }
  }
}

TEST_CASE("parse_params enforces the pair limit") {
  CHECK(parse_params("a&b&c", 3).ok());
  CHECK(parse_params("a&&b&&c&&", 3).ok());  // empty pairs do not count
  CHECK(parse_params("a&b&c&d", 3).status().message() == reason::kParamsTooMany);
}

TEST_CASE("encode_params is canonical and round-trips") {
  struct EncCase {
    const char* name;
    Entries entries;
    std::string want;
  };
  const EncCase cases[] = {
      {"empty", {}, ""},
      {"plain", {{"a", "1"}, {"b", "x"}}, "a=1&b=x"},
      {"space as %20", {{"q", "a b"}}, "q=a%20b"},
      {"reserved encoded", {{"match[]", "up{a=\"b\"}"}}, "match%5B%5D=up%7Ba%3D%22b%22%7D"},
      {"unreserved kept", {{"a-b.c_d~", "A-Z~"}}, "a-b.c_d~=A-Z~"},
      {"empty value keeps equals", {{"a", ""}}, "a="},
      {"empty key", {{"", "v"}}, "=v"},
      {"high bytes uppercase hex", {{"v", "\xC3\xA9\xFF"}}, "v=%C3%A9%FF"},
      {"plus encoded", {{"v", "a+b"}}, "v=a%2Bb"},
      {"separators encoded", {{"k&=", "v&=;"}}, "k%26%3D=v%26%3D%3B"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const Params p(c.entries);
      const std::string enc = encode_params(p);
      CHECK(enc == c.want);
      auto back = parse_params(enc);
      REQUIRE(back.ok());
      CHECK(*back == p);
    }
  }
}

TEST_CASE("Params accessors") {
  auto r = parse_params("match[]=a&start=1&match[]=b&x");
  REQUIRE(r.ok());
  Params p = *r;
  CHECK(p.count("match[]") == 2);
  CHECK(p.count("nope") == 0);
  CHECK(p.get_all("match[]") == std::vector<std::string_view>{"a", "b"});
  CHECK(p.get_all("nope").empty());
  CHECK(p.first("start") == std::optional<std::string_view>("1"));
  CHECK(p.first("x") == std::optional<std::string_view>(""));
  CHECK_FALSE(p.first("nope").has_value());

  p.set("match[]", "c");
  CHECK(encode_params(p) == "match%5B%5D=c&start=1&x=");
  p.set("new", "v");
  CHECK(p.entries().back() == Params::Entry{"new", "v"});
  CHECK(p.erase("start") == 1);
  CHECK(p.erase("start") == 0);
  CHECK(encode_params(p) == "match%5B%5D=c&x=&new=v");

  Params bad;
  bad.add("k", "\xFF");
  CHECK(bad.has_invalid_utf8());
  bad.set("k", "ok");
  CHECK_FALSE(bad.has_invalid_utf8());
}

TEST_CASE("merge_url_and_form enforces single-valued parameters") {
  const ParamPolicy policy{{"query", "time", "start", "end", "step"}};
  struct MergeCase {
    const char* name;
    std::string url;
    std::string form;
    std::string want;  // encoded merge result, or the error message
    bool ok;
  };
  const MergeCase cases[] = {
      {"url only", "query=up&time=1", "", "query=up&time=1", true},
      {"form only", "", "query=up", "query=up", true},
      {"split across", "time=1", "query=up", "query=up&time=1", true},
      {"body first then url", "match[]=a", "match[]=b", "match%5B%5D=b&match%5B%5D=a", true},
      {"multi-valued repeated in url", "match[]=a&match[]=b", "", "match%5B%5D=a&match%5B%5D=b",
       true},
      {"unknown keys are multi-valued", "x=1&x=2", "x=3", "x=3&x=1&x=2", true},
      {"single-valued twice in url", "query=up&query=down", "", "params_duplicate{query}", false},
      {"single-valued twice in body", "", "time=1&time=2", "params_duplicate{time}", false},
      {"single-valued in url and body", "query=up", "query=secret", "params_duplicate{query}",
       false},
      {"empty value still counts", "query=", "query=up", "params_duplicate{query}", false},
      {"key without equals counts", "start", "start=1", "params_duplicate{start}", false},
      {"case matters", "Query=a", "query=b", "query=b&Query=a", true},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto url = parse_params(c.url);
      auto form = parse_params(c.form);
      REQUIRE(url.ok());
      REQUIRE(form.ok());
      auto merged = merge_url_and_form(*url, *form, policy);
      REQUIRE(merged.ok() == c.ok);
      if (c.ok) {
        CHECK(encode_params(*merged) == c.want);
      } else {
        CHECK(merged.status().code() == Code::kInvalidArgument);
        CHECK(merged.status().message() == c.want);
      }
    }
  }
}

TEST_CASE("merge carries the invalid UTF-8 flag") {
  auto url = parse_params("a=%FF");
  auto form = parse_params("b=ok");
  REQUIRE(url.ok());
  REQUIRE(form.ok());
  auto merged = merge_url_and_form(*url, *form, ParamPolicy{});
  REQUIRE(merged.ok());
  CHECK(merged->has_invalid_utf8());
}

TEST_CASE("is_valid_utf8") {
  struct U {
    const char* name;
    std::string s;
    bool valid;
  };
  const U cases[] = {
      {"ascii", "abc", true},
      {"two byte", "\xC3\xA9", true},
      {"three byte", "\xE2\x82\xAC", true},
      {"four byte max", "\xF4\x8F\xBF\xBF", true},
      {"above max", "\xF4\x90\x80\x80", false},
      {"overlong two", "\xC1\xBF", false},
      {"overlong three", "\xE0\x9F\xBF", false},
      {"overlong four", "\xF0\x8F\xBF\xBF", false},
      {"surrogate", "\xED\xA0\x80", false},
      {"lone continuation", "\x80", false},
      {"truncated", "\xE2\x82", false},
      {"bad continuation", "\xE2\x28\xA1", false},
      {"f5", "\xF5\x80\x80\x80", false},
      // Around the 8-byte ASCII fast path.
      {"long ascii", "abcdefghijklmnopqrstuvwxyz0123456789", true},
      {"two byte at offset 7", "abcdefg\xC3\xA9xyz", true},
      {"two byte at offset 8", "abcdefgh\xC3\xA9xyz", true},
      {"bad byte at offset 8", "abcdefgh\xFFxyz", false},
      {"bad byte at offset 15", "abcdefghijklmno\xFF", false},
      {"truncated at end of long", "abcdefghijklmnop\xE2\x82", false},
      {"valid at end of long", "abcdefghijklmnop\xE2\x82\xAC", true},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { CHECK(is_valid_utf8(c.s) == c.valid); }
  }
}
