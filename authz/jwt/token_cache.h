// Verified-token cache: skips signature verification for a token seen before.
//
// Keyed by a keyed digest of the token, SipHash-2-4 with 128-bit output under a random key
// drawn per cache from OpenSSL's CSPRNG at construction (the raw token is never stored). An
// entry is served only
//   - before the token's exp (entries never outlive exp; the clock skew that verify() grants
//     after exp is not extended to cached entries),
//   - while the KeySet that verified it is the one passed to lookup() (pointer identity of the
//     KeySetPtr: a JWKS refetch producing a new set invalidates everything verified before), and
//   - when the token is certificate-bound (cnf x5t#S256), to a request presenting that cert.
// A miss is always safe: the caller runs verify() and inserts the result.
//
// Why a keyed PRF and not a hash: a digest collision would serve one token's verdict (its
// principal) for another token, so the key must resist an attacker who crafts a token to collide
// with a cached one. SipHash-2-4 is a PRF under a secret 128-bit key (Aumasson & Bernstein
// 2012); the key never leaves the process (not configured, logged or derived from input), so
// collisions cannot be searched offline, and each online attempt (a request) matches one of N
// cached digests with probability about N / 2^128. Generic birthday collisions among the
// attacker's own tokens (2^64 requests) buy nothing: both sides of such a pair would be the
// attacker's, and each token must still pass verify() once before it is cached. The previous key,
// SHA-256 of the token (a public function), gave the same property at about twice the CPU per
// ~600-byte token (bench/jwt BM_TokenDigest vs BM_TokenDigestSha256). If the CSPRNG fails at
// construction the cache stays disabled: every lookup misses and nothing is inserted.
//
// Digests are only meaningful to the cache that computed them, or to caches that are always fed
// digests from that same cache (the authn step digests once with its first provider's cache and
// uses that value with every provider's cache, for lookup and insert alike).
//
// One cache per provider configuration (VerifyOptions + key source): the key does not include
// the options, so two providers sharing a cache would share verdicts.
//
// Bounded: `capacity` entries in total over `shards` LRU shards, each behind its own mutex.
// Thread-safety: all methods are safe to call concurrently. Values are shared, immutable.
// Counters are plain numbers for the gateway's metrics exporter.
//
//   TokenCache<Identity> cache(10000);               // Identity: the gateway's own value type
//   const TokenDigest d = cache.digest(token);
//   if (auto hit = cache.lookup(d, keys, now, cert)) { use(*hit); }
//   else if (Result<VerifiedToken> t = verify(token, *keys, opts, now, cert); t.ok()) {
//     auto id = std::make_shared<const Identity>(...);
//     cache.insert(d, keys, t->expires_at, t->cnf_x5t_s256, id);
//   }
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authz/jwt/jwks.h"
#include "authz/jwt/verify.h"

namespace obsgate::authz::jwt {

using TokenDigest = std::array<std::uint8_t, 16>;
using TokenDigestKey = std::array<std::uint8_t, 16>;

// SipHash-2-4 with 128-bit output (the reference implementation's byte order: two little-endian
// 64-bit words); key bytes k0 = key[0..8), k1 = key[8..16) little-endian. Pure; exposed for the
// reference test vectors. TokenCache::digest() is this under the cache's own random key.
[[nodiscard]] TokenDigest siphash128(const TokenDigestKey& key, std::string_view data);

struct TokenCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t insertions = 0;
  std::uint64_t evictions = 0;  // capacity evictions only
  std::uint64_t size = 0;
};

// Type-erased core; use TokenCache<V>.
class TokenCacheCore final {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  explicit TokenCacheCore(std::size_t capacity, std::size_t shards);
  ~TokenCacheCore();
  TokenCacheCore(const TokenCacheCore&) = delete;
  TokenCacheCore& operator=(const TokenCacheCore&) = delete;

  [[nodiscard]] TokenDigest digest(std::string_view token) const;
  std::shared_ptr<const void> lookup(const TokenDigest& d, const KeySetPtr& keys, TimePoint now,
                                     std::optional<std::string_view> cert_x5t_s256);
  void insert(const TokenDigest& d, const KeySetPtr& keys, TimePoint expires_at,
              std::string cnf_x5t_s256, std::shared_ptr<const void> value);
  void clear();
  [[nodiscard]] TokenCacheStats stats() const;

 private:
  struct Shard;
  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_count_;
  TokenDigestKey key_{};  // secret, random per cache
  bool enabled_ = false;  // false when the CSPRNG failed: everything misses
};

template <typename V>
class TokenCache final {
 public:
  // capacity: maximum entries in total (at least one per shard).
  explicit TokenCache(std::size_t capacity, std::size_t shards = 16) : core_(capacity, shards) {}

  // The cache key of a token: SipHash-128 under this cache's secret key.
  [[nodiscard]] TokenDigest digest(std::string_view token) const { return core_.digest(token); }

  // The cached value, or null on a miss (absent, expired, other key set, cert mismatch).
  std::shared_ptr<const V> lookup(const TokenDigest& d, const KeySetPtr& keys,
                                  std::chrono::system_clock::time_point now,
                                  std::optional<std::string_view> cert_x5t_s256) {
    return std::static_pointer_cast<const V>(core_.lookup(d, keys, now, cert_x5t_s256));
  }
  // Stores `value` for a token verified with `keys`, replacing any entry of that digest;
  // expires_at is verify()'s exp. The least recently used entry of the shard makes room.
  void insert(const TokenDigest& d, const KeySetPtr& keys,
              std::chrono::system_clock::time_point expires_at, std::string cnf_x5t_s256,
              std::shared_ptr<const V> value) {
    core_.insert(d, keys, expires_at, std::move(cnf_x5t_s256), std::move(value));
  }
  void clear() { core_.clear(); }
  [[nodiscard]] TokenCacheStats stats() const { return core_.stats(); }

 private:
  TokenCacheCore core_;
};

// Convenience for callers that cache the VerifiedToken itself: lookup, else verify + insert.
// Rejections are not cached.
Result<std::shared_ptr<const VerifiedToken>> verify_cached(
    TokenCache<VerifiedToken>& cache, std::string_view token, const KeySetPtr& keys,
    const VerifyOptions& options, std::chrono::system_clock::time_point now,
    std::optional<std::string_view> client_cert_sha256_b64url);

}  // namespace obsgate::authz::jwt
