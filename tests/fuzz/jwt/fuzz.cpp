// Fuzz target for the JWT core. The first byte selects the entry point:
//   mode & 0x7f == 0: verify(rest) against a fixed key set (bit 0x80: a client cert is
//                     presented); == 1: KeySet::parse(rest); == 2: base64url round trip;
//                     == 3: parse_strict_object(rest); others: verify() as well.
// Invariants checked beyond "no crash": canonical base64url round-trips exactly; a rejection
// names one of the bounded reasons and never echoes the signature segment.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "authz/jwt/base64url.h"
#include "authz/jwt/jwks.h"
#include "authz/jwt/strict_json.h"
#include "authz/jwt/verify.h"

namespace jwt = obsgate::authz::jwt;

namespace {

constexpr std::string_view kJwks =
#include "tests/fuzz/jwt/jwks.inc"
    ;

struct Env {
  jwt::KeySetPtr keys;
  jwt::VerifyOptions opts;
};

const Env& env() {
  static const Env e = [] {
    Env x;
    auto r = jwt::KeySet::parse(kJwks);
    if (!r.ok()) {
      std::abort();
    }
    x.keys = *r;
    x.opts.issuer = "https://idp.test/realms/obs";
    x.opts.audiences = {"obsgate"};
    x.opts.allowed_algs = jwt::all_algs();
    return x;
  }();
  return e;
}

void fuzz_verify(std::string_view token, bool with_cert) {
  const Env& e = env();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  std::optional<std::string_view> cert;
  if (with_cert) {
    cert = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
  }
  auto r = jwt::verify(token, *e.keys, e.opts, now, cert);
  if (r.ok()) {
    if (!r->claims || r->issuer != e.opts.issuer) {
      std::abort();
    }
    return;
  }
  const jwt::Rejection why = jwt::rejection_of(r.status());
  if (why == jwt::Rejection::kNone || r.status().code() != obsgate::Code::kUnauthenticated) {
    std::abort();
  }
  // Only a base64url-looking signature is checked: arbitrary text may legitimately share
  // words with our fixed messages.
  const std::size_t last_dot = token.rfind('.');
  if (last_dot != std::string_view::npos && token.size() - last_dot > 24) {
    const std::string_view sig = token.substr(last_dot + 1);
    const bool b64 = sig.find_first_not_of(
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-_") == std::string_view::npos;
    if (b64 && r.status().message().find(sig) != std::string::npos) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode & 0x7f) {
    case 1: {
      auto r = jwt::KeySet::parse(rest);
      if (r.ok() && (*r)->keys().empty()) {
        std::abort();
      }
      break;
    }
    case 2: {
      std::string out;
      if (jwt::base64url_decode(rest, out) && jwt::base64url_encode(out) != rest) {
        std::abort();  // decoding accepted a non-canonical encoding
      }
      break;
    }
    case 3: {
      auto r = jwt::parse_strict_object(rest, jwt::JsonLimits{});
      (void)r;
      break;
    }
    default:
      fuzz_verify(rest, (mode & 0x80) != 0);
      break;
  }
  return 0;
}
