#include "tests/gateway/client/test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace obsgate::testing {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("test PKI: ") + what);
  }
}

Key new_key() {
  Key k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// issuer/issuer_key null: self-signed CA.
Cert make_cert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
               const char* san, long serial) {
  Cert x(X509_new());
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 2L * 24 * 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* iss = issuer != nullptr ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(iss));
  if (ca) {
    add_ext(x.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x.get(), iss, NID_basic_constraints, "CA:FALSE");
    add_ext(x.get(), iss, NID_key_usage, "critical,digitalSignature");
    add_ext(x.get(), iss, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (san != nullptr) {
    add_ext(x.get(), iss, NID_subject_alt_name, san);
  }
  check(X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return x;
}

void write_cert(const std::string& path, X509* x) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "fopen");
  PEM_write_X509(f, x);
  std::fclose(f);
}

void write_key(const std::string& path, EVP_PKEY* k) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "fopen");
  PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace

TestPki::TestPki() {
  std::string templ = (std::filesystem::temp_directory_path() / "obsgate-pki-XXXXXX").string();
  check(::mkdtemp(templ.data()) != nullptr, "mkdtemp");
  dir = templ;
  Key ca_key = new_key();
  Cert ca = make_cert("obsgate test CA", ca_key.get(), nullptr, nullptr, true, nullptr, 1);
  Key other_ca_key = new_key();
  Cert other_ca =
      make_cert("unrelated test CA", other_ca_key.get(), nullptr, nullptr, true, nullptr, 2);

  struct Leaf {
    const char* cn;
    const char* san;
    std::string* cert;
    std::string* key;
  };
  const Leaf leaves[] = {
      {"localhost", "DNS:localhost,IP:127.0.0.1", &server_cert, &server_key},
      {"other.example", "DNS:other.example", &other_server_cert, &other_server_key},
      {"client-a", nullptr, &client_cert, &client_key},
      {"client-b", nullptr, &client2_cert, &client2_key},
  };
  long serial = 10;
  for (const auto& l : leaves) {
    Key k = new_key();
    Cert c = make_cert(l.cn, k.get(), ca.get(), ca_key.get(), false, l.san, serial++);
    *l.cert = dir + "/" + l.cn + ".crt";
    *l.key = dir + "/" + l.cn + ".key";
    write_cert(*l.cert, c.get());
    write_key(*l.key, k.get());
  }
  ca_cert = dir + "/ca.crt";
  other_ca_cert = dir + "/other-ca.crt";
  write_cert(ca_cert, ca.get());
  write_cert(other_ca_cert, other_ca.get());
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace obsgate::testing
