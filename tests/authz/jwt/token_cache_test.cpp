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

TEST_CASE("the cache key is the SHA-256 of the token", "[token_cache]") {
  const TokenDigest a = token_digest("abc");
  CHECK(a[0] == 0xba);
  CHECK(a[1] == 0x78);
  CHECK(a[31] == 0xad);
  CHECK(token_digest("abd") != a);
  TokenCache<VerifiedToken> cache(1);
  CHECK(cache.digest("abc") == a);
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
