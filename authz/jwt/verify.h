// JWT (JWS compact serialization) verification: the pure core of obsgate's bearer-token check.
//
// verify() takes the token, the issuer's KeySet, the provider's VerifyOptions, the current
// time and, for RFC 8705 certificate-bound tokens, the client certificate thumbprint. It never
// fetches anything: `jku`, `x5u`, `jwk` and `x5c` headers are ignored (never used to find or
// build a key; legitimate issuers sometimes send `x5c`/`x5t`, and rejecting them would break
// interop while ignoring them already closes the key-injection hole). Keys come only from the
// KeySet.
//
// Key selection: with `kid`, the keys of that kid compatible with the token's alg; without
// `kid`, the token is accepted only when exactly one key of the set is compatible with its alg
// (several candidates -> kMalformed; trying each would multiply the cost of a forged token).
//
// Failures are Status::unauthenticated(message) whose message starts with the reason name,
// "expired: ...". rejection_of() recovers the bounded Rejection for metrics and for the JWKS
// refetch decision (kUnknownKid). Messages never contain the token or key material; claim
// values that are echoed (iss, aud) are truncated.
//
// Thread-safety: pure function; KeySet and VerifyOptions are read-only.
//
//   VerifyOptions opts;
//   opts.issuer = "https://idp.example.com/realms/obs";
//   opts.audiences = {"obsgate"};
//   opts.allowed_algs = {Alg::kRs256, Alg::kEs256};
//   Result<VerifiedToken> t = verify(bearer, *keys, opts, clock.now(), cert_thumbprint);
//   if (!t.ok()) {
//     if (rejection_of(t.status()) == Rejection::kUnknownKid) { schedule_jwks_refetch(); }
//     return reply_401(rejection_name(rejection_of(t.status())));
//   }
#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/alg.h"
#include "authz/jwt/jwks.h"
#include "common/status.h"

namespace obsgate::authz::jwt {

// Bounded reason set: safe as a metrics label value (rejection_name()).
enum class Rejection : std::uint8_t {
  kNone = 0,         // not a rejection (OK status)
  kMalformed,        // not a well-formed JWS/JWT: segments, base64url, JSON, claim types
  kTooLarge,         // token above max_token_bytes
  kAlgNotAllowed,    // none/HS*/unknown alg, or not on the provider's allowlist
  kUnknownKid,       // no key for this kid (or no compatible key at all): refetch JWKS
  kKeyMismatch,      // the kid's key cannot verify this alg (kty/crv/alg differ)
  kBadSignature,     // signature wrong length or does not verify
  kCritUnsupported,  // `crit` names an extension we do not implement
  kTypMismatch,      // `typ` is not at+jwt while RFC 9068 is required
  kExpired,          // now > exp + skew
  kNotYetValid,      // now < nbf - skew, or iat > now + skew
  kWrongIssuer,      // iss != expected issuer
  kWrongAudience,    // aud does not contain an accepted audience
  kLifetimeTooLong,  // exp - iat (or exp - now) above max_lifetime
  kCnfMismatch,      // cnf binding not satisfied by the client certificate
};
inline constexpr int kRejectionCount = 15;

// "malformed", "bad_signature", ...; "none" for kNone.
[[nodiscard]] std::string_view rejection_name(Rejection r);
// The reason of a status returned by verify(); kNone for OK, kMalformed for a status that
// verify() did not produce.
[[nodiscard]] Rejection rejection_of(const Status& s);

struct VerifyOptions {
  std::string issuer;                  // exact match; empty rejects every token
  std::vector<std::string> audiences;  // any one must appear in aud; empty rejects every token
  std::vector<Alg> allowed_algs;       // the provider's allowlist; empty rejects every token
  std::chrono::seconds clock_skew{60};
  std::chrono::seconds max_lifetime{24 * 3600};
  std::size_t max_token_bytes = 16 * 1024;
  bool require_at_jwt = false;  // RFC 9068: typ must be at+jwt / application/at+jwt

  // For config load: InvalidArgument naming the field when an option would make every token
  // fail (empty issuer/audiences/allowed_algs) or is out of range (negative skew or lifetime,
  // skew above 10 min, token cap outside 1 KiB..1 MiB).
  [[nodiscard]] Status validate() const;
};

struct VerifiedToken {
  Alg alg = Alg::kRs256;
  std::string kid;
  std::string typ;
  std::string issuer;
  std::string subject;  // empty when the token has no sub
  std::vector<std::string> audiences;
  std::chrono::system_clock::time_point expires_at;
  std::optional<std::chrono::system_clock::time_point> issued_at;
  std::optional<std::chrono::system_clock::time_point> not_before;
  std::string cnf_x5t_s256;  // the certificate binding, empty when unbound
  // The whole claim set, for principal mapping. Never null in a verified token.
  std::shared_ptr<const boost::json::object> claims;
};

Result<VerifiedToken> verify(std::string_view token, const KeySet& keys,
                             const VerifyOptions& options,
                             std::chrono::system_clock::time_point now,
                             std::optional<std::string_view> client_cert_sha256_b64url);

// RFC 8705 §3.1 thumbprint: base64url(SHA-256(DER certificate)), 43 characters.
[[nodiscard]] std::string cert_thumbprint_sha256(std::span<const std::uint8_t> der);

}  // namespace obsgate::authz::jwt
