// Table-driven tests for parse_target / normalise_path: every rule in target.h has rows here.
#include "gateway/routing/target.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>

using obsgate::Code;
using obsgate::Result;
using obsgate::routing::normalise_path;
using obsgate::routing::parse_target;
using obsgate::routing::RequestTarget;
using obsgate::routing::to_target;
namespace reason = obsgate::routing::reason;

namespace {

using Check = std::function<void(const Result<RequestTarget>&)>;

// Composable checks.
Check path_is(std::string want) {
  return [want](const Result<RequestTarget>& r) {
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    CHECK(r->path == want);
  };
}
Check query_is(std::string want) {
  return [want](const Result<RequestTarget>& r) {
    REQUIRE(r.ok());
    CHECK(r->has_query);
    CHECK(r->raw_query == want);
  };
}
Check no_query() {
  return [](const Result<RequestTarget>& r) {
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_query);
    CHECK(r->raw_query.empty());
  };
}
Check fails_with(std::string_view why) {
  return [why](const Result<RequestTarget>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message() == why);
  };
}
Check all(std::vector<Check> checks) {
  return [checks](const Result<RequestTarget>& r) {
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

std::string with_byte(std::string prefix, char b, std::string suffix) {
  prefix.push_back(b);
  return prefix + suffix;
}

}  // namespace

TEST_CASE("parse_target normalises paths and rejects ambiguous ones") {
  const std::string long_segment(5000, 'a');
  std::string deep;
  for (int i = 0; i < 2000; ++i) {
    deep += "/x";
  }
  std::string deep_dots = deep;
  for (int i = 0; i < 2000; ++i) {
    deep_dots += "/..";
  }
  const Case cases[] = {
      // Plain and canonical inputs pass through unchanged.
      {"root", "/", all({path_is("/"), no_query()})},
      {"plain api path", "/api/v1/query", path_is("/api/v1/query")},
      {"trailing slash kept", "/api/v1/", path_is("/api/v1/")},
      {"sub-delims and colon kept", "/a/b:c@d!$&'()*+,=", path_is("/a/b:c@d!$&'()*+,=")},
      {"semicolon is data", "/api/v1/query;jsessionid=1", path_is("/api/v1/query;jsessionid=1")},
      {"semicolon segment", "/a/;/b", path_is("/a/;/b")},
      {"tilde and dash kept", "/~user/a-b_c.d", path_is("/~user/a-b_c.d")},
      // Repeated slashes.
      {"double leading slash", "//api/v1/query", path_is("/api/v1/query")},
      {"many slashes everywhere", "//api//v1///query", path_is("/api/v1/query")},
      {"only slashes", "////", path_is("/")},
      {"trailing double slash", "/a//", path_is("/a/")},
      {"slashes then dotdot", "/a//../b", path_is("/b")},
      // Dot segments.
      {"single dot", "/./api/./v1/.", path_is("/api/v1/")},
      {"root dot", "/.", path_is("/")},
      {"dot dot in middle", "/api/v2/../v1/query", path_is("/api/v1/query")},
      {"trailing dot dot", "/api/v1/query/..", path_is("/api/v1/")},
      {"dot dot back to root", "/a/..", path_is("/")},
      {"dot dot then slash", "/a/b/../", path_is("/a/")},
      {"triple dot is a name", "/a/.../b", path_is("/a/.../b")},
      {"dot prefixed name", "/a/.hidden/..b", path_is("/a/.hidden/..b")},
      {"encoded dot dot lower", "/api/x/%2e%2e/v1/query", path_is("/api/v1/query")},
      {"encoded dot dot upper", "/api/x/%2E%2E/v1", path_is("/api/v1")},
      {"mixed encoded dot dot", "/api/x/.%2E/v1", path_is("/api/v1")},
      {"encoded single dot", "/a/%2E/b", path_is("/a/b")},
      {"encoded dot before slash", "/a/%2E/", path_is("/a/")},
      {"encoded dot in name", "/a/%2Efoo", path_is("/a/.foo")},
      {"deep then back", deep_dots, path_is("/")},
      // Escapes.
      {"unreserved letter decoded", "/%41pi/v1", path_is("/Api/v1")},
      {"unreserved lower decoded", "/%61pi", path_is("/api")},
      {"unreserved digit and tilde", "/%31%7e%5F%2d", path_is("/1~_-")},
      {"reserved escape kept uppercased", "/a%3ab", path_is("/a%3Ab")},
      {"utf8 escape uppercased", "/caf%c3%a9", path_is("/caf%C3%A9")},
      {"percent escape kept", "/100%25", path_is("/100%25")},
      {"encoded question mark kept", "/a%3fb", path_is("/a%3Fb")},
      {"encoded space kept", "/a%20b", path_is("/a%20b")},
      {"raw brace encoded", "/a/{b}", path_is("/a/%7Bb%7D")},
      {"raw quote and brackets encoded", "/\"[]|^`<>", path_is("/%22%5B%5D%7C%5E%60%3C%3E")},
      // Ambiguous: rejected.
      {"encoded slash upper", "/api%2Fv1/query", fails_with(reason::kPathEncodedSlash)},
      {"encoded slash lower", "/api%2fv1", fails_with(reason::kPathEncodedSlash)},
      {"encoded dotdot slash", "/a/..%2Fb", fails_with(reason::kPathEncodedSlash)},
      {"encoded backslash", "/a%5cb", fails_with(reason::kPathEncodedBackslash)},
      {"encoded backslash upper", "/a%5C..%5Cb", fails_with(reason::kPathEncodedBackslash)},
      {"raw backslash", "/a\\b", fails_with(reason::kPathBackslash)},
      {"raw backslash dotdot", "/a\\..\\b", fails_with(reason::kPathBackslash)},
      {"encoded nul", "/a%00b", fails_with(reason::kPathNul)},
      {"raw nul", with_byte("/a", '\0', "b"), fails_with(reason::kPathNul)},
      {"raw tab", "/a\tb", fails_with(reason::kPathControlChar)},
      {"raw newline", "/a\nb", fails_with(reason::kPathControlChar)},
      {"raw del", "/a\x7f", fails_with(reason::kPathControlChar)},
      {"encoded crlf", "/a%0D%0Ab", fails_with(reason::kPathControlChar)},
      {"encoded del", "/a%7f", fails_with(reason::kPathControlChar)},
      {"raw space", "/a b", fails_with(reason::kPathSpace)},
      {"raw utf8", "/caf\xc3\xa9", fails_with(reason::kPathNonAscii)},
      {"raw high byte", "/\xff", fails_with(reason::kPathNonAscii)},
      {"invalid escape letters", "/a%zz", fails_with(reason::kPathInvalidEscape)},
      {"invalid escape one digit", "/a%4", fails_with(reason::kPathInvalidEscape)},
      {"invalid escape half hex", "/a%4g/b", fails_with(reason::kPathInvalidEscape)},
      {"trailing percent", "/a%", fails_with(reason::kPathInvalidEscape)},
      {"percent before query", "/a%?x=1", fails_with(reason::kPathInvalidEscape)},
      {"above root", "/../x", fails_with(reason::kPathAboveRoot)},
      {"above root bare", "/..", fails_with(reason::kPathAboveRoot)},
      {"above root later", "/a/../../x", fails_with(reason::kPathAboveRoot)},
      {"above root encoded", "/%2e%2e/etc/passwd", fails_with(reason::kPathAboveRoot)},
      {"above root after dot", "/./..", fails_with(reason::kPathAboveRoot)},
      {"above root after slashes", "//..//x", fails_with(reason::kPathAboveRoot)},
      // Forms other than origin-form.
      {"empty target", "", fails_with(reason::kTargetEmpty)},
      {"asterisk form", "*", fails_with(reason::kAsteriskForm)},
      {"absolute form", "http://example.com/api/v1/query", fails_with(reason::kAbsoluteForm)},
      {"absolute form https", "HTTPS://h:8443/x", fails_with(reason::kAbsoluteForm)},
      {"absolute form urn", "urn:example:x", fails_with(reason::kAbsoluteForm)},
      {"authority form", "example.com:443", fails_with(reason::kAuthorityForm)},
      {"authority form v6", "[::1]:9090", fails_with(reason::kAuthorityForm)},
      {"relative path", "api/v1/query", fails_with(reason::kNotOriginForm)},
      {"query only", "?a=1", fails_with(reason::kNotOriginForm)},
      {"fragment", "/api/v1/query#x", fails_with(reason::kFragment)},
      {"fragment in query", "/a?b=1#c", fails_with(reason::kFragment)},
      {"empty fragment", "/#", fails_with(reason::kFragment)},
      // Queries are kept raw and only screened.
      {"query kept raw", "/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=1",
       all({path_is("/api/v1/query"), query_is("query=up%7Bjob%3D%22a%22%7D&time=1")})},
      {"query with raw brackets", "/api/v1/series?match[]=up",
       query_is("match[]=up")},
      {"empty query present", "/a?", all({path_is("/a"), query_is("")})},
      {"question mark in query", "/a?b=?c", query_is("b=?c")},
      {"query does not normalise path chars", "/a?x=/../%2F",
       all({path_is("/a"), query_is("x=/../%2F")})},
      {"dotdot before query", "/a/b/..?x=1", all({path_is("/a/"), query_is("x=1")})},
      {"query control char", "/a?x=\r\n", fails_with(reason::kQueryControlChar)},
      {"query nul", with_byte("/a?x=", '\0', ""), fails_with(reason::kQueryControlChar)},
      {"query space", "/a?x=a b", fails_with(reason::kQuerySpace)},
      {"query raw utf8", "/a?x=\xc3\xa9", fails_with(reason::kQueryNonAscii)},
      {"query invalid escape", "/a?x=%zz", fails_with(reason::kQueryInvalidEscape)},
      {"query trailing percent", "/a?x=%", fails_with(reason::kQueryInvalidEscape)},
      {"query short escape", "/a?x=%4", fails_with(reason::kQueryInvalidEscape)},
      // Size.
      {"very long segment", "/" + long_segment, path_is("/" + long_segment)},
      {"very deep path", deep, path_is(deep)},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      c.check(parse_target(c.input));
    }
  }
}

TEST_CASE("normalised output is a fixed point") {
  const char* inputs[] = {"/", "//a//b/", "/a/./b/../c", "/%7e%41/%3a", "/a/{b}/c", "/x/%2E/"};
  for (const char* in : inputs) {
    DYNAMIC_SECTION(in) {
      auto once = normalise_path(in);
      REQUIRE(once.ok());
      auto twice = normalise_path(*once);
      REQUIRE(twice.ok());
      CHECK(*twice == *once);
      CHECK(once->find("//") == std::string::npos);
    }
  }
}

TEST_CASE("normalise_path alone rejects non-paths and encodes ? and #") {
  CHECK(normalise_path("").status().message() == reason::kPathEmpty);
  CHECK(normalise_path("a/b").status().message() == reason::kPathNotAbsolute);
  auto r = normalise_path("/a?b#c");
  REQUIRE(r.ok());
  CHECK(*r == "/a%3Fb%23c");
}

TEST_CASE("to_target rebuilds what is forwarded") {
  struct T {
    const char* in;
    const char* want;
  };
  const T cases[] = {
      {"/a", "/a"},
      {"/a?", "/a?"},
      {"//a/./b/..?x=1&y", "/a/?x=1&y"},
      {"/%7e?q=%7e", "/~?q=%7e"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.in) {
      auto t = parse_target(c.in);
      REQUIRE(t.ok());
      CHECK(to_target(*t) == c.want);
    }
  }
}

TEST_CASE("reason tokens are distinct and whitespace-free (they go into access-log details)") {
  const std::string_view tokens[] = {
      reason::kTargetEmpty,         reason::kAsteriskForm,       reason::kAbsoluteForm,
      reason::kAuthorityForm,       reason::kNotOriginForm,      reason::kFragment,
      reason::kPathEmpty,           reason::kPathNotAbsolute,    reason::kPathInvalidEscape,
      reason::kPathEncodedSlash,    reason::kPathEncodedBackslash, reason::kPathBackslash,
      reason::kPathNul,             reason::kPathControlChar,    reason::kPathSpace,
      reason::kPathNonAscii,        reason::kPathAboveRoot,      reason::kQueryInvalidEscape,
      reason::kQueryControlChar,    reason::kQuerySpace,         reason::kQueryNonAscii,
  };
  for (size_t i = 0; i < std::size(tokens); ++i) {
    CAPTURE(tokens[i]);
    CHECK_FALSE(tokens[i].empty());
    CHECK(tokens[i].find_first_of(" \t\r\n{}") == std::string_view::npos);
    for (size_t j = i + 1; j < std::size(tokens); ++j) {
      CHECK(tokens[i] != tokens[j]);
    }
  }
}
