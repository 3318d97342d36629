// Fakes for the authentication step's tests: a KeyProvider whose refetch finishes inline or
// when the test releases it, and client certificates made at test time.
#pragma once

#include <openssl/x509.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authz/jwt/jwks.h"
#include "gateway/identity/key_registry.h"

namespace obsgate::gateway::authn::testing {

// current() is `current`; refetch_for_unknown_kid() counts calls and then, inline or after
// release(), makes `next` current (when set) and returns current().
class FakeKeys final : public identity::KeyProvider {
 public:
  enum class Mode { kInline, kLater };

  explicit FakeKeys(authz::jwt::KeySetPtr current, Mode mode = Mode::kInline)
      : current_(std::move(current)), mode_(mode) {}

  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] authz::jwt::KeySetPtr current() const override { return current_; }
  boost::asio::awaitable<authz::jwt::KeySetPtr> refetch_for_unknown_kid(
      authz::jwt::KeySetPtr seen) override;

  void set_next(authz::jwt::KeySetPtr next) { next_ = std::move(next); }
  void set_current(authz::jwt::KeySetPtr keys) { current_ = std::move(keys); }
  // Lets a kLater refetch finish (run the io_context afterwards).
  void release();
  [[nodiscard]] int refetches() const { return refetches_; }
  [[nodiscard]] bool waiting() const { return timer_ != nullptr; }
  [[nodiscard]] const authz::jwt::KeySetPtr& last_seen() const { return last_seen_; }

 private:
  std::string name_ = "idp";
  authz::jwt::KeySetPtr current_;
  std::optional<authz::jwt::KeySetPtr> next_;
  authz::jwt::KeySetPtr last_seen_;
  Mode mode_;
  int refetches_ = 0;
  std::unique_ptr<boost::asio::steady_timer> timer_;
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// A self-signed P-256 certificate with subject CN `cn` and the given SANs ("URI:spiffe://...",
// "DNS:host"); empty `sans` adds no SAN extension.
X509Ptr make_cert(const std::string& cn, const std::string& sans);

}  // namespace obsgate::gateway::authn::testing
