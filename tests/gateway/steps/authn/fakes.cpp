#include "tests/gateway/steps/authn/fakes.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace obsgate::gateway::authn::testing {

namespace asio = boost::asio;

asio::awaitable<authz::jwt::KeySetPtr> FakeKeys::refetch_for_unknown_kid(
    authz::jwt::KeySetPtr seen) {
  ++refetches_;
  last_seen_ = std::move(seen);
  if (mode_ == Mode::kLater) {
    timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                  asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    timer_.reset();
  }
  if (next_) {
    current_ = *next_;
  }
  co_return current_;
}

void FakeKeys::release() {
  if (timer_) {
    timer_->cancel();
  }
}

X509Ptr make_cert(const std::string& cn, const std::string& sans) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!sans.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, sans.c_str());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key, EVP_sha256());
  EVP_PKEY_free(key);
  return cert;
}

}  // namespace obsgate::gateway::authn::testing
