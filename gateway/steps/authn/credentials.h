// Pure helpers of the authentication step: reading the Authorization value, peeking at a
// token's issuer, the decision-log fingerprint, the RFC 6750 challenge, and the RFC 8705
// certificate thumbprint. No I/O, no clock; thread-safe.
#pragma once

#include <openssl/types.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace obsgate::gateway::authn {

enum class BearerParse { kBearer, kOtherScheme, kMalformed };

struct BearerCredentials {
  BearerParse result = BearerParse::kMalformed;
  std::string_view token;  // the token68 after "Bearer " (kBearer only)
};

// RFC 6750 §2.1: `Bearer` (case-insensitive) 1*SP token68. Surrounding spaces are ignored.
// Another scheme ("Basic ...") is kOtherScheme; "Bearer" with no or a non-token68 value is
// kMalformed. The returned token views into `authorization`.
[[nodiscard]] BearerCredentials parse_bearer(std::string_view authorization);

// The `iss` of a compact JWS, read WITHOUT verifying anything: only to pick which provider
// verifies it. nullopt when the payload is not base64url JSON with a string iss.
[[nodiscard]] std::optional<std::string> peek_issuer(std::string_view token);

// HMAC-SHA256(key, token), truncated to 16 bytes, lower-case hex (32 characters): correlates
// decisions about one token in the decision log without revealing it. Empty when `key` is
// empty or OpenSSL fails.
[[nodiscard]] std::string token_fingerprint(std::span<const unsigned char> key,
                                            std::string_view token);

// `Bearer realm="obsgate"`, plus `, error="..."` and `, error_description="..."` when given.
// `error` and `description` must be plain ASCII without quotes or backslashes (callers pass
// constants).
[[nodiscard]] std::string bearer_challenge(std::string_view error = {},
                                           std::string_view description = {});

// RFC 8705 §3.1 thumbprint of a certificate: base64url(SHA-256(DER)). nullopt when the
// certificate cannot be encoded.
[[nodiscard]] std::optional<std::string> certificate_thumbprint(X509* cert);

}  // namespace obsgate::gateway::authn
