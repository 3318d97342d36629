#include "authz/jwt/token_cache.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "tests/authz/jwt/test_keys.h"

namespace obsgate::authz::jwt {
namespace {

using testing::claims_json;
using testing::fixture;
using testing::now_tp;

// A fake clock: tests move time explicitly.
struct FakeClock {
  std::chrono::system_clock::time_point t = now_tp();
  void advance(std::chrono::seconds s) { t += s; }
};

std::string token_with(std::string_view extra_claims_key = "", std::string_view value = "") {
  std::vector<std::pair<std::string, std::string>> o;
  if (!extra_claims_key.empty()) {
    o.emplace_back(std::string(extra_claims_key), std::string(value));
  }
  return testing::sign_token(fixture().p256, R"({"alg":"ES256","kid":"p256"})", claims_json(o));
}

TEST_CASE("verify_cached serves repeats from the cache until exp", "[token_cache]") {
  const auto& f = fixture();
  TokenCache<VerifiedToken> cache(64);
  FakeClock clock;
  const std::string tok = token_with();  // exp = now + 300
  struct Step {
    std::string name;
    std::chrono::seconds advance;
    bool ok;
    std::uint64_t hits, misses;
  };
  const std::vector<Step> steps = {
      {"first use verifies", std::chrono::seconds(0), true, 0, 1},
      {"repeat hits", std::chrono::seconds(0), true, 1, 1},
      {"later, before exp, hits", std::chrono::seconds(299), true, 2, 1},
      {"at exp the entry is gone; within skew it re-verifies", std::chrono::seconds(1), true, 2, 2},
      {"past exp + skew rejected", std::chrono::seconds(61), false, 2, 3},
  };
  for (const Step& s : steps) {
    INFO(s.name);
    clock.advance(s.advance);
    auto r = verify_cached(cache, tok, f.keys, f.opts, clock.t, std::nullopt);
    CHECK(r.ok() == s.ok);
    CHECK(cache.stats().hits == s.hits);
    CHECK(cache.stats().misses == s.misses);
  }
}

TEST_CASE("a new key set generation invalidates cached verifications", "[token_cache]") {
  const auto& f = fixture();
  TokenCache<VerifiedToken> cache(64);
  const std::string tok = token_with();
  REQUIRE(verify_cached(cache, tok, f.keys, f.opts, now_tp(), std::nullopt).ok());
  REQUIRE(verify_cached(cache, tok, f.keys, f.opts, now_tp(), std::nullopt).ok());
  CHECK(cache.stats().hits == 1);
  // The refetched set no longer has the key: the cached verdict must not survive.
  Result<KeySetPtr> rotated = KeySet::parse(testing::jwks({testing::public_jwk(f.ed)}));
  REQUIRE(rotated.ok());
  auto r = verify_cached(cache, tok, *rotated, f.opts, now_tp(), std::nullopt);
  REQUIRE_FALSE(r.ok());
  CHECK(rejection_of(r.status()) == Rejection::kUnknownKid);
  CHECK(cache.stats().hits == 1);
  // Same JWKS bytes parsed again is still a new generation: re-verified once, then cached.
  Result<KeySetPtr> same = KeySet::parse(f.jwks_json);
  REQUIRE(same.ok());
  REQUIRE(verify_cached(cache, tok, *same, f.opts, now_tp(), std::nullopt).ok());
  CHECK(cache.stats().hits == 1);
  REQUIRE(verify_cached(cache, tok, *same, f.opts, now_tp(), std::nullopt).ok());
  CHECK(cache.stats().hits == 2);
}

TEST_CASE("certificate-bound tokens hit only with their certificate", "[token_cache]") {
  const auto& f = fixture();
  TokenCache<VerifiedToken> cache(64);
  const std::string thumb = cert_thumbprint_sha256(std::span<const std::uint8_t>());
  const std::string tok = token_with("cnf", "{\"x5t#S256\":\"" + thumb + "\"}");
  REQUIRE(verify_cached(cache, tok, f.keys, f.opts, now_tp(), thumb).ok());
  REQUIRE(verify_cached(cache, tok, f.keys, f.opts, now_tp(), thumb).ok());
  CHECK(cache.stats().hits == 1);
  auto stolen = verify_cached(cache, tok, f.keys, f.opts, now_tp(), std::nullopt);
  REQUIRE_FALSE(stolen.ok());
  CHECK(rejection_of(stolen.status()) == Rejection::kCnfMismatch);
  auto other = verify_cached(cache, tok, f.keys, f.opts, now_tp(), std::string("AAAA"));
  REQUIRE_FALSE(other.ok());
  CHECK(cache.stats().hits == 1);
}

TEST_CASE("rejections are not cached and capacity is bounded", "[token_cache]") {
  const auto& f = fixture();
  TokenCache<VerifiedToken> cache(4, 2);  // 2 shards of 2
  const std::string bad = token_with("aud", R"("other")");
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(verify_cached(cache, bad, f.keys, f.opts, now_tp(), std::nullopt).ok());
  }
  CHECK(cache.stats().insertions == 0);
  CHECK(cache.stats().misses == 3);
  for (int i = 0; i < 20; ++i) {
    const std::string t = token_with("n", std::to_string(i));
    REQUIRE(verify_cached(cache, t, f.keys, f.opts, now_tp(), std::nullopt).ok());
  }
  const TokenCacheStats s = cache.stats();
  CHECK(s.insertions == 20);
  CHECK(s.size <= 4);
  CHECK(s.evictions == 20 - s.size);
  cache.clear();
  CHECK(cache.stats().size == 0);
}

TEST_CASE("no key set yet reads as unknown_kid", "[token_cache]") {
  TokenCache<VerifiedToken> cache(4);
  auto r = verify_cached(cache, token_with(), nullptr, fixture().opts, now_tp(), std::nullopt);
  REQUIRE_FALSE(r.ok());
  CHECK(rejection_of(r.status()) == Rejection::kUnknownKid);
}

// SipHash-2-4-128 reference vectors (veorq/SipHash vectors.h, vectors_sip128): key bytes
// 00..0f, message bytes 00..(n-1). Lengths 0..15 cover every tail length with and without a
// whole block; 63 covers several whole blocks.
struct SipCase {
  std::size_t length;
  TokenDigest expected;
};

TEST_CASE("the cache key is SipHash-2-4-128 (reference vectors)", "[token_cache]") {
  const std::vector<SipCase> cases = {
      {0, {0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55,
           0x02, 0x93}},
      {1, {0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44, 0x34, 0x76, 0x59, 0x11, 0x9b, 0x22,
           0xfc, 0x45}},
      {7, {0xa1, 0xf1, 0xeb, 0xbe, 0xd8, 0xdb, 0xc1, 0x53, 0xc0, 0xb8, 0x4a, 0xa6, 0x1f, 0xf0,
           0x82, 0x39}},
      {8, {0x3b, 0x62, 0xa9, 0xba, 0x62, 0x58, 0xf5, 0x61, 0x0f, 0x83, 0xe2, 0x64, 0xf3, 0x14,
           0x97, 0xb4}},
      {9, {0x26, 0x44, 0x99, 0x06, 0x0a, 0xd9, 0xba, 0xab, 0xc4, 0x7f, 0x8b, 0x02, 0xbb, 0x6d,
           0x71, 0xed}},
      {15, {0x54, 0x93, 0xe9, 0x99, 0x33, 0xb0, 0xa8, 0x11, 0x7e, 0x08, 0xec, 0x0f, 0x97, 0xcf,
            0xc3, 0xd9}},
      {16, {0x6e, 0xe2, 0xa4, 0xca, 0x67, 0xb0, 0x54, 0xbb, 0xfd, 0x33, 0x15, 0xbf, 0x85, 0x23,
            0x05, 0x77}},
      {63, {0x51, 0x50, 0xd1, 0x77, 0x2f, 0x50, 0x83, 0x4a, 0x50, 0x3e, 0x06, 0x9a, 0x97, 0x3f,
            0xbd, 0x7c}},
  };
  TokenDigestKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<std::uint8_t>(i);
  }
  std::string message;
  for (int i = 0; i < 64; ++i) {
    message.push_back(static_cast<char>(i));
  }
  for (const SipCase& c : cases) {
    DYNAMIC_SECTION("length " << c.length) {
      CHECK(siphash128(key, std::string_view(message).substr(0, c.length)) == c.expected);
    }
  }
}

TEST_CASE("each cache digests under its own secret key", "[token_cache]") {
  TokenCache<VerifiedToken> a(1);
  TokenCache<VerifiedToken> b(1);
  const std::string token = token_with();
  // Deterministic within one cache, a different function in another (a 2^-128 chance of
  // failing), and not the unkeyed reference key.
  CHECK(a.digest(token) == a.digest(token));
  CHECK(a.digest(token) != b.digest(token));
  CHECK(a.digest(token) != a.digest(token + "x"));
  CHECK(a.digest(token) != siphash128(TokenDigestKey{}, token));
}

TEST_CASE("concurrent lookups and inserts are safe", "[token_cache]") {
  const auto& f = fixture();
  TokenCache<VerifiedToken> cache(128, 8);
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) {
    tokens.push_back(token_with("n", std::to_string(i)));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string& tok = tokens[static_cast<std::size_t>((i + t) % 8)];
        if (!verify_cached(cache, tok, f.keys, f.opts, now_tp(), std::nullopt).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(failures.load() == 0);
  const TokenCacheStats s = cache.stats();
  CHECK(s.hits + s.misses == 800);
  CHECK(s.size == 8);
}

}  // namespace
}  // namespace obsgate::authz::jwt
