#include "gateway/steps/authn/route_checks.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/steps/authn/authn.h"

namespace obsgate::gateway::authn {

namespace {

// Roles some configured identity can be granted: a route needing only others is unreachable.
std::set<std::string, std::less<>> grantable_roles(const config::IdentityConfig& id,
                                                   const config::Accept& accept) {
  std::set<std::string, std::less<>> out;
  if (accept.token) {
    for (const auto& p : id.providers) {
      for (const auto& src : p.mapping.roles) {
        for (const auto& [value, roles] : src.values) {
          out.insert(roles.begin(), roles.end());
        }
      }
    }
  }
  if (accept.certificate) {
    for (const auto& rule : id.certificates.rules) {
      out.insert(rule.roles.begin(), rule.roles.end());
    }
  }
  return out;
}

}  // namespace

Status validate_route(const config::Config& cfg, const config::Route& route) {
  const std::string where = "route '" + route.name + "': ";
  const auto& id = cfg.identity;
  if (!route.accept.token && !route.accept.certificate) {
    return Status::invalid_argument(where + "accept: allows neither token nor certificate");
  }
  const bool tokens = route.accept.token && !id.providers.empty();
  const bool certs = route.accept.certificate && !id.certificates.rules.empty();
  if (!tokens && !certs) {
    return Status::invalid_argument(
        where +
        "no configured identity can authenticate here (accept: token needs "
        "identity.providers, accept: certificate needs identity.certificates)");
  }
  if (!route.roles_any_of.empty()) {
    const auto grantable = grantable_roles(id, route.accept);
    const bool reachable =
        std::any_of(route.roles_any_of.begin(), route.roles_any_of.end(),
                    [&](const std::string& r) { return grantable.count(r) > 0; });
    if (!reachable) {
      return Status::invalid_argument(where +
                                      "roles: no provider mapping or certificate rule "
                                      "grants any of these roles");
    }
  }
  return Status();
}

std::vector<identity::ProviderKeysConfig> key_configs(const config::IdentityConfig& id) {
  std::vector<identity::ProviderKeysConfig> out;
  for (const auto& p : id.providers) {
    identity::ProviderKeysConfig k;
    k.name = p.name;
    k.issuer = p.verify.issuer;
    switch (p.keys.kind) {
      case config::KeySource::Kind::kDiscovery:
        k.source = identity::ProviderKeysConfig::kDiscovery;
        break;
      case config::KeySource::Kind::kJwksUri:
        k.source = identity::ProviderKeysConfig::kJwksUri;
        k.jwks_uri_or_file = p.keys.location;
        break;
      case config::KeySource::Kind::kJwksFile:
        k.source = identity::ProviderKeysConfig::kFile;
        k.jwks_uri_or_file = p.keys.location;
        break;
    }
    k.ca_file = p.ca_file;
    k.fetch_timeout = p.fetch_timeout;
    k.refetch_interval = p.refetch_interval;
    k.min_refresh = p.refresh.min;
    k.max_refresh = p.refresh.max;
    k.default_refresh = p.refresh.fallback;
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace obsgate::gateway::authn
