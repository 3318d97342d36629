// The authentication step: proves who a request is before anything else on the route runs.
//
// Credentials, per the route's `accept:`:
//   - token: `Authorization: Bearer <JWT>` only. A token in the query string or a form body
//     (`access_token`) is refused (401) and never forwarded. The provider is chosen by the
//     token's `iss` (exact match, read unverified), then the token is verified with that
//     provider's current key set (authz::jwt::verify) through a bounded per-provider cache. An
//     unknown `kid` triggers one rate-limited key refetch (KeyProvider::refetch_for_unknown_kid)
//     and one more verification. RFC 8705: a token bound to a certificate (cnf x5t#S256) must
//     come with that client certificate.
//   - certificate: the listener-verified client certificate (ConnectionInfo::peer_cert), named
//     by the `identity.certificates` rules. A token, when present and accepted, wins.
// Then the route's `roles` (any of) must intersect the principal's roles.
//
// Outcomes: 401 + `WWW-Authenticate: Bearer realm="obsgate"` when no credentials were sent
// (RFC 6750 §3.1: no error attributes), with `error="invalid_token"` and a coarse
// description ("token expired" / "token invalid") when a token was refused, `error=
// "invalid_request"` for a token in the URL or a repeated header; 403 + `error=
// "insufficient_scope"` for missing roles; 503 while the provider has no keys yet. The precise
// reason goes to Request::decision (and obsgate_authn_total), never to the client. The
// decision carries an HMAC-SHA256 fingerprint of the token (identity.decision_fingerprint_key,
// else a random per-process key), never the token. On success Request::principal and
// Request::authenticated are set; the Authorization value is not re-added by this step (the
// session does that for `forward_token: true` routes).
//
// Lifetime: the factory is built per route per config generation, holds the parsed identity
// config of that generation and one verified-token cache per provider; steps are per request.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/identity/key_registry.h"
#include "gateway/steps/step.h"

namespace obsgate::config {
struct IdentityConfig;
}  // namespace obsgate::config

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace obsgate::gateway::authn {

// What the step needs from outside; the seams that tests replace.
struct AuthnDeps {
  // The key provider of a config provider name; null when the registry has none (yet).
  std::function<identity::KeyProviderPtr(std::string_view provider_name)> find_keys;
  // Wall clock for token expiry; default: std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> now;
  prometheus::Registry* registry = nullptr;  // null: metrics go to a private registry
};

// What the key registry needs of each configured provider, for the server:
//   registry.sync(authn::key_configs(cfg->identity));   // at start and on every reload
[[nodiscard]] std::vector<identity::ProviderKeysConfig> key_configs(
    const config::IdentityConfig& identity);

// For chain.cpp: keys from services.keys, metrics on services.registry, the real clock.
Result<StepFactoryPtr> make_authn_step(const config::Config& cfg, const config::Route& route,
                                       Services& services);

// The same with explicit dependencies (tests). `cfg` must outlive the factory (the runtime
// keeps its ConfigPtr alive as long as its factories).
Result<StepFactoryPtr> make_authn_step(const config::Config& cfg, const config::Route& route,
                                       AuthnDeps deps);

}  // namespace obsgate::gateway::authn
