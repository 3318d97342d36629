#include "authz/jwt/token_cache.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <bit>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

namespace obsgate::authz::jwt {
namespace {

struct DigestHash {
  std::size_t operator()(const TokenDigest& d) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, d.data() + 8, sizeof(h));  // bytes 0.. pick the shard; use others here
    return h;
  }
};

// Same control block <=> same KeySet object, without locking the weak pointer and with no
// ABA risk: the weak reference keeps the control block alive.
bool same_owner(const std::weak_ptr<const KeySet>& a, const KeySetPtr& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof(v));  // one unaligned load (GCC does not fold the loop below)
  } else {
    for (int i = 7; i >= 0; --i) {
      v = (v << 8) | p[i];
    }
  }
  return v;
}

void store_le64(std::uint64_t v, std::uint8_t* p) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

constexpr std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

// SipHash's state and its ARX round (SipRound in the paper).
struct SipState {
  std::uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void compress(std::uint64_t m) {  // c = 2
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  std::uint64_t finalize(std::uint64_t mark) {  // d = 4
    v2 ^= mark;
    round();
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

}  // namespace

TokenDigest siphash128(const TokenDigestKey& key, std::string_view data) {
  const std::uint64_t k0 = load_le64(key.data());
  const std::uint64_t k1 = load_le64(key.data() + 8);
  // The 128-bit variant differs from SipHash-64 only in the 0xee / 0xdd marks.
  SipState s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL ^ 0xee,
             k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  const std::size_t whole = n & ~std::size_t{7};
  for (std::size_t i = 0; i < whole; i += 8) {
    s.compress(load_le64(p + i));
  }
  // The last block: the remaining 0..7 bytes, and the length mod 256 in the top byte.
  std::uint64_t last = static_cast<std::uint64_t>(n) << 56;
  for (std::size_t i = 0; i < (n & 7); ++i) {
    last |= static_cast<std::uint64_t>(p[whole + i]) << (8 * i);
  }
  s.compress(last);
  TokenDigest out{};
  store_le64(s.finalize(0xee), out.data());
  s.v1 ^= 0xdd;
  store_le64(s.finalize(0), out.data() + 8);
  return out;
}

struct TokenCacheCore::Shard {
  struct Entry {
    TokenDigest digest;
    std::weak_ptr<const KeySet> keys;
    TimePoint expires_at;
    std::string cnf;
    std::shared_ptr<const void> value;
  };
  using List = std::list<Entry>;

  std::mutex mu;
  List lru;  // front = most recently used
  std::unordered_map<TokenDigest, List::iterator, DigestHash> index;
  std::size_t capacity = 1;
  // Relaxed atomics: written under `mu`, read without it by stats().
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> insertions{0};
  std::atomic<std::uint64_t> evictions{0};
  std::atomic<std::uint64_t> size{0};

  void erase(List::iterator it) {
    index.erase(it->digest);
    lru.erase(it);
    size.store(lru.size(), std::memory_order_relaxed);
  }
};

TokenCacheCore::TokenCacheCore(std::size_t capacity, std::size_t shards)
    : shards_(new Shard[shards == 0 ? 1 : shards]), shard_count_(shards == 0 ? 1 : shards) {
  enabled_ = RAND_bytes(key_.data(), static_cast<int>(key_.size())) == 1;
  const std::size_t per = capacity / shard_count_;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity = per == 0 ? 1 : per;
    shards_[i].index.reserve(shards_[i].capacity);
  }
}

TokenCacheCore::~TokenCacheCore() { OPENSSL_cleanse(key_.data(), key_.size()); }

TokenDigest TokenCacheCore::digest(std::string_view token) const {
  return siphash128(key_, token);
}

std::shared_ptr<const void> TokenCacheCore::lookup(const TokenDigest& d, const KeySetPtr& keys,
                                                   TimePoint now,
                                                   std::optional<std::string_view> cert) {
  Shard& s = shards_[d[0] % shard_count_];
  if (!enabled_) {
    // No secret key: a predictable digest must never select an entry.
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(d);
  if (it == s.index.end()) {
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  Shard::List::iterator e = it->second;
  if (now >= e->expires_at || !keys || !same_owner(e->keys, keys)) {
    s.erase(e);  // can never be served again
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (!e->cnf.empty() && (!cert || *cert != e->cnf)) {
    // Same token from a client without the bound cert: verify() will say why.
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, e);
  s.hits.fetch_add(1, std::memory_order_relaxed);
  return e->value;
}

void TokenCacheCore::insert(const TokenDigest& d, const KeySetPtr& keys, TimePoint expires_at,
                            std::string cnf, std::shared_ptr<const void> value) {
  if (!keys || !value || !enabled_) {
    return;
  }
  Shard& s = shards_[d[0] % shard_count_];
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto it = s.index.find(d); it != s.index.end()) {
    s.erase(it->second);
  }
  while (s.lru.size() >= s.capacity) {
    s.erase(std::prev(s.lru.end()));
    s.evictions.fetch_add(1, std::memory_order_relaxed);
  }
  s.lru.push_front(Shard::Entry{d, keys, expires_at, std::move(cnf), std::move(value)});
  s.index.emplace(d, s.lru.begin());
  s.insertions.fetch_add(1, std::memory_order_relaxed);
  s.size.store(s.lru.size(), std::memory_order_relaxed);
}

void TokenCacheCore::clear() {
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    shards_[i].index.clear();
    shards_[i].lru.clear();
    shards_[i].size.store(0, std::memory_order_relaxed);
  }
}

TokenCacheStats TokenCacheCore::stats() const {
  TokenCacheStats out;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    const Shard& s = shards_[i];
    out.hits += s.hits.load(std::memory_order_relaxed);
    out.misses += s.misses.load(std::memory_order_relaxed);
    out.insertions += s.insertions.load(std::memory_order_relaxed);
    out.evictions += s.evictions.load(std::memory_order_relaxed);
    out.size += s.size.load(std::memory_order_relaxed);
  }
  return out;
}

Result<std::shared_ptr<const VerifiedToken>> verify_cached(
    TokenCache<VerifiedToken>& cache, std::string_view token, const KeySetPtr& keys,
    const VerifyOptions& options, std::chrono::system_clock::time_point now,
    std::optional<std::string_view> client_cert_sha256_b64url) {
  if (!keys) {
    // No key set yet (first JWKS fetch pending or failed): the same answer as an unknown kid,
    // so the gateway's refetch logic applies.
    return Status::unauthenticated(std::string(rejection_name(Rejection::kUnknownKid)) +
                                   ": no key set loaded");
  }
  if (token.size() > options.max_token_bytes) {
    // Do not hash megabytes of junk just to miss.
    return verify(token, *keys, options, now, client_cert_sha256_b64url).status();
  }
  const TokenDigest d = cache.digest(token);
  if (auto hit = cache.lookup(d, keys, now, client_cert_sha256_b64url)) {
    return hit;
  }
  Result<VerifiedToken> t = verify(token, *keys, options, now, client_cert_sha256_b64url);
  if (!t.ok()) {
    return t.status();
  }
  auto v = std::make_shared<const VerifiedToken>(std::move(t).value());
  cache.insert(d, keys, v->expires_at, v->cnf_x5t_s256, v);
  return v;
}

}  // namespace obsgate::authz::jwt
