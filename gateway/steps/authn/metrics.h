// Every self-metric of the authentication step, declared once (CONVENTIONS #11).
//
//   obsgate_authn_total{result="allow|deny", reason}   one increment per authentication decision
//     allow reasons: token, certificate
//     deny reasons:  DenyReason names below, or an authz::jwt::rejection_name() for a token
//                    that verify() refused (expired, bad_signature, unknown_kid, ...)
//   obsgate_token_cache_total{result="hit|miss"}      verified-token cache lookups
//
// Every label value comes from a closed enum, so cardinality is fixed. Counters are resolved
// at construction: the request path only increments atomics.
// Thread-safety: construction is not concurrent-safe with itself; the counters are.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "authz/jwt/verify.h"

namespace obsgate::gateway::authn {

// Denials that are not a verify() rejection.
enum class DenyReason : std::uint8_t {
  kNoCredentials,          // no Authorization and no usable client certificate
  kTokenInQuery,           // access_token in the query string or form body (RFC 6750 §2.3)
  kUnsupportedScheme,      // Authorization with a scheme other than Bearer
  kRepeatedAuthorization,  // more than one Authorization field
  kMalformedHeader,        // "Bearer" without a token68 value
  kUnknownIssuer,          // the token's iss names no configured provider (or is unreadable)
  kKeysUnavailable,        // the provider has no key set yet
  kTokenNotAccepted,       // a token on a route that accepts only certificates, and no cert
  kUnmappedCertificate,    // a verified certificate that no identity rule names
  kBadCertificate,         // a certificate whose names cannot be read safely
  kInsufficientRole,       // authenticated, but none of the route's roles
};
inline constexpr std::size_t kDenyReasonCount = 11;

[[nodiscard]] std::string_view deny_reason_name(DenyReason r);

// How an allowed request proved its identity.
enum class Credential : std::uint8_t { kToken, kCertificate };

class AuthnMetrics final {
 public:
  explicit AuthnMetrics(prometheus::Registry& registry);

  prometheus::Counter& allowed(Credential c) { return *allowed_[static_cast<std::size_t>(c)]; }
  prometheus::Counter& denied(DenyReason r) { return *denied_[static_cast<std::size_t>(r)]; }
  prometheus::Counter& rejected(authz::jwt::Rejection r) {
    return *rejected_[static_cast<std::size_t>(r)];
  }
  prometheus::Counter& cache_hit() { return *cache_hit_; }
  prometheus::Counter& cache_miss() { return *cache_miss_; }

 private:
  std::array<prometheus::Counter*, 2> allowed_{};
  std::array<prometheus::Counter*, kDenyReasonCount> denied_{};
  std::array<prometheus::Counter*, authz::jwt::kRejectionCount> rejected_{};
  prometheus::Counter* cache_hit_ = nullptr;
  prometheus::Counter* cache_miss_ = nullptr;
};

}  // namespace obsgate::gateway::authn
