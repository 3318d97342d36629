// JWK Set (RFC 7517) parsing into verification keys.
//
// The gateway fetches the JWKS document (its one I/O seam) and hands the bytes to
// KeySet::parse(). Supported keys: RSA (n, e; 2048..16384 bits), EC P-256/P-384/P-521 (x, y of
// exact length, point checked on the curve), OKP Ed25519 (x). A key that is malformed, not for
// signatures (`use` other than "sig", `key_ops` without "verify"), of an unsupported type, or
// that carries private members is skipped with a recorded reason; the set fails only when the
// document itself is malformed or no usable key remains.
//
// Ownership: a KeySet owns its EVP_PKEYs. It is immutable after parse and shared as
// KeySetPtr; the pointer identity is the "generation" that the token cache compares, so a
// refetch that yields a new KeySet invalidates cached verifications made with the old one.
// Thread-safety: immutable; safe to share across threads.
//
//   auto keys = KeySet::parse(body);          // body: bytes of the HTTP response
//   if (!keys.ok()) { keep the previous set; log keys.status().message(); }
//   for (const auto& s : (*keys)->skipped()) { log s.kid, s.reason; }
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/alg.h"
#include "common/status.h"

namespace obsgate::authz::jwt {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct Jwk {
  std::string kid;  // may be empty
  std::string kty;  // "RSA", "EC", "OKP"
  std::string crv;  // "P-256", "P-384", "P-521", "Ed25519"; empty for RSA
  std::string alg;  // optional: when set, the only algorithm this key verifies
  std::string use;  // "sig" or empty
  int bits = 0;     // RSA modulus size; curve size for EC/OKP
  PkeyPtr pkey;

  // True when `a` may be verified with this key: kty/crv fit and `alg`, if set, is `a`.
  [[nodiscard]] bool compatible_with(Alg a) const;
};

struct SkippedKey {
  std::size_t index = 0;  // position in "keys"
  std::string kid;        // as published (truncated to 64 chars), may be empty
  std::string reason;     // e.g. "RSA modulus of 1024 bits is below 2048"
};

struct JwksLimits {
  std::size_t max_bytes = 512 * 1024;
  std::size_t max_keys = 100;
  int min_rsa_bits = 2048;
  int max_rsa_bits = 16384;
};

class KeySet;
using KeySetPtr = std::shared_ptr<const KeySet>;

class KeySet final {
 public:
  // InvalidArgument when the document is not a JSON object with a "keys" array, has duplicate
  // member names, exceeds the limits, or yields no usable key (the message lists why).
  static Result<KeySetPtr> parse(std::string_view jwks_json, const JwksLimits& limits = {});

  [[nodiscard]] const std::vector<Jwk>& keys() const { return keys_; }
  [[nodiscard]] const std::vector<SkippedKey>& skipped() const { return skipped_; }

  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;
  KeySet(KeySet&&) = default;
  KeySet& operator=(KeySet&&) = default;
  ~KeySet() = default;

 private:
  KeySet() = default;
  std::vector<Jwk> keys_;
  std::vector<SkippedKey> skipped_;
};

}  // namespace obsgate::authz::jwt
