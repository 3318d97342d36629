// The `identity:` section: OIDC providers (issuer, audiences, algorithms, key source, claim
// mapping, verification limits), mTLS certificate identities, the verified-token cache and the
// decision-log fingerprint key. Parsed and validated once at load (errors name file:line:col
// and the key path), then shared read-only inside Config. Reference: config/identity.md.
//
//   identity:
//     providers:
//       - name: keycloak
//         issuer: https://idp.example/realms/obs
//         audiences: [obsgate]
//         keys: {discovery: true}
//         mapping: {tenants: [{claim: groups, values: {/team-a: [team-a]}}]}
//     certificates:
//       - uri_san: spiffe://prod.example/ns/obs/sa/collector
//         name: collector
//         roles: [writer]
//
// Thread-safety: plain values, read-only after load.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/verify.h"
#include "authz/principal/cert_mapping.h"
#include "authz/principal/claims_mapping.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::config {

class YamlReader;

// The algorithms a provider accepts when `algorithms:` is not given. The same list is the
// default of `obsgate verify-token --alg`, so an operator's check matches the gateway's.
[[nodiscard]] const std::vector<authz::jwt::Alg>& default_provider_algorithms();
// Space-separated names of default_provider_algorithms(), for usage texts: "RS256 PS256 ...".
[[nodiscard]] std::string default_provider_algorithm_names();

// Where a provider's JWK Set comes from. Exactly one is configured.
struct KeySource {
  enum class Kind { kDiscovery, kJwksUri, kJwksFile };
  Kind kind = Kind::kDiscovery;
  // kDiscovery: <issuer>/.well-known/openid-configuration (computed at load);
  // kJwksUri: the URL as written; kJwksFile: the path as written.
  std::string location;
};

// Scheduled key-set refresh: the response's Cache-Control max-age clamped to [min, max];
// `fallback` (YAML `default`) when the response has no max-age or the fetch failed.
struct RefreshBounds {
  std::chrono::milliseconds min{std::chrono::minutes(1)};
  std::chrono::milliseconds max{std::chrono::hours(24)};
  std::chrono::milliseconds fallback{std::chrono::minutes(10)};
};

struct OidcProvider {
  std::string name;  // unique; used in logs and as a metrics label value
  // issuer, audiences, allowed_algs, clock_skew, max_lifetime, max_token_bytes,
  // require_at_jwt: exactly what verify() and `obsgate verify-token` take. Validated at load.
  authz::jwt::VerifyOptions verify;
  KeySource keys;
  std::string ca_file;  // trust for https key fetches; empty: the system store
  RefreshBounds refresh;
  // Unknown `kid`: at most one refetch per interval per provider, shared by all waiters.
  std::chrono::milliseconds refetch_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(2)};
  authz::PrincipalMapping mapping;  // claims -> tenants and roles (default: none)
};

struct IdentityConfig {
  std::vector<OidcProvider> providers;  // issuers are unique
  authz::CertMapping certificates;      // mTLS client certificate -> principal, in order
  std::size_t token_cache_max_entries = 10000;
  // HMAC-SHA256 key for the token fingerprints in the decision log: the bytes of
  // decision_fingerprint_key_file (trailing newline removed, at least 32 bytes), read at load.
  // Empty when no file is configured: the authentication step then uses a random key per
  // process (fingerprints do not correlate across restarts).
  std::string decision_fingerprint_key_file;
  std::string decision_fingerprint_key;

  // True when no provider and no certificate identity is configured: routes with
  // `auth: required` are then refused at load.
  [[nodiscard]] bool empty() const { return providers.empty() && certificates.rules.empty(); }
  // The provider whose issuer is exactly `iss`, or null.
  [[nodiscard]] const OidcProvider* find_provider(std::string_view iss) const;
};

// Parses `identity:` (node may be undefined: the section is optional). Errors go to `r`.
void load_identity(YamlReader& r, const YAML::Node& n, IdentityConfig& out);

}  // namespace obsgate::config
