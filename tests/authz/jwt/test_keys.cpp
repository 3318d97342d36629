#include "tests/authz/jwt/test_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>

#include "authz/jwt/base64url.h"

namespace obsgate::authz::jwt::testing {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(what);
  }
}

std::string bn_bytes(EVP_PKEY* k, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  check(EVP_PKEY_get_bn_param(k, name, &bn) == 1, name);
  const int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return out;
}

std::size_t coord_size(std::string_view crv) {
  return crv == "P-256" ? 32 : crv == "P-384" ? 48 : 66;
}

std::string crv_of(EVP_PKEY* k) {
  char name[64] = {0};
  size_t len = 0;
  check(
      EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) == 1,
      "group");
  const std::string g(name, len);
  if (g == "prime256v1" || g == "P-256") {
    return "P-256";
  }
  if (g == "secp384r1" || g == "P-384") {
    return "P-384";
  }
  return "P-521";
}

const EVP_MD* md_of(Alg alg) {
  switch (alg) {
    case Alg::kRs256:
    case Alg::kPs256:
    case Alg::kEs256:
      return EVP_sha256();
    case Alg::kRs384:
    case Alg::kPs384:
    case Alg::kEs384:
      return EVP_sha384();
    case Alg::kRs512:
    case Alg::kPs512:
    case Alg::kEs512:
      return EVP_sha512();
    case Alg::kEdDsa:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

TestKey make_key(Alg alg, std::string kid, int rsa_bits) {
  TestKey k;
  k.alg = alg;
  k.kid = std::move(kid);
  EVP_PKEY* raw = nullptr;
  if (alg_kty(alg) == "RSA") {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
  } else if (alg == Alg::kEdDsa) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", std::string(alg_crv(alg)).c_str());
  }
  check(raw != nullptr, "keygen");
  k.priv.reset(raw);
  return k;
}

TestKey make_ec_key(std::string_view crv, Alg alg, std::string kid) {
  TestKey k;
  k.alg = alg;
  k.kid = std::move(kid);
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", std::string(crv).c_str());
  check(raw != nullptr, "keygen");
  k.priv.reset(raw);
  return k;
}

std::string public_jwk(const TestKey& k, std::string_view extra, bool with_alg) {
  std::string j = "{";
  if (!k.kid.empty()) {
    j += "\"kid\":\"" + k.kid + "\",";
  }
  if (with_alg) {
    j += "\"alg\":\"" + std::string(alg_name(k.alg)) + "\",";
  }
  EVP_PKEY* p = k.priv.get();
  if (EVP_PKEY_is_a(p, "RSA")) {
    j += "\"kty\":\"RSA\",\"n\":\"" + base64url_encode(bn_bytes(p, OSSL_PKEY_PARAM_RSA_N, 0)) +
         "\",\"e\":\"" + base64url_encode(bn_bytes(p, OSSL_PKEY_PARAM_RSA_E, 0)) + "\"";
  } else if (EVP_PKEY_is_a(p, "EC")) {
    const std::string crv = crv_of(p);
    const int c = static_cast<int>(coord_size(crv));
    j += "\"kty\":\"EC\",\"crv\":\"" + crv + "\",\"x\":\"" +
         base64url_encode(bn_bytes(p, OSSL_PKEY_PARAM_EC_PUB_X, c)) + "\",\"y\":\"" +
         base64url_encode(bn_bytes(p, OSSL_PKEY_PARAM_EC_PUB_Y, c)) + "\"";
  } else {
    unsigned char pub[32];
    size_t len = 0;
    check(EVP_PKEY_get_octet_string_param(p, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len) == 1,
          "ed25519 pub");
    j += "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" +
         base64url_encode(std::string_view(reinterpret_cast<char*>(pub), len)) + "\"";
  }
  j += extra;
  j += "}";
  return j;
}

std::string jwks(const std::vector<std::string>& jwk_texts) {
  std::string s = "{\"keys\":[";
  for (std::size_t i = 0; i < jwk_texts.size(); ++i) {
    s += (i ? "," : "") + jwk_texts[i];
  }
  return s + "]}";
}

std::string sign_raw(Alg alg, EVP_PKEY* priv, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = md_of(alg);
  check(EVP_DigestSignInit(ctx, &pctx, md, nullptr, priv) == 1, "sign init");
  if (alg == Alg::kPs256 || alg == Alg::kPs384 || alg == Alg::kPs512) {
    check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1,
          "pss");
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  check(EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1, "sign len");
  std::string sig(len, '\0');
  check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) ==
            1,
        "sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg == Alg::kEs256 || alg == Alg::kEs384 || alg == Alg::kEs512) {
    // DER -> fixed-width r||s; the width follows the key's curve, not the alg, so that
    // mismatched-curve attacks produce what a real attacker would send.
    const int c = static_cast<int>(coord_size(crv_of(priv)));
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    check(es != nullptr, "ecdsa der");
    std::string out(static_cast<std::size_t>(2 * c), '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(out.data()), c);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(out.data()) + c, c);
    ECDSA_SIG_free(es);
    return out;
  }
  return sig;
}

std::string hmac_sha256(std::string_view secret, std::string_view input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sign_token_as(Alg alg, EVP_PKEY* priv, std::string_view header_json,
                          std::string_view payload_json) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  const std::string sig = sign_raw(alg, priv, input);
  return input + "." + base64url_encode(sig);
}

std::string sign_token(const TestKey& k, std::string_view header_json,
                       std::string_view payload_json) {
  return sign_token_as(k.alg, k.priv.get(), header_json, payload_json);
}

std::string std_header(const TestKey& k) {
  return "{\"alg\":\"" + std::string(alg_name(k.alg)) + "\",\"kid\":\"" + k.kid +
         "\",\"typ\":\"JWT\"}";
}

std::string std_claims(std::string_view extra) {
  return "{\"iss\":\"" + std::string(kIssuer) + "\",\"sub\":\"user-1\",\"aud\":\"" +
         std::string(kAudience) + "\",\"iat\":" + std::to_string(kNow - 10) +
         ",\"exp\":" + std::to_string(kNow + 300) + std::string(extra) + "}";
}

std::string claims_json(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::pair<std::string, std::string>> members = {
      {"iss", "\"" + std::string(kIssuer) + "\""},   {"sub", "\"user-1\""},
      {"aud", "\"" + std::string(kAudience) + "\""}, {"iat", std::to_string(kNow - 10)},
      {"exp", std::to_string(kNow + 300)},
  };
  for (const auto& [name, value] : overrides) {
    bool found = false;
    for (auto& m : members) {
      if (m.first == name) {
        m.second = value;
        found = true;
      }
    }
    if (!found) {
      members.emplace_back(name, value);
    }
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : members) {
    if (value.empty()) {
      continue;
    }
    out += (first ? "\"" : ",\"") + name + "\":" + value;
    first = false;
  }
  return out + "}";
}

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

namespace {
Fixture build_fixture() {
  Fixture f;
  f.rsa = make_key(Alg::kRs256, "rsa");
  f.rsa_rs256 = make_key(Alg::kRs256, "rsa-rs256");
  f.p256 = make_key(Alg::kEs256, "p256");
  f.p384 = make_key(Alg::kEs384, "p384");
  f.p521 = make_key(Alg::kEs512, "p521");
  f.ed = make_key(Alg::kEdDsa, "ed");
  f.evil_rsa = make_key(Alg::kRs256, "rsa");
  f.evil_p256 = make_key(Alg::kEs256, "p256");
  f.jwks_json =
      jwks({public_jwk(f.rsa, ",\"use\":\"sig\"", false), public_jwk(f.rsa_rs256),
            public_jwk(f.p256), public_jwk(f.p384), public_jwk(f.p521), public_jwk(f.ed)});
  Result<KeySetPtr> ks = KeySet::parse(f.jwks_json);
  check(ks.ok(), "fixture JWKS");
  f.keys = *ks;
  f.opts.issuer = std::string(kIssuer);
  f.opts.audiences = {std::string(kAudience)};
  f.opts.allowed_algs = all_algs();
  return f;
}
}  // namespace

const Fixture& fixture() {
  static const Fixture f = build_fixture();  // test-only: keygen is slow, share per process
  return f;
}

}  // namespace obsgate::authz::jwt::testing
