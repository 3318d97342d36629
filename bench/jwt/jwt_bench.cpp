// Verification cost per algorithm, in one run:
//   BM_RawOpenSsl/<alg>  our own loop around EVP_DigestVerify on the same key and message
//                        (fresh EVP_MD_CTX + init + verify, what any caller has to do);
//   BM_Verify/<alg>      verify(): split, base64url, strict JSON, key selection, signature,
//                        claims (no cache);
//   BM_VerifyCached/<alg> verify_cached() on a warm cache (SHA-256 of the token + lookup).
// Plus the pieces of the cached path and principal mapping.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "authz/jwt/base64url.h"
#include "authz/jwt/strict_json.h"
#include "authz/jwt/token_cache.h"
#include "authz/jwt/verify.h"
#include "authz/principal/claims_mapping.h"
#include "tests/authz/jwt/test_keys.h"

namespace {

using namespace obsgate::authz::jwt;
using obsgate::Result;
namespace t = obsgate::authz::jwt::testing;

// A realistic access token body (~600 bytes of claims, Keycloak-like).
std::string bench_claims() {
  return t::claims_json({{"typ", R"("Bearer")"},
                         {"azp", R"("grafana")"},
                         {"session_state", R"("6f4c3d1e-2b6a-4c8e-9d0f-1a2b3c4d5e6f")"},
                         {"realm_access", R"({"roles":["obs-viewer","offline_access"]})"},
                         {"resource_access", R"({"obsgate":{"roles":["writer"]}})"},
                         {"scope", R"("openid profile email metrics:read")"},
                         {"groups", R"(["/team-a","/platform"])"},
                         {"email", R"("user@example.com")"},
                         {"preferred_username", R"("user")"}});
}

struct Setup {
  std::string token;
  std::string signing_input;
  std::string raw_sig;  // what OpenSSL verifies (DER for ECDSA)
  const t::TestKey* key = nullptr;
};

const EVP_MD* md_of(Alg a) {
  const std::string_view n = alg_name(a);
  if (a == Alg::kEdDsa) {
    return nullptr;
  }
  return n.substr(2) == "256" ? EVP_sha256() : n.substr(2) == "384" ? EVP_sha384() : EVP_sha512();
}
bool is_pss(Alg a) { return a == Alg::kPs256 || a == Alg::kPs384 || a == Alg::kPs512; }

const t::TestKey& key_for(Alg a) {
  const t::Fixture& f = t::fixture();
  switch (a) {
    case Alg::kEs256:
      return f.p256;
    case Alg::kEs384:
      return f.p384;
    case Alg::kEs512:
      return f.p521;
    case Alg::kEdDsa:
      return f.ed;
    default:
      return f.rsa;
  }
}

const Setup& setup(Alg a) {
  static std::map<Alg, Setup> cache;  // bench-only memo
  auto it = cache.find(a);
  if (it != cache.end()) {
    return it->second;
  }
  Setup s;
  s.key = &key_for(a);
  const std::string header = "{\"alg\":\"" + std::string(alg_name(a)) + "\",\"kid\":\"" +
                             s.key->kid + "\",\"typ\":\"at+jwt\"}";
  s.token = t::sign_token_as(a, s.key->priv.get(), header, bench_claims());
  s.signing_input = s.token.substr(0, s.token.rfind('.'));
  // Raw signature for OpenSSL: sign the same input natively (DER for ECDSA).
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md_of(a), nullptr, s.key->priv.get());
  if (is_pss(a)) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(s.signing_input.data());
  EVP_DigestSign(ctx, nullptr, &len, in, s.signing_input.size());
  s.raw_sig.resize(len);
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(s.raw_sig.data()), &len, in,
                 s.signing_input.size());
  s.raw_sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return cache.emplace(a, std::move(s)).first->second;
}

// fetched == true: the digest is an explicitly fetched EVP_MD (OpenSSL 3 best practice)
// instead of EVP_sha256() & co, whose every use performs an implicit fetch.
void raw_openssl(benchmark::State& state, bool fetched) {
  const Alg a = static_cast<Alg>(state.range(0));
  EVP_MD* md_fetched = nullptr;
  if (fetched && md_of(a) != nullptr) {
    md_fetched = EVP_MD_fetch(nullptr, EVP_MD_get0_name(md_of(a)), nullptr);
  }
  const EVP_MD* md = md_fetched != nullptr ? md_fetched : md_of(a);
  const Setup& s = setup(a);
  EVP_PKEY* pub = nullptr;
  for (const Jwk& k : t::fixture().keys->keys()) {
    if (k.kid == s.key->kid) {
      pub = k.pkey.get();  // the public key as parsed from the JWKS, like verify() uses
    }
  }
  const auto* sig = reinterpret_cast<const unsigned char*>(s.raw_sig.data());
  const auto* in = reinterpret_cast<const unsigned char*>(s.signing_input.data());
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, pub);
    if (is_pss(a)) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
    }
    const int rc = EVP_DigestVerify(ctx, sig, s.raw_sig.size(), in, s.signing_input.size());
    EVP_MD_CTX_free(ctx);
    if (rc != 1) {
      state.SkipWithError("raw verify failed");
      break;
    }
  }
  EVP_MD_free(md_fetched);
  state.SetLabel(std::string(alg_name(a)) + (fetched ? " fetched md" : ""));
}
void BM_RawOpenSsl(benchmark::State& state) { raw_openssl(state, false); }
void BM_RawOpenSslFetchedMd(benchmark::State& state) { raw_openssl(state, true); }

// One raw OpenSSL verification, as in BM_RawOpenSsl.
bool raw_once(Alg a, EVP_PKEY* pub, const Setup& s) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestVerifyInit(ctx, &pctx, md_of(a), nullptr, pub);
  if (is_pss(a)) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_of(a));
  }
  const int rc = EVP_DigestVerify(
      ctx, reinterpret_cast<const unsigned char*>(s.raw_sig.data()), s.raw_sig.size(),
      reinterpret_cast<const unsigned char*>(s.signing_input.data()), s.signing_input.size());
  EVP_MD_CTX_free(ctx);
  return rc == 1;
}

EVP_PKEY* public_key_of(const Setup& s) {
  for (const Jwk& k : t::fixture().keys->keys()) {
    if (k.kid == s.key->kid) {
      return k.pkey.get();
    }
  }
  return nullptr;
}

double median(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The overhead figure that survives a loaded machine: raw OpenSSL and verify() alternate in
// one loop, each timed, and the medians are compared (a preemption inflates single samples,
// not the median, and hits both sides alike). Counters: raw_us, verify_us, ratio.
void BM_PairedOverhead(benchmark::State& state) {
  const Alg a = static_cast<Alg>(state.range(0));
  const Setup& s = setup(a);
  const t::Fixture& f = t::fixture();
  EVP_PKEY* pub = public_key_of(s);
  const auto now = t::now_tp();
  std::vector<double> raw;
  std::vector<double> ours;
  using Steady = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = Steady::now();
    const bool ok1 = raw_once(a, pub, s);
    const auto t1 = Steady::now();
    Result<VerifiedToken> r = verify(s.token, *f.keys, f.opts, now, std::nullopt);
    const auto t2 = Steady::now();
    if (!ok1 || !r.ok()) {
      state.SkipWithError("verification failed");
      break;
    }
    raw.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    ours.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  const double mr = median(raw);
  const double mo = median(ours);
  state.counters["raw_us"] = mr;
  state.counters["verify_us"] = mo;
  state.counters["ratio"] = mr > 0 ? mo / mr : 0;
  state.SetLabel(std::string(alg_name(a)));
}

void BM_Verify(benchmark::State& state) {
  const Alg a = static_cast<Alg>(state.range(0));
  const Setup& s = setup(a);
  const t::Fixture& f = t::fixture();
  const auto now = t::now_tp();
  for (auto _ : state) {
    Result<VerifiedToken> r = verify(s.token, *f.keys, f.opts, now, std::nullopt);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(alg_name(a)));
}

void BM_VerifyCached(benchmark::State& state) {
  const Alg a = static_cast<Alg>(state.range(0));
  const Setup& s = setup(a);
  const t::Fixture& f = t::fixture();
  const auto now = t::now_tp();
  TokenCache<VerifiedToken> cache(10000);
  (void)verify_cached(cache, s.token, f.keys, f.opts, now, std::nullopt);
  for (auto _ : state) {
    auto r = verify_cached(cache, s.token, f.keys, f.opts, now, std::nullopt);
    benchmark::DoNotOptimize(r);
  }
  if (cache.stats().hits + 1 < static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("cache missed");
  }
  state.SetLabel(std::string(alg_name(a)) + " token " + std::to_string(s.token.size()) + " B");
}

void BM_TokenDigest(benchmark::State& state) {
  const Setup& s = setup(Alg::kRs256);
  TokenCache<VerifiedToken> cache(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.digest(s.token));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.token.size()));
}

// The previous cache key, for comparison: SHA-256 with an explicitly fetched EVP_MD.
void BM_TokenDigestSha256(benchmark::State& state) {
  const Setup& s = setup(Alg::kRs256);
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  for (auto _ : state) {
    std::array<unsigned char, 32> d{};
    unsigned int len = 0;
    EVP_Digest(s.token.data(), s.token.size(), d.data(), &len, md, nullptr);
    benchmark::DoNotOptimize(d);
  }
  EVP_MD_free(md);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.token.size()));
}

void BM_CacheLookupOnly(benchmark::State& state) {
  const Setup& s = setup(Alg::kEs256);
  const t::Fixture& f = t::fixture();
  TokenCache<VerifiedToken> cache(10000);
  const TokenDigest d = cache.digest(s.token);
  cache.insert(d, f.keys, t::now_tp(3600), "", std::make_shared<const VerifiedToken>());
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.lookup(d, f.keys, t::now_tp(), std::nullopt));
  }
}

void BM_MapClaims(benchmark::State& state) {
  const Setup& s = setup(Alg::kEs256);
  const t::Fixture& f = t::fixture();
  Result<VerifiedToken> v = verify(s.token, *f.keys, f.opts, t::now_tp(), std::nullopt);
  auto m = obsgate::authz::PrincipalMapping::parse(YAML::Load(R"(
tenants: [{claim: groups, values: {/team-a: [team-a], /platform: [team-a, team-b]}}]
roles:
  - {claim: realm_access.roles, values: {obs-viewer: [viewer]}}
  - {claim: resource_access.obsgate.roles, values: {writer: [writer]}}
)"));
  for (auto _ : state) {
    benchmark::DoNotOptimize(obsgate::authz::map_claims(*m, *v->claims, v->issuer, v->subject));
  }
}

void BM_KeySetParse(benchmark::State& state) {
  const std::string& doc = t::fixture().jwks_json;
  for (auto _ : state) {
    benchmark::DoNotOptimize(KeySet::parse(doc));
  }
  state.SetLabel("6 keys: 2 RSA, 3 EC, 1 Ed25519");
}

void BM_ParseClaims(benchmark::State& state) {
  const std::string claims = bench_claims();
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse_strict_object(claims, JsonLimits{}));
  }
  state.SetLabel(std::to_string(claims.size()) + " B");
}

void BM_Base64Decode(benchmark::State& state) {
  const std::string enc = base64url_encode(bench_claims());
  std::string out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(base64url_decode(enc, out));
  }
}

void Algs(benchmark::internal::Benchmark* b) {
  for (int i = 0; i <= static_cast<int>(Alg::kEdDsa); ++i) {
    b->Arg(i);
  }
}

BENCHMARK(BM_RawOpenSsl)->Apply(Algs);
BENCHMARK(BM_RawOpenSslFetchedMd)->Apply(Algs);
BENCHMARK(BM_Verify)->Apply(Algs);
BENCHMARK(BM_VerifyCached)->Apply(Algs);
BENCHMARK(BM_PairedOverhead)->Apply(Algs);
BENCHMARK(BM_TokenDigest);
BENCHMARK(BM_TokenDigestSha256);
BENCHMARK(BM_CacheLookupOnly);
BENCHMARK(BM_MapClaims);
BENCHMARK(BM_KeySetParse);
BENCHMARK(BM_ParseClaims);
BENCHMARK(BM_Base64Decode);

}  // namespace

BENCHMARK_MAIN();
