// Table-driven tests for the route table: matching (found / 404 / 405 + Allow, parameters) and
// build-time validation (bad patterns, bad methods, overlaps naming both routes).
#include "gateway/routing/router.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "gateway/routing/target.h"

using obsgate::Code;
using obsgate::routing::kMaxPathParams;
using obsgate::routing::kMaxSegments;
using obsgate::routing::Match;
using obsgate::routing::MatchKind;
using obsgate::routing::RouteSpec;
using obsgate::routing::Router;

namespace {

std::vector<RouteSpec> table() {
  return {
      {"query", {"GET", "POST"}, "/api/v1/query"},
      {"query_range", {"GET", "POST"}, "/api/v1/query_range"},
      {"series", {"GET", "POST"}, "/api/v1/series"},
      {"series_delete", {"DELETE"}, "/api/v1/series"},
      {"labels", {"GET", "POST"}, "/api/v1/labels"},
      {"label_values", {"GET"}, "/api/v1/label/{name}/values"},
      {"special_label", {"POST"}, "/api/v1/label/__name__/values"},
      {"rules", {"GET"}, "/api/v1/rules"},
      {"status", {"GET", "HEAD"}, "/api/v1/status/{kind}"},
      {"loki_query", {"GET"}, "/loki/api/v1/query"},
      {"loki_push", {"POST"}, "/loki/api/v1/push"},
      {"loki_tail", {"GET"}, "/loki/api/v1/tail"},
      {"secret", {"GET", "PUT", "DELETE", "PATCH"}, "/v1/{mount}/data/{path}"},
      {"secret_meta", {"OPTIONS"}, "/v1/{mount}/metadata/{path}"},
      {"dir", {"GET"}, "/dir/"},
      {"root", {"GET"}, "/"},
  };
}

struct Case {
  const char* name;
  const char* method;
  const char* path;
  std::function<void(const Router&, const Match&)> check;
};

using Check = std::function<void(const Router&, const Match&)>;

Check found(std::string route, std::vector<std::pair<std::string, std::string>> params = {}) {
  return [route, params](const Router& r, const Match& m) {
    REQUIRE(m.kind == MatchKind::kFound);
    CHECK(r.route(m.route_index).name == route);
    REQUIRE(m.params.size() == params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      CHECK(m.params[i].name == params[i].first);
      CHECK(m.params[i].value == params[i].second);
    }
    CHECK(m.allow.empty());
  };
}
Check not_found() {
  return [](const Router&, const Match& m) {
    CHECK(m.kind == MatchKind::kNotFound);
    CHECK(m.route_index == Match::kNoRoute);
    CHECK(m.params.empty());
    CHECK(m.allow.empty());
  };
}
Check not_allowed(std::string allow) {
  return [allow](const Router&, const Match& m) {
    CHECK(m.kind == MatchKind::kMethodNotAllowed);
    CHECK(m.route_index == Match::kNoRoute);
    CHECK(m.allow == allow);
  };
}

}  // namespace

TEST_CASE("Router matches methods and paths, denying the rest") {
  auto built = Router::build(table());
  INFO(built.status().to_string());
  REQUIRE(built.ok());
  const Router& router = *built;
  const Case cases[] = {
      {"exact get", "GET", "/api/v1/query", found("query")},
      {"exact post", "POST", "/api/v1/query", found("query")},
      {"similar prefix", "GET", "/api/v1/query_range", found("query_range")},
      {"same path other route by method", "DELETE", "/api/v1/series", found("series_delete")},
      {"405 unions methods of same-path routes", "PUT", "/api/v1/series",
       not_allowed("DELETE, GET, POST")},
      {"head not implied", "HEAD", "/api/v1/query", not_allowed("GET, POST")},
      {"head allowed when listed", "HEAD", "/api/v1/status/config",
       found("status", {{"kind", "config"}})},
      {"405 sorted", "DELETE", "/api/v1/status/flags", not_allowed("GET, HEAD")},
      {"unknown method is 405", "BREW", "/api/v1/query", not_allowed("GET, POST")},
      {"lowercase method is unknown", "get", "/api/v1/query", not_allowed("GET, POST")},
      {"param", "GET", "/api/v1/label/job/values", found("label_values", {{"name", "job"}})},
      {"param decoded", "GET", "/api/v1/label/a%3Ab%25c%C3%A9/values",
       found("label_values", {{"name", "a:b%c\xC3\xA9"}})},
      {"literal beside param, literal method", "POST", "/api/v1/label/__name__/values",
       found("special_label")},
      {"literal beside param, param method", "GET", "/api/v1/label/__name__/values",
       found("label_values", {{"name", "__name__"}})},
      {"405 unions literal and param routes", "PUT", "/api/v1/label/__name__/values",
       not_allowed("GET, POST")},
      {"405 param only", "POST", "/api/v1/label/job/values", not_allowed("GET")},
      {"two params", "PUT", "/v1/secret/data/team-a",
       found("secret", {{"mount", "secret"}, {"path", "team-a"}})},
      {"options route", "OPTIONS", "/v1/kv/metadata/x",
       found("secret_meta", {{"mount", "kv"}, {"path", "x"}})},
      {"405 lists four methods", "POST", "/v1/kv/data/x", not_allowed("DELETE, GET, PATCH, PUT")},
      {"loki", "POST", "/loki/api/v1/push", found("loki_push")},
      {"loki wrong method", "GET", "/loki/api/v1/push", not_allowed("POST")},
      {"root", "GET", "/", found("root")},
      {"trailing slash route", "GET", "/dir/", found("dir")},
      {"no trailing slash is different", "GET", "/dir", not_found()},
      {"trailing slash not matched to exact", "GET", "/api/v1/query/", not_found()},
      {"unknown path", "GET", "/api/v1/admin/tsdb/snapshot", not_found()},
      {"unknown path unknown method", "BREW", "/nope", not_found()},
      {"prefix is not a match", "GET", "/api/v1", not_found()},
      {"longer is not a match", "GET", "/api/v1/query/extra", not_found()},
      {"empty param segment", "GET", "/api/v1/label//values", not_found()},
      {"param cannot be empty at end", "GET", "/api/v1/status/", not_found()},
      {"semicolon is literal data", "GET", "/api/v1/query;x", not_found()},
      {"case sensitive", "GET", "/API/v1/query", not_found()},
      {"not absolute", "GET", "api/v1/query", not_found()},
      {"empty path", "GET", "", not_found()},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.method, c.path);
      c.check(router, router.match(c.method, c.path));
    }
  }
}

TEST_CASE("Router matches what parse_target produced") {
  auto router = Router::build(table());
  REQUIRE(router.ok());
  struct T {
    const char* target;
    const char* route;
  };
  const T cases[] = {
      {"//api//v1///query?query=up", "query"},
      {"/api/v1/x/../query", "query"},
      {"/api/v1/%71uery", "query"},
      {"/api/./v1/label/%6Aob/values", "label_values"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.target) {
      auto t = obsgate::routing::parse_target(c.target);
      REQUIRE(t.ok());
      Match m = router->match("GET", t->path);
      REQUIRE(m.kind == MatchKind::kFound);
      CHECK(router->route(m.route_index).name == c.route);
    }
  }
}

TEST_CASE("match_into reuses and fully resets its output") {
  auto router = Router::build(table());
  REQUIRE(router.ok());
  Match m;
  router->match_into("GET", "/v1/a/data/b", m);
  REQUIRE(m.kind == MatchKind::kFound);
  CHECK(m.params.get("path") == std::optional<std::string_view>("b"));
  router->match_into("PUT", "/api/v1/query", m);
  CHECK(m.kind == MatchKind::kMethodNotAllowed);
  CHECK(m.params.empty());
  CHECK_FALSE(m.params.get("path").has_value());
  router->match_into("GET", "/nope", m);
  CHECK(m.kind == MatchKind::kNotFound);
  CHECK(m.allow.empty());
}

TEST_CASE("Router handles the deepest allowed pattern and deeper paths") {
  std::string deepest;
  for (size_t i = 0; i + 1 < kMaxSegments; ++i) {
    deepest += "/s";
  }
  deepest += "/{last}";
  auto router = Router::build({{"deep", {"GET"}, deepest}});
  INFO(router.status().to_string());
  REQUIRE(router.ok());
  const std::string hit = deepest.substr(0, deepest.size() - 7) + "/end";
  Match m = router->match("GET", hit);
  REQUIRE(m.kind == MatchKind::kFound);
  CHECK(m.params.get("last") == std::optional<std::string_view>("end"));
  CHECK(router->match("GET", hit + "/more").kind == MatchKind::kNotFound);
  CHECK(router->match("GET", hit + "/").kind == MatchKind::kNotFound);
  std::string very_deep;
  for (int i = 0; i < 1000; ++i) {
    very_deep += "/s";
  }
  CHECK(router->match("GET", very_deep).kind == MatchKind::kNotFound);
}

TEST_CASE("Router::build rejects bad tables with the routes named") {
  std::string too_deep;
  for (size_t i = 0; i <= kMaxSegments; ++i) {
    too_deep += "/s";
  }
  std::string too_many_params;
  for (size_t i = 0; i <= kMaxPathParams; ++i) {
    too_many_params += "/{p" + std::to_string(i) + "}";
  }
  struct BuildCase {
    const char* name;
    std::vector<RouteSpec> routes;
    std::vector<std::string> message_has;  // empty: build must succeed
  };
  const BuildCase cases[] = {
      {"empty table is valid", {}, {}},
      {"disjoint methods on same pattern ok",
       {{"a", {"GET"}, "/x"}, {"b", {"POST"}, "/x"}}, {}},
      {"param beside literal with disjoint methods ok",
       {{"a", {"GET"}, "/x/{y}"}, {"b", {"POST"}, "/x/lit"}}, {}},
      {"different depth never overlaps",
       {{"a", {"GET"}, "/x/{y}"}, {"b", {"GET"}, "/x/{y}/z"}}, {}},
      {"slash and no slash are different", {{"a", {"GET"}, "/x"}, {"b", {"GET"}, "/x/"}}, {}},
      {"empty name", {{"", {"GET"}, "/x"}}, {"route #0", "empty name"}},
      {"duplicate name", {{"a", {"GET"}, "/x"}, {"a", {"GET"}, "/y"}},
       {"\"a\" (#1)", "duplicate"}},
      {"no methods", {{"a", {}, "/x"}}, {"\"a\"", "no methods"}},
      {"lowercase method", {{"a", {"get"}, "/x"}}, {"\"a\"", "unknown method \"get\""}},
      {"unknown method", {{"a", {"CONNECT"}, "/x"}}, {"unknown method \"CONNECT\""}},
      {"method twice", {{"a", {"GET", "GET"}, "/x"}}, {"\"GET\" listed twice"}},
      {"relative pattern", {{"a", {"GET"}, "x"}}, {"\"a\"", "must start with"}},
      {"empty pattern", {{"a", {"GET"}, ""}}, {"must start with"}},
      {"too deep", {{"a", {"GET"}, too_deep}}, {"at most"}},
      {"double slash", {{"a", {"GET"}, "/a//b"}}, {"\"/a//b\"", "not normalised", "\"/a/b\""}},
      {"dot segment", {{"a", {"GET"}, "/a/./b"}}, {"not normalised"}},
      {"dotdot", {{"a", {"GET"}, "/a/../b"}}, {"not normalised"}},
      {"above root", {{"a", {"GET"}, "/../b"}}, {"not a valid path", "path_above_root"}},
      {"unreserved escape", {{"a", {"GET"}, "/%41"}}, {"not normalised"}},
      {"lowercase escape", {{"a", {"GET"}, "/a%3a"}}, {"not normalised"}},
      {"encoded slash", {{"a", {"GET"}, "/a%2Fb"}}, {"path_encoded_slash"}},
      {"query in pattern", {{"a", {"GET"}, "/a?b"}}, {"not normalised"}},
      {"partial param", {{"a", {"GET"}, "/x/a{b}"}}, {"\"a{b}\"", "whole {name}"}},
      {"unclosed param", {{"a", {"GET"}, "/x/{b"}}, {"whole {name}"}},
      {"stray close", {{"a", {"GET"}, "/x/b}"}}, {"whole {name}"}},
      {"empty param name", {{"a", {"GET"}, "/x/{}"}}, {"whole {name}"}},
      {"param name digit first", {{"a", {"GET"}, "/x/{1a}"}}, {"whole {name}"}},
      {"param name dash", {{"a", {"GET"}, "/x/{a-b}"}}, {"whole {name}"}},
      {"nested braces", {{"a", {"GET"}, "/x/{{a}}"}}, {"whole {name}"}},
      {"param twice", {{"a", {"GET"}, "/{p}/x/{p}"}}, {"{p} used twice"}},
      {"too many params", {{"a", {"GET"}, too_many_params}}, {"more than 8 parameters"}},
      {"identical overlap", {{"a", {"GET"}, "/x"}, {"b", {"GET", "POST"}, "/x"}},
       {"\"a\" (#0)", "\"b\" (#1)", "overlap", "GET"}},
      {"param overlaps literal", {{"lit", {"GET"}, "/api/v1/label/job/values"},
                                  {"par", {"GET", "HEAD"}, "/api/v1/label/{name}/values"}},
       {"\"lit\"", "\"par\"", "overlap", "for GET"}},
      {"param overlaps param", {{"a", {"PUT"}, "/{x}/b"}, {"b", {"PUT"}, "/a/{y}"}},
       {"\"a\"", "\"b\"", "\"/{x}/b\"", "\"/a/{y}\"", "PUT"}},
      {"different param names still overlap", {{"a", {"GET"}, "/{x}"}, {"b", {"GET"}, "/{y}"}},
       {"\"a\"", "\"b\""}},
      {"overlap reported among many",
       {{"ok1", {"GET"}, "/one"}, {"ok2", {"GET"}, "/two"}, {"late", {"DELETE", "GET"}, "/{w}"}},
       {"\"ok1\"", "\"late\"", "for GET"}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = Router::build(c.routes);
      if (c.message_has.empty()) {
        INFO(r.status().to_string());
        CHECK(r.ok());
      } else {
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == Code::kInvalidArgument);
        for (const auto& part : c.message_has) {
          CAPTURE(r.status().message(), part);
          CHECK(r.status().message().find(part) != std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("Router copies share the table and stay valid") {
  Router copy = [] {
    auto r = Router::build(table());
    REQUIRE(r.ok());
    return *r;
  }();
  Match m = copy.match("GET", "/api/v1/label/job/values");
  REQUIRE(m.kind == MatchKind::kFound);
  CHECK(m.params[0].name == "name");
  CHECK(copy.routes().size() == table().size());
}
