#include "authz/jwt/alg.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>

namespace obsgate::authz::jwt {
namespace {

struct AlgInfo {
  Alg alg;
  std::string_view name;
  std::string_view kty;
  std::string_view crv;
};

constexpr std::array<AlgInfo, 10> kAlgs = {{
    {Alg::kRs256, "RS256", "RSA", ""},
    {Alg::kRs384, "RS384", "RSA", ""},
    {Alg::kRs512, "RS512", "RSA", ""},
    {Alg::kPs256, "PS256", "RSA", ""},
    {Alg::kPs384, "PS384", "RSA", ""},
    {Alg::kPs512, "PS512", "RSA", ""},
    {Alg::kEs256, "ES256", "EC", "P-256"},
    {Alg::kEs384, "ES384", "EC", "P-384"},
    {Alg::kEs512, "ES512", "EC", "P-521"},
    {Alg::kEdDsa, "EdDSA", "OKP", "Ed25519"},
}};

const AlgInfo& info(Alg alg) { return kAlgs[static_cast<std::size_t>(alg)]; }

const EVP_MD* digest_for(Alg alg) {
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
      return nullptr;  // Ed25519 hashes internally (PureEdDSA)
  }
  return nullptr;
}

std::size_t ec_coord_bytes(Alg alg) {
  switch (alg) {
    case Alg::kEs256:
      return 32;
    case Alg::kEs384:
      return 48;
    case Alg::kEs512:
      return 66;
    default:
      return 0;
  }
}

// Appends one DER INTEGER holding the unsigned big-endian `v`.
void der_integer(std::string_view v, std::string& out) {
  std::size_t i = 0;
  while (i + 1 < v.size() && v[i] == 0) {
    ++i;
  }
  v.remove_prefix(i);
  const bool pad = (static_cast<unsigned char>(v[0]) & 0x80) != 0;
  out.push_back(0x02);
  out.push_back(static_cast<char>(v.size() + (pad ? 1 : 0)));  // <= 67: short form
  if (pad) {
    out.push_back(0);
  }
  out.append(v);
}

bool all_zero(std::string_view v) {
  for (char c : v) {
    if (c != 0) {
      return false;
    }
  }
  return true;
}

// JOSE r||s (fixed width) -> DER ECDSA-Sig-Value, which is what OpenSSL verifies.
bool jose_to_der(std::string_view sig, std::size_t coord, std::string& der) {
  if (sig.size() != 2 * coord) {
    return false;
  }
  const std::string_view r = sig.substr(0, coord);
  const std::string_view s = sig.substr(coord);
  if (all_zero(r) || all_zero(s)) {
    return false;  // r, s must be in [1, n-1]; OpenSSL checks too, this is just cheaper
  }
  std::string body;
  body.reserve(2 * coord + 6);
  der_integer(r, body);
  der_integer(s, body);
  der.clear();
  der.push_back(0x30);
  if (body.size() >= 0x80) {
    der.push_back(static_cast<char>(0x81));  // P-521: up to 138 bytes of content
  }
  der.push_back(static_cast<char>(body.size()));
  der += body;
  return true;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

std::optional<Alg> alg_from_name(std::string_view name) {
  for (const AlgInfo& a : kAlgs) {
    if (a.name == name) {
      return a.alg;
    }
  }
  return std::nullopt;
}

std::string_view alg_name(Alg alg) { return info(alg).name; }
std::string_view alg_kty(Alg alg) { return info(alg).kty; }
std::string_view alg_crv(Alg alg) { return info(alg).crv; }

std::vector<Alg> all_algs() {
  std::vector<Alg> out;
  for (const AlgInfo& a : kAlgs) {
    out.push_back(a.alg);
  }
  return out;
}

Result<std::vector<Alg>> parse_alg_list(const std::vector<std::string>& names) {
  std::vector<Alg> out;
  for (const std::string& n : names) {
    std::optional<Alg> a = alg_from_name(n);
    if (!a) {
      if (n.size() >= 2 && (n[0] == 'H' || n[0] == 'h') && (n[1] == 'S' || n[1] == 's')) {
        return Status::invalid_argument("allowed_algs: \"" + n +
                                        "\" is a shared-secret algorithm; never accepted");
      }
      return Status::invalid_argument("allowed_algs: unsupported algorithm \"" + n + "\"");
    }
    out.push_back(*a);
  }
  return out;
}

bool verify_signature(Alg alg, EVP_PKEY* key, std::string_view signing_input,
                      std::string_view signature) {
  if (key == nullptr) {
    return false;
  }
  std::string der;
  std::string_view sig = signature;
  if (info(alg).kty == "RSA") {
    // Exactly the modulus length: OpenSSL tolerates some short encodings; JOSE does not.
    if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) {
      return false;
    }
  } else if (alg == Alg::kEdDsa) {
    if (sig.size() != 64) {
      return false;
    }
  } else {
    if (!jose_to_der(sig, ec_coord_bytes(alg), der)) {
      return false;
    }
    sig = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) {
    return false;
  }
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const EVP_MD* md = digest_for(alg);
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return false;
  }
  if (alg == Alg::kPs256 || alg == Alg::kPs384 || alg == Alg::kPs512) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
      return false;
    }
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  if (rc != 1) {
    ERR_clear_error();  // a forged token must not leave entries in this thread's error queue
    return false;
  }
  return true;
}

}  // namespace obsgate::authz::jwt
