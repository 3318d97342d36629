// obsgate_mint_token: signs a JWT with a test key, so integration tests can mint tokens with
// any claims without an identity provider. Test-only; never installed.
//
//   obsgate_mint_token --key k.pem [--generate] [--jwks jwks.json] [--alg ES256] [--kid k1]
//                      [--typ at+jwt | --header JSON] --claims JSON
//
//   --key FILE    PKCS#8 PEM private key. With --generate, a fresh key for --alg is written
//                 there first (the file is replaced).
//   --jwks FILE   writes {"keys":[<public JWK of the key, with kid/alg/use>]} to FILE
//   --alg ALG     RS256 ... EdDSA (default ES256); must fit the key
//   --kid KID     the header's kid (default "test"); also the JWK's kid
//   --typ TYP     the header's typ (default "JWT")
//   --header JSON the whole protected header, verbatim (for attack tests)
//   --claims JSON the payload, verbatim (times are the caller's business)
// Prints the compact token and a newline. Without --claims, only the key/JWKS are written.
// Exit 0 on success, 2 on usage errors, 1 when a key cannot be read or written.
#include <openssl/pem.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/alg.h"
#include "tests/authz/jwt/test_keys.h"

namespace {

namespace jwt = obsgate::authz::jwt;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "obsgate_mint_token: %s\n"
               "usage: obsgate_mint_token --key FILE [--generate] [--jwks FILE] [--alg ALG] "
               "[--kid KID]\n"
               "                          [--typ TYP | --header JSON] [--claims JSON]\n",
               why.c_str());
  return 2;
}

bool write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out);
}

bool write_key(const std::string& path, EVP_PKEY* key) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return false;
  }
  const bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  return std::fclose(f) == 0 && ok;
}

jwt::PkeyPtr read_key(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return nullptr;
  }
  jwt::PkeyPtr key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  std::string key_file;
  std::string jwks_file;
  std::string alg_name = "ES256";
  std::string kid = "test";
  std::string typ = "JWT";
  std::string header;
  std::string claims;
  bool generate = false;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--generate") {
      generate = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      return usage("unknown or incomplete argument '" + a + "'");
    }
    const std::string& v = args[++i];
    if (a == "--key") {
      key_file = v;
    } else if (a == "--jwks") {
      jwks_file = v;
    } else if (a == "--alg") {
      alg_name = v;
    } else if (a == "--kid") {
      kid = v;
    } else if (a == "--typ") {
      typ = v;
    } else if (a == "--header") {
      header = v;
    } else if (a == "--claims") {
      claims = v;
    } else {
      return usage("unknown argument '" + a + "'");
    }
  }
  if (key_file.empty()) {
    return usage("--key is required");
  }
  const auto alg = jwt::alg_from_name(alg_name);
  if (!alg) {
    return usage("unsupported --alg '" + alg_name + "'");
  }
  jwt::testing::TestKey key;
  if (generate) {
    key = jwt::testing::make_key(*alg, kid);
    if (!write_key(key_file, key.priv.get())) {
      std::fprintf(stderr, "obsgate_mint_token: cannot write %s\n", key_file.c_str());
      return 1;
    }
  } else {
    key.alg = *alg;
    key.kid = kid;
    key.priv = read_key(key_file);
    if (!key.priv) {
      std::fprintf(stderr, "obsgate_mint_token: cannot read a PEM private key from %s\n",
                   key_file.c_str());
      return 1;
    }
  }
  if (!jwks_file.empty() &&
      !write_file(jwks_file,
                  jwt::testing::jwks({jwt::testing::public_jwk(key, ",\"use\":\"sig\"")}) + "\n")) {
    std::fprintf(stderr, "obsgate_mint_token: cannot write %s\n", jwks_file.c_str());
    return 1;
  }
  if (claims.empty()) {
    return 0;
  }
  if (header.empty()) {
    header = "{\"alg\":\"" + alg_name + "\",\"kid\":\"" + kid + "\",\"typ\":\"" + typ + "\"}";
  }
  const std::string token = jwt::testing::sign_token(key, header, claims);
  std::printf("%s\n", token.c_str());
  return 0;
}
