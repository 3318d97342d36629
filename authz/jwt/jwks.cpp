#include "authz/jwt/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <array>
#include <boost/json/value.hpp>
#include <utility>

#include "authz/jwt/base64url.h"
#include "authz/jwt/strict_json.h"

namespace obsgate::authz::jwt {

void PkeyFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

bool Jwk::compatible_with(Alg a) const {
  if (kty != alg_kty(a) || crv != alg_crv(a)) {
    return false;
  }
  return alg.empty() || alg == alg_name(a);
}

namespace {

namespace json = boost::json;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PctxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

struct CurveInfo {
  std::string_view jwk_name;
  const char* ossl_group;
  std::size_t coord_bytes;
  int bits;
};
constexpr std::array<CurveInfo, 3> kCurves = {{
    {"P-256", "prime256v1", 32, 256},
    {"P-384", "secp384r1", 48, 384},
    {"P-521", "secp521r1", 66, 521},
}};

// Private members of RSA/EC/OKP JWKs (RFC 7518 §6). A JWKS that publishes them is
// misconfigured; we refuse such keys rather than silently use half of them.
constexpr std::array<std::string_view, 8> kPrivateMembers = {"d",  "p",  "q",   "dp",
                                                             "dq", "qi", "oth", "k"};

// A string member, or "" when absent. Sets `bad` when present but not a string.
std::string_view str_member(const json::object& o, std::string_view name, bool& bad) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) {
    return {};
  }
  if (!v->is_string()) {
    bad = true;
    return {};
  }
  return {v->get_string().data(), v->get_string().size()};
}

Result<std::string> b64_member(const json::object& o, std::string_view name) {
  bool bad = false;
  std::string_view s = str_member(o, name, bad);
  if (bad || s.empty()) {
    return Status::invalid_argument(std::string("missing or non-string \"") + std::string(name) +
                                    "\"");
  }
  std::string out;
  if (!base64url_decode(s, out)) {
    return Status::invalid_argument(std::string("\"") + std::string(name) +
                                    "\" is not canonical unpadded base64url");
  }
  return out;
}

// check_public: run EVP_PKEY_public_check (EC: point on the curve, not infinity, in the
// subgroup). Not for RSA: OpenSSL's SP 800-56B public check runs a compositeness test on n that
// costs milliseconds per key, and a bad modulus cannot make a forged signature verify anyway;
// the cheap RSA checks (size, odd n, odd e) are done by rsa_key().
Result<PkeyPtr> from_params(const char* type, OSSL_PARAM_BLD* bld, bool check_public) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PctxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return Status::invalid_argument(std::string("OpenSSL rejected the ") + type + " key");
  }
  PkeyPtr key(raw);
  if (!check_public) {
    return key;
  }
  std::unique_ptr<EVP_PKEY_CTX, PctxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Status::invalid_argument(std::string("public key check failed for the ") + type +
                                    " key");
  }
  return key;
}

Result<PkeyPtr> rsa_key(const json::object& o, const JwksLimits& limits, int& bits) {
  Result<std::string> n = b64_member(o, "n");
  if (!n.ok()) {
    return n.status();
  }
  Result<std::string> e = b64_member(o, "e");
  if (!e.ok()) {
    return e.status();
  }
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                                                 static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                                                 static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) {
    return Status::internal("out of memory");
  }
  bits = BN_num_bits(bn_n.get());
  if (bits < limits.min_rsa_bits) {
    return Status::invalid_argument("RSA modulus of " + std::to_string(bits) + " bits is below " +
                                    std::to_string(limits.min_rsa_bits));
  }
  if (bits > limits.max_rsa_bits) {
    return Status::invalid_argument("RSA modulus of " + std::to_string(bits) + " bits is above " +
                                    std::to_string(limits.max_rsa_bits));
  }
  if (!BN_is_odd(bn_n.get())) {
    return Status::invalid_argument("RSA modulus is even");
  }
  // e must be odd and >= 3; cap it at 64 bits to keep verification cheap.
  if (!BN_is_odd(bn_e.get()) || BN_num_bits(bn_e.get()) < 2 || BN_num_bits(bn_e.get()) > 64) {
    return Status::invalid_argument("RSA exponent is not an odd value in [3, 2^64)");
  }
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Status::internal("out of memory");
  }
  return from_params("RSA", bld.get(), /*check_public=*/false);
}

Result<PkeyPtr> ec_key(const json::object& o, std::string_view crv, int& bits) {
  const CurveInfo* curve = nullptr;
  for (const CurveInfo& c : kCurves) {
    if (c.jwk_name == crv) {
      curve = &c;
    }
  }
  if (curve == nullptr) {
    return Status::invalid_argument("unsupported EC curve \"" + std::string(crv) + "\"");
  }
  bits = curve->bits;
  Result<std::string> x = b64_member(o, "x");
  if (!x.ok()) {
    return x.status();
  }
  Result<std::string> y = b64_member(o, "y");
  if (!y.ok()) {
    return y.status();
  }
  // RFC 7518 §6.2.1.2: full-length coordinates, leading zeros included.
  if (x->size() != curve->coord_bytes || y->size() != curve->coord_bytes) {
    return Status::invalid_argument("EC coordinates of wrong length for " + std::string(crv));
  }
  std::string point;
  point.reserve(1 + 2 * curve->coord_bytes);
  point.push_back(0x04);  // uncompressed SEC1 point
  point += *x;
  point += *y;
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->ossl_group,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Status::internal("out of memory");
  }
  return from_params("EC", bld.get(), /*check_public=*/true);
}

Result<PkeyPtr> okp_key(const json::object& o, std::string_view crv, int& bits) {
  if (crv != "Ed25519") {
    return Status::invalid_argument("unsupported OKP curve \"" + std::string(crv) + "\"");
  }
  bits = 256;
  Result<std::string> x = b64_member(o, "x");
  if (!x.ok()) {
    return x.status();
  }
  if (x->size() != 32) {
    return Status::invalid_argument("Ed25519 public key is not 32 bytes");
  }
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x->data(),
                                               x->size()) != 1) {
    return Status::internal("out of memory");
  }
  return from_params("ED25519", bld.get(), /*check_public=*/false);
}

// Builds one key or says why it is skipped.
Result<Jwk> parse_key(const json::value& v, const JwksLimits& limits) {
  if (!v.is_object()) {
    return Status::invalid_argument("key is not a JSON object");
  }
  const json::object& o = v.get_object();
  bool bad = false;
  Jwk k;
  k.kty = std::string(str_member(o, "kty", bad));
  k.kid = std::string(str_member(o, "kid", bad));
  k.crv = std::string(str_member(o, "crv", bad));
  k.alg = std::string(str_member(o, "alg", bad));
  k.use = std::string(str_member(o, "use", bad));
  if (bad) {
    return Status::invalid_argument("kty/kid/crv/alg/use must be strings");
  }
  if (!k.use.empty() && k.use != "sig") {
    return Status::invalid_argument("use \"" + k.use.substr(0, 16) + "\" is not \"sig\"");
  }
  if (const json::value* ops = o.if_contains("key_ops")) {
    bool verify = false;
    if (ops->is_array()) {
      for (const json::value& op : ops->get_array()) {
        verify = verify || (op.is_string() && op.get_string() == "verify");
      }
    }
    if (!verify) {
      return Status::invalid_argument("key_ops does not include \"verify\"");
    }
  }
  for (std::string_view m : kPrivateMembers) {
    if (o.contains(m)) {
      return Status::invalid_argument("key carries private or symmetric member \"" +
                                      std::string(m) + "\"");
    }
  }
  if (!k.alg.empty()) {
    std::optional<Alg> a = alg_from_name(k.alg);
    if (!a) {
      return Status::invalid_argument("alg \"" + k.alg.substr(0, 16) + "\" is not supported");
    }
    if (alg_kty(*a) != k.kty || (k.kty != "RSA" && alg_crv(*a) != k.crv)) {
      return Status::invalid_argument("alg " + k.alg + " does not fit kty " + k.kty);
    }
  }
  Result<PkeyPtr> key = Status::invalid_argument("unsupported kty \"" + k.kty.substr(0, 16) + "\"");
  if (k.kty == "RSA") {
    k.crv.clear();  // "crv" means nothing for RSA; never let it affect matching
    key = rsa_key(o, limits, k.bits);
  } else if (k.kty == "EC") {
    key = ec_key(o, k.crv, k.bits);
  } else if (k.kty == "OKP") {
    key = okp_key(o, k.crv, k.bits);
  }
  if (!key.ok()) {
    return key.status();
  }
  k.pkey = std::move(key).value();
  return k;
}

}  // namespace

Result<KeySetPtr> KeySet::parse(std::string_view jwks_json, const JwksLimits& limits) {
  JsonLimits jl;
  jl.max_bytes = limits.max_bytes;
  jl.max_depth = 8;  // {"keys":[{"x5c":[...]}]} needs 4
  Result<json::object> doc = parse_strict_object(jwks_json, jl);
  if (!doc.ok()) {
    return Status::invalid_argument("JWKS: " + doc.status().message());
  }
  const json::value* keys = doc->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return Status::invalid_argument("JWKS: missing \"keys\" array");
  }
  const json::array& arr = keys->get_array();
  if (arr.size() > limits.max_keys) {
    return Status::invalid_argument("JWKS: more than " + std::to_string(limits.max_keys) + " keys");
  }
  KeySet set;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    Result<Jwk> k = parse_key(arr[i], limits);
    std::string kid;
    if (arr[i].is_object()) {
      if (const json::value* v = arr[i].get_object().if_contains("kid"); v && v->is_string()) {
        kid = std::string(
            v->get_string().subview(0, std::min<std::size_t>(64, v->get_string().size())));
      }
    }
    if (!k.ok()) {
      set.skipped_.push_back(SkippedKey{i, std::move(kid), k.status().message()});
      continue;
    }
    // Two usable keys of one shape under one kid would make key selection ambiguous.
    bool dup = false;
    for (const Jwk& prev : set.keys_) {
      dup = dup || (prev.kid == k->kid && prev.kty == k->kty && prev.crv == k->crv);
    }
    if (dup) {
      set.skipped_.push_back(SkippedKey{i, std::move(kid), "duplicate kid for the same key type"});
      continue;
    }
    set.keys_.push_back(std::move(k).value());
  }
  if (set.keys_.empty()) {
    std::string why = "JWKS: no usable key";
    for (const SkippedKey& s : set.skipped_) {
      why += "; key " + std::to_string(s.index) + ": " + s.reason;
    }
    return Status::invalid_argument(why);
  }
  return KeySetPtr(std::make_shared<const KeySet>(std::move(set)));
}

}  // namespace obsgate::authz::jwt
