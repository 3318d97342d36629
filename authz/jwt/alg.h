// JWS signature algorithms obsgate accepts (RFC 7518 §3), and the raw signature check.
//
// The enum is closed on purpose: `none` and the HMAC family (HS256/384/512) have no value here,
// so no configuration or token can ever select them. Names are case-sensitive per RFC 7515.
//
// Thread-safety: pure functions; verify_signature() only reads the key (EVP_PKEY is safe for
// concurrent verification in OpenSSL 3).
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::authz::jwt {

enum class Alg : std::uint8_t {
  kRs256,
  kRs384,
  kRs512,  // RSASSA-PKCS1-v1_5
  kPs256,
  kPs384,
  kPs512,  // RSASSA-PSS, MGF1 with the same hash, salt = hash length
  kEs256,
  kEs384,
  kEs512,  // ECDSA P-256/P-384/P-521, JOSE r||s signatures
  kEdDsa,  // Ed25519 (RFC 8037); Ed448 is not supported
};

// "RS256" -> kRs256. nullopt for anything else, including "none", "HS256" and "rs256".
[[nodiscard]] std::optional<Alg> alg_from_name(std::string_view name);
[[nodiscard]] std::string_view alg_name(Alg alg);

// Every supported algorithm, for a default allowlist in tests and examples.
[[nodiscard]] std::vector<Alg> all_algs();

// Converts a configured allowlist; errors (InvalidArgument) name the offending entry, with a
// specific message for `none` and HS*.
Result<std::vector<Alg>> parse_alg_list(const std::vector<std::string>& names);

// The key shape an algorithm needs: kty "RSA", "EC" + crv, or "OKP" + crv.
[[nodiscard]] std::string_view alg_kty(Alg alg);
[[nodiscard]] std::string_view alg_crv(Alg alg);  // "" for RSA

// Checks a JOSE signature over `signing_input` with `key` (which must fit `alg`; see
// alg_kty/alg_crv). Enforces the exact signature length: RSA modulus size, 2 * coordinate size
// for ECDSA (converted to DER internally), 64 bytes for Ed25519.
[[nodiscard]] bool verify_signature(Alg alg, EVP_PKEY* key, std::string_view signing_input,
                                    std::string_view signature);

}  // namespace obsgate::authz::jwt
