// The route table: an explicit list of (name, methods, pattern), validated once at config load
// and then matched on every request. Anything not in the table is denied (404 / 405).
//
// Patterns are normalised paths (see target.h) whose whole segments may be parameters:
//   "/api/v1/query", "/api/v1/label/{name}/values", "/loki/api/v1/tail", "/" .
// build() rejects, with an InvalidArgument naming the route:
//   - an empty or duplicate route name;
//   - an empty method list, a method outside GET HEAD POST PUT DELETE PATCH OPTIONS (exact,
//     uppercase), or a method listed twice. HEAD is never implied by GET;
//   - a pattern that is not already normalised ("/a//b", "/a/./b", "/%41", "/a%2fb", ...);
//     "/a" and "/a/" are distinct patterns, that is fine;
//   - a "{" or "}" that is not a whole "{name}" segment, a name outside [a-zA-Z_][a-zA-Z0-9_]*,
//     a name used twice in one pattern, more than kMaxPathParams parameters, or more than
//     kMaxSegments segments;
//   - two routes that overlap: some path matches both patterns (same segment count and, at
//     every position, a parameter on either side or equal literals) and their method sets
//     intersect. The error names both routes. Overlap with disjoint methods is allowed
//     ("/x" GET in one route, "/x" POST in another).
//
// match(method, path):
//   - `path` must come from parse_target / normalise_path (match does not re-normalise).
//   - kFound: route_index is the index into the vector given to build(); params holds the
//     pattern's parameters in pattern order, each value the path segment with its remaining
//     escapes percent-decoded ("%3A" -> ":"). A parameter never matches an empty segment.
//   - kMethodNotAllowed: some pattern matches the path but none allows the method; allow is
//     the Allow header value: the union of those routes' methods, sorted, ", "-separated
//     ("GET, HEAD, POST").
//   - kNotFound otherwise. Unknown methods ("FOO") are treated as allowed by no route.
// Cost: a trie walk over path segments; no heap allocation unless a parameter value is longer
// than the std::string small-buffer, or the reply is a 405 (the allow string).
//
// Thread-safety: a built Router is immutable; match() may run concurrently. Copies share the
// table. Match::params names point into the Router: keep the Router alive while using them.
//
// Example:
//   auto r = Router::build({{"query", {"GET", "POST"}, "/api/v1/query"},
//                           {"label_values", {"GET"}, "/api/v1/label/{name}/values"}});
//   Match m = r->match("GET", "/api/v1/label/job/values");
//   // m.kind == MatchKind::kFound, m.route_index == 1, *m.params.get("name") == "job"
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::routing {

// Access-log reason tokens for the two denials (same style as target.h's).
namespace reason {
inline constexpr std::string_view kRouteNotFound = "route_not_found";
inline constexpr std::string_view kRouteMethodNotAllowed = "route_method_not_allowed";
}  // namespace reason

inline constexpr size_t kMaxPathParams = 8;
inline constexpr size_t kMaxSegments = 32;

struct RouteSpec {
  std::string name;
  std::vector<std::string> methods;
  std::string pattern;
};

struct PathParam {
  std::string_view name;  // owned by the Router
  std::string value;      // decoded
};

// A fixed-capacity, inline list of path parameters (at most kMaxPathParams).
class PathParams {
 public:
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] const PathParam& operator[](size_t i) const { return items_[i]; }
  [[nodiscard]] const PathParam* begin() const { return items_.data(); }
  [[nodiscard]] const PathParam* end() const { return items_.data() + size_; }
  // The value of the named parameter, if the matched pattern has it.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;

  // Used by the Router to fill a Match. Precondition for emplace_back: size() < kMaxPathParams.
  void clear() { size_ = 0; }
  PathParam& emplace_back(std::string_view name);

 private:
  std::array<PathParam, kMaxPathParams> items_{};
  size_t size_ = 0;
};

enum class MatchKind : uint8_t { kFound, kNotFound, kMethodNotAllowed };

struct Match {
  static constexpr size_t kNoRoute = static_cast<size_t>(-1);

  MatchKind kind = MatchKind::kNotFound;
  size_t route_index = kNoRoute;  // valid for kFound only
  PathParams params;              // kFound only
  std::string allow;              // kMethodNotAllowed only
};

class Router {
 public:
  static Result<Router> build(std::vector<RouteSpec> routes);

  [[nodiscard]] Match match(std::string_view method, std::string_view normalised_path) const;
  // As match(), reusing `out` (its allow string's capacity) across calls.
  void match_into(std::string_view method, std::string_view normalised_path, Match& out) const;

  [[nodiscard]] const std::vector<RouteSpec>& routes() const;
  [[nodiscard]] const RouteSpec& route(size_t index) const { return routes()[index]; }

 private:
  struct Impl;  // the trie and compiled routes; defined in router.cpp
  explicit Router(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace obsgate::routing
