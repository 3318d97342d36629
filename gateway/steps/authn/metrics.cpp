#include "gateway/steps/authn/metrics.h"

#include <string>

namespace obsgate::gateway::authn {

std::string_view deny_reason_name(DenyReason r) {
  switch (r) {
    case DenyReason::kNoCredentials: return "no_credentials";
    case DenyReason::kTokenInQuery: return "token_in_query";
    case DenyReason::kUnsupportedScheme: return "unsupported_scheme";
    case DenyReason::kRepeatedAuthorization: return "repeated_authorization";
    case DenyReason::kMalformedHeader: return "malformed_header";
    case DenyReason::kUnknownIssuer: return "unknown_issuer";
    case DenyReason::kKeysUnavailable: return "keys_unavailable";
    case DenyReason::kTokenNotAccepted: return "token_not_accepted";
    case DenyReason::kUnmappedCertificate: return "unmapped_certificate";
    case DenyReason::kBadCertificate: return "bad_certificate";
    case DenyReason::kInsufficientRole: return "insufficient_role";
  }
  return "unknown";
}

AuthnMetrics::AuthnMetrics(prometheus::Registry& registry) {
  // The registry merges families of the same name, so every route's step (and every config
  // generation) shares one family and one counter per label set.
  auto& authn = prometheus::BuildCounter()
                    .Name("obsgate_authn_total")
                    .Help("Authentication decisions by result and reason")
                    .Register(registry);
  allowed_[static_cast<std::size_t>(Credential::kToken)] =
      &authn.Add({{"result", "allow"}, {"reason", "token"}});
  allowed_[static_cast<std::size_t>(Credential::kCertificate)] =
      &authn.Add({{"result", "allow"}, {"reason", "certificate"}});
  for (std::size_t i = 0; i < kDenyReasonCount; ++i) {
    denied_[i] =
        &authn.Add({{"result", "deny"},
                    {"reason", std::string(deny_reason_name(static_cast<DenyReason>(i)))}});
  }
  // From 1: kNone is never a denial and gets no series.
  for (int i = 1; i < authz::jwt::kRejectionCount; ++i) {
    const auto r = static_cast<authz::jwt::Rejection>(i);
    rejected_[static_cast<std::size_t>(i)] =
        &authn.Add({{"result", "deny"}, {"reason", std::string(authz::jwt::rejection_name(r))}});
  }
  auto& cache = prometheus::BuildCounter()
                    .Name("obsgate_token_cache_total")
                    .Help("Verified-token cache lookups by result")
                    .Register(registry);
  cache_hit_ = &cache.Add({{"result", "hit"}});
  cache_miss_ = &cache.Add({{"result", "miss"}});
}

}  // namespace obsgate::gateway::authn
