// Claims -> Principal mapping for verified tokens.
//
// Which claims carry tenant and role values is configured per provider, with an explicit
// table from claim value to tenants / gateway roles. Anything not in the table maps to
// nothing: a token with no mapped value gets no tenant and no role (default deny).
//
//   tenants:
//     - claim: groups                 # a string or an array of strings
//       values:
//         /team-a: [team-a]
//         /platform: [team-a, team-b]
//   roles:
//     - claim: realm_access.roles     # dotted path into nested objects
//       values:
//         obs-admin: [admin]
//     - claim: [https://example.com/claims, roles]   # path segments that contain dots
//       values: {viewer: [viewer]}
//     - claim: scope
//       split: space                  # "a b c" is three values (OAuth scope)
//       values: {metrics:write: [writer]}
//
// Claim values that are not strings (numbers, objects) are ignored, never coerced.
// Ownership: plain values; parse once at config load, share as const. Thread-safe to read.
//
//   Result<PrincipalMapping> m = PrincipalMapping::parse(provider_node["mapping"]);  // at load
//   Result<jwt::VerifiedToken> t = jwt::verify(...);                              // per request
//   if (t.ok()) { Principal p = map_token(*m, *t); }
#pragma once

#include <boost/json/fwd.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/verify.h"
#include "authz/principal/principal.h"
#include "common/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::authz {

struct ClaimSource {
  std::vector<std::string> path;  // {"realm_access", "roles"}
  bool split_spaces = false;
  std::map<std::string, std::vector<std::string>, std::less<>> values;  // claim value -> outputs
};

struct PrincipalMapping {
  std::vector<ClaimSource> tenants;
  std::vector<ClaimSource> roles;

  // InvalidArgument naming the field ("roles[1].values") and the offending value.
  static Result<PrincipalMapping> parse(const YAML::Node& node);
};

// Maps a verified token: map_claims() over its claims, issuer and subject.
[[nodiscard]] Principal map_token(const PrincipalMapping& mapping, const jwt::VerifiedToken& token);

// Maps verified claims to a Principal (issuer and subject copied from the arguments).
[[nodiscard]] Principal map_claims(const PrincipalMapping& mapping,
                                   const boost::json::object& claims, std::string_view issuer,
                                   std::string_view subject);

// Sorts and removes duplicates in place.
void sort_unique(std::vector<std::string>& v);

}  // namespace obsgate::authz
